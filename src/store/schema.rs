//! Schema migrations, tracked with `PRAGMA user_version`. Each entry moves the
//! database one version up; entries are never edited once released.

use super::{Result, StoreError};
use rusqlite::Connection;
use std::path::Path;

/// A random UUID (version 4) in SQL, for rows made before UUIDs were kept.
macro_rules! uuid4_sql {
    () => {
        "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || \
         substr(lower(hex(randomblob(2))), 2) || '-' || \
         substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || \
         '-' || lower(hex(randomblob(6))))"
    };
}

const MIGRATIONS: &[&str] = &[
    // 1: courses, students, cards, sessions, taps, marks, outbox.
    r#"
    CREATE TABLE courses (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE students (
        id          INTEGER PRIMARY KEY,
        student_no  TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        email       TEXT
    );
    CREATE TABLE enrolments (
        course_id   INTEGER NOT NULL REFERENCES courses(id),
        student_id  INTEGER NOT NULL REFERENCES students(id),
        PRIMARY KEY (course_id, student_id)
    );
    -- A student may have several cards; a card belongs to one student.
    CREATE TABLE cards (
        uid         TEXT PRIMARY KEY,
        student_id  INTEGER NOT NULL REFERENCES students(id),
        added_at    TEXT NOT NULL
    );
    CREATE INDEX cards_student ON cards(student_id);
    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        course_id   INTEGER NOT NULL REFERENCES courses(id),
        started_at  TEXT NOT NULL,
        ended_at    TEXT
    );
    CREATE INDEX sessions_course ON sessions(course_id, id);
    -- Every raw tap, unknown cards and repeats included: the audit trail.
    CREATE TABLE taps (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        at          TEXT NOT NULL,
        reader      TEXT NOT NULL,
        uid         TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        student_id  INTEGER REFERENCES students(id)
    );
    CREATE INDEX taps_uid ON taps(uid, id);
    CREATE INDEX taps_session ON taps(session_id, id);
    -- One mark per student per session.
    CREATE TABLE marks (
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        student_id  INTEGER NOT NULL REFERENCES students(id),
        mark        TEXT NOT NULL CHECK (mark IN ('present', 'late', 'absent', 'excused')),
        source      TEXT NOT NULL CHECK (source IN ('card', 'manual')),
        at          TEXT NOT NULL,
        tap_id      INTEGER REFERENCES taps(id),
        note        TEXT,
        PRIMARY KEY (session_id, student_id)
    );
    -- Events waiting for the server push; written in the same transaction as
    -- the tap, so nothing recorded is ever missing from the queue.
    CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        event_id    TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        sent_at     TEXT
    );
    "#,
    // 2: a course's students may be in sections (from the LMS roster).
    r#"
    ALTER TABLE enrolments ADD COLUMN section TEXT;
    "#,
    // 3: marks made by hand or at the end of a session ('auto' absent), and
    // the audit trail of every change to a mark, which undo walks back.
    r#"
    CREATE TABLE marks_v3 (
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        student_id  INTEGER NOT NULL REFERENCES students(id),
        mark        TEXT NOT NULL CHECK (mark IN ('present', 'late', 'absent', 'excused')),
        source      TEXT NOT NULL CHECK (source IN ('card', 'manual', 'auto')),
        at          TEXT NOT NULL,
        tap_id      INTEGER REFERENCES taps(id),
        note        TEXT,
        PRIMARY KEY (session_id, student_id)
    );
    INSERT INTO marks_v3 SELECT session_id, student_id, mark, source, at, tap_id, note FROM marks;
    DROP TABLE marks;
    ALTER TABLE marks_v3 RENAME TO marks;
    CREATE TABLE mark_changes (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER NOT NULL REFERENCES sessions(id),
        student_id      INTEGER NOT NULL REFERENCES students(id),
        changed_at      TEXT NOT NULL,
        -- 'manual' (set by hand), 'bind' (an earlier tap claimed), 'undo'
        source          TEXT NOT NULL,
        -- the mark after the change; NULL when the change removed it
        mark            TEXT,
        note            TEXT,
        -- the mark row before the change, to undo it; NULL mark: no mark
        before_mark     TEXT,
        before_source   TEXT,
        before_at       TEXT,
        before_tap_id   INTEGER,
        before_note     TEXT,
        -- a claim also bound this card; its owner before (NULL: nobody)
        card_uid        TEXT,
        before_card_owner INTEGER,
        undone          INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX mark_changes_session ON mark_changes(session_id, id);
    -- An optional label for a session: "Lab 3", "Room B12".
    ALTER TABLE sessions ADD COLUMN label TEXT;
    "#,
    // 4: taproll up to schema 3 closed a stale open session (at the next
    // start, after 12 h) without marking the students who never tapped
    // absent, as `x` does. Give those sessions the marks `x` gives. A session
    // ended by `x` has a session_end event in the outbox; these have none.
    // Enrolment then is not recorded: the course's students now stand in, and
    // the note lets a student who joined later be found and excused.
    r#"
    INSERT INTO marks (session_id, student_id, mark, source, at, note)
    SELECT s.id, e.student_id, 'absent', 'auto', s.ended_at,
           'absent: added on upgrade (session not ended with x); enrolled then?'
    FROM sessions s JOIN enrolments e ON e.course_id = s.course_id
    WHERE s.ended_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'session_end'
                      AND json_extract(o.payload, '$.session_id') = s.id)
      AND NOT EXISTS (SELECT 1 FROM marks m
                      WHERE m.session_id = s.id AND m.student_id = e.student_id);
    "#,
    // 5: typed events with global identity (docs/events.md): the device's
    // id, generated once; UUIDs for sessions and taps, which mean the same
    // off this device; an outbox of whole typed events numbered 1, 2, 3...
    // (AUTOINCREMENT: a number is never used twice, even after sent events
    // are cleared). The untyped events queued before were never sent (there
    // was no sender): kept in outbox_v1 for the audit trail.
    concat!(
        "CREATE TABLE device (
            one         INTEGER PRIMARY KEY CHECK (one = 1),
            id          TEXT NOT NULL,
            created_at  TEXT NOT NULL
        );
        INSERT INTO device (id, created_at) VALUES (",
        uuid4_sql!(),
        ", strftime('%Y-%m-%dT%H:%M:%fZ'));
        ALTER TABLE sessions ADD COLUMN uuid TEXT;
        UPDATE sessions SET uuid = ",
        uuid4_sql!(),
        ";
        CREATE UNIQUE INDEX sessions_uuid ON sessions(uuid);
        ALTER TABLE taps ADD COLUMN uuid TEXT;
        UPDATE taps SET uuid = ",
        uuid4_sql!(),
        ";
        CREATE UNIQUE INDEX taps_uuid ON taps(uuid);
        ALTER TABLE outbox RENAME TO outbox_v1;
        CREATE TABLE outbox (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            -- a UUID v7, made here: unique without an index to keep
            event_id    TEXT NOT NULL,
            kind        TEXT NOT NULL,
            at          TEXT NOT NULL,
            -- the event's own fields (docs/events.md) as JSON; the envelope
            -- is in these columns and the device table
            event       TEXT NOT NULL,
            sent_at     TEXT
        );"
    ),
    // 6: the server push (docs/protocol.md). Per event: how often it was
    // sent without an answer that settled it, the last error, and for an
    // event the server refused for good, when and why it was parked (not
    // sent again until asked). The sender's own state, for `taproll sync
    // --status` in another process: one row.
    r#"
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN last_error TEXT;
    ALTER TABLE outbox ADD COLUMN parked_at TEXT;
    ALTER TABLE outbox ADD COLUMN parked_reason TEXT;
    -- What the sender reads next: neither sent nor parked, in order.
    CREATE INDEX outbox_waiting ON outbox(seq) WHERE sent_at IS NULL AND parked_at IS NULL;
    CREATE INDEX outbox_parked ON outbox(seq) WHERE parked_at IS NOT NULL AND sent_at IS NULL;
    CREATE TABLE sync_state (
        one             INTEGER PRIMARY KEY CHECK (one = 1),
        -- the server the last attempt went to
        server          TEXT,
        last_attempt_at TEXT,
        last_success_at TEXT,
        -- since when every attempt failed (NULL: the last one worked)
        failing_since   TEXT,
        last_error      TEXT,
        -- why the sender stopped (a refused token), NULL when it did not
        stopped         TEXT
    );
    INSERT INTO sync_state (one) VALUES (1);
    "#,
    // 7: privacy (docs/privacy.md). A student forgotten on request: when,
    // the pseudonym that stands for them now, and what was erased, never
    // the erased data itself. Raw taps deleted after
    // `privacy.keep_raw_taps_days`: what reports read of them is kept, the
    // first tap's time on the mark and a session's tap counts.
    r#"
    CREATE TABLE erasures (
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        pseudonym   TEXT NOT NULL,
        erased      TEXT NOT NULL
    );
    ALTER TABLE marks ADD COLUMN first_tap_at TEXT;
    CREATE TABLE purged_taps (
        session_id      INTEGER PRIMARY KEY REFERENCES sessions(id),
        purged_at       TEXT NOT NULL,
        taps            INTEGER NOT NULL,
        duplicates      INTEGER NOT NULL,
        repeats         INTEGER NOT NULL,
        unknown_cards   INTEGER NOT NULL,
        unclaimed_cards INTEGER NOT NULL
    );
    "#,
    // 8: an erasure's `student_saved` events, by `event_id` (a JSON array):
    // in a backup taken before, the same events name the student, whom a
    // restore forgets again (src/store/forget_again.rs). NULL: found by
    // the pseudonym in the outbox.
    r#"
    ALTER TABLE erasures ADD COLUMN events TEXT;
    "#,
];

/// The database is older than this taproll (an error if it is newer).
pub fn needs_migration(conn: &Connection, path: &Path) -> Result<bool> {
    Ok(stored_version(conn, path)? < MIGRATIONS.len() as i64)
}

/// The schema version this taproll writes.
pub fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The schema version of the file; an error if a newer taproll wrote it.
pub fn stored_version(conn: &Connection, path: &Path) -> Result<i64> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    Ok(found)
}

/// The schema version that starts the event log (`docs/events.md`).
const EVENTS_SINCE: usize = 5;

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found = stored_version(conn, path)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        if index + 1 == EVENTS_SINCE {
            // What the database holds so far, told once as events.
            super::outbox::queue_baseline(&tx, &crate::domain::now())?;
        }
        tx.commit()?;
        tracing::info!(version = index + 1, "database migrated");
    }
    Ok(())
}

/// Applies the first `version` migrations to a new database (tests).
pub fn migrate_to(conn: &Connection, version: usize) -> Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().take(version) {
        conn.execute_batch(sql)?;
        conn.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    Ok(())
}

/// Why an SQLite file is another program's, or `None` when it may be ours: a
/// new file has no tables, and taproll's have a version and at least the
/// tables of that version (tables a user added for their own queries are
/// let be).
pub fn foreign(conn: &Connection) -> Result<Option<String>> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let tables = table_names(conn)?;
    if tables.is_empty() {
        return Ok(None);
    }
    let another = "it is an SQLite database of another program";
    if found <= 0 {
        return Ok(Some(format!("{another}, with tables {}", some_of(&tables))));
    }
    let missing: Vec<String> = tables_of_version(found.min(known_version()))?
        .into_iter()
        .filter(|table| !tables.contains(table))
        .collect();
    if missing.is_empty() {
        Ok(None)
    } else {
        Ok(Some(format!(
            "{another}: it has no table {}",
            some_of(&missing)
        )))
    }
}

fn table_names(conn: &Connection) -> Result<Vec<String>> {
    let mut statement = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name",
    )?;
    let names = statement.query_map([], |row| row.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

/// The tables of a taproll database of `version`, made in memory.
fn tables_of_version(version: i64) -> Result<Vec<String>> {
    let conn = Connection::open_in_memory()?;
    for sql in MIGRATIONS.iter().take(version as usize) {
        conn.execute_batch(sql)?;
    }
    table_names(&conn)
}

/// The first few names, for a message.
fn some_of(names: &[String]) -> String {
    match names {
        [a, b, c, _, ..] => format!("{a}, {b}, {c}, …"),
        _ => names.join(", "),
    }
}
