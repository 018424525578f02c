//! Applying an imported roster: adds and updates, never deletes, and all or
//! nothing.

use super::{Result, Store, format_time};
use crate::domain::Timestamp;
use crate::import::{Refusal, RosterLine};
use rusqlite::{OptionalExtension, params};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub cards_bound: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Written (or, on a dry run, would be written).
    Done(ImportSummary),
    /// Lines the database refuses (a card that belongs to someone else);
    /// nothing was written.
    Refused(Vec<Refusal>),
}

impl Store {
    /// Imports `lines` into the course (created if new) in one transaction.
    /// A dry run computes the same summary and writes nothing.
    pub fn import_roster(
        &self,
        course_name: &str,
        lines: &[RosterLine],
        now: &Timestamp,
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        let tx = self.conn.unchecked_transaction()?;
        let course = self.ensure_course(course_name, now)?;
        let mut summary = ImportSummary::default();
        let mut refused = Vec::new();
        for line in lines {
            let existing: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT name, email FROM students WHERE student_no = ?1",
                    params![line.student_no],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match &existing {
                None => summary.added += 1,
                Some((name, email))
                    if *name != line.name || (line.email.is_some() && *email != line.email) =>
                {
                    summary.updated += 1
                }
                Some(_) => summary.unchanged += 1,
            }
            tx.execute(
                "INSERT INTO students (student_no, name, email) VALUES (?1, ?2, ?3)
                 ON CONFLICT(student_no) DO UPDATE SET
                    name = excluded.name, email = COALESCE(excluded.email, students.email)",
                params![line.student_no, line.name, line.email],
            )?;
            let student_id: i64 = tx.query_row(
                "SELECT id FROM students WHERE student_no = ?1",
                params![line.student_no],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO enrolments (course_id, student_id, section) VALUES (?1, ?2, ?3)
                 ON CONFLICT(course_id, student_id) DO UPDATE SET
                    section = COALESCE(excluded.section, enrolments.section)",
                params![course.id, student_id, line.section],
            )?;
            let Some(uid) = &line.card else { continue };
            let holder: Option<(i64, String, String)> = tx
                .query_row(
                    "SELECT s.id, s.student_no, s.name FROM cards c
                     JOIN students s ON s.id = c.student_id WHERE c.uid = ?1",
                    params![uid.as_hex()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match holder {
                Some((id, _, _)) if id == student_id => {}
                Some((_, no, name)) => refused.push(Refusal {
                    line: line.line,
                    reason: format!(
                        "card {uid} belongs to {no} ({name}); take it from them in taproll first"
                    ),
                }),
                None => {
                    tx.execute(
                        "INSERT INTO cards (uid, student_id, added_at) VALUES (?1, ?2, ?3)",
                        params![uid.as_hex(), student_id, format_time(now)],
                    )?;
                    summary.cards_bound += 1;
                }
            }
        }
        if !refused.is_empty() {
            return Ok(ImportOutcome::Refused(refused)); // dropping tx rolls back
        }
        if !dry_run {
            tx.commit()?;
        }
        Ok(ImportOutcome::Done(summary))
    }
}
