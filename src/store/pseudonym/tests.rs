//! The pure rewriting of a forgotten student's events, at its edges.

use super::*;
use crate::domain::{Mark, MarkSource, now};
use crate::events::{MarkCause, SheetMark};
use uuid::Uuid;

const PSEUDONYM: &str = "forgotten-0a1b2c3d";

fn saved(no: &str, previous: Option<&str>, name: &str) -> Event {
    Event::StudentSaved {
        student_no: no.into(),
        previous_student_no: previous.map(str::to_string),
        name: name.into(),
        email: Some("x@example.org".into()),
        course: "Maths".into(),
        section: None,
    }
}

fn mark(no: &str, note: Option<&str>) -> Event {
    Event::Mark {
        session: Uuid::nil(),
        student_no: no.into(),
        mark: Some(Mark::Present),
        source: Some(MarkSource::Manual),
        note: note.map(str::to_string),
        marked_at: Some(now()),
        tap: None,
        cause: MarkCause::Manual,
    }
}

fn tap(uid: &str, no: Option<&str>) -> Event {
    Event::Tap {
        tap: Uuid::nil(),
        session: Uuid::nil(),
        tapped_at: now(),
        reader: "door".into(),
        uid: uid.into(),
        outcome: "present".into(),
        student_no: no.map(str::to_string),
    }
}

/// Ada holds s3 now; she was s1 until event 10 (a typo fixed), and s1
/// was given to Charles at event 20.
fn ada(events: &[(i64, Event)]) -> Erasure {
    Erasure {
        numbers: history("s3", events),
        name: "Ada Lovelace".into(),
        pseudonym: PSEUDONYM.into(),
        uids: BTreeMap::from([("04A1B2C3".to_string(), "FF00".to_string())]),
        cards: BTreeSet::from(["04A1B2C3".to_string()]),
    }
}

fn log() -> Vec<(i64, Event)> {
    vec![
        (1, saved("s1", None, "Ada Lovelace")),
        (5, mark("s1", None)),
        (10, saved("s3", Some("s1"), "Ada Lovelace")),
        (15, mark("s3", None)),
        (20, saved("s1", None, "Charles Babbage")),
        (25, mark("s1", Some("Charles: came at 11"))),
    ]
}

#[test]
fn a_number_is_theirs_only_while_they_held_it() {
    let events = log();
    let erasure = ada(&events);
    assert_eq!(
        erasure.numbers,
        [
            Held {
                number: "s3".into(),
                from: 10,
                to: i64::MAX
            },
            Held {
                number: "s1".into(),
                from: i64::MIN,
                to: 10
            },
        ]
    );
    let rewritten: Vec<bool> = events
        .into_iter()
        .map(|(seq, mut event)| erasure.rewrite(seq, &mut event).changed)
        .collect();
    // Charles's record and mark, after s1 was his, are left alone.
    assert_eq!(rewritten, [true, true, true, true, false, false]);
}

#[test]
fn the_student_given_a_freed_number_is_not_its_earlier_holder() {
    // Charles got s1 at event 20, after Ada's renumbering freed it.
    let events = log();
    assert_eq!(
        history("s1", &events),
        [Held {
            number: "s1".into(),
            from: 11,
            to: i64::MAX
        }]
    );
    let erasure = Erasure {
        numbers: history("s1", &events),
        name: "Charles Babbage".into(),
        pseudonym: PSEUDONYM.into(),
        uids: BTreeMap::new(),
        cards: BTreeSet::new(),
    };
    let rewritten: Vec<bool> = events
        .into_iter()
        .map(|(seq, mut event)| erasure.rewrite(seq, &mut event).changed)
        .collect();
    // Ada's record, mark and renumbering are left alone.
    assert_eq!(rewritten, [false, false, false, false, true, true]);
}

#[test]
fn their_renumbering_loses_both_numbers_and_their_record_its_name() {
    let events = log();
    let erasure = ada(&events);
    let mut event = events[2].1.clone();
    let done = erasure.rewrite(10, &mut event);
    assert_eq!(done.numbers, BTreeSet::from(["s1".into(), "s3".into()]));
    let json = serde_json::to_string(&event).unwrap();
    assert!(
        !json.contains("Ada") && !json.contains("s1") && !json.contains("s3"),
        "{json}"
    );
    assert!(!json.contains("x@example.org"), "{json}");
}

#[test]
fn a_note_loses_the_name_but_not_a_number_that_reads_as_a_time() {
    let events = log();
    let erasure = ada(&events);
    let mut event = mark("s3", Some("Ada Lovelace came at 11"));
    erasure.rewrite(15, &mut event);
    let Event::Mark {
        student_no, note, ..
    } = event
    else {
        unreachable!()
    };
    assert_eq!(student_no, PSEUDONYM);
    assert_eq!(note.as_deref(), Some("forgotten-0a1b2c3d came at 11"));
    assert_eq!(
        erasure.scrub("Ada Lovelaces"),
        "Ada Lovelaces",
        "whole words only"
    );
}

#[test]
fn a_card_is_rewritten_in_their_taps_and_unknown_taps_not_in_anothers() {
    let erasure = ada(&log());
    let mut theirs = tap("04A1B2C3", Some("s3"));
    assert!(erasure.rewrite(15, &mut theirs).changed);
    let mut unknown = tap("04A1B2C3", None);
    assert!(
        erasure.rewrite(16, &mut unknown).changed,
        "a card they hold now"
    );
    let mut anothers = tap("04A1B2C3", Some("s2"));
    assert!(!erasure.rewrite(17, &mut anothers).changed);
    let Event::Tap { uid, .. } = unknown else {
        unreachable!()
    };
    assert_eq!(uid, "FF00");
    // A card moved from them to another: the number goes, the UID stays.
    let mut moved = Event::CardBound {
        uid: "04A1B2C3".into(),
        student_no: "s2".into(),
        from_student_no: Some("s3".into()),
    };
    assert!(erasure.rewrite(18, &mut moved).changed);
    assert_eq!(
        moved,
        Event::CardBound {
            uid: "04A1B2C3".into(),
            student_no: "s2".into(),
            from_student_no: Some(PSEUDONYM.into()),
        }
    );
}

#[test]
fn a_mark_sheet_line_of_theirs_is_rewritten_and_another_only_loses_the_name() {
    let erasure = ada(&log());
    let at = now();
    let line = |no: &str, note: &str| SheetMark {
        student_no: no.into(),
        mark: Mark::Excused,
        source: MarkSource::Manual,
        note: Some(note.into()),
        marked_at: at,
        tap: None,
    };
    let mut event = Event::SessionEnded {
        session: Uuid::nil(),
        ended_at: now(),
        marks: vec![
            line("s3", "Ada Lovelace: doctor"),
            line("s2", "came with Ada Lovelace"),
        ],
    };
    assert!(erasure.rewrite(16, &mut event).changed);
    let Event::SessionEnded { marks, .. } = event else {
        unreachable!()
    };
    assert_eq!(marks[0], line(PSEUDONYM, "forgotten-0a1b2c3d: doctor"));
    assert_eq!(marks[1], line("s2", "came with forgotten-0a1b2c3d"));
}

#[test]
fn old_events_lose_exact_numbers_and_uids_not_parts_of_other_strings() {
    let erasure = ada(&log());
    let mut json = serde_json::json!({
        "session_id": 12, "student_no": "s1", "uid": "04A1B2C3",
        "at": "2026-11-30T09:04:11", "name": "Ada Lovelace"
    });
    assert!(erasure.scrub_json(&mut json));
    assert_eq!(
        json,
        serde_json::json!({
            "session_id": 12, "student_no": PSEUDONYM, "uid": "FF00",
            "at": "2026-11-30T09:04:11", "name": PSEUDONYM
        })
    );
}

#[test]
fn a_sessions_label_loses_their_name() {
    let erasure = ada(&log());
    let mut labelled = Event::SessionLabelled {
        session: Uuid::nil(),
        label: "Make-up lab for Ada Lovelace".into(),
    };
    assert!(erasure.rewrite(30, &mut labelled).changed);
    assert_eq!(
        labelled,
        Event::SessionLabelled {
            session: Uuid::nil(),
            label: format!("Make-up lab for {PSEUDONYM}"),
        }
    );
    let started = |label: Option<&str>| Event::SessionStarted {
        session: Uuid::nil(),
        course: "Maths".into(),
        planned_start: now(),
        label: label.map(str::to_string),
    };
    let mut named = started(Some("Ada Lovelace's viva"));
    assert!(erasure.rewrite(30, &mut named).changed);
    let Event::SessionStarted { label, .. } = named else {
        unreachable!()
    };
    assert_eq!(label, Some(format!("{PSEUDONYM}'s viva")));
    let mut other = started(Some("Lab 3"));
    assert!(!erasure.rewrite(30, &mut other).changed);
    let mut none = started(None);
    assert!(!erasure.rewrite(30, &mut none).changed);
}
