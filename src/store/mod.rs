//! The SQLite store: the record of truth. One writer process per database
//! file, enforced with a lock file next to it.

mod import;
mod lock;
mod marks;
mod report;
mod roster;
mod schema;
mod sessions;
mod taps;

pub use import::{ImportOptions, ImportOutcome, ImportSummary};
use lock::WriterLock;
pub use marks::{Claim, UnclaimedTap, Undone};
pub use report::{ReportRow, SessionData, UnknownTap};
pub use roster::ListedStudent;
pub use sessions::SessionListing;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database {path} is in use by another taproll process{holder}; close it first, or pass --db to use another file"
    )]
    InUse { path: PathBuf, holder: String },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database {path} was written by a newer taproll (schema {found}, this one knows up to {known}); upgrade taproll"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database holds a bad value: {0}")]
    BadValue(String),
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    // Held for the life of a writing store; dropping it lets the next writer
    // in. A read-only store has none: it can run beside the class.
    _lock: Option<WriterLock>,
}

impl Store {
    /// Opens (creating if needed, mode 0600) the database as its one writer.
    pub fn open(path: &Path) -> Result<Self> {
        let lock = WriterLock::acquire(path)?;
        create_private_file(path)?;
        let mut conn = Connection::open(path)?;
        // WAL lets a report read while the roster writes; synchronous=FULL makes
        // each committed tap survive a power cut, not only a crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        schema::migrate(&mut conn, path)?;
        Ok(Self {
            conn,
            _lock: Some(lock),
        })
    }

    /// Opens an existing database to read only, without the writer lock, so
    /// reports and listings work while a class is being taken. A database of
    /// an older schema is opened to write once, to migrate it.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        if !path.exists() {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file (no class has been taken with this database yet?)",
                ),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        if schema::needs_migration(&conn, path)? {
            drop(conn);
            return Self::open(path);
        }
        Ok(Self { conn, _lock: None })
    }

    /// Runs `work` in one transaction: all of it is stored, or none of it.
    pub fn in_transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(StoreError::from)?;
        let value = work(self)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }
}

/// Creates the database file with mode 0600, or tightens an existing one
/// (and its -wal and -shm files) to it. The folder exists: the lock made it.
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    // SQLite gives new -wal and -shm files the mode of the main file.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(open_error)?;
    let private = std::fs::Permissions::from_mode(0o600);
    file.set_permissions(private.clone()).map_err(open_error)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        // Absent until SQLite makes them; then made with the mode above.
        let _ = std::fs::set_permissions(side, private.clone());
    }
    Ok(())
}

fn parse_time(text: &str) -> Result<crate::domain::Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| StoreError::BadValue(format!("time `{text}`: {e}")))
}

use crate::domain::rfc3339 as format_time;

/// Queues an event for the server push (the sync issue), in the caller's
/// transaction; its random id is the idempotency key.
fn queue_event(
    conn: &Connection,
    kind: &str,
    mut payload: serde_json::Value,
    at: &crate::domain::Timestamp,
) -> Result<()> {
    let event_id = uuid::Uuid::new_v4().to_string();
    payload["event_id"] = event_id.clone().into();
    payload["kind"] = kind.into();
    conn.execute(
        "INSERT INTO outbox (event_id, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![event_id, kind, payload.to_string(), format_time(at)],
    )?;
    Ok(())
}
