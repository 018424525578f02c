//! `taproll demo`: the sample course and scenario from `assets/demo`, embedded
//! in the binary so the demo needs no files, no config and no reader.

use crate::domain::{CardUid, Session, Timestamp};
use crate::reader::sim::Script;
use crate::store::{self, Store};
use crate::toml_file::{self, TomlFileError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const ROSTER: &str = include_str!("../assets/demo/roster.toml");
const SCENARIO: &str = include_str!("../assets/demo/scenario.toml");

/// The demo pretends class began this long ago, so that with the default
/// `late_after_minutes = 10` the scenario's last taps (after 30 s) are late.
pub const BACKDATE: chrono::Duration = chrono::Duration::seconds(9 * 60 + 30);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRoster {
    course: String,
    student: Vec<DemoStudent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoStudent {
    id: String,
    name: String,
    card: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the embedded demo data is broken: {0}")]
    Data(#[from] TomlFileError),
    #[error("the embedded demo roster has a bad card: {0}")]
    Card(#[from] crate::domain::UidError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(
        "{path} holds more than the demo ({found}); the demo writes only into a database of its own: leave out --db, or give it a new file"
    )]
    NotADemoDatabase { path: PathBuf, found: String },
}

pub fn script() -> Result<Script, DemoError> {
    Ok(Script::parse(
        Path::new("assets/demo/scenario.toml"),
        SCENARIO,
    )?)
}

/// Loads the demo roster into the store and starts (or resumes) its session.
/// A database that holds anything but the demo (`--db` of a real one) is
/// refused before anything is written: the demo would rename its students
/// and give its cards away.
pub fn seed(store: &Store, path: &Path, now: &Timestamp) -> Result<Session, DemoError> {
    let roster: DemoRoster = toml_file::parse(Path::new("assets/demo/roster.toml"), ROSTER)?;
    if let Some(found) = not_demo(store, &roster)? {
        return Err(DemoError::NotADemoDatabase {
            path: path.to_path_buf(),
            found,
        });
    }
    let course = store.in_transaction(|store| {
        let course = store.ensure_course(&roster.course, now)?;
        for entry in &roster.student {
            let student = store.upsert_student(&entry.id, &entry.name)?;
            store.enrol(course.id, student.id, now)?;
            if let Some(card) = &entry.card {
                store.bind_card(&CardUid::parse_card_number(card)?, student.id, now)?;
            }
        }
        Ok::<_, DemoError>(course)
    })?;
    Ok(store.start_or_resume_session(&course, &(*now - BACKDATE), now)?)
}

/// What in the store is not the demo's, if anything.
fn not_demo(store: &Store, roster: &DemoRoster) -> Result<Option<String>, DemoError> {
    if let Some(course) = store.courses()?.iter().find(|c| c.name != roster.course) {
        return Ok(Some(format!("the course \"{}\"", course.name)));
    }
    let ours = |no: &String| roster.student.iter().any(|s| s.id == *no);
    let others = store
        .student_numbers()?
        .into_iter()
        .filter(|no| !ours(no))
        .count();
    Ok((others > 0).then(|| format!("{others} student(s) not in the demo")))
}
