//! Reading it back, always within one institution: its courses, a course's
//! sessions (from every room), and a course's attendance over dates, one
//! row per student per session.

use crate::storage::{Result, Statement, Storage, Value};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Course {
    pub course: String,
    pub sessions: i64,
    pub students: i64,
    /// The first and last session's planned start, device-local.
    pub first: Option<String>,
    pub last: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub session: String,
    pub room: String,
    pub device_id: String,
    pub planned_start: String,
    pub label: Option<String>,
    pub ended_at: Option<String>,
    pub present: i64,
    pub late: i64,
    pub absent: i64,
    pub excused: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttendanceRow {
    /// The session's date, as the device saw it (`2026-11-30`).
    pub date: String,
    pub session: String,
    pub room: String,
    pub label: Option<String>,
    pub student_no: String,
    pub name: Option<String>,
    pub mark: String,
    pub source: String,
    pub note: Option<String>,
    pub marked_at: String,
}

pub async fn courses(storage: &Storage, institution: i64) -> Result<Vec<Course>> {
    let rows = storage
        .query(Statement::new(
            "SELECT c.course,
                    (SELECT count(*) FROM sessions s WHERE s.institution_id = $1 AND s.course = c.course),
                    (SELECT count(*) FROM enrolments e WHERE e.institution_id = $1 AND e.course = c.course),
                    (SELECT min(planned_start) FROM sessions s WHERE s.institution_id = $1 AND s.course = c.course),
                    (SELECT max(planned_start) FROM sessions s WHERE s.institution_id = $1 AND s.course = c.course)
             FROM (SELECT course FROM sessions WHERE institution_id = $1
                   UNION SELECT course FROM enrolments WHERE institution_id = $1) c
             ORDER BY c.course",
            vec![Value::int(institution)],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Course {
            course: text(&row[0]),
            sessions: row[1].as_int().unwrap_or_default(),
            students: row[2].as_int().unwrap_or_default(),
            first: row[3].as_text().map(str::to_string),
            last: row[4].as_text().map(str::to_string),
        })
        .collect())
}

pub async fn sessions(
    storage: &Storage,
    institution: i64,
    course: &str,
) -> Result<Vec<SessionInfo>> {
    let rows = storage
        .query(Statement::new(
            "SELECT s.session, COALESCE(d.room, ''), s.device_id, s.planned_start, s.label, s.ended_at,
                    (SELECT count(*) FROM marks m WHERE m.institution_id = $1 AND m.session = s.session AND m.mark = 'present'),
                    (SELECT count(*) FROM marks m WHERE m.institution_id = $1 AND m.session = s.session AND m.mark = 'late'),
                    (SELECT count(*) FROM marks m WHERE m.institution_id = $1 AND m.session = s.session AND m.mark = 'absent'),
                    (SELECT count(*) FROM marks m WHERE m.institution_id = $1 AND m.session = s.session AND m.mark = 'excused')
             FROM sessions s
             LEFT JOIN devices d ON d.id = s.registration
             WHERE s.institution_id = $1 AND s.course = $2
             ORDER BY s.planned_start, s.session",
            vec![Value::int(institution), Value::text(course)],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            session: text(&row[0]),
            room: text(&row[1]),
            device_id: text(&row[2]),
            planned_start: text(&row[3]),
            label: row[4].as_text().map(str::to_string),
            ended_at: row[5].as_text().map(str::to_string),
            present: row[6].as_int().unwrap_or_default(),
            late: row[7].as_int().unwrap_or_default(),
            absent: row[8].as_int().unwrap_or_default(),
            excused: row[9].as_int().unwrap_or_default(),
        })
        .collect())
}

/// `from` and `to` are dates (`2026-11-30`), inclusive, compared with the
/// session's device-local date.
pub async fn attendance(
    storage: &Storage,
    institution: i64,
    course: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<AttendanceRow>> {
    let rows = storage
        .query(Statement::new(
            "SELECT substr(s.planned_start, 1, 10), s.session, COALESCE(d.room, ''), s.label,
                    m.student_no, st.name, m.mark, m.source, m.note, m.marked_at
             FROM sessions s
             JOIN marks m ON m.institution_id = s.institution_id AND m.session = s.session
             LEFT JOIN students st ON st.institution_id = m.institution_id AND st.student_no = m.student_no
             LEFT JOIN devices d ON d.id = s.registration
             WHERE s.institution_id = $1 AND s.course = $2
               AND (CAST($3 AS TEXT) IS NULL OR substr(s.planned_start, 1, 10) >= $3)
               AND (CAST($4 AS TEXT) IS NULL OR substr(s.planned_start, 1, 10) <= $4)
             ORDER BY s.planned_start, s.session, m.student_no",
            vec![
                Value::int(institution),
                Value::text(course),
                Value::opt_text(from),
                Value::opt_text(to),
            ],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| AttendanceRow {
            date: text(&row[0]),
            session: text(&row[1]),
            room: text(&row[2]),
            label: row[3].as_text().map(str::to_string),
            student_no: text(&row[4]),
            name: row[5].as_text().map(str::to_string),
            mark: text(&row[6]),
            source: text(&row[7]),
            note: row[8].as_text().map(str::to_string),
            marked_at: text(&row[9]),
        })
        .collect())
}

/// Attendance as CSV for a spreadsheet: a header, a row each; a cell that
/// starts with `= + - @` gets a leading `'` so it is never run as a formula.
pub fn attendance_csv(rows: &[AttendanceRow]) -> String {
    let mut out =
        String::from("date,session,room,label,student_no,name,mark,source,note,marked_at\n");
    for row in rows {
        let cells = [
            row.date.as_str(),
            &row.session,
            &row.room,
            row.label.as_deref().unwrap_or(""),
            &row.student_no,
            row.name.as_deref().unwrap_or(""),
            &row.mark,
            &row.source,
            row.note.as_deref().unwrap_or(""),
            &row.marked_at,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn text(value: &Value) -> String {
    value.as_text().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("Ada"), "Ada");
        assert_eq!(csv_cell("Lovelace, Ada"), "\"Lovelace, Ada\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }
}
