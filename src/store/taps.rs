//! Recording a tap: facts, decision and writes in one transaction.

use super::outbox::{queue, queue_mark, session_uuid};
use super::{Result, Store, format_time, parse_time};
use crate::domain::{CardUid, Mark, Outcome, Session, Student, TapRecord, Timestamp};
use crate::events::{Event, MarkCause};
use crate::rules::{self, Holder, Policy, TapFacts};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

impl Store {
    /// Decides what the tap means and commits the raw tap, the student's mark
    /// and an outbox event together. Only a returned `Ok` may be shown as
    /// recorded.
    pub fn record_tap(
        &mut self,
        session: &Session,
        policy: &Policy,
        reader: &str,
        uid: &CardUid,
        at: &Timestamp,
    ) -> Result<TapRecord> {
        // IMMEDIATE: take the write lock before reading the facts we decide on.
        let tx = self.begin()?;
        let (student, outcome) = decide(&tx, session, policy, uid, at, None)?;
        let tap_uuid = Uuid::now_v7();
        tx.prepare_cached(
            "INSERT INTO taps (session_id, at, reader, uid, outcome, student_id, uuid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            session.id,
            format_time(at),
            reader,
            uid.as_hex(),
            outcome.as_str(),
            student.as_ref().map(|s| s.id),
            tap_uuid.to_string()
        ])?;
        let record = TapRecord {
            tap_id: tx.last_insert_rowid(),
            tap_uuid,
            session_uuid: session_uuid(&tx, session.id)?,
            session_id: session.id,
            at: *at,
            reader: reader.to_string(),
            uid: uid.clone(),
            outcome,
            student,
        };
        let event = Event::Tap {
            tap: tap_uuid,
            session: record.session_uuid,
            tapped_at: *at,
            reader: record.reader.clone(),
            uid: uid.as_hex().to_string(),
            outcome: outcome.as_str().to_string(),
            student_no: record.student.as_ref().map(|s| s.student_no.clone()),
        };
        queue(&tx, at, event)?;
        mark_from_tap(&tx, &record, at)?;
        self.commit(tx)?;
        Ok(record)
    }

    /// Taps of a session in order, as (tap id, uid, outcome); for audits and tests.
    pub fn session_taps(&self, session_id: i64) -> Result<Vec<(i64, String, String)>> {
        let mut statement = self
            .conn
            .prepare("SELECT id, uid, outcome FROM taps WHERE session_id = ?1 ORDER BY id")?;
        let rows = statement
            .query_map(params![session_id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// What a tap of `uid` at `at` means in `session`, and whose card it is.
/// `before`: decide an already stored tap again, as if the taps from it on
/// were not there yet.
pub(super) fn decide(
    tx: &Transaction,
    session: &Session,
    policy: &Policy,
    uid: &CardUid,
    at: &Timestamp,
    before: Option<i64>,
) -> Result<(Option<Student>, Outcome)> {
    let card_last_tapped = last_tap_of_card(tx, uid, before)?;
    let (student, holder) = card_holder(tx, uid, session)?;
    let outcome = rules::decide(
        policy,
        &TapFacts {
            at: *at,
            session_start: session.started_at,
            card_last_tapped,
            holder,
            random_uid: uid.is_random_id(),
        },
    );
    Ok((student, outcome))
}

/// The student's mark from a stored tap (if the tap gives one), and its
/// event.
/// `now`: when this is done (the tap's time, or later for a moved tap).
pub(super) fn mark_from_tap(tx: &Transaction, record: &TapRecord, now: &Timestamp) -> Result<()> {
    let (Some(mark), Some(student)) = (record.outcome.mark(), &record.student) else {
        return Ok(());
    };
    let changed = write_card_mark(
        tx,
        record.session_id,
        student.id,
        mark,
        &format_time(&record.at),
        record.tap_id,
    )?;
    if changed {
        queue_mark(tx, record.session_id, student.id, MarkCause::Tap, now)?;
    }
    Ok(())
}

/// Gives the student `mark` from tap `tap_id`, unless they have a mark
/// already. A student marked absent when the session ended who taps after
/// all is counted: the tap replaces that automatic mark. Whether it changed.
pub(super) fn write_card_mark(
    conn: &Connection,
    session_id: i64,
    student_id: i64,
    mark: Mark,
    at: &str,
    tap_id: i64,
) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO marks (session_id, student_id, mark, source, at, tap_id)
             VALUES (?1, ?2, ?3, 'card', ?4, ?5)
             ON CONFLICT(session_id, student_id) DO UPDATE SET
                mark = excluded.mark, source = 'card', at = excluded.at,
                tap_id = excluded.tap_id, note = NULL
             WHERE marks.source = 'auto'",
        )?
        .execute(params![session_id, student_id, mark.as_str(), at, tap_id])?;
    Ok(changed > 0)
}

fn last_tap_of_card(
    tx: &Transaction,
    uid: &CardUid,
    before: Option<i64>,
) -> Result<Option<Timestamp>> {
    let at: Option<String> = tx
        .prepare_cached("SELECT at FROM taps WHERE uid = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1")?
        .query_row(params![uid.as_hex(), before.unwrap_or(i64::MAX)], |row| {
            row.get(0)
        })
        .optional()?;
    at.as_deref().map(parse_time).transpose()
}

fn card_holder(
    tx: &Transaction,
    uid: &CardUid,
    session: &Session,
) -> Result<(Option<Student>, Holder)> {
    let found = tx
        .prepare_cached(
            "SELECT s.id, s.student_no, s.name,
                    EXISTS (SELECT 1 FROM enrolments e WHERE e.student_id = s.id AND e.course_id = ?2),
                    (SELECT m.at FROM marks m WHERE m.student_id = s.id AND m.session_id = ?3
                        AND m.source != 'auto')
             FROM cards c JOIN students s ON s.id = c.student_id
             WHERE c.uid = ?1",
        )?
        .query_row(
            params![uid.as_hex(), session.course.id, session.id],
            |row| {
                Ok((
                    Student {
                        id: row.get(0)?,
                        student_no: row.get(1)?,
                        name: row.get(2)?,
                    },
                    row.get::<_, bool>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((student, enrolled, marked_at)) = found else {
        return Ok((None, Holder::Nobody));
    };
    let holder = if enrolled {
        Holder::Enrolled {
            marked_at: marked_at.as_deref().map(parse_time).transpose()?,
        }
    } else {
        Holder::NotEnrolled
    };
    Ok((Some(student), holder))
}
