//! `POST /v1/events`: a batch from one device, stored in one transaction.
//! Each event goes into `events` as received, once per institution (a known
//! id is answered `known` and changes nothing); a new event of a kind this
//! server knows also updates the projections (`projection.rs`), in the
//! device's sequence order. Pure here: what to check, and which statements
//! a batch makes; `http.rs` runs them.

use crate::devices::Device;
use crate::projection::projection;
use crate::received::{Meaning, RawBatch, Received};
use crate::storage::{BatchWrite, Guarded, Statement, Value};
use taproll_wire::protocol::PROTOCOL_VERSION;

/// Why a whole batch is refused (400, or 403 for another device's events).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("protocol {0} is not spoken here (this server speaks protocol 1)")]
    Protocol(u32),
    #[error("event {event} is from device {found}, the batch from {batch}")]
    MixedDevices {
        event: String,
        found: String,
        batch: String,
    },
    #[error("this token belongs to device {bound}, not {sent}")]
    OtherDevice { bound: String, sent: String },
    #[error("sent_at `{0}` is not an RFC 3339 time")]
    SentAt(String),
    #[error("event {0} has a sequence number below 1")]
    Sequence(String),
}

impl BatchError {
    pub fn status(&self) -> u16 {
        match self {
            BatchError::OtherDevice { .. } => 403,
            _ => 400,
        }
    }
}

pub fn check(device: &Device, batch: &RawBatch, events: &[Received]) -> Result<(), BatchError> {
    if batch.protocol != PROTOCOL_VERSION {
        return Err(BatchError::Protocol(batch.protocol));
    }
    let sent = batch.device_id.to_string();
    if let Some(bound) = &device.device_id
        && *bound != sent
    {
        return Err(BatchError::OtherDevice {
            bound: bound.clone(),
            sent,
        });
    }
    if let Some(stranger) = events.iter().find(|e| e.device_id != batch.device_id) {
        return Err(BatchError::MixedDevices {
            event: stranger.event_id.to_string(),
            found: stranger.device_id.to_string(),
            batch: sent,
        });
    }
    if let Some(event) = events.iter().find(|e| e.seq < 1) {
        return Err(BatchError::Sequence(event.event_id.to_string()));
    }
    sent_at(batch).map(|_| ())
}

/// The batch's `sent_at`, read.
pub fn sent_at(batch: &RawBatch) -> Result<chrono::DateTime<chrono::FixedOffset>, BatchError> {
    chrono::DateTime::parse_from_rfc3339(&batch.sent_at)
        .map_err(|_| BatchError::SentAt(batch.sent_at.clone()))
}

/// How old the batch's newest event was when it was sent, by the device's
/// own clock: how far behind the server is. Zero when no time reads.
pub fn lag_ms(batch: &RawBatch, events: &[Received]) -> i64 {
    let Ok(sent) = sent_at(batch) else { return 0 };
    events
        .iter()
        .filter_map(|e| chrono::DateTime::parse_from_rfc3339(&e.at).ok())
        .max()
        .map_or(0, |newest| (sent - newest).num_milliseconds().max(0))
}

/// The statements of a batch (the `Broken` events are left out: they are
/// answered `rejected`). `received_at` is the server's clock; `offset_ms`
/// the device's clock minus it.
pub fn statements(
    device: &Device,
    batch: &RawBatch,
    events: &[&Received],
    received_at: &str,
    offset_ms: i64,
    lag_ms: i64,
) -> BatchWrite {
    let institution = device.institution_id;
    let items = events
        .iter()
        .map(|event| {
            let then = match &event.meaning {
                Meaning::Known(envelope) => projection(institution, &device.id, envelope),
                Meaning::Unknown | Meaning::Broken(_) => Vec::new(),
            };
            Guarded {
                insert: Statement::new(
                    "INSERT INTO events (institution_id, event_id, device_id, seq, kind, at,
                                         received_at, sent_at, body, projected)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (institution_id, event_id) DO NOTHING RETURNING event_id",
                    vec![
                        Value::int(institution),
                        Value::text(event.event_id.to_string()),
                        Value::text(event.device_id.to_string()),
                        Value::int(event.seq),
                        Value::text(&event.kind),
                        Value::text(&event.at),
                        Value::text(received_at),
                        Value::text(&batch.sent_at),
                        Value::text(&event.body),
                        Value::int(i64::from(matches!(event.meaning, Meaning::Known(_)))),
                    ],
                ),
                then,
                unprojected: Statement::new(
                    "UPDATE events SET projected = 0 WHERE institution_id = $1 AND event_id = $2",
                    vec![
                        Value::int(institution),
                        Value::text(event.event_id.to_string()),
                    ],
                ),
            }
        })
        .collect();
    let last_seq = events.iter().map(|e| e.seq).max().unwrap_or(0);
    BatchWrite {
        // First, and it must find its row: the token is still valid and
        // bound to this device (the first batch binds it).
        bind: Statement::new(
            "UPDATE devices SET device_id = $2
             WHERE id = $1 AND revoked_at IS NULL AND (device_id IS NULL OR device_id = $2)
             RETURNING id",
            vec![
                Value::text(&device.id),
                Value::text(batch.device_id.to_string()),
            ],
        ),
        items,
        after: vec![Statement::new(
            "UPDATE devices SET
                 last_seen_at = $2,
                 last_seq = CASE WHEN last_seq < $3 THEN $3 ELSE last_seq END,
                 clock_offset_ms = $4,
                 lag_ms = $5
             WHERE id = $1",
            vec![
                Value::text(&device.id),
                Value::text(received_at),
                Value::int(last_seq),
                Value::int(offset_ms),
                Value::int(lag_ms),
            ],
        )],
    }
}
