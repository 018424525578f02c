//! The push protocol, version 1 (`docs/protocol.md`): a device sends its
//! events in batches, `POST {server}/v1/events`, and the server answers,
//! for every event of the batch, whether it took it, already had it, or
//! refuses it. Receivers deduplicate by event id: a device may send an
//! event again (after a lost answer, a crash, a regrouped batch).

use crate::Timestamp;
use crate::events::{Envelope, time_text};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of this protocol, in every batch.
pub const PROTOCOL_VERSION: u32 = 1;

/// Where batches are sent, after the server's base URL.
pub const EVENTS_PATH: &str = "/v1/events";

/// The body of `POST /v1/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub protocol: u32,
    /// The device that sends; every event in `events` is its own.
    pub device_id: Uuid,
    /// The device's clock when it sent the batch: with the events' own
    /// times (never rewritten), a receiver can see how far off it is.
    #[serde(with = "time_text")]
    pub sent_at: Timestamp,
    /// In the device's sequence order.
    pub events: Vec<Envelope>,
}

/// The body of a 200 answer: every event id of the batch in exactly one
/// list. An id in none of them is taken as not received, and sent again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAnswer {
    /// Stored now.
    pub accepted: Vec<Uuid>,
    /// Stored before (a resend): as good as accepted.
    pub known: Vec<Uuid>,
    /// Refused for good; the device parks them and shows why.
    pub rejected: Vec<Rejection>,
}

/// An event the server will not take, and why (shown to the instructor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub event_id: Uuid,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_lists_is_refused_not_taken_as_empty() {
        // A server that answers `{}` has not said it took anything.
        assert!(serde_json::from_str::<BatchAnswer>("{}").is_err());
        let answer: BatchAnswer =
            serde_json::from_str(r#"{"accepted":[],"known":[],"rejected":[]}"#).unwrap();
        assert_eq!(answer, BatchAnswer::default());
    }
}
