//! Who is at risk in a course report (`crate::risk` applied to it): the
//! column, the section and `taproll risk` read what this marks.

use super::model::{CourseReport, SessionReport, StudentTotals};
use crate::domain::Mark;
use crate::risk::{self, RiskRules};
use std::collections::HashMap;

impl CourseReport {
    /// Marks who of the students enrolled now is at risk under `rules`,
    /// from their marks in the report's sessions (oldest first). A session
    /// still open counts as held for a student only once they are marked
    /// in it. Over a date range, the sessions left in the term are not
    /// known: the "cannot reach" rule is off.
    pub fn assess_risk(&mut self, rules: &RiskRules) {
        let mut rules = *rules;
        if self.from.is_some() || self.to.is_some() {
            rules.planned_sessions = 0;
        }
        let ended = self
            .sessions
            .iter()
            .filter(|s| s.ended_at.is_some())
            .count();
        let open: Vec<bool> = self.sessions.iter().map(|s| s.ended_at.is_none()).collect();
        let marks = marks_by_session(&self.sessions);
        for student in self.students.iter_mut().filter(|s| s.enrolled) {
            let theirs: Vec<Option<Mark>> = marks
                .iter()
                .map(|session| session.get(student.student_no.as_str()).copied().flatten())
                .collect();
            let marked_in_open = theirs
                .iter()
                .zip(&open)
                .filter(|(mark, open)| **open && mark.is_some())
                .count();
            student.risk = risk::assess(&theirs, ended + marked_in_open, &rules);
        }
    }

    /// Each session's marks by student number, oldest session first.
    pub fn marks(&self) -> Vec<HashMap<&str, Option<Mark>>> {
        marks_by_session(&self.sessions)
    }

    /// The students at risk, in report order.
    pub fn at_risk(&self) -> impl Iterator<Item = &StudentTotals> {
        self.students.iter().filter(|s| !s.risk.is_empty())
    }
}

/// Each session's marks by student number (a student not in a session
/// has no entry; one not marked yet has `None`).
pub fn marks_by_session<'a>(
    sessions: impl IntoIterator<Item = &'a SessionReport>,
) -> Vec<HashMap<&'a str, Option<Mark>>> {
    sessions
        .into_iter()
        .map(|session| {
            session
                .students
                .iter()
                .map(|line| (line.student_no.as_str(), line.mark))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Zone;
    use crate::report::model::fixtures::{at, data, row};
    use crate::report::model::{Enrolled, course_report, session_report};
    use crate::risk::Reason;
    use chrono::NaiveDate;

    /// Ann and Bob: 1 of 2 sessions attended (ended), then a session still
    /// open where Ann is marked present and Bob not yet; Cy is no longer
    /// enrolled. 4 sessions planned, at 75%.
    fn course_with_an_open_session(from: Option<NaiveDate>) -> CourseReport {
        let zone = Zone::parse("UTC").unwrap();
        let ended = |id, start: &str, marks: [Option<Mark>; 3]| {
            let mut data = data(
                id,
                start,
                vec![
                    row("1", "Ann", marks[0]),
                    row("2", "Bob", marks[1]),
                    row("3", "Cy", marks[2]),
                ],
            );
            data.session.ended_at = Some(at(start) + chrono::Duration::hours(1));
            session_report(data, &zone)
        };
        let (p, a) = (Some(Mark::Present), Some(Mark::Absent));
        let open = session_report(
            data(
                3,
                "2026-11-16T09:00:00+00:00",
                vec![row("1", "Ann", p), row("2", "Bob", None)],
            ),
            &zone,
        );
        let sessions = vec![
            ended(1, "2026-11-02T09:00:00+00:00", [p, p, a]),
            ended(2, "2026-11-09T09:00:00+00:00", [a, a, a]),
            open,
        ];
        let enrolled = ["1", "2"]
            .map(|no| Enrolled {
                student_no: no.into(),
                name: if no == "1" { "Ann" } else { "Bob" }.into(),
                section: None,
            })
            .to_vec();
        course_report("Physics".into(), from, None, enrolled, sessions)
    }

    #[test]
    fn an_open_session_is_held_for_a_student_only_once_they_are_marked_in_it() {
        let rules = RiskRules {
            min_rate_percent: 75,
            consecutive_absences: 0,
            planned_sessions: 4,
        };
        let mut course = course_with_an_open_session(None);
        course.assess_risk(&rules);
        let cannot_reach = |s: &StudentTotals| {
            s.risk
                .iter()
                .any(|r| matches!(r, Reason::CannotReach { .. }))
        };
        // Ann: 2 of 3 held, 1 left: 3 of 4 at best, 75%: reachable.
        // Bob: 1 of 2 held, 2 left (the open one too): 3 of 4: reachable.
        assert!(
            !course.students.iter().any(cannot_reach),
            "{:?}",
            course.students
        );
        // Cy is not enrolled any more: not assessed.
        let cy = course
            .students
            .iter()
            .find(|s| s.student_no == "3")
            .unwrap();
        assert!(cy.risk.is_empty() && !cy.enrolled);
        // Over a date range the term's sessions left are unknown.
        let mut ranged = course_with_an_open_session(NaiveDate::from_ymd_opt(2026, 11, 9));
        ranged.assess_risk(&RiskRules {
            planned_sessions: 2,
            ..rules
        });
        assert!(!ranged.students.iter().any(cannot_reach));
    }
}
