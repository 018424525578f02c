//! The events taproll queues for a server: every change of attendance state
//! is one typed event, written to the outbox in the transaction that makes
//! the change (`store::outbox`). Events name things only by identities that
//! mean the same off this device: the course's name, a session's UUID, a
//! student's number, a card's UID, a tap's UUID. Never a local row id.
//!
//! The schema is documented in `docs/events.md`; taproll's `store::replay`
//! rebuilds a device's attendance from its events alone.

use crate::{Mark, MarkSource, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the event schema, in every event.
pub const SCHEMA_VERSION: u32 = 1;

/// One event as stored in the outbox and sent: who sent it, its place in
/// that device's sequence, when, and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub schema_version: u32,
    /// UUID v7: unique, and ordered by time.
    pub event_id: Uuid,
    /// The device (database) that recorded it, generated once.
    pub device_id: Uuid,
    /// 1, 2, 3, ... per device, without gaps or repeats.
    pub seq: i64,
    /// When the change was made, by the device's clock.
    #[serde(with = "time_text")]
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A session began; `planned_start` is when class starts (for late).
    SessionStarted {
        session: Uuid,
        course: String,
        #[serde(with = "time_text")]
        planned_start: Timestamp,
        label: Option<String>,
    },
    /// A session was named ("Lab 3"), or named anew.
    SessionLabelled { session: Uuid, label: String },
    /// A card was read and stored (every tap, unknown cards and repeats too).
    Tap {
        tap: Uuid,
        session: Uuid,
        /// When the card was detected.
        #[serde(with = "time_text")]
        tapped_at: Timestamp,
        reader: String,
        uid: String,
        outcome: String,
        /// Who holds the card, if anyone.
        student_no: Option<String>,
    },
    /// Taps recorded while taproll asked whether to continue a session
    /// found open, taken along to the new session and decided again there.
    TapMoved {
        tap: Uuid,
        from_session: Uuid,
        session: Uuid,
        outcome: String,
        student_no: Option<String>,
    },
    /// A student's mark in a session, as it is after the change.
    Mark {
        session: Uuid,
        student_no: String,
        /// `None`: the student has no mark any more.
        mark: Option<Mark>,
        source: Option<MarkSource>,
        note: Option<String>,
        /// The mark's own time: the tap that gave it, or when it was set.
        #[serde(with = "time_text_option")]
        marked_at: Option<Timestamp>,
        /// The tap that gave the mark, if one did.
        tap: Option<Uuid>,
        cause: MarkCause,
    },
    /// A session ended; `marks` is its whole final mark sheet.
    SessionEnded {
        session: Uuid,
        #[serde(with = "time_text")]
        ended_at: Timestamp,
        marks: Vec<SheetMark>,
    },
    /// A student was added or changed, by an import or by hand, and is
    /// enrolled in `course` (with `section`).
    StudentSaved {
        student_no: String,
        /// The number before, when this change gave the student a new one.
        previous_student_no: Option<String>,
        name: String,
        email: Option<String>,
        course: String,
        section: Option<String>,
    },
    /// A card was given to a student (taken from `from_student_no` if set).
    CardBound {
        uid: String,
        student_no: String,
        from_student_no: Option<String>,
    },
    /// A card was taken from a student (lost, or a claim undone).
    CardRemoved { uid: String, student_no: String },
    /// A student was forgotten on request (`taproll student forget`): their
    /// name, email and cards are erased, and `pseudonym` stands for them in
    /// past sessions from now on. A receiver does the same with what it
    /// holds of `student_no`.
    StudentForgotten {
        student_no: String,
        pseudonym: String,
    },
}

impl Event {
    /// The `kind` tag of the JSON form.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SessionStarted { .. } => "session_started",
            Event::SessionLabelled { .. } => "session_labelled",
            Event::Tap { .. } => "tap",
            Event::TapMoved { .. } => "tap_moved",
            Event::Mark { .. } => "mark",
            Event::SessionEnded { .. } => "session_ended",
            Event::StudentSaved { .. } => "student_saved",
            Event::CardBound { .. } => "card_bound",
            Event::CardRemoved { .. } => "card_removed",
            Event::StudentForgotten { .. } => "student_forgotten",
        }
    }
}

/// Why a mark changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkCause {
    /// A tap of the student's card.
    Tap,
    /// Set by hand.
    Manual,
    /// An earlier tap's card was given to the student.
    Claim,
    /// A change was undone.
    Undo,
    /// Absent at the end of the session.
    Auto,
    /// The tap that gave it moved to another session.
    TapMoved,
    /// The state when this database began keeping events (an upgrade from
    /// taproll before events).
    Upgrade,
}

/// One line of a final mark sheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetMark {
    pub student_no: String,
    pub mark: Mark,
    pub source: MarkSource,
    pub note: Option<String>,
    #[serde(with = "time_text")]
    pub marked_at: Timestamp,
    pub tap: Option<Uuid>,
}

/// Times as taproll writes them everywhere: RFC 3339 with milliseconds and
/// the UTC offset.
pub(crate) mod time_text {
    use crate::{Timestamp, rfc3339};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&rfc3339(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        chrono::DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// The same for a time that may be absent (`null`).
mod time_text_option {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::time_text::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                chrono::DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn an_event_is_flat_json_with_its_kind() {
        let envelope = Envelope {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::nil(),
            device_id: Uuid::nil(),
            seq: 7,
            at: at("2026-11-30T09:04:12.345+01:00"),
            event: Event::CardRemoved {
                uid: "04A1B2C3".into(),
                student_no: "s1".into(),
            },
        };
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["kind"], envelope.event.kind());
        assert_eq!(json["at"], "2026-11-30T09:04:12.345+01:00");
        assert_eq!(json["seq"], 7);
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, envelope);
    }
}

#[cfg(test)]
mod documented {
    use super::Envelope;

    /// Every event written out in the documents a receiver reads must be
    /// one taproll would send: the examples are checked, not trusted.
    #[test]
    fn the_examples_in_the_docs_are_events() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        let mut seen = 0;
        for name in ["events.md", "protocol.md"] {
            let text = std::fs::read_to_string(docs.join(name)).unwrap();
            for line in text.lines() {
                let line = line.trim().trim_end_matches(',').trim_end_matches("]}");
                let Some(at) = line.find(r#"{"schema_version""#) else {
                    continue;
                };
                let json = &line[at..];
                let envelope: Envelope =
                    serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}: {json}"));
                assert_eq!(serde_json::to_string(&envelope).unwrap(), json, "{name}");
                seen += 1;
            }
        }
        assert!(seen >= 4, "only {seen} examples found");
    }
}
