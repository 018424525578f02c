//! The push's side of the outbox: which events wait to be sent, and what the
//! server said of them. The sender has its own connection (`SyncQueue`)
//! beside the store's, so a slow server never holds up a tap; `taproll sync
//! --status` reads the same through a read-only `Store`.
//!
//! An event is, in this order of precedence: sent (`sent_at`), parked (the
//! server refused it for good: `parked_at`, `parked_reason`; not sent again
//! until `unpark_all`), or waiting.

use super::{Result, Store, StoreError, format_time, parse_time, schema};
use crate::domain::Timestamp;
use crate::events::{Envelope, SCHEMA_VERSION};
use rusqlite::{Connection, OpenFlags, params, params_from_iter};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// The sender's own connection to a database that a `Store` in the same
/// process (or `taproll sync`) holds as its writer.
pub struct SyncQueue {
    conn: Connection,
    device_id: Uuid,
}

/// An event waiting to be sent, as it goes on the wire; `Err`: its row
/// cannot be read back (why), and it can never be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub seq: i64,
    pub envelope: Result<Envelope, String>,
}

/// How many events are where.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueCounts {
    pub waiting: u64,
    pub parked: u64,
    pub sent: u64,
    /// When the oldest waiting event was made.
    pub oldest_waiting: Option<Timestamp>,
}

/// The sender's state as last recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncRecord {
    pub server: Option<String>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    /// Since when every attempt failed; `None` when the last one worked.
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    /// Why the sender stopped (the server refused its token).
    pub stopped: Option<String>,
}

/// An event the server refused for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkedEvent {
    pub seq: i64,
    pub kind: String,
    pub at: Timestamp,
    pub parked_at: Timestamp,
    pub reason: String,
}

impl SyncQueue {
    /// Opens the database at `path`, which must exist at this taproll's
    /// schema (its `Store` migrates it first).
    pub fn open(path: &Path) -> Result<Self> {
        let located = |source| StoreError::Database {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(located)?;
        let setup = |conn: &Connection| {
            conn.pragma_update(None, "synchronous", "FULL")?;
            // As the store's: a forgotten number it rewrites is overwritten.
            conn.pragma_update(None, "secure_delete", "ON")?;
            conn.busy_timeout(Duration::from_secs(5))
        };
        setup(&conn).map_err(located)?;
        let found = schema::stored_version(&conn, path)?;
        if found != schema::known_version() {
            return Err(StoreError::Conflict(format!(
                "the database {} is at schema {found}, not {}: open it with taproll once to upgrade it",
                path.display(),
                schema::known_version()
            )));
        }
        let device_id = device_id(&conn)?;
        Ok(Self { conn, device_id })
    }

    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// The oldest `limit` waiting events, in order. Only these are read:
    /// never the whole backlog.
    pub fn waiting(&self, limit: usize) -> Result<Vec<Waiting>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, event_id, at, event FROM outbox
             WHERE sent_at IS NULL AND parked_at IS NULL
             ORDER BY seq LIMIT ?1",
        )?;
        let rows = statement.query_map(params![limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, event_id, at, json) = row?;
            let envelope = || -> Result<Envelope, String> {
                Ok(Envelope {
                    schema_version: SCHEMA_VERSION,
                    event_id: Uuid::parse_str(&event_id)
                        .map_err(|e| format!("event id `{event_id}`: {e}"))?,
                    device_id: self.device_id,
                    seq,
                    at: parse_time(&at).map_err(|e| e.to_string())?,
                    event: serde_json::from_str(&json).map_err(|e| e.to_string())?,
                })
            };
            Ok(Waiting {
                seq,
                envelope: envelope(),
            })
        })
        .collect()
    }

    /// Records a server's answer, in one transaction: `sent` are stored
    /// there (taken or already known), `parked` refused for good, with why.
    pub fn settle(
        &mut self,
        server: &str,
        sent: &[i64],
        parked: &[(i64, String)],
        now: &Timestamp,
    ) -> Result<()> {
        let now = format_time(now);
        let tx = self.begin()?;
        for chunk in sent.chunks(500) {
            let sql = format!(
                "UPDATE outbox SET sent_at = ? WHERE seq IN ({})",
                placeholders(chunk.len())
            );
            let values = std::iter::once(rusqlite::types::Value::Text(now.clone())).chain(
                chunk
                    .iter()
                    .map(|&seq| rusqlite::types::Value::Integer(seq)),
            );
            tx.execute(&sql, params_from_iter(values))?;
        }
        // An erasure the server has taken needs the forgotten number no
        // more: the pseudonym stands in for it here too. So does a
        // forgotten student's renaming to the pseudonym (store/forget.rs).
        tx.execute(
            "UPDATE outbox SET event = json_set(event, '$.student_no', json_extract(event, '$.pseudonym'))
             WHERE kind = 'student_forgotten' AND sent_at IS NOT NULL
               AND json_extract(event, '$.student_no') <> json_extract(event, '$.pseudonym')",
            [],
        )?;
        tx.execute(
            "UPDATE outbox
             SET event = json_set(event, '$.previous_student_no', json_extract(event, '$.student_no'))
             WHERE kind = 'student_saved' AND sent_at IS NOT NULL
               AND EXISTS (SELECT 1 FROM erasures)
               AND json_extract(event, '$.student_no') IN (SELECT pseudonym FROM erasures)
               AND json_extract(event, '$.previous_student_no') <> json_extract(event, '$.student_no')",
            [],
        )?;
        for (seq, reason) in parked {
            tx.prepare_cached(
                "UPDATE outbox SET parked_at = ?1, parked_reason = ?2, attempts = attempts + 1
                 WHERE seq = ?3",
            )?
            .execute(params![now, reason, seq])?;
        }
        tx.prepare_cached(
            "UPDATE sync_state SET server = ?1, last_attempt_at = ?2, last_success_at = ?2,
                 failing_since = NULL, last_error = NULL, stopped = NULL",
        )?
        .execute(params![server, now])?;
        tx.commit()?;
        Ok(())
    }

    /// Records an attempt that settled nothing: the events in it are
    /// counted as tried, and the error is kept.
    pub fn failed(
        &mut self,
        server: &str,
        seqs: &[i64],
        error: &str,
        now: &Timestamp,
    ) -> Result<()> {
        let now = format_time(now);
        let tx = self.begin()?;
        if let (Some(first), Some(last)) = (seqs.first(), seqs.last()) {
            tx.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1
                 WHERE seq BETWEEN ?2 AND ?3 AND sent_at IS NULL AND parked_at IS NULL",
            )?
            .execute(params![error, first, last])?;
        }
        tx.prepare_cached(
            "UPDATE sync_state SET server = ?1, last_attempt_at = ?2,
                 failing_since = COALESCE(failing_since, ?2), last_error = ?3, stopped = NULL",
        )?
        .execute(params![server, now, error])?;
        tx.commit()?;
        Ok(())
    }

    /// Records that the sender stopped, and why (shown until it sends again).
    pub fn stop(&mut self, server: &str, why: &str, now: &Timestamp) -> Result<()> {
        let now = format_time(now);
        let tx = self.begin()?;
        tx.prepare_cached(
            "UPDATE sync_state SET server = ?1, last_attempt_at = ?2,
                 failing_since = COALESCE(failing_since, ?2), last_error = ?3, stopped = ?3",
        )?
        .execute(params![server, now, why])?;
        tx.commit()?;
        Ok(())
    }

    /// Puts every parked event back in the queue; how many.
    pub fn unpark_all(&mut self) -> Result<u64> {
        let tx = self.begin()?;
        let count = unpark_all(&tx)?;
        tx.commit()?;
        Ok(count)
    }

    pub fn counts(&self) -> Result<QueueCounts> {
        counts(&self.conn)
    }

    pub fn record(&self) -> Result<SyncRecord> {
        record(&self.conn)
    }

    pub fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>> {
        parked(&self.conn, limit)
    }

    /// IMMEDIATE, like every write: the store's connection writes beside.
    fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }
}

impl Store {
    /// How many events wait, are parked, are sent (for `sync --status`).
    pub fn sync_counts(&self) -> Result<QueueCounts> {
        counts(&self.conn)
    }

    /// The sender's state as last recorded.
    pub fn sync_record(&self) -> Result<SyncRecord> {
        record(&self.conn)
    }

    /// The parked events, oldest first, at most `limit`.
    pub fn parked_events(&self, limit: usize) -> Result<Vec<ParkedEvent>> {
        parked(&self.conn, limit)
    }

    /// Puts every parked event back in the queue, from the class's own
    /// connection (its commit wakes the sender); how many.
    pub fn unpark_all(&self) -> Result<u64> {
        self.write(unpark_all)
    }
}

fn unpark_all(conn: &Connection) -> Result<u64> {
    let count = conn.execute(
        "UPDATE outbox SET parked_at = NULL, parked_reason = NULL, attempts = 0
         WHERE parked_at IS NOT NULL AND sent_at IS NULL",
        [],
    )?;
    Ok(count as u64)
}

fn device_id(conn: &Connection) -> Result<Uuid> {
    let text: String = conn.query_row("SELECT id FROM device", [], |r| r.get(0))?;
    Uuid::parse_str(&text).map_err(|e| StoreError::BadValue(format!("device id `{text}`: {e}")))
}

/// In one read, so the numbers agree with each other. Events are never
/// deleted and `seq` is AUTOINCREMENT, so the highest `seq` is how many
/// there are (read off the primary key, without counting the table).
fn counts(conn: &Connection) -> Result<QueueCounts> {
    let row = conn
        .prepare_cached(
            "SELECT
                 (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL),
                 (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL),
                 (SELECT coalesce(max(seq), 0) FROM outbox),
                 (SELECT at FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL
                  ORDER BY seq LIMIT 1)",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
    let (waiting, parked, total, oldest) = row;
    let (waiting, parked) = (waiting as u64, parked as u64);
    Ok(QueueCounts {
        waiting,
        parked,
        sent: (total as u64).saturating_sub(waiting + parked),
        oldest_waiting: oldest.as_deref().map(parse_time).transpose()?,
    })
}

fn record(conn: &Connection) -> Result<SyncRecord> {
    type Row = [Option<String>; 6];
    let row: Row = conn
        .prepare_cached(
            "SELECT server, last_attempt_at, last_success_at, failing_since, last_error, stopped
             FROM sync_state",
        )?
        .query_row([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })?;
    let [server, attempt, success, failing, error, stopped] = row;
    let time = |text: Option<String>| text.as_deref().map(parse_time).transpose();
    Ok(SyncRecord {
        server,
        last_attempt_at: time(attempt)?,
        last_success_at: time(success)?,
        failing_since: time(failing)?,
        last_error: error,
        stopped,
    })
}

fn parked(conn: &Connection, limit: usize) -> Result<Vec<ParkedEvent>> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, kind, at, parked_at, parked_reason FROM outbox
         WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY seq LIMIT ?1",
    )?;
    let rows = statement.query_map(params![limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (seq, kind, at, parked_at, reason) = row?;
        Ok(ParkedEvent {
            seq,
            kind,
            at: parse_time(&at)?,
            parked_at: parse_time(&parked_at)?,
            reason: reason.unwrap_or_default(),
        })
    })
    .collect()
}

/// `?, ?, ?` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}
