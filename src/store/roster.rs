//! Courses, students, enrolments and cards.

use super::{Result, Store, format_time};
use crate::domain::{CardUid, Course, Student, Timestamp};
use rusqlite::{OptionalExtension, params};

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

    pub fn enrol(&self, course_id: i64, student_id: i64) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO enrolments (course_id, student_id) VALUES (?1, ?2)",
            params![course_id, student_id],
        )?;
        Ok(())
    }

    /// Binds the card to the student, moving it if someone else had it.
    pub fn bind_card(&self, uid: &CardUid, student_id: i64, now: &Timestamp) -> Result<()> {
        self.conn.execute(
            "INSERT INTO cards (uid, student_id, added_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(uid) DO UPDATE SET student_id = excluded.student_id, added_at = excluded.added_at",
            params![uid.as_hex(), student_id, format_time(now)],
        )?;
        Ok(())
    }
}
