//! `taproll restore`: a backup put in place of the database. The students
//! the database had forgotten since the backup was taken are forgotten in
//! a private copy of the backup first (`store::forget_again`); only that
//! copy, ready, replaces the database. A refusal or a crash before then
//! leaves the database as it was. The writer lock is held throughout.

use super::{BackupError, NAME_TIME, Partial, stem};
use crate::domain::Timestamp;
use crate::store::{AppliedAgain, ErasureTrail, Store};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// The database it replaced, kept beside it; `None`: there was none.
    pub kept: Option<PathBuf>,
    /// What was wrong with the replaced database (it is kept all the same).
    pub kept_problems: Vec<String>,
    /// Why the replaced database's erasures could not be read, when forced
    /// (a damaged database is what restores are for).
    pub trail_problem: Option<String>,
    /// The erasures made after the backup was taken, and what became of
    /// each in it.
    pub erasures: Vec<AppliedAgain>,
}

/// Puts the backup `file` in place of the database at `db`. Refused while
/// a recorder (any taproll writing) holds the database. A student forgotten
/// since the backup was taken is forgotten in it again; when some cannot
/// be found (the backup shares no event with the database, or the
/// database's erasures cannot be read), it is refused unless `force`.
pub fn restore(
    db: &Path,
    file: &Path,
    at: &Timestamp,
    force: bool,
) -> Result<Restored, BackupError> {
    let existed = db.exists();
    let mut store = Store::open(db)?;
    let folder = match db.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut restored = Restored::default();
    let mut trail = ErasureTrail::default();
    if existed {
        match store.erasure_trail() {
            Ok(found) => trail = found,
            Err(e) if force => restored.trail_problem = Some(e.to_string()),
            Err(e) => {
                return Err(BackupError::RestoreRefused {
                    db: db.to_path_buf(),
                    why: format!(
                        "the students it has forgotten cannot be read from it ({e}), so they \
                         might come back with the backup; pass --force to restore it all the same"
                    ),
                });
            }
        }
    }
    let staged = Staged(folder.join(format!(
        ".{}-restoring-{}.db",
        stem(db),
        at.format(NAME_TIME)
    )));
    restored.erasures = staged.prepare(file, &trail, at, force, db)?;
    if existed {
        let name = format!("{}-replaced-{}.db", stem(db), at.format(NAME_TIME));
        let copy = Partial::write(&store, &folder, &name)?;
        // A damaged database is kept all the same: it is what there was.
        restored.kept_problems = copy.problems.clone();
        restored.kept = Some(copy.publish()?);
    }
    store.replace_with(&staged.0)?;
    Ok(restored)
}

/// The backup's private copy, made ready beside the database; removed, with
/// its side files, when dropped.
struct Staged(PathBuf);

impl Staged {
    /// Copies the backup here and brings it up to date, forgets in it again
    /// the students of `trail`, and vacuums it: the pages the database gets
    /// hold nothing of them.
    fn prepare(
        &self,
        file: &Path,
        trail: &ErasureTrail,
        at: &Timestamp,
        force: bool,
        db: &Path,
    ) -> Result<Vec<AppliedAgain>, BackupError> {
        let refused = |why: String| BackupError::RestoreRefused {
            db: db.to_path_buf(),
            why,
        };
        let mut copy = Store::open(&self.0)?;
        copy.replace_with(file)?;
        let applied = copy.forget_again(trail, at).map_err(|e| {
            refused(format!(
                "the students forgotten since the backup was taken could not be forgotten in it ({e})"
            ))
        })?;
        let unmatched = applied
            .iter()
            .filter(|a| matches!(a, AppliedAgain::NotMatched(_)))
            .count();
        if unmatched > 0 && !force {
            return Err(refused(format!(
                "the backup shares no event with {} (it is another device's database, or from \
                 a taproll before the event log), so {unmatched} student(s) forgotten since \
                 cannot be found in it; pass --force to restore it all the same, then forget \
                 them again by number",
                db.display()
            )));
        }
        if applied
            .iter()
            .any(|a| matches!(a, AppliedAgain::Forgotten(_)))
        {
            // The copy's free pages would be copied with it.
            copy.vacuum().map_err(|e| {
                refused(format!(
                    "the copy of the backup could not be vacuumed after the students forgotten \
                     since were forgotten in it ({e})"
                ))
            })?;
        }
        Ok(applied)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let mut path = OsString::from(self.0.as_os_str());
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}
