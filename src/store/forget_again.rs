//! A backup restored must not bring back a student forgotten after it was
//! taken. Nothing the database keeps of an erasure names the student (the
//! audit row holds the pseudonym, never the number), so the student is
//! found in the backup through the events the two databases share: each of
//! the student's `student_saved` events was rewritten to name the
//! pseudonym, and the same event (by its `event_id`) in a copy taken before
//! names the number they had then. The erasure keeps those ids
//! (`erasures.events`), so that a restore of a backup without the student
//! does not lose them for the next restore.

use super::forget::{Again, events_of_kind, ids_json, queue_erasure, saved_events};
use super::{Result, Store, format_time};
use crate::domain::Timestamp;
use crate::events::Event;
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The erasures of a database, read before a backup replaces it.
#[derive(Clone, Debug, Default)]
pub struct ErasureTrail {
    device: Option<Uuid>,
    erasures: Vec<Again>,
}

/// What became, in a backup restored, of an erasure made after it was
/// taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppliedAgain {
    /// The student was in the backup, and is forgotten again, under the
    /// same pseudonym.
    Forgotten(Again),
    /// No event that saved the student is in the backup: they came after.
    NotInBackup(Again),
    /// The backup shares no event with the database (another device's, or
    /// from a taproll before the event log): its students cannot be
    /// matched.
    NotMatched(Again),
}

impl Store {
    /// This database's erasures, to apply again to a backup of it.
    pub fn erasure_trail(&self) -> Result<ErasureTrail> {
        let rows: Vec<(String, String, String, Option<String>)> = self
            .conn
            .prepare("SELECT at, pseudonym, erased, events FROM erasures ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            return Ok(ErasureTrail::default());
        }
        let pseudonyms: BTreeSet<String> = rows.iter().map(|r| r.1.clone()).collect();
        let mut saved = saved_events(&self.conn, &pseudonyms)?;
        let mut told = unsettled_erasures(&self.conn, &pseudonyms)?;
        let erasures = rows
            .into_iter()
            .map(|(erased_at, pseudonym, erased, events)| {
                let mut ids = saved.remove(&pseudonym).unwrap_or_default();
                // Unreadable: the ids in the outbox are still there.
                ids.extend(
                    events
                        .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
                        .unwrap_or_default(),
                );
                Again {
                    told: told.remove(&pseudonym),
                    saved: ids,
                    pseudonym,
                    erased_at,
                    erased,
                }
            })
            .collect();
        Ok(ErasureTrail {
            device: Some(self.device_id()?),
            erasures,
        })
    }

    /// Forgets again, in this database (a backup just restored), each
    /// student of `trail` forgotten after the backup was taken. Every
    /// erasure stays audited: one not applied again is copied with a note.
    /// The caller vacuums after.
    pub fn forget_again(&self, trail: &ErasureTrail, now: &Timestamp) -> Result<Vec<AppliedAgain>> {
        let mut applied = Vec::new();
        if trail.erasures.is_empty() {
            return Ok(applied);
        }
        let known: BTreeSet<String> = self
            .conn
            .prepare("SELECT pseudonym FROM erasures")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // Event ids are UUID v7, made on the device: only a copy of the same
        // database shares them. A backup from before the event log got new
        // ones, and a new device id, when it was migrated.
        let same_device = trail.device == Some(self.device_id()?);
        for again in trail
            .erasures
            .iter()
            .filter(|a| !known.contains(&a.pseudonym))
        {
            let again = again.clone();
            if !same_device {
                self.audit_again(&again, "the backup shares no event with it", now)?;
                applied.push(AppliedAgain::NotMatched(again));
                continue;
            }
            match self.number_now(&again.saved)? {
                Some(number) if self.footprint(&number)?.is_some() => {
                    self.forget(&number, now, Some(&again))?;
                    applied.push(AppliedAgain::Forgotten(again));
                }
                _ => {
                    self.audit_again(&again, "the student was not in the backup", now)?;
                    applied.push(AppliedAgain::NotInBackup(again));
                }
            }
        }
        Ok(applied)
    }

    /// The erasure's audit row, copied from the database a restore
    /// replaced, with why nothing was erased again; and its event for the
    /// push, which the server may not have taken yet.
    fn audit_again(&self, again: &Again, why: &str, now: &Timestamp) -> Result<()> {
        let tx = self.begin()?;
        queue_erasure(
            &tx,
            &again.pseudonym,
            &again.told.clone().unwrap_or_default(),
            now,
        )?;
        tx.execute(
            "INSERT INTO erasures (at, pseudonym, erased, events) VALUES (?1, ?2, ?3, ?4)",
            params![
                again.erased_at,
                again.pseudonym,
                format!(
                    "{}; in a backup restored at {}: {why}",
                    again.erased,
                    format_time(now)
                ),
                ids_json(&again.saved)
            ],
        )?;
        self.commit(tx)
    }

    /// The student's number in this database: the one named by the latest
    /// of these `student_saved` events that it holds, followed through the
    /// renumberings after it (a backup taken later than the database that
    /// forgot them knows of renumberings that database did not).
    fn number_now(&self, event_ids: &BTreeSet<String>) -> Result<Option<String>> {
        let mut number: Option<String> = None;
        for (event_id, event) in events_of_kind(&self.conn, "student_saved")? {
            let Event::StudentSaved {
                student_no,
                previous_student_no,
                ..
            } = event
            else {
                continue;
            };
            if event_ids.contains(&event_id) || (number.is_some() && previous_student_no == number)
            {
                number = Some(student_no);
            }
        }
        Ok(number)
    }
}

/// For each pseudonym with `student_forgotten` events, the numbers they
/// still name (the server has not taken them yet: once it has, the number
/// becomes the pseudonym).
fn unsettled_erasures(
    conn: &Connection,
    pseudonyms: &BTreeSet<String>,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut told: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, event) in events_of_kind(conn, "student_forgotten")? {
        if let Event::StudentForgotten {
            student_no,
            pseudonym,
        } = event
            && pseudonyms.contains(&pseudonym)
        {
            let numbers = told.entry(pseudonym.clone()).or_default();
            if student_no != pseudonym {
                numbers.insert(student_no);
            }
        }
    }
    Ok(told)
}
