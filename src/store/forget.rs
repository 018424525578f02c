//! Forgetting a student on request (`taproll student forget`). Their name,
//! email, enrolments and cards' UIDs go; a pseudonym stands for them in the
//! sessions they were marked in, so that every count stays right. Every
//! copy in the file goes with them: their cards and taps get made-up UIDs,
//! their stored events are rewritten, notes lose the name, and
//! [`Store::vacuum`] (the caller's next step) leaves no freed page behind.

use super::outbox::queue;
use super::pseudonym::{Erasure, history};
use super::{Result, Store, StoreError, format_time};
use crate::domain::Timestamp;
use crate::events::Event;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, BTreeSet};

/// What the database holds of a student: what a forget erases or rewrites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub student_no: String,
    pub name: String,
    /// The courses they are enrolled in.
    pub courses: Vec<String>,
    pub cards: usize,
    /// Marks in past sessions: kept, under the pseudonym.
    pub marks: usize,
    /// Raw taps of their cards.
    pub taps: usize,
}

/// A student forgotten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forgotten {
    pub pseudonym: String,
    pub footprint: Footprint,
    /// Stored events that named them, rewritten.
    pub events_rewritten: usize,
}

/// An erasure made in a database, with what finds its student in a copy of
/// that database taken before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Again {
    pub pseudonym: String,
    /// When it was first made, as stored.
    pub erased_at: String,
    /// What it erased (the audit's words).
    pub(super) erased: String,
    /// The ids of the `student_saved` events about the student.
    pub(super) saved: BTreeSet<String>,
    /// What the database's erasure events still tell a server: the number
    /// it knows the student by, until it has taken them (empty: nothing,
    /// or only the pseudonym). `None`: the database had no erasure event.
    pub(super) told: Option<BTreeSet<String>>,
}

impl Store {
    /// What the database holds of the student with this number, if any.
    pub fn footprint(&self, student_no: &str) -> Result<Option<Footprint>> {
        let Some((id, name)) = student(&self.conn, student_no)? else {
            return Ok(None);
        };
        let courses = self
            .conn
            .prepare(
                "SELECT c.name FROM enrolments e JOIN courses c ON c.id = e.course_id
                 WHERE e.student_id = ?1 ORDER BY c.name",
            )?
            .query_map(params![id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let count = |sql: &str| -> Result<usize> {
            let n: i64 = self.conn.query_row(sql, params![id], |r| r.get(0))?;
            Ok(n as usize)
        };
        Ok(Some(Footprint {
            student_no: student_no.to_string(),
            name,
            courses,
            cards: count("SELECT count(*) FROM cards WHERE student_id = ?1")?,
            marks: count("SELECT count(*) FROM marks WHERE student_id = ?1")?,
            taps: count(
                "SELECT count(*) FROM taps WHERE student_id = ?1
                    OR (student_id IS NULL AND uid IN (SELECT uid FROM cards WHERE student_id = ?1))",
            )?,
        }))
    }

    /// Forgets the student with this number, in one transaction, and
    /// queues the erasure for the push.
    pub fn forget_student(&self, student_no: &str, now: &Timestamp) -> Result<Forgotten> {
        self.forget(student_no, now, None)
    }

    /// Forgets the student, under `again`'s pseudonym when the erasure is
    /// one made before, applied again to a backup being restored
    /// (`forget_again.rs`).
    pub(super) fn forget(
        &self,
        student_no: &str,
        now: &Timestamp,
        again: Option<&Again>,
    ) -> Result<Forgotten> {
        let tx = self.begin()?;
        let footprint = self
            .footprint(student_no)?
            .ok_or_else(|| StoreError::Conflict(format!("no student has the id {student_no}")))?;
        let Some((id, _)) = student(&tx, student_no)? else {
            unreachable!("the footprint found the student")
        };
        let events = stored_events(&tx)?;
        let plain: Vec<(i64, Event)> = events.iter().map(|e| (e.seq, e.event.clone())).collect();
        let mut erasure = Erasure {
            numbers: history(student_no, &plain),
            name: footprint.name.clone(),
            pseudonym: match again {
                Some(again) => again.pseudonym.clone(),
                None => new_pseudonym(&tx)?,
            },
            uids: BTreeMap::new(),
            cards: their_cards(&tx, id)?,
        };
        erasure.uids = stand_ins(&tx, id, &erasure, &plain)?;
        let (events_rewritten, told_as) = rewrite_events(&tx, &erasure, events)?;
        erase_rows(&tx, id, &erasure)?;
        let pseudonyms = BTreeSet::from([erasure.pseudonym.clone()]);
        let mut saved = saved_events(&tx, &pseudonyms)?
            .remove(&erasure.pseudonym)
            .unwrap_or_default();
        let (at, erased) = match again {
            // Audited as first made, with a note: a chain of restores keeps
            // the time and the words of the erasure itself.
            Some(again) => {
                saved.extend(again.saved.iter().cloned());
                (
                    again.erased_at.clone(),
                    format!(
                        "{}; forgotten again in a backup restored at {}",
                        again.erased,
                        format_time(now)
                    ),
                )
            }
            None => (
                format_time(now),
                format!(
                    "name, email, {} card(s), {} enrolment(s); {} mark(s) kept under the \
                     pseudonym; {} tap(s) and {} event(s) rewritten",
                    footprint.cards,
                    footprint.courses.len(),
                    footprint.marks,
                    footprint.taps,
                    events_rewritten
                ),
            ),
        };
        tx.execute(
            "INSERT INTO erasures (at, pseudonym, erased, events) VALUES (?1, ?2, ?3, ?4)",
            params![at, erasure.pseudonym, erased, ids_json(&saved)],
        )?;
        // What the server knows them by: the database that first forgot
        // them knew better than a backup restored since (its erasure event
        // may have been taken already).
        let told = match again.and_then(|a| a.told.clone()) {
            Some(told) => told,
            None => told_as.into_iter().collect(),
        };
        queue_erasure(&tx, &erasure.pseudonym, &told, now)?;
        self.commit(tx)?;
        tracing::info!(
            pseudonym = erasure.pseudonym.as_str(),
            "a student was forgotten on request"
        );
        Ok(Forgotten {
            pseudonym: erasure.pseudonym,
            footprint,
            events_rewritten,
        })
    }

    /// Rewrites the file without its free pages, then empties the WAL into
    /// it: no erased byte stays in either. False when a reader kept the WAL
    /// from being emptied (it is, at the next checkpoint).
    pub fn vacuum(&self) -> Result<bool> {
        self.conn.execute_batch("VACUUM")?;
        let (busy, _, _): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(busy == 0)
    }
}

/// Queues the erasure for the push. A receiver that was sent (or may have
/// got) events naming the student knows them by the number in `told`, and
/// needs it to find them; one that got none needs only the pseudonym.
pub(super) fn queue_erasure(
    conn: &Connection,
    pseudonym: &str,
    told: &BTreeSet<String>,
    now: &Timestamp,
) -> Result<()> {
    let numbers: Vec<String> = if told.is_empty() {
        vec![pseudonym.to_string()]
    } else {
        told.iter().cloned().collect()
    };
    for number in numbers {
        let event = Event::StudentForgotten {
            student_no: number,
            pseudonym: pseudonym.to_string(),
        };
        queue(conn, now, event)?;
    }
    Ok(())
}

fn student(conn: &Connection, student_no: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT id, name FROM students WHERE student_no = ?1",
            params![student_no],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// `forgotten-` and 8 random hex digits, not a number in use nor an
/// erasure's (a restore tells erasures apart by their pseudonyms).
fn new_pseudonym(conn: &Connection) -> Result<String> {
    loop {
        let pseudonym = format!(
            "forgotten-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let taken: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM students WHERE student_no = ?1)
                 OR EXISTS (SELECT 1 FROM erasures WHERE pseudonym = ?1)",
            params![pseudonym],
            |r| r.get(0),
        )?;
        if !taken {
            return Ok(pseudonym);
        }
    }
}

/// The cards they hold now.
fn their_cards(conn: &Connection, id: i64) -> Result<BTreeSet<String>> {
    Ok(conn
        .prepare("SELECT uid FROM cards WHERE student_id = ?1")?
        .query_map(params![id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Every card UID that was theirs (held now, tapped as theirs, bound to or
/// taken from them, claimed by them), each with a stand-in: 16 random
/// bytes, a length no card's UID has, so a stand-in can never be taken for
/// a card at the door.
fn stand_ins(
    conn: &Connection,
    id: i64,
    erasure: &Erasure,
    events: &[(i64, Event)],
) -> Result<BTreeMap<String, String>> {
    let mut uids = erasure.cards.clone();
    let rows: Vec<String> = conn
        .prepare(
            "SELECT uid FROM taps WHERE student_id = ?1
             UNION SELECT card_uid FROM mark_changes WHERE student_id = ?1 AND card_uid IS NOT NULL",
        )?
        .query_map(params![id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    uids.extend(rows);
    uids.extend(
        events
            .iter()
            .filter_map(|(seq, event)| erasure.their_uids(*seq, event)),
    );
    Ok(uids
        .into_iter()
        .map(|uid| {
            let stand_in = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
            (uid, stand_in)
        })
        .collect())
}

/// A stored event, and whether a server has it or may have it (sent, or
/// tried and the answer lost).
struct Stored {
    seq: i64,
    event: Event,
    told: bool,
}

fn stored_events(conn: &Connection) -> Result<Vec<Stored>> {
    let rows: Vec<(i64, String, bool)> = conn
        .prepare("SELECT seq, event, sent_at IS NOT NULL OR attempts > 0 FROM outbox ORDER BY seq")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(seq, json, told)| {
            let event = serde_json::from_str(&json)
                .map_err(|e| StoreError::BadValue(format!("event {seq}: {e}")))?;
            Ok(Stored { seq, event, told })
        })
        .collect()
}

/// Every stored event about the student, rewritten: how many, and the
/// number a server will know them by when the erasure reaches it, if it
/// was told of them under a number.
fn rewrite_events(
    conn: &Connection,
    erasure: &Erasure,
    events: Vec<Stored>,
) -> Result<(usize, Option<String>)> {
    let mut update = conn.prepare("UPDATE outbox SET event = ?2 WHERE seq = ?1")?;
    let mut rewritten = 0;
    let mut told = None;
    // One of their events still to be sent renames them on the server.
    let mut renamed = false;
    for mut stored in events {
        let renumbered_from = match &stored.event {
            Event::StudentSaved {
                previous_student_no,
                ..
            } => previous_student_no.clone(),
            _ => None,
        };
        let done = erasure.rewrite(stored.seq, &mut stored.event);
        if !done.changed {
            continue;
        }
        // In sequence order: the last one a server took is the number it
        // knows them by. An older number of theirs may be another
        // student's there now.
        if stored.told && done.held.is_some() {
            told = done.held;
        } else if !stored.told && !renamed && renumbered_from.is_some() && renumbered_from == told {
            // Their renumbering away from the number the server knows them
            // by, not sent yet: after it, the number may be given to
            // another student, before the erasure reaches the server. Sent
            // as a renaming of that number to the pseudonym, it moves them
            // there at this point of the stream; `SyncQueue::settle` drops
            // the number once the server has it.
            if let Event::StudentSaved {
                previous_student_no,
                ..
            } = &mut stored.event
            {
                previous_student_no.clone_from(&told);
            }
            renamed = true;
        }
        let json = serde_json::to_string(&stored.event)
            .map_err(|e| StoreError::BadValue(format!("event: {e}")))?;
        update.execute(params![stored.seq, json])?;
        rewritten += 1;
    }
    // The errors a server answered may quote what was sent.
    scrub_column(conn, "outbox", "last_error", erasure)?;
    scrub_column(conn, "outbox", "parked_reason", erasure)?;
    scrub_column(conn, "sync_state", "last_error", erasure)?;
    scrub_legacy_events(conn, erasure)?;
    // Renamed on the way, the server knows them by the pseudonym when the
    // erasure comes.
    Ok((rewritten, if renamed { None } else { told }))
}

/// The rows of the student, erased or made the pseudonym's. Their cards
/// stay the pseudonym's under stand-in UIDs: a session counts a card tapped
/// unknown and claimed later by its holder, and the counts must stay.
fn erase_rows(conn: &Connection, id: i64, erasure: &Erasure) -> Result<()> {
    for (uid, stand_in) in &erasure.uids {
        conn.execute(
            "UPDATE taps SET uid = ?2 WHERE uid = ?1
               AND (student_id = ?3 OR (student_id IS NULL AND ?4))",
            params![uid, stand_in, id, erasure.cards.contains(uid)],
        )?;
        conn.execute(
            "UPDATE mark_changes SET card_uid = ?2 WHERE card_uid = ?1 AND student_id = ?3",
            params![uid, stand_in, id],
        )?;
        conn.execute(
            "UPDATE cards SET uid = ?2 WHERE uid = ?1 AND student_id = ?3",
            params![uid, stand_in, id],
        )?;
    }
    conn.execute("DELETE FROM enrolments WHERE student_id = ?1", params![id])?;
    conn.execute(
        "UPDATE students SET student_no = ?2, name = ?2, email = NULL WHERE id = ?1",
        params![id, erasure.pseudonym],
    )?;
    for (table, column) in [
        ("marks", "note"),
        ("mark_changes", "note"),
        ("mark_changes", "before_note"),
        ("sessions", "label"),
    ] {
        scrub_column(conn, table, column, erasure)?;
    }
    Ok(())
}

/// Every value of a text column with the student's name, numbers and UIDs
/// replaced (a note such as "Ada: doctor's note").
fn scrub_column(conn: &Connection, table: &str, column: &str, erasure: &Erasure) -> Result<()> {
    let values: Vec<(i64, String)> = conn
        .prepare(&format!(
            "SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL"
        ))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare(&format!(
        "UPDATE {table} SET {column} = ?2 WHERE rowid = ?1"
    ))?;
    for (rowid, value) in values {
        let scrubbed = erasure.scrub(&value);
        if scrubbed != value {
            update.execute(params![rowid, scrubbed])?;
        }
    }
    Ok(())
}

/// The untyped events taproll queued before schema 5, kept for the audit
/// trail (never sent): each JSON string scrubbed.
fn scrub_legacy_events(conn: &Connection, erasure: &Erasure) -> Result<()> {
    let payloads: Vec<(i64, String)> = conn
        .prepare("SELECT id, payload FROM outbox_v1")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE outbox_v1 SET payload = ?2 WHERE id = ?1")?;
    for (id, payload) in payloads {
        let scrubbed = match serde_json::from_str::<serde_json::Value>(&payload) {
            Ok(mut json) => {
                if !erasure.scrub_json(&mut json) {
                    continue;
                }
                json.to_string()
            }
            Err(_) => erasure.scrub(&payload),
        };
        if scrubbed != payload {
            update.execute(params![id, scrubbed])?;
        }
    }
    Ok(())
}

/// The ids as the `erasures.events` column keeps them.
pub(super) fn ids_json(ids: &BTreeSet<String>) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// For each pseudonym, the ids of the `student_saved` events that name it.
pub(super) fn saved_events(
    conn: &Connection,
    pseudonyms: &BTreeSet<String>,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut saved: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (event_id, event) in events_of_kind(conn, "student_saved")? {
        if let Event::StudentSaved { student_no, .. } = event
            && pseudonyms.contains(&student_no)
        {
            saved.entry(student_no).or_default().insert(event_id);
        }
    }
    Ok(saved)
}

/// The outbox's events of one kind, in sequence order, with their ids. An
/// event that cannot be read names nobody that can be found: left out.
pub(super) fn events_of_kind(conn: &Connection, kind: &str) -> Result<Vec<(String, Event)>> {
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT event_id, event FROM outbox WHERE kind = ?1 ORDER BY seq")?
        .query_map(params![kind], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?)))
        .collect())
}
