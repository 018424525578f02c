//! taproll's benchmark: `cargo bench --bench taproll` (or `make bench`).
//! Prints a Markdown table; the figures go to docs/benchmarks.md.
//!
//! 1. Per-tap cost: `ReaderEvent::Card` -> committed rows (tap, mark, outbox),
//!    on a real database file with synchronous=FULL, interleaved with a bare
//!    rusqlite commit of the same rows (the limit: a durable tap cannot beat
//!    the fsync), as a ratio. Goal from issue 10: at most 1.2 at p50 and p99.
//! 2. One frame's render time with a 1,000-student roster (TestBackend).
//! 3. Startup to first frame: the real binary in tmux, against a baseline of
//!    `printf` in the same tmux harness, as a ratio.
//! 4. Idle CPU of the TUI over 10 s, from /proc/PID/stat.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params_from_iter};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use taproll::domain::{CardUid, Course, Mark, MarkSource, RosterRow, Session, Student};
use taproll::engine::{Engine, Update};
use taproll::reader::{ReaderEvent, now};
use taproll::rules::Policy;
use taproll::store::Store;
use taproll::tui::{app::App, theme::Theme, view};

fn main() {
    // `cargo bench --bench taproll -- tap` runs only the parts whose name
    // holds `tap` (tap, render, startup, idle); cargo adds `--bench`.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let wanted = |part: &str| filter.is_empty() || filter.iter().any(|f| part.contains(f.as_str()));
    let dir = tempfile::tempdir().unwrap();
    println!("| what | figure |\n|---|---|");
    if wanted("tap") {
        bench_tap_cost(dir.path());
    }
    if wanted("render") {
        bench_render();
    }
    if !wanted("startup") && !wanted("idle") {
        return;
    }
    if !tmux_available() {
        println!("| startup, idle CPU | skipped: tmux not installed |");
        return;
    }
    if wanted("startup") {
        bench_startup(dir.path());
    }
    if wanted("idle") {
        bench_idle_cpu(dir.path());
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn bench_tap_cost(dir: &Path) {
    const STUDENTS: usize = 500;
    const TAPS: usize = 1000;
    let db = dir.join("bench.db");
    let store = Store::open(&db).unwrap();
    let when = now();
    let course = store.ensure_course("Bench", &when).unwrap();
    store
        .in_transaction(|store| -> Result<(), taproll::store::StoreError> {
            for i in 0..STUDENTS {
                let student = store.upsert_student(&format!("s{i}"), &format!("Student {i}"))?;
                store.enrol(course.id, student.id, &when)?;
                let uid = CardUid::from_bytes(&(i as u32).to_be_bytes()).unwrap();
                store.bind_card(&uid, student.id, &when)?;
            }
            Ok(())
        })
        .unwrap();
    let session = store
        .start_or_resume_session(&course, &when, &when)
        .unwrap();
    let mut bare = Bare::new(&db, &dir.join("bare.db"));
    let mut engine = Engine::new(store, session, Policy::default());
    let mut ours = Vec::with_capacity(TAPS);
    let mut base = Vec::with_capacity(TAPS);
    for i in 0..TAPS {
        // Every other tap an enrolled student's card (each student once:
        // present), the others cards nobody holds (unknown).
        let card = if i % 2 == 0 { i / 2 } else { 1_000_000 + i } as u32;
        let event = ReaderEvent::Card {
            reader: "Bench".into(),
            uid: CardUid::from_bytes(&card.to_be_bytes()).unwrap(),
            at: now(),
        };
        let start = Instant::now();
        let update = engine.handle(event);
        ours.push(start.elapsed());
        assert!(matches!(update, Update::Tap(_)), "{update:?}");
        // Interleaved: each measurement follows the other's commit (and
        // fsync) on the same file system.
        base.push(bare.commit_rows_of_last_tap());
    }
    ours.sort();
    base.sort();
    let p = percentile;
    println!(
        "| per tap, event -> committed (p50 / p99 / max, {TAPS} taps) | {} / {} / {} |",
        micros(p(&ours, 0.5)),
        micros(p(&ours, 0.99)),
        micros(ours[TAPS - 1])
    );
    println!(
        "| bare SQLite commit of the same rows, interleaved (p50 / p99 / max) | {} / {} / {} |",
        micros(p(&base, 0.5)),
        micros(p(&base, 0.99)),
        micros(base[TAPS - 1])
    );
    println!(
        "| **per tap, ratio taproll / bare (p50 / p99; goal <= 1.2)** | **{:.2} / {:.2}** |",
        p(&ours, 0.5).as_secs_f64() / p(&base, 0.5).as_secs_f64(),
        p(&ours, 0.99).as_secs_f64() / p(&base, 0.99).as_secs_f64()
    );
}

/// The baseline for the per-tap cost: the rows one tap added to taproll's
/// database, committed again into a fresh file with rusqlite alone: one
/// IMMEDIATE transaction of cached INSERTs, the same pragmas (WAL,
/// synchronous=FULL, foreign keys on), the same folder. The file gets the
/// same tables and indexes (copied from taproll's `sqlite_master`) and the
/// rows there before the first tap, so every insert meets the same
/// constraints, indexes and foreign keys as taproll's; the rows themselves
/// are read back from taproll's file after each tap (not timed), so they
/// have whatever size the store writes today (tap, mark, outbox events).
/// Rows are found by rowid: what a tap inserts, in any table; a row a tap
/// only updates is not mirrored.
struct Bare {
    /// taproll's database, read only.
    source: Connection,
    target: Connection,
    /// Per table: its name, columns, and the highest rowid copied so far.
    tables: Vec<(String, Vec<String>, i64)>,
}

impl Bare {
    fn new(source: &Path, target: &Path) -> Self {
        let source = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let target = Connection::open(target).unwrap();
        target.pragma_update(None, "journal_mode", "WAL").unwrap();
        target.pragma_update(None, "synchronous", "FULL").unwrap();
        target.pragma_update(None, "foreign_keys", "ON").unwrap();
        let mut schema = source
            .prepare(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite~_%' ESCAPE '~'
                 ORDER BY type = 'table' DESC, rowid",
            )
            .unwrap();
        let ddl: Vec<String> = schema
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        drop(schema);
        for sql in &ddl {
            target.execute_batch(sql).unwrap();
        }
        let names: Vec<String> = source
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let tables = names
            .into_iter()
            .map(|name| {
                let columns: Vec<String> = source
                    .prepare(&format!("SELECT name FROM pragma_table_info('{name}')"))
                    .unwrap()
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                (name, columns, 0)
            })
            .collect();
        let mut bare = Self {
            source,
            target,
            tables,
        };
        // The roster, the course and the session, as they are before the
        // first tap (parents first, for the foreign keys).
        bare.target
            .pragma_update(None, "foreign_keys", "OFF")
            .unwrap();
        bare.commit_rows_of_last_tap();
        bare.target
            .pragma_update(None, "foreign_keys", "ON")
            .unwrap();
        bare
    }

    /// Copies the rows added to taproll's database since the last call and
    /// returns how long the bare commit of them took.
    fn commit_rows_of_last_tap(&mut self) -> Duration {
        let mut rows: Vec<(usize, Vec<Value>)> = Vec::new();
        for (index, (name, columns, copied)) in self.tables.iter_mut().enumerate() {
            let mut statement = self
                .source
                .prepare_cached(&format!(
                    "SELECT rowid, {} FROM {name} WHERE rowid > ?1 ORDER BY rowid",
                    columns.join(", ")
                ))
                .unwrap();
            let mut found = statement.query([*copied]).unwrap();
            while let Some(row) = found.next().unwrap() {
                *copied = row.get(0).unwrap();
                let values = (1..=columns.len()).map(|i| row.get(i).unwrap()).collect();
                rows.push((index, values));
            }
        }
        let inserts: Vec<String> = self
            .tables
            .iter()
            .map(|(name, columns, _)| {
                format!(
                    "INSERT INTO {name} ({}) VALUES ({})",
                    columns.join(", "),
                    vec!["?"; columns.len()].join(", ")
                )
            })
            .collect();
        let start = Instant::now();
        let tx = self
            .target
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        for (table, values) in &rows {
            tx.prepare_cached(&inserts[*table])
                .unwrap()
                .execute(params_from_iter(values))
                .unwrap();
        }
        tx.commit().unwrap();
        start.elapsed()
    }
}

fn bench_render() {
    let when = now();
    let session = Session {
        id: 1,
        course: Course {
            id: 1,
            name: "Bench".into(),
        },
        started_at: when,
        ended_at: None,
    };
    let rows: Vec<RosterRow> = (0..1000)
        .map(|i| RosterRow {
            has_card: true,
            student: Student {
                id: i,
                student_no: format!("s{i}"),
                name: format!("Student Number {i}"),
            },
            mark: (i % 2 == 0).then_some(Mark::Present),
            source: (i % 2 == 0).then_some(MarkSource::Card),
            marked_at: (i % 2 == 0).then_some(when),
        })
        .collect();
    for (width, height) in [(80u16, 24u16), (200, 60)] {
        let setup = taproll::tui::app::Setup {
            db_label: "/tmp/bench.db".into(),
            ..Default::default()
        };
        let mut app = App::new(session.clone(), when, setup);
        app.set_rows(rows.clone());
        let backend = ratatui::backend::TestBackend::new(width, height);
        let mut terminal = ratatui::Terminal::new(backend).unwrap();
        let theme = Theme { color: true };
        let mut times = Vec::new();
        for frame in 0..500 {
            // One row down each frame (the selection is row `frame`).
            if frame > 0 {
                let down = ratatui::crossterm::event::KeyCode::Down;
                app.on_key(down.into());
            }
            let start = Instant::now();
            terminal.draw(|f| view::render(&app, theme, f)).unwrap();
            times.push(start.elapsed());
        }
        times.sort();
        println!(
            "| one frame, 1,000 students, {width}x{height} (p50 / p99) | {} / {} |",
            micros(percentile(&times, 0.5)),
            micros(percentile(&times, 0.99))
        );
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux session name of this run.
fn tmux_name(what: &str) -> String {
    format!("taproll-{what}-{}", std::process::id())
}

/// tmux on a server of this run's own (`-L`), so that two runs at once on a
/// shared machine, or anyone's tmux, leave each other alone. Killing the last
/// session ends the server; a command that meets the server as it exits
/// fails ("server exited unexpectedly"): `tmux_new` tries again.
fn tmux_command(args: &[&str]) -> std::process::Output {
    let socket = format!("taproll-bench-{}", std::process::id());
    Command::new("tmux")
        .args(["-L", &socket])
        .args(args)
        .output()
        .unwrap()
}

fn tmux(args: &[&str]) -> String {
    String::from_utf8_lossy(&tmux_command(args).stdout).into_owned()
}

/// Starts `command` in a new detached 80x24 session; returns when it was
/// started.
fn tmux_new(session: &str, command: &str) -> Instant {
    for _ in 0..50 {
        let start = Instant::now();
        let args = ["new-session", "-d", "-s", session, "-x", "80", "-y", "24"];
        if tmux_command(&[&args[..], &[command]].concat())
            .status
            .success()
        {
            return start;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("tmux cannot start a session for {command}");
}

/// Starts `command` in a detached 80x24 tmux session and returns how long it
/// took until `marker` was on the screen.
fn time_to_screen(session: &str, command: &str, marker: &str) -> Duration {
    let start = tmux_new(session, command);
    loop {
        if tmux(&["capture-pane", "-p", "-t", session]).contains(marker) {
            let elapsed = start.elapsed();
            tmux(&["kill-session", "-t", session]);
            return elapsed;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{command} never showed {marker}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn bench_startup(dir: &std::path::Path) {
    let bin = env!("CARGO_BIN_EXE_taproll");
    let scenario = dir.join("idle.toml");
    std::fs::write(&scenario, "[[tap]]\nat_ms = 3600000\nuid = \"04A1B2C3\"\n").unwrap();
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    for run in 0..10 {
        let db = dir.join(format!("startup-{run}.db"));
        let command = format!(
            "XDG_STATE_HOME={state} exec {bin} run --course Bench --db {db} --scenario {scenario}",
            state = dir.display(),
            db = db.display(),
            scenario = scenario.display()
        );
        ours.push(time_to_screen(&tmux_name("bench"), &command, "Roster"));
        baseline.push(time_to_screen(
            &tmux_name("base"),
            "printf 'Roster\\n'; exec sleep 30",
            "Roster",
        ));
    }
    ours.sort();
    baseline.sort();
    let (ours, base) = (percentile(&ours, 0.5), percentile(&baseline, 0.5));
    println!(
        "| startup to first frame, new database (median of 10) | {:.1} ms; printf baseline {:.1} ms; ratio {:.2} |",
        ours.as_secs_f64() * 1e3,
        base.as_secs_f64() * 1e3,
        ours.as_secs_f64() / base.as_secs_f64()
    );
}

fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn bench_idle_cpu(dir: &std::path::Path) {
    let bin = env!("CARGO_BIN_EXE_taproll");
    let scenario = dir.join("idle.toml");
    let command = format!(
        "XDG_STATE_HOME={state} exec {bin} run --course Bench --db {db} --scenario {scenario}",
        state = dir.display(),
        db = dir.join("idle.db").display(),
        scenario = scenario.display()
    );
    time_to_screen(&tmux_name("idle-probe"), &command, "Roster");
    let idle = tmux_name("idle");
    tmux_new(&idle, &command);
    std::thread::sleep(Duration::from_secs(1));
    let pid = tmux(&["display-message", "-p", "-t", &idle, "#{pane_pid}"]);
    let pid = pid.trim();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(10));
    let after = cpu_ticks(pid);
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        .unwrap_or_default();
    tmux(&["kill-session", "-t", &idle]);
    // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ).
    let cpu_ms = (after - before) * 10;
    println!(
        "| idle TUI over 10 s (CPU time, share of one core; RSS) | {cpu_ms} ms, {:.2} %; {rss} kB |",
        cpu_ms as f64 / 100.0
    );
}
