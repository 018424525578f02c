//! Push benchmark: `cargo bench --bench sync` (part of `make bench`). A
//! backlog of 100,000 events (a roster of 50,000 students, each with a
//! card) is flushed by the release binary's `taproll sync` to the test
//! suite's receiver on loopback (`tests/common/sync_server.rs`). Goal: under
//! 5 s, with the sender's memory flat: its peak RSS with the 100,000-event
//! backlog against a 1,000-event one, measured by GNU time in the same run.
//! Prints a Markdown table; the figures go to docs/benchmarks.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

#[path = "../tests/common/sync_server.rs"]
#[allow(dead_code)] // the tests use more of it than this benchmark does
mod sync_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use sync_server::{SyncServer, TEST_TOKEN};

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
