//! Retention (`privacy.keep_raw_taps_days`): with a 30-day window and a
//! database spanning 90 days, the raw taps of sessions older than the
//! window go, with the events that carry them, and every report's counts
//! and first taps stay.

use crate::common::{Sandbox, uid};
use crate::privacy::text;
use chrono::Duration;
use serde_json::Value;
use std::path::Path;
use taproll::rules::Policy;
use taproll::store::Store;

const COURSE: &str = "Networks 101";

/// A weekly session from 90 days ago to 6 days ago: Ada taps (and again,
/// and at once again: a duplicate and a repeat), an unknown card, Alan late
/// every other week, Grace never. Each session ended an hour after start.
fn ninety_days(db: &Path) {
    let store = Store::open(db).unwrap();
    let now = taproll::domain::now();
    let course = store
        .ensure_course(COURSE, &(now - Duration::days(100)))
        .unwrap();
    for (number, name, card) in [
        ("s1", "Ada Lovelace", Some("04A1B2C3")),
        ("s2", "Alan Turing", Some("04B1B2C3D4E5F6")),
        ("s3", "Grace Hopper", None),
    ] {
        let student = store.upsert_student(number, name).unwrap();
        store
            .enrol(course.id, student.id, &(now - Duration::days(100)))
            .unwrap();
        if let Some(card) = card {
            store
                .bind_card(&uid(card), student.id, &(now - Duration::days(100)))
                .unwrap();
        }
    }
    let policy = Policy::default();
    let mut store = store;
    for week in 0..13 {
        let start = now - Duration::days(90 - 7 * week);
        let session = store
            .start_or_resume_session(&course, &start, &start)
            .unwrap();
        let mut tap = |card: &str, after: Duration| {
            store
                .record_tap(&session, &policy, "Door A", &uid(card), &(start + after))
                .unwrap();
        };
        tap("04A1B2C3", Duration::minutes(2));
        tap("04A1B2C3", Duration::minutes(2) + Duration::seconds(1));
        tap("04A1B2C3", Duration::minutes(5));
        tap("04DEADBEEF0001", Duration::minutes(6));
        if week % 2 == 0 {
            tap("04B1B2C3D4E5F6", Duration::minutes(15));
        }
        store
            .end_session(&session, &(start + Duration::hours(1)))
            .unwrap();
    }
}

fn taproll(sandbox: &Sandbox, db: &Path, args: &[&str]) -> String {
    let output = sandbox
        .taproll()
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The course report as JSON, less the lists of unknown taps: those are
/// raw taps themselves (their counts stay in the totals).
fn course_report(sandbox: &Sandbox, db: &Path) -> Value {
    let mut report: Value = serde_json::from_str(&taproll(
        sandbox,
        db,
        &["report", "--course", COURSE, "--format", "json"],
    ))
    .unwrap();
    for session in report["course"]["sessions"].as_array_mut().unwrap() {
        session.as_object_mut().unwrap().remove("unknown_taps");
    }
    report
}

/// Taps (and tap events) of sessions that ended before `days` days ago.
fn old_taps(db: &Path, days: i64) -> (i64, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let before = (taproll::domain::now() - Duration::days(days)).to_rfc3339();
    let old = "SELECT t.uuid FROM taps t JOIN sessions s ON s.id = t.session_id
               WHERE julianday(s.ended_at) < julianday(?1)";
    let taps = conn
        .query_row(&format!("SELECT count(*) FROM ({old})"), [&before], |r| {
            r.get(0)
        })
        .unwrap();
    let events = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM outbox WHERE kind = 'tap'
                 AND json_extract(event, '$.tap') IN ({old})"
            ),
            [&before],
            |r| r.get(0),
        )
        .unwrap();
    (taps, events)
}

fn all_taps(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM taps", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn raw_taps_past_the_window_go_and_every_count_stays() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    ninety_days(&db);
    let config = sandbox.write("config.toml", "[privacy]\nkeep_raw_taps_days = 30\n");
    let config = config.to_str().unwrap();
    let before = course_report(&sandbox, &db);
    let sessions = before["course"]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 13);
    // The fixture has every kind of tap a report counts.
    let totals = &sessions[0]["totals"];
    for count in [
        "present",
        "late",
        "absent",
        "unknown_cards",
        "duplicates",
        "repeats",
    ] {
        assert_eq!(totals[count], 1, "{count}: {totals}");
    }
    // 9 sessions ended more than 30 days ago (90 to 34 days), 4 since.
    assert_eq!(old_taps(&db, 30), (9 * 4 + 5, 9 * 4 + 5));
    let taps = all_taps(&db);

    let dry = taproll(&sandbox, &db, &["purge", "--dry-run", "--config", config]);
    assert!(
        dry.starts_with("Would delete 41 raw tap(s) of 9 session(s) that ended before "),
        "{dry}"
    );
    assert_eq!(all_taps(&db), taps, "a dry run deletes nothing");

    let purge = taproll(&sandbox, &db, &["purge", "--config", config]);
    assert!(
        purge.starts_with("Deleted 41 raw tap(s) of 9 session(s)"),
        "{purge}"
    );
    assert_eq!(old_taps(&db, 30), (0, 0));
    assert_eq!(all_taps(&db), taps - 41, "the last 4 sessions keep theirs");
    assert_eq!(course_report(&sandbox, &db), before);
    // Every format reads the same counts (the JSON above); the table too.
    let table = taproll(&sandbox, &db, &["report", "--course", COURSE]);
    assert!(table.contains("Ada Lovelace"), "{table}");

    let again = taproll(&sandbox, &db, &["purge", "--config", config]);
    assert!(
        again.starts_with("No raw taps of sessions that ended before"),
        "{again}"
    );
}

#[test]
fn a_recorder_deletes_raw_taps_past_the_window_when_it_starts() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    ninety_days(&db);
    let config = sandbox.write("config.toml", "[privacy]\nkeep_raw_taps_days = 60\n");
    let scenario = sandbox.write(
        "scenario.toml",
        "[[tap]]\nat_ms = 0\nuid = \"04A1B2C3\"\nhold_ms = 0\n",
    );
    // 5 sessions ended more than 60 days ago (90 to 62 days).
    assert_eq!(old_taps(&db, 60).0, 5 * 4 + 3);
    let output = sandbox
        .taproll()
        .args(["run", "--headless", "--course", COURSE, "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(old_taps(&db, 60), (0, 0));
    assert!(old_taps(&db, 30).0 > 0, "the sessions since keep theirs");
}

#[test]
fn at_a_recorders_start_raw_taps_still_waiting_for_the_server_wait_too() {
    use taproll::store::Unsent;
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    ninety_days(&db);
    let now = taproll::domain::now();
    let before = now - Duration::days(30);
    let store = Store::open(&db).unwrap();
    let kept = store
        .purge_raw_taps(&before, Unsent::Keep, false, &now)
        .unwrap();
    assert_eq!((kept.sessions, kept.taps, kept.waiting_sessions), (0, 0, 9));
    drop(store);
    assert_eq!(old_taps(&db, 30), (41, 41), "nothing sent, nothing deleted");
    // The server took them: now they go.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE outbox SET sent_at = '2026-01-01T00:00:00.000+00:00'",
            [],
        )
        .unwrap();
    let store = Store::open(&db).unwrap();
    let purged = store
        .purge_raw_taps(&before, Unsent::Keep, false, &now)
        .unwrap();
    assert_eq!(
        (purged.sessions, purged.taps, purged.unsent_events),
        (9, 41, 0)
    );
    drop(store);
    assert_eq!(old_taps(&db, 30), (0, 0));
}
