//! The outbox: typed events (`crate::events`) waiting for the server push,
//! each written in the transaction that makes the change it tells of, so
//! that nothing recorded is ever missing from the queue. This is the only
//! place an event is written.

use super::{Result, Store, StoreError, parse_time};
use crate::domain::{Mark, MarkSource, Timestamp, rfc3339};
use crate::events::{Envelope, Event, MarkCause, SCHEMA_VERSION, SheetMark};
use rusqlite::{Connection, params};
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
    let now = marks(conn, session_id, Some(student_id))?.pop();
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

/// The marks of a session (or of one student in it), by student number.
pub(super) fn marks(
    conn: &Connection,
    session_id: i64,
    student_id: Option<i64>,
) -> Result<Vec<SheetMark>> {
    let mut statement = conn.prepare_cached(
        "SELECT s.student_no, m.mark, m.source, m.note, m.at, t.uuid FROM marks m
         JOIN students s ON s.id = m.student_id
         LEFT JOIN taps t ON t.id = m.tap_id
         WHERE m.session_id = ?1 AND (?2 IS NULL OR m.student_id = ?2)
         ORDER BY s.student_no",
    )?;
    let rows = statement.query_map(params![session_id, student_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (student_no, mark, source, note, at, tap) = row?;
        Ok(SheetMark {
            student_no,
            mark: parse_mark(&mark)?,
            source: parse_source(&source)?,
            note,
            marked_at: parse_time(&at)?,
            tap: tap.as_deref().map(uuid).transpose()?,
        })
    })
    .collect()
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
    let cards: Vec<(String, i64)> = conn
        .prepare("SELECT uid, student_id FROM cards ORDER BY uid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (uid, student_id) in cards {
        queue_card_bound(conn, &uid, student_id, None, now)?;
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
                    marks: marks(conn, session_id, None)?,
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
