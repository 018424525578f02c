//! The door display (`taproll door`): a screen facing the students, read
//! from two metres, with no keyboard. It says what the last tap did, in
//! plain words and big letters, and otherwise invites the next one, or
//! says why it cannot.
//!
//! This is its state as plain data (`Door`) and its drawing (`view.rs`,
//! with `layout.rs` and `font.rs`); no terminal and no I/O. The loop that
//! feeds it the recorder's notices and the clock is `live.rs`.

pub mod font;
mod layout;
pub mod live;
mod message;
pub mod view;

pub use message::{LOUD_SHOWN_FOR, Message, SHOWN_FOR, Tone};

use crate::domain::{CardUid, Timestamp};
use crate::engine::Update;
use crate::reader::ReaderEvent;
use crate::text::sanitize_for_terminal as clean;
use chrono::Duration;

/// What was shown last, for whose card, and since when. Kept after it has
/// timed out: a repeat of the same card shows it again.
#[derive(Clone, Debug)]
struct Shown {
    message: Message,
    card: Option<CardUid>,
    since: Timestamp,
}

/// The door display's state: plain data, changed by engine updates and the
/// clock, read by `view::render`.
#[derive(Clone, Debug)]
pub struct Door {
    /// Sanitised for the terminal.
    course: String,
    now: Timestamp,
    last: Option<Shown>,
    /// Readers connected now, in the order they came.
    readers: Vec<String>,
    /// The view is attached to a recorder. It starts detached, so a loop
    /// that never says otherwise shows "Not recording", not an invitation
    /// to tap into nothing.
    connected: bool,
}

impl Door {
    /// A door display for `course_name`, attached to no recorder and with
    /// no reader yet (`set_connected`, `set_readers`).
    pub fn new(course_name: String, now: Timestamp) -> Door {
        Door {
            course: clean(&course_name),
            now,
            last: None,
            readers: Vec::new(),
            connected: false,
        }
    }

    /// An engine update, at `now` (the view's clock: what is shown times
    /// out by it, not by the tap's own time).
    pub fn apply(&mut self, update: &Update, now: Timestamp) {
        self.now = now;
        match update {
            Update::Tap(record) => match Message::of_tap(record) {
                Some(message) => self.show(message, Some(record.uid.clone())),
                // A card held at the reader: the same card's news stays up
                // (from now), anything else is left as it is.
                None => {
                    if let Some(last) = &mut self.last
                        && last.card.as_ref() == Some(&record.uid)
                    {
                        last.since = now;
                    }
                }
            },
            Update::NotRecorded { uid, .. } => self.show(
                Message::plain("NOT RECORDED — tap again", Tone::Loud),
                Some(uid.clone()),
            ),
            Update::Reader(event) => self.apply_reader_event(event),
            Update::AdminCard { .. } => self.show(Message::plain("Admin card", Tone::Noted), None),
        }
    }

    /// The clock moved on: what a tap did makes way for the idle screen
    /// once it has been up for its time.
    pub fn tick(&mut self, now: Timestamp) {
        self.now = now;
    }

    /// Whether the view is attached to its recorder. Detached, nothing a
    /// student taps is recorded, and the idle screen says so.
    pub fn set_connected(&mut self, connected: bool) {
        self.connected = connected;
    }

    /// The readers connected now, as the recorder lists them when the view
    /// attaches (later changes come as reader events).
    pub fn set_readers(&mut self, readers: Vec<String>) {
        self.readers = readers.into_iter().map(|reader| clean(&reader)).collect();
    }

    fn apply_reader_event(&mut self, event: &ReaderEvent) {
        match event {
            ReaderEvent::ReaderAdded { reader } => {
                let reader = clean(reader);
                if !self.readers.contains(&reader) {
                    self.readers.push(reader);
                }
            }
            ReaderEvent::ReaderRemoved { reader } => {
                let reader = clean(reader);
                self.readers.retain(|r| *r != reader);
            }
            // The card was there but could not be read: nothing counted.
            ReaderEvent::CardError { .. } => {
                self.show(
                    Message::plain("Card not read — tap again", Tone::Loud),
                    None,
                );
            }
            // A card is followed by the engine's update for it; problems
            // are for the instructor's screen.
            ReaderEvent::Card { .. }
            | ReaderEvent::CardRemoved { .. }
            | ReaderEvent::Error { .. } => {}
        }
    }

    fn show(&mut self, message: Message, card: Option<CardUid>) {
        self.last = Some(Shown {
            message,
            card,
            since: self.now,
        });
    }

    // What the view reads.

    pub fn course(&self) -> &str {
        &self.course
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Readers connected now.
    pub fn readers(&self) -> &[String] {
        &self.readers
    }

    /// What the screen says now: the last tap's news while it is up, else
    /// the idle screen, which invites a tap only when one can be recorded.
    pub fn message(&self) -> Message {
        if let Some(last) = self.showing() {
            return last.message.clone();
        }
        if !self.connected {
            Message::plain("Not recording — see the instructor", Tone::SeeInstructor)
        } else if self.readers.is_empty() {
            Message::plain("No card reader — see the instructor", Tone::SeeInstructor)
        } else {
            Message::plain("Tap your card", Tone::Waiting)
        }
    }

    /// When what is up now makes way for the idle screen (`None`: the idle
    /// screen is up). A loop may sleep until then instead of ticking.
    pub fn shown_until(&self) -> Option<Timestamp> {
        self.showing()
            .map(|last| last.since + last.message.shown_for())
    }

    /// The last news, while it is up. A clock set back (before it was
    /// shown) ends it too, rather than keeping it up for as long.
    fn showing(&self) -> Option<&Shown> {
        self.last.as_ref().filter(|last| {
            let up = self.now - last.since;
            up >= Duration::zero() && up < last.message.shown_for()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Outcome, Student, TapRecord};

    fn at(time: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-11-30T{time}+01:00"))
            .expect("a test time")
    }

    fn card(hex: &str) -> CardUid {
        CardUid::parse(hex).expect("a test UID")
    }

    fn tap(uid: &str, outcome: Outcome, name: Option<&str>) -> Update {
        Update::Tap(TapRecord {
            tap_id: 1,
            tap_uuid: uuid::Uuid::nil(),
            session_uuid: uuid::Uuid::nil(),
            session_id: 7,
            // The tap's own time, on the recorder's clock: the door times
            // its messages by its own.
            at: at("08:00:00"),
            reader: "ACS ACR122U 00 00".into(),
            uid: card(uid),
            outcome,
            student: name.map(|name| Student {
                id: 1,
                student_no: "s1001".into(),
                name: name.into(),
            }),
        })
    }

    /// A door attached to its recorder, with a reader, at 09:00:00.
    fn ready() -> Door {
        let mut door = Door::new("Networks 101".into(), at("09:00:00"));
        door.set_connected(true);
        door.apply(
            &Update::Reader(ReaderEvent::ReaderAdded {
                reader: "ACS ACR122U 00 00".into(),
            }),
            at("09:00:00"),
        );
        door
    }

    #[test]
    fn a_tap_shows_the_name_and_what_it_did_then_the_screen_goes_back_to_idle() {
        let mut door = ready();
        assert_eq!(door.message().says, "Tap your card");
        door.apply(
            &tap("04A1B2C3", Outcome::Present, Some("Ada Lovelace")),
            at("09:00:10"),
        );
        let message = door.message();
        assert_eq!(message.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(message.says, "Welcome — present");
        assert_eq!(message.tone, Tone::Counted);
        assert_eq!(door.shown_until(), Some(at("09:00:10") + SHOWN_FOR));

        door.tick(at("09:00:10") + SHOWN_FOR - Duration::milliseconds(1));
        assert_eq!(door.message().says, "Welcome — present");
        door.tick(at("09:00:10") + SHOWN_FOR);
        assert_eq!(
            door.message(),
            Message::plain("Tap your card", Tone::Waiting)
        );
        assert_eq!(door.shown_until(), None);
    }

    #[test]
    fn a_repeat_does_not_replace_what_is_shown() {
        let mut door = ready();
        door.apply(
            &tap("04A1B2C3", Outcome::Present, Some("Ada Lovelace")),
            at("09:00:10"),
        );
        // Another card's repeat (its first tap was before the door looked).
        door.apply(
            &tap("04FFFFFF", Outcome::Repeat, Some("Alan Turing")),
            at("09:00:11"),
        );
        assert_eq!(door.message().name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(door.shown_until(), Some(at("09:00:10") + SHOWN_FOR));
        // The same card held at the reader: its news stays up, from now.
        door.apply(
            &tap("04A1B2C3", Outcome::Repeat, Some("Ada Lovelace")),
            at("09:00:13"),
        );
        assert_eq!(door.message().says, "Welcome — present");
        assert_eq!(door.shown_until(), Some(at("09:00:13") + SHOWN_FOR));
    }

    #[test]
    fn a_repeat_on_the_idle_screen_of_another_card_shows_nothing() {
        let mut door = ready();
        door.apply(
            &tap("04A1B2C3", Outcome::Present, Some("Ada Lovelace")),
            at("09:00:10"),
        );
        door.apply(
            &tap("04FFFFFF", Outcome::Repeat, Some("Alan Turing")),
            at("09:01:00"),
        );
        assert_eq!(door.message().says, "Tap your card");
    }

    #[test]
    fn not_recorded_is_loud_and_stays_longer() {
        let mut door = ready();
        door.apply(
            &Update::NotRecorded {
                reader: "ACS ACR122U 00 00".into(),
                uid: card("04A1B2C3"),
                at: at("08:00:00"),
                error: "disk I/O error".into(),
            },
            at("09:00:10"),
        );
        let message = door.message();
        assert_eq!(message.says, "NOT RECORDED — tap again");
        assert_eq!(message.tone, Tone::Loud);
        assert_eq!(message.name, None);
        assert!(LOUD_SHOWN_FOR > SHOWN_FOR);
        door.tick(at("09:00:10") + SHOWN_FOR);
        assert_eq!(door.message().tone, Tone::Loud);
        door.tick(at("09:00:10") + LOUD_SHOWN_FOR);
        assert_eq!(door.message().says, "Tap your card");
    }

    #[test]
    fn a_card_that_could_not_be_read_says_tap_again() {
        let mut door = ready();
        let error = ReaderEvent::CardError {
            reader: "ACS ACR122U 00 00".into(),
            message: "GET DATA refused".into(),
            at: at("08:00:00"),
        };
        door.apply(&Update::Reader(error), at("09:00:10"));
        assert_eq!(
            door.message(),
            Message::plain("Card not read — tap again", Tone::Loud)
        );
    }

    #[test]
    fn each_outcome_in_plain_words_with_a_name_only_when_it_is_the_holder() {
        let cases = [
            (Outcome::Late, Some("Ada"), "Welcome — late", Tone::Late),
            (
                Outcome::TooLate,
                Some("Ada"),
                "Too late — counted absent",
                Tone::Absent,
            ),
            (
                Outcome::Duplicate {
                    first_at: at("09:00:00"),
                },
                Some("Ada"),
                "Already recorded",
                Tone::Noted,
            ),
            (
                Outcome::Unknown,
                None,
                "Card not known — see the instructor",
                Tone::SeeInstructor,
            ),
            (
                Outcome::RandomId,
                None,
                "This card cannot be used — see the instructor",
                Tone::SeeInstructor,
            ),
            (
                Outcome::NotEnrolled,
                Some("Ada"),
                "Not on this course's list — see the instructor",
                Tone::SeeInstructor,
            ),
        ];
        for (outcome, name, says, tone) in cases {
            let mut door = ready();
            door.apply(&tap("04A1B2C3", outcome, Some("Ada")), at("09:00:10"));
            assert_eq!(
                door.message(),
                Message {
                    name: name.map(String::from),
                    says,
                    tone
                }
            );
        }
    }

    #[test]
    fn names_and_the_course_are_sanitised() {
        let mut door = Door::new("Net\u{1b}[2Jworks".into(), at("09:00:00"));
        door.apply(
            &tap("04A1B2C3", Outcome::Present, Some("Ada\u{7}")),
            at("09:00:00"),
        );
        assert_eq!(door.course(), "Net\u{FFFD}[2Jworks");
        assert_eq!(door.message().name.as_deref(), Some("Ada\u{FFFD}"));
    }

    #[test]
    fn the_idle_screen_invites_a_tap_only_when_one_can_be_recorded() {
        let mut door = Door::new("Networks 101".into(), at("09:00:00"));
        assert_eq!(door.message().says, "Not recording — see the instructor");
        door.set_connected(true);
        assert_eq!(door.message().says, "No card reader — see the instructor");
        door.set_readers(vec!["ACS ACR122U 00 00".into()]);
        assert_eq!(door.message().says, "Tap your card");
        let removed = ReaderEvent::ReaderRemoved {
            reader: "ACS ACR122U 00 00".into(),
        };
        door.apply(&Update::Reader(removed), at("09:00:01"));
        assert_eq!(door.message().tone, Tone::SeeInstructor);
        assert!(door.readers().is_empty());
        door = ready();
        door.set_connected(false);
        assert_eq!(door.message().says, "Not recording — see the instructor");
    }

    #[test]
    fn a_clock_set_back_ends_what_is_shown() {
        let mut door = ready();
        door.apply(
            &tap("04A1B2C3", Outcome::Present, Some("Ada")),
            at("09:00:10"),
        );
        door.tick(at("08:00:00"));
        assert_eq!(door.message().says, "Tap your card");
    }
}
