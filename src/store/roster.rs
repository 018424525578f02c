//! Courses, students, enrolments and cards.

use super::outbox::{self, queue, queue_student};
use super::{Result, Store, format_time};
use crate::domain::{CardUid, Course, Student, Timestamp};
use crate::events::Event;
use rusqlite::{Connection, OptionalExtension, params};

impl Store {
    /// The course with this name, created if new.
    pub fn ensure_course(&self, name: &str, now: &Timestamp) -> Result<Course> {
        self.conn.execute(
            "INSERT INTO courses (name, created_at) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![name, format_time(now)],
        )?;
        let id = self.conn.query_row(
            "SELECT id FROM courses WHERE name = ?1",
            params![name],
            |row| row.get(0),
        )?;
        Ok(Course {
            id,
            name: name.to_string(),
        })
    }

    /// The course of the most recent session, if any.
    pub fn last_used_course(&self) -> Result<Option<Course>> {
        Ok(self
            .conn
            .query_row(
                "SELECT c.id, c.name FROM sessions s JOIN courses c ON c.id = s.course_id
                 ORDER BY s.id DESC LIMIT 1",
                [],
                |row| {
                    Ok(Course {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Adds the student or updates their name; returns the stored student.
    /// Queues nothing: `enrol`, which follows, queues the student with the
    /// course (an event names a student with their course).
    pub fn upsert_student(&self, student_no: &str, name: &str) -> Result<Student> {
        self.conn.execute(
            "INSERT INTO students (student_no, name) VALUES (?1, ?2)
             ON CONFLICT(student_no) DO UPDATE SET name = excluded.name",
            params![student_no, name],
        )?;
        let id = self.conn.query_row(
            "SELECT id FROM students WHERE student_no = ?1",
            params![student_no],
            |row| row.get(0),
        )?;
        Ok(Student {
            id,
            student_no: student_no.to_string(),
            name: name.to_string(),
        })
    }

    /// Enrols the student in the course (again: no change), and queues them
    /// as seen at `now`.
    pub fn enrol(&self, course_id: i64, student_id: i64, now: &Timestamp) -> Result<()> {
        self.write(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO enrolments (course_id, student_id) VALUES (?1, ?2)",
                params![course_id, student_id],
            )?;
            queue_student(conn, student_id, course_id, None, now)
        })
    }

    /// Binds the card to the student, moving it if someone else had it.
    pub fn bind_card(&self, uid: &CardUid, student_id: i64, now: &Timestamp) -> Result<()> {
        self.write(|conn| give_card(conn, uid.as_hex(), student_id, now).map(|_| ()))
    }
}

/// Gives the card to the student, taking it from whoever had it, and queues
/// that; nothing when it is theirs already. Returns who had it. In the
/// caller's transaction.
pub(super) fn give_card(
    conn: &Connection,
    uid: &str,
    student_id: i64,
    at: &Timestamp,
) -> Result<Option<i64>> {
    let holder: Option<i64> = conn
        .prepare_cached("SELECT student_id FROM cards WHERE uid = ?1")?
        .query_row(params![uid], |r| r.get(0))
        .optional()?;
    if holder != Some(student_id) {
        let to = outbox::student_no(conn, student_id)?;
        let from = holder.map(|id| outbox::student_no(conn, id)).transpose()?;
        bind(conn, uid, student_id, &to, from.as_deref(), at)?;
    }
    Ok(holder)
}

/// Binds the card to the student (their id and number), taking it from the
/// student numbered `from` or from nobody, and queues that. The one place a
/// card is bound; the caller knows who holds it. In the caller's transaction.
pub(super) fn bind(
    conn: &Connection,
    uid: &str,
    student_id: i64,
    student_no: &str,
    from: Option<&str>,
    at: &Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO cards (uid, student_id, added_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(uid) DO UPDATE SET
            student_id = excluded.student_id, added_at = excluded.added_at",
    )?
    .execute(params![uid, student_id, format_time(at)])?;
    let event = Event::CardBound {
        uid: uid.to_string(),
        student_no: student_no.to_string(),
        from_student_no: from.map(str::to_string),
    };
    queue(conn, at, event)
}

/// One student in a course listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedStudent {
    pub student_no: String,
    pub name: String,
    pub email: Option<String>,
    pub section: Option<String>,
    /// Card UIDs, canonical hex.
    pub cards: Vec<String>,
}

impl Store {
    pub fn course_by_name(&self, name: &str) -> Result<Option<Course>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name FROM courses WHERE name = ?1",
                params![name],
                |row| {
                    Ok(Course {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Every student number in the database.
    pub fn student_numbers(&self) -> Result<Vec<String>> {
        let mut statement = self.conn.prepare("SELECT student_no FROM students")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn courses(&self) -> Result<Vec<Course>> {
        let mut statement = self
            .conn
            .prepare("SELECT id, name FROM courses ORDER BY name COLLATE NOCASE")?;
        let rows = statement.query_map([], |row| {
            Ok(Course {
                id: row.get(0)?,
                name: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The course's students by name, with their sections and cards.
    pub fn roster_listing(&self, course_id: i64) -> Result<Vec<ListedStudent>> {
        let mut statement = self.conn.prepare(
            "SELECT s.student_no, s.name, s.email, e.section,
                    (SELECT group_concat(uid, ' ') FROM cards c WHERE c.student_id = s.id)
             FROM enrolments e JOIN students s ON s.id = e.student_id
             WHERE e.course_id = ?1
             ORDER BY s.name COLLATE NOCASE, s.student_no",
        )?;
        let rows = statement.query_map(params![course_id], |row| {
            Ok(ListedStudent {
                student_no: row.get(0)?,
                name: row.get(1)?,
                email: row.get(2)?,
                section: row.get(3)?,
                cards: row
                    .get::<_, Option<String>>(4)?
                    .map(|cards| cards.split(' ').map(str::to_string).collect())
                    .unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    /// Takes every card from a student (a lost card); returns how many.
    pub fn remove_cards(&self, student_id: i64, now: &Timestamp) -> Result<usize> {
        let tx = self.begin()?;
        let removed: Vec<String> = tx
            .prepare("DELETE FROM cards WHERE student_id = ?1 RETURNING uid")?
            .query_map(params![student_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let holder = outbox::student_no(&tx, student_id)?;
        for uid in &removed {
            let event = Event::CardRemoved {
                uid: uid.clone(),
                student_no: holder.clone(),
            };
            queue(&tx, now, event)?;
        }
        self.commit(tx)?;
        tracing::info!(
            student = student_id,
            removed = removed.len(),
            "cards removed"
        );
        Ok(removed.len())
    }

    /// Adds a student to the course, or changes the name and number of one,
    /// at `now`.
    pub fn save_student(
        &self,
        course_id: i64,
        existing: Option<i64>,
        student_no: &str,
        name: &str,
        now: &Timestamp,
    ) -> Result<()> {
        crate::domain::check_student_fields(student_no, name, None, None)
            .map_err(|e| super::StoreError::Conflict(e.to_string()))?;
        let tx = self.begin()?;
        let mut previous = None;
        let id = match existing {
            Some(id) => {
                let before = outbox::student_no(&tx, id)?;
                tx.execute(
                    "UPDATE students SET student_no = ?2, name = ?3 WHERE id = ?1",
                    params![id, student_no, name],
                )?;
                previous = (before != student_no).then_some(before);
                id
            }
            None => {
                let existing: Option<(i64, String)> = tx
                    .query_row(
                        "SELECT id, name FROM students WHERE student_no = ?1",
                        params![student_no],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                match existing {
                    // The same person, e.g. from another course: enrol them.
                    Some((id, known)) if known == name => id,
                    Some((_, known)) => {
                        return Err(super::StoreError::NumberTaken {
                            student_no: student_no.to_string(),
                            holder: known,
                        });
                    }
                    None => {
                        tx.execute(
                            "INSERT INTO students (student_no, name) VALUES (?1, ?2)",
                            params![student_no, name],
                        )?;
                        tx.last_insert_rowid()
                    }
                }
            }
        };
        tx.execute(
            "INSERT OR IGNORE INTO enrolments (course_id, student_id) VALUES (?1, ?2)",
            params![course_id, id],
        )?;
        queue_student(&tx, id, course_id, previous, now)?;
        self.commit(tx)?;
        Ok(())
    }
}
