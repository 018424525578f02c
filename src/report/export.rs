//! The TUI's end-of-session export: the session's report in the configured
//! formats, into the configured folder. The front end calls it; the settings
//! come from the config (see `settings::export_settings`).

use super::model::Content;
use super::{Format, LmsOptions, ReportError, Selection, Zone, load, output, render};
use crate::privacy::UidExport;
use crate::store::Store;
use std::path::{Path, PathBuf};

/// Where and how the end-of-session export is written (`[report]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSettings {
    pub folder: PathBuf,
    pub formats: Vec<Format>,
    pub zone: Zone,
    /// The Canvas and Moodle formats' options.
    pub lms: LmsOptions,
    /// How card UIDs are written (`[privacy] uids`).
    pub uids: UidExport,
}

impl ExportSettings {
    /// `/home/pi/taproll-reports (csv, xlsx)`, for the summary screen.
    pub fn describe(&self) -> String {
        let formats: Vec<&str> = self.formats.iter().map(|f| f.as_str()).collect();
        format!("{} ({})", self.folder.display(), formats.join(", "))
    }
}

/// What an export wrote, and the formats it could not write.
#[derive(Debug)]
pub struct Exported {
    pub written: Vec<PathBuf>,
    pub failed: Vec<(Format, ReportError)>,
}

/// Writes the session's report in every format, going on past a format that
/// fails. Nothing is replaced: a name already taken (an earlier export of
/// this session, or a session of another database) gets `-2`, `-3`, ...
pub fn export_session(
    store: &Store,
    session_id: i64,
    settings: &ExportSettings,
) -> Result<Exported, ReportError> {
    let report = load(store, &Selection::Session(session_id), &settings.zone)?;
    let Content::Session(session) = &report.content else {
        return Err(ReportError::NoSession(session_id));
    };
    let stem = file_stem(
        &session.course,
        &session.started_at.format("%Y-%m-%d").to_string(),
        session.id,
    );
    create_private_folder(&settings.folder)?;
    let mut exported = Exported {
        written: Vec::new(),
        failed: Vec::new(),
    };
    for format in &settings.formats {
        let result = render(&report, *format, &settings.lms, &settings.uids)
            .and_then(|bytes| write_new(&settings.folder, &stem, format.suffix(), &bytes));
        match result {
            Ok(path) => exported.written.push(path),
            Err(error) => {
                tracing::error!(session = session_id, format = format.as_str(), %error, "report not saved");
                exported.failed.push((*format, error));
            }
        }
    }
    tracing::info!(session = session_id, files = ?exported.written, "report exported");
    Ok(exported)
}

/// `physics-101_2026-11-30_session-12`: the course name kept to letters,
/// digits and dashes, so the name works on every disk and in a URL.
pub fn file_stem(course: &str, date: &str, session_id: i64) -> String {
    let mut slug = String::new();
    for c in course.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(40).collect();
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "course" } else { slug };
    format!("{slug}_{date}_session-{session_id}")
}

/// Writes `STEM.SUFFIX`, or `STEM-2.SUFFIX`, ... if the name is taken.
fn write_new(
    folder: &Path,
    stem: &str,
    suffix: &str,
    bytes: &[u8],
) -> Result<PathBuf, ReportError> {
    for copy in 1..=100 {
        let name = match copy {
            1 => format!("{stem}{suffix}"),
            n => format!("{stem}-{n}{suffix}"),
        };
        let path = folder.join(name);
        match output::write_file(&path, bytes, false, output::PRIVATE) {
            Ok(()) => return Ok(path),
            // Taken, by a file or by anything else: never replaced.
            Err(output::OutputError::Exists(_) | output::OutputError::NotAFile { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(output::OutputError::Exists(folder.join(format!("{stem}-100{suffix}"))).into())
}

fn create_private_folder(folder: &Path) -> Result<(), ReportError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|source| {
            output::OutputError::Write {
                path: folder.to_path_buf(),
                source,
            }
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(
            file_stem("Physics 101 (A)", "2026-11-30", 12),
            "physics-101-a_2026-11-30_session-12"
        );
        assert_eq!(file_stem("../../etc", "d", 1), "etc_d_session-1");
        assert_eq!(file_stem("Ωμέγα/β", "d", 1), "ωμέγα-β_d_session-1");
        assert_eq!(file_stem("///", "d", 1), "course_d_session-1");
        let long = format!("{} x", "a".repeat(39));
        assert_eq!(
            file_stem(&long, "d", 1),
            format!("{}_d_session-1", "a".repeat(39))
        );
    }
}
