//! The report as a Canvas gradebook CSV: one assignment column per session,
//! students matched on "SIS User ID" (the student number).

use super::cell::{Cell, Table};
use super::csv_file;
use super::model::{Content, Report, SessionReport};
use crate::domain::Mark;
use crate::text::sanitize_for_terminal;

/// Points per session and how much of them a late arrival gets
/// (`[report.canvas]` in the config).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CanvasOptions {
    /// Assignment names start with this, then the session's date.
    pub assignment: String,
    pub points: u32,
    pub late_credit_percent: u32,
}

impl Default for CanvasOptions {
    fn default() -> Self {
        Self {
            assignment: "Attendance".to_string(),
            points: 1,
            late_credit_percent: 80,
        }
    }
}

pub fn render(report: &Report, options: &CanvasOptions) -> Result<Vec<u8>, csv::Error> {
    csv_file::write(&table(report, options))
}

/// Student no, name and section.
type Who<'a> = (&'a str, &'a str, Option<&'a str>);

/// The gradebook table: Canvas's own first columns, then the sessions, with
/// the "Points Possible" row Canvas puts under its header.
pub fn table(report: &Report, options: &CanvasOptions) -> Table {
    let (sessions, students): (Vec<&SessionReport>, Vec<Who<'_>>) = match &report.content {
        Content::Session(session) => (
            vec![session],
            session
                .students
                .iter()
                .map(|s| (s.student_no.as_str(), s.name.as_str(), s.section.as_deref()))
                .collect(),
        ),
        Content::Course(course) => (
            course.sessions.iter().collect(),
            course
                .students
                .iter()
                .map(|s| (s.student_no.as_str(), s.name.as_str(), s.section.as_deref()))
                .collect(),
        ),
    };
    let marks = super::at_risk::marks_by_session(sessions.iter().copied());
    let mut headers: Vec<String> = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        .map(String::from)
        .to_vec();
    headers.extend(
        sessions
            .iter()
            .map(|s| assignment_name(s, &options.assignment)),
    );
    let mut points_row = vec![Cell::text("Points Possible")];
    points_row.extend((0..4).map(|_| Cell::text("")));
    points_row.extend(
        sessions
            .iter()
            .map(|_| Cell::text(options.points.to_string())),
    );
    let mut rows = vec![points_row];
    for (student_no, name, section) in students {
        let mut row = vec![
            Cell::text(name),
            Cell::text(""),
            Cell::text(student_no),
            Cell::text(""),
            Cell::optional(section),
        ];
        row.extend(marks.iter().map(|session| {
            let mark = session.get(student_no).copied().flatten();
            Cell::text(score(mark, options))
        }));
        rows.push(row);
    }
    Table { headers, rows }
}

/// Points for a mark: full for present, the late credit for late, 0 for
/// absent, `EX` (Canvas's "excused") for excused, and no grade when the
/// student was not marked or not in the session.
pub fn score(mark: Option<Mark>, options: &CanvasOptions) -> String {
    match mark {
        Some(Mark::Present) => options.points.to_string(),
        Some(Mark::Late) => {
            let late = f64::from(options.points) * f64::from(options.late_credit_percent) / 100.0;
            let text = format!("{late:.2}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Some(Mark::Absent) => "0".to_string(),
        Some(Mark::Excused) => "EX".to_string(),
        None => String::new(),
    }
}

/// `Attendance 2026-11-30 #12`: Canvas matches assignments by name, so
/// the name depends on the session alone (the same in a session's report
/// and in any course report that holds it) and is unique (the id). Not
/// `(12)`: Canvas reads a number in brackets as its own assignment id.
/// The prefix comes from the config: controls in it are replaced, as in a
/// cell (the other headers are taproll's own words).
pub fn assignment_name(session: &SessionReport, prefix: &str) -> String {
    format!(
        "{} {} #{}",
        sanitize_for_terminal(prefix),
        session.started_at.format("%Y-%m-%d"),
        session.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_points_and_the_late_credit() {
        let options = CanvasOptions {
            points: 10,
            late_credit_percent: 75,
            ..CanvasOptions::default()
        };
        assert_eq!(score(Some(Mark::Present), &options), "10");
        assert_eq!(score(Some(Mark::Late), &options), "7.5");
        assert_eq!(score(Some(Mark::Absent), &options), "0");
        assert_eq!(score(Some(Mark::Excused), &options), "EX");
        assert_eq!(score(None, &options), "");
        let default = CanvasOptions::default();
        assert_eq!(score(Some(Mark::Late), &default), "0.8");
        let third = CanvasOptions {
            points: 1,
            late_credit_percent: 33,
            ..CanvasOptions::default()
        };
        assert_eq!(score(Some(Mark::Late), &third), "0.33");
    }
}
