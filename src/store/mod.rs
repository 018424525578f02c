//! The SQLite store: the record of truth. One writer process per database
//! file, enforced with a lock file next to it.

mod backup;
mod examine;
mod forget;
mod forget_again;
mod import;
mod lock;
mod marks;
mod newest;
mod outbox;
mod pseudonym;
mod purge;
mod replay;
mod report;
mod roster;
mod schema;
mod sessions;
mod sync_queue;
mod taps;

use examine::{Found, examine};
pub use forget::{Again, Footprint, Forgotten};
pub use forget_again::{AppliedAgain, ErasureTrail};
pub use import::{ImportOptions, ImportOutcome, ImportSummary};
use lock::WriterLock;
pub use marks::{Claim, UnclaimedTap, Undone};
pub use purge::{Purge, Unsent};
pub use report::{PurgedTaps, ReportRow, SessionData, UnknownTap};
pub use roster::ListedStudent;
pub use sessions::SessionListing;
pub use sync_queue::{ParkedEvent, QueueCounts, SyncQueue, SyncRecord, Waiting};

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
    #[error(
        "the database {path} cannot be written here ({source}); pass --db with a file in a writable folder (a copy, if this one holds classes)"
    )]
    ReadOnly {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is a folder, not a database file; pass --db with a file name, such as {}",
        path.join("taproll.db").display()
    )]
    Folder { path: PathBuf },
    #[error("{path} is not a regular file (it is {kind}); pass --db with a database file")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path} is not a taproll database ({why}); pass --db with the right file")]
    NotOurs { path: PathBuf, why: String },
    #[error(
        "the database {path} is damaged ({why}); restore it from a backup, or pass --db with another file"
    )]
    Damaged { path: PathBuf, why: String },
    #[error(
        "the database {path} was written by an older taproll (schema {found}, this one uses {known}) and must be upgraded to be read, but it cannot be written here ({why}); copy it to a writable folder and pass --db with the copy"
    )]
    CannotUpgrade {
        path: PathBuf,
        found: i64,
        known: i64,
        why: String,
    },
    #[error(
        "the database {path} cannot be read here: its last changes are in {path}-wal, which SQLite reads only in a writable folder or beside its {path}-shm file; copy the database with its -wal file to a writable folder and pass --db with the copy"
    )]
    WalOnReadOnly { path: PathBuf },
    #[error("cannot use the database {path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database holds a bad value: {0}")]
    BadValue(String),
    #[error("{0}")]
    Conflict(String),
    /// Adding a student with a number another student has.
    #[error("student id {student_no} belongs to {holder}")]
    NumberTaken { student_no: String, holder: String },
}

impl StoreError {
    /// For the log: the message without a student's name (the person at
    /// the keyboard is told the name; the log, kept 14 days, is not).
    pub fn for_log(&self) -> String {
        match self {
            StoreError::NumberTaken { student_no, .. } => {
                format!("student id {student_no} belongs to another student")
            }
            other => other.to_string(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    // Held for the life of a writing store; dropping it lets the next writer
    // in. A read-only store has none: it can run beside the class.
    _lock: Option<WriterLock>,
    /// Called after each commit: wakes the server push (`Store::on_commit`).
    on_commit: Option<Box<dyn Fn() + Send>>,
}

impl Store {
    /// Opens (creating if needed, mode 0600) the database as its one writer.
    /// A file that is not a taproll database is refused before anything
    /// touches it: no lock file beside it, no change of mode.
    pub fn open(path: &Path) -> Result<Self> {
        if let Found::Sqlite { wal } = examine(path)? {
            check_ours(&inspector(path, wal)?, path)?;
        }
        let lock = WriterLock::acquire(path)?;
        create_private_file(path)?;
        let mut conn = Connection::open(path).map_err(|e| located(path, e))?;
        // WAL lets a report read while the roster writes; synchronous=FULL makes
        // each committed tap survive a power cut, not only a crash.
        let setup = |conn: &Connection| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            // What is deleted is overwritten: a forgotten student or a purged
            // tap cannot be read back from the file's free pages.
            conn.pragma_update(None, "secure_delete", "ON")?;
            // A tap runs about ten statements; each is parsed once (the
            // default cache of 16 would let a tap push out another's).
            conn.set_prepared_statement_cache_capacity(64);
            conn.busy_timeout(Duration::from_secs(5))
        };
        setup(&conn).map_err(|e| located(path, e))?;
        schema::migrate(&mut conn, path).map_err(|e| e.at(path))?;
        Ok(Self {
            conn,
            _lock: Some(lock),
            on_commit: None,
        })
    }

    /// Opens an existing database to read only, without the writer lock, so
    /// reports and listings work while a class is being taken, and on
    /// read-only media. A database of an older schema is opened to write
    /// once, to migrate it.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let wal = match examine(path)? {
            Found::Nothing => {
                return Err(StoreError::Open {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such file (no class has been taken with this database yet?)",
                    ),
                });
            }
            Found::Empty => false,
            Found::Sqlite { wal } => wal,
        };
        // A WAL file is looked at first without leaving a -wal or -shm
        // beside it, in case it is not ours; any other on the reader itself.
        if wal {
            check_ours(&inspector(path, wal)?, path)?;
        }
        let (conn, immutable) = open_reader(path, wal, false)?;
        if !wal {
            check_ours(&conn, path)?;
        }
        if schema::needs_migration(&conn, path).map_err(|e| e.at(path))? {
            let found = schema::stored_version(&conn, path).map_err(|e| e.at(path))?;
            drop(conn);
            let cannot_upgrade = |why: String| StoreError::CannotUpgrade {
                path: path.to_path_buf(),
                found,
                known: schema::known_version(),
                why,
            };
            if immutable {
                return Err(cannot_upgrade("the folder is read-only".to_string()));
            }
            return Self::open(path).map_err(|e| match e {
                StoreError::ReadOnly { source, .. } => cannot_upgrade(source.to_string()),
                StoreError::Database { source, .. }
                    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) =>
                {
                    cannot_upgrade(source.to_string())
                }
                other => other,
            });
        }
        Ok(Self {
            conn,
            _lock: None,
            on_commit: None,
        })
    }

    /// Makes a new database file of an earlier schema `version`, as an older
    /// taproll left it: for tests of the upgrade.
    #[doc(hidden)]
    pub fn create_at_version(path: &Path, version: usize) -> Result<()> {
        let conn = Connection::open(path)?;
        schema::migrate_to(&conn, version)
    }

    /// Runs `work` in one transaction: all of it is stored, or none of it.
    pub fn in_transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.begin()?;
        let value = work(self)?;
        self.commit(tx)?;
        Ok(value)
    }

    /// Runs `work` in a transaction of its own, or in the caller's when one
    /// is open (`in_transaction`): a change and its event are stored together.
    fn write<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return work(&self.conn);
        }
        let tx = self.begin()?;
        let value = work(&tx)?;
        self.commit(tx)?;
        Ok(value)
    }

    /// `hook` runs after every commit from now on (not inside one): the
    /// server push is woken by it, and reads what was just committed.
    pub fn on_commit(&mut self, hook: impl Fn() + Send + 'static) {
        self.on_commit = Some(Box::new(hook));
    }

    /// Commits `tx`, then tells `on_commit`.
    fn commit(&self, tx: rusqlite::Transaction<'_>) -> Result<()> {
        tx.commit()?;
        if let Some(hook) = &self.on_commit {
            hook();
        }
        Ok(())
    }

    /// Begins a write transaction. IMMEDIATE, always: a transaction that
    /// reads and then writes must hold the write lock from its first read,
    /// or a second writing connection (the server push) makes it fail with
    /// SQLITE_BUSY_SNAPSHOT, which busy_timeout does not retry.
    fn begin(&self) -> Result<rusqlite::Transaction<'_>> {
        Ok(rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?)
    }
}

impl StoreError {
    /// An SQLite error met while opening, with the database's path.
    fn at(self, path: &Path) -> Self {
        match self {
            StoreError::Sqlite(e) => located(path, e),
            other => other,
        }
    }
}

/// An SQLite error met while opening `path`, named with it.
fn located(path: &Path, error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match error.sqlite_error_code() {
        Some(DatabaseCorrupt | NotADatabase) => StoreError::Damaged {
            path: path.to_path_buf(),
            why: error.to_string(),
        },
        _ => StoreError::Database {
            path: path.to_path_buf(),
            source: error,
        },
    }
}

/// Refuses an SQLite file that another program made.
fn check_ours(conn: &Connection, path: &Path) -> Result<()> {
    match schema::foreign(conn).map_err(|e| e.at(path))? {
        Some(why) => Err(StoreError::NotOurs {
            path: path.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// A read-only connection that has read the schema: SQLite opens lazily,
/// and only the first read says whether it can. `immutable` reads without
/// locks, -wal or -shm: only for a file nothing writes.
fn reader(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if immutable {
        Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)?
    } else {
        Connection::open_with_flags(path, flags)?
    };
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(conn)
}

/// A connection to look at an existing file before it is known to be ours.
fn inspector(path: &Path, wal: bool) -> Result<Connection> {
    Ok(open_reader(path, wal, true)?.0)
}

/// A read-only connection to an existing SQLite file, and whether it is
/// immutable. A WAL file without -wal and -shm files is open nowhere;
/// `when_idle` reads it as immutable, since a plain read-only connection
/// would leave a -wal and a -shm beside it.
fn open_reader(path: &Path, wal: bool, when_idle: bool) -> Result<(Connection, bool)> {
    let idle = !beside(path, "-wal").exists() && !beside(path, "-shm").exists();
    let immutable = || {
        reader(path, true)
            .map(|conn| (conn, true))
            .map_err(|e| located(path, e))
    };
    if wal && idle && when_idle {
        return immutable();
    }
    match reader(path, false) {
        Ok(conn) => Ok((conn, false)),
        // A WAL database is read with its -shm file, which SQLite makes
        // beside it; in a read-only folder it cannot (CANTOPEN on a
        // read-only mount, READONLY where permissions forbid). With no -wal file
        // holding changes the main file is the whole database, and no
        // taproll has it open (its -wal would be there): read it as
        // immutable.
        Err(e)
            if wal
                && matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
                ) =>
        {
            if has_content(&beside(path, "-wal")) {
                return Err(StoreError::WalOnReadOnly {
                    path: path.to_path_buf(),
                });
            }
            tracing::info!(path = %path.display(), "read-only folder: database read as immutable");
            immutable()
        }
        Err(e) => Err(located(path, e)),
    }
}

/// `file:PATH?mode=ro&immutable=1`, the path percent-encoded.
fn immutable_uri(path: &Path) -> std::ffi::OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut uri = b"file:".to_vec();
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(byte);
        } else {
            uri.extend_from_slice(format!("%{byte:02X}").as_bytes());
        }
    }
    uri.extend_from_slice(b"?mode=ro&immutable=1");
    std::ffi::OsString::from_vec(uri)
}

/// `path` with `suffix` added: its -wal, -shm, -journal or .lock file.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn has_content(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.len() > 0)
}

/// An error opening `file` (the database, or its lock) to write.
fn write_error(db: &Path, file: &Path, source: std::io::Error) -> StoreError {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    match source.kind() {
        PermissionDenied | ReadOnlyFilesystem => StoreError::ReadOnly {
            path: db.to_path_buf(),
            source,
        },
        _ => StoreError::Open {
            path: file.to_path_buf(),
            source,
        },
    }
}

/// Creates the database file with mode 0600, or tightens an existing one
/// (and its -wal and -shm files) to it. The folder exists: the lock made it.
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let open_error = |source| write_error(path, path, source);
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
        // Absent until SQLite makes them; then made with the mode above.
        let _ = std::fs::set_permissions(beside(path, suffix), private.clone());
    }
    Ok(())
}

fn parse_time(text: &str) -> Result<crate::domain::Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| StoreError::BadValue(format!("time `{text}`: {e}")))
}

use crate::domain::rfc3339 as format_time;
