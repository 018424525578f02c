//! The attendance rules: what a tap means, and the roster's counts.
//! Pure functions over plain data, so every boundary is unit-tested.

use crate::domain::{Mark, Outcome, RosterRow, Timestamp};
use chrono::Duration;

/// The knobs that decide a tap's outcome, from config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A first tap later than this after the session start is late.
    pub late_after: Duration,
    /// A tap of the same card within this long of its previous tap is a repeat.
    pub debounce: Duration,
    /// A first tap later than this after the start counts as absent.
    pub absent_after: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            late_after: Duration::minutes(10),
            debounce: Duration::seconds(3),
            absent_after: None,
        }
    }
}

/// Who holds the tapped card, as far as this session is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// No student has this card.
    Nobody,
    /// A student holds it but is not on this course's roster.
    NotEnrolled,
    /// A student on the roster holds it; `marked_at` is their existing mark's time.
    Enrolled { marked_at: Option<Timestamp> },
}

/// Everything the rules need to know about one tap.
#[derive(Clone, Copy, Debug)]
pub struct TapFacts {
    pub at: Timestamp,
    pub session_start: Timestamp,
    /// When this card was last tapped (any outcome), if ever.
    pub card_last_tapped: Option<Timestamp>,
    pub holder: Holder,
    /// The UID is a random ID (see `CardUid::is_random_id`).
    pub random_uid: bool,
}

/// Decides what a tap means. The debounce comes first: a card held near the
/// reader or tapped twice in a hurry must not produce a second event.
pub fn decide(policy: &Policy, facts: &TapFacts) -> Outcome {
    if let Some(last) = facts.card_last_tapped {
        // abs(): a clock stepped backwards must not turn one tap into two events.
        if (facts.at - last).abs() < policy.debounce {
            return Outcome::Repeat;
        }
    }
    match facts.holder {
        Holder::Nobody if facts.random_uid => Outcome::RandomId,
        Holder::Nobody => Outcome::Unknown,
        Holder::NotEnrolled => Outcome::NotEnrolled,
        Holder::Enrolled {
            marked_at: Some(first_at),
        } => Outcome::Duplicate { first_at },
        Holder::Enrolled { marked_at: None } => {
            match first_tap_mark(policy, &facts.session_start, &facts.at) {
                Mark::Absent => Outcome::TooLate,
                Mark::Late => Outcome::Late,
                Mark::Present | Mark::Excused => Outcome::Present,
            }
        }
    }
}

/// The mark a student's first tap gives: late strictly after the late
/// cutoff, absent strictly after the absent cutoff (if there is one). Also
/// used when an earlier tap of an unknown card is claimed later.
pub fn first_tap_mark(policy: &Policy, session_start: &Timestamp, at: &Timestamp) -> Mark {
    let after = |cutoff: Duration| *at > *session_start + cutoff;
    if policy.absent_after.is_some_and(after) {
        Mark::Absent
    } else if after(policy.late_after) {
        Mark::Late
    } else {
        Mark::Present
    }
}

/// Header counts of a roster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub present: usize,
    pub late: usize,
    pub absent: usize,
    pub excused: usize,
    /// No mark yet (the session is open): not absent until it ends, as the
    /// reports say.
    pub unmarked: usize,
}

pub fn tally(rows: &[RosterRow]) -> Counts {
    let mut counts = Counts::default();
    for row in rows {
        match row.mark {
            Some(Mark::Present) => counts.present += 1,
            Some(Mark::Late) => counts.late += 1,
            Some(Mark::Excused) => counts.excused += 1,
            Some(Mark::Absent) => counts.absent += 1,
            None => counts.unmarked += 1,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MarkSource, Student};
    use chrono::DateTime;

    fn t(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(&format!("2026-11-30T{text}+01:00")).unwrap()
    }

    fn facts(at: &str, last: Option<&str>, holder: Holder) -> TapFacts {
        TapFacts {
            at: t(at),
            session_start: t("09:00:00"),
            card_last_tapped: last.map(t),
            holder,
            random_uid: false,
        }
    }

    const ENROLLED: Holder = Holder::Enrolled { marked_at: None };

    #[test]
    fn first_tap_before_the_cutoff_is_present() {
        let p = Policy::default();
        assert_eq!(
            decide(&p, &facts("09:03:00", None, ENROLLED)),
            Outcome::Present
        );
    }

    #[test]
    fn late_starts_strictly_after_late_after_minutes() {
        let p = Policy::default();
        assert_eq!(
            decide(&p, &facts("09:10:00", None, ENROLLED)),
            Outcome::Present
        );
        assert_eq!(
            decide(&p, &facts("09:10:00.001", None, ENROLLED)),
            Outcome::Late
        );
    }

    #[test]
    fn absent_starts_strictly_after_absent_after_minutes() {
        let p = Policy {
            absent_after: Some(Duration::minutes(30)),
            ..Policy::default()
        };
        assert_eq!(
            decide(&p, &facts("09:30:00", None, ENROLLED)),
            Outcome::Late
        );
        assert_eq!(
            decide(&p, &facts("09:30:00.001", None, ENROLLED)),
            Outcome::TooLate
        );
        assert_eq!(Outcome::TooLate.mark(), Some(Mark::Absent));
        // Without an absent cutoff, any first tap after the late one is late.
        let open = Policy::default();
        assert_eq!(
            decide(&open, &facts("11:00:00", None, ENROLLED)),
            Outcome::Late
        );
    }

    #[test]
    fn a_second_tap_after_the_debounce_is_a_duplicate_with_the_first_time() {
        let p = Policy::default();
        let holder = Holder::Enrolled {
            marked_at: Some(t("09:04:00")),
        };
        assert_eq!(
            decide(&p, &facts("09:05:00", Some("09:04:00"), holder)),
            Outcome::Duplicate {
                first_at: t("09:04:00")
            }
        );
    }

    #[test]
    fn the_same_card_within_the_debounce_is_a_repeat_whoever_holds_it() {
        let p = Policy::default();
        for holder in [Holder::Nobody, Holder::NotEnrolled, ENROLLED] {
            assert_eq!(
                decide(&p, &facts("09:04:02.999", Some("09:04:00"), holder)),
                Outcome::Repeat
            );
        }
        // Exactly at the debounce it counts again.
        assert_eq!(
            decide(&p, &facts("09:04:03", Some("09:04:00"), Holder::Nobody)),
            Outcome::Unknown
        );
    }

    #[test]
    fn a_clock_stepped_back_does_not_split_a_tap() {
        let p = Policy::default();
        assert_eq!(
            decide(&p, &facts("09:03:59", Some("09:04:00"), ENROLLED)),
            Outcome::Repeat
        );
    }

    #[test]
    fn unknown_and_not_enrolled_cards() {
        let p = Policy::default();
        assert_eq!(
            decide(&p, &facts("09:01:00", None, Holder::Nobody)),
            Outcome::Unknown
        );
        assert_eq!(
            decide(&p, &facts("09:01:00", None, Holder::NotEnrolled)),
            Outcome::NotEnrolled
        );
    }

    #[test]
    fn an_unknown_random_id_is_its_own_outcome() {
        let p = Policy::default();
        let mut f = facts("09:01:00", None, Holder::Nobody);
        f.random_uid = true;
        assert_eq!(decide(&p, &f), Outcome::RandomId);
        // An enrolled card is a student's card, whatever its first byte.
        f.holder = ENROLLED;
        assert_eq!(decide(&p, &f), Outcome::Present);
    }

    #[test]
    fn tally_counts_unmarked_students_apart_from_absent_ones() {
        let row = |mark| RosterRow {
            student: Student {
                id: 1,
                student_no: "s1".into(),
                name: "A".into(),
            },
            mark,
            source: mark.map(|_| MarkSource::Card),
            marked_at: None,
            has_card: true,
        };
        let rows = [
            row(Some(Mark::Present)),
            row(Some(Mark::Present)),
            row(Some(Mark::Late)),
            row(Some(Mark::Excused)),
            row(Some(Mark::Absent)),
            row(None),
        ];
        assert_eq!(
            tally(&rows),
            Counts {
                present: 2,
                late: 1,
                absent: 1,
                excused: 1,
                unmarked: 1
            }
        );
    }
}
