//! Marks changed by hand, claimed from an earlier tap, undone, or set at the
//! end of a session; each change by hand is kept in `mark_changes`.

use super::outbox::{marks, queue, queue_mark, session_uuid, student_no};
use super::roster::give_card;
use super::taps::write_card_mark;
use super::{Result, Store, StoreError, format_time, parse_time};
use crate::domain::{CardUid, Mark, Session, Student, Timestamp};
use crate::events::{Event, MarkCause};
use crate::rules::{self, Policy};
use rusqlite::{Connection, OptionalExtension, params};

/// A tap of a card nobody holds, waiting to be bound to a student.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnclaimedTap {
    pub tap_id: i64,
    pub uid: CardUid,
    pub at: Timestamp,
    pub reader: String,
}

/// What binding a tap's card did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Claim {
    /// Bound; the student got this mark from the tap (`None`: already marked).
    Bound { mark: Option<Mark> },
    /// The card belongs to someone else: ask before moving it.
    CardTaken { holder: Student },
}

/// An undone change: whose mark, and the mark it is back to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Undone {
    pub student: Student,
    pub restored: Option<Mark>,
}

/// The mark row as it is before a change.
struct Before {
    mark: Option<String>,
    source: Option<String>,
    at: Option<String>,
    tap_id: Option<i64>,
    note: Option<String>,
}

fn mark_row(conn: &Connection, session_id: i64, student_id: i64) -> Result<Before> {
    let row = conn
        .query_row(
            "SELECT mark, source, at, tap_id, note FROM marks
             WHERE session_id = ?1 AND student_id = ?2",
            params![session_id, student_id],
            |r| {
                Ok(Before {
                    mark: r.get(0)?,
                    source: r.get(1)?,
                    at: r.get(2)?,
                    tap_id: r.get(3)?,
                    note: r.get(4)?,
                })
            },
        )
        .optional()?;
    Ok(row.unwrap_or(Before {
        mark: None,
        source: None,
        at: None,
        tap_id: None,
        note: None,
    }))
}

/// Records a change, made already, in the audit trail and the outbox.
#[allow(clippy::too_many_arguments)] // one row of the audit table
fn log_change(
    conn: &Connection,
    session: &Session,
    student_id: i64,
    cause: MarkCause,
    mark: Option<Mark>,
    note: Option<&str>,
    before: &Before,
    at: &Timestamp,
) -> Result<()> {
    // The audit trail's names: undo walks back 'manual' and 'bind'.
    let source = match cause {
        MarkCause::Manual => "manual",
        MarkCause::Undo => "undo",
        _ => "bind",
    };
    conn.execute(
        "INSERT INTO mark_changes (session_id, student_id, changed_at, source, mark, note,
             before_mark, before_source, before_at, before_tap_id, before_note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            session.id,
            student_id,
            format_time(at),
            source,
            mark.map(Mark::as_str),
            note,
            before.mark,
            before.source,
            before.at,
            before.tap_id,
            before.note
        ],
    )?;
    queue_mark(conn, session.id, student_id, cause, at)
}

fn student(conn: &Connection, student_id: i64) -> Result<Student> {
    Ok(conn.query_row(
        "SELECT id, student_no, name FROM students WHERE id = ?1",
        params![student_id],
        |r| {
            Ok(Student {
                id: r.get(0)?,
                student_no: r.get(1)?,
                name: r.get(2)?,
            })
        },
    )?)
}

impl Store {
    /// Sets a student's mark by hand, with an optional note.
    pub fn set_manual_mark(
        &self,
        session: &Session,
        student_id: i64,
        mark: Mark,
        note: Option<&str>,
        at: &Timestamp,
    ) -> Result<()> {
        let tx = self.begin()?;
        let before = mark_row(&tx, session.id, student_id)?;
        tx.execute(
            "INSERT INTO marks (session_id, student_id, mark, source, at, tap_id, note)
             VALUES (?1, ?2, ?3, 'manual', ?4, NULL, ?5)
             ON CONFLICT(session_id, student_id) DO UPDATE SET
                mark = excluded.mark, source = 'manual', at = excluded.at,
                tap_id = NULL, note = excluded.note",
            params![session.id, student_id, mark.as_str(), format_time(at), note],
        )?;
        log_change(
            &tx,
            session,
            student_id,
            MarkCause::Manual,
            Some(mark),
            note,
            &before,
            at,
        )?;
        self.commit(tx)?;
        Ok(())
    }

    /// Undoes the latest change made by hand or by claiming a tap in this
    /// session. `None` when there is nothing left to undo.
    pub fn undo_last_change(&self, session: &Session, at: &Timestamp) -> Result<Option<Undone>> {
        let tx = self.begin()?;
        let last = tx
            .query_row(
                "SELECT id, student_id, before_mark, before_source, before_at, before_tap_id, before_note,
                        card_uid, before_card_owner
                 FROM mark_changes
                 WHERE session_id = ?1 AND undone = 0 AND source IN ('manual', 'bind')
                 ORDER BY id DESC LIMIT 1",
                params![session.id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        Before {
                            mark: r.get(2)?,
                            source: r.get(3)?,
                            at: r.get(4)?,
                            tap_id: r.get(5)?,
                            note: r.get(6)?,
                        },
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((change_id, student_id, mut restore, card_uid, card_owner)) = last else {
            return Ok(None);
        };
        // A claim bound a card: give it back to its owner before (or nobody).
        if let Some(uid) = &card_uid {
            let claimed_by = student_no(&tx, student_id)?;
            let event = match card_owner {
                Some(owner) => {
                    tx.execute(
                        "UPDATE cards SET student_id = ?2 WHERE uid = ?1",
                        params![uid, owner],
                    )?;
                    Event::CardBound {
                        uid: uid.clone(),
                        student_no: student_no(&tx, owner)?,
                        from_student_no: Some(claimed_by),
                    }
                }
                None => {
                    tx.execute("DELETE FROM cards WHERE uid = ?1", params![uid])?;
                    Event::CardRemoved {
                        uid: uid.clone(),
                        student_no: claimed_by,
                    }
                }
            };
            queue(&tx, at, event)?;
        }
        // In an ended session "no mark" means absent, as ending made it.
        let ended: Option<String> = tx.query_row(
            "SELECT ended_at FROM sessions WHERE id = ?1",
            params![session.id],
            |r| r.get(0),
        )?;
        if restore.mark.is_none() && ended.is_some() {
            restore = Before {
                mark: Some("absent".into()),
                source: Some("auto".into()),
                at: ended,
                tap_id: None,
                note: None,
            };
        }
        let current = mark_row(&tx, session.id, student_id)?;
        match (&restore.mark, &restore.source, &restore.at) {
            (Some(mark), Some(source), Some(mark_at)) => tx.execute(
                "INSERT INTO marks (session_id, student_id, mark, source, at, tap_id, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(session_id, student_id) DO UPDATE SET
                    mark = excluded.mark, source = excluded.source, at = excluded.at,
                    tap_id = excluded.tap_id, note = excluded.note",
                params![
                    session.id,
                    student_id,
                    mark,
                    source,
                    mark_at,
                    restore.tap_id,
                    restore.note
                ],
            )?,
            _ => tx.execute(
                "DELETE FROM marks WHERE session_id = ?1 AND student_id = ?2",
                params![session.id, student_id],
            )?,
        };
        tx.execute(
            "UPDATE mark_changes SET undone = 1 WHERE id = ?1",
            params![change_id],
        )?;
        let restored = restore
            .mark
            .as_deref()
            .map(|m| Mark::parse(m).ok_or_else(|| StoreError::BadValue(m.to_string())))
            .transpose()?;
        log_change(
            &tx,
            session,
            student_id,
            MarkCause::Undo,
            restored,
            restore.note.as_deref(),
            &current,
            at,
        )?;
        let student = student(&tx, student_id)?;
        self.commit(tx)?;
        Ok(Some(Undone { student, restored }))
    }

    /// Taps of this session from cards nobody holds yet, newest first.
    pub fn unclaimed_taps(&self, session: &Session) -> Result<Vec<UnclaimedTap>> {
        let mut statement = self.conn.prepare(
            "SELECT t.id, t.uid, t.at, t.reader FROM taps t
             WHERE t.session_id = ?1 AND t.outcome = 'unknown'
               AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.uid = t.uid)
               AND t.id = (SELECT max(t2.id) FROM taps t2
                           WHERE t2.session_id = t.session_id AND t2.uid = t.uid
                             AND t2.outcome = 'unknown')
             ORDER BY t.id DESC",
        )?;
        let rows = statement.query_map(params![session.id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
            ))
        })?;
        rows.map(|row| {
            let (tap_id, uid, at, reader) = row?;
            Ok(UnclaimedTap {
                tap_id,
                uid: CardUid::parse(&uid).map_err(|e| StoreError::BadValue(e.to_string()))?,
                at: parse_time(&at)?,
                reader,
            })
        })
        .collect()
    }

    /// Students on the course's roster who have no card yet, by name.
    pub fn students_without_card(&self, course_id: i64) -> Result<Vec<Student>> {
        let mut statement = self.conn.prepare(
            "SELECT s.id, s.student_no, s.name FROM enrolments e
             JOIN students s ON s.id = e.student_id
             WHERE e.course_id = ?1
               AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.student_id = s.id)
             ORDER BY s.name COLLATE NOCASE",
        )?;
        let rows = statement.query_map(params![course_id], |r| {
            Ok(Student {
                id: r.get(0)?,
                student_no: r.get(1)?,
                name: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Binds the card of an earlier tap to a student and, if the student has
    /// no mark yet, gives them the mark that tap would have given. A card that
    /// belongs to someone else is only moved with `move_card`.
    pub fn claim_tap(
        &self,
        session: &Session,
        policy: &Policy,
        tap_id: i64,
        student_id: i64,
        move_card: bool,
        at: &Timestamp,
    ) -> Result<Claim> {
        let tx = self.begin()?;
        let (uid, chosen_at): (String, String) = tx.query_row(
            "SELECT uid, at FROM taps WHERE id = ?1 AND session_id = ?2",
            params![tap_id, session.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // An unknown card's student arrived at its first tap in this session,
        // not at the tap picked from the list. A card taken from someone else
        // says nothing about earlier taps (they were its holder's): only the
        // chosen tap counts.
        let (first_tap, tapped_at): (i64, String) = if move_card {
            (tap_id, chosen_at)
        } else {
            tx.query_row(
                "SELECT id, at FROM taps WHERE session_id = ?1 AND uid = ?2
                 ORDER BY (outcome = 'unknown') DESC, id LIMIT 1",
                params![session.id, uid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        };
        let holder: Option<i64> = tx
            .query_row(
                "SELECT student_id FROM cards WHERE uid = ?1",
                params![uid],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(holder) = holder.filter(|h| *h != student_id)
            && !move_card
        {
            return Ok(Claim::CardTaken {
                holder: student(&tx, holder)?,
            });
        }
        // The chosen tap marked the card's old holder: that mark was not
        // theirs. Taken away, logged, and undoable.
        if let Some(old_holder) = holder.filter(|h| *h != student_id) {
            let theirs = mark_row(&tx, session.id, old_holder)?;
            if theirs.tap_id == Some(tap_id) && theirs.source.as_deref() == Some("card") {
                tx.execute(
                    "DELETE FROM marks WHERE session_id = ?1 AND student_id = ?2",
                    params![session.id, old_holder],
                )?;
                log_change(
                    &tx,
                    session,
                    old_holder,
                    MarkCause::Claim,
                    None,
                    None,
                    &theirs,
                    at,
                )?;
            }
        }
        give_card(&tx, &uid, student_id, at)?;
        let before = mark_row(&tx, session.id, student_id)?;
        // An automatic absent (the session has ended) is not a mark to keep.
        let counted = before.mark.is_some() && before.source.as_deref() != Some("auto");
        let mark = if counted {
            None
        } else {
            let mark = rules::first_tap_mark(policy, &session.started_at, &parse_time(&tapped_at)?);
            write_card_mark(&tx, session.id, student_id, mark, &tapped_at, first_tap)?;
            Some(mark)
        };
        // Logged even when the mark stays: undo must give the card back too.
        let after = match mark {
            Some(mark) => Some(mark),
            None => before.mark.as_deref().and_then(Mark::parse),
        };
        log_change(
            &tx,
            session,
            student_id,
            MarkCause::Claim,
            after,
            None,
            &before,
            at,
        )?;
        tx.execute(
            "UPDATE mark_changes SET card_uid = ?1, before_card_owner = ?2
             WHERE id = (SELECT max(id) FROM mark_changes)",
            params![uid, holder],
        )?;
        self.commit(tx)?;
        tracing::info!(
            tap = tap_id,
            student = student_id,
            ?mark,
            "card bound from a tap"
        );
        Ok(Claim::Bound { mark })
    }

    /// Ends the session: every student without a mark is marked absent.
    pub fn end_session(&self, session: &Session, at: &Timestamp) -> Result<()> {
        let tx = self.begin()?;
        close_session(&tx, session.id, session.course.id, at, None, at)?;
        self.commit(tx)?;
        tracing::info!(session = session.id, "session ended");
        Ok(())
    }
}

/// Ends a session the one way there is, whoever ends it (`x`, the admin
/// card, a new session, a stale session closed at the next start): every
/// enrolled student without a mark is marked absent ('auto'), the session
/// gets its end (`ended_at`), and the end is queued for the server with its
/// mark sheet. `note` goes on the absences, to say how they came; `now` is
/// when this is done. Nothing happens to a session ended already. In the
/// caller's transaction.
pub(super) fn close_session(
    conn: &Connection,
    session_id: i64,
    course_id: i64,
    ended_at: &Timestamp,
    note: Option<&str>,
    now: &Timestamp,
) -> Result<()> {
    let ended = conn.execute(
        "UPDATE sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
        params![session_id, format_time(ended_at)],
    )?;
    if ended == 0 {
        return Ok(());
    }
    let absent: Vec<i64> = conn
        .prepare(
            "INSERT INTO marks (session_id, student_id, mark, source, at, note)
             SELECT ?1, e.student_id, 'absent', 'auto', ?3, ?4 FROM enrolments e
             WHERE e.course_id = ?2
               AND NOT EXISTS (SELECT 1 FROM marks m
                               WHERE m.session_id = ?1 AND m.student_id = e.student_id)
             RETURNING student_id",
        )?
        .query_map(
            params![session_id, course_id, format_time(ended_at), note],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    for student_id in absent {
        queue_mark(conn, session_id, student_id, MarkCause::Auto, now)?;
    }
    let event = Event::SessionEnded {
        session: session_uuid(conn, session_id)?,
        ended_at: *ended_at,
        marks: marks(conn, session_id)?,
    };
    queue(conn, now, event)
}
