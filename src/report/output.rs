//! Writing a report file: to a temporary name first, then into place, so a
//! crash or a full disk never leaves half a report under the real name; an
//! existing file is replaced only when asked.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0} already exists; pass --force to replace it")]
    Exists(PathBuf),
    #[error("cannot write {path}: the folder {folder} does not exist; create it first")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Writes `bytes` to `path`. Reports hold students' names: the file is
/// made 0600, like the database.
pub fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), OutputError> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(OutputError::NoFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        });
    }
    if !replace && path.exists() {
        return Err(OutputError::Exists(path.to_path_buf()));
    }
    let failed = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let temporary = write_temporary(path, bytes).map_err(failed)?;
    let placed = if replace {
        fs::rename(&temporary, path).map_err(failed)
    } else {
        place_new(&temporary, path)
    };
    if placed.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    placed?;
    // The new name is only durable once the folder is flushed too.
    let _ = File::open(folder).and_then(|f| f.sync_all());
    Ok(())
}

/// Moves the temporary file to `path` unless that name is taken.
fn place_new(temporary: &Path, path: &Path) -> Result<(), OutputError> {
    // A hard link fails if the name was taken since the check; a rename
    // would silently replace it.
    match fs::hard_link(temporary, path) {
        Ok(()) => {
            let _ = fs::remove_file(temporary);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(OutputError::Exists(path.to_path_buf()))
        }
        // FAT and exFAT USB sticks and some network shares have no hard
        // links: check, then rename.
        Err(_) if !path.exists() => {
            fs::rename(temporary, path).map_err(|source| OutputError::Write {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(_) => Err(OutputError::Exists(path.to_path_buf())),
    }
}

/// `.NAME.RANDOM.tmp` in the same folder (so the rename stays on one disk),
/// written and flushed; a random name never meets one left by a crash.
fn write_temporary(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(temporary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_privately_refuses_to_overwrite_and_replaces_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv");
        write_file(&path, b"one", false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let error = write_file(&path, b"two", false).unwrap_err();
        assert!(matches!(error, OutputError::Exists(_)), "{error}");
        assert!(error.to_string().contains("--force"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"one");

        write_file(&path, b"two", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_missing_folder_says_so() {
        let error = write_file(Path::new("/nonexistent/dir/r.csv"), b"x", false).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/nonexistent/dir/r.csv"), "{message}");
        assert!(message.contains("create it first"), "{message}");
    }
}
