//! Roster import benchmark: `cargo bench --bench import` (part of `make bench`).
//! The release binary imports an institution-wide roster of 100,000 students
//! (id, name, email, card, section) into a new database; the baseline is the
//! `sqlite3` shell's `.import` of the same file into a new database, in the
//! same run, interleaved. Prints a Markdown table; the figures go to
//! docs/benchmarks.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;
const RUNS: usize = 5;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    std::fs::write(&file, roster(ROWS)).unwrap();
    let mut taproll = Vec::new();
    let mut sqlite = Vec::new();
    for run in 0..RUNS {
        taproll.push(time(|| {
            import_with_taproll(&file, &dir.path().join(format!("t{run}.db")))
        }));
        sqlite.push(time(|| {
            import_with_sqlite3(&file, &dir.path().join(format!("s{run}.db")))
        }));
    }
    let (taproll, sqlite) = (median(taproll), median(sqlite));
    println!("| {ROWS} roster rows, median of {RUNS} | time | ratio |\n|---|---|---|");
    println!(
        "| `taproll roster import` | {} | {:.1}x |",
        ms(taproll),
        ratio(taproll, sqlite)
    );
    println!("| `sqlite3` `.import` (baseline) | {} | 1.0x |", ms(sqlite));
}

/// `s000001,Student 1,s1@example.edu,04000001A1B2C3,Section 1` and so on.
fn roster(rows: usize) -> String {
    let mut text = String::from("id,name,email,card,section\n");
    for i in 1..=rows {
        text.push_str(&format!(
            "s{i:06},\"Student {i}, Jr\",s{i}@example.edu,04{i:06X}A1B2C3,Section {}\n",
            i % 20
        ));
    }
    text
}

fn import_with_taproll(file: &Path, db: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_taproll"))
        .args(["roster", "import"])
        .arg(file)
        .args(["--course", "Everyone", "--db"])
        .arg(db)
        .env("XDG_CONFIG_HOME", db.with_extension("config"))
        .env("XDG_STATE_HOME", db.with_extension("state"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains(&format!("{ROWS} added")), "{said}");
}

fn import_with_sqlite3(file: &Path, db: &Path) {
    let output = Command::new("sqlite3")
        .arg(db)
        .arg(format!(".import --csv {} students", file.display()))
        .output()
        .expect("the sqlite3 shell (make bench installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
