//! One batch at a time: read the oldest waiting events, send them, record
//! what the server said. The sender thread and `taproll sync` both drive a
//! `Pusher`; they differ only in how they wait.

use super::backoff::{Backoff, random_unit};
use super::client::Client;
use super::keyed::with_keyed_uids;
use super::settings::{Credentials, SyncSettings, UidForm};
use super::verdict::{Verdict, judge};
use crate::domain::{Timestamp, rfc3339};
use crate::store::{StoreError, SyncQueue, Waiting};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// What one step did, and what the caller should do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Nothing waits: wait for the next commit.
    Idle,
    /// Events were settled (or the batch was made smaller): go on at once.
    Progress { sent: usize, parked: usize },
    /// Nothing settled; try again after `after`.
    Wait { after: Duration, error: String },
    /// The server refused the token: stop sending.
    Stopped { why: String },
}

pub struct Pusher {
    queue: SyncQueue,
    client: Client,
    server: String,
    uids: UidForm,
    batch_events: usize,
    batch_bytes: usize,
    /// Events per batch now: halved by 413 (for good) or while isolating
    /// an event a 400 / 422 refused (until it is found).
    limit: usize,
    isolating: bool,
    backoff: Backoff,
    /// Failed tries in a row.
    failures: u32,
}

impl Pusher {
    pub fn new(queue: SyncQueue, settings: &SyncSettings, credentials: &Credentials) -> Self {
        Self {
            queue,
            client: Client::new(&settings.server, &credentials.token, settings.timeouts),
            server: settings.server.as_str().to_string(),
            uids: credentials.uids.clone(),
            batch_events: settings.batch_events,
            batch_bytes: settings.batch_bytes,
            limit: settings.batch_events,
            isolating: false,
            backoff: settings.backoff,
            failures: 0,
        }
    }

    pub fn queue(&self) -> &SyncQueue {
        &self.queue
    }

    pub fn queue_mut(&mut self) -> &mut SyncQueue {
        &mut self.queue
    }

    /// Sends the next batch, if any, and records the answer.
    pub fn step(&mut self, now: &Timestamp) -> Result<Step, StoreError> {
        let waiting = self.queue.waiting(0, self.limit)?;
        if waiting.is_empty() {
            return Ok(Step::Idle);
        }
        let OneBatch { seqs, ids, body } = self.batch(&waiting, now)?;
        let verdict = match self.client.post(&body) {
            Ok(reply) => judge(&reply, now.to_utc()),
            Err(error) => Verdict::Retry { after: None, error },
        };
        match verdict {
            Verdict::Answered(answer) => {
                let sent: Vec<i64> = answer
                    .accepted
                    .iter()
                    .chain(&answer.known)
                    .filter_map(|id| ids.get(id).copied())
                    .collect();
                let parked: Vec<(i64, String)> = answer
                    .rejected
                    .iter()
                    .filter_map(|r| Some((*ids.get(&r.event_id)?, shown(&r.reason))))
                    .collect();
                if sent.is_empty() && parked.is_empty() {
                    return self.failed(
                        &seqs,
                        None,
                        "the server's answer named none of the events sent".into(),
                        now,
                    );
                }
                self.queue.settle(&self.server, &sent, &parked, now)?;
                self.failures = 0;
                Ok(Step::Progress {
                    sent: sent.len(),
                    parked: parked.len(),
                })
            }
            Verdict::TooLarge => {
                if let [only] = seqs[..] {
                    self.park(only, "the server refuses it as too large (413)", now)
                } else {
                    self.limit = (seqs.len() / 2).max(1);
                    self.batch_events = self.limit;
                    tracing::info!(
                        limit = self.limit,
                        "sync: the server said 413; smaller batches"
                    );
                    Ok(Step::Progress { sent: 0, parked: 0 })
                }
            }
            Verdict::BadBatch(message) => {
                if let [only] = seqs[..] {
                    self.park(only, &message, now)
                } else {
                    // Halve until the refused event is alone; the halves
                    // without it go through on the way.
                    self.limit = (seqs.len() / 2).max(1);
                    self.isolating = true;
                    Ok(Step::Progress { sent: 0, parked: 0 })
                }
            }
            Verdict::Refused(why) => {
                self.queue.stop(&self.server, &why, now)?;
                Ok(Step::Stopped { why })
            }
            Verdict::Retry { after, error } => self.failed(&seqs, after, error, now),
        }
    }

    fn park(&mut self, seq: i64, reason: &str, now: &Timestamp) -> Result<Step, StoreError> {
        self.queue
            .settle(&self.server, &[], &[(seq, shown(reason))], now)?;
        if self.isolating {
            self.isolating = false;
            self.limit = self.batch_events;
        }
        self.failures = 0;
        Ok(Step::Progress { sent: 0, parked: 1 })
    }

    fn failed(
        &mut self,
        seqs: &[i64],
        after: Option<Duration>,
        error: String,
        now: &Timestamp,
    ) -> Result<Step, StoreError> {
        self.failures = self.failures.saturating_add(1);
        self.queue.failed(&self.server, seqs, &error, now)?;
        let after = after.unwrap_or_else(|| self.backoff.delay(self.failures, random_unit()));
        Ok(Step::Wait { after, error })
    }

    /// One batch of the oldest waiting events: at most `batch_bytes` (but
    /// always one event).
    fn batch(&self, waiting: &[Waiting], now: &Timestamp) -> Result<OneBatch, StoreError> {
        let mut seqs = Vec::with_capacity(waiting.len());
        let mut ids = HashMap::with_capacity(waiting.len());
        let mut events: Vec<String> = Vec::with_capacity(waiting.len());
        let mut bytes = 0;
        for item in waiting {
            let mut envelope = item.envelope.clone();
            if let UidForm::Keyed(key) = &self.uids {
                envelope.event = with_keyed_uids(key, envelope.event);
            }
            let json = serde_json::to_string(&envelope)
                .map_err(|e| StoreError::BadValue(format!("event {}: {e}", item.seq)))?;
            if !events.is_empty() && bytes + json.len() + 1 > self.batch_bytes {
                break;
            }
            bytes += json.len() + 1;
            seqs.push(item.seq);
            ids.insert(envelope.event_id, item.seq);
            events.push(json);
        }
        let body = batch_body(self.queue.device_id(), now, &events).into_bytes();
        Ok(OneBatch { seqs, ids, body })
    }
}

/// A batch as sent: its events' sequence numbers, in order, the sequence
/// number of each event id, and the JSON body.
struct OneBatch {
    seqs: Vec<i64>,
    ids: HashMap<Uuid, i64>,
    body: Vec<u8>,
}

/// A `taproll_wire::protocol::Batch` in JSON, from events already in JSON
/// (each is made once, and measured for the byte limit).
fn batch_body(device_id: Uuid, now: &Timestamp, events: &[String]) -> String {
    format!(
        r#"{{"protocol":{},"device_id":"{device_id}","sent_at":"{}","events":[{}]}}"#,
        taproll_wire::protocol::PROTOCOL_VERSION,
        rfc3339(now),
        events.join(",")
    )
}

/// A server's reason, safe for a terminal and short.
fn shown(reason: &str) -> String {
    let clean = crate::text::sanitize_for_terminal(reason.trim());
    match clean.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Envelope, Event, SCHEMA_VERSION};
    use taproll_wire::protocol::Batch;

    #[test]
    fn the_batch_body_is_a_protocol_batch() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T09:00:00.250+01:00").unwrap();
        let envelope = Envelope {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            device_id: Uuid::now_v7(),
            seq: 3,
            at: now,
            event: Event::SessionLabelled {
                session: Uuid::now_v7(),
                label: "Lab \"3\"".into(),
            },
        };
        let json = serde_json::to_string(&envelope).unwrap();
        let body = batch_body(envelope.device_id, &now, &[json.clone(), json]);
        let batch: Batch = serde_json::from_str(&body).unwrap();
        assert_eq!(batch.protocol, 1);
        assert_eq!(batch.device_id, envelope.device_id);
        assert_eq!(batch.sent_at, now);
        assert_eq!(batch.events, [envelope.clone(), envelope]);
    }
}
