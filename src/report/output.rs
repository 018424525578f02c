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
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Writes `bytes` to `path`. Reports hold students' names: the file is
/// made 0600, like the database.
pub fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), OutputError> {
    let failed = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    if !replace && path.exists() {
        return Err(OutputError::Exists(path.to_path_buf()));
    }
    let temporary = temporary_name(path);
    let result = write_temporary(&temporary, bytes).and_then(|()| {
        if replace {
            fs::rename(&temporary, path)
        } else {
            // A hard link fails if the name was taken meanwhile; rename
            // would silently replace it.
            fs::hard_link(&temporary, path).and_then(|()| fs::remove_file(&temporary))
        }
    });
    if let Err(error) = result {
        let _ = fs::remove_file(&temporary);
        if error.kind() == io::ErrorKind::AlreadyExists {
            return Err(OutputError::Exists(path.to_path_buf()));
        }
        return Err(failed(error));
    }
    // The rename is only durable once the folder is flushed too.
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(folder).and_then(|f| f.sync_all());
    }
    Ok(())
}

fn write_temporary(temporary: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temporary)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `.name.tmp-PID` in the same folder, so the rename stays on one disk.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
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
    fn a_missing_folder_is_a_clear_error() {
        let error = write_file(Path::new("/nonexistent/dir/r.csv"), b"x", false).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/dir/r.csv"),
            "{error}"
        );
    }
}
