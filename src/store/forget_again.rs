//! A backup restored must not bring back a student forgotten after it was
//! taken. Nothing the database keeps of an erasure names the student (the
//! audit row holds the pseudonym, never the number), so the student is
//! found in the backup through the events the two databases share: each of
//! the student's `student_saved` events was rewritten to name the
//! pseudonym, and the same event (by its `event_id`) in a copy taken before
//! names the number they had then.

use super::{Result, Store, format_time};
use crate::domain::Timestamp;
use crate::events::Event;
use rusqlite::{OptionalExtension, params};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// An erasure made in a database, with what finds its student in a copy of
/// that database taken before: the ids of the events that saved them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Again {
    pub pseudonym: String,
    /// When it was first made, as stored.
    pub erased_at: String,
    /// What it erased (the audit's words).
    erased: String,
    saved: Vec<String>,
}

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
    /// The backup is of another device's database, whose events are not
    /// this one's: its students cannot be matched.
    OtherDevice(Again),
}

impl Store {
    /// This database's erasures, to apply again to a backup of it.
    pub fn erasure_trail(&self) -> Result<ErasureTrail> {
        let erasures: Vec<(String, String, String)> = self
            .conn
            .prepare("SELECT at, pseudonym, erased FROM erasures ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if erasures.is_empty() {
            return Ok(ErasureTrail::default());
        }
        let mut saved: BTreeMap<String, Vec<String>> = erasures
            .iter()
            .map(|(_, pseudonym, _)| (pseudonym.clone(), Vec::new()))
            .collect();
        let rows: Vec<(String, String)> = self
            .conn
            .prepare("SELECT event_id, event FROM outbox WHERE kind = 'student_saved'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (event_id, json) in rows {
            // An event that cannot be read names nobody we can find.
            if let Ok(Event::StudentSaved { student_no, .. }) = serde_json::from_str(&json)
                && let Some(ids) = saved.get_mut(&student_no)
            {
                ids.push(event_id);
            }
        }
        Ok(ErasureTrail {
            device: Some(self.device_id()?),
            erasures: erasures
                .into_iter()
                .map(|(erased_at, pseudonym, erased)| Again {
                    saved: saved.remove(&pseudonym).unwrap_or_default(),
                    pseudonym,
                    erased_at,
                    erased,
                })
                .collect(),
        })
    }

    /// Forgets again, in this database (a backup just restored), each
    /// student of `trail` forgotten after the backup was taken. Every
    /// erasure stays audited: one not applied again (the student came
    /// after the backup, or it is another device's) is copied with a note.
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
        let same_device = trail.device == Some(self.device_id()?);
        for again in trail
            .erasures
            .iter()
            .filter(|a| !known.contains(&a.pseudonym))
        {
            let again = again.clone();
            if !same_device {
                self.audit_again(&again, "the backup is of another device", now)?;
                applied.push(AppliedAgain::OtherDevice(again));
                continue;
            }
            match self.number_saved_last(&again.saved)? {
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
    /// replaced, with why nothing was erased again.
    fn audit_again(&self, again: &Again, why: &str, now: &Timestamp) -> Result<()> {
        self.conn.execute(
            "INSERT INTO erasures (at, pseudonym, erased) VALUES (?1, ?2, ?3)",
            params![
                again.erased_at,
                again.pseudonym,
                format!(
                    "{}; restored from a backup at {}: {why}",
                    again.erased,
                    format_time(now)
                )
            ],
        )?;
        Ok(())
    }

    /// The number named by the latest of these `student_saved` events that
    /// this database holds: the student's number when it was copied (a
    /// renumbering of theirs is one of their events too).
    fn number_saved_last(&self, event_ids: &[String]) -> Result<Option<String>> {
        let mut find = self
            .conn
            .prepare("SELECT seq, event FROM outbox WHERE event_id = ?1")?;
        let mut last: Option<(i64, String)> = None;
        for id in event_ids {
            let found: Option<(i64, String)> = find
                .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((seq, json)) = found
                && let Ok(Event::StudentSaved { student_no, .. }) = serde_json::from_str(&json)
                && last.as_ref().is_none_or(|(latest, _)| seq > *latest)
            {
                last = Some((seq, student_no));
            }
        }
        Ok(last.map(|(_, number)| number))
    }
}
