//! The report as Markdown, for a wiki, an e-mail or the LMS's page editor.

use super::cell::{self, Table};
use super::model::{Content, Report};
use super::tables;
use super::terminal::{heading, range_text, when};
use crate::privacy::UidExport;
use crate::text::sanitize_for_terminal;
use std::fmt::Write as _;

pub fn render(report: &Report, uids: &UidExport) -> String {
    let mut out = String::new();
    match &report.content {
        Content::Session(session) => {
            let _ = writeln!(out, "# Attendance: {}\n", escape(&heading(session)));
            let _ = writeln!(out, "{}\n", escape(&when(session, &report.time_zone)));
            out.push_str(&table(&tables::session_totals(session), "%H:%M"));
            out.push_str("\n## Students\n\n");
            out.push_str(&table(&tables::session_students(session), "%H:%M:%S"));
            if !session.unknown_taps.is_empty() {
                out.push_str("\n## Unknown cards\n\n");
                out.push_str(&table(
                    &tables::unknown_taps(&session.unknown_taps, uids),
                    "%H:%M:%S",
                ));
            }
        }
        Content::Course(course) => {
            let _ = writeln!(out, "# Attendance: {}\n", escape(&course.course));
            let _ = writeln!(
                out,
                "{}. Times in {}.\n",
                range_text(course),
                escape(&report.time_zone)
            );
            out.push_str("## Students\n\n");
            out.push_str(&table(&tables::course_students(course), "%H:%M"));
            if course.at_risk().next().is_some() {
                out.push_str("\n## At risk\n\n");
                out.push_str(&table(&tables::at_risk(course), "%H:%M"));
            }
            out.push_str("\n## Sessions\n\n");
            out.push_str(&table(
                &tables::session_counts(&course.sessions),
                "%Y-%m-%d %H:%M",
            ));
        }
    }
    out
}

fn table(table: &Table, time_format: &str) -> String {
    let table = table.without_empty_columns();
    let mut out = String::new();
    let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    out.push_str(&row(table.headers.iter().map(|h| escape(h)).collect()));
    out.push_str(&row((0..table.headers.len())
        .map(|c| if table.is_numeric(c) { "---:" } else { "---" }.to_string())
        .collect()));
    for cells in &table.rows {
        out.push_str(&row(cells
            .iter()
            .map(|c| escape(&cell::display(c, time_format)))
            .collect()));
    }
    out
}

/// Text that cannot break the table or become markup: pipes, HTML and
/// Markdown's own characters escaped, control characters replaced.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in sanitize_for_terminal(text).chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<script>"), "&lt;script&gt;");
        assert_eq!(escape("*bold* [x](y)"), "\\*bold\\* \\[x\\](y)");
        assert_eq!(escape("Zoë\u{1b}"), "Zoë\u{FFFD}");
    }
}
