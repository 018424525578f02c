//! The report as a plain-text table for the terminal (`taproll report`):
//! fits 80 columns for a session, every outside text made safe to print.

use super::cell::{self, Cell, Table};
use super::model::{Content, CourseReport, Report, SessionReport};
use super::tables;
use crate::privacy::UidExport;
use crate::text::sanitize_for_terminal;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// Longest cell shown; longer names and notes end in `…`.
const MAX_CELL: usize = 28;

pub fn render(report: &Report, uids: &UidExport) -> String {
    match &report.content {
        Content::Session(session) => render_session(session, &report.time_zone, uids),
        Content::Course(course) => render_course(course, &report.time_zone),
    }
}

fn render_session(session: &SessionReport, time_zone: &str, uids: &UidExport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", heading(session));
    let _ = writeln!(out, "{}", when(session, time_zone));
    let t = &session.totals;
    let _ = write!(
        out,
        "Present {}   Late {}   Absent {}   Excused {}",
        t.present, t.late, t.absent, t.excused
    );
    if t.unmarked > 0 {
        let _ = write!(out, "   Unmarked {} (the session is open)", t.unmarked);
    }
    let _ = writeln!(
        out,
        "\nUnknown cards {} ({} unclaimed)   Duplicates {}   Repeats {}\n",
        t.unknown_cards, t.unclaimed_cards, t.duplicates, t.repeats
    );
    out.push_str(&aligned(&tables::session_students(session), "%H:%M:%S"));
    if !session.unknown_taps.is_empty() {
        out.push_str("\nUnknown cards\n");
        out.push_str(&aligned(
            &tables::unknown_taps(&session.unknown_taps, uids),
            "%H:%M:%S",
        ));
    }
    out
}

fn render_course(course: &CourseReport, time_zone: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}, times in {}\n",
        sanitize_for_terminal(&course.course),
        range_text(course),
        sanitize_for_terminal(time_zone)
    );
    out.push_str(&aligned(&tables::course_students(course), "%H:%M"));
    // The reasons in full: the table's column cuts them at its width.
    let mut at_risk = course.at_risk().peekable();
    if at_risk.peek().is_some() {
        out.push_str("\nAt risk\n");
        for student in at_risk {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                sanitize_for_terminal(&student.name),
                sanitize_for_terminal(&student.student_no),
                crate::risk::describe(&student.risk)
            );
        }
    }
    out.push_str("\nSessions\n");
    out.push_str(&aligned(
        &tables::session_counts(&course.sessions),
        "%Y-%m-%d %H:%M",
    ));
    out
}

/// `3 session(s), all dates` or `2 session(s) from 2026-11-01 to 2026-11-30`.
pub fn range_text(course: &CourseReport) -> String {
    let count = course.sessions.len();
    match (course.from, course.to) {
        (None, None) => format!("{count} session(s), all dates"),
        (Some(from), None) => format!("{count} session(s) from {from} on"),
        (None, Some(to)) => format!("{count} session(s) up to {to}"),
        (Some(from), Some(to)) => format!("{count} session(s) from {from} to {to}"),
    }
}

/// `Physics 101, session 12 "Lab 3"`.
pub fn heading(session: &SessionReport) -> String {
    let label = session
        .label
        .as_deref()
        .map(|l| format!(" \"{}\"", sanitize_for_terminal(l)))
        .unwrap_or_default();
    format!(
        "{}, session {}{label}",
        sanitize_for_terminal(&session.course),
        session.id
    )
}

/// `Mon 2026-11-30 09:00 to 10:30 (UTC+01:00, Europe/Amsterdam)`.
pub fn when(session: &SessionReport, time_zone: &str) -> String {
    let end = match session.ended_at {
        None => "now (open)".to_string(),
        Some(at) if at.date_naive() == session.started_at.date_naive() => {
            at.format("%H:%M").to_string()
        }
        Some(at) => at.format("%a %Y-%m-%d %H:%M").to_string(),
    };
    format!(
        "{} to {end} (UTC{}, {})",
        session.started_at.format("%a %Y-%m-%d %H:%M"),
        session.started_at.format("%:z"),
        sanitize_for_terminal(time_zone)
    )
}

/// Columns padded to their widest cell, numbers to the right.
fn aligned(table: &Table, time_format: &str) -> String {
    let table = table.without_empty_columns();
    let shown: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| row.iter().map(|c| shown(c, time_format)).collect())
        .collect();
    let widths: Vec<usize> = (0..table.headers.len())
        .map(|column| {
            shown
                .iter()
                .map(|row| row[column].width())
                .chain([table.headers[column].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..table.headers.len())
        .map(|column| table.is_numeric(column))
        .collect();
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (column, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[column].saturating_sub(cell.width()));
            if numeric[column] {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
            text.push_str("  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&table.headers);
    for row in &shown {
        line(row);
    }
    out
}

/// Text cells hold no control characters (see `cell::Text`).
fn shown(cell: &Cell, time_format: &str) -> String {
    truncate(&cell::display(cell, time_format))
}

fn truncate(text: &str) -> String {
    if text.width() <= MAX_CELL {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) >= MAX_CELL {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_wide_text_is_cut_to_the_column() {
        assert_eq!(truncate("short"), "short");
        let long = "Maximiliana Wilhelmina von Habsburg-Lothringen";
        let cut = truncate(long);
        assert!(cut.ends_with('…') && cut.width() <= MAX_CELL, "{cut}");
        let wide = truncate(&"李".repeat(20));
        assert!(wide.width() <= MAX_CELL, "{wide}");
    }
}
