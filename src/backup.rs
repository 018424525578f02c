//! `taproll backup` and `taproll restore`: dated, checked copies of the
//! database in a folder, the last few kept; and a copy put back in place.
//! The copying itself is the store's (`Store::copy_to`, SQLite's online
//! backup API); here are the files: names, the folder, atomic renames.

use crate::domain::Timestamp;
use crate::store::{Store, StoreError};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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

/// `<stem>-YYYY-MM-DD-HHMMSS-mmm.db`: sorts by time, says whose it is;
/// the milliseconds keep two backups of one second apart.
pub fn file_name(db: &Path, at: &Timestamp) -> String {
    format!("{}-{}.db", stem(db), at.format(NAME_TIME))
}

const NAME_TIME: &str = "%Y-%m-%d-%H%M%S-%3f";

fn stem(db: &Path) -> String {
    db.file_stem()
        .map_or_else(|| "taproll".into(), |s| s.to_string_lossy().into_owned())
}

/// Whether `name` is one of `db`'s backups (`file_name`'s shape).
fn is_backup_of(name: &str, db: &Path) -> bool {
    let Some(rest) = name
        .strip_prefix(&stem(db))
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(".db"))
    else {
        return false;
    };
    chrono::NaiveDateTime::parse_from_str(rest, NAME_TIME).is_ok()
}

/// Of `names` (one folder's files), the backups of `db` to remove so that
/// the newest `keep` stay.
pub fn to_remove(names: &[String], db: &Path, keep: usize) -> Vec<String> {
    let mut backups: Vec<&String> = names.iter().filter(|n| is_backup_of(n, db)).collect();
    backups.sort();
    let extra = backups.len().saturating_sub(keep.max(1));
    backups.into_iter().take(extra).cloned().collect()
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
    let store = Store::open_read_only(db)?;
    let name = file_name(db, at);
    let file = plan.folder.join(&name);
    let partial = plan.folder.join(format!(".{name}.partial"));
    // Private from the first byte: it holds every student's name.
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(write_error)?;
    let copied = store.copy_to(&partial);
    let problems = match copied {
        Ok(problems) => problems,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    if !problems.is_empty() {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Damaged {
            db: db.to_path_buf(),
            problems: problems.join("; "),
        });
    }
    // On disk before it has its name, and the name on disk before the
    // old ones go: a power cut leaves a whole backup or none.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(write_error)?;
    std::fs::rename(&partial, &file).map_err(write_error)?;
    sync_folder(&plan.folder).map_err(write_error)?;
    let bytes = std::fs::metadata(&file).map_err(write_error)?.len();
    let removed = rotate(db, plan).map_err(write_error)?;
    Ok(Taken {
        file,
        bytes,
        removed,
    })
}

fn rotate(db: &Path, plan: &BackupPlan) -> std::io::Result<Vec<PathBuf>> {
    let names: Vec<String> = std::fs::read_dir(&plan.folder)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut removed = Vec::new();
    for name in to_remove(&names, db, plan.keep) {
        let path = plan.folder.join(&name);
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

fn sync_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::File::open(folder)?.sync_all()
}

/// Puts the backup `file` in place of the database at `db`. Refused while
/// a recorder (any taproll writing) holds the database; the database it
/// replaces is first kept beside it, as a backup of its own, whose path is
/// returned.
pub fn restore(db: &Path, file: &Path, at: &Timestamp) -> Result<PathBuf, BackupError> {
    let mut store = Store::open(db)?;
    let folder = match db.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let kept = folder.join(format!("{}-replaced-{}.db", stem(db), at.format(NAME_TIME)));
    let write_error = |source| BackupError::Write {
        folder: folder.clone(),
        source,
    };
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&kept)
        .map_err(write_error)?;
    let problems = store.copy_to(&kept)?;
    if !problems.is_empty() {
        // The database in use is damaged: it is kept all the same (it is
        // what there was), and the restore goes on.
        tracing::warn!(
            problems = problems.join("; "),
            "restore: the replaced database is damaged"
        );
    }
    store.replace_with(file)?;
    drop(store);
    // A backup of an older taproll is brought up to date now, not in class.
    Store::open(db)?;
    Ok(kept)
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
        assert_eq!(name, "taproll-2026-11-30-091503-042.db");
        assert!(is_backup_of(&name, Path::new("taproll.db")));
        assert!(!is_backup_of(&name, Path::new("other.db")));
        assert!(!is_backup_of("taproll-notes.db", Path::new("taproll.db")));
        assert!(!is_backup_of(
            "taproll-replaced-2026-11-30-091503-042.db",
            Path::new("taproll.db")
        ));
    }

    #[test]
    fn the_oldest_beyond_keep_go_and_nothing_else() {
        let names: Vec<String> = [
            "taproll-2026-11-28-090000-000.db",
            "taproll-2026-11-30-090000-000.db",
            "taproll-2026-11-29-090000-000.db",
            "notes.txt",
            "other-2026-11-01-090000-000.db",
        ]
        .map(String::from)
        .to_vec();
        let db = Path::new("taproll.db");
        assert_eq!(
            to_remove(&names, db, 2),
            ["taproll-2026-11-28-090000-000.db"]
        );
        assert_eq!(to_remove(&names, db, 5), Vec::<String>::new());
        // Keeping none would remove the one just made: at least one stays.
        assert_eq!(to_remove(&names, db, 0).len(), 2);
    }
}
