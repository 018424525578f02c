//! What taproll sends to a server, in one place that the classroom app and
//! any receiver share: the typed events (`events`, documented in
//! `docs/events.md`) and the push protocol (`protocol`, documented in
//! `docs/protocol.md`). Plain data and serde; no I/O.

pub mod events;
pub mod protocol;

use chrono::{DateTime, FixedOffset};

/// Local time with its UTC offset, as stored, shown and sent everywhere.
pub type Timestamp = DateTime<FixedOffset>;

/// The one text form of a time, in the database and in JSON:
/// RFC 3339 with milliseconds and the offset, `2026-11-30T09:04:12.345+01:00`.
pub fn rfc3339(at: &Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// Attendance mark of one student in one session.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Present,
    Late,
    Absent,
    Excused,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Present => "present",
            Mark::Late => "late",
            Mark::Absent => "absent",
            Mark::Excused => "excused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "present" => Some(Mark::Present),
            "late" => Some(Mark::Late),
            "absent" => Some(Mark::Absent),
            "excused" => Some(Mark::Excused),
            _ => None,
        }
    }
}

/// Where a mark came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkSource {
    Card,
    Manual,
    /// Set by taproll: absent at the end of the session.
    Auto,
}

impl MarkSource {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkSource::Card => "card",
            MarkSource::Manual => "manual",
            MarkSource::Auto => "auto",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "card" => Some(MarkSource::Card),
            "manual" => Some(MarkSource::Manual),
            "auto" => Some(MarkSource::Auto),
            _ => None,
        }
    }
}
