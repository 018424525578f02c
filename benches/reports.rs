//! Report benchmark: `cargo bench --bench reports` (part of `make bench`).
//! A course of 40 sessions x 500 students on a real database file, reported
//! in every format: reading the store into the model and assessing who is at
//! risk (as `taproll report --course` does), then writing the bytes.
//! Prints a Markdown table; the figures go to docs/benchmarks.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use std::time::{Duration, Instant};
use taproll::report::{self, Format, LmsOptions, Report, Selection, Zone, model::Content};
use taproll::risk::RiskRules;
use taproll::store::Store;

const SESSIONS: usize = 40;
const STUDENTS: usize = 500;
const RUNS: usize = 7;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    fill(&db);
    let store = Store::open_read_only(&db).unwrap();
    let zone = Zone::parse("Europe/Amsterdam").unwrap();
    let selection = Selection::Course {
        name: "Bench".into(),
        from: None,
        to: None,
    };
    let lms = LmsOptions::default();
    println!(
        "| {SESSIONS} sessions x {STUDENTS} students | median of {RUNS} | max | output size |\n|---|---|---|---|"
    );
    let load = time(|| {
        report::load(&store, &selection, &zone).unwrap();
    });
    let assessed = || {
        let mut model = report::load(&store, &selection, &zone).unwrap();
        assess(&mut model);
        model
    };
    let with_risk = time(|| {
        assessed();
    });
    println!(
        "| read the store into the model | {} | {} | |",
        ms(load.0),
        ms(load.1)
    );
    println!(
        "| read the model and assess who is at risk | {} | {} | |",
        ms(with_risk.0),
        ms(with_risk.1)
    );
    let model = assessed();
    for format in [
        Format::Table,
        Format::Csv,
        Format::Canvas,
        Format::Xlsx,
        Format::Md,
        Format::Json,
    ] {
        let size = report::render(&model, format, &lms, &Default::default())
            .unwrap()
            .len();
        let whole = time(|| {
            let model = assessed();
            report::render(&model, format, &lms, &Default::default()).unwrap();
        });
        println!(
            "| {} (read + write the bytes) | {} | {} | {} kB |",
            format.as_str(),
            ms(whole.0),
            ms(whole.1),
            size / 1000
        );
    }
    let file = dir.path().join("course.xlsx");
    let bytes = report::render(&model, Format::Xlsx, &lms, &Default::default()).unwrap();
    let write = time(|| {
        report::output::write_file(&file, &bytes, true, report::output::PRIVATE).unwrap();
    });
    println!(
        "| xlsx file written (temp file, fsync, rename) | {} | {} | |",
        ms(write.0),
        ms(write.1)
    );
}

/// Who is at risk, under the default rules.
fn assess(model: &mut Report) {
    if let Content::Course(course) = &mut model.content {
        course.assess_risk(&RiskRules::default());
    }
}

/// Median and max of `RUNS` runs, after one to warm up.
fn time(mut work: impl FnMut()) -> (Duration, Duration) {
    work();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[RUNS - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// The schema from taproll, the rows in one transaction: 500 students with
/// cards, 40 ended sessions a week apart; each student present (70%), late
/// (15%), absent (10%, automatic) or excused (5%, with a note), with a tap
/// for each present or late one.
fn fill(db: &std::path::Path) {
    drop(Store::open(db).unwrap());
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT INTO courses (id, name, created_at) VALUES (1, 'Bench', '2026-01-01T00:00:00.000+01:00')",
        [],
    )
    .unwrap();
    for s in 0..STUDENTS {
        tx.execute(
            "INSERT INTO students (id, student_no, name) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                s as i64 + 1,
                format!("s{s:05}"),
                format!("Student Number {s}")
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO enrolments (course_id, student_id, section) VALUES (1, ?1, ?2)",
            rusqlite::params![s as i64 + 1, if s % 2 == 0 { "A" } else { "B" }],
        )
        .unwrap();
    }
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00+01:00").unwrap();
    let mut tap_id = 0i64;
    for session in 0..SESSIONS {
        let begins = start + chrono::Duration::weeks(session as i64);
        let at =
            |minutes: i64| taproll::domain::rfc3339(&(begins + chrono::Duration::minutes(minutes)));
        tx.execute(
            "INSERT INTO sessions (id, course_id, started_at, ended_at) VALUES (?1, 1, ?2, ?3)",
            rusqlite::params![session as i64 + 1, at(0), at(90)],
        )
        .unwrap();
        for s in 0..STUDENTS {
            let roll = (s * 7 + session * 13) % 100;
            let (mark, source, minutes, note) = match roll {
                0..70 => ("present", "card", (s % 10) as i64, None),
                70..85 => ("late", "card", 12, None),
                85..95 => ("absent", "auto", 90, None),
                _ => ("excused", "manual", 30, Some("sick note")),
            };
            let tap = if source == "card" {
                tap_id += 1;
                tx.execute(
                    "INSERT INTO taps (id, session_id, at, reader, uid, outcome, student_id)
                     VALUES (?1, ?2, ?3, 'Door', ?4, ?5, ?6)",
                    rusqlite::params![
                        tap_id,
                        session as i64 + 1,
                        at(minutes),
                        format!("04{s:06X}"),
                        mark,
                        s as i64 + 1
                    ],
                )
                .unwrap();
                Some(tap_id)
            } else {
                None
            };
            tx.execute(
                "INSERT INTO marks (session_id, student_id, mark, source, at, tap_id, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    session as i64 + 1,
                    s as i64 + 1,
                    mark,
                    source,
                    at(minutes),
                    tap,
                    note
                ],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
}
