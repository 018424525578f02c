//! The engine on a real database, and the typed events it leaves in the
//! outbox: a whole class (500 taps, marks by hand, undo, claims, a lost
//! card, the end and a tap after it) is told by events alone, with global
//! identities only; replaying them onto an empty database gives the same
//! marks.

use crate::common::{Sandbox, at};
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

/// A class on `db`: every kind of change the engine makes.
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
    let session = store
        .start_or_resume_labelled(&course, &at("09:00:00"), &at("09:00:00"), Some("Lab 1"))
        .unwrap();
    let mut engine = Engine::new(store, session, Policy::default());
    // 500 taps: the 30 cards over and over (first taps present, then late,
    // then duplicates and repeats), and unknown cards among them.
    let mut when = at("09:01:00");
    let mut unknown_tap = None;
    for i in 0..500 {
        let uid = if i % 25 == 24 {
            CardUid::parse(&format!("04FF{:010X}", i)).unwrap()
        } else {
            card(i % 30)
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
    // Student 1 lost their card.
    assert_eq!(
        engine.remove_cards(student_id(&engine, "s1001")).unwrap(),
        1
    );
    engine.end_session().unwrap();
    // Student 33 comes after the end, with a card bound from the tap.
    let late_tap = tap(&mut engine, CardUid::parse("04AB0033AB").unwrap(), when);
    let s33 = student_id(&engine, "s1033");
    engine.claim(late_tap, s33, false).unwrap();
}

/// Every mark as (session UUID, student number, mark, source, note).
fn marks(db: &Path) -> Vec<(String, String, String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT se.uuid, st.student_no, m.mark, m.source, m.note FROM marks m
             JOIN sessions se ON se.id = m.session_id
             JOIN students st ON st.id = m.student_id
             ORDER BY 1, 2",
        )
        .unwrap();
    statement
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

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
        "mark",
        "session_ended",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    let taps = events
        .iter()
        .filter(|e| matches!(e.event, Event::Tap { .. }))
        .count();
    assert_eq!(taps, 502, "every tap, unknown cards and repeats included");

    // Global identities only: no local row id anywhere.
    let mut found = Vec::new();
    for envelope in &events {
        local_ids(&serde_json::to_value(envelope).unwrap(), "", &mut found);
    }
    assert!(
        found.is_empty(),
        "local ids or numbers in events: {found:?}"
    );

    // Replayed onto an empty database: the same marks.
    let replayed = sandbox.path("replayed.db");
    Store::open(&replayed).unwrap().replay(&events).unwrap();
    let original = marks(&db);
    assert!(original.len() >= 40, "{}", original.len());
    assert_eq!(marks(&replayed), original);
}
