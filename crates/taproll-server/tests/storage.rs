//! The server's storage on both databases, the same tests on each: a
//! private PostgreSQL and an SQLite file. Batches are stored once (a resend
//! is `known` and changes nothing), projections follow the events, every
//! read stays within its institution, and a newer schema is refused.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "../../../tests/common/postgres.rs"]
mod postgres;

use chrono::DateTime;
use postgres::PgServer;
use taproll_server::devices::{self, Device};
use taproll_server::ingest;
use taproll_server::reads;
use taproll_server::storage::{Statement, Storage, StorageError, Value};
use taproll_wire::events::{Envelope, Event, MarkCause, SCHEMA_VERSION, SheetMark};
use taproll_wire::protocol::Batch;
use taproll_wire::{Mark, MarkSource, Timestamp};
use uuid::Uuid;

fn at(text: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(&format!("2026-11-30T{text}+01:00")).unwrap()
}

/// Runs `test` on an SQLite file and on a private PostgreSQL.
async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Storage) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("server.db");
    test(Storage::open(sqlite.to_str().unwrap()).await.unwrap()).await;
    if let Some(pg) = PgServer::start(name) {
        let url = pg.database("taproll");
        test(Storage::open(&url).await.unwrap()).await;
    }
}

/// A device of `institution` as its token finds it.
async fn device(storage: &Storage, institution: &str, room: &str) -> Device {
    let (_, token) =
        devices::add_device(storage, institution, room, "2026-11-30T08:00:00.000+01:00")
            .await
            .unwrap();
    devices::device_for_token(storage, &token)
        .await
        .unwrap()
        .unwrap()
}

/// A class: a student, a session, a tap, its mark, the end.
fn class(device_id: Uuid, course: &str) -> Vec<Envelope> {
    let session = Uuid::now_v7();
    let tap = Uuid::now_v7();
    let events = vec![
        Event::StudentSaved {
            student_no: "s1".into(),
            previous_student_no: None,
            name: "Ada Lovelace".into(),
            email: None,
            course: course.into(),
            section: None,
        },
        Event::StudentSaved {
            student_no: "s2".into(),
            previous_student_no: None,
            name: "Alan Turing".into(),
            email: None,
            course: course.into(),
            section: None,
        },
        Event::SessionStarted {
            session,
            course: course.into(),
            planned_start: at("09:00:00"),
            label: Some("Lab 1".into()),
        },
        Event::Tap {
            tap,
            session,
            tapped_at: at("09:04:12"),
            reader: "Door".into(),
            uid: "04A1B2C3".into(),
            outcome: "present".into(),
            student_no: Some("s1".into()),
        },
        Event::Mark {
            session,
            student_no: "s1".into(),
            mark: Some(Mark::Present),
            source: Some(MarkSource::Card),
            note: None,
            marked_at: Some(at("09:04:12")),
            tap: Some(tap),
            cause: MarkCause::Tap,
        },
        Event::SessionEnded {
            session,
            ended_at: at("10:30:00"),
            marks: vec![
                SheetMark {
                    student_no: "s1".into(),
                    mark: Mark::Present,
                    source: MarkSource::Card,
                    note: None,
                    marked_at: at("09:04:12"),
                    tap: Some(tap),
                },
                SheetMark {
                    student_no: "s2".into(),
                    mark: Mark::Absent,
                    source: MarkSource::Auto,
                    note: Some("=1+1".into()),
                    marked_at: at("10:30:00"),
                    tap: None,
                },
            ],
        },
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| Envelope {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            device_id,
            seq: i as i64 + 1,
            at: at("09:00:00"),
            event,
        })
        .collect()
}

/// Sends `events` as one batch, as the HTTP handler does: (accepted, known).
async fn ingest(storage: &Storage, device: &Device, events: &[Envelope]) -> (usize, usize) {
    let batch = Batch {
        protocol: 1,
        device_id: events[0].device_id,
        sent_at: at("10:31:00"),
        events: events.to_vec(),
    };
    let body = serde_json::to_vec(&batch).unwrap();
    let (raw, received) = taproll_server::received::read(&body).unwrap();
    ingest::check(device, &raw, &received).unwrap();
    let storable: Vec<_> = received.iter().collect();
    let write = ingest::statements(
        device,
        &raw,
        &storable,
        "2026-11-30T10:31:00.100+01:00",
        -100,
        ingest::lag_ms(&raw, &received),
    );
    let inserted = storage.write_batch(write).await.unwrap().unwrap();
    let new = inserted.iter().filter(|n| **n).count();
    (new, inserted.len() - new)
}

async fn count(storage: &Storage, sql: &'static str) -> i64 {
    storage.query(Statement::new(sql, vec![])).await.unwrap()[0][0]
        .as_int()
        .unwrap()
}

#[tokio::test]
async fn a_batch_is_stored_once_and_its_marks_are_the_devices() {
    on_both("stored_once", |storage| async move {
        let device = device(&storage, "North", "B12").await;
        let events = class(Uuid::now_v7(), "Networks 101");
        assert_eq!(ingest(&storage, &device, &events).await, (6, 0));
        // Sent again, regrouped: all known, nothing doubled.
        assert_eq!(ingest(&storage, &device, &events[2..]).await, (0, 4));
        assert_eq!(ingest(&storage, &device, &events[..3]).await, (0, 3));
        assert_eq!(count(&storage, "SELECT count(*) FROM events").await, 6);
        assert_eq!(
            count(&storage, "SELECT count(DISTINCT event_id) FROM events").await,
            6
        );
        let rows = reads::attendance(&storage, device.institution_id, "Networks 101", None, None)
            .await
            .unwrap();
        let marks: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.student_no.as_str(), r.mark.as_str(), r.source.as_str()))
            .collect();
        assert_eq!(marks, [("s1", "present", "card"), ("s2", "absent", "auto")]);
        assert_eq!(rows[0].name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(rows[0].date, "2026-11-30");
        assert_eq!(rows[0].label.as_deref(), Some("Lab 1"));
        // The CSV for a spreadsheet: a note that looks like a formula is not one.
        let csv = reads::attendance_csv(&rows);
        assert!(csv.contains(",'=1+1,"), "{csv}");
        // Stored untouched: the event as the device sent it, times and all.
        let body = storage
            .query(Statement::new(
                "SELECT body, at FROM events WHERE seq = 4",
                vec![],
            ))
            .await
            .unwrap();
        let stored: Envelope = serde_json::from_str(body[0][0].as_text().unwrap()).unwrap();
        assert_eq!(stored, events[3]);
        assert_eq!(body[0][1].as_text(), Some("2026-11-30T09:00:00.000+01:00"));
        // The device's record: seen, its sequence, its clock.
        let listed = devices::list_devices(&storage, Some("North"))
            .await
            .unwrap();
        assert_eq!(listed[0].last_seq, 6);
        assert_eq!(listed[0].clock_offset_ms, Some(-100));
        // Sent at 10:31, the newest event made at 09:00.
        assert_eq!(listed[0].lag_ms, Some(91 * 60 * 1000));
        assert_eq!(listed[0].device_id, Some(events[0].device_id.to_string()));
    })
    .await;
}

#[tokio::test]
async fn nothing_of_one_institution_is_seen_by_another() {
    on_both("institutions", |storage| async move {
        let north = device(&storage, "North", "B12").await;
        let south = device(&storage, "South", "A1").await;
        ingest(&storage, &north, &class(Uuid::now_v7(), "Networks 101")).await;
        let courses = reads::courses(&storage, north.institution_id)
            .await
            .unwrap();
        assert_eq!(courses.len(), 1);
        assert_eq!(courses[0].sessions, 1);
        assert_eq!(courses[0].students, 2);
        assert!(
            reads::courses(&storage, south.institution_id)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            reads::attendance(&storage, south.institution_id, "Networks 101", None, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            reads::sessions(&storage, south.institution_id, "Networks 101")
                .await
                .unwrap()
                .is_empty()
        );
        // South sends its own class of the same name: each sees its own.
        ingest(&storage, &south, &class(Uuid::now_v7(), "Networks 101")).await;
        for device in [&north, &south] {
            let sessions = reads::sessions(&storage, device.institution_id, "Networks 101")
                .await
                .unwrap();
            assert_eq!(sessions.len(), 1);
            assert_eq!(sessions[0].room, device.room);
            assert_eq!((sessions[0].present, sessions[0].absent), (1, 1));
        }
    })
    .await;
}

#[tokio::test]
async fn a_token_belongs_to_one_device_and_a_revoked_one_is_refused() {
    on_both("tokens", |storage| async move {
        let (id, token) =
            devices::add_device(&storage, "North", "B12", "2026-11-30T08:00:00.000+01:00")
                .await
                .unwrap();
        let device = devices::device_for_token(&storage, &token)
            .await
            .unwrap()
            .unwrap();
        ingest(&storage, &device, &class(Uuid::now_v7(), "Networks 101")).await;
        // Bound to the device of its first batch.
        let device = devices::device_for_token(&storage, &token)
            .await
            .unwrap()
            .unwrap();
        let other = serde_json::to_vec(&Batch {
            protocol: 1,
            device_id: Uuid::now_v7(),
            sent_at: at("10:00:00"),
            events: vec![],
        })
        .unwrap();
        let (raw, received) = taproll_server::received::read(&other).unwrap();
        assert_eq!(
            ingest::check(&device, &raw, &received)
                .unwrap_err()
                .status(),
            403
        );
        assert!(
            devices::device_for_token(&storage, "not-a-token")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            devices::revoke_device(&storage, &id, "2026-11-30T11:00:00.000+01:00")
                .await
                .unwrap()
        );
        assert!(
            devices::device_for_token(&storage, &token)
                .await
                .unwrap()
                .unwrap()
                .revoked
        );
        assert!(
            !devices::revoke_device(&storage, &id, "2026-11-30T11:00:00.000+01:00")
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn a_database_of_a_newer_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("server.db").to_str().unwrap().to_string();
    let pg = PgServer::start("newer");
    let mut databases = vec![sqlite];
    if let Some(pg) = &pg {
        databases.push(pg.database("newer"));
    }
    for database in databases {
        let storage = Storage::open(&database).await.unwrap();
        storage
            .transaction(vec![Statement::new(
                "INSERT INTO schema_version (version) VALUES ($1)",
                vec![Value::int(99)],
            )])
            .await
            .unwrap();
        drop(storage);
        let error = Storage::open(&database).await.unwrap_err();
        assert!(
            matches!(error, StorageError::TooNew { found: 99, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("upgrade taproll-server"),
            "{error}"
        );
    }
}

/// Sends raw event JSON (kinds and fields this server may not know).
async fn ingest_raw(
    storage: &Storage,
    device: &Device,
    device_id: Uuid,
    events: &[String],
) -> Vec<bool> {
    let body = format!(
        r#"{{"protocol":1,"device_id":"{device_id}","sent_at":"2026-11-30T10:31:00Z","events":[{}]}}"#,
        events.join(",")
    );
    let (raw, received) = taproll_server::received::read(body.as_bytes()).unwrap();
    ingest::check(device, &raw, &received).unwrap();
    let storable: Vec<_> = received.iter().collect();
    let write = ingest::statements(device, &raw, &storable, "2026-11-30T10:31:00.100Z", 0, 0);
    storage.write_batch(write).await.unwrap().unwrap()
}

#[tokio::test]
async fn an_event_of_a_kind_or_with_a_field_this_server_does_not_know_is_kept_as_sent() {
    on_both("unknown_kinds", |storage| async move {
        let device = device(&storage, "North", "B12").await;
        let device_id = Uuid::now_v7();
        let future = format!(
            r#"{{"schema_version":1,"event_id":"{}","device_id":"{device_id}","seq":1,"at":"2026-11-30T09:00:00.5Z","kind":"roll_call","whatever":[1,2]}}"#,
            Uuid::now_v7()
        );
        let labelled = format!(
            r#"{{"schema_version":1,"event_id":"{}","device_id":"{device_id}","seq":2,"at":"2026-11-30T09:00:01Z","kind":"session_labelled","session":"{}","label":"Lab","colour":"red"}}"#,
            Uuid::now_v7(),
            Uuid::now_v7()
        );
        assert_eq!(ingest_raw(&storage, &device, device_id, &[future.clone(), labelled.clone()]).await, [true, true]);
        let rows = storage
            .query(Statement::new("SELECT body, at, projected FROM events ORDER BY seq", vec![]))
            .await
            .unwrap();
        assert_eq!(rows[0][0].as_text(), Some(future.as_str()), "untouched");
        assert_eq!(rows[0][1].as_text(), Some("2026-11-30T09:00:00.5Z"), "the device's time text");
        assert_eq!(rows[0][2].as_int(), Some(0), "not projected: unknown kind");
        assert_eq!(rows[1][0].as_text(), Some(labelled.as_str()), "the unknown field kept");
        assert_eq!(rows[1][2].as_int(), Some(1));
    })
    .await;
}

#[tokio::test]
async fn a_student_renumbered_onto_a_number_another_room_knows_does_not_block_the_device() {
    on_both("renames", |storage| async move {
        let a = device(&storage, "North", "A").await;
        let b = device(&storage, "North", "B").await;
        let saved =
            |device_id: Uuid, seq: i64, no: &str, previous: Option<&str>, name: &str| Envelope {
                schema_version: SCHEMA_VERSION,
                event_id: Uuid::now_v7(),
                device_id,
                seq,
                at: at("09:00:00"),
                event: Event::StudentSaved {
                    student_no: no.into(),
                    previous_student_no: previous.map(str::to_string),
                    name: name.into(),
                    email: None,
                    course: "Networks 101".into(),
                    section: None,
                },
            };
        let (room_a, room_b) = (Uuid::now_v7(), Uuid::now_v7());
        ingest(
            &storage,
            &b,
            &[saved(room_b, 1, "s1010", None, "Grace Hopper")],
        )
        .await;
        ingest(
            &storage,
            &a,
            &[saved(room_a, 1, "s1001", None, "Grace Hoper")],
        )
        .await;
        // Room A fixes a typo in the number: s1001 becomes s1010, which B knows.
        assert_eq!(
            ingest(
                &storage,
                &a,
                &[saved(room_a, 2, "s1010", Some("s1001"), "Grace Hopper")]
            )
            .await,
            (1, 0)
        );
        // And room A goes on.
        assert_eq!(
            ingest(&storage, &a, &[saved(room_a, 3, "s1011", None, "Alan Kay")]).await,
            (1, 0)
        );
        assert_eq!(
            count(
                &storage,
                "SELECT count(*) FROM students WHERE student_no = 's1001'"
            )
            .await,
            0
        );
        assert_eq!(
            count(
                &storage,
                "SELECT count(*) FROM students WHERE student_no = 's1010'"
            )
            .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_device_registered_again_shows_each_session_once_in_its_new_room() {
    on_both("registered_again", |storage| async move {
        let first = device(&storage, "North", "B12").await;
        let events = class(Uuid::now_v7(), "Networks 101");
        ingest(&storage, &first, &events[..3]).await;
        devices::revoke_device(&storage, &first.id, "2026-11-30T09:30:00.000+01:00")
            .await
            .unwrap();
        // The same Pi, a new token, moved to C3.
        let again = device(&storage, "North", "C3").await;
        ingest(&storage, &again, &events[3..]).await;
        let sessions = reads::sessions(&storage, again.institution_id, "Networks 101")
            .await
            .unwrap();
        assert_eq!(sessions.len(), 1);
        let rows = reads::attendance(&storage, again.institution_id, "Networks 101", None, None)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
    })
    .await;
}

#[tokio::test]
async fn the_same_event_sent_to_two_institutions_is_stored_in_each() {
    on_both("two_institutions", |storage| async move {
        let north = device(&storage, "North", "B12").await;
        let south = device(&storage, "South", "A1").await;
        let events = class(Uuid::now_v7(), "Networks 101");
        // Registered in the wrong institution first, then in the right one.
        assert_eq!(ingest(&storage, &north, &events).await, (6, 0));
        assert_eq!(ingest(&storage, &south, &events).await, (6, 0));
        let south_rows =
            reads::attendance(&storage, south.institution_id, "Networks 101", None, None)
                .await
                .unwrap();
        assert_eq!(south_rows.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_mark_sent_late_does_not_undo_the_final_sheet() {
    on_both("late_mark", |storage| async move {
        let device = device(&storage, "North", "B12").await;
        let mut events = class(Uuid::now_v7(), "Networks 101");
        // The tap's mark (seq 5) is parked on the device, the end (seq 6)
        // goes; then the mark is retried: s1 stays as the sheet says.
        let Event::SessionEnded { marks, .. } = &mut events[5].event else {
            unreachable!()
        };
        marks[0].mark = Mark::Excused;
        marks[0].source = MarkSource::Manual;
        let mark = events.remove(4);
        ingest(&storage, &device, &events).await;
        assert_eq!(ingest(&storage, &device, &[mark]).await, (1, 0));
        let rows = reads::attendance(&storage, device.institution_id, "Networks 101", None, None)
            .await
            .unwrap();
        assert_eq!(
            (rows[0].student_no.as_str(), rows[0].mark.as_str()),
            ("s1", "excused")
        );
    })
    .await;
}

#[tokio::test]
async fn a_forgotten_student_keeps_their_marks_under_the_pseudonym_and_nothing_else() {
    on_both("forgotten", |storage| async move {
        let room = device(&storage, "North", "B12").await;
        let device_id = Uuid::now_v7();
        let mut events = class(device_id, "Networks 101");
        let next = |seq: usize, event: Event| Envelope {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            device_id,
            seq: seq as i64,
            at: at("11:00:00"),
            event,
        };
        events.push(next(
            events.len() + 1,
            Event::CardBound {
                uid: "04A1B2C3".into(),
                student_no: "s1".into(),
                from_student_no: None,
            },
        ));
        assert_eq!(ingest(&storage, &room, &events).await, (events.len(), 0));
        let marks = "SELECT count(*) FROM marks";
        assert_eq!(count(&storage, marks).await, 2);
        let forgotten = next(
            events.len() + 1,
            Event::StudentForgotten {
                student_no: "s1".into(),
                pseudonym: "forgotten-0a1b2c3d".into(),
            },
        );
        assert_eq!(ingest(&storage, &room, &[forgotten]).await, (1, 0));
        let unprojected = "SELECT count(*) FROM events WHERE projected = 0";
        assert_eq!(count(&storage, unprojected).await, 0);
        assert_eq!(count(&storage, marks).await, 2, "the counts stay");
        for (sql, expected) in [
            (
                "SELECT count(*) FROM students WHERE student_no = 's1' OR name = 'Ada Lovelace'",
                0,
            ),
            (
                "SELECT count(*) FROM marks WHERE student_no = 'forgotten-0a1b2c3d'",
                1,
            ),
            (
                "SELECT count(*) FROM students WHERE name = 'forgotten-0a1b2c3d'",
                1,
            ),
            ("SELECT count(*) FROM cards", 0),
            (
                "SELECT count(*) FROM taps WHERE uid = '04A1B2C3' OR student_no = 's1'",
                0,
            ),
            (
                "SELECT count(*) FROM enrolments WHERE student_no IN ('s1', 'forgotten-0a1b2c3d')",
                0,
            ),
            ("SELECT count(*) FROM enrolments WHERE student_no = 's2'", 1),
        ] {
            assert_eq!(count(&storage, sql).await, expected, "{sql}");
        }
    })
    .await;
}

/// What a device sends for a student renumbered and then forgotten before
/// the renumbering was sent, while their old number went to another
/// student: the renumbering as a renaming of the number this server knows
/// to the pseudonym, the other student's record, then the erasure of the
/// pseudonym. The other student keeps their number, name and enrolment.
#[tokio::test]
async fn a_forgotten_students_old_number_given_to_another_stays_the_others() {
    on_both("forgotten_reused", |storage| async move {
        let room = device(&storage, "North", "B12").await;
        let device_id = Uuid::now_v7();
        let mut events = class(device_id, "Networks 101");
        let pseudonym = "forgotten-0a1b2c3d";
        let saved = |no: &str, previous: &str, name: &str| Event::StudentSaved {
            student_no: no.into(),
            previous_student_no: (!previous.is_empty()).then(|| previous.to_string()),
            name: name.into(),
            email: None,
            course: "Networks 101".into(),
            section: None,
        };
        for event in [
            saved(pseudonym, "s1", pseudonym),
            saved("s1", "", "Charles Babbage"),
            Event::StudentForgotten {
                student_no: pseudonym.into(),
                pseudonym: pseudonym.into(),
            },
        ] {
            events.push(Envelope {
                schema_version: SCHEMA_VERSION,
                event_id: Uuid::now_v7(),
                device_id,
                seq: events.len() as i64 + 1,
                at: at("11:00:00"),
                event,
            });
        }
        assert_eq!(ingest(&storage, &room, &events).await, (events.len(), 0));
        for (sql, expected) in [
            (
                "SELECT count(*) FROM students WHERE student_no = 's1' AND name = 'Charles Babbage'",
                1,
            ),
            ("SELECT count(*) FROM enrolments WHERE student_no = 's1'", 1),
            ("SELECT count(*) FROM students WHERE name = 'Ada Lovelace'", 0),
            (
                "SELECT count(*) FROM marks WHERE student_no = 'forgotten-0a1b2c3d'",
                1,
            ),
            ("SELECT count(*) FROM marks WHERE student_no = 's1'", 0),
            (
                "SELECT count(*) FROM enrolments WHERE student_no = 'forgotten-0a1b2c3d'",
                0,
            ),
        ] {
            assert_eq!(count(&storage, sql).await, expected, "{sql}");
        }
    })
    .await;
}
