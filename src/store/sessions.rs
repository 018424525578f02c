//! Class sessions and the live roster of one.

use super::marks::close_session;
use super::outbox::{queue, queue_mark, session_uuid};
use super::taps::{decide, mark_from_tap};
use super::{Result, Store, StoreError, format_time, parse_time};
use crate::domain::{
    CardUid, Course, Mark, MarkSource, RosterRow, Session, Student, TapRecord, Timestamp,
};
use crate::events::{Event, MarkCause};
use crate::rules::Policy;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// An open session older than this is not resumed: it was never ended (a
/// crash, a pulled plug) and belongs to an earlier class.
pub const RESUME_WITHIN: chrono::Duration = chrono::Duration::hours(12);

/// The note on the absences of a session closed at the next start.
const STALE_CLOSE_NOTE: &str = "not ended with x: closed at the next start";

impl Store {
    /// The course's open session if it started less than `RESUME_WITHIN`
    /// before `now`, else a new one starting at `start`. An older open session
    /// is closed at its last tap first.
    pub fn start_or_resume_session(
        &self,
        course: &Course,
        start: &Timestamp,
        now: &Timestamp,
    ) -> Result<Session> {
        self.start_or_resume_labelled(course, start, now, None)
    }

    /// The same; a new session gets `label` ("Lab 3"), a resumed one keeps
    /// its own.
    pub fn start_or_resume_labelled(
        &self,
        course: &Course,
        start: &Timestamp,
        now: &Timestamp,
        label: Option<&str>,
    ) -> Result<Session> {
        let tx = self.begin()?;
        let open = tx
            .query_row(
                "SELECT id, started_at,
                        COALESCE((SELECT max(at) FROM taps WHERE session_id = sessions.id), started_at)
                 FROM sessions
                 WHERE course_id = ?1 AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
                params![course.id],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        if let Some((id, started_at, last_activity)) = open {
            let started_at = parse_time(&started_at)?;
            if *now - started_at < RESUME_WITHIN {
                tracing::info!(session = id, course = %course.name, "session resumed");
                return Ok(Session {
                    id,
                    course: course.clone(),
                    started_at,
                    ended_at: None,
                });
            }
            // Closed as `x` would have closed it, at its last tap; the
            // absences say so (the roster may have changed since).
            close_session(
                &tx,
                id,
                course.id,
                &parse_time(&last_activity)?,
                Some(STALE_CLOSE_NOTE),
                now,
            )?;
            tracing::warn!(session = id, course = %course.name, "stale open session closed");
        }
        let session = insert_session(&tx, course, start, label, now)?;
        self.commit(tx)?;
        tracing::info!(session = session.id, course = %course.name, "session started");
        Ok(session)
    }

    /// The newest tap's id (0 before the first): taps after it are new.
    pub fn last_tap_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(max(id), 0) FROM taps", [], |r| r.get(0))?)
    }

    /// Ends the open session `old` and starts a new one, taking along the
    /// taps recorded in `old` after tap `since`: taps keep being recorded
    /// while the instructor is asked whether to continue a session found
    /// open, and if the answer is "a new one", those taps belong to it. They
    /// are decided again in the new session (a "duplicate" of a tap before
    /// the crash is a first tap now), and their marks leave `old`.
    /// Returns the new session and how many taps moved.
    pub fn restart_session(
        &self,
        old: &Session,
        policy: &Policy,
        since: i64,
        start: &Timestamp,
        label: Option<&str>,
        now: &Timestamp,
    ) -> Result<(Session, usize)> {
        let tx = self.begin()?;
        let moved: Vec<(i64, String, String, String, String)> = tx
            .prepare(
                "SELECT id, at, reader, uid, uuid FROM taps
                 WHERE session_id = ?1 AND id > ?2 ORDER BY id",
            )?
            .query_map(params![old.id, since], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let unmarked: Vec<i64> = tx
            .prepare(
                "DELETE FROM marks WHERE session_id = ?1 AND source = 'card'
                   AND tap_id IN (SELECT id FROM taps WHERE session_id = ?1 AND id > ?2)
                 RETURNING student_id",
            )?
            .query_map(params![old.id, since], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for student_id in unmarked {
            queue_mark(&tx, old.id, student_id, MarkCause::TapMoved, now)?;
        }
        let ended_at: String = tx.query_row(
            "SELECT COALESCE((SELECT max(at) FROM taps WHERE session_id = ?1 AND id <= ?2), started_at)
             FROM sessions WHERE id = ?1",
            params![old.id, since],
            |r| r.get(0),
        )?;
        // The old class ended at its last tap, as a stale session does.
        close_session(
            &tx,
            old.id,
            old.course.id,
            &parse_time(&ended_at)?,
            None,
            now,
        )?;
        let session = insert_session(&tx, &old.course, start, label, now)?;
        let from_session = session_uuid(&tx, old.id)?;
        let to_session = session_uuid(&tx, session.id)?;
        for (tap_id, at, reader, uid, tap_uuid) in &moved {
            let at = parse_time(at)?;
            let uid = CardUid::parse(uid).map_err(|e| StoreError::BadValue(e.to_string()))?;
            let (student, outcome) = decide(&tx, &session, policy, &uid, &at, Some(*tap_id))?;
            tx.execute(
                "UPDATE taps SET session_id = ?2, outcome = ?3, student_id = ?4 WHERE id = ?1",
                params![
                    tap_id,
                    session.id,
                    outcome.as_str(),
                    student.as_ref().map(|s| s.id)
                ],
            )?;
            let tap_uuid = Uuid::parse_str(tap_uuid)
                .map_err(|e| StoreError::BadValue(format!("tap UUID: {e}")))?;
            let event = Event::TapMoved {
                tap: tap_uuid,
                from_session,
                session: to_session,
                outcome: outcome.as_str().to_string(),
                student_no: student.as_ref().map(|s| s.student_no.clone()),
            };
            queue(&tx, now, event)?;
            let record = TapRecord {
                tap_id: *tap_id,
                tap_uuid,
                session_uuid: to_session,
                session_id: session.id,
                at,
                reader: reader.clone(),
                uid,
                outcome,
                student,
            };
            mark_from_tap(&tx, &record, now)?;
        }
        self.commit(tx)?;
        tracing::info!(
            old = old.id,
            session = session.id,
            moved = moved.len(),
            "session restarted"
        );
        Ok((session, moved.len()))
    }

    /// Every student on the session's course roster with their mark so far,
    /// sorted by name.
    pub fn roster(&self, session: &Session) -> Result<Vec<RosterRow>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT s.id, s.student_no, s.name, m.mark, m.source, m.at,
                    EXISTS (SELECT 1 FROM cards c WHERE c.student_id = s.id)
             FROM enrolments e
             JOIN students s ON s.id = e.student_id
             LEFT JOIN marks m ON m.student_id = s.id AND m.session_id = ?1
             WHERE e.course_id = ?2
             ORDER BY s.name COLLATE NOCASE, s.student_no",
        )?;
        let rows = statement.query_map(params![session.id, session.course.id], |row| {
            Ok((
                Student {
                    id: row.get(0)?,
                    student_no: row.get(1)?,
                    name: row.get(2)?,
                },
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, bool>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (student, mark, source, at, has_card) = row?;
            Ok(RosterRow {
                student,
                mark: mark
                    .map(|m| Mark::parse(&m).ok_or_else(|| StoreError::BadValue(m)))
                    .transpose()?,
                source: source
                    .map(|s| MarkSource::parse(&s).ok_or_else(|| StoreError::BadValue(s)))
                    .transpose()?,
                marked_at: at.as_deref().map(parse_time).transpose()?,
                has_card,
            })
        })
        .collect()
    }
}

/// A past or open session, for the sessions list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionListing {
    pub session: Session,
    pub label: Option<String>,
}

impl Store {
    /// The course's open session, if any (whatever its age).
    pub fn open_session_id(&self, course: &Course) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM sessions WHERE course_id = ?1 AND ended_at IS NULL
                 ORDER BY id DESC LIMIT 1",
                params![course.id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Names a session ("Lab 3"), or names it anew.
    pub fn set_session_label(&self, session_id: i64, label: &str, now: &Timestamp) -> Result<()> {
        self.write(|conn| {
            conn.execute(
                "UPDATE sessions SET label = ?2 WHERE id = ?1",
                params![session_id, label],
            )?;
            let event = Event::SessionLabelled {
                session: session_uuid(conn, session_id)?,
                label: label.to_string(),
            };
            queue(conn, now, event)
        })
    }

    /// The course's sessions, newest first.
    pub fn sessions_of(&self, course: &Course) -> Result<Vec<SessionListing>> {
        let mut statement = self.conn.prepare(
            "SELECT id, started_at, ended_at, label FROM sessions
             WHERE course_id = ?1 ORDER BY id DESC",
        )?;
        let rows = statement.query_map(params![course.id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (id, started_at, ended_at, label) = row?;
            Ok(SessionListing {
                session: Session {
                    id,
                    course: course.clone(),
                    started_at: parse_time(&started_at)?,
                    ended_at: ended_at.as_deref().map(parse_time).transpose()?,
                },
                label,
            })
        })
        .collect()
    }
}

/// A new session of `course`, with its UUID, and its event.
fn insert_session(
    conn: &Connection,
    course: &Course,
    start: &Timestamp,
    label: Option<&str>,
    now: &Timestamp,
) -> Result<Session> {
    let uuid = Uuid::now_v7();
    conn.execute(
        "INSERT INTO sessions (course_id, started_at, label, uuid) VALUES (?1, ?2, ?3, ?4)",
        params![course.id, format_time(start), label, uuid.to_string()],
    )?;
    let session = Session {
        id: conn.last_insert_rowid(),
        course: course.clone(),
        started_at: *start,
        ended_at: None,
    };
    let event = Event::SessionStarted {
        session: uuid,
        course: course.name.clone(),
        planned_start: *start,
        label: label.map(str::to_string),
    };
    queue(conn, now, event)?;
    Ok(session)
}
