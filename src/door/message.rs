//! What the door display says, in plain words for a student, and for how
//! long: one `Message` per kind of news.

use crate::domain::{Outcome, TapRecord};
use crate::text::sanitize_for_terminal as clean;
use chrono::Duration;

/// How long what a tap did stays on the screen: long enough to read, short
/// enough that the next student never takes the previous one's name for
/// their own.
pub const SHOWN_FOR: Duration = Duration::seconds(4);

/// How long a tap that did not count stays: that student must see it even
/// if they have already turned away.
pub const LOUD_SHOWN_FOR: Duration = Duration::seconds(8);

/// What kind of news the screen shows; the view picks colours by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Nothing happened: waiting for a card.
    Waiting,
    /// Counted present.
    Counted,
    /// Counted late.
    Late,
    /// Stored, but counted absent (too late).
    Absent,
    /// Nothing to do (already recorded, an admin card).
    Noted,
    /// The student cannot be counted without the instructor (unknown card,
    /// not on the list), or nothing can be recorded now (no reader, no
    /// recorder).
    SeeInstructor,
    /// The tap did not count: tap again.
    Loud,
}

/// What the screen says: a name (when the card has a holder) over a line
/// in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The card holder's name, sanitised for the terminal.
    pub name: Option<String>,
    pub says: &'static str,
    pub tone: Tone,
}

impl Message {
    pub(super) fn plain(says: &'static str, tone: Tone) -> Self {
        Self {
            name: None,
            says,
            tone,
        }
    }

    /// How long it stays once shown.
    pub fn shown_for(&self) -> Duration {
        match self.tone {
            Tone::Loud => LOUD_SHOWN_FOR,
            _ => SHOWN_FOR,
        }
    }

    /// What a committed tap means to the student who made it; `None` for a
    /// repeat (the same card again within the debounce), which is no news.
    pub(super) fn of_tap(record: &TapRecord) -> Option<Self> {
        let name = record.student.as_ref().map(|student| clean(&student.name));
        let (says, tone, named) = match record.outcome {
            Outcome::Present => ("Welcome — present", Tone::Counted, true),
            Outcome::Late => ("Welcome — late", Tone::Late, true),
            Outcome::TooLate => ("Too late — counted absent", Tone::Absent, true),
            Outcome::Duplicate { .. } => ("Already recorded", Tone::Noted, true),
            Outcome::Unknown => (
                "Card not known — see the instructor",
                Tone::SeeInstructor,
                false,
            ),
            Outcome::RandomId => (
                "This card cannot be used — see the instructor",
                Tone::SeeInstructor,
                false,
            ),
            Outcome::NotEnrolled => (
                "Not on this course's list — see the instructor",
                Tone::SeeInstructor,
                true,
            ),
            Outcome::Repeat => return None,
        };
        Some(Self {
            name: name.filter(|_| named),
            says,
            tone,
        })
    }
}
