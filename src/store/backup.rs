//! Copies of the whole database with SQLite's online backup API, never a
//! file copy: a file copied while the recorder writes can be torn between
//! the main file and its -wal, a backup is the database as of one commit.

use super::{Result, Store, StoreError, check_ours, reader};
use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a copy waits for a lock it cannot get (a checkpoint, say).
const BUSY_FOR: Duration = Duration::from_secs(10);

impl Store {
    /// Opens the database at `path` to copy it, through SQLite alone. Not
    /// `open_read_only`: that first looks at the file with a plain open and
    /// close, and closing any descriptor of a file drops every POSIX lock
    /// the process holds on it, the recorder's own included (a backup at
    /// the end of a session runs inside the recorder).
    pub fn open_to_copy(path: &Path) -> Result<Self> {
        let conn = reader(path, false).map_err(|e| super::located(path, e))?;
        check_ours(&conn, path)?;
        Ok(Self {
            conn,
            _lock: None,
            on_commit: None,
        })
    }

    /// Copies the database into the SQLite file at `dest` (new or empty),
    /// in one step: one read transaction over the whole copy, so it is the
    /// database as of one commit whatever the recorder writes meanwhile
    /// (in WAL mode the recorder does not wait for it). The copy is left
    /// as one file (no -wal), then checked: its problems, none when whole.
    pub fn copy_to(&self, dest: &Path) -> Result<Vec<String>> {
        let mut copy = Connection::open(dest).map_err(|e| super::located(dest, e))?;
        run(&self.conn, &mut copy)?;
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        integrity_problems(&copy)
    }

    /// SQLite's `integrity_check` of this database: its problems, none
    /// when it is whole.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        integrity_problems(&self.conn)
    }

    /// Replaces the whole database with the taproll database at `source`,
    /// which must be whole, and brings it up to this taproll's schema. Only
    /// the writer (`Store::open`) does this: its lock keeps a recorder out
    /// meanwhile.
    pub fn replace_with(&mut self, source: &Path) -> Result<()> {
        let from = reader(source, false).map_err(|e| super::located(source, e))?;
        check_ours(&from, source)?;
        // A backup from a newer taproll would leave a database this one
        // cannot open: refused (the error says so).
        super::schema::stored_version(&from, source).map_err(|e| e.at(source))?;
        let problems = integrity_problems(&from)?;
        if !problems.is_empty() {
            return Err(StoreError::Damaged {
                path: source.to_path_buf(),
                why: problems.join("; "),
            });
        }
        run(&from, &mut self.conn)?;
        super::schema::migrate(&mut self.conn, source).map_err(|e| e.at(source))
    }
}

/// Runs a backup from `from` into `to` in one step, waiting out locks.
fn run(from: &Connection, to: &mut Connection) -> Result<()> {
    let backup = Backup::new(from, to)?;
    let deadline = Instant::now() + BUSY_FOR;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(StoreError::Conflict(
                    "the database stayed locked for the copy; try again".into(),
                ));
            }
            _ => {}
        }
    }
}

fn integrity_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut statement = conn.prepare("PRAGMA integrity_check")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let row = row?;
        if row != "ok" {
            problems.push(row);
        }
    }
    Ok(problems)
}
