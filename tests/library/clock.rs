//! The clock check against a real database: the newest stored event time
//! (`Store::newest_event_time`) and `clock::judge` on it.

use crate::common::{Sandbox, at, time, uid};
use taproll::clock::{self, ClockError, ClockState, Sync};
use taproll::domain::Session;
use taproll::rules::Policy;
use taproll::store::{Store, StoreError};

/// A course with Ada (card 04A1B2C3), made at 08:00, and a session whose
/// planned start is 09:00, started at 08:55.
fn class(store: &Store) -> Session {
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ada = store.upsert_student("s1", "Ada Lovelace").unwrap();
    store.enrol(course.id, ada.id, &at("08:00:00")).unwrap();
    store
        .bind_card(&uid("04A1B2C3"), ada.id, &at("08:00:00"))
        .unwrap();
    store
        .start_or_resume_session(&course, &at("09:00:00"), &at("08:55:00"))
        .unwrap()
}

#[test]
fn an_empty_database_has_no_newest_event() {
    let sandbox = Sandbox::new();
    let store = Store::open(&sandbox.path("taproll.db")).unwrap();
    assert_eq!(store.newest_event_time().unwrap(), None);
}

#[test]
fn a_tap_stored_ahead_of_the_clock_refuses_the_session() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let session = class(&store);
    let future = time("2100-01-01T09:12:00+01:00");
    store
        .record_tap(
            &session,
            &Policy::default(),
            "Door A",
            &uid("04A1B2C3"),
            &future,
        )
        .unwrap();
    let newest = store.newest_event_time().unwrap().unwrap();
    assert_eq!(newest, future);
    assert_eq!(newest.offset(), future.offset(), "read back as written");
    let now = taproll::domain::now();
    let refused = clock::judge(now, Some(newest), Sync::Synchronised, true);
    assert_eq!(
        refused,
        Err(ClockError::BehindStoredEvents {
            now,
            newest: future
        })
    );
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("No session was started."), "{message}");
}

#[test]
fn a_clock_after_the_newest_tap_starts_the_session() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let session = class(&store);
    store
        .record_tap(
            &session,
            &Policy::default(),
            "Door A",
            &uid("04A1B2C3"),
            &at("09:04:00"),
        )
        .unwrap();
    let newest = store.newest_event_time().unwrap();
    assert_eq!(newest, Some(at("09:04:00")));
    let state = clock::judge(at("10:00:00"), newest, Sync::Unknown, true);
    assert_eq!(state, Ok(ClockState::SyncUnknown));
}

#[test]
fn the_newest_time_is_the_latest_instant_not_the_latest_text() {
    let sandbox = Sandbox::new();
    let mut store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let session = class(&store);
    // 09:30 in UTC+1 is 08:30 UTC; 09:00 in UTC, written later, is later,
    // though its text sorts first (a Pi whose zone was changed between taps).
    let policy = Policy::default();
    store
        .record_tap(
            &session,
            &policy,
            "Door A",
            &uid("04A1B2C3"),
            &at("09:30:00"),
        )
        .unwrap();
    let later = time("2026-11-30T09:00:00+00:00");
    store
        .record_tap(&session, &policy, "Door A", &uid("04A1B2C3"), &later)
        .unwrap();
    assert_eq!(store.newest_event_time().unwrap(), Some(later));
}

#[test]
fn a_planned_start_ahead_of_the_clock_is_not_an_event() {
    let sandbox = Sandbox::new();
    let store = Store::open(&sandbox.path("taproll.db")).unwrap();
    // Started at 08:55 for a class at 09:00: at 08:58 the clock is right.
    class(&store);
    let newest = store.newest_event_time().unwrap();
    assert_eq!(newest, Some(at("08:55:00")));
    let state = clock::judge(at("08:58:00"), newest, Sync::Synchronised, true);
    assert_eq!(state, Ok(ClockState::Synchronised));
}

#[test]
fn a_mark_set_by_hand_is_an_event() {
    let sandbox = Sandbox::new();
    let store = Store::open(&sandbox.path("taproll.db")).unwrap();
    let session = class(&store);
    let ada = store.roster(&session).unwrap()[0].student.id;
    store
        .set_manual_mark(
            &session,
            ada,
            taproll::domain::Mark::Excused,
            Some("ill"),
            &at("09:20:00"),
        )
        .unwrap();
    assert_eq!(store.newest_event_time().unwrap(), Some(at("09:20:00")));
}

#[test]
fn a_time_that_cannot_be_read_is_an_error_not_passed_over() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("taproll.db");
    let mut store = Store::open(&path).unwrap();
    let session = class(&store);
    store
        .record_tap(
            &session,
            &Policy::default(),
            "Door A",
            &uid("04A1B2C3"),
            &at("09:04:00"),
        )
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE taps SET at = 'yesterday'", [])
        .unwrap();
    let error = store.newest_event_time().unwrap_err();
    assert!(matches!(error, StoreError::BadValue(_)), "{error}");
    assert!(error.to_string().contains("yesterday"), "{error}");
}
