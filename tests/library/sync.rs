//! The push on real parts: a real database and a real HTTP server on
//! loopback (`common::sync_server`) that fails in every way a network and a
//! server can. Whatever happens, the server ends up with every event exactly
//! once and in order, refused events are parked and shown, a refused token
//! stops the sender without dropping anything.

use crate::common::sync_server::{Fault, SyncServer, TEST_TOKEN, reserve_loopback_port};
use crate::common::{Sandbox, at};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use taproll::config::{CardUids, SyncConfig};
use taproll::events::{Envelope, Event};
use taproll::import::RosterLine;
use taproll::store::{Store, SyncQueue};
use taproll::sync::{Backoff, Link, Pusher, Step, SyncHandle, SyncSettings};
use uuid::Uuid;

/// A database with `students` students, each with a card: two events each.
fn database(sandbox: &Sandbox, students: usize) -> (PathBuf, Store) {
    let db = sandbox.path("taproll.db");
    let store = Store::open(&db).unwrap();
    let lines: Vec<RosterLine> = (0..students)
        .map(|i| RosterLine {
            line: i + 2,
            student_no: format!("s{i:06}"),
            name: format!("Student {i}"),
            email: None,
            card: Some(taproll::domain::CardUid::parse(&format!("04{i:08X}")).unwrap()),
            section: None,
        })
        .collect();
    store
        .import_roster("Networks 101", &lines, &at("08:00:00"), Default::default())
        .unwrap();
    (db, store)
}

/// Settings for `server` as `[sync]` would give them, with short waits.
fn settings(sandbox: &Sandbox, url: &str, token: &str, uids: CardUids) -> SyncSettings {
    let config = SyncConfig {
        server: Some(url.to_string()),
        card_uids: uids,
        ..SyncConfig::default()
    };
    let mut settings = SyncSettings::resolve(&config, Some(token.into()), &sandbox.path("data"))
        .unwrap()
        .unwrap();
    settings.backoff = Backoff {
        first: Duration::from_millis(1),
        cap: Duration::from_millis(20),
    };
    settings.timeouts.request = Duration::from_secs(5);
    settings
}

fn pusher(db: &Path, settings: &SyncSettings) -> Pusher {
    let credentials = settings.credentials.clone().unwrap();
    Pusher::new(SyncQueue::open(db).unwrap(), settings, &credentials)
}

/// Steps until nothing waits (following every wait); the steps taken.
fn drain(pusher: &mut Pusher) -> Vec<Step> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut steps = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "not drained: {:?}", steps.last());
        let step = pusher.step(&taproll::domain::now()).unwrap();
        steps.push(step.clone());
        match step {
            Step::Idle => return steps,
            Step::Progress { .. } => {}
            Step::Wait { after, .. } => std::thread::sleep(after),
            Step::Stopped { why } => panic!("stopped: {why}"),
        }
    }
}

/// One more change that queues an event: a session of a new course.
fn change(store: &Store, i: usize) {
    let course = store
        .ensure_course(&format!("Course {i}"), &at("09:00:00"))
        .unwrap();
    store
        .start_or_resume_session(&course, &at("09:00:00"), &at("09:00:00"))
        .unwrap();
}

fn ids(events: &[Envelope]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

#[test]
fn the_server_gets_every_event_once_in_order_with_the_devices_times() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 300);
    let server = SyncServer::start();
    let settings = settings(&sandbox, &server.url(), TEST_TOKEN, CardUids::Raw);
    let steps = drain(&mut pusher(&db, &settings));
    let outbox = store.outbox_events().unwrap();
    assert_eq!(outbox.len(), 600);
    // Every event as the device made it: ids, sequence, times untouched.
    assert_eq!(server.events(), outbox);
    assert!(server.out_of_order().is_empty());
    // Batches of at most 500 events.
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::Progress { .. }))
            .count(),
        2
    );
    let counts = store.sync_counts().unwrap();
    assert_eq!((counts.waiting, counts.parked, counts.sent), (0, 0, 600));
    assert!(store.sync_record().unwrap().last_success_at.is_some());
    for request in server.requests() {
        assert_eq!(request.header("authorization"), Some("Bearer test-token"));
    }
}

#[test]
fn after_a_chaos_of_ten_thousand_events_the_server_has_each_exactly_once_in_order() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 5000);
    let server = SyncServer::start();
    // A third of the requests fail: 5xx, 408, 429, cut connections, answers
    // cut in half or garbled, events stored and the answer lost.
    server.chaos(20261130, 33);
    let mut settings = settings(&sandbox, &server.url(), TEST_TOKEN, CardUids::Raw);
    settings.batch_events = 97;
    let steps = drain(&mut pusher(&db, &settings));
    let outbox = store.outbox_events().unwrap();
    assert_eq!(outbox.len(), 10_000);
    assert_eq!(ids(&server.events()), ids(&outbox), "each once, in order");
    assert!(
        server.out_of_order().is_empty(),
        "{:?}",
        server.out_of_order()
    );
    let waits = steps
        .iter()
        .filter(|s| matches!(s, Step::Wait { .. }))
        .count();
    assert!(waits > 20, "chaos struck only {waits} times");
    let counts = store.sync_counts().unwrap();
    assert_eq!((counts.waiting, counts.parked, counts.sent), (0, 0, 10_000));
}

#[test]
fn events_the_server_refuses_are_parked_shown_and_sent_again_only_when_asked() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 10);
    let outbox = store.outbox_events().unwrap();
    let refused = [outbox[3].event_id, outbox[11].event_id];
    let server = SyncServer::start();
    server.reject_events(refused, "student s000001 is not in course Networks 101");
    let settings = settings(&sandbox, &server.url(), TEST_TOKEN, CardUids::Raw);
    let mut pusher = pusher(&db, &settings);
    drain(&mut pusher);
    assert_eq!(server.received_count(), 18);
    let parked = store.parked_events(10).unwrap();
    assert_eq!(
        parked.iter().map(|p| p.seq).collect::<Vec<_>>(),
        [outbox[3].seq, outbox[11].seq]
    );
    assert_eq!(
        parked[0].reason,
        "student s000001 is not in course Networks 101"
    );
    // Never retried blindly: another round sends nothing.
    let requests = server.requests().len();
    assert_eq!(pusher.step(&taproll::domain::now()).unwrap(), Step::Idle);
    assert_eq!(server.requests().len(), requests);
    // The server is fixed; the instructor sends them again.
    server.reject_events([], "");
    let server2 = SyncServer::start();
    let settings2 = settings_for(&sandbox, &server2);
    let mut pusher2 = self::pusher(&db, &settings2);
    assert_eq!(pusher2.queue_mut().unpark_all().unwrap(), 2);
    drain(&mut pusher2);
    assert_eq!(ids(&server2.events()), refused.to_vec());
    assert_eq!(store.sync_counts().unwrap().parked, 0);
}

fn settings_for(sandbox: &Sandbox, server: &SyncServer) -> SyncSettings {
    settings(sandbox, &server.url(), TEST_TOKEN, CardUids::Raw)
}

#[test]
fn a_413_halves_the_batch_and_a_single_event_still_too_large_is_parked() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 50);
    let server = SyncServer::start();
    server.set_max_batch(Some(30));
    let settings = settings_for(&sandbox, &server);
    drain(&mut pusher(&db, &settings));
    assert_eq!(ids(&server.events()), ids(&store.outbox_events().unwrap()));
    let sizes: Vec<usize> = server.requests().iter().map(|r| r.events).collect();
    assert_eq!(sizes[..2], [100, 50], "{sizes:?}");
    assert!(sizes[2..].iter().all(|&n| n <= 25), "{sizes:?}");

    // One event the server will never take for its size: alone, it is
    // parked once the others went through without it.
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 10);
    let outbox = store.outbox_events().unwrap();
    let server = SyncServer::start();
    server.refuse_batches_with(outbox[4].event_id, 413, "too large");
    drain(&mut pusher(&db, &settings_for(&sandbox, &server)));
    assert_eq!(server.received_count(), outbox.len() - 1);
    let parked = store.parked_events(10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].seq, outbox[4].seq);
    assert!(parked[0].reason.contains("413"), "{}", parked[0].reason);
}

#[test]
fn a_refused_batch_is_split_until_the_refused_event_is_found_and_parked() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 20);
    let outbox = store.outbox_events().unwrap();
    let bad = outbox[13].event_id;
    let server = SyncServer::start();
    server.refuse_batches_with(bad, 422, "seq 14: unknown student");
    drain(&mut pusher(&db, &settings_for(&sandbox, &server)));
    let others: Vec<Uuid> = ids(&outbox).into_iter().filter(|id| *id != bad).collect();
    assert_eq!(ids(&server.events()), others);
    let parked = store.parked_events(10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].seq, outbox[13].seq);
    assert!(
        parked[0].reason.contains("seq 14: unknown student"),
        "{}",
        parked[0].reason
    );
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let sandbox = Sandbox::new();
    let (db, _store) = database(&sandbox, 1);
    let server = SyncServer::start();
    let in_two_minutes = (chrono::Utc::now() + chrono::Duration::seconds(120))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    server.script([
        Fault::StatusRetryAfter(429, "7".into()),
        Fault::StatusRetryAfter(503, in_two_minutes),
    ]);
    let mut pusher = pusher(&db, &settings_for(&sandbox, &server));
    let now = taproll::domain::now();
    let Step::Wait { after, error } = pusher.step(&now).unwrap() else {
        panic!("429 waits");
    };
    assert_eq!(after, Duration::from_secs(7));
    assert!(error.contains("429"), "{error}");
    let Step::Wait { after, .. } = pusher.step(&now).unwrap() else {
        panic!("503 waits");
    };
    assert!(
        (Duration::from_secs(100)..=Duration::from_secs(121)).contains(&after),
        "{after:?}"
    );
    // Nothing was lost meanwhile, and the failures are on record.
    let record = SyncQueue::open(&db).unwrap().record().unwrap();
    assert!(record.failing_since.is_some());
    assert!(record.last_error.unwrap().contains("503"));
}

#[test]
fn a_refused_token_stops_the_sender_and_drops_nothing() {
    let sandbox = Sandbox::new();
    let (db, mut store) = database(&sandbox, 5);
    let server = SyncServer::start_with("the-right-token");
    let settings = settings(&sandbox, &server.url(), "a-wrong-token", CardUids::Raw);
    let sync = SyncHandle::start(db.clone(), settings).unwrap();
    store.on_commit(sync.doorbell());
    let mut status = sync.status();
    let deadline = Instant::now() + Duration::from_secs(60);
    let why = loop {
        if let Link::Stopped { why } = &status.borrow_and_update().link {
            break why.clone();
        }
        assert!(Instant::now() < deadline, "{:?}", status.borrow());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(why.contains("401") && why.contains("token"), "{why}");
    assert!(!why.contains("a-wrong-token"));
    // Stopped: new events are kept, not sent.
    let requests = server.requests().len();
    store.ensure_course("Physics", &at("09:00:00")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.requests().len(),
        requests,
        "nothing sent after a 401"
    );
    assert_eq!(server.received_count(), 0);
    let counts = store.sync_counts().unwrap();
    assert_eq!(counts.sent, 0);
    assert_eq!(counts.waiting, store.outbox_events().unwrap().len() as u64);
    assert_eq!(store.sync_record().unwrap().stopped.as_deref(), Some(&*why));
}

#[test]
fn the_sender_is_woken_by_each_commit_and_rides_out_a_server_that_goes_down() {
    let sandbox = Sandbox::new();
    let (db, mut store) = database(&sandbox, 3);
    let reserved = reserve_loopback_port();
    let url = format!("http://127.0.0.1:{}", reserved.port());
    // The server is not there when the class starts.
    let sync = SyncHandle::start(
        db.clone(),
        settings(&sandbox, &url, TEST_TOKEN, CardUids::Raw),
    )
    .unwrap();
    store.on_commit(sync.doorbell());
    let mut status = sync.status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(status.borrow_and_update().link, Link::Offline { .. }) {
        assert!(Instant::now() < deadline, "{:?}", status.borrow());
        std::thread::sleep(Duration::from_millis(20));
    }
    // A clone: holding the borrow would block the sender's next news.
    let Link::Offline { error, .. } = status.borrow().link.clone() else {
        unreachable!()
    };
    assert!(error.contains("refuses connections"), "{error}");
    // Work goes on while it is down.
    store.ensure_course("Physics", &at("09:00:00")).unwrap();
    let server = SyncServer::start_reserved(reserved, TEST_TOKEN);
    let all = store.outbox_events().unwrap();
    assert_eq!(
        ids(&server.wait_for_events(all.len(), Duration::from_secs(60))),
        ids(&all)
    );
    // Woken by a commit, not by a timer: one more change, one more push.
    let course = store.course_by_name("Physics").unwrap().unwrap();
    store
        .start_or_resume_session(&course, &at("09:00:00"), &at("09:00:00"))
        .unwrap();
    let all = store.outbox_events().unwrap();
    assert_eq!(
        ids(&server.wait_for_events(all.len(), Duration::from_secs(60))),
        ids(&all)
    );
    assert!(server.out_of_order().is_empty());
}

#[test]
fn keyed_card_uids_are_the_hmac_of_the_uid_with_the_installations_key() {
    let sandbox = Sandbox::new();
    let (db, _store) = database(&sandbox, 2);
    let server = SyncServer::start();
    let settings = settings(&sandbox, &server.url(), TEST_TOKEN, CardUids::Keyed);
    drain(&mut pusher(&db, &settings));
    let key_file = sandbox.path("data").join("card-key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let key: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&key[i..i + 2], 16).unwrap())
        .collect();
    let sent: Vec<String> = server
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::CardBound { uid, .. } => Some(uid),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2);
    for (i, uid) in sent.iter().enumerate() {
        let raw = format!("04{i:08X}");
        assert_ne!(uid, &raw);
        assert_eq!(uid, &hmac_sha256_hex(&key, &raw));
    }
}

/// HMAC-SHA256 by its definition (RFC 2104), from SHA-256 alone.
fn hmac_sha256_hex(key: &[u8], message: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message.as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Steps until the pusher waits (the first failure); the steps before it.
fn until_wait(pusher: &mut Pusher) -> (Vec<Step>, Duration, String) {
    let mut steps = Vec::new();
    for _ in 0..100 {
        match pusher.step(&taproll::domain::now()).unwrap() {
            Step::Wait { after, error } => return (steps, after, error),
            Step::Idle => panic!("idle before any wait: {steps:?}"),
            step => steps.push(step),
        }
    }
    panic!("never waited: {steps:?}");
}

#[test]
fn a_server_that_refuses_every_batch_parks_nothing_and_is_retried() {
    for (status, message) in [(400, "bad gateway rules"), (413, "client_max_body_size")] {
        let sandbox = Sandbox::new();
        let (db, store) = database(&sandbox, 20);
        let server = SyncServer::start();
        server.refuse_every_batch(Some((status, message)));
        let mut pusher = pusher(&db, &settings_for(&sandbox, &server));
        let (_, _, error) = until_wait(&mut pusher);
        assert!(error.contains("every batch"), "{status}: {error}");
        assert_eq!(store.sync_counts().unwrap().parked, 0, "{status}");
        // Fixed: everything goes, nothing was lost or parked on the way.
        server.refuse_every_batch(None);
        drain(&mut pusher);
        assert_eq!(ids(&server.events()), ids(&store.outbox_events().unwrap()));
        assert_eq!(store.sync_counts().unwrap().parked, 0);
    }
}

#[test]
fn a_lone_event_refused_while_nothing_else_waits_is_retried_not_parked() {
    // A class: one tap at a time reaches the sender.
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 1);
    let outbox = store.outbox_events().unwrap();
    let server = SyncServer::start();
    server.refuse_batches_with(outbox[1].event_id, 422, "unknown card");
    let mut pusher = pusher(&db, &settings_for(&sandbox, &server));
    let (_, _, error) = until_wait(&mut pusher);
    assert!(error.contains("unknown card"), "{error}");
    assert_eq!(store.sync_counts().unwrap().parked, 0);
    assert_eq!(ids(&server.events()), [outbox[0].event_id]);
    // The next change gives it company: the others go, it is parked.
    change(&store, 1);
    drain(&mut pusher);
    let parked = store.parked_events(10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].seq, outbox[1].seq);
    assert_eq!(
        server.received_count(),
        store.outbox_events().unwrap().len() - 1
    );
}

#[test]
fn a_retry_after_of_zero_waits_at_least_the_backoff() {
    let sandbox = Sandbox::new();
    let (db, _store) = database(&sandbox, 1);
    let server = SyncServer::start();
    server.script([
        Fault::StatusRetryAfter(503, "0".into()),
        Fault::StatusRetryAfter(503, "Thu, 01 Jan 2026 00:00:00 GMT".into()),
    ]);
    let mut settings = settings_for(&sandbox, &server);
    settings.backoff = Backoff::default();
    let mut pusher = pusher(&db, &settings);
    for _ in 0..2 {
        let Step::Wait { after, .. } = pusher.step(&taproll::domain::now()).unwrap() else {
            panic!("503 waits");
        };
        assert!(after >= Duration::from_secs(1), "{after:?}");
    }
}

#[test]
fn a_token_the_server_echoes_is_taken_out_of_what_is_shown_and_kept() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 1);
    let server = SyncServer::start();
    server.script([Fault::Answer(
        401,
        format!(r#"{{"error":"token {TEST_TOKEN} was withdrawn"}}"#),
    )]);
    let mut pusher = pusher(&db, &settings_for(&sandbox, &server));
    let Step::Stopped { why } = pusher.step(&taproll::domain::now()).unwrap() else {
        panic!("401 stops");
    };
    assert!(why.contains("token … was withdrawn"), "{why}");
    assert!(!why.contains(TEST_TOKEN));
    let record = store.sync_record().unwrap();
    for kept in [record.stopped, record.last_error] {
        assert!(!kept.unwrap().contains(TEST_TOKEN));
    }
}

#[test]
fn finish_returns_only_when_the_last_commit_is_at_the_server() {
    let sandbox = Sandbox::new();
    let (db, mut store) = database(&sandbox, 1);
    let server = SyncServer::start();
    let sync = SyncHandle::start(db.clone(), settings_for(&sandbox, &server)).unwrap();
    store.on_commit(sync.doorbell());
    for i in 0..30 {
        change(&store, i);
        sync.finish(Duration::from_secs(60));
        let outbox = store.outbox_events().unwrap();
        assert_eq!(server.received_count(), outbox.len(), "after commit {i}");
    }
}

#[test]
fn an_event_that_cannot_be_read_back_is_parked_and_the_rest_go() {
    let sandbox = Sandbox::new();
    let (db, store) = database(&sandbox, 3);
    let outbox = store.outbox_events().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE outbox SET event = '{' WHERE seq = ?1",
        [outbox[2].seq],
    )
    .unwrap();
    let server = SyncServer::start();
    drain(&mut pusher(&db, &settings_for(&sandbox, &server)));
    let parked = store.parked_events(10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].seq, outbox[2].seq);
    assert!(
        parked[0].reason.contains("cannot be read"),
        "{}",
        parked[0].reason
    );
    assert_eq!(server.received_count(), outbox.len() - 1);
}

#[test]
fn the_sender_thread_through_chaos_delivers_every_event_once_in_order() {
    let sandbox = Sandbox::new();
    let (db, mut store) = database(&sandbox, 1000);
    let server = SyncServer::start();
    server.chaos(7, 30);
    let mut settings = settings_for(&sandbox, &server);
    settings.batch_events = 50;
    let sync = SyncHandle::start(db.clone(), settings).unwrap();
    store.on_commit(sync.doorbell());
    // More changes while it pushes through the chaos.
    for i in 0..20 {
        change(&store, i);
    }
    let outbox = store.outbox_events().unwrap();
    assert_eq!(outbox.len(), 2020);
    let received = server.wait_for_events(outbox.len(), Duration::from_secs(120));
    assert_eq!(ids(&received), ids(&outbox));
    assert!(
        server.out_of_order().is_empty(),
        "{:?}",
        server.out_of_order()
    );
}

#[test]
fn parked_events_put_back_during_a_class_are_sent_by_the_running_sender() {
    let sandbox = Sandbox::new();
    let (db, mut store) = database(&sandbox, 3);
    let outbox = store.outbox_events().unwrap();
    let server = SyncServer::start();
    server.reject_events([outbox[1].event_id], "not yet");
    let sync = SyncHandle::start(db.clone(), settings_for(&sandbox, &server)).unwrap();
    store.on_commit(sync.doorbell());
    server.wait_for_events(outbox.len() - 1, Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.sync_counts().unwrap().parked == 0 {
        assert!(Instant::now() < deadline, "never parked");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The receiver is fixed; the instructor presses r in the sync view
    // (the engine's retry_parked), on the class's own connection.
    server.clear_rejections();
    assert_eq!(store.unpark_all().unwrap(), 1);
    let received = server.wait_for_events(outbox.len(), Duration::from_secs(60));
    assert_eq!(
        received.last().map(|e| e.event_id),
        Some(outbox[1].event_id)
    );
    sync.finish(Duration::from_secs(60));
    assert_eq!(store.sync_counts().unwrap().parked, 0);
}
