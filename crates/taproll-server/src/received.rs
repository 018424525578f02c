//! A batch as received: each event kept as the exact JSON the device sent
//! (stored untouched: fields this server does not know included), with the
//! envelope fields read from it, and, when this server knows the event's
//! kind and schema, the typed event for the projections.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashSet;
use taproll_wire::events::{Envelope, SCHEMA_VERSION};
use uuid::Uuid;

/// The body of `POST /v1/events`, events left as received.
#[derive(Deserialize)]
pub struct RawBatch {
    pub protocol: u32,
    pub device_id: Uuid,
    /// As the device wrote it.
    pub sent_at: String,
    pub events: Vec<Box<RawValue>>,
}

/// The envelope fields every event has, whatever its kind.
#[derive(Deserialize)]
struct Head {
    schema_version: u32,
    event_id: Uuid,
    device_id: Uuid,
    seq: i64,
    at: String,
    kind: String,
}

/// One event of a batch.
#[derive(Debug)]
pub struct Received {
    pub event_id: Uuid,
    pub device_id: Uuid,
    pub seq: i64,
    /// As the device wrote it.
    pub at: String,
    pub kind: String,
    /// The JSON exactly as received.
    pub body: String,
    pub meaning: Meaning,
}

#[derive(Debug)]
pub enum Meaning {
    /// A kind and schema this server knows: it is projected.
    Known(Box<Envelope>),
    /// A newer kind or schema: stored, not projected (a newer server can).
    Unknown,
    /// A known kind that does not read as one: refused, with why.
    Broken(String),
}

/// Why a batch is refused whole (400).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("not a batch: {0}")]
    NotABatch(String),
    #[error("event {index} of the batch has no readable envelope: {why}")]
    NoEnvelope { index: usize, why: String },
}

/// The batch's events, each once (a repeated id is kept the first time),
/// in the device's sequence order.
pub fn read(body: &[u8]) -> Result<(RawBatch, Vec<Received>), ReadError> {
    let batch: RawBatch =
        serde_json::from_slice(body).map_err(|e| ReadError::NotABatch(e.to_string()))?;
    let mut seen = HashSet::new();
    let mut events = Vec::with_capacity(batch.events.len());
    for (index, raw) in batch.events.iter().enumerate() {
        let head: Head = serde_json::from_str(raw.get()).map_err(|e| ReadError::NoEnvelope {
            index: index + 1,
            why: e.to_string(),
        })?;
        if !seen.insert(head.event_id) {
            continue;
        }
        let meaning = if head.schema_version > SCHEMA_VERSION || !is_known(&head.kind) {
            Meaning::Unknown
        } else {
            match serde_json::from_str::<Envelope>(raw.get()) {
                Ok(envelope) => Meaning::Known(Box::new(envelope)),
                Err(e) => Meaning::Broken(format!(
                    "a {} event that does not read as one: {e}",
                    head.kind
                )),
            }
        };
        events.push(Received {
            event_id: head.event_id,
            device_id: head.device_id,
            seq: head.seq,
            at: head.at,
            kind: head.kind,
            body: raw.get().to_string(),
            meaning,
        });
    }
    events.sort_by_key(|e| e.seq);
    Ok((batch, events))
}

/// The kinds of schema 1 (`docs/events.md`); `student_forgotten` came
/// later, and a server before it keeps one unprojected.
fn is_known(kind: &str) -> bool {
    matches!(
        kind,
        "session_started"
            | "session_labelled"
            | "tap"
            | "tap_moved"
            | "mark"
            | "session_ended"
            | "student_saved"
            | "card_bound"
            | "card_removed"
            | "student_forgotten"
    )
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: &str = "3f1c9a7e-8b2d-4e6f-a1c3-5d7e9f0b2a4c";

    fn event(id: u8, seq: i64, kind: &str, extra: &str) -> String {
        format!(
            r#"{{"schema_version":1,"event_id":"019ad1c2-5b3e-7c10-9a4e-2f6d1e0b7a{id:02}","device_id":"{DEVICE}","seq":{seq},"at":"2026-11-30T09:04:12.345Z","kind":"{kind}"{extra}}}"#
        )
    }

    fn batch(events: &[String]) -> Vec<u8> {
        format!(
            r#"{{"protocol":1,"device_id":"{DEVICE}","sent_at":"2026-11-30T09:05:00Z","events":[{}]}}"#,
            events.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn events_are_kept_as_sent_repeats_once_in_sequence_order() {
        let label =
            r#","session":"019ad1a0-1f00-7d2b-b4c6-8e0a2c4e6f81","label":"Lab 1","new_field":[1]"#;
        let body = batch(&[
            event(2, 8, "future_kind", r#","anything":true"#),
            event(1, 7, "session_labelled", label),
            event(1, 7, "session_labelled", label),
            event(3, 9, "tap", r#","tap":"nope""#),
        ]);
        let (_, events) = read(&body).unwrap();
        assert_eq!(events.len(), 3, "the repeat is kept once");
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 8, 9]);
        assert!(matches!(events[0].meaning, Meaning::Known(_)));
        assert!(events[0].body.contains("new_field"), "untouched");
        assert_eq!(
            events[0].at, "2026-11-30T09:04:12.345Z",
            "the device's text"
        );
        assert!(matches!(events[1].meaning, Meaning::Unknown));
        assert!(matches!(&events[2].meaning, Meaning::Broken(why) if why.contains("tap")));
    }

    #[test]
    fn an_event_without_an_envelope_refuses_the_batch() {
        let body = batch(&[r#"{"kind":"tap"}"#.to_string()]);
        assert!(matches!(
            read(&body),
            Err(ReadError::NoEnvelope { index: 1, .. })
        ));
        assert!(matches!(read(b"{}"), Err(ReadError::NotABatch(_))));
    }
}
