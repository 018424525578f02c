//! `taproll backup` and `taproll restore`: dated, checked copies of the
//! database in a folder, the last few kept; and a copy put back in place.
//! The copying itself is the store's (`Store::copy_to`, SQLite's online
//! backup API); here are the files: names, the folder, atomic renames.

use crate::domain::Timestamp;
use crate::store::{Store, StoreError};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

mod restore;
pub use restore::{Restored, restore};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the backup folder {0} does not exist (a USB stick not mounted?); nothing was copied")]
    NoFolder(PathBuf),
    #[error("cannot write the backup in {folder}: {source}")]
    Write {
        folder: PathBuf,
        source: std::io::Error,
    },
    #[error("the copy of {db} failed its integrity check ({problems}); it was not kept")]
    Damaged { db: PathBuf, problems: String },
    #[error("{why}; nothing was restored: {db} is as it was")]
    RestoreRefused { db: PathBuf, why: String },
}

/// Where backups go and how many are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupPlan {
    pub folder: PathBuf,
    pub keep: usize,
    /// Made if missing: the default folder beside the database is; a
    /// configured one (a USB stick's) must be there, or the stick is not.
    pub make_folder: bool,
}

/// A finished backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taken {
    pub file: PathBuf,
    pub bytes: u64,
    /// Older backups removed to keep the last `keep`.
    pub removed: Vec<PathBuf>,
}

/// `<stem>-<host>-YYYY-MM-DD-HHMMSS-mmm.db`: says whose it is (several
/// Pis may share one USB stick) and when; the milliseconds keep two
/// backups of one second apart.
pub fn file_name(db: &Path, at: &Timestamp) -> String {
    format!("{}-{}.db", prefix(db), at.format(NAME_TIME))
}

/// What every backup of `db` on this machine starts with.
fn prefix(db: &Path) -> String {
    format!("{}-{}", stem(db), host())
}

/// This machine's name, made safe for a file name.
fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() { "host".into() } else { name }
}

const NAME_TIME: &str = "%Y-%m-%d-%H%M%S-%3f";

fn stem(db: &Path) -> String {
    db.file_stem()
        .map_or_else(|| "taproll".into(), |s| s.to_string_lossy().into_owned())
}

/// Whether `name` is one of this machine's backups of `db`
/// (`file_name`'s shape).
fn is_backup_of(name: &str, db: &Path) -> bool {
    let Some(rest) = name
        .strip_prefix(&prefix(db))
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(".db"))
    else {
        return false;
    };
    chrono::NaiveDateTime::parse_from_str(rest, NAME_TIME).is_ok()
}

/// Of `names` (one folder's files), the backups of `db` to remove so that
/// `keep` stay: the one just made (`newest`), whatever its name says (a
/// Pi that booted with an old time names it as if older), and the newest
/// of the others.
pub fn to_remove(names: &[String], db: &Path, keep: usize, newest: &str) -> Vec<String> {
    let mut backups: Vec<&String> = names
        .iter()
        .filter(|n| n.as_str() != newest && is_backup_of(n, db))
        .collect();
    backups.sort();
    let extra = backups.len().saturating_sub(keep.max(1) - 1);
    backups.into_iter().take(extra).cloned().collect()
}

/// The backups of `db` in `folder`, oldest first (none when it cannot be read).
pub fn backups_of(db: &Path, folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| is_backup_of(name, db))
        .collect();
    names.sort();
    names.into_iter().map(|name| folder.join(name)).collect()
}

/// Copies a crash or a killed run left behind: never whole, never named.
fn remove_partials(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Copies the database at `db` into `plan.folder` (it may be recording
/// meanwhile), checks the copy, and only then gives it its dated name;
/// then removes the oldest beyond `plan.keep`.
pub fn take(db: &Path, plan: &BackupPlan, at: &Timestamp) -> Result<Taken, BackupError> {
    let write_error = |source| BackupError::Write {
        folder: plan.folder.clone(),
        source,
    };
    if !plan.folder.is_dir() {
        if !plan.make_folder {
            return Err(BackupError::NoFolder(plan.folder.clone()));
        }
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&plan.folder)
            .map_err(write_error)?;
    }
    let store = Store::open_to_copy(db)?;
    remove_partials(&plan.folder);
    let name = file_name(db, at);
    let copy = Partial::write(&store, &plan.folder, &name)?;
    if !copy.problems.is_empty() {
        return Err(BackupError::Damaged {
            db: db.to_path_buf(),
            problems: copy.problems.join("; "),
        });
    }
    let file = copy.publish()?;
    let bytes = std::fs::metadata(&file).map_err(write_error)?.len();
    let removed = rotate(db, plan, &name);
    Ok(Taken {
        file,
        bytes,
        removed,
    })
}

/// Removes the backups beyond `keep`. The new one is safe already: a
/// failure here is logged, not the backup's failure.
fn rotate(db: &Path, plan: &BackupPlan, newest: &str) -> Vec<PathBuf> {
    let names: Vec<String> = match std::fs::read_dir(&plan.folder) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "backup: cannot list the folder to remove old backups");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for name in to_remove(&names, db, plan.keep, newest) {
        let path = plan.folder.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            // Another rotation took it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "backup: cannot remove an old backup")
            }
        }
    }
    removed
}

fn sync_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::File::open(folder)?.sync_all()
}

/// A copy written under a hidden name, checked, not yet given its own.
struct Partial {
    path: PathBuf,
    folder: PathBuf,
    name: String,
    /// What `integrity_check` found wrong with it; none when whole.
    problems: Vec<String>,
}

impl Partial {
    fn write(store: &Store, folder: &Path, name: &str) -> Result<Self, BackupError> {
        let path = folder.join(format!(".{name}.partial"));
        let write_error = |source| BackupError::Write {
            folder: folder.to_path_buf(),
            source,
        };
        // Private from the first byte: it holds every student's name.
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(write_error)?;
        let mut partial = Self {
            path,
            folder: folder.to_path_buf(),
            name: name.to_string(),
            problems: Vec::new(),
        };
        // On an error the partial file goes with `partial` (Drop).
        partial.problems = store.copy_to(&partial.path)?;
        Ok(partial)
    }

    /// On disk before it has its name, and the name on disk before
    /// anything relies on it: a power cut leaves a whole copy or none.
    fn publish(mut self) -> Result<PathBuf, BackupError> {
        let write_error = |source| BackupError::Write {
            folder: self.folder.clone(),
            source,
        };
        let file = self.folder.join(&self.name);
        std::fs::File::open(&self.path)
            .and_then(|f| f.sync_all())
            .map_err(write_error)?;
        std::fs::rename(&self.path, &file).map_err(write_error)?;
        sync_folder(&self.folder).map_err(write_error)?;
        self.path = PathBuf::new();
        Ok(file)
    }
}

impl Drop for Partial {
    /// A copy that was not published goes.
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn a_backup_is_named_after_its_database_and_time() {
        let name = file_name(
            Path::new("/data/taproll.db"),
            &at("2026-11-30T09:15:03.042+01:00"),
        );
        assert_eq!(name, format!("taproll-{}-2026-11-30-091503-042.db", host()));
        assert!(is_backup_of(&name, Path::new("taproll.db")));
        assert!(!is_backup_of(&name, Path::new("other.db")));
        assert!(!is_backup_of("taproll-notes.db", Path::new("taproll.db")));
        assert!(
            !is_backup_of(
                "taproll-otherpi-2026-11-30-091503-042.db",
                Path::new("taproll.db")
            ),
            "another Pi's backups on a shared stick are not ours to remove"
        );
        assert!(!is_backup_of(
            "taproll-replaced-2026-11-30-091503-042.db",
            Path::new("taproll.db")
        ));
    }

    #[test]
    fn the_oldest_beyond_keep_go_and_nothing_else() {
        let db = Path::new("taproll.db");
        let ours = |time: &str| format!("taproll-{}-{time}.db", host());
        let names: Vec<String> = vec![
            ours("2026-11-28-090000-000"),
            ours("2026-11-30-090000-000"),
            ours("2026-11-29-090000-000"),
            "notes.txt".into(),
            "taproll-otherpi-2026-11-01-090000-000.db".into(),
        ];
        let newest = ours("2026-11-30-090000-000");
        assert_eq!(
            to_remove(&names, db, 2, &newest),
            [ours("2026-11-28-090000-000")]
        );
        assert_eq!(to_remove(&names, db, 5, &newest), Vec::<String>::new());
        // Keeping none would remove the one just made: it always stays.
        assert_eq!(to_remove(&names, db, 0, &newest).len(), 2);
        // A Pi that booted with an old clock: the new one is named oldest.
        let stale = ours("2020-01-01-000000-000");
        let mut with_stale = names.clone();
        with_stale.push(stale.clone());
        let removed = to_remove(&with_stale, db, 2, &stale);
        assert!(!removed.contains(&stale), "{removed:?}");
        assert_eq!(removed.len(), 2);
    }
}
