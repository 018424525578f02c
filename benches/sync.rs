//! Push benchmark: `cargo bench --bench sync` (part of `make bench`). A
//! backlog of 100,000 events (a roster of 50,000 students, each with a
//! card) is flushed by the release binary's `taproll sync` to the test
//! suite's receiver on loopback (`tests/common/sync_server.rs`). Goal: under
//! 5 s, with the sender's memory flat: its peak RSS with the 100,000-event
//! backlog against a 1,000-event one, measured by GNU time in the same run.
//! Then the push's cost to the room: the time from a card to its committed
//! tap with the push on (a sender woken by every commit, marking events
//! sent on its own connection) against the push off, taps interleaved on
//! two databases in one run.
//! Prints Markdown tables; the figures go to docs/benchmarks.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

#[path = "../tests/common/sync_server.rs"]
#[allow(dead_code)] // the tests use more of it than this benchmark does
mod sync_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use sync_server::{SyncServer, TEST_TOKEN};
use taproll::config::SyncConfig;
use taproll::domain::{CardUid, now};
use taproll::engine::{Engine, Update};
use taproll::reader::ReaderEvent;
use taproll::rules::Policy;
use taproll::store::Store;
use taproll::sync::{SyncHandle, SyncSettings};

const BIG: usize = 50_000;
const SMALL: usize = 500;
const RUNS: usize = 3;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let big = database(dir.path(), "big", BIG);
    let small = database(dir.path(), "small", SMALL);
    let mut big_runs = Vec::new();
    let mut small_runs = Vec::new();
    for run in 0..RUNS {
        big_runs.push(flush(dir.path(), &big, 2 * BIG, run));
        small_runs.push(flush(dir.path(), &small, 2 * SMALL, run));
    }
    let median = |runs: &mut Vec<(f64, u64)>| {
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        runs[runs.len() / 2]
    };
    let (big_seconds, _) = median(&mut big_runs);
    let (_, small_rss) = median(&mut small_runs);
    let big_rss = big_runs.iter().map(|r| r.1).max().unwrap();
    let small_rss_max = small_runs.iter().map(|r| r.1).max().unwrap().max(small_rss);
    println!("| `taproll sync`, median of {RUNS} | time | peak RSS |\n|---|---|---|");
    println!(
        "| {} events to a loopback receiver | {big_seconds:.2} s ({:.0} events/s) | {:.1} MB |",
        BIG * 2,
        (BIG * 2) as f64 / big_seconds,
        big_rss as f64 / 1024.0
    );
    println!(
        "| {} events (memory baseline) | | {:.1} MB |",
        SMALL * 2,
        small_rss_max as f64 / 1024.0
    );
    println!(
        "\nRSS growth with the backlog: {:.1} MB (goal under 20 MB); time goal under 5 s.",
        (big_rss.saturating_sub(small_rss_max)) as f64 / 1024.0
    );
    tap_cost(dir.path());
}

/// Taps with the push on against the push off, interleaved.
fn tap_cost(dir: &Path) {
    const TAPS: usize = 1000;
    let server = SyncServer::start();
    let (mut off, _) = class(&dir.join("off.db"), None);
    let (mut on, sync) = class(&dir.join("on.db"), Some(&server));
    let mut times = [Vec::with_capacity(TAPS), Vec::with_capacity(TAPS)];
    for i in 0..TAPS {
        // Every other tap a student's card (present), the others unknown.
        let card = if i % 2 == 0 { i / 2 } else { 1_000_000 + i } as u32;
        for (which, engine) in [&mut off, &mut on].into_iter().enumerate() {
            let event = ReaderEvent::Card {
                reader: "Bench".into(),
                uid: CardUid::from_bytes(&card.to_be_bytes()).unwrap(),
                at: now(),
            };
            let start = Instant::now();
            let update = engine.handle(event);
            times[which].push(start.elapsed());
            assert!(matches!(update, Update::Tap(_)), "{update:?}");
        }
        // A class's pace is seconds; here a tap every 2 ms keeps the sender
        // busy beside the taps.
        std::thread::sleep(Duration::from_millis(2));
    }
    let sync = sync.unwrap();
    sync.finish(Duration::from_secs(30));
    let sent = server.received_count();
    let queued = on.store().outbox_events().unwrap().len();
    assert_eq!(sent, queued, "the push kept up");
    for list in &mut times {
        list.sort();
    }
    let p = |list: &Vec<Duration>, q: f64| list[((list.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    println!(
        "
| per tap, event -> committed ({TAPS} taps each, interleaved) | p50 | p99 | max |
|---|---|---|---|"
    );
    for (name, list) in [
        ("push off", &times[0]),
        ("push on, to a loopback receiver", &times[1]),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            us(p(list, 0.5)),
            us(p(list, 0.99)),
            us(list[TAPS - 1])
        );
    }
    println!(
        "| **ratio on / off** | **{:.2}** | **{:.2}** | |",
        p(&times[1], 0.5).as_secs_f64() / p(&times[0], 0.5).as_secs_f64(),
        p(&times[1], 0.99).as_secs_f64() / p(&times[0], 0.99).as_secs_f64()
    );
    println!(
        "
{sent} events pushed while the taps went on."
    );
}

/// A course of 500 students with cards and an open session, and the push
/// to `server` started for it (woken by every commit) if there is one.
fn class(db: &Path, server: Option<&SyncServer>) -> (Engine, Option<SyncHandle>) {
    let mut store = Store::open(db).unwrap();
    let when = now();
    let course = store.ensure_course("Bench", &when).unwrap();
    store
        .in_transaction(|store| -> Result<(), taproll::store::StoreError> {
            for i in 0..500u32 {
                let student = store.upsert_student(&format!("s{i}"), &format!("Student {i}"))?;
                store.enrol(course.id, student.id, &when)?;
                let uid = CardUid::from_bytes(&i.to_be_bytes()).unwrap();
                store.bind_card(&uid, student.id, &when)?;
            }
            Ok(())
        })
        .unwrap();
    let session = store
        .start_or_resume_session(&course, &when, &when)
        .unwrap();
    let sync = server.map(|server| {
        let config = SyncConfig {
            server: Some(server.url()),
            ..SyncConfig::default()
        };
        let settings =
            SyncSettings::resolve(&config, Some(TEST_TOKEN.into()), db.parent().unwrap())
                .unwrap()
                .unwrap();
        let sync = SyncHandle::start(db.to_path_buf(), settings).unwrap();
        store.on_commit(sync.doorbell());
        sync
    });
    (Engine::new(store, session, Policy::default()), sync)
}

/// A database whose outbox holds `students` × 2 events, none sent.
fn database(dir: &Path, name: &str, students: usize) -> PathBuf {
    let mut csv = String::from("id,name,card\n");
    for i in 0..students {
        csv.push_str(&format!("s{i:06},Student {i},04{i:08X}\n"));
    }
    let file = dir.join(format!("{name}.csv"));
    std::fs::write(&file, csv).unwrap();
    let db = dir.join(format!("{name}.db"));
    let status = taproll(dir)
        .args(["roster", "import"])
        .arg(&file)
        .args(["--course", "Everyone", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    db
}

/// A copy of `db` flushed to a fresh receiver: seconds and peak RSS (KiB).
fn flush(dir: &Path, db: &Path, expected: usize, run: usize) -> (f64, u64) {
    let copy = dir.join(format!(
        "run{run}-{}",
        db.file_name().unwrap().to_string_lossy()
    ));
    std::fs::copy(db, &copy).unwrap();
    let server = SyncServer::start();
    let config = dir.join("bench.toml");
    std::fs::write(&config, format!("[sync]\nserver = \"{}\"\n", server.url())).unwrap();
    let stats = dir.join("time.txt");
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(&stats)
        .arg(env!("CARGO_BIN_EXE_taproll"))
        .args(["sync", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&copy)
        .env("TAPROLL_SYNC_TOKEN", TEST_TOKEN)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .output()
        .expect("GNU time (/usr/bin/time; make bench installs it)");
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&stats).unwrap();
    let mut fields = text.split_whitespace();
    let seconds: f64 = fields.next().unwrap().parse().unwrap();
    let rss: u64 = fields.next().unwrap().parse().unwrap();
    assert_eq!(server.received_count(), expected, "every event, once");
    (seconds, rss)
}

fn taproll(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taproll"));
    command
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"));
    command
}
