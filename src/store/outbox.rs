//! The outbox: typed events (`crate::events`) waiting for the server push,
//! each written in the transaction that makes the change it tells of, so
//! that nothing recorded is ever missing from the queue. This is the only
//! place an event is written.

use super::{Result, Store, StoreError};
use crate::domain::{Mark, MarkSource, Timestamp, rfc3339};
use crate::events::{Envelope, Event, MarkCause, SCHEMA_VERSION};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// Queues `event`, made at `at`, as the device's next event. In the
/// caller's (IMMEDIATE) transaction, which makes the sequence safe.
pub(super) fn queue(conn: &Connection, at: &Timestamp, event: Event) -> Result<()> {
    let device_id: String = conn
        .prepare_cached("SELECT id FROM device")?
        .query_row([], |r| r.get(0))?;
    let seq: i64 = conn
        .prepare_cached(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0) + 1",
        )?
        .query_row([], |r| r.get(0))?;
    let envelope = Envelope {
        schema_version: SCHEMA_VERSION,
        event_id: Uuid::now_v7(),
        device_id: uuid(&device_id)?,
        seq,
        at: *at,
        event,
    };
    let json = serde_json::to_string(&envelope)
        .map_err(|e| StoreError::BadValue(format!("event: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO outbox (seq, event_id, kind, at, event) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        seq,
        envelope.event_id.to_string(),
        envelope.event.kind(),
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
    let row: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT mark, source, note FROM marks WHERE session_id = ?1 AND student_id = ?2",
        )?
        .query_row(params![session_id, student_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (mark, source, note) = match row {
        Some((mark, source, note)) => {
            (Some(parse_mark(&mark)?), Some(parse_source(&source)?), note)
        }
        None => (None, None, None),
    };
    let event = Event::Mark {
        session: session_uuid(conn, session_id)?,
        student_no: student_no(conn, student_id)?,
        mark,
        source,
        note,
        cause,
    };
    queue(conn, at, event)
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

/// Queues a card given to a student, from `from` if someone had it.
pub(super) fn queue_card_bound(
    conn: &Connection,
    uid: &str,
    student_id: i64,
    from: Option<i64>,
    at: &Timestamp,
) -> Result<()> {
    let event = Event::CardBound {
        uid: uid.to_string(),
        student_no: student_no(conn, student_id)?,
        from_student_no: from.map(|id| student_no(conn, id)).transpose()?,
    };
    queue(conn, at, event)
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
        let mut statement = self.conn.prepare("SELECT event FROM outbox ORDER BY seq")?;
        let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|json| {
            let json = json?;
            serde_json::from_str(&json).map_err(|e| StoreError::BadValue(format!("event: {e}")))
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
