//! Retention (`privacy.keep_raw_taps_days`): the raw taps of sessions that
//! ended before a time are deleted, with the events that carry them. What
//! reports read of them is kept first: each marked student's first tap
//! time on their mark, and the session's tap counts (`purged_taps`), so a
//! report of the session gives the same counts after as before.

use super::{Result, Store, format_time};
use crate::domain::{Session, Timestamp};
use rusqlite::{Connection, params};
use std::collections::BTreeSet;

/// What a purge deletes (or, dry, would delete).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purge {
    pub sessions: usize,
    pub taps: usize,
    /// Stored events of those taps (`tap`, `tap_moved`).
    pub events: usize,
    /// Of those events, how many were never sent to the server.
    pub unsent_events: usize,
    /// Sessions left for now: some of their tap events wait for the server.
    pub waiting_sessions: usize,
}

/// Which sessions a purge may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsent {
    /// Every one past the window: what the window says is gone never
    /// reaches a server later (`taproll purge`, asked by a person).
    Delete,
    /// Not a session whose tap events still wait for the server: a push
    /// that was down longer than the window loses nothing on its way (a
    /// recorder's start, where nobody is asked).
    Keep,
}

/// The event kinds that carry a raw tap.
const TAP_KINDS: &str = "('tap', 'tap_moved')";

impl Store {
    /// Deletes the raw taps of the sessions that ended before `ended_before`,
    /// keeping what reports need of them. `dry_run`: counts, changes nothing.
    pub fn purge_raw_taps(
        &self,
        ended_before: &Timestamp,
        unsent: Unsent,
        dry_run: bool,
        now: &Timestamp,
    ) -> Result<Purge> {
        let tx = self.begin()?;
        let mut purge = Purge::default();
        let mut sessions = doomed(&tx, ended_before)?;
        if unsent == Unsent::Keep {
            let waiting = waiting_sessions(&tx)?;
            purge.waiting_sessions = sessions.intersection(&waiting).count();
            sessions.retain(|id| !waiting.contains(id));
            forget_sessions(&tx, &waiting)?;
        }
        let (taps, events, unsent_events) = count(&tx)?;
        purge.sessions = sessions.len();
        purge.taps = taps;
        purge.events = events;
        purge.unsent_events = unsent_events;
        if !dry_run {
            for &id in &sessions {
                if let Some((session, label)) = self.session_by_id(id)? {
                    self.keep_what_reports_read(&session, label, now)?;
                }
            }
            delete(&tx, &sessions)?;
        }
        tx.execute_batch("DROP TABLE temp.doomed")?;
        if dry_run {
            tx.rollback()?;
        } else {
            self.commit(tx)?;
            if purge.taps > 0 {
                tracing::info!(
                    sessions = purge.sessions,
                    taps = purge.taps,
                    events = purge.events,
                    "raw taps purged"
                );
            }
        }
        Ok(purge)
    }

    /// The first taps on the marks, the counts in `purged_taps`.
    fn keep_what_reports_read(
        &self,
        session: &Session,
        label: Option<String>,
        now: &Timestamp,
    ) -> Result<()> {
        let data = self.session_data(session, label)?;
        let mut keep_first_tap = self.conn.prepare_cached(
            "UPDATE marks SET first_tap_at = ?3
             WHERE session_id = ?1 AND student_id = (SELECT id FROM students WHERE student_no = ?2)",
        )?;
        for row in &data.rows {
            if let Some(at) = &row.first_tap {
                keep_first_tap.execute(params![session.id, row.student_no, format_time(at)])?;
            }
        }
        let cards: BTreeSet<_> = data.unknown_taps.iter().map(|t| &t.uid).collect();
        let unclaimed: BTreeSet<_> = data
            .unknown_taps
            .iter()
            .filter(|t| t.claimed_by.is_none())
            .map(|t| &t.uid)
            .collect();
        let taps: i64 = self.conn.query_row(
            "SELECT count(*) FROM taps WHERE session_id = ?1",
            params![session.id],
            |r| r.get(0),
        )?;
        self.conn.execute(
            "INSERT INTO purged_taps (session_id, purged_at, taps, duplicates, repeats,
                                      unknown_cards, unclaimed_cards)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                session.id,
                format_time(now),
                taps,
                data.duplicates as i64,
                data.repeats as i64,
                cards.len() as i64,
                unclaimed.len() as i64
            ],
        )?;
        Ok(())
    }
}

/// The sessions that ended before the time and still have taps; their taps
/// in `temp.doomed`, for the passes over the outbox below.
fn doomed(conn: &Connection, ended_before: &Timestamp) -> Result<BTreeSet<i64>> {
    // julianday: the times carry their own UTC offsets (summer and winter
    // time), so their text does not order them.
    conn.execute(
        "CREATE TEMP TABLE doomed AS
         SELECT t.uuid AS uuid, t.session_id AS session_id FROM taps t
         JOIN sessions s ON s.id = t.session_id
         WHERE s.ended_at IS NOT NULL AND julianday(s.ended_at) < julianday(?1)",
        params![format_time(ended_before)],
    )?;
    conn.execute_batch("CREATE INDEX temp.doomed_uuid ON doomed(uuid)")?;
    Ok(conn
        .prepare("SELECT DISTINCT session_id FROM temp.doomed")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The doomed sessions with a tap event not sent yet (one pass).
fn waiting_sessions(conn: &Connection) -> Result<BTreeSet<i64>> {
    Ok(conn
        .prepare(&format!(
            "SELECT DISTINCT d.session_id FROM outbox o
             JOIN temp.doomed d ON d.uuid = json_extract(o.event, '$.tap')
             WHERE o.kind IN {TAP_KINDS} AND o.sent_at IS NULL"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn forget_sessions(conn: &Connection, sessions: &BTreeSet<i64>) -> Result<()> {
    let mut statement = conn.prepare("DELETE FROM temp.doomed WHERE session_id = ?1")?;
    for id in sessions {
        statement.execute(params![id])?;
    }
    Ok(())
}

/// The doomed taps, their events, and of those the unsent (one pass).
fn count(conn: &Connection) -> Result<(usize, usize, usize)> {
    let taps: i64 = conn.query_row("SELECT count(*) FROM temp.doomed", [], |r| r.get(0))?;
    let (events, unsent): (i64, i64) = conn.query_row(
        &format!(
            "SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL) FROM outbox
             WHERE kind IN {TAP_KINDS}
               AND json_extract(event, '$.tap') IN (SELECT uuid FROM temp.doomed)"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((taps as usize, events as usize, unsent as usize))
}

/// Deletes the doomed taps and the events that carry them (taproll's
/// untyped events before schema 5 too). A mark keeps no link to a deleted
/// tap: its time is on the mark now.
fn delete(conn: &Connection, sessions: &BTreeSet<i64>) -> Result<()> {
    conn.execute(
        &format!(
            "DELETE FROM outbox WHERE kind IN {TAP_KINDS}
               AND json_extract(event, '$.tap') IN (SELECT uuid FROM temp.doomed)"
        ),
        [],
    )?;
    for id in sessions {
        conn.execute(
            "DELETE FROM outbox_v1 WHERE kind = 'tap' AND json_extract(payload, '$.session_id') = ?1",
            params![id],
        )?;
        conn.execute(
            "UPDATE marks SET tap_id = NULL WHERE session_id = ?1",
            params![id],
        )?;
        conn.execute(
            "UPDATE mark_changes SET before_tap_id = NULL WHERE session_id = ?1",
            params![id],
        )?;
        conn.execute("DELETE FROM taps WHERE session_id = ?1", params![id])?;
    }
    Ok(())
}
