//! What is at a database path, looked at before SQLite opens it: a
//! folder, a device, a file of another program or a damaged one is named as
//! such, and nothing is written there.

use super::{Result, StoreError, beside, has_content};
use std::path::Path;

/// What is at a database path, learnt without writing anything there.
pub(super) enum Found {
    Nothing,
    Empty,
    /// An SQLite file; `wal` when it is in WAL mode.
    Sqlite {
        wal: bool,
    },
}

/// Looks at the path before SQLite does: a folder, a device or a file that
/// is not SQLite is named as such (SQLite would say "disk I/O error" or "file
/// is not a database"), and a file shorter than its header says is damaged.
pub(super) fn examine(path: &Path) -> Result<Found> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(open_error(e)),
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(StoreError::Folder {
            path: path.to_path_buf(),
        });
    }
    if !kind.is_file() {
        return Err(StoreError::NotAFile {
            path: path.to_path_buf(),
            kind: if kind.is_fifo() {
                "a FIFO"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "a device"
            },
        });
    }
    if meta.len() == 0 {
        return Ok(Found::Empty);
    }
    let mut header = Vec::with_capacity(100);
    std::fs::File::open(path)
        .and_then(|file| file.take(100).read_to_end(&mut header))
        .map_err(open_error)?;
    if !header.starts_with(b"SQLite format 3\0") {
        return Err(StoreError::NotOurs {
            path: path.to_path_buf(),
            why: "it is not an SQLite file".to_string(),
        });
    }
    let damaged = |why: String| StoreError::Damaged {
        path: path.to_path_buf(),
        why,
    };
    if header.len() < 100 {
        return Err(damaged(format!(
            "it is {} bytes, shorter than an SQLite header",
            header.len()
        )));
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        size => u64::from(size),
    };
    // The page count in the header is valid when the change counter matches
    // (always, since SQLite 3.7). Changes still in a -wal or -journal file
    // may leave the main file short for a moment: look only without them.
    let pages = u64::from(be32(28));
    let expected = pages * page_size;
    if be32(24) == be32(92)
        && meta.len() < expected
        && !has_content(&beside(path, "-wal"))
        && !has_content(&beside(path, "-journal"))
    {
        return Err(damaged(format!(
            "it is {} bytes where its header says {expected}: it was cut short, by a full disk or an interrupted copy",
            meta.len()
        )));
    }
    Ok(Found::Sqlite {
        wal: header[18] == 2 && header[19] == 2,
    })
}
