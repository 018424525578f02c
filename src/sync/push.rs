//! One batch at a time: read the oldest waiting events, send them, record
//! what the server said. The sender thread and `taproll sync` both drive a
//! `Pusher`; they differ only in how they wait.

use super::backoff::{Backoff, random_unit};
use super::client::Client;
use super::keyed::with_keyed_uids;
use super::settings::{Credentials, SyncSettings, UidForm};
use super::verdict::{Verdict, judge};
use crate::domain::{Timestamp, rfc3339};
use crate::events::Envelope;
use crate::store::{StoreError, SyncQueue};
use std::collections::HashMap;
use std::time::Duration;
use taproll_wire::protocol::BatchAnswer;
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
    /// Events per batch: as configured, or as the server allows (a 413
    /// halves it for the rest of the run).
    max_events: usize,
    batch_bytes: usize,
    /// Events per batch now: `max_events`, or fewer while a refused batch
    /// (400, 422, 413) is halved to find the one event it refuses.
    limit: usize,
    /// The event left alone by that halving, refused on its own. It is
    /// parked only once a batch without it goes through: a server that
    /// refuses every batch (a proxy's size limit, a deploy gone wrong) must
    /// not empty the queue into the parked list.
    suspect: Option<Suspect>,
    backoff: Backoff,
    /// Failed tries in a row.
    failures: u32,
}

struct Suspect {
    seq: i64,
    reason: String,
}

impl Pusher {
    pub fn new(queue: SyncQueue, settings: &SyncSettings, credentials: &Credentials) -> Self {
        Self {
            queue,
            client: Client::new(
                &settings.server,
                &credentials.token,
                credentials.authorities.as_ref(),
                settings.timeouts,
            ),
            server: settings.server.as_str().to_string(),
            uids: credentials.uids.clone(),
            max_events: settings.batch_events,
            batch_bytes: settings.batch_bytes,
            limit: settings.batch_events,
            suspect: None,
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
        // One more than a batch: the suspect, if any, is left out of it.
        let waiting = self.queue.waiting(self.limit + 1)?;
        let suspect = self.suspect.as_ref().map(|s| s.seq);
        let mut candidates = Vec::with_capacity(self.limit);
        let mut broken = Vec::new();
        for item in waiting.into_iter().filter(|w| Some(w.seq) != suspect) {
            match item.envelope {
                Ok(envelope) => candidates.push((item.seq, envelope)),
                Err(why) => {
                    broken.push((item.seq, format!("cannot be read from the database: {why}")))
                }
            }
        }
        if !broken.is_empty() {
            // Nothing can send it: shown with the parked, out of the way.
            self.queue.settle(&self.server, &[], &broken, now)?;
            return Ok(Step::Progress {
                sent: 0,
                parked: broken.len(),
            });
        }
        candidates.truncate(self.limit);
        if candidates.is_empty() {
            return match self.suspect.take() {
                // Only the suspect waits: nothing tells a refused event from
                // a refusing server. Try it again after a while.
                Some(suspect) => {
                    self.limit = self.max_events;
                    self.failed(&[suspect.seq], None, suspect.reason, now)
                }
                None => Ok(Step::Idle),
            };
        }
        let OneBatch { seqs, ids, body } = self.batch(&candidates, now)?;
        let verdict = match self.client.post(&body) {
            Ok(reply) => judge(&reply, now.to_utc()),
            Err(error) => Verdict::Retry { after: None, error },
        };
        match verdict {
            Verdict::Answered(answer) => self.answered(&answer, &seqs, &ids, now),
            Verdict::TooLarge => {
                self.refused(&seqs, "the server refuses it as too large (413)", true, now)
            }
            Verdict::BadBatch(message) => self.refused(&seqs, &message, false, now),
            Verdict::Refused(why) => {
                self.queue.stop(&self.server, &why, now)?;
                Ok(Step::Stopped { why })
            }
            Verdict::Retry { after, error } => self.failed(&seqs, after, error, now),
        }
    }

    /// A 200: the events it names are settled, and a suspect is confirmed
    /// (a batch without it went through) and parked.
    fn answered(
        &mut self,
        answer: &BatchAnswer,
        seqs: &[i64],
        ids: &HashMap<Uuid, i64>,
        now: &Timestamp,
    ) -> Result<Step, StoreError> {
        let sent: Vec<i64> = answer
            .accepted
            .iter()
            .chain(&answer.known)
            .filter_map(|id| ids.get(id).copied())
            .collect();
        let mut parked: Vec<(i64, String)> = answer
            .rejected
            .iter()
            .filter_map(|r| Some((*ids.get(&r.event_id)?, shown(&r.reason))))
            .collect();
        if sent.is_empty() && parked.is_empty() {
            let error = "the server's answer named none of the events sent".to_string();
            return self.failed(seqs, None, error, now);
        }
        if let Some(suspect) = self.suspect.take() {
            parked.push((suspect.seq, shown(&suspect.reason)));
            self.limit = self.max_events;
        }
        self.queue.settle(&self.server, &sent, &parked, now)?;
        self.failures = 0;
        Ok(Step::Progress {
            sent: sent.len(),
            parked: parked.len(),
        })
    }

    /// A 413 (`too_large`) or a 400 / 422: halve the batch until the event
    /// refused is alone, and make it the suspect; refused again without the
    /// suspect, the refusal is for every batch: wait and try again.
    fn refused(
        &mut self,
        seqs: &[i64],
        reason: &str,
        too_large: bool,
        now: &Timestamp,
    ) -> Result<Step, StoreError> {
        if self.suspect.take().is_some() {
            self.limit = self.max_events;
            let error = format!("{reason} (every batch, not one event)");
            return self.failed(seqs, None, error, now);
        }
        match seqs {
            [only] => {
                self.suspect = Some(Suspect {
                    seq: *only,
                    reason: reason.to_string(),
                });
            }
            _ => {
                self.limit = (seqs.len() / 2).max(1);
                if too_large {
                    self.max_events = self.limit;
                    tracing::info!(
                        limit = self.limit,
                        "sync: the server said 413; smaller batches"
                    );
                }
            }
        }
        // At once: the next step sends the smaller batch, or the others.
        Ok(Step::Progress { sent: 0, parked: 0 })
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
        // Retry-After is the least wait: 0, or a date a fast clock sees as
        // past, must not make the sender spin.
        let backoff = self.backoff.delay(self.failures, random_unit());
        let after = after.map_or(backoff, |after| after.max(backoff));
        Ok(Step::Wait { after, error })
    }

    /// One batch of the oldest waiting events: at most `batch_bytes` (but
    /// always one event).
    fn batch(&self, waiting: &[(i64, Envelope)], now: &Timestamp) -> Result<OneBatch, StoreError> {
        let mut seqs = Vec::with_capacity(waiting.len());
        let mut ids = HashMap::with_capacity(waiting.len());
        let mut events: Vec<String> = Vec::with_capacity(waiting.len());
        let device_id = self.queue.device_id();
        // The batch's own fields count too.
        let mut bytes = batch_body(device_id, now, &[]).len();
        for (seq, envelope) in waiting {
            let mut envelope = envelope.clone();
            if let UidForm::Keyed(key) = &self.uids {
                envelope.event = with_keyed_uids(key, envelope.event);
            }
            let json = serde_json::to_string(&envelope)
                .map_err(|e| StoreError::BadValue(format!("event {seq}: {e}")))?;
            if !events.is_empty() && bytes + json.len() + 1 > self.batch_bytes {
                break;
            }
            bytes += json.len() + 1;
            seqs.push(*seq);
            ids.insert(envelope.event_id, *seq);
            events.push(json);
        }
        let body = batch_body(device_id, now, &events).into_bytes();
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
pub(super) fn batch_body(device_id: Uuid, now: &Timestamp, events: &[String]) -> String {
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
    use crate::events::{Event, SCHEMA_VERSION};
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
