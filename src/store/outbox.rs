//! The outbox: typed events (`crate::events`) waiting for the server push,
//! each written in the transaction that makes the change it tells of, so
//! that nothing recorded is ever missing from the queue. This is the only
//! place an event is written.

use super::{Result, Store, StoreError, parse_time};
use crate::domain::{Mark, MarkSource, Timestamp, rfc3339};
use crate::events::{Envelope, Event, MarkCause, SCHEMA_VERSION, SheetMark};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// Queues `event`, made at `at`, as the device's next event, in the
/// caller's (IMMEDIATE) transaction. SQLite numbers it (`AUTOINCREMENT`):
/// the row holds the event's own fields; the envelope (sequence, id, time,
/// device) is in its columns and the device table.
pub(super) fn queue(conn: &Connection, at: &Timestamp, event: Event) -> Result<()> {
    let json =
        serde_json::to_string(&event).map_err(|e| StoreError::BadValue(format!("event: {e}")))?;
    conn.prepare_cached("INSERT INTO outbox (event_id, kind, at, event) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            Uuid::now_v7().to_string(),
            event.kind(),
            rfc3339(at),
            json
        ])?;
    Ok(())
}

/// Queues a student's mark in a session as it is now (after the change).
pub(super) fn queue_mark(
    conn: &Connection,
    session_id: i64,
    student_id: i64,
    cause: MarkCause,
    at: &Timestamp,
) -> Result<()> {
    let now = mark_of(conn, session_id, student_id)?;
    let event = Event::Mark {
        session: session_uuid(conn, session_id)?,
        student_no: student_no(conn, student_id)?,
        mark: now.as_ref().map(|m| m.mark),
        source: now.as_ref().map(|m| m.source),
        note: now.as_ref().and_then(|m| m.note.clone()),
        marked_at: now.as_ref().map(|m| m.marked_at),
        tap: now.as_ref().and_then(|m| m.tap),
        cause,
    };
    queue(conn, at, event)
}

/// The marks of a session, by student number: its mark sheet.
pub(super) fn marks(conn: &Connection, session_id: i64) -> Result<Vec<SheetMark>> {
    let mut statement = conn.prepare_cached(
        "SELECT s.student_no, m.mark, m.source, m.note, m.at, t.uuid FROM marks m
         JOIN students s ON s.id = m.student_id
         LEFT JOIN taps t ON t.id = m.tap_id
         WHERE m.session_id = ?1
         ORDER BY s.student_no",
    )?;
    let rows = statement.query_map(params![session_id], mark_row)?;
    rows.map(|row| sheet_mark(row?)).collect()
}

/// One student's mark in a session, if any (by the marks table's key: a
/// tap reads it, so it must not grow with the class).
fn mark_of(conn: &Connection, session_id: i64, student_id: i64) -> Result<Option<SheetMark>> {
    let row = conn
        .prepare_cached(
            "SELECT s.student_no, m.mark, m.source, m.note, m.at, t.uuid FROM marks m
             JOIN students s ON s.id = m.student_id
             LEFT JOIN taps t ON t.id = m.tap_id
             WHERE m.session_id = ?1 AND m.student_id = ?2",
        )?
        .query_row(params![session_id, student_id], mark_row)
        .optional()?;
    row.map(sheet_mark).transpose()
}

/// A mark row as stored: number, mark, source, note, time, tap UUID.
type MarkRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn mark_row(r: &rusqlite::Row) -> rusqlite::Result<MarkRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn sheet_mark((student_no, mark, source, note, at, tap): MarkRow) -> Result<SheetMark> {
    Ok(SheetMark {
        student_no,
        mark: parse_mark(&mark)?,
        source: parse_source(&source)?,
        note,
        marked_at: parse_time(&at)?,
        tap: tap.as_deref().map(uuid).transpose()?,
    })
}

/// Queues a student as they are now, enrolled in `course_id`.
pub(super) fn queue_student(
    conn: &Connection,
    student_id: i64,
    course_id: i64,
    previous_student_no: Option<String>,
    at: &Timestamp,
) -> Result<()> {
    let event = conn
        .prepare_cached(
            "SELECT s.student_no, s.name, s.email, c.name, e.section
             FROM students s, courses c
             LEFT JOIN enrolments e ON e.student_id = s.id AND e.course_id = c.id
             WHERE s.id = ?1 AND c.id = ?2",
        )?
        .query_row(params![student_id, course_id], |r| {
            Ok(Event::StudentSaved {
                student_no: r.get(0)?,
                previous_student_no,
                name: r.get(1)?,
                email: r.get(2)?,
                course: r.get(3)?,
                section: r.get(4)?,
            })
        })?;
    queue(conn, at, event)
}

/// Queues what a database made before events holds, as events: students
/// and their courses, cards, sessions with their taps, and the marks (the
/// whole sheet of an ended session). Run once, by the upgrade that starts
/// the event log, so that a receiver knows every session, student and card
/// the events after it name. `now`: the upgrade's time.
pub(super) fn queue_baseline(conn: &Connection, now: &Timestamp) -> Result<()> {
    let pairs = |sql: &str| -> Result<Vec<(i64, i64)>> {
        let mut statement = conn.prepare(sql)?;
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    for (course_id, student_id) in
        pairs("SELECT course_id, student_id FROM enrolments ORDER BY course_id, student_id")?
    {
        queue_student(conn, student_id, course_id, None, now)?;
    }
    let cards: Vec<(String, String)> = conn
        .prepare(
            "SELECT c.uid, s.student_no FROM cards c JOIN students s ON s.id = c.student_id
             ORDER BY c.uid",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (uid, student_no) in cards {
        let event = Event::CardBound {
            uid,
            student_no,
            from_student_no: None,
        };
        queue(conn, now, event)?;
    }
    let sessions: Vec<SessionRow> = conn
        .prepare(
            "SELECT s.id, c.name, s.started_at, s.label, s.ended_at
             FROM sessions s JOIN courses c ON c.id = s.course_id ORDER BY s.id",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (session_id, course, started_at, label, ended_at) in sessions {
        let session = session_uuid(conn, session_id)?;
        let event = Event::SessionStarted {
            session,
            course,
            planned_start: parse_time(&started_at)?,
            label,
        };
        queue(conn, now, event)?;
        queue_taps(conn, session_id, session, now)?;
        match ended_at {
            Some(ended_at) => {
                let event = Event::SessionEnded {
                    session,
                    ended_at: parse_time(&ended_at)?,
                    marks: marks(conn, session_id)?,
                };
                queue(conn, now, event)?;
            }
            None => {
                for (_, student_id) in pairs(&format!(
                    "SELECT session_id, student_id FROM marks WHERE session_id = {session_id}"
                ))? {
                    queue_mark(conn, session_id, student_id, MarkCause::Upgrade, now)?;
                }
            }
        }
    }
    Ok(())
}

/// A stored session: id, course, start, label, end.
type SessionRow = (i64, String, String, Option<String>, Option<String>);

/// A stored tap: UUID, time, reader, UID, outcome, holder's number.
type TapRow = (String, String, String, String, String, Option<String>);

/// Queues every stored tap of a session (for the baseline).
fn queue_taps(conn: &Connection, session_id: i64, session: Uuid, now: &Timestamp) -> Result<()> {
    let taps: Vec<TapRow> = conn
        .prepare(
            "SELECT t.uuid, t.at, t.reader, t.uid, t.outcome, s.student_no FROM taps t
             LEFT JOIN students s ON s.id = t.student_id
             WHERE t.session_id = ?1 ORDER BY t.id",
        )?
        .query_map(params![session_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (tap, at, reader, uid, outcome, student_no) in taps {
        let event = Event::Tap {
            tap: self::uuid(&tap)?,
            session,
            tapped_at: parse_time(&at)?,
            reader,
            uid,
            outcome,
            student_no,
        };
        queue(conn, now, event)?;
    }
    Ok(())
}

/// A session's global identity.
pub(super) fn session_uuid(conn: &Connection, session_id: i64) -> Result<Uuid> {
    let text: String = conn
        .prepare_cached("SELECT uuid FROM sessions WHERE id = ?1")?
        .query_row(params![session_id], |r| r.get(0))?;
    uuid(&text)
}

/// A student's global identity.
pub(super) fn student_no(conn: &Connection, student_id: i64) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT student_no FROM students WHERE id = ?1")?
        .query_row(params![student_id], |r| r.get(0))?)
}

pub(super) fn parse_mark(text: &str) -> Result<Mark> {
    Mark::parse(text).ok_or_else(|| StoreError::BadValue(format!("mark `{text}`")))
}

pub(super) fn parse_source(text: &str) -> Result<MarkSource> {
    MarkSource::parse(text).ok_or_else(|| StoreError::BadValue(format!("mark source `{text}`")))
}

fn uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::BadValue(format!("UUID `{text}`: {e}")))
}

impl Store {
    /// Every event in the outbox, in sequence order (sent or not).
    pub fn outbox_events(&self) -> Result<Vec<Envelope>> {
        let device_id = self.device_id()?;
        let mut statement = self
            .conn
            .prepare("SELECT seq, event_id, at, event FROM outbox ORDER BY seq")?;
        let rows = statement.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, event_id, at, json) = row?;
            Ok(Envelope {
                schema_version: SCHEMA_VERSION,
                event_id: uuid(&event_id)?,
                device_id,
                seq,
                at: parse_time(&at)?,
                event: serde_json::from_str(&json)
                    .map_err(|e| StoreError::BadValue(format!("event {seq}: {e}")))?,
            })
        })
        .collect()
    }

    /// This device's id, generated once when the database was made.
    pub fn device_id(&self) -> Result<Uuid> {
        let text: String = self
            .conn
            .query_row("SELECT id FROM device", [], |r| r.get(0))?;
        uuid(&text)
    }

    /// A session's global identity.
    pub fn session_uuid(&self, session_id: i64) -> Result<Uuid> {
        session_uuid(&self.conn, session_id)
    }
}
