//! The report's tables, defined once: every format shows the same columns
//! with the same headers, each writing the cells its own way.

use super::cell::{self, Cell, Table};
use super::model::{CourseReport, SessionReport};
use crate::privacy::UidExport;
use crate::risk;
use crate::store::UnknownTap;

/// One row per student of a session.
pub fn session_students(session: &SessionReport) -> Table {
    Table {
        headers: headers(&[
            "Student no",
            "Name",
            "Section",
            "Status",
            "First tap",
            "Source",
            "Note",
        ]),
        rows: session
            .students
            .iter()
            .map(|s| {
                vec![
                    Cell::text(&s.student_no),
                    Cell::text(&s.name),
                    Cell::optional(s.section.as_deref()),
                    Cell::text(cell::status(s.mark)),
                    Cell::Time(s.first_tap),
                    Cell::text(cell::source(s.source)),
                    Cell::optional(s.note.as_deref()),
                ]
            })
            .collect(),
    }
}

/// One row per student of a course, totals over its sessions.
pub fn course_students(course: &CourseReport) -> Table {
    Table {
        headers: headers(&[
            "Student no",
            "Name",
            "Section",
            "Present",
            "Late",
            "Absent",
            "Excused",
            "Rate",
            "Last attended",
            "At risk",
        ]),
        rows: course
            .students
            .iter()
            .map(|s| {
                vec![
                    Cell::text(&s.student_no),
                    Cell::text(&s.name),
                    Cell::optional(s.section.as_deref()),
                    Cell::Count(s.present),
                    Cell::Count(s.late),
                    Cell::Count(s.absent),
                    Cell::Count(s.excused),
                    Cell::Rate(s.rate),
                    Cell::Date(s.last_attended),
                    Cell::text(risk::describe(&s.risk)),
                ]
            })
            .collect(),
    }
}

/// The students at risk and why, one row each.
pub fn at_risk(course: &CourseReport) -> Table {
    Table {
        headers: headers(&["Student no", "Name", "Section", "Why"]),
        rows: course
            .at_risk()
            .map(|s| {
                vec![
                    Cell::text(&s.student_no),
                    Cell::text(&s.name),
                    Cell::optional(s.section.as_deref()),
                    Cell::text(risk::describe(&s.risk)),
                ]
            })
            .collect(),
    }
}

/// One row per session with its counts.
pub fn session_counts(sessions: &[SessionReport]) -> Table {
    Table {
        headers: headers(&[
            "Session",
            "Started",
            "Ended",
            "Label",
            "Present",
            "Late",
            "Absent",
            "Excused",
            "Unmarked",
            "Unknown cards",
            "Duplicates",
            "Repeats",
        ]),
        rows: sessions
            .iter()
            .map(|s| {
                vec![
                    Cell::Count(s.id as usize),
                    Cell::Time(Some(s.started_at)),
                    Cell::Time(s.ended_at),
                    Cell::optional(s.label.as_deref()),
                    Cell::Count(s.totals.present),
                    Cell::Count(s.totals.late),
                    Cell::Count(s.totals.absent),
                    Cell::Count(s.totals.excused),
                    Cell::Count(s.totals.unmarked),
                    Cell::Count(s.totals.unknown_cards),
                    Cell::Count(s.totals.duplicates),
                    Cell::Count(s.totals.repeats),
                ]
            })
            .collect(),
    }
}

/// Taps of cards nobody held, and who holds each card now; the cards as
/// `uids` says.
pub fn unknown_taps(taps: &[UnknownTap], uids: &UidExport) -> Table {
    Table {
        headers: headers(&["Time", "Card", "Reader", "Kind", "Claimed by"]),
        rows: taps
            .iter()
            .map(|t| {
                let claimed = match (&t.claimed_by, t.random_id) {
                    (Some((no, name)), _) => format!("{name} ({no})"),
                    (None, true) => "never (random ID)".to_string(),
                    (None, false) => "unclaimed".to_string(),
                };
                vec![
                    Cell::Time(Some(t.at)),
                    Cell::text(uids.text(&t.uid)),
                    Cell::text(&t.reader),
                    Cell::text(if t.random_id { "random_id" } else { "unknown" }),
                    Cell::text(claimed),
                ]
            })
            .collect(),
    }
}

/// A session's counts, one row.
pub fn session_totals(session: &SessionReport) -> Table {
    let t = &session.totals;
    Table {
        headers: headers(&[
            "Present",
            "Late",
            "Absent",
            "Excused",
            "Unmarked",
            "Unknown cards",
            "Unclaimed cards",
            "Duplicates",
            "Repeats",
        ]),
        rows: vec![vec![
            Cell::Count(t.present),
            Cell::Count(t.late),
            Cell::Count(t.absent),
            Cell::Count(t.excused),
            Cell::Count(t.unmarked),
            Cell::Count(t.unknown_cards),
            Cell::Count(t.unclaimed_cards),
            Cell::Count(t.duplicates),
            Cell::Count(t.repeats),
        ]],
    }
}

/// What a session was and its counts, as label and value.
pub fn session_facts(session: &SessionReport, time_zone: &str) -> Vec<(String, Cell)> {
    let mut facts = vec![
        ("Course".to_string(), Cell::text(&session.course)),
        ("Session".to_string(), Cell::Count(session.id as usize)),
        (
            "Label".to_string(),
            Cell::optional(session.label.as_deref()),
        ),
        ("Started".to_string(), Cell::Time(Some(session.started_at))),
        ("Ended".to_string(), Cell::Time(session.ended_at)),
        ("Time zone".to_string(), Cell::text(time_zone)),
    ];
    let totals = session_totals(session);
    facts.extend(
        totals
            .headers
            .into_iter()
            .zip(totals.rows.into_iter().flatten()),
    );
    facts
}

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}
