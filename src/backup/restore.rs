//! `taproll restore`: a backup put in place of the database. The database
//! it replaces is kept beside it first; the students it had forgotten since
//! the backup was taken are forgotten in the backup again
//! (`store::forget_again`), under the writer lock from the first step to
//! the last, so no recorder starts on a database that holds them.

use super::{BackupError, NAME_TIME, Partial, stem};
use crate::domain::Timestamp;
use crate::store::{AppliedAgain, ErasureTrail, Store};
use std::path::{Path, PathBuf};

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// The database it replaced, kept beside it; `None`: there was none.
    pub kept: Option<PathBuf>,
    /// What was wrong with the replaced database (it is kept all the same).
    pub kept_problems: Vec<String>,
    /// Why the replaced database's erasures could not be read (a damaged
    /// database is what restores are for: said, not a refusal).
    pub trail_problem: Option<String>,
    /// The erasures made after the backup was taken, and what became of
    /// each in it.
    pub erasures: Vec<AppliedAgain>,
    /// Why the file could not be vacuumed after students were forgotten
    /// again (their bytes stay in its free pages until it is).
    pub vacuum_problem: Option<String>,
}

/// Puts the backup `file` in place of the database at `db`. Refused while
/// a recorder (any taproll writing) holds the database. A student forgotten
/// since the backup was taken is forgotten in it again; when some cannot
/// be found (the backup shares no event with the database), the restore is
/// undone unless `force`.
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
            Err(e) => restored.trail_problem = Some(e.to_string()),
        }
        let name = format!("{}-replaced-{}.db", stem(db), at.format(NAME_TIME));
        let copy = Partial::write(&store, &folder, &name)?;
        // A damaged database is kept all the same: it is what there was.
        restored.kept_problems = copy.problems.clone();
        restored.kept = Some(copy.publish()?);
    }
    // Brought up to date too (a backup of an older taproll), not in class.
    store.replace_with(file)?;
    let why = match store.forget_again(&trail, at) {
        Ok(applied) => {
            let unmatched = applied
                .iter()
                .filter(|a| matches!(a, AppliedAgain::NotMatched(_)))
                .count();
            if unmatched == 0 || force {
                restored.erasures = applied;
                None
            } else {
                Some(format!(
                    "the backup shares no event with {} (it is another device's database, or \
                     from a taproll before the event log), so {unmatched} student(s) forgotten \
                     since cannot be found in it; pass --force to restore it all the same, then \
                     forget them again by number",
                    db.display()
                ))
            }
        }
        Err(e) => Some(format!(
            "the students forgotten since the backup was taken could not be forgotten in it ({e})"
        )),
    };
    if let Some(why) = why {
        return Err(undo(&mut store, db, restored.kept.as_deref(), why));
    }
    if restored
        .erasures
        .iter()
        .any(|a| matches!(a, AppliedAgain::Forgotten(_)))
    {
        // As after a forget: no erased byte stays in free pages or the WAL.
        if let Err(e) = store.vacuum() {
            restored.vacuum_problem = Some(e.to_string());
        }
    }
    Ok(restored)
}

/// Puts the replaced database back after a restore refused half-way, and
/// vacuums: the backup's pages leave the file and its WAL.
fn undo(store: &mut Store, db: &Path, kept: Option<&Path>, why: String) -> BackupError {
    let db = db.to_path_buf();
    // Without a database before there is nothing to put back (and no
    // erasure to refuse over: this is not reached).
    let Some(kept) = kept else {
        return BackupError::RestoreIncomplete { db, why };
    };
    match store
        .replace_with(kept)
        .and_then(|()| store.vacuum().map(drop))
    {
        Ok(()) => BackupError::RestoreUndone { db, why },
        Err(undo) => BackupError::RestoreNotUndone {
            db,
            why,
            undo: Box::new(undo),
            kept: kept.to_path_buf(),
        },
    }
}
