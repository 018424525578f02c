//! The schema, one list of migrations per backend, in step: entry N of one
//! is entry N of the other. Never edit a shipped entry; add one.
//!
//! Everything a device sent is in `events`, untouched (its JSON as
//! received, its times as the device wrote them); `sessions`, `taps`,
//! `marks`, `students`, `enrolments` and `cards` are projections, rebuilt
//! from `events` at any time. Every row carries the institution of the
//! token that wrote it, and every read is filtered by it.

pub const SQLITE: &[&str] = &[r#"
    CREATE TABLE institutions (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE devices (
        id              TEXT PRIMARY KEY,
        institution_id  INTEGER NOT NULL REFERENCES institutions(id),
        room            TEXT NOT NULL,
        token_hash      TEXT NOT NULL UNIQUE,
        device_id       TEXT,
        created_at      TEXT NOT NULL,
        revoked_at      TEXT,
        last_seen_at    TEXT,
        last_seq        INTEGER NOT NULL DEFAULT 0,
        events          INTEGER NOT NULL DEFAULT 0,
        clock_offset_ms INTEGER,
        lag_ms          INTEGER
    );
    CREATE TABLE events (
        institution_id  INTEGER NOT NULL,
        event_id        TEXT NOT NULL,
        device_id       TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        kind            TEXT NOT NULL,
        at              TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        sent_at         TEXT NOT NULL,
        body            TEXT NOT NULL,
        -- 0: not applied to the projections (a kind this server does not
        -- know, or a projection that failed): for a rebuild to take up
        projected       INTEGER NOT NULL,
        PRIMARY KEY (institution_id, event_id)
    );
    CREATE INDEX events_device ON events(device_id, seq);
    CREATE TABLE sessions (
        institution_id  INTEGER NOT NULL,
        session         TEXT NOT NULL,
        device_id       TEXT NOT NULL,
        -- the device registration (devices.id) that sent it: its room
        registration    TEXT NOT NULL,
        course          TEXT NOT NULL,
        planned_start   TEXT NOT NULL,
        label           TEXT,
        ended_at        TEXT,
        PRIMARY KEY (institution_id, session)
    );
    CREATE INDEX sessions_course ON sessions(institution_id, course, planned_start);
    CREATE TABLE taps (
        institution_id  INTEGER NOT NULL,
        tap             TEXT NOT NULL,
        session         TEXT NOT NULL,
        tapped_at       TEXT NOT NULL,
        reader          TEXT NOT NULL,
        uid             TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        student_no      TEXT,
        PRIMARY KEY (institution_id, tap)
    );
    CREATE TABLE marks (
        institution_id  INTEGER NOT NULL,
        session         TEXT NOT NULL,
        student_no      TEXT NOT NULL,
        mark            TEXT NOT NULL,
        source          TEXT NOT NULL,
        note            TEXT,
        marked_at       TEXT NOT NULL,
        tap             TEXT,
        -- the event that set it: an older one sent late does not overwrite
        seq             INTEGER NOT NULL,
        PRIMARY KEY (institution_id, session, student_no)
    );
    CREATE TABLE students (
        institution_id  INTEGER NOT NULL,
        student_no      TEXT NOT NULL,
        name            TEXT NOT NULL,
        email           TEXT,
        PRIMARY KEY (institution_id, student_no)
    );
    CREATE TABLE enrolments (
        institution_id  INTEGER NOT NULL,
        course          TEXT NOT NULL,
        student_no      TEXT NOT NULL,
        section         TEXT,
        PRIMARY KEY (institution_id, course, student_no)
    );
    CREATE TABLE cards (
        institution_id  INTEGER NOT NULL,
        uid             TEXT NOT NULL,
        student_no      TEXT NOT NULL,
        PRIMARY KEY (institution_id, uid)
    );
"#];

pub const POSTGRES: &[&str] = &[r#"
    CREATE TABLE institutions (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE devices (
        id              TEXT PRIMARY KEY,
        institution_id  BIGINT NOT NULL REFERENCES institutions(id),
        room            TEXT NOT NULL,
        token_hash      TEXT NOT NULL UNIQUE,
        device_id       TEXT,
        created_at      TEXT NOT NULL,
        revoked_at      TEXT,
        last_seen_at    TEXT,
        last_seq        BIGINT NOT NULL DEFAULT 0,
        events          BIGINT NOT NULL DEFAULT 0,
        clock_offset_ms BIGINT,
        lag_ms          BIGINT
    );
    CREATE TABLE events (
        institution_id  BIGINT NOT NULL,
        event_id        TEXT NOT NULL,
        device_id       TEXT NOT NULL,
        seq             BIGINT NOT NULL,
        kind            TEXT NOT NULL,
        at              TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        sent_at         TEXT NOT NULL,
        body            TEXT NOT NULL,
        -- 0: not applied to the projections (a kind this server does not
        -- know, or a projection that failed): for a rebuild to take up
        projected       BIGINT NOT NULL,
        PRIMARY KEY (institution_id, event_id)
    );
    CREATE INDEX events_device ON events(device_id, seq);
    CREATE TABLE sessions (
        institution_id  BIGINT NOT NULL,
        session         TEXT NOT NULL,
        device_id       TEXT NOT NULL,
        -- the device registration (devices.id) that sent it: its room
        registration    TEXT NOT NULL,
        course          TEXT NOT NULL,
        planned_start   TEXT NOT NULL,
        label           TEXT,
        ended_at        TEXT,
        PRIMARY KEY (institution_id, session)
    );
    CREATE INDEX sessions_course ON sessions(institution_id, course, planned_start);
    CREATE TABLE taps (
        institution_id  BIGINT NOT NULL,
        tap             TEXT NOT NULL,
        session         TEXT NOT NULL,
        tapped_at       TEXT NOT NULL,
        reader          TEXT NOT NULL,
        uid             TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        student_no      TEXT,
        PRIMARY KEY (institution_id, tap)
    );
    CREATE TABLE marks (
        institution_id  BIGINT NOT NULL,
        session         TEXT NOT NULL,
        student_no      TEXT NOT NULL,
        mark            TEXT NOT NULL,
        source          TEXT NOT NULL,
        note            TEXT,
        marked_at       TEXT NOT NULL,
        tap             TEXT,
        -- the event that set it: an older one sent late does not overwrite
        seq             BIGINT NOT NULL,
        PRIMARY KEY (institution_id, session, student_no)
    );
    CREATE TABLE students (
        institution_id  BIGINT NOT NULL,
        student_no      TEXT NOT NULL,
        name            TEXT NOT NULL,
        email           TEXT,
        PRIMARY KEY (institution_id, student_no)
    );
    CREATE TABLE enrolments (
        institution_id  BIGINT NOT NULL,
        course          TEXT NOT NULL,
        student_no      TEXT NOT NULL,
        section         TEXT,
        PRIMARY KEY (institution_id, course, student_no)
    );
    CREATE TABLE cards (
        institution_id  BIGINT NOT NULL,
        uid             TEXT NOT NULL,
        student_no      TEXT NOT NULL,
        PRIMARY KEY (institution_id, uid)
    );
"#];
