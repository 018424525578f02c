//! Applying an imported roster: adds and updates, never deletes, and all or
//! nothing.
//!
//! Identity: a student number names one person in every course of the
//! database (it is the institution's number). A file that gives a known
//! number another name renames that person everywhere, so when they are
//! enrolled in another course the line is refused unless the import says
//! renames are meant (`--allow-renames`).

use super::outbox::{queue, queue_student};
use super::roster::bind;
use super::{Result, Store};
use crate::domain::Timestamp;
use crate::events::Event;
use crate::import::{Refusal, RosterLine};
use rusqlite::{OptionalExtension, Transaction, params};

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
    /// Lines the database refuses (a card that belongs to someone else, a
    /// rename of a student of another course); nothing was written.
    Refused(Vec<Refusal>),
}

/// How an import is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Compute the summary and write nothing.
    pub dry_run: bool,
    /// Rename students who are enrolled in another course too.
    pub allow_renames: bool,
}

impl Store {
    /// Imports `lines` into the course (created if new) in one transaction.
    pub fn import_roster(
        &self,
        course_name: &str,
        lines: &[RosterLine],
        now: &Timestamp,
        options: ImportOptions,
    ) -> Result<ImportOutcome> {
        // IMMEDIATE: what is read here decides what is written.
        let tx = self.begin()?;
        let course = self.ensure_course(course_name, now)?;
        let mut summary = ImportSummary::default();
        let mut refused = Vec::new();
        for line in lines {
            let existing: Option<(i64, String, Option<String>)> = tx
                .prepare_cached("SELECT id, name, email FROM students WHERE student_no = ?1")?
                .query_row(params![line.student_no], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            // Whether this line changes anything: only then is it queued.
            let mut changed = existing.is_none();
            match &existing {
                None => summary.added += 1,
                Some((id, name, email)) => {
                    if *name != line.name
                        && !options.allow_renames
                        && let Some(other) = other_course(&tx, *id, course.id)?
                    {
                        refused.push(Refusal {
                            line: line.line,
                            reason: format!(
                                "student id {} is {name} in {other}; this file calls them {}. \
                                 A student id is one person in every course: check the file, \
                                 or pass --allow-renames to rename them everywhere",
                                line.student_no, line.name
                            ),
                        });
                        continue;
                    }
                    if *name != line.name || (line.email.is_some() && *email != line.email) {
                        summary.updated += 1;
                        changed = true;
                    } else {
                        summary.unchanged += 1;
                    }
                }
            }
            let student_id: i64 = tx
                .prepare_cached(
                    "INSERT INTO students (student_no, name, email) VALUES (?1, ?2, ?3)
                     ON CONFLICT(student_no) DO UPDATE SET
                        name = excluded.name, email = COALESCE(excluded.email, students.email)
                     RETURNING id",
                )?
                .query_row(params![line.student_no, line.name, line.email], |r| {
                    r.get(0)
                })?;
            // Counts a change only: a new enrolment, or a new section.
            let enrolled = tx
                .prepare_cached(
                    "INSERT INTO enrolments (course_id, student_id, section) VALUES (?1, ?2, ?3)
                     ON CONFLICT(course_id, student_id) DO UPDATE SET section = excluded.section
                     WHERE excluded.section IS NOT NULL
                       AND excluded.section IS NOT enrolments.section",
                )?
                .execute(params![course.id, student_id, line.section])?;
            // A new student's state is the line itself; otherwise it is read.
            match (&existing, changed || enrolled > 0) {
                (None, _) => queue(
                    &tx,
                    now,
                    Event::StudentSaved {
                        student_no: line.student_no.clone(),
                        previous_student_no: None,
                        name: line.name.clone(),
                        email: line.email.clone(),
                        course: course.name.clone(),
                        section: line.section.clone(),
                    },
                )?,
                (Some(_), true) => queue_student(&tx, student_id, course.id, None, now)?,
                (Some(_), false) => {}
            }
            let Some(uid) = &line.card else { continue };
            let holder: Option<(i64, String, String)> = tx
                .prepare_cached(
                    "SELECT s.id, s.student_no, s.name FROM cards c
                     JOIN students s ON s.id = c.student_id WHERE c.uid = ?1",
                )?
                .query_row(params![uid.as_hex()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
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
                    bind(&tx, uid.as_hex(), student_id, &line.student_no, None, now)?;
                    summary.cards_bound += 1;
                }
            }
        }
        if !refused.is_empty() {
            refused.sort_by_key(|r| r.line);
            return Ok(ImportOutcome::Refused(refused)); // dropping tx rolls back
        }
        if !options.dry_run {
            self.commit(tx)?;
        }
        Ok(ImportOutcome::Done(summary))
    }
}

/// A course other than `course_id` the student is enrolled in, if any.
fn other_course(tx: &Transaction, student_id: i64, course_id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row(
            "SELECT c.name FROM enrolments e JOIN courses c ON c.id = e.course_id
             WHERE e.student_id = ?1 AND e.course_id != ?2
             ORDER BY c.name LIMIT 1",
            params![student_id, course_id],
            |r| r.get(0),
        )
        .optional()?)
}
