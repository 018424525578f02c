//! taproll's benchmark: `cargo bench --bench taproll` (or `make bench`).
//! Prints a Markdown table; the figures go to docs/benchmarks.md.
//!
//! 1. Per-tap cost: `ReaderEvent::Card` -> committed rows (tap, mark, outbox),
//!    on a real database file with synchronous=FULL.
//! 2. One frame's render time with a 1,000-student roster (TestBackend).
//! 3. Startup to first frame: the real binary in tmux, against a baseline of
//!    `printf` in the same tmux harness, as a ratio.
//! 4. Idle CPU of the TUI over 10 s, from /proc/PID/stat.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::process::Command;
use std::time::{Duration, Instant};
use taproll::domain::{CardUid, Course, Mark, MarkSource, RosterRow, Session, Student};
use taproll::engine::{Engine, Update};
use taproll::reader::{ReaderEvent, now};
use taproll::rules::Policy;
use taproll::store::Store;
use taproll::tui::{app::App, theme::Theme, view};

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("| what | figure |\n|---|---|");
    bench_tap_cost(&dir.path().join("bench.db"));
    bench_render();
    if tmux_available() {
        bench_startup(dir.path());
        bench_idle_cpu(dir.path());
    } else {
        println!("| startup, idle CPU | skipped: tmux not installed |");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn bench_tap_cost(db: &std::path::Path) {
    const STUDENTS: usize = 500;
    const TAPS: usize = 1000;
    let store = Store::open(db).unwrap();
    let when = now();
    let course = store.ensure_course("Bench", &when).unwrap();
    store
        .in_transaction(|store| -> Result<(), taproll::store::StoreError> {
            for i in 0..STUDENTS {
                let student = store.upsert_student(&format!("s{i}"), &format!("Student {i}"))?;
                store.enrol(course.id, student.id)?;
                let uid = CardUid::from_bytes(&(i as u32).to_be_bytes()).unwrap();
                store.bind_card(&uid, student.id, &when)?;
            }
            Ok(())
        })
        .unwrap();
    let session = store
        .start_or_resume_session(&course, &when, &when)
        .unwrap();
    let mut engine = Engine::new(store, session, Policy::default());
    let mut times = Vec::with_capacity(TAPS);
    for i in 0..TAPS {
        // Half known students (present), half unknown cards.
        let uid = CardUid::from_bytes(&(i as u32 * 2).to_be_bytes()).unwrap();
        let event = ReaderEvent::Card {
            reader: "Bench".into(),
            uid,
            at: now(),
        };
        let start = Instant::now();
        let update = engine.handle(event);
        times.push(start.elapsed());
        assert!(matches!(update, Update::Tap(_)), "{update:?}");
    }
    times.sort();
    println!(
        "| per tap, event -> committed (p50 / p99 / max, {TAPS} taps) | {} / {} / {} |",
        micros(percentile(&times, 0.5)),
        micros(percentile(&times, 0.99)),
        micros(times[TAPS - 1])
    );
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
        let mut app = App::new(&session, "/tmp/bench.db".into(), when);
        app.set_rows(rows.clone());
        let backend = ratatui::backend::TestBackend::new(width, height);
        let mut terminal = ratatui::Terminal::new(backend).unwrap();
        let theme = Theme { color: true };
        let mut times = Vec::new();
        for frame in 0..500 {
            app.selected = frame % 1000;
            app.scroll_into_view();
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

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `command` in a detached 80x24 tmux session and returns how long it
/// took until `marker` was on the screen.
fn time_to_screen(session: &str, command: &str, marker: &str) -> Duration {
    let start = Instant::now();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "80",
        "-y",
        "24",
        command,
    ]);
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
        ours.push(time_to_screen("taproll-bench", &command, "Roster"));
        baseline.push(time_to_screen(
            "taproll-base",
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
    time_to_screen("taproll-idle-probe", &command, "Roster");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        "taproll-idle",
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    std::thread::sleep(Duration::from_secs(1));
    let pid = tmux(&["display-message", "-p", "-t", "taproll-idle", "#{pane_pid}"]);
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
    tmux(&["kill-session", "-t", "taproll-idle"]);
    // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ).
    let cpu_ms = (after - before) * 10;
    println!(
        "| idle TUI over 10 s (CPU time, share of one core; RSS) | {cpu_ms} ms, {:.2} %; {rss} kB |",
        cpu_ms as f64 / 100.0
    );
}
