//! Rebuilding attendance from a device's events, as a receiver does: the
//! events alone (global identities, in sequence order) give the courses,
//! students, enrolments, cards, sessions, taps and marks. A test replays a class
//! onto an empty database and compares the marks; the server builds on it.

use super::{Result, Store, format_time};
use crate::events::{Envelope, Event, SheetMark};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

impl Store {
    /// Applies `events` in order, in one transaction. Queues nothing: these
    /// are another device's changes, not this one's.
    pub fn replay(&self, events: &[Envelope]) -> Result<()> {
        let tx = self.begin()?;
        for envelope in events {
            apply(&tx, envelope)?;
        }
        self.commit(tx)?;
        Ok(())
    }
}

fn apply(conn: &Connection, envelope: &Envelope) -> Result<()> {
    let at = format_time(&envelope.at);
    match &envelope.event {
        Event::SessionStarted {
            session,
            course,
            planned_start,
            label,
        } => {
            let course_id = course_id(conn, course, &at)?;
            conn.execute(
                "INSERT INTO sessions (course_id, started_at, label, uuid) VALUES (?1, ?2, ?3, ?4)",
                params![
                    course_id,
                    format_time(planned_start),
                    label,
                    session.to_string()
                ],
            )?;
        }
        Event::SessionLabelled { session, label } => {
            conn.execute(
                "UPDATE sessions SET label = ?2 WHERE uuid = ?1",
                params![session.to_string(), label],
            )?;
        }
        Event::StudentSaved {
            student_no,
            previous_student_no,
            name,
            email,
            course,
            section,
        } => {
            if let Some(previous) = previous_student_no {
                conn.execute(
                    "UPDATE students SET student_no = ?2 WHERE student_no = ?1",
                    params![previous, student_no],
                )?;
            }
            conn.execute(
                "INSERT INTO students (student_no, name, email) VALUES (?1, ?2, ?3)
                 ON CONFLICT(student_no) DO UPDATE SET name = excluded.name, email = excluded.email",
                params![student_no, name, email],
            )?;
            let course_id = course_id(conn, course, &at)?;
            conn.execute(
                "INSERT INTO enrolments (course_id, student_id, section)
                 VALUES (?1, (SELECT id FROM students WHERE student_no = ?2), ?3)
                 ON CONFLICT(course_id, student_id) DO UPDATE SET section = excluded.section",
                params![course_id, student_no, section],
            )?;
        }
        Event::CardBound {
            uid, student_no, ..
        } => {
            conn.execute(
                "INSERT INTO cards (uid, student_id, added_at)
                 VALUES (?1, (SELECT id FROM students WHERE student_no = ?2), ?3)
                 ON CONFLICT(uid) DO UPDATE SET student_id = excluded.student_id",
                params![uid, student_no, at],
            )?;
        }
        Event::CardRemoved { uid, .. } => {
            conn.execute("DELETE FROM cards WHERE uid = ?1", params![uid])?;
        }
        Event::StudentForgotten {
            student_no,
            pseudonym,
        } => {
            // The events before it were rewritten on the device: they name
            // the pseudonym, and the cards' stand-ins, already.
            conn.execute(
                "DELETE FROM enrolments
                 WHERE student_id IN (SELECT id FROM students WHERE student_no IN (?1, ?2))",
                params![student_no, pseudonym],
            )?;
            conn.execute(
                "UPDATE students SET student_no = ?2, name = ?2, email = NULL
                 WHERE student_no IN (?1, ?2)",
                params![student_no, pseudonym],
            )?;
        }
        Event::Tap {
            tap,
            session,
            tapped_at,
            reader,
            uid,
            outcome,
            student_no,
        } => {
            conn.execute(
                "INSERT INTO taps (session_id, at, reader, uid, outcome, student_id, uuid)
                 VALUES ((SELECT id FROM sessions WHERE uuid = ?1), ?2, ?3, ?4, ?5,
                         (SELECT id FROM students WHERE student_no = ?6), ?7)",
                params![
                    session.to_string(),
                    format_time(tapped_at),
                    reader,
                    uid,
                    outcome,
                    student_no,
                    tap.to_string()
                ],
            )?;
        }
        Event::TapMoved {
            tap,
            session,
            outcome,
            student_no,
            ..
        } => {
            conn.execute(
                "UPDATE taps SET session_id = (SELECT id FROM sessions WHERE uuid = ?2),
                    outcome = ?3, student_id = (SELECT id FROM students WHERE student_no = ?4)
                 WHERE uuid = ?1",
                params![tap.to_string(), session.to_string(), outcome, student_no],
            )?;
        }
        Event::Mark {
            session,
            student_no,
            mark,
            source,
            note,
            marked_at,
            tap,
            ..
        } => match (mark, source, marked_at) {
            (Some(mark), Some(source), Some(marked_at)) => set_mark(
                conn,
                *session,
                &SheetMark {
                    student_no: student_no.clone(),
                    mark: *mark,
                    source: *source,
                    note: note.clone(),
                    marked_at: *marked_at,
                    tap: *tap,
                },
            )?,
            _ => {
                conn.execute(
                    "DELETE FROM marks
                     WHERE session_id = (SELECT id FROM sessions WHERE uuid = ?1)
                       AND student_id = (SELECT id FROM students WHERE student_no = ?2)",
                    params![session.to_string(), student_no],
                )?;
            }
        },
        // The sheet is the whole truth of the session as it ended.
        Event::SessionEnded {
            session,
            ended_at,
            marks,
        } => {
            conn.execute(
                "UPDATE sessions SET ended_at = ?2 WHERE uuid = ?1",
                params![session.to_string(), format_time(ended_at)],
            )?;
            conn.execute(
                "DELETE FROM marks WHERE session_id = (SELECT id FROM sessions WHERE uuid = ?1)",
                params![session.to_string()],
            )?;
            for line in marks {
                set_mark(conn, *session, line)?;
            }
        }
    }
    Ok(())
}

fn set_mark(conn: &Connection, session: Uuid, line: &SheetMark) -> Result<()> {
    conn.execute(
        "INSERT INTO marks (session_id, student_id, mark, source, at, note, tap_id)
         VALUES ((SELECT id FROM sessions WHERE uuid = ?1),
                 (SELECT id FROM students WHERE student_no = ?2), ?3, ?4, ?5, ?6,
                 (SELECT id FROM taps WHERE uuid = ?7))
         ON CONFLICT(session_id, student_id) DO UPDATE SET
            mark = excluded.mark, source = excluded.source, at = excluded.at,
            note = excluded.note, tap_id = excluded.tap_id",
        params![
            session.to_string(),
            line.student_no,
            line.mark.as_str(),
            line.source.as_str(),
            format_time(&line.marked_at),
            line.note,
            line.tap.map(|t| t.to_string())
        ],
    )?;
    Ok(())
}

/// The course with this name, made if new.
fn course_id(conn: &Connection, name: &str, at: &str) -> Result<i64> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT id FROM courses WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        Some(id) => Ok(id),
        None => {
            conn.execute(
                "INSERT INTO courses (name, created_at) VALUES (?1, ?2)",
                params![name, at],
            )?;
            Ok(conn.last_insert_rowid())
        }
    }
}
