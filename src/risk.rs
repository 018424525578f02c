//! Who is at risk, and why (pure): a student's marks over a course's
//! sessions against the course's rules (`[risk]`). Three rules, each off
//! at 0:
//! - the attendance rate is under `min_rate_percent` (the rate of every
//!   report: present and late over present, late and absent; excused
//!   sessions do not count);
//! - the last `consecutive_absences` marks are absences (excused sessions
//!   and sessions the student was not in are passed over, a present or
//!   late mark ends the run);
//! - with `planned_sessions` for the term, the rate cannot reach
//!   `min_rate_percent` any more even if the student attends every session
//!   left.

use crate::domain::Mark;
use std::fmt;

/// The rules for one course.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    pub min_rate_percent: u32,
    pub consecutive_absences: u32,
    pub planned_sessions: u32,
}

impl Default for RiskRules {
    fn default() -> Self {
        Self {
            min_rate_percent: 80,
            consecutive_absences: 3,
            planned_sessions: 0,
        }
    }
}

/// Why a student is at risk.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// The rate so far is under the minimum.
    BelowRate { rate: f64, min_percent: u32 },
    /// This many absences in a row, up to the last session.
    Absences { in_a_row: usize },
    /// The best rate still possible, attending every session left.
    CannotReach {
        best: f64,
        min_percent: u32,
        planned: u32,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::BelowRate { rate, min_percent } => {
                write!(f, "attendance {} (under {min_percent}%)", percent(*rate))
            }
            Reason::Absences { in_a_row } => write!(f, "{in_a_row} absences in a row"),
            Reason::CannotReach {
                best,
                min_percent,
                planned,
            } => write!(
                f,
                "cannot reach {min_percent}% any more (at most {} of {planned} sessions)",
                percent(*best)
            ),
        }
    }
}

/// `62%`, rounded down: a rate shown as 80% is never under 80%.
fn percent(rate: f64) -> String {
    format!("{}%", (rate * 100.0 + 1e-9).floor() as u32)
}

impl Reason {
    /// For the roster's status line, which shares 80 columns.
    pub fn short(&self) -> String {
        match self {
            Reason::BelowRate { rate, min_percent } => {
                format!("{} (min {min_percent}%)", percent(*rate))
            }
            Reason::Absences { in_a_row } => format!("{in_a_row} absent in a row"),
            Reason::CannotReach { best, planned, .. } => {
                format!("max {} of {planned}", percent(*best))
            }
        }
    }
}

/// The short reasons in one line.
pub fn describe_short(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(Reason::short)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line of reasons, for a cell or a listing.
pub fn describe(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The reasons a student with these marks (oldest first; `None`: not in
/// that session, or not marked yet) is at risk, given that the course has
/// held `held` sessions so far. Empty: not at risk.
pub fn assess(marks: &[Option<Mark>], held: usize, rules: &RiskRules) -> Vec<Reason> {
    let attended = marks
        .iter()
        .filter(|m| matches!(m, Some(Mark::Present | Mark::Late)))
        .count();
    let counted = attended + marks.iter().filter(|m| **m == Some(Mark::Absent)).count();
    let min = rules.min_rate_percent as usize;
    let under = |attended: usize, counted: usize| counted > 0 && attended * 100 < min * counted;
    let mut reasons = Vec::new();
    if min > 0 && under(attended, counted) {
        reasons.push(Reason::BelowRate {
            rate: attended as f64 / counted as f64,
            min_percent: rules.min_rate_percent,
        });
    }
    let in_a_row = absences_in_a_row(marks);
    if rules.consecutive_absences > 0 && in_a_row >= rules.consecutive_absences as usize {
        reasons.push(Reason::Absences { in_a_row });
    }
    if min > 0 && rules.planned_sessions > 0 {
        let left = (rules.planned_sessions as usize).saturating_sub(held);
        if under(attended + left, counted + left) {
            reasons.push(Reason::CannotReach {
                best: (attended + left) as f64 / (counted + left) as f64,
                min_percent: rules.min_rate_percent,
                planned: rules.planned_sessions,
            });
        }
    }
    reasons
}

/// Absences at the end of the marks, passing over excused sessions and
/// sessions without a mark.
fn absences_in_a_row(marks: &[Option<Mark>]) -> usize {
    let mut count = 0;
    for mark in marks.iter().rev() {
        match mark {
            Some(Mark::Absent) => count += 1,
            Some(Mark::Present | Mark::Late) => break,
            Some(Mark::Excused) | None => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use Mark::{Absent as A, Excused as E, Late as L, Present as P};

    fn rules(min: u32, row: u32, planned: u32) -> RiskRules {
        RiskRules {
            min_rate_percent: min,
            consecutive_absences: row,
            planned_sessions: planned,
        }
    }

    fn marks(list: &[Mark]) -> Vec<Option<Mark>> {
        list.iter().copied().map(Some).collect()
    }

    #[test]
    fn a_rate_exactly_at_the_minimum_is_not_under_it() {
        // 4 of 5 attended: 80%.
        let at = marks(&[P, L, P, A, P]);
        assert!(assess(&at, 5, &rules(80, 0, 0)).is_empty());
        let under = marks(&[P, L, A, A, P]);
        assert_eq!(
            assess(&under, 5, &rules(80, 0, 0)),
            [Reason::BelowRate {
                rate: 0.6,
                min_percent: 80
            }]
        );
        assert!(
            assess(&under, 5, &rules(60, 0, 0)).is_empty(),
            "60% is not under 60%"
        );
    }

    #[test]
    fn excused_sessions_and_sessions_not_in_do_not_count_toward_the_rate() {
        let some = vec![Some(P), Some(E), None, Some(E), Some(P)];
        assert!(assess(&some, 5, &rules(100, 0, 0)).is_empty());
        assert!(
            assess(&[None, Some(E)], 2, &rules(80, 3, 0)).is_empty(),
            "nothing counted"
        );
    }

    #[test]
    fn absences_in_a_row_count_from_the_last_session_back() {
        let three = marks(&[P, A, A, A]);
        assert_eq!(
            assess(&three, 4, &rules(0, 3, 0)),
            [Reason::Absences { in_a_row: 3 }]
        );
        assert!(assess(&three, 4, &rules(0, 4, 0)).is_empty(), "3 is not 4");
        // An old run that ended is no risk now.
        assert!(assess(&marks(&[A, A, A, P]), 4, &rules(0, 3, 0)).is_empty());
        // Excused and missing sessions neither end nor extend a run.
        let passed_over = vec![Some(A), Some(E), Some(A), None, Some(A)];
        assert_eq!(
            assess(&passed_over, 5, &rules(0, 3, 0)),
            [Reason::Absences { in_a_row: 3 }]
        );
        assert!(
            assess(&marks(&[A, A, L]), 3, &rules(0, 2, 0)).is_empty(),
            "late ends it"
        );
    }

    #[test]
    fn the_best_rate_still_possible_decides_cannot_reach() {
        // 10 planned, 6 held: 2 of 6 attended. Attending the 4 left gives
        // 6 of 10 = 60%.
        let held = marks(&[P, A, A, P, A, A]);
        let reasons = assess(&held, 6, &rules(60, 0, 10));
        assert!(
            !reasons
                .iter()
                .any(|r| matches!(r, Reason::CannotReach { .. })),
            "exactly 60%"
        );
        let reasons = assess(&held, 6, &rules(61, 0, 10));
        assert_eq!(
            reasons.last(),
            Some(&Reason::CannotReach {
                best: 0.6,
                min_percent: 61,
                planned: 10
            })
        );
        // More sessions held than planned: nothing left to make up.
        let reasons = assess(&marks(&[P, A]), 3, &rules(60, 0, 2));
        assert!(matches!(reasons.last(), Some(Reason::CannotReach { best, .. }) if *best == 0.5));
        // Planned sessions without a minimum rate: no rule.
        assert!(assess(&held, 6, &rules(0, 0, 10)).is_empty());
    }

    #[test]
    fn reasons_read_as_a_line() {
        let reasons = assess(&marks(&[P, A, A, A]), 4, &rules(80, 3, 12));
        assert_eq!(
            describe(&reasons),
            "attendance 25% (under 80%); 3 absences in a row; \
             cannot reach 80% any more (at most 75% of 12 sessions)"
        );
        assert_eq!(
            describe_short(&reasons),
            "25% (min 80%); 3 absent in a row; max 75% of 12"
        );
        // Rounded down: 79.99% is not shown as 80%.
        assert_eq!(percent(0.7999), "79%");
        assert_eq!(percent(0.8), "80%");
    }
}
