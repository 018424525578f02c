//! A session as the CSV that Moodle's attendance activity (mod_attendance)
//! takes on a session's "Import" ("mark sessions"): one row per marked
//! student, matched on `idnumber` (the "ID number" a roster imported from a
//! Moodle participants export gives taproll as the student id).
//!
//! Moodle reads either the `status` column (an acronym of the activity's
//! statuses) or the `scantime` column (and picks the status from the time
//! itself); its mapping form preselects the columns named `idnumber` and
//! `status`. So every row has a status, and a mark taken by a card has the
//! first tap's time as its scan time; a mark made by hand has none (the
//! instructor decided, not the clock).

use super::cell::{Cell, Table};
use super::csv_file;
use super::model::{Content, Report, SessionReport};
use crate::domain::{Mark, MarkSource};

/// The acronyms of the activity's statuses (`[report.moodle]`): Moodle's
/// own set is P, L, E, A.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MoodleOptions {
    pub present: String,
    pub late: String,
    pub excused: String,
    pub absent: String,
}

impl Default for MoodleOptions {
    fn default() -> Self {
        Self {
            present: "P".to_string(),
            late: "L".to_string(),
            excused: "E".to_string(),
            absent: "A".to_string(),
        }
    }
}

impl MoodleOptions {
    fn acronym(&self, mark: Mark) -> &str {
        match mark {
            Mark::Present => &self.present,
            Mark::Late => &self.late,
            Mark::Excused => &self.excused,
            Mark::Absent => &self.absent,
        }
    }
}

/// The columns, named as Moodle's mapping form looks for them.
pub const HEADERS: [&str; 4] = ["idnumber", "status", "scantime", "name"];

/// `None` for a course: a Moodle import marks one session.
pub fn render(report: &Report, options: &MoodleOptions) -> Option<Result<Vec<u8>, csv::Error>> {
    match &report.content {
        Content::Session(session) => Some(write(&table(session, options))),
        Content::Course(_) => None,
    }
}

pub fn table(session: &SessionReport, options: &MoodleOptions) -> Table {
    let rows = session
        .students
        .iter()
        .filter_map(|student| {
            // Not marked yet (an open session): nothing to tell Moodle.
            let mark = student.mark?;
            let scan = match student.source {
                Some(MarkSource::Card) => student.first_tap,
                _ => None,
            };
            Some(vec![
                Cell::text(&student.student_no),
                Cell::text(options.acronym(mark)),
                Cell::Time(scan),
                Cell::text(&student.name),
            ])
        })
        .collect();
    Table {
        headers: HEADERS.map(String::from).to_vec(),
        rows,
    }
}

/// As CSV, without the byte-order mark the spreadsheet CSV starts with:
/// the first header must read `idnumber` for Moodle's form to preselect it.
fn write(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let bytes = csv_file::write(table)?;
    Ok(bytes
        .strip_prefix(csv_file::UTF8_BOM.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes))
}
