//! Where a recorder's socket is, and who may use it.
//!
//! The socket lives in a private folder of the user's (0700; the socket
//! itself 0600), named after the database it records into, so a view finds
//! the recorder of its database and two classes on one machine never meet.
//! The folder is the first of: `$TAPROLL_RUNTIME_DIR` (the systemd unit sets
//! it to `/run/taproll/USER`), `$XDG_RUNTIME_DIR/taproll` (a login's own),
//! `/tmp/taproll-<uid>`. A view looks in all of them, and in
//! `/run/taproll/$USER` (the service `taproll-record@USER` sets that), so an
//! instructor's SSH login finds the service's recorder.

use sha2::{Digest, Sha256};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("cannot make the recorder's folder {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the recorder's folder {path} is not private to this user (owner uid {owner}, mode {mode:o}); \
         remove it or make it 0700 and yours"
    )]
    NotPrivate {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("cannot find out who this process runs as: {0}")]
    Uid(std::io::Error),
}

/// The uid this process runs as (its `/proc` entry is owned by it).
pub fn own_uid() -> Result<u32, PlaceError> {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(PlaceError::Uid)
}

/// Whether a peer on the socket may talk to the recorder: only the same
/// user. The folder's and the socket's modes keep others out already; this
/// is the check that holds even if someone loosens them.
pub fn peer_allowed(own_uid: u32, peer_uid: u32) -> bool {
    own_uid == peer_uid
}

/// The socket's file name for a database: a hash of its full path, the
/// folder resolved (`..`, symlinks) and the file's own name as given, so it
/// is the same before the file exists (a first run) and after. The writer
/// lock goes by that name too (`<db>.lock`).
pub fn socket_name(db: &Path) -> String {
    let folder = match db.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| absolute(folder));
    let full = match db.file_name() {
        Some(name) => folder.join(name),
        None => absolute(db),
    };
    let digest = Sha256::digest(full.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("recorder-{hex}.sock")
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The folder a recorder puts its socket in, made private if new: the
/// first that can be (a login's runtime folder is gone after its logout;
/// the next one serves then).
pub fn recorder_folder(uid: u32) -> Result<PathBuf, PlaceError> {
    let mut first_error = None;
    for dir in folders(uid) {
        match make_private(&dir, uid) {
            Ok(()) => return Ok(dir),
            Err(e) => {
                tracing::warn!(folder = %dir.display(), error = %e, "recorder: this folder will not do");
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(PlaceError::Create {
        path: fallback(uid),
        source: std::io::Error::other("no folder to try"),
    }))
}

/// Where a view looks for a recorder of `db`, in order.
pub fn candidate_sockets(db: &Path, uid: u32) -> Vec<PathBuf> {
    let name = socket_name(db);
    let mut dirs = folders(uid);
    // The service's (taproll-record@USER): the login's own name.
    if let Some(user) = std::env::var_os("USER").filter(|u| !u.is_empty()) {
        dirs.push(Path::new("/run/taproll").join(user));
    }
    dirs.push(PathBuf::from("/run/taproll"));
    dirs.push(fallback(uid));
    dirs.dedup();
    dirs.into_iter().map(|dir| dir.join(&name)).collect()
}

fn folders(uid: u32) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = env_dir("TAPROLL_RUNTIME_DIR") {
        dirs.push(dir);
    }
    if let Some(dir) = env_dir("XDG_RUNTIME_DIR") {
        dirs.push(dir.join("taproll"));
    }
    dirs.push(fallback(uid));
    dirs
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn fallback(uid: u32) -> PathBuf {
    PathBuf::from("/tmp").join(format!("taproll-{uid}"))
}

/// Creates `dir` (0700) if missing, and refuses one that others could
/// reach: someone else's folder in /tmp could hold a socket of theirs.
fn make_private(dir: &Path, uid: u32) -> Result<(), PlaceError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| PlaceError::Create {
            path: dir.to_path_buf(),
            source,
        })?;
    // Not followed: a link someone put there could lead anywhere.
    let meta = std::fs::symlink_metadata(dir).map_err(|source| PlaceError::Create {
        path: dir.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_dir() || meta.uid() != uid || mode & 0o077 != 0 {
        return Err(PlaceError::NotPrivate {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_user_may_talk_to_the_recorder() {
        assert!(peer_allowed(1000, 1000));
        assert!(!peer_allowed(1000, 1001));
        assert!(!peer_allowed(1000, 0), "not even root, through the socket");
        assert!(!peer_allowed(0, 65534));
    }

    #[test]
    fn one_database_one_socket_name() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("class.db");
        std::fs::write(&db, b"").unwrap();
        let other = dir.path().join("other.db");
        assert_eq!(
            socket_name(&db),
            socket_name(&dir.path().join("./class.db"))
        );
        assert_ne!(socket_name(&db), socket_name(&other));
        // Before the file exists and after: one name.
        let later = dir.path().join("./later.db");
        let before = socket_name(&later);
        std::fs::write(dir.path().join("later.db"), b"").unwrap();
        assert_eq!(before, socket_name(&dir.path().join("later.db")));
        assert!(socket_name(&db).len() < 40, "fits a socket path");
    }

    #[test]
    fn a_folder_others_can_reach_is_refused() {
        let uid = own_uid().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = make_private(&open, uid).unwrap_err();
        assert!(error.to_string().contains("not private"), "{error}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        assert!(
            make_private(&link, uid).is_err(),
            "a symlink is not followed"
        );
        let private = dir.path().join("private");
        make_private(&private, uid).unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(make_private(&private, uid + 1).is_err(), "someone else's");
    }
}
