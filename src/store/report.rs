//! What reports read: one session's marks, first taps and unknown cards, as
//! stored. The arithmetic and the time zone are the report module's.

use super::{Result, Store, StoreError, parse_time};
use crate::domain::{CardUid, Course, Mark, MarkSource, Session, Timestamp};
use rusqlite::{OptionalExtension, Row, params};

/// One student of a session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    pub student_no: String,
    pub name: String,
    pub section: Option<String>,
    /// `None`: the session is open and the student has not been marked yet.
    pub mark: Option<Mark>,
    pub source: Option<MarkSource>,
    pub note: Option<String>,
    /// The student's first tap in the session, by their card (also one
    /// claimed later from the unclaimed taps).
    pub first_tap: Option<Timestamp>,
}

/// A tap of a card that nobody held at the time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTap {
    pub at: Timestamp,
    pub uid: CardUid,
    pub reader: String,
    /// The card is a random ID (a phone): it can never be claimed.
    pub random_id: bool,
    /// Who holds the card now, if it was claimed since: student no and name.
    pub claimed_by: Option<(String, String)>,
}

/// Everything a report needs of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionData {
    pub session: Session,
    pub label: Option<String>,
    /// Students with a mark in this session and, while it is open, the
    /// enrolled ones not marked yet; sorted by name.
    pub rows: Vec<ReportRow>,
    pub unknown_taps: Vec<UnknownTap>,
    /// Taps of students already counted.
    pub duplicates: usize,
    /// The same card again within the debounce window.
    pub repeats: usize,
    /// The session's raw taps were deleted (retention): when, and the
    /// counts of unknown cards they gave.
    pub purged: Option<PurgedTaps>,
}

/// What a session's raw taps gave reports, kept when they were deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgedTaps {
    pub at: Timestamp,
    pub unknown_cards: usize,
    pub unclaimed_cards: usize,
}

impl Store {
    /// The most recently started session of any course, open or ended.
    pub fn last_session(&self) -> Result<Option<(Session, Option<String>)>> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT max(id) FROM sessions", [], |r| r.get(0))?;
        match id {
            Some(id) => self.session_by_id(id),
            None => Ok(None),
        }
    }

    pub fn session_by_id(&self, id: i64) -> Result<Option<(Session, Option<String>)>> {
        let row = self
            .conn
            .query_row(
                "SELECT s.id, s.started_at, s.ended_at, s.label, c.id, c.name
                 FROM sessions s JOIN courses c ON c.id = s.course_id WHERE s.id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        Course {
                            id: r.get(4)?,
                            name: r.get(5)?,
                        },
                    ))
                },
            )
            .optional()?;
        let Some((started_at, ended_at, label, course)) = row else {
            return Ok(None);
        };
        let session = Session {
            id,
            course,
            started_at: parse_time(&started_at)?,
            ended_at: ended_at.as_deref().map(parse_time).transpose()?,
        };
        Ok(Some((session, label)))
    }

    pub fn session_data(&self, session: &Session, label: Option<String>) -> Result<SessionData> {
        let (mut duplicates, mut repeats): (i64, i64) = self.conn.query_row(
            "SELECT count(*) FILTER (WHERE outcome = 'duplicate'),
                    count(*) FILTER (WHERE outcome = 'repeat')
             FROM taps WHERE session_id = ?1",
            params![session.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let purged = self
            .conn
            .query_row(
                "SELECT purged_at, duplicates, repeats, unknown_cards, unclaimed_cards
                 FROM purged_taps WHERE session_id = ?1",
                params![session.id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let purged = match purged {
            Some((at, purged_duplicates, purged_repeats, unknown_cards, unclaimed_cards)) => {
                duplicates += purged_duplicates;
                repeats += purged_repeats;
                Some(PurgedTaps {
                    at: parse_time(&at)?,
                    unknown_cards: unknown_cards as usize,
                    unclaimed_cards: unclaimed_cards as usize,
                })
            }
            None => None,
        };
        Ok(SessionData {
            purged,
            rows: self.report_rows(session)?,
            unknown_taps: self.unknown_taps(session)?,
            session: session.clone(),
            label,
            duplicates: duplicates as usize,
            repeats: repeats as usize,
        })
    }

    fn report_rows(&self, session: &Session) -> Result<Vec<ReportRow>> {
        // The first tap is the student's earliest tap by id among: taps of
        // their card (less a tap whose card was moved to someone else: that
        // one marks the new holder), the tap a claimed mark points at, and
        // unknown taps of a card they hold now (claimed later, or after a
        // mark by hand).
        let mut statement = self.conn.prepare_cached(
            "WITH ids AS (
                 SELECT student_id FROM marks WHERE session_id = ?1
                 UNION
                 SELECT student_id FROM enrolments WHERE course_id = ?2 AND ?3
             ),
             marked (student_id, tap_id) AS MATERIALIZED (
                 SELECT student_id, tap_id FROM marks
                 WHERE session_id = ?1 AND tap_id IS NOT NULL
             ),
             candidates (student_id, tap_id) AS (
                 SELECT t.student_id, t.id FROM taps t
                 LEFT JOIN marked o ON o.tap_id = t.id
                 WHERE t.session_id = ?1 AND t.student_id IS NOT NULL
                   AND (o.student_id IS NULL OR o.student_id = t.student_id)
                 UNION ALL
                 SELECT student_id, tap_id FROM marked
                 UNION ALL
                 SELECT c.student_id, t.id FROM taps t JOIN cards c ON c.uid = t.uid
                 WHERE t.session_id = ?1 AND t.outcome = 'unknown'
             ),
             first AS (
                 SELECT student_id, min(tap_id) AS tap_id FROM candidates GROUP BY student_id
             )
             SELECT s.student_no, s.name, e.section, m.mark, m.source, m.note,
                    coalesce((SELECT at FROM taps WHERE id = f.tap_id), m.first_tap_at)
             FROM ids
             JOIN students s ON s.id = ids.student_id
             LEFT JOIN enrolments e ON e.student_id = s.id AND e.course_id = ?2
             LEFT JOIN marks m ON m.student_id = s.id AND m.session_id = ?1
             LEFT JOIN first f ON f.student_id = s.id
             ORDER BY s.name COLLATE NOCASE, s.student_no",
        )?;
        let open = session.ended_at.is_none();
        let rows = statement.query_map(params![session.id, session.course.id, open], raw_row)?;
        rows.map(|row| {
            let (student_no, name, section, mark, source, note, first_tap) = row?;
            Ok(ReportRow {
                student_no,
                name,
                section,
                mark: mark.map(|m| parse_enum(m, Mark::parse)).transpose()?,
                source: source
                    .map(|s| parse_enum(s, MarkSource::parse))
                    .transpose()?,
                note,
                first_tap: first_tap.as_deref().map(parse_time).transpose()?,
            })
        })
        .collect()
    }

    fn unknown_taps(&self, session: &Session) -> Result<Vec<UnknownTap>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT t.at, t.uid, t.reader, t.outcome = 'random_id', s.student_no, s.name
             FROM taps t
             LEFT JOIN cards c ON c.uid = t.uid
             LEFT JOIN students s ON s.id = c.student_id
             WHERE t.session_id = ?1 AND t.outcome IN ('unknown', 'random_id')
             ORDER BY t.id",
        )?;
        let rows = statement.query_map(params![session.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (at, uid, reader, random_id, student_no, name) = row?;
            Ok(UnknownTap {
                at: parse_time(&at)?,
                uid: CardUid::parse(&uid).map_err(|e| StoreError::BadValue(e.to_string()))?,
                reader,
                random_id,
                claimed_by: student_no.zip(name),
            })
        })
        .collect()
    }
}

type RawRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn parse_enum<T>(text: String, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(&text).ok_or(StoreError::BadValue(text))
}
