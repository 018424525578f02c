//! The store on real SQLite files.

use crate::common::{Sandbox, at, uid};
use chrono::Duration;
use std::os::unix::fs::PermissionsExt;
use taproll::domain::{Mark, MarkSource, Outcome};
use taproll::rules::Policy;
use taproll::store::{Store, StoreError};

/// A course with two students, Ada (card 04A1B2C3) and Alan (no card), and a
/// session that started at 09:00.
fn class(store: &Store) -> taproll::domain::Session {
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ada = store.upsert_student("s1", "Ada Lovelace").unwrap();
    let alan = store.upsert_student("s2", "Alan Turing").unwrap();
    store.enrol(course.id, ada.id, &at("08:00:00")).unwrap();
    store.enrol(course.id, alan.id, &at("08:00:00")).unwrap();
    store
        .bind_card(&uid("04A1B2C3"), ada.id, &at("08:00:00"))
        .unwrap();
    store
        .start_or_resume_session(&course, &at("09:00:00"), &at("09:00:00"))
        .unwrap()
}

#[test]
fn the_database_and_its_lock_are_created_private() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("sub/taproll.db");
    let store = Store::open(&path).unwrap();
    class(&store);
    for file in [path.clone(), sandbox.path("sub/taproll.db.lock")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let wal = sandbox.path("sub/taproll.db-wal");
    let mode = std::fs::metadata(&wal).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the WAL holds the same data");
}

#[test]
fn a_tap_commits_the_raw_tap_the_mark_and_an_outbox_event() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    let mut store = Store::open(&path).unwrap();
    let session = class(&store);
    let record = store
        .record_tap(
            &session,
            &Policy::default(),
            "Door A",
            &uid("04a1b2c3"),
            &at("09:04:00"),
        )
        .unwrap();
    assert_eq!(record.outcome, Outcome::Present);
    assert_eq!(record.student.as_ref().unwrap().name, "Ada Lovelace");
    drop(store);

    // Read back with a plain SQLite connection: what is on disk is the truth.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tap: (String, String, String, String) = conn
        .query_row("SELECT at, reader, uid, outcome FROM taps", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(
        tap,
        (
            "2026-11-30T09:04:00.000+01:00".into(),
            "Door A".into(),
            "04A1B2C3".into(),
            "present".into()
        )
    );
    let mark: (String, String, i64) = conn
        .query_row("SELECT mark, source, tap_id FROM marks", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(mark, ("present".into(), "card".into(), record.tap_id));
    let events: Vec<String> = conn
        .prepare("SELECT event FROM outbox WHERE sent_at IS NULL AND kind IN ('tap', 'mark') ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let events: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "the tap and the mark it gave");
    assert_eq!(events[0]["kind"], "tap");
    assert_eq!(events[0]["student_no"], "s1");
    assert_eq!(events[0]["outcome"], "present");
    assert_eq!(events[1]["kind"], "mark");
    assert_eq!(events[1]["mark"], "present");
    assert_eq!(events[1]["cause"], "tap");
}

#[test]
fn outcomes_follow_the_rules_across_taps() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let session = class(&store);
    let policy = Policy::default();
    let mut tap = |card: &str, time: &str| {
        store
            .record_tap(&session, &policy, "Door", &uid(card), &at(time))
            .unwrap()
            .outcome
    };
    assert_eq!(tap("04A1B2C3", "09:12:00"), Outcome::Late);
    assert_eq!(tap("04A1B2C3", "09:12:01"), Outcome::Repeat);
    assert_eq!(
        tap("04A1B2C3", "09:13:00"),
        Outcome::Duplicate {
            first_at: at("09:12:00")
        }
    );
    assert_eq!(tap("DEADBEEF", "09:13:00"), Outcome::Unknown);
    assert_eq!(tap("DEADBEEF", "09:13:02"), Outcome::Repeat);

    let rows = store.roster(&session).unwrap();
    let ada = rows.iter().find(|r| r.student.student_no == "s1").unwrap();
    assert_eq!(ada.mark, Some(Mark::Late));
    assert_eq!(ada.source, Some(MarkSource::Card));
    assert_eq!(ada.marked_at, Some(at("09:12:00")));
    let alan = rows.iter().find(|r| r.student.student_no == "s2").unwrap();
    assert_eq!(alan.mark, None);
    // Every raw tap is kept, repeats included.
    let outcomes: Vec<String> = store
        .session_taps(session.id)
        .unwrap()
        .into_iter()
        .map(|(_, _, outcome)| outcome)
        .collect();
    assert_eq!(
        outcomes,
        ["late", "repeat", "duplicate", "unknown", "repeat"]
    );
}

#[test]
fn a_card_of_a_student_on_another_course_is_not_enrolled() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    class(&store);
    let other = store.ensure_course("Databases", &at("08:00:00")).unwrap();
    let session = store
        .start_or_resume_session(&other, &at("11:00:00"), &at("11:00:00"))
        .unwrap();
    let record = store
        .record_tap(
            &session,
            &Policy::default(),
            "Door",
            &uid("04A1B2C3"),
            &at("11:01:00"),
        )
        .unwrap();
    assert_eq!(record.outcome, Outcome::NotEnrolled);
    assert!(store.roster(&session).unwrap().is_empty());
}

#[test]
fn reopening_resumes_the_open_session_and_keeps_every_tap() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    let session = {
        let mut store = Store::open(&path).unwrap();
        let session = class(&store);
        store
            .record_tap(
                &session,
                &Policy::default(),
                "Door",
                &uid("04A1B2C3"),
                &at("09:01:00"),
            )
            .unwrap();
        session
    };
    let store = Store::open(&path).unwrap();
    let course = store.last_used_course().unwrap().unwrap();
    assert_eq!(course.name, "Networks 101");
    let resumed = store
        .start_or_resume_session(&course, &at("09:30:00"), &at("09:30:00"))
        .unwrap();
    assert_eq!(resumed.id, session.id);
    assert_eq!(resumed.started_at, at("09:00:00"));
    assert_eq!(store.session_taps(session.id).unwrap().len(), 1);
}

#[test]
fn a_second_writer_is_refused_with_a_clear_message() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    let _first = Store::open(&path).unwrap();
    let error = match Store::open(&path) {
        Err(error) => error,
        Ok(_) => panic!("a second writer must be refused"),
    };
    assert!(matches!(error, StoreError::InUse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("in use by another taproll process")
            && message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
}

#[test]
fn the_lock_is_released_when_the_store_closes() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    drop(Store::open(&path).unwrap());
    Store::open(&path).expect("the next writer gets in");
}

#[test]
fn a_database_from_a_newer_taproll_is_refused() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = Store::open(&path).err().expect("refused");
    assert!(error.to_string().contains("schema 99"), "{error}");
}

#[test]
fn a_late_tap_uses_the_policy_cutoff() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let session = class(&store);
    let strict = Policy {
        late_after: Duration::minutes(2),
        ..Policy::default()
    };
    let record = store
        .record_tap(&session, &strict, "Door", &uid("04A1B2C3"), &at("09:02:01"))
        .unwrap();
    assert_eq!(record.outcome, Outcome::Late);
}

#[test]
fn an_open_session_from_an_earlier_class_is_closed_not_resumed() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let old = class(&store);
    store
        .record_tap(
            &old,
            &Policy::default(),
            "Door",
            &uid("04A1B2C3"),
            &at("09:04:00"),
        )
        .unwrap();
    // Next week's class: the old session was never ended.
    let next_week = at("09:00:00") + Duration::days(7);
    let new = store
        .start_or_resume_session(&old.course, &next_week, &next_week)
        .unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(new.started_at, next_week);
    // Ada is not "already counted": it is a new session.
    let record = store
        .record_tap(
            &new,
            &Policy::default(),
            "Door",
            &uid("04A1B2C3"),
            &(next_week + Duration::minutes(1)),
        )
        .unwrap();
    assert_eq!(record.outcome, Outcome::Present);
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let ended: String = conn
        .query_row(
            "SELECT ended_at FROM sessions WHERE id = ?1",
            [old.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        ended, "2026-11-30T09:04:00.000+01:00",
        "closed at its last tap"
    );
}

/// Every student's mark in a session as (student no, mark, source).
fn marks_of(path: &std::path::Path, session_id: i64) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT s.student_no, m.mark, m.source FROM marks m
             JOIN students s ON s.id = m.student_id
             WHERE m.session_id = ?1 ORDER BY s.student_no",
        )
        .unwrap();
    statement
        .query_map([session_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_stale_session_closed_at_the_next_start_marks_absentees_as_x_does() {
    let marks_after = |close_stale: bool| {
        let sandbox = Sandbox::new();
        let path = sandbox.path("taproll.db");
        let mut store = Store::open(&path).unwrap();
        let old = class(&store);
        store
            .record_tap(
                &old,
                &Policy::default(),
                "Door",
                &uid("04A1B2C3"),
                &at("09:04:00"),
            )
            .unwrap();
        if close_stale {
            let next_week = at("09:00:00") + Duration::days(7);
            store
                .start_or_resume_session(&old.course, &next_week, &next_week)
                .unwrap();
        } else {
            store.end_session(&old, &at("10:30:00")).unwrap();
        }
        let ends: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM outbox WHERE kind = 'session_end'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (marks_of(&path, old.id), ends)
    };
    let by_x = marks_after(false);
    assert_eq!(
        by_x.0,
        [
            ("s1".to_string(), "present".to_string(), "card".to_string()),
            ("s2".to_string(), "absent".to_string(), "auto".to_string()),
        ]
    );
    assert_eq!(
        marks_after(true),
        by_x,
        "the same marks and end event as `x`"
    );
}

#[test]
fn sessions_closed_stale_by_an_older_taproll_get_their_absentees_on_upgrade() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    // A database as taproll at schema 3 left it: session 1 ended by x (its
    // absentee marked, its end queued), session 2 closed stale at the next
    // start (no absentees, no end event), and Grace enrolled after both.
    Store::create_at_version(&path, 3).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "INSERT INTO courses VALUES (1, 'Networks 101', '2026-11-30T08:00:00.000+01:00');
         INSERT INTO students (id, student_no, name) VALUES
             (1, 's1', 'Ada Lovelace'), (2, 's2', 'Alan Turing'), (3, 's3', 'Grace Hopper');
         INSERT INTO enrolments (course_id, student_id) VALUES (1, 1), (1, 2), (1, 3);
         INSERT INTO sessions (id, course_id, started_at, ended_at) VALUES
             (1, 1, '2026-11-30T09:00:00.000+01:00', '2026-11-30T10:30:00.000+01:00'),
             (2, 1, '2026-11-30T11:00:00.000+01:00', '2026-11-30T11:01:00.000+01:00');
         INSERT INTO taps (id, session_id, at, reader, uid, outcome, student_id) VALUES
             (1, 1, '2026-11-30T09:04:00.000+01:00', 'Door', '04A1B2C3', 'present', 1),
             (2, 2, '2026-11-30T11:01:00.000+01:00', 'Door', '04A1B2C3', 'present', 1);
         INSERT INTO marks (session_id, student_id, mark, source, at, tap_id) VALUES
             (1, 1, 'present', 'card', '2026-11-30T09:04:00.000+01:00', 1),
             (1, 2, 'absent', 'auto', '2026-11-30T10:30:00.000+01:00', NULL),
             (2, 1, 'present', 'card', '2026-11-30T11:01:00.000+01:00', 2);
         INSERT INTO cards (uid, student_id, added_at) VALUES
             ('04A1B2C3', 1, '2026-11-30T08:00:00.000+01:00');
         INSERT INTO outbox (event_id, kind, payload, created_at) VALUES
             ('e1', 'session_end', '{\"session_id\":1,\"kind\":\"session_end\"}',
              '2026-11-30T10:30:00.000+01:00');",
    )
    .unwrap();
    drop(conn);
    drop(Store::open(&path).unwrap());
    assert_eq!(
        marks_of(&path, 2),
        [
            ("s1".to_string(), "present".to_string(), "card".to_string()),
            ("s2".to_string(), "absent".to_string(), "auto".to_string()),
            ("s3".to_string(), "absent".to_string(), "auto".to_string()),
        ]
    );
    let note: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT note FROM marks WHERE session_id = 2 AND student_id = 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(note.contains("added on upgrade"), "{note}");
    assert_eq!(
        marks_of(&path, 1),
        [
            ("s1".to_string(), "present".to_string(), "card".to_string()),
            ("s2".to_string(), "absent".to_string(), "auto".to_string()),
        ],
        "a session ended by x is untouched"
    );
    // Schema 5: a device, UUIDs, the old queue kept, and what the database
    // held told once as events, which rebuild the same marks elsewhere.
    let store = Store::open(&path).unwrap();
    store.device_id().unwrap();
    assert_ne!(
        store.session_uuid(1).unwrap(),
        store.session_uuid(2).unwrap()
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM outbox_v1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 1);
    let events = store.outbox_events().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        [
            "student_saved",
            "student_saved",
            "student_saved",
            "card_bound",
            "session_started",
            "tap",
            "session_ended",
            "session_started",
            "tap",
            "session_ended"
        ]
    );
    let replayed = sandbox.path("replayed.db");
    Store::open(&replayed).unwrap().replay(&events).unwrap();
    for session in [1, 2] {
        assert_eq!(marks_of(&replayed, session), marks_of(&path, session));
    }
}

#[test]
fn a_new_session_chosen_at_the_resume_question_takes_the_taps_since_along() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    let mut store = Store::open(&path).unwrap();
    let old = class(&store);
    let policy = Policy::default();
    store
        .record_tap(&old, &policy, "Door", &uid("04A1B2C3"), &at("09:04:00"))
        .unwrap();
    // taproll restarts at 13:00 and asks; taps go on being recorded.
    let since = store.last_tap_id().unwrap();
    let during = store
        .record_tap(&old, &policy, "Door", &uid("04A1B2C3"), &at("13:00:05"))
        .unwrap();
    assert!(matches!(during.outcome, Outcome::Duplicate { .. }));
    store
        .record_tap(&old, &policy, "Door", &uid("04FFFFFF"), &at("13:00:09"))
        .unwrap();
    // Alan's first tap ever comes during the question.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let alan_id: i64 = conn
        .query_row("SELECT id FROM students WHERE student_no = 's2'", [], |r| {
            r.get(0)
        })
        .unwrap();
    store
        .bind_card(&uid("04B0B0B0"), alan_id, &at("08:00:00"))
        .unwrap();
    let first = store
        .record_tap(&old, &policy, "Door", &uid("04B0B0B0"), &at("13:00:12"))
        .unwrap();
    assert!(
        matches!(first.outcome, Outcome::Late),
        "{:?}",
        first.outcome
    );
    let (new, moved) = store
        .restart_session(&old, &policy, since, &at("13:00:00"), None, &at("13:00:20"))
        .unwrap();
    assert_eq!(moved, 3);
    assert_ne!(new.id, old.id);
    let taps: Vec<String> = store
        .session_taps(new.id)
        .unwrap()
        .into_iter()
        .map(|(_, uid, outcome)| format!("{uid} {outcome}"))
        .collect();
    assert_eq!(
        taps,
        ["04A1B2C3 present", "04FFFFFF unknown", "04B0B0B0 present"],
        "decided again"
    );
    assert_eq!(store.session_taps(old.id).unwrap().len(), 1);
    assert_eq!(
        marks_of(&path, old.id),
        [
            ("s1".to_string(), "present".to_string(), "card".to_string()),
            ("s2".to_string(), "absent".to_string(), "auto".to_string()),
        ],
        "the old session keeps its own taps and is ended as x ends it: Alan's mark left it"
    );
    assert_eq!(
        marks_of(&path, new.id),
        [
            ("s1".to_string(), "present".to_string(), "card".to_string()),
            ("s2".to_string(), "present".to_string(), "card".to_string()),
        ]
    );
    let ended: String = conn
        .query_row(
            "SELECT ended_at FROM sessions WHERE id = ?1",
            [old.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        ended, "2026-11-30T09:04:00.000+01:00",
        "at its last own tap"
    );
    let queued: Vec<(String, String)> = conn
        .prepare(
            "SELECT kind, json_extract(event, '$.session') FROM outbox
             WHERE kind IN ('tap', 'tap_moved') ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let old_uuid = store.session_uuid(old.id).unwrap().to_string();
    let new_uuid = store.session_uuid(new.id).unwrap().to_string();
    let tap = |uuid: &String| ("tap".to_string(), uuid.clone());
    let moved = ("tap_moved".to_string(), new_uuid.clone());
    assert_eq!(
        queued,
        [
            tap(&old_uuid),
            tap(&old_uuid),
            tap(&old_uuid),
            tap(&old_uuid),
            moved.clone(),
            moved.clone(),
            moved
        ],
        "each tap told once where it was recorded, and its move"
    );
}

/// The server push will write the outbox from a second connection while the
/// classroom records: every read-then-write transaction must begin
/// IMMEDIATE, or it fails with SQLITE_BUSY_SNAPSHOT (busy_timeout does not
/// retry that).
#[test]
fn a_second_writing_connection_causes_no_busy_error_and_no_lost_write() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    let mut store = Store::open(&path).unwrap();
    let session = class(&store);
    let ada: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT id FROM students WHERE student_no = 's1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let done = AtomicBool::new(false);
    let sent = std::thread::scope(|scope| {
        // The sender: marks queued events sent, a few at a time, until the
        // class is over and nothing is left.
        let sender = scope.spawn(|| {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let mut sent = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let tx = rusqlite::Transaction::new_unchecked(
                    &conn,
                    rusqlite::TransactionBehavior::Immediate,
                )
                .unwrap();
                let batch: Vec<i64> = tx
                    .prepare("SELECT seq FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 5")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                for seq in &batch {
                    tx.execute("UPDATE outbox SET sent_at = 'now' WHERE seq = ?1", [seq])
                        .unwrap();
                }
                tx.commit().unwrap();
                sent += batch.len();
                if finished && batch.is_empty() {
                    return sent;
                }
            }
        });
        // However the class ends, even by a failed write, the sender stops.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let finish = Done(&done);
        let policy = Policy::default();
        for i in 0..300 {
            let when = at("09:01:00") + Duration::milliseconds(i * 700);
            let card = if i % 3 == 0 {
                "04A1B2C3".to_string()
            } else {
                format!("04FF{i:06X}")
            };
            store
                .record_tap(&session, &policy, "Door", &uid(&card), &when)
                .unwrap();
            // Marks by hand and undo read, then write.
            store
                .set_manual_mark(&session, ada, Mark::Excused, Some("x"), &when)
                .unwrap();
            store.undo_last_change(&session, &when).unwrap();
        }
        drop(finish);
        sender.join().unwrap()
    });
    let conn = rusqlite::Connection::open(&path).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM taps"), 300, "no tap lost");
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE sent_at IS NULL"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM outbox") as usize,
        sent,
        "each sent once"
    );
}
