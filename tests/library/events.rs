//! The engine on a real database, and the typed events it leaves in the
//! outbox: a whole class (500 taps, marks by hand, undo, claims, a lost
//! card, the end and a tap after it) is told by events alone, with global
//! identities only; replaying them onto an empty database gives the same
//! marks.

use crate::common::{Sandbox, at, time};
use chrono::Duration;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use taproll::domain::{CardUid, Mark, Timestamp};
use taproll::engine::{Engine, Update};
use taproll::events::{Envelope, Event};
use taproll::import::RosterLine;
use taproll::reader::ReaderEvent;
use taproll::rules::Policy;
use taproll::store::{Claim, Store};

/// Student `i`'s card: the first 30 of 40 students have one.
fn card(i: usize) -> CardUid {
    CardUid::parse(&format!("04{i:06X}A1B2C3")).unwrap()
}

fn roster() -> Vec<RosterLine> {
    (0..40)
        .map(|i| RosterLine {
            line: i + 2,
            student_no: format!("s{:04}", 1000 + i),
            name: format!("Student {i}"),
            email: Some(format!("s{i}@example.edu")),
            card: (i < 30).then(|| card(i)),
            section: Some(format!("Group {}", i % 3)),
        })
        .collect()
}

fn tap(engine: &mut Engine, uid: CardUid, when: Timestamp) -> i64 {
    let event = ReaderEvent::Card {
        reader: "Door".into(),
        uid,
        at: when,
    };
    match engine.handle(event) {
        Update::Tap(record) => record.tap_id,
        other => panic!("not recorded: {other:?}"),
    }
}

fn student_id(engine: &Engine, student_no: &str) -> i64 {
    engine
        .roster()
        .unwrap()
        .into_iter()
        .find(|row| row.student.student_no == student_no)
        .unwrap()
        .student
        .id
}

/// A class on `db`: every kind of change the store and the engine make.
fn take_a_class(db: &Path) {
    let store = Store::open(db).unwrap();
    store
        .import_roster(
            "Networks 101",
            &roster(),
            &at("08:00:00"),
            Default::default(),
        )
        .unwrap();
    let course = store.course_by_name("Networks 101").unwrap().unwrap();
    let policy = Policy::default();
    // Last night's session was never ended: closed at the next start.
    let yesterday = time("2026-11-29T19:00:00+01:00");
    let mut store = store;
    let last_night = store
        .start_or_resume_session(&course, &yesterday, &yesterday)
        .unwrap();
    store
        .record_tap(
            &last_night,
            &policy,
            "Door",
            &card(5),
            &(yesterday + Duration::minutes(5)),
        )
        .unwrap();
    let morning = store
        .start_or_resume_labelled(&course, &at("08:00:00"), &at("08:00:00"), Some("Morning"))
        .unwrap();
    store
        .record_tap(&morning, &policy, "Door", &card(1), &at("08:05:00"))
        .unwrap();
    // taproll restarts at 09:00 and finds the morning session open; taps go
    // on while it asks, and the answer is "a new session".
    let mut engine = Engine::new(store, morning, policy)
        .with_new_session_plan(Some(at("09:00:00")), Some("Lab 1".into()))
        .asking_to_resume()
        .unwrap();
    tap(&mut engine, card(2), at("09:00:30"));
    tap(&mut engine, card(1), at("09:00:40"));
    assert_eq!(engine.start_new_session().unwrap(), 2);
    // 500 taps: 29 of the 30 cards over and over (first taps present, then
    // late, then duplicates and repeats), and unknown cards among them.
    let mut when = at("09:01:00");
    let mut unknown_tap = None;
    for i in 0..500 {
        let uid = if i % 25 == 24 {
            CardUid::parse(&format!("04FF{:010X}", i)).unwrap()
        } else {
            card(i % 29)
        };
        let tap_id = tap(&mut engine, uid, when);
        if i == 49 {
            unknown_tap = Some(tap_id);
        }
        when += Duration::seconds(if i < 20 { 10 } else { 2 });
    }
    // By hand: one excused, then undone; one late with a note.
    let s30 = student_id(&engine, "s1030");
    engine.set_mark(s30, Mark::Excused, Some("doctor")).unwrap();
    engine.undo().unwrap();
    engine.set_mark(s30, Mark::Late, Some("bus")).unwrap();
    // A claim: the unknown card was student 31's.
    let s31 = student_id(&engine, "s1031");
    let claimed = engine.claim(unknown_tap.unwrap(), s31, false).unwrap();
    assert!(matches!(claimed, Claim::Bound { .. }), "{claimed:?}");
    // Student 0's card given to student 32 from one of its taps, then undone.
    let moved_tap = tap(&mut engine, card(0), when);
    let s32 = student_id(&engine, "s1032");
    assert!(matches!(
        engine.claim(moved_tap, s32, true).unwrap(),
        Claim::Bound { .. }
    ));
    engine.undo().unwrap();
    // Student 1 lost their card; student 3 gets a new number.
    assert_eq!(
        engine.remove_cards(student_id(&engine, "s1001")).unwrap(),
        1
    );
    let s3 = student_id(&engine, "s1003");
    engine.save_student(Some(s3), "s9003", "Student 3").unwrap();
    engine.end_session().unwrap();
    // After the end: student 29 taps (the card replaces the automatic
    // absent), and student 33 comes with a card bound from the tap.
    tap(&mut engine, card(29), when);
    let late_tap = tap(&mut engine, CardUid::parse("04AB0033AB").unwrap(), when);
    let s33 = student_id(&engine, "s1033");
    engine.claim(late_tap, s33, false).unwrap();
}

/// Rows of a query as text, one string a row.
fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn.prepare(sql).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |r| {
            let values: Vec<String> = (0..columns)
                .map(|i| {
                    r.get::<_, Option<String>>(i)
                        .map(|v| v.unwrap_or_else(|| "NULL".into()))
                })
                .collect::<Result<_, _>>()?;
            Ok(values.join(" | "))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every mark, by global identities: the session, the student, the mark,
/// its source, note and time, and the tap that gave it.
const MARKS: &str = "SELECT se.uuid, st.student_no, m.mark, m.source, m.note, m.at, t.uuid
     FROM marks m JOIN sessions se ON se.id = m.session_id
     JOIN students st ON st.id = m.student_id LEFT JOIN taps t ON t.id = m.tap_id
     ORDER BY 1, 2";

/// Every session and every tap, by global identities.
const SESSIONS: &str = "SELECT s.uuid, c.name, s.started_at, s.ended_at, s.label
     FROM sessions s JOIN courses c ON c.id = s.course_id ORDER BY 1";
const TAPS: &str = "SELECT t.uuid, s.uuid, t.at, t.reader, t.uid, t.outcome, st.student_no
     FROM taps t JOIN sessions s ON s.id = t.session_id
     LEFT JOIN students st ON st.id = t.student_id ORDER BY 1";
const CARDS: &str = "SELECT c.uid, s.student_no FROM cards c
     JOIN students s ON s.id = c.student_id ORDER BY 1";

/// Keys that would carry a local row id.
fn local_ids(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let is_id = key == "id" || key.ends_with("_id");
                if is_id && key != "event_id" && key != "device_id" {
                    found.push(format!("{path}.{key}"));
                }
                local_ids(value, &format!("{path}.{key}"), found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| local_ids(v, path, found)),
        // Only the sequence and the schema version are numbers.
        Value::Number(_) if !path.ends_with(".seq") && !path.ends_with(".schema_version") => {
            found.push(path.to_string());
        }
        _ => {}
    }
}

#[test]
fn a_class_is_told_by_typed_events_that_rebuild_its_marks_elsewhere() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("class.db");
    take_a_class(&db);
    let events: Vec<Envelope> = Store::open(&db).unwrap().outbox_events().unwrap();

    // In order, numbered without gaps, from one device, each once.
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    let devices: HashSet<_> = events.iter().map(|e| e.device_id).collect();
    assert_eq!(devices.len(), 1);
    let ids: HashSet<_> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), events.len());

    // Every kind of change is there.
    let kinds: HashSet<&str> = events.iter().map(|e| e.event.kind()).collect();
    for kind in [
        "student_saved",
        "card_bound",
        "card_removed",
        "session_started",
        "tap",
        "tap_moved",
        "mark",
        "session_ended",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    let taps = events
        .iter()
        .filter(|e| matches!(e.event, Event::Tap { .. }))
        .count();
    assert_eq!(taps, 507, "every tap, unknown cards and repeats included");

    // Global identities only: no local row id anywhere.
    let mut found = Vec::new();
    for envelope in &events {
        local_ids(&serde_json::to_value(envelope).unwrap(), "", &mut found);
    }
    assert!(
        found.is_empty(),
        "local ids or numbers in events: {found:?}"
    );

    // Replayed onto an empty database: the same marks (with their times
    // and taps), sessions, taps and cards.
    let replayed = sandbox.path("replayed.db");
    Store::open(&replayed).unwrap().replay(&events).unwrap();
    let original = rows(&db, MARKS);
    assert!(original.len() >= 80, "{}", original.len());
    assert_eq!(rows(&replayed, MARKS), original);
    for query in [SESSIONS, TAPS, CARDS] {
        assert_eq!(rows(&replayed, query), rows(&db, query), "{query}");
    }
}

#[test]
fn a_forgotten_student_is_gone_from_every_event_and_the_events_still_rebuild_the_marks() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("class.db");
    take_a_class(&db);
    // Student 3: a card, taps and marks, an email, and a new number (s1003
    // became s9003) that events name both ways.
    let (number, name, email, uid) = ("s9003", "Student 3", "s3@example.edu", card(3));
    let store = Store::open(&db).unwrap();
    let json = |store: &Store| serde_json::to_string(&store.outbox_events().unwrap()).unwrap();
    let before = json(&store);
    assert!(before.contains(number) && before.contains(name) && before.contains(uid.as_hex()));
    let forgotten = store.forget_student(number, &at("12:00:00")).unwrap();
    assert!(forgotten.footprint.marks > 0 && forgotten.events_rewritten > 10);
    let after = json(&store);
    assert!(before.contains("s1003"));
    for erased in [number, "s1003", email, uid.as_hex(), "\"Student 3\""] {
        assert!(!after.contains(erased), "{erased} is still in an event");
    }
    // The erasure is the last event; nothing was sent, so it names only
    // the pseudonym.
    let events = store.outbox_events().unwrap();
    let Some(Event::StudentForgotten {
        student_no,
        pseudonym,
    }) = events.last().map(|e| &e.event)
    else {
        panic!("no erasure event")
    };
    assert_eq!(
        (student_no, pseudonym),
        (&forgotten.pseudonym, &forgotten.pseudonym)
    );
    drop(store);

    let replayed = sandbox.path("replayed.db");
    Store::open(&replayed).unwrap().replay(&events).unwrap();
    let marks = rows(&db, MARKS);
    assert!(marks.iter().any(|m| m.contains(&forgotten.pseudonym)));
    assert_eq!(rows(&replayed, MARKS), marks);
    for query in [SESSIONS, TAPS, CARDS] {
        assert_eq!(rows(&replayed, query), rows(&db, query), "{query}");
    }
}

#[test]
fn an_erasure_names_the_forgotten_number_only_until_the_server_has_it() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("class.db");
    take_a_class(&db);
    // The class was pushed before the request came.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE outbox SET sent_at = '2026-11-30T12:00:00.000+01:00'",
            [],
        )
        .unwrap();
    let store = Store::open(&db).unwrap();
    let forgotten = store.forget_student("s1010", &at("13:00:00")).unwrap();
    let last = |store: &Store| store.outbox_events().unwrap().pop().unwrap();
    let erasure = last(&store);
    assert_eq!(
        erasure.event,
        Event::StudentForgotten {
            student_no: "s1010".into(),
            pseudonym: forgotten.pseudonym.clone(),
        },
        "the server needs the number to find the student"
    );
    drop(store);
    let mut queue = taproll::store::SyncQueue::open(&db).unwrap();
    queue
        .settle("https://server", &[erasure.seq], &[], &at("13:00:05"))
        .unwrap();
    let store = Store::open(&db).unwrap();
    assert_eq!(
        last(&store).event,
        Event::StudentForgotten {
            student_no: forgotten.pseudonym.clone(),
            pseudonym: forgotten.pseudonym,
        },
        "taken: the number goes"
    );
    // And no copy of it is left in the file (secure_delete on the push's
    // connection too); closing the last connection checkpoints the WAL.
    drop(store);
    drop(queue);
    let bytes = std::fs::read(&db).unwrap();
    assert!(
        !bytes.windows(5).any(|w| w == b"s1010"),
        "s1010 in the file"
    );
}

#[test]
fn forgetting_students_with_a_claim_a_lost_card_or_a_new_number_changes_no_count_and_nobody_else() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("class.db");
    take_a_class(&db);
    let store = Store::open(&db).unwrap();
    let course = store.course_by_name("Networks 101").unwrap().unwrap();
    let totals = |store: &Store| -> Vec<_> {
        store
            .sessions_of(&course)
            .unwrap()
            .iter()
            .map(|listing| taproll::report::session_totals(store, &listing.session).unwrap())
            .collect()
    };
    let before = totals(&store);
    let events_before = store.outbox_events().unwrap();
    // Student 31 claimed an unknown card; student 1 lost theirs; student
    // 3 was renumbered s1003 -> s9003.
    let claimed = CardUid::parse(&format!("04FF{:010X}", 49)).unwrap();
    let erased = [
        ("s1031", "Student 31", claimed),
        ("s1001", "Student 1", card(1)),
        ("s9003", "Student 3", card(3)),
    ];
    let mut pseudonyms = Vec::new();
    for (number, _, _) in &erased {
        pseudonyms.push(
            store
                .forget_student(number, &at("12:00:00"))
                .unwrap()
                .pseudonym,
        );
    }
    assert_eq!(totals(&store), before, "every session's counts");
    let events_after = store.outbox_events().unwrap();
    let json = serde_json::to_string(&events_after).unwrap();
    for (number, name, uid) in &erased {
        for gone in [*number, &format!("\"{name}\""), uid.as_hex()] {
            assert!(!json.contains(gone), "{gone} is still in an event");
        }
    }
    assert!(
        !json.contains("\"s1003\""),
        "the number before the renumbering"
    );
    // Nobody else's events changed: those that named none of them are
    // as they were.
    let theirs = |event: &Envelope| {
        let text = serde_json::to_string(event).unwrap();
        [
            "s1031",
            "s1001",
            "s9003",
            "s1003",
            "Student 31\"",
            "Student 1\"",
            "Student 3\"",
        ]
        .iter()
        .any(|n| text.contains(n))
            || erased.iter().any(|(_, _, uid)| text.contains(uid.as_hex()))
    };
    let untouched: Vec<&Envelope> = events_before.iter().filter(|e| !theirs(e)).collect();
    assert!(untouched.len() > 300, "{}", untouched.len());
    for event in untouched {
        assert!(events_after.contains(event), "changed: {event:?}");
    }
    // Student 0's card (given to student 32 and back) is still student 0's.
    assert!(json.contains(card(0).as_hex()));
    assert_eq!(pseudonyms.len(), 3);
    store.vacuum().unwrap();
    drop(store);
    let bytes = std::fs::read(&db).unwrap();
    for (_, _, uid) in &erased {
        let needle = uid.as_hex().as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{uid:?} in the file"
        );
    }
}

/// A database with Networks 101 and Ada Lovelace (s1) enrolled in it,
/// made at 08:00: the store, the course and Ada's id.
fn ada_in_networks(db: &Path) -> (Store, taproll::domain::Course, i64) {
    let store = Store::open(db).unwrap();
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ada = store.upsert_student("s1", "Ada Lovelace").unwrap();
    store.enrol(course.id, ada.id, &at("08:00:00")).unwrap();
    (store, course, ada.id)
}

/// Marks every event stored so far as sent at `clock`, as the push would;
/// the connection it used, to read the outbox with.
fn all_sent(db: &Path, clock: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "UPDATE outbox SET sent_at = ?1",
        [taproll::domain::rfc3339(&at(clock))],
    )
    .unwrap();
    conn
}

/// The server knows a renumbered student by their new number; their old
/// one is another student's there now. The erasure names only the new one:
/// the server's `forgotten` moves the rows of the number it is given.
#[test]
fn an_erasure_names_only_the_number_the_server_knows_the_student_by() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let (store, course, ada) = ada_in_networks(&db);
    store
        .save_student(course.id, Some(ada), "s3", "Ada Lovelace", &at("09:00:00"))
        .unwrap();
    store
        .save_student(course.id, None, "s1", "Charles Babbage", &at("09:00:00"))
        .unwrap();
    // Everything so far was sent.
    let conn = all_sent(&db, "09:30:00");
    let forgotten = store.forget_student("s3", &at("10:00:00")).unwrap();
    let erasures: Vec<String> = conn
        .prepare("SELECT event FROM outbox WHERE kind = 'student_forgotten'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(erasures.len(), 1, "{erasures:?}");
    assert!(
        erasures[0].contains("\"student_no\":\"s3\"") && erasures[0].contains(&forgotten.pseudonym),
        "{erasures:?}"
    );
}

/// The server knows Ada as s1; her renumbering to s3 and Charles getting
/// s1 are not sent yet when she is forgotten. Sent as it was rewritten
/// before ("P was P"), the server would give Ada's s1 rows to Charles, and
/// the erasure of s1 would then take Charles's. Her renumbering goes as a
/// renaming of s1 to the pseudonym, at its place in the stream, and the
/// erasure names only the pseudonym; once sent, the number goes.
#[test]
fn a_renumbering_not_yet_sent_renames_the_number_the_server_knows_to_the_pseudonym() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let (store, course, ada) = ada_in_networks(&db);
    all_sent(&db, "08:30:00");
    store
        .save_student(course.id, Some(ada), "s3", "Ada Lovelace", &at("09:00:00"))
        .unwrap();
    store
        .save_student(course.id, None, "s1", "Charles Babbage", &at("09:00:00"))
        .unwrap();
    let forgotten = store.forget_student("s3", &at("10:00:00")).unwrap();
    let pseudonym = forgotten.pseudonym;
    let events = store.outbox_events().unwrap();
    let saved: Vec<&Event> = events
        .iter()
        .map(|e| &e.event)
        .filter(|e| matches!(e, Event::StudentSaved { .. }))
        .collect();
    let renumbering = |previous: &str| Event::StudentSaved {
        student_no: pseudonym.clone(),
        previous_student_no: Some(previous.into()),
        name: pseudonym.clone(),
        email: None,
        course: "Networks 101".into(),
        section: None,
    };
    assert_eq!(saved[1], &renumbering("s1"), "{saved:?}");
    assert!(
        matches!(saved[2], Event::StudentSaved { student_no, name, .. }
            if student_no == "s1" && name == "Charles Babbage"),
        "{saved:?}"
    );
    let erasure = events.last().unwrap();
    assert_eq!(
        erasure.event,
        Event::StudentForgotten {
            student_no: pseudonym.clone(),
            pseudonym: pseudonym.clone(),
        }
    );
    drop(store);
    // Sent: the renaming keeps the pseudonym only.
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let mut queue = taproll::store::SyncQueue::open(&db).unwrap();
    queue
        .settle("https://server", &seqs, &[], &at("10:00:05"))
        .unwrap();
    let store = Store::open(&db).unwrap();
    let events = store.outbox_events().unwrap();
    let renamed = events.iter().find(|e| e.seq == seqs[1]).unwrap();
    assert_eq!(renamed.event, renumbering(&pseudonym));
}

#[test]
fn a_sessions_label_that_names_a_forgotten_student_loses_the_name() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let (store, course, _) = ada_in_networks(&db);
    let session = store
        .start_or_resume_session(&course, &at("09:00:00"), &at("09:00:00"))
        .unwrap();
    store
        .set_session_label(session.id, "Make-up lab for Ada Lovelace", &at("09:01:00"))
        .unwrap();
    let forgotten = store.forget_student("s1", &at("10:00:00")).unwrap();
    let label = store.sessions_of(&course).unwrap()[0].label.clone();
    assert_eq!(
        label,
        Some(format!("Make-up lab for {}", forgotten.pseudonym))
    );
    let labelled = store
        .outbox_events()
        .unwrap()
        .into_iter()
        .find(|e| matches!(e.event, Event::SessionLabelled { .. }))
        .unwrap();
    assert_eq!(
        labelled.event,
        Event::SessionLabelled {
            session: store.session_uuid(session.id).unwrap(),
            label: format!("Make-up lab for {}", forgotten.pseudonym),
        }
    );
}
