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
}

impl Store {
    /// Deletes the raw taps of every session that ended before `ended_before`,
    /// keeping what reports need of them. `dry_run`: counts, changes nothing.
    pub fn purge_raw_taps(
        &self,
        ended_before: &Timestamp,
        dry_run: bool,
        now: &Timestamp,
    ) -> Result<Purge> {
        let tx = self.begin()?;
        let sessions: Vec<i64> = tx
            .prepare(
                // julianday: the times carry their own UTC offsets (summer
                // and winter time), so text does not order them.
                "SELECT id FROM sessions
                 WHERE ended_at IS NOT NULL AND julianday(ended_at) < julianday(?1)
                   AND EXISTS (SELECT 1 FROM taps WHERE session_id = sessions.id)
                 ORDER BY id",
            )?
            .query_map(params![format_time(ended_before)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut purge = Purge::default();
        for id in sessions {
            let (taps, events, unsent) = count(&tx, id)?;
            purge.sessions += 1;
            purge.taps += taps;
            purge.events += events;
            purge.unsent_events += unsent;
            if !dry_run {
                let Some((session, label)) = self.session_by_id(id)? else {
                    continue;
                };
                self.keep_what_reports_read(&session, label, now)?;
                delete_taps(&tx, id)?;
            }
        }
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

/// A session's taps, their events, and of those the unsent.
fn count(conn: &Connection, session_id: i64) -> Result<(usize, usize, usize)> {
    let (taps, events, unsent): (i64, i64, i64) = conn.query_row(
        "WITH theirs AS (SELECT uuid FROM taps WHERE session_id = ?1)
         SELECT (SELECT count(*) FROM theirs),
                count(*), count(*) FILTER (WHERE sent_at IS NULL)
         FROM outbox
         WHERE kind IN (?2, ?3) AND json_extract(event, '$.tap') IN (SELECT uuid FROM theirs)",
        params![session_id, TAP, TAP_MOVED],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok((taps as usize, events as usize, unsent as usize))
}

/// The event kinds that carry a raw tap.
const TAP: &str = "tap";
const TAP_MOVED: &str = "tap_moved";

/// Deletes a session's taps and the events that carry them. A mark keeps
/// no link to a deleted tap (its time is on the mark now). An unsent event
/// is deleted too: what the window says is gone must not reach a server
/// later (the server sees a gap in the sequence, docs/protocol.md).
fn delete_taps(conn: &Connection, session_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM outbox WHERE kind IN (?2, ?3)
           AND json_extract(event, '$.tap') IN (SELECT uuid FROM taps WHERE session_id = ?1)",
        params![session_id, TAP, TAP_MOVED],
    )?;
    conn.execute(
        "UPDATE marks SET tap_id = NULL WHERE session_id = ?1",
        params![session_id],
    )?;
    conn.execute(
        "UPDATE mark_changes SET before_tap_id = NULL WHERE session_id = ?1",
        params![session_id],
    )?;
    conn.execute(
        "DELETE FROM taps WHERE session_id = ?1",
        params![session_id],
    )?;
    Ok(())
}
