//! Writing a report file: to a temporary name first, then into place, so a
//! crash or a full disk never leaves half a report under the real name; an
//! existing file is replaced only when asked, and only a regular file ever
//! is: never a device like `/dev/null`, a FIFO, a socket, a folder or a
//! symbolic link (renaming onto a link would replace the link, not the file
//! it points to; following it would let a link planted in a shared folder
//! aim the report at any file).

use std::fmt;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0} already exists; pass --force to replace it")]
    Exists(PathBuf),
    #[error(
        "cannot write {path}: it is {kind}, and only a regular file is replaced by a report, even with --force; {}",
        .kind.advice()
    )]
    NotAFile { path: PathBuf, kind: Kind },
    #[error("cannot write {path}: the folder {folder} does not exist; create it first")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// What stands at a report's name when it is not a regular file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Folder,
    /// With the path it points to, as the link says it.
    Symlink(Option<PathBuf>),
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl Kind {
    /// `None` for a regular file.
    fn of(metadata: &Metadata, path: &Path) -> Option<Kind> {
        let file_type = metadata.file_type();
        if file_type.is_file() {
            None
        } else if file_type.is_dir() {
            Some(Kind::Folder)
        } else if file_type.is_symlink() {
            Some(Kind::Symlink(fs::read_link(path).ok()))
        } else if file_type.is_fifo() {
            Some(Kind::Fifo)
        } else if file_type.is_socket() {
            Some(Kind::Socket)
        } else if file_type.is_char_device() {
            Some(Kind::CharDevice)
        } else {
            Some(Kind::BlockDevice)
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            Kind::Symlink(_) => "give the path of the file it points to, or another name",
            _ => "choose another name",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Folder => f.write_str("a folder"),
            Kind::Symlink(Some(target)) => {
                write!(f, "a symbolic link (to {})", target.display())
            }
            Kind::Symlink(None) => f.write_str("a symbolic link"),
            Kind::Fifo => f.write_str("a FIFO (named pipe)"),
            Kind::Socket => f.write_str("a socket"),
            Kind::CharDevice => f.write_str("a character device"),
            Kind::BlockDevice => f.write_str("a block device"),
        }
    }
}

/// Whether a report may be written to `path`: nothing is there, or a
/// regular file is and `replace` is set. A link is not followed, and
/// nothing is opened (opening a FIFO would wait for a reader).
pub fn check_target(path: &Path, replace: bool) -> Result<(), OutputError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError::Write {
            path: path.to_path_buf(),
            source,
        }),
        Ok(metadata) => match Kind::of(&metadata, path) {
            Some(kind) => Err(OutputError::NotAFile {
                path: path.to_path_buf(),
                kind,
            }),
            None if replace => Ok(()),
            None => Err(OutputError::Exists(path.to_path_buf())),
        },
    }
}

/// A report's mode unless `report.file_mode` says otherwise: reports hold
/// students' names, private like the database.
pub const PRIVATE: u32 = 0o600;

/// The mode `report.file_mode` may give: the owner reads and writes, the
/// group and others may be let read (a shared folder the LMS upload is
/// taken from), never write or run.
pub fn parse_file_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    let mode = u32::from_str_radix(digits, 8)
        .map_err(|_| format!("`{text}` is not an octal file mode like \"0600\""))?;
    if mode & 0o600 != 0o600 || mode & !0o644 != 0 {
        return Err(format!(
            "`{text}` is not a mode for a report: one of \"0600\" (the default), \"0640\", \"0604\" or \"0644\""
        ));
    }
    Ok(mode)
}

/// Writes `bytes` to `path`, with `mode` (`PRIVATE` unless configured).
pub fn write_file(path: &Path, bytes: &[u8], replace: bool, mode: u32) -> Result<(), OutputError> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    // Only a folder that is not there is one to create; a folder that
    // cannot be looked into says why.
    match fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => {}
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(OutputError::Write {
                path: path.to_path_buf(),
                source: e,
            });
        }
        _ => {
            return Err(OutputError::NoFolder {
                path: path.to_path_buf(),
                folder: folder.to_path_buf(),
            });
        }
    }
    check_target(path, replace)?;
    let failed = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let temporary = write_temporary(path, bytes, mode).map_err(failed)?;
    let placed = if replace {
        // Checked again just before: the temporary file took a while, and
        // a rename replaces whatever is at the name.
        check_target(path, true).and_then(|()| fs::rename(&temporary, path).map_err(failed))
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
        // Whatever took the name, say what it is.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(check_target(path, false)
            .err()
            .unwrap_or_else(|| OutputError::Exists(path.to_path_buf()))),
        // FAT and exFAT USB sticks and some network shares have no hard
        // links: check (a dangling link is a name taken too), then rename.
        Err(_) => check_target(path, false).and_then(|()| {
            fs::rename(temporary, path).map_err(|source| OutputError::Write {
                path: path.to_path_buf(),
                source,
            })
        }),
    }
}

/// `.NAME.RANDOM.tmp` in the same folder (so the rename stays on one disk),
/// written and flushed; a random name never meets one left by a crash.
fn write_temporary(path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
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
    // Made private, then given its mode exactly (the umask would take
    // the group's read away).
    let written = file
        .set_permissions(fs::Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
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
        write_file(&path, b"one", false, PRIVATE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let error = write_file(&path, b"two", false, PRIVATE).unwrap_err();
        assert!(matches!(error, OutputError::Exists(_)), "{error}");
        assert!(error.to_string().contains("--force"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"one");

        write_file(&path, b"two", true, PRIVATE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_configured_mode_is_given_exactly_and_only_a_readable_one_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.csv");
        write_file(&path, b"x", false, parse_file_mode("0640").unwrap()).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        for good in ["0600", "600", "0o644", "0604"] {
            assert!(parse_file_mode(good).is_ok(), "{good}");
        }
        for bad in [
            "0666",
            "0700",
            "0400",
            "0660",
            "rw-r-----",
            "",
            "0602",
            "0o0o644",
        ] {
            assert!(parse_file_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_regular_file_is_replaced_and_a_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.csv");
        fs::write(&target, b"kept").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let folder = dir.path().join("folder.csv");
        fs::create_dir(&folder).unwrap();
        let socket = dir.path().join("socket.csv");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();

        for replace in [false, true] {
            for (path, kind) in [
                (&link, "a symbolic link (to "),
                (&dangling, "a symbolic link (to "),
                (&folder, "a folder"),
                (&socket, "a socket"),
            ] {
                let error = write_file(path, b"new", replace, PRIVATE).unwrap_err();
                let message = error.to_string();
                assert!(matches!(error, OutputError::NotAFile { .. }), "{message}");
                assert!(
                    message.contains(&path.display().to_string()) && message.contains(kind),
                    "{message}"
                );
                assert!(
                    message.contains("only a regular file"),
                    "not a hint to --force: {message}"
                );
            }
        }
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"kept");
        assert!(
            !dir.path().join("nowhere").exists(),
            "nothing through a link"
        );
        assert!(
            write_file(&link, b"x", true, PRIVATE)
                .unwrap_err()
                .to_string()
                .contains("the file it points to"),
            "a link's advice"
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 5, "no temporary file is left behind");
    }

    #[test]
    fn a_missing_folder_says_so() {
        let error =
            write_file(Path::new("/nonexistent/dir/r.csv"), b"x", false, PRIVATE).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/nonexistent/dir/r.csv"), "{message}");
        assert!(message.contains("create it first"), "{message}");
    }
}
