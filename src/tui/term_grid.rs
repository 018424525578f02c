//! The term view's data: a course's attendance over the term as a grid of
//! students by sessions, one character per mark. Built from the course
//! report (`report::load` with `Selection::Course`), so it is the same data
//! as `taproll report --course`. Pure: no store, no terminal.

use crate::domain::{Mark, Timestamp};
use crate::report::model::{CourseReport, SessionReport};
use crate::text::sanitize_for_terminal as clean;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// What the grid shows for no mark: a student not marked yet in the open
/// session, or not on a session's list at all.
pub const NO_MARK: char = '·';

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermGrid {
    /// Safe for the terminal, like every text here.
    pub course: String,
    /// Oldest first.
    pub sessions: Vec<GridSession>,
    /// In the report's order: by name, then student number.
    pub students: Vec<GridStudent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridSession {
    pub id: i64,
    /// In the report's zone.
    pub started_at: Timestamp,
    pub label: Option<String>,
    /// Not ended yet: the session being taken now.
    pub open: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridStudent {
    pub student_no: String,
    pub name: String,
    /// One per session, in the order of `TermGrid::sessions`.
    pub cells: Vec<GridCell>,
    /// The report's attendance rate in whole percent, rounded down: 100%
    /// only for a student never absent. `None`: nothing to count yet.
    pub rate: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridCell {
    Marked(Mark),
    /// On the session's list without a mark: the session is still open.
    Unmarked,
    /// Not on the session's list (enrolled later, say).
    NotListed,
}

impl GridCell {
    /// The one character the grid shows; the same with or without colour.
    pub fn symbol(self) -> char {
        match self {
            GridCell::Marked(Mark::Present) => 'P',
            GridCell::Marked(Mark::Late) => 'L',
            GridCell::Marked(Mark::Absent) => 'A',
            GridCell::Marked(Mark::Excused) => 'E',
            GridCell::Unmarked | GridCell::NotListed => NO_MARK,
        }
    }

    /// In words, for the line under the grid.
    pub fn describe(self) -> &'static str {
        match self {
            GridCell::Marked(mark) => mark.as_str(),
            GridCell::Unmarked => "not marked yet",
            GridCell::NotListed => "not on this session's list",
        }
    }
}

impl TermGrid {
    pub fn from_report(report: &CourseReport) -> Self {
        let marks = report.marks();
        let students = report
            .students
            .iter()
            .map(|student| GridStudent {
                student_no: clean(&student.student_no),
                name: clean(&student.name),
                cells: marks
                    .iter()
                    .map(|session| match session.get(student.student_no.as_str()) {
                        Some(Some(mark)) => GridCell::Marked(*mark),
                        Some(None) => GridCell::Unmarked,
                        None => GridCell::NotListed,
                    })
                    .collect(),
                rate: student.rate.map(percent),
            })
            .collect();
        Self {
            course: clean(&report.course),
            sessions: report.sessions.iter().map(grid_session).collect(),
            students,
        }
    }

    /// The widest name, in terminal columns.
    pub fn widest_name(&self) -> usize {
        self.students
            .iter()
            .map(|s| s.name.width())
            .max()
            .unwrap_or(0)
    }
}

fn grid_session(session: &SessionReport) -> GridSession {
    GridSession {
        id: session.id,
        started_at: session.started_at,
        label: session.label.as_deref().map(clean),
        open: session.ended_at.is_none(),
    }
}

/// A rate as whole percent, rounded down (0.999 is 99%, not 100%).
fn percent(rate: f64) -> u8 {
    (rate * 100.0).floor().clamp(0.0, 100.0) as u8
}

/// The text cut to `width` columns (ending in `…` when cut) and padded with
/// spaces to exactly `width`.
pub fn cut(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    if text.width() <= width {
        out.push_str(text);
        used = text.width();
    } else if width > 0 {
        for c in text.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width - 1 {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// The row over the grid's columns naming each month (`Sep`, `Oct`, ...)
/// over its first session, and the first column's month. Where two labels
/// would run into each other the later one stays: a month cut at the left
/// edge makes way for the next. The row is `width` columns, which may be
/// more than the sessions (a label may run on past the last one).
pub fn month_row(sessions: &[GridSession], width: usize) -> String {
    let months: Vec<String> = sessions
        .iter()
        .map(|s| s.started_at.format("%b").to_string())
        .collect();
    let starts = (0..months.len()).filter(|&i| i == 0 || months[i] != months[i - 1]);
    let mut row = vec![' '; width];
    // Right to left: each label ends a space before the next one starts.
    let mut free_until = width;
    for start in starts.rev() {
        let label = &months[start];
        if start + label.chars().count() > free_until {
            continue;
        }
        for (offset, c) in label.chars().enumerate() {
            row[start + offset] = c;
        }
        free_until = start.saturating_sub(1);
    }
    row.into_iter().collect()
}

/// The row of session numbers over the grid's columns: the last digit of
/// each session's number in the term (1-based), `first` being the number
/// of the first one shown less one; the open session is `●`.
pub fn number_row(sessions: &[GridSession], first: usize) -> String {
    sessions
        .iter()
        .enumerate()
        .map(|(index, session)| {
            if session.open {
                '●'
            } else {
                digit((first + index + 1) % 10)
            }
        })
        .collect()
}

fn digit(value: usize) -> char {
    char::from_digit(value as u32, 10).unwrap_or('?')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures::{at, row};
    use crate::report::model::{Totals, course_report};
    use crate::store::ReportRow;

    fn session(id: i64, start: &str, open: bool, students: Vec<ReportRow>) -> SessionReport {
        let started_at = at(start);
        SessionReport {
            course: "Physics".into(),
            id,
            label: None,
            started_at,
            ended_at: (!open).then_some(started_at),
            students,
            totals: Totals::default(),
            unknown_taps: Vec::new(),
        }
    }

    fn report() -> CourseReport {
        let sessions = vec![
            session(
                3,
                "2026-10-29T09:00:00+01:00",
                false,
                vec![
                    row("1", "Ann", Some(Mark::Present)),
                    row("2", "bob\u{1b}[2J", Some(Mark::Absent)),
                ],
            ),
            session(
                5,
                "2026-11-02T09:00:00+01:00",
                false,
                vec![
                    row("1", "Ann", Some(Mark::Late)),
                    row("2", "bob\u{1b}[2J", Some(Mark::Excused)),
                    row("3", "Cy", Some(Mark::Present)),
                ],
            ),
            session(
                9,
                "2026-11-30T09:00:00+01:00",
                true,
                vec![
                    row("1", "Ann", Some(Mark::Present)),
                    row("2", "bob\u{1b}[2J", None),
                    row("3", "Cy", None),
                ],
            ),
        ];
        course_report("Physics".into(), None, None, Vec::new(), sessions)
    }

    #[test]
    fn a_mark_is_one_letter_and_no_mark_a_dot() {
        let symbols: String = [
            GridCell::Marked(Mark::Present),
            GridCell::Marked(Mark::Late),
            GridCell::Marked(Mark::Absent),
            GridCell::Marked(Mark::Excused),
            GridCell::Unmarked,
            GridCell::NotListed,
        ]
        .map(GridCell::symbol)
        .into_iter()
        .collect();
        assert_eq!(symbols, "PLAE··");
    }

    #[test]
    fn the_grid_has_the_reports_students_and_sessions_in_order() {
        let grid = TermGrid::from_report(&report());
        let ids: Vec<i64> = grid.sessions.iter().map(|s| s.id).collect();
        assert_eq!(ids, [3, 5, 9]);
        assert_eq!(
            grid.sessions.iter().map(|s| s.open).collect::<Vec<_>>(),
            [false, false, true]
        );
        let rows: Vec<(String, String)> = grid
            .students
            .iter()
            .map(|s| (s.name.clone(), s.cells.iter().map(|c| c.symbol()).collect()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Ann".to_string(), "PLP".to_string()),
                // Sanitised: no escape reaches the terminal.
                ("bob\u{FFFD}[2J".to_string(), "AE·".to_string()),
                ("Cy".to_string(), "·P·".to_string()),
            ]
        );
        let cy = &grid.students[2];
        assert_eq!(
            cy.cells,
            [
                GridCell::NotListed,
                GridCell::Marked(Mark::Present),
                GridCell::Unmarked
            ]
        );
        let rates: Vec<Option<u8>> = grid.students.iter().map(|s| s.rate).collect();
        assert_eq!(rates, [Some(100), Some(0), Some(100)]);
        assert_eq!(grid.widest_name(), "bob\u{FFFD}[2J".width());
    }

    #[test]
    fn rates_are_rounded_down() {
        assert_eq!(percent(2.0 / 3.0), 66);
        assert_eq!(percent(0.999), 99);
        assert_eq!(percent(1.0), 100);
        assert_eq!(percent(0.0), 0);
    }

    #[test]
    fn cut_pads_or_cuts_to_the_width_in_columns() {
        assert_eq!(cut("Ann", 5), "Ann  ");
        assert_eq!(cut("Katherine Johnson", 8), "Katheri…");
        assert_eq!(cut("José Ñúñez", 10), "José Ñúñez");
        // Wide characters count two columns; the padding makes up the rest.
        assert_eq!(cut("李小龍同学", 6), "李小… ");
        assert_eq!(cut("Ann", 0), "");
    }

    #[test]
    fn the_header_rows_name_months_and_number_sessions() {
        let grid = TermGrid::from_report(&report());
        // November starts one column after October: October makes way.
        assert_eq!(month_row(&grid.sessions, 6), " Nov  ");
        // The first column shown is named too.
        assert_eq!(month_row(&grid.sessions[1..], 5), "Nov  ");
        // A label that does not fit is left out, not cut.
        assert_eq!(month_row(&grid.sessions[2..], 2), "  ");
        assert_eq!(number_row(&grid.sessions, 0), "12●");
        assert_eq!(number_row(&grid.sessions[..2], 8), "90");
    }
}
