//! Marks by hand, undo, claiming earlier taps, and ending a session, on a
//! real database file.

use crate::common::{Sandbox, at, uid};
use chrono::Duration;
use taproll::domain::{Mark, MarkSource, Outcome, Session};
use taproll::report::{Totals, session_totals};
use taproll::rules::Policy;
use taproll::store::{Claim, Store};

/// Ada (card 04A1B2C3), Alan and Grace (no cards); class at 09:00.
fn class(store: &Store) -> (Session, [i64; 3]) {
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ids = ["Ada Lovelace", "Alan Turing", "Grace Hopper"].map(|name| {
        let student = store
            .upsert_student(&format!("s-{}", &name[..3]), name)
            .unwrap();
        store.enrol(course.id, student.id, &at("08:00:00")).unwrap();
        student.id
    });
    store
        .bind_card(&uid("04A1B2C3"), ids[0], &at("08:00:00"))
        .unwrap();
    let session = store
        .start_or_resume_session(&course, &at("09:00:00"), &at("09:00:00"))
        .unwrap();
    (session, ids)
}

fn mark_of(store: &Store, session: &Session, student_id: i64) -> Option<(Mark, MarkSource)> {
    let rows = store.roster(session).unwrap();
    let row = rows.iter().find(|r| r.student.id == student_id).unwrap();
    row.mark.map(|m| (m, row.source.unwrap()))
}

#[test]
fn a_mark_by_hand_is_audited_and_undone_step_by_step() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [ada, alan, _]) = class(&store);
    store
        .record_tap(
            &session,
            &Policy::default(),
            "Door",
            &uid("04A1B2C3"),
            &at("09:02:00"),
        )
        .unwrap();
    store
        .set_manual_mark(
            &session,
            ada,
            Mark::Excused,
            Some("doctor"),
            &at("09:05:00"),
        )
        .unwrap();
    store
        .set_manual_mark(&session, alan, Mark::Present, None, &at("09:06:00"))
        .unwrap();
    assert_eq!(
        mark_of(&store, &session, ada),
        Some((Mark::Excused, MarkSource::Manual))
    );

    let undone = store
        .undo_last_change(&session, &at("09:07:00"))
        .unwrap()
        .unwrap();
    assert_eq!((undone.student.id, undone.restored), (alan, None));
    assert_eq!(mark_of(&store, &session, alan), None);
    let undone = store
        .undo_last_change(&session, &at("09:08:00"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (undone.student.id, undone.restored),
        (ada, Some(Mark::Present))
    );
    assert_eq!(
        mark_of(&store, &session, ada),
        Some((Mark::Present, MarkSource::Card))
    );
    assert_eq!(
        store.undo_last_change(&session, &at("09:09:00")).unwrap(),
        None
    );
    drop(store);

    // Every change, undos included, is in the audit trail and the outbox.
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let sources: Vec<String> = conn
        .prepare("SELECT source FROM mark_changes ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sources, ["manual", "manual", "undo", "undo"]);
    let note: String = conn
        .query_row("SELECT note FROM mark_changes WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(note, "doctor");
    let marks_queued: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox
             WHERE kind = 'mark' AND json_extract(event, '$.cause') IN ('manual', 'undo')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marks_queued, 4);
}

#[test]
fn claiming_an_earlier_unknown_tap_binds_the_card_and_marks_from_the_tap_time() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [_, alan, grace]) = class(&store);
    let policy = Policy::default();
    let early = store
        .record_tap(&session, &policy, "Door", &uid("04BBBBBB"), &at("09:03:00"))
        .unwrap();
    let late = store
        .record_tap(&session, &policy, "Door", &uid("04CCCCCC"), &at("09:20:00"))
        .unwrap();
    assert_eq!(early.outcome, Outcome::Unknown);
    let unclaimed: Vec<i64> = store
        .unclaimed_taps(&session)
        .unwrap()
        .iter()
        .map(|t| t.tap_id)
        .collect();
    assert_eq!(unclaimed, [late.tap_id, early.tap_id], "newest first");
    assert_eq!(
        store
            .students_without_card(session.course.id)
            .unwrap()
            .len(),
        2
    );

    // Claimed at 09:30, but Alan tapped at 09:03: present, not late.
    let claim = store
        .claim_tap(
            &session,
            &policy,
            early.tap_id,
            alan,
            false,
            &at("09:30:00"),
        )
        .unwrap();
    assert_eq!(
        claim,
        Claim::Bound {
            mark: Some(Mark::Present)
        }
    );
    let claim = store
        .claim_tap(
            &session,
            &policy,
            late.tap_id,
            grace,
            false,
            &at("09:31:00"),
        )
        .unwrap();
    assert_eq!(
        claim,
        Claim::Bound {
            mark: Some(Mark::Late)
        }
    );
    assert!(store.unclaimed_taps(&session).unwrap().is_empty());
    // The card now counts for Alan.
    let next = store
        .record_tap(&session, &policy, "Door", &uid("04BBBBBB"), &at("09:40:00"))
        .unwrap();
    assert_eq!(next.student.unwrap().id, alan);
}

#[test]
fn a_card_that_belongs_to_someone_else_is_moved_only_when_asked() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [ada, alan, _]) = class(&store);
    let policy = Policy::default();
    let tap = store
        .record_tap(&session, &policy, "Door", &uid("04BBBBBB"), &at("09:03:00"))
        .unwrap();
    store
        .claim_tap(&session, &policy, tap.tap_id, alan, false, &at("09:04:00"))
        .unwrap();
    // Ada's card is lost; she picks up... Alan's card by mistake.
    match store
        .claim_tap(&session, &policy, tap.tap_id, ada, false, &at("09:05:00"))
        .unwrap()
    {
        Claim::CardTaken { holder } => assert_eq!(holder.id, alan),
        other => panic!("expected the card to be taken: {other:?}"),
    }
    let moved = store
        .claim_tap(&session, &policy, tap.tap_id, ada, true, &at("09:06:00"))
        .unwrap();
    // Ada already had no mark; the tap gives her one.
    assert_eq!(
        moved,
        Claim::Bound {
            mark: Some(Mark::Present)
        }
    );
}

#[test]
fn ending_a_session_marks_the_rest_absent_and_sums_up() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [ada, alan, grace]) = class(&store);
    let policy = Policy::default();
    let tap = |store: &mut Store, card: &str, time: &str| {
        store
            .record_tap(&session, &policy, "Door", &uid(card), &at(time))
            .unwrap()
    };
    tap(&mut store, "04A1B2C3", "09:15:00"); // Ada, late
    tap(&mut store, "04A1B2C3", "09:16:00"); // duplicate
    tap(&mut store, "04DDDDDD", "09:17:00"); // unknown
    store
        .set_manual_mark(&session, alan, Mark::Excused, None, &at("09:20:00"))
        .unwrap();
    store.end_session(&session, &at("10:30:00")).unwrap();
    let session = Session {
        ended_at: Some(at("10:30:00")),
        ..session
    };
    let summary = session_totals(&store, &session).unwrap();
    assert_eq!(
        summary,
        Totals {
            present: 0,
            late: 1,
            absent: 1,
            excused: 1,
            unmarked: 0,
            unknown_cards: 1,
            unclaimed_cards: 1,
            duplicates: 1,
            repeats: 0,
        }
    );
    assert_eq!(
        mark_of(&store, &session, grace),
        Some((Mark::Absent, MarkSource::Auto))
    );
    assert_eq!(
        mark_of(&store, &session, ada),
        Some((Mark::Late, MarkSource::Card))
    );
    // The ended session is not resumed.
    let next = store
        .start_or_resume_session(&session.course, &at("10:31:00"), &at("10:31:00"))
        .unwrap();
    assert_ne!(next.id, session.id);
}

#[test]
fn first_tap_mark_boundary() {
    let policy = Policy {
        late_after: Duration::minutes(5),
        ..Policy::default()
    };
    let start = at("09:00:00");
    assert_eq!(
        taproll::rules::first_tap_mark(&policy, &start, &at("09:05:00")),
        Mark::Present
    );
    assert_eq!(
        taproll::rules::first_tap_mark(&policy, &start, &at("09:05:01")),
        Mark::Late
    );
}

#[test]
fn a_student_marked_absent_at_the_end_who_taps_after_all_is_counted() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [ada, _, _]) = class(&store);
    store.end_session(&session, &at("09:30:00")).unwrap();
    assert_eq!(
        mark_of(&store, &session, ada),
        Some((Mark::Absent, MarkSource::Auto))
    );
    let record = store
        .record_tap(
            &session,
            &Policy::default(),
            "Door",
            &uid("04A1B2C3"),
            &at("09:31:00"),
        )
        .unwrap();
    assert_eq!(record.outcome, Outcome::Late);
    assert_eq!(
        mark_of(&store, &session, ada),
        Some((Mark::Late, MarkSource::Card))
    );
}

#[test]
fn a_claim_marks_from_the_cards_first_tap_and_undo_gives_the_card_back() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [_, alan, _]) = class(&store);
    let policy = Policy::default();
    store
        .record_tap(&session, &policy, "Door", &uid("04BBBBBB"), &at("09:02:00"))
        .unwrap();
    let again = store
        .record_tap(&session, &policy, "Door", &uid("04BBBBBB"), &at("09:20:00"))
        .unwrap();
    // Picked from the dialog at the second tap; Alan arrived at the first.
    let claim = store
        .claim_tap(
            &session,
            &policy,
            again.tap_id,
            alan,
            false,
            &at("09:21:00"),
        )
        .unwrap();
    assert_eq!(
        claim,
        Claim::Bound {
            mark: Some(Mark::Present)
        }
    );
    let undone = store
        .undo_last_change(&session, &at("09:22:00"))
        .unwrap()
        .unwrap();
    assert_eq!((undone.student.id, undone.restored), (alan, None));
    // The card is nobody's again, and its tap can be claimed again.
    let unclaimed = store.unclaimed_taps(&session).unwrap();
    assert_eq!(unclaimed.len(), 1);
    assert_eq!(unclaimed[0].uid.as_hex(), "04BBBBBB");
}

#[test]
fn undo_in_an_ended_session_goes_back_to_absent_not_to_nothing() {
    let sandbox = Sandbox::new();
    let store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [_, alan, _]) = class(&store);
    store.end_session(&session, &at("10:00:00")).unwrap();
    store
        .set_manual_mark(&session, alan, Mark::Excused, None, &at("10:05:00"))
        .unwrap();
    store.undo_last_change(&session, &at("10:06:00")).unwrap();
    assert_eq!(
        mark_of(&store, &session, alan),
        Some((Mark::Absent, MarkSource::Auto))
    );
}

#[test]
fn a_lost_card_is_removed_and_a_student_added_by_hand() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [ada, _, _]) = class(&store);
    assert_eq!(store.remove_cards(ada, &at("09:00:00")).unwrap(), 1);
    let record = store
        .record_tap(
            &session,
            &Policy::default(),
            "Door",
            &uid("04A1B2C3"),
            &at("09:01:00"),
        )
        .unwrap();
    assert_eq!(
        record.outcome,
        Outcome::Unknown,
        "the lost card is nobody's now"
    );
    store
        .save_student(
            session.course.id,
            None,
            "s-new",
            "Radia Perlman",
            &at("09:30:00"),
        )
        .unwrap();
    store
        .save_student(
            session.course.id,
            Some(ada),
            "s-Ada",
            "Ada King",
            &at("09:30:00"),
        )
        .unwrap();
    let names: Vec<String> = store
        .roster(&session)
        .unwrap()
        .into_iter()
        .map(|r| r.student.name)
        .collect();
    assert_eq!(
        names,
        ["Ada King", "Alan Turing", "Grace Hopper", "Radia Perlman"]
    );
}

#[test]
fn moving_a_card_takes_the_mark_its_tap_gave_the_old_holder() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, [ada, alan, _]) = class(&store);
    let policy = Policy::default();
    // Alan taps Ada's card (enrol mode, Alan selected): it counted for Ada.
    let tap = store
        .record_tap(&session, &policy, "Door", &uid("04A1B2C3"), &at("09:15:00"))
        .unwrap();
    assert_eq!(tap.student.as_ref().unwrap().id, ada);
    let moved = store
        .claim_tap(&session, &policy, tap.tap_id, alan, true, &at("09:16:00"))
        .unwrap();
    assert_eq!(
        moved,
        Claim::Bound {
            mark: Some(Mark::Late)
        }
    );
    assert_eq!(
        mark_of(&store, &session, ada),
        None,
        "the tap was not Ada's"
    );
    assert_eq!(
        mark_of(&store, &session, alan),
        Some((Mark::Late, MarkSource::Card))
    );
    // Two undos: the card and Alan's mark, then Ada's mark.
    store.undo_last_change(&session, &at("09:17:00")).unwrap();
    store.undo_last_change(&session, &at("09:17:01")).unwrap();
    assert_eq!(mark_of(&store, &session, alan), None);
    assert_eq!(
        mark_of(&store, &session, ada),
        Some((Mark::Late, MarkSource::Card))
    );
    let again = store
        .record_tap(&session, &policy, "Door", &uid("04A1B2C3"), &at("09:30:00"))
        .unwrap();
    assert_eq!(again.student.unwrap().id, ada, "the card is Ada's again");
}

#[test]
fn adding_a_student_with_a_number_that_is_taken_is_refused() {
    let sandbox = Sandbox::new();
    let store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, _) = class(&store);
    let error = store
        .save_student(
            session.course.id,
            None,
            "s-Ada",
            "Someone Else",
            &at("09:30:00"),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "student id s-Ada belongs to Ada Lovelace"
    );
    assert_eq!(
        error.for_log(),
        "student id s-Ada belongs to another student",
        "no name in the log"
    );
    // The same person from another course is simply enrolled.
    let other = store.ensure_course("Databases", &at("08:00:00")).unwrap();
    store
        .save_student(other.id, None, "s-Ada", "Ada Lovelace", &at("09:30:00"))
        .unwrap();
    assert_eq!(store.roster_listing(other.id).unwrap().len(), 1);
}

#[test]
fn a_student_typed_in_with_a_name_too_long_is_refused() {
    let sandbox = Sandbox::new();
    let store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let (session, _) = class(&store);
    let error = store
        .save_student(
            session.course.id,
            None,
            "s-long",
            &"x".repeat(10_000),
            &at("09:30:00"),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the name is 10000 characters long; taproll keeps at most 200"
    );
    assert!(
        store
            .student_numbers()
            .unwrap()
            .iter()
            .all(|no| no != "s-long")
    );
}
