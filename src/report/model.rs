//! The report model: what a report says, computed from stored sessions and
//! independent of any format. Pure: no I/O, times already in the report's zone.

use super::zone::Zone;
use crate::domain::{CardUid, Mark, Timestamp};
use crate::risk::Reason;
use crate::store::{ReportRow, SessionData, UnknownTap};
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The zone every time and date in the report is in, e.g. `Europe/Amsterdam`.
    pub time_zone: String,
    pub content: Content,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    Session(SessionReport),
    Course(CourseReport),
}

/// One class meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionReport {
    pub course: String,
    pub id: i64,
    pub label: Option<String>,
    pub started_at: Timestamp,
    /// `None` while the session is open.
    pub ended_at: Option<Timestamp>,
    /// Sorted by name; first taps in the report's zone. `mark` is `None`
    /// for a student not marked yet (the session is open).
    pub students: Vec<ReportRow>,
    pub totals: Totals,
    /// In tap order, times in the report's zone.
    pub unknown_taps: Vec<UnknownTap>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub present: usize,
    pub late: usize,
    pub absent: usize,
    pub excused: usize,
    pub unmarked: usize,
    /// Different cards tapped that nobody held at the time.
    pub unknown_cards: usize,
    /// Of those, the ones still nobody's (random IDs can never be claimed).
    pub unclaimed_cards: usize,
    /// Taps of students already counted.
    pub duplicates: usize,
    /// The same card again within the debounce window.
    pub repeats: usize,
}

/// A course over a date range.
#[derive(Clone, Debug, PartialEq)]
pub struct CourseReport {
    pub course: String,
    /// Inclusive dates in the report's zone; `None`: open-ended.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Oldest first.
    pub sessions: Vec<SessionReport>,
    /// Sorted by name.
    pub students: Vec<StudentTotals>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StudentTotals {
    pub student_no: String,
    pub name: String,
    pub section: Option<String>,
    pub present: usize,
    pub late: usize,
    pub absent: usize,
    pub excused: usize,
    /// (present + late) / (present + late + absent); excused sessions do not
    /// count. `None` when there is nothing to count.
    pub rate: Option<f64>,
    /// Date of the last session the student was present or late.
    pub last_attended: Option<NaiveDate>,
    /// Why the student is at risk (`CourseReport::assess_risk`); empty when
    /// they are not, or when nobody asked.
    pub risk: Vec<Reason>,
    /// On the course's roster now (not only marked in a past session).
    pub enrolled: bool,
}

/// A student enrolled in the course now, for the course report's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    pub student_no: String,
    pub name: String,
    pub section: Option<String>,
}

pub fn session_report(data: SessionData, zone: &Zone) -> SessionReport {
    let mut students = data.rows;
    for student in &mut students {
        student.first_tap = student.first_tap.map(|at| zone.convert(&at));
    }
    students.sort_by_cached_key(|s| by_name(&s.name, &s.student_no));
    let mut totals = Totals::default();
    for student in &students {
        match student.mark {
            Some(Mark::Present) => totals.present += 1,
            Some(Mark::Late) => totals.late += 1,
            Some(Mark::Absent) => totals.absent += 1,
            Some(Mark::Excused) => totals.excused += 1,
            None => totals.unmarked += 1,
        }
    }
    let mut unknown_taps = data.unknown_taps;
    for tap in &mut unknown_taps {
        tap.at = zone.convert(&tap.at);
    }
    let cards: BTreeSet<&CardUid> = unknown_taps.iter().map(|t| &t.uid).collect();
    let unclaimed: BTreeSet<&CardUid> = unknown_taps
        .iter()
        .filter(|t| t.claimed_by.is_none())
        .map(|t| &t.uid)
        .collect();
    totals.unknown_cards = cards.len();
    totals.unclaimed_cards = unclaimed.len();
    if let Some(purged) = &data.purged {
        totals.unknown_cards += purged.unknown_cards;
        totals.unclaimed_cards += purged.unclaimed_cards;
    }
    totals.duplicates = data.duplicates;
    totals.repeats = data.repeats;
    SessionReport {
        course: data.session.course.name,
        id: data.session.id,
        label: data.label,
        started_at: zone.convert(&data.session.started_at),
        ended_at: data.session.ended_at.map(|at| zone.convert(&at)),
        students,
        totals,
        unknown_taps,
    }
}

/// Per-student totals over `sessions` (already in the report's zone), for
/// everyone enrolled now and everyone marked in one of them.
pub fn course_report(
    course: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    enrolled: Vec<Enrolled>,
    sessions: Vec<SessionReport>,
) -> CourseReport {
    let mut by_no: HashMap<String, StudentTotals> = HashMap::new();
    for student in enrolled {
        let totals = StudentTotals {
            enrolled: true,
            ..empty_totals(student.student_no.clone(), student.name, student.section)
        };
        by_no.insert(student.student_no, totals);
    }
    for session in &sessions {
        let date = session.started_at.date_naive();
        for line in &session.students {
            let totals = by_no.entry(line.student_no.clone()).or_insert_with(|| {
                empty_totals(
                    line.student_no.clone(),
                    line.name.clone(),
                    line.section.clone(),
                )
            });
            match line.mark {
                Some(Mark::Present) => totals.present += 1,
                Some(Mark::Late) => totals.late += 1,
                Some(Mark::Absent) => totals.absent += 1,
                Some(Mark::Excused) => totals.excused += 1,
                // Not absent yet: the session is still open.
                None => {}
            }
            if matches!(line.mark, Some(Mark::Present | Mark::Late)) {
                totals.last_attended = totals.last_attended.max(Some(date));
            }
        }
    }
    let mut students: Vec<StudentTotals> = by_no
        .into_values()
        .map(|mut totals| {
            totals.rate = attendance_rate(totals.present, totals.late, totals.absent);
            totals
        })
        .collect();
    students.sort_by_cached_key(|s| by_name(&s.name, &s.student_no));
    CourseReport {
        course,
        from,
        to,
        sessions,
        students,
    }
}

/// The order of students in every report: by name ignoring case, then by
/// student number.
fn by_name(name: &str, student_no: &str) -> (String, String) {
    (name.to_lowercase(), student_no.to_string())
}

fn empty_totals(student_no: String, name: String, section: Option<String>) -> StudentTotals {
    StudentTotals {
        student_no,
        name,
        section,
        present: 0,
        late: 0,
        absent: 0,
        excused: 0,
        rate: None,
        last_attended: None,
        risk: Vec::new(),
        enrolled: false,
    }
}

/// Attended over counted sessions; excused sessions are left out of both.
pub fn attendance_rate(present: usize, late: usize, absent: usize) -> Option<f64> {
    let counted = present + late + absent;
    (counted > 0).then(|| (present + late) as f64 / counted as f64)
}

/// Whether a session that started at `started_at` (in the report's zone) is
/// within the inclusive date range.
pub fn in_range(started_at: &Timestamp, from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
    let date = started_at.date_naive();
    from.is_none_or(|from| date >= from) && to.is_none_or(|to| date <= to)
}

/// The report tests' sessions, built by hand: shared by the model's,
/// the risk column's and the term grid's tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::domain::{Course, MarkSource, Session};

    pub fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }

    /// A student's line; a mark came from a card.
    pub fn row(no: &str, name: &str, mark: Option<Mark>) -> ReportRow {
        ReportRow {
            student_no: no.into(),
            name: name.into(),
            section: None,
            mark,
            source: mark.map(|_| MarkSource::Card),
            note: None,
            first_tap: None,
        }
    }

    /// An open session of Physics with these lines.
    pub fn data(id: i64, start: &str, rows: Vec<ReportRow>) -> SessionData {
        SessionData {
            purged: None,
            session: Session {
                id,
                course: Course {
                    id: 1,
                    name: "Physics".into(),
                },
                started_at: at(start),
                ended_at: None,
            },
            label: None,
            rows,
            unknown_taps: Vec::new(),
            duplicates: 0,
            repeats: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{at, data, row};
    use super::*;

    fn utc() -> Zone {
        Zone::parse("UTC").unwrap()
    }

    #[test]
    fn session_totals_count_every_status_and_distinct_unknown_cards() {
        let mut input = data(
            1,
            "2026-11-30T09:00:00+00:00",
            vec![
                row("1", "A", Some(Mark::Present)),
                row("2", "B", Some(Mark::Late)),
                row("3", "C", Some(Mark::Absent)),
                row("4", "D", Some(Mark::Excused)),
                row("5", "E", None),
                row("6", "F", Some(Mark::Present)),
            ],
        );
        let tap = |uid: &str, claimed: bool| UnknownTap {
            at: at("2026-11-30T09:01:00+00:00"),
            uid: CardUid::parse(uid).unwrap(),
            reader: "door".into(),
            random_id: false,
            claimed_by: claimed.then(|| ("7".into(), "G".into())),
        };
        input.unknown_taps = vec![tap("AA", false), tap("AA", false), tap("BB", true)];
        let report = session_report(input, &utc());
        assert_eq!(
            report.totals,
            Totals {
                present: 2,
                late: 1,
                absent: 1,
                excused: 1,
                unmarked: 1,
                unknown_cards: 2,
                unclaimed_cards: 1,
                duplicates: 0,
                repeats: 0,
            }
        );
    }

    #[test]
    fn course_totals_rate_and_last_attended() {
        let zone = utc();
        let sessions = vec![
            session_report(
                data(
                    1,
                    "2026-11-02T09:00:00+00:00",
                    vec![
                        row("1", "Ann", Some(Mark::Present)),
                        row("2", "bob", Some(Mark::Absent)),
                    ],
                ),
                &zone,
            ),
            session_report(
                data(
                    2,
                    "2026-11-09T09:00:00+00:00",
                    vec![
                        row("1", "Ann", Some(Mark::Late)),
                        row("2", "bob", Some(Mark::Excused)),
                    ],
                ),
                &zone,
            ),
            session_report(
                data(
                    3,
                    "2026-11-16T09:00:00+00:00",
                    vec![row("1", "Ann", Some(Mark::Absent)), row("2", "bob", None)],
                ),
                &zone,
            ),
        ];
        let enrolled = vec![Enrolled {
            student_no: "3".into(),
            name: "Cy".into(),
            section: None,
        }];
        let report = course_report("Physics".into(), None, None, enrolled, sessions);
        let names: Vec<&str> = report.students.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Ann", "bob", "Cy"]);
        let ann = &report.students[0];
        assert_eq!(
            (ann.present, ann.late, ann.absent, ann.excused),
            (1, 1, 1, 0)
        );
        assert_eq!(ann.rate, Some(2.0 / 3.0));
        assert_eq!(ann.last_attended, NaiveDate::from_ymd_opt(2026, 11, 9));
        let bob = &report.students[1];
        assert_eq!((bob.present, bob.absent, bob.excused), (0, 1, 1));
        assert_eq!(bob.rate, Some(0.0));
        assert_eq!(bob.last_attended, None);
        let cy = &report.students[2];
        assert_eq!(cy.rate, None);
    }

    #[test]
    fn the_date_range_is_inclusive() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d);
        let start = at("2026-11-30T23:30:00+01:00");
        assert!(in_range(&start, day(30), day(30)));
        assert!(in_range(&start, None, None));
        assert!(!in_range(&start, None, day(29)));
        assert!(!in_range(
            &start,
            Some(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            None
        ));
    }
}
