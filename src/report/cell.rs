//! Report cells: typed values that each format writes its own way, and the
//! rules that keep text safe in a file, a pipe, a terminal and a spreadsheet.

use crate::domain::{Mark, MarkSource, Timestamp};
use crate::text::sanitize_for_terminal;
use chrono::NaiveDate;
use std::borrow::Cow;
use std::ops::Deref;

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(Text),
    Count(usize),
    /// A share between 0 and 1; `None`: nothing to count.
    Rate(Option<f64>),
    Time(Option<Timestamp>),
    Date(Option<NaiveDate>),
}

impl Cell {
    pub fn text(text: impl AsRef<str>) -> Self {
        Cell::Text(Text(sanitize_for_terminal(text.as_ref())))
    }

    pub fn optional(text: Option<&str>) -> Self {
        Cell::text(text.unwrap_or_default())
    }
}

/// The text of a cell, without control characters: every text cell of every
/// format passes here (`Cell::text` is the only way to make one), so a
/// name, a note or a reader's name cannot recolour a terminal that shows
/// the file or the pipe. C0 and C1 controls (a tab or a line break inside a
/// cell too) and bidirectional overrides become `�`, as on the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text(String);

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// A header row and the rows under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Numbers are right-aligned by the formats read by people.
    pub fn is_numeric(&self, column: usize) -> bool {
        self.rows
            .first()
            .is_some_and(|row| matches!(row[column], Cell::Count(_) | Cell::Rate(_)))
    }

    /// The table without the text columns that are empty in every row
    /// (a course without sections, a session without notes), for the
    /// formats read by people; the files for programs keep every column.
    pub fn without_empty_columns(&self) -> Table {
        let keep: Vec<bool> = (0..self.headers.len())
            .map(|column| {
                self.rows.is_empty()
                    || self
                        .rows
                        .iter()
                        .any(|row| !matches!(&row[column], Cell::Text(text) if text.is_empty()))
            })
            .collect();
        let pick = |cells: &[Cell]| -> Vec<Cell> {
            cells
                .iter()
                .zip(&keep)
                .filter(|(_, keep)| **keep)
                .map(|(cell, _)| cell.clone())
                .collect()
        };
        Table {
            headers: self
                .headers
                .iter()
                .zip(&keep)
                .filter(|(_, keep)| **keep)
                .map(|(header, _)| header.clone())
                .collect(),
            rows: self.rows.iter().map(|row| pick(row)).collect(),
        }
    }
}

/// A text that a spreadsheet would run as a formula (or that a later
/// save-as-CSV would turn into one) gets a leading apostrophe, which
/// spreadsheets show as text. Used for every text cell of CSV and XLSX.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

pub fn status(mark: Option<Mark>) -> &'static str {
    mark.map_or("unmarked", Mark::as_str)
}

pub fn source(source: Option<MarkSource>) -> &'static str {
    source.map_or("", MarkSource::as_str)
}

/// `2026-11-30T09:04:12+01:00`: local time with its offset, for files.
pub fn full_time(at: &Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A cell as text for people (the terminal and Markdown); times in
/// `time_format`, e.g. `%H:%M:%S` where the date is the session's.
pub fn display(cell: &Cell, time_format: &str) -> String {
    match cell {
        Cell::Text(text) => text.to_string(),
        Cell::Count(count) => count.to_string(),
        Cell::Rate(rate) => rate.map(percent).unwrap_or_default(),
        Cell::Time(at) => at
            .map(|at| at.format(time_format).to_string())
            .unwrap_or_default(),
        Cell::Date(date) => date
            .map(|date| date.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    }
}

/// `66.7%`.
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_the_rest_kept() {
        for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(text), format!("'{text}"));
        }
        for text in ["Ada", "", "a=b", " =1", "'quoted", "Ñúñez"] {
            assert_eq!(neutralise(text), text);
        }
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
    }

    #[test]
    fn text_cells_hold_no_control_character() {
        let Cell::Text(text) = Cell::text("Eve\u{1b}[31m\u{7}\u{9b}\u{202E}x\ty\r\nz") else {
            unreachable!("a text cell");
        };
        assert_eq!(
            &*text,
            "Eve\u{FFFD}[31m\u{FFFD}\u{FFFD}\u{FFFD}x\u{FFFD}y\u{FFFD}\u{FFFD}z"
        );
        assert_eq!(Cell::optional(Some("Zoë Ñúñez")), Cell::text("Zoë Ñúñez"));
    }

    #[test]
    fn empty_text_columns_are_dropped_for_people() {
        let table = Table {
            headers: vec!["Name".into(), "Note".into(), "Count".into()],
            rows: vec![
                vec![Cell::text("A"), Cell::text(""), Cell::Count(0)],
                vec![Cell::text("B"), Cell::text(""), Cell::Count(1)],
            ],
        };
        let slim = table.without_empty_columns();
        assert_eq!(slim.headers, ["Name", "Count"]);
        assert_eq!(slim.rows[1], vec![Cell::text("B"), Cell::Count(1)]);
    }
}
