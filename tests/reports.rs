//! Reports from one fixed fixture (a course of three sessions on a real
//! database file), written by the real binary in every format and compared
//! with the golden files in `tests/golden/`. The XLSX is read back and its
//! cells checked. To accept a deliberate change of output, run
//! `TAPROLL_BLESS=1 cargo test --test reports` and review the diff.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};
use chrono::DateTime;
use common::Sandbox;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Output;
use taproll::domain::{CardUid, Mark, Timestamp};
use taproll::rules::Policy;
use taproll::store::Store;

const HYPERLINK: &str = "=HYPERLINK(\"http://x\",\"y\")";

fn at(text: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn uid(text: &str) -> CardUid {
    CardUid::parse(text).unwrap()
}

/// Physics 101, six students in sections A and B:
/// - session 1 (Mon 23 Nov, "Lecture 1", ended): Ada present, Alan late,
///   HYPERLINK present with a repeat and a duplicate, an unknown card later
///   claimed by Zoë, a phone's random ID, an unknown card never claimed,
///   Grace excused by hand with a note, Ken absent at the end;
/// - session 2 (Mon 30 Nov, ended): Alan present, Ada late, HYPERLINK absent
///   by hand with a note that starts with `-`, the rest absent at the end;
/// - session 3 (Mon 7 Dec, open): Ada present, nobody else yet.
fn fixture(sandbox: &Sandbox) -> PathBuf {
    let db = sandbox.path("taproll.db");
    let mut store = Store::open(&db).unwrap();
    let roster = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report_roster.csv"),
    )
    .unwrap();
    let parsed = taproll::import::parse(&roster).unwrap();
    assert!(parsed.refused.is_empty(), "{:?}", parsed.refused);
    store
        .import_roster(
            "Physics 101",
            &parsed.students,
            &at("2026-11-01T12:00:00+01:00"),
            false,
        )
        .unwrap();
    let course = store.course_by_name("Physics 101").unwrap().unwrap();
    let policy = Policy::default();
    let student_id = |store: &Store, name: &str| -> i64 {
        let session = store.last_session().unwrap().unwrap().0;
        store
            .roster(&session)
            .unwrap()
            .into_iter()
            .find(|r| r.student.name == name)
            .unwrap()
            .student
            .id
    };

    // Session 1.
    let start = at("2026-11-23T09:00:00+01:00");
    let one = store
        .start_or_resume_session(&course, &start, &start)
        .unwrap();
    store.set_session_label(one.id, "Lecture 1").unwrap();
    let tap = |store: &mut Store, session, card: &str, time: &str| {
        store
            .record_tap(session, &policy, "Door", &uid(card), &at(time))
            .unwrap()
    };
    tap(&mut store, &one, "04A1B2C3", "2026-11-23T09:02:10+01:00");
    tap(&mut store, &one, "04A1B2C6", "2026-11-23T09:03:00+01:00");
    tap(&mut store, &one, "04A1B2C6", "2026-11-23T09:03:01+01:00");
    let unknown = tap(&mut store, &one, "04FFFF01", "2026-11-23T09:05:00+01:00");
    tap(&mut store, &one, "08123456", "2026-11-23T09:06:00+01:00");
    tap(&mut store, &one, "04EEEE02", "2026-11-23T09:07:00+01:00");
    tap(&mut store, &one, "04A1B2C4", "2026-11-23T09:12:30+01:00");
    tap(&mut store, &one, "04A1B2C6", "2026-11-23T09:20:00+01:00");
    let zoe = student_id(&store, "Zoë Ñúñez");
    store
        .claim_tap(
            &one,
            &policy,
            unknown.tap_id,
            zoe,
            false,
            &at("2026-11-23T09:30:00+01:00"),
        )
        .unwrap();
    let grace = student_id(&store, "Grace Hopper");
    store
        .set_manual_mark(
            &one,
            grace,
            Mark::Excused,
            Some("Doctor's note"),
            &at("2026-11-23T09:40:00+01:00"),
        )
        .unwrap();
    store
        .end_session(&one, &at("2026-11-23T10:30:00+01:00"))
        .unwrap();

    // Session 2.
    let start = at("2026-11-30T09:00:00+01:00");
    let two = store
        .start_or_resume_session(&course, &start, &start)
        .unwrap();
    tap(&mut store, &two, "04A1B2C4", "2026-11-30T09:01:00+01:00");
    tap(&mut store, &two, "04A1B2C3", "2026-11-30T09:15:00+01:00");
    let hyperlink = student_id(&store, HYPERLINK);
    store
        .set_manual_mark(
            &two,
            hyperlink,
            Mark::Absent,
            Some("-left at 09:30"),
            &at("2026-11-30T09:31:00+01:00"),
        )
        .unwrap();
    store
        .end_session(&two, &at("2026-11-30T10:30:00+01:00"))
        .unwrap();

    // Session 3, still open.
    let start = at("2026-12-07T09:00:00+01:00");
    let three = store
        .start_or_resume_session(&course, &start, &start)
        .unwrap();
    tap(&mut store, &three, "04A1B2C3", "2026-12-07T08:58:00+01:00");
    db
}

fn report(sandbox: &Sandbox, db: &Path, args: &[&str]) -> Output {
    sandbox
        .taproll()
        .arg("report")
        .arg("--db")
        .arg(db)
        .args(["--time-zone", "Europe/Amsterdam"])
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(output: Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "taproll report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Compares with `tests/golden/NAME`, or writes it with TAPROLL_BLESS=1.
fn golden(name: &str, actual: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("TAPROLL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}: run `TAPROLL_BLESS=1 cargo test --test reports` and review it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{name} differs from its golden file\n--- expected\n{}\n--- actual\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        );
    }
}

#[test]
fn every_text_format_of_one_session_matches_its_golden_file() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    for (format, file) in [
        ("table", "session.txt"),
        ("csv", "session.csv"),
        ("canvas", "session_canvas.csv"),
        ("md", "session.md"),
        ("json", "session.json"),
    ] {
        let out = stdout_of(report(
            &sandbox,
            &db,
            &["--session", "1", "--format", format],
        ));
        golden(file, &out);
    }
}

#[test]
fn every_text_format_of_the_course_matches_its_golden_file() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    for (format, file) in [
        ("table", "course.txt"),
        ("csv", "course.csv"),
        ("canvas", "course_canvas.csv"),
        ("md", "course.md"),
        ("json", "course.json"),
    ] {
        let out = stdout_of(report(
            &sandbox,
            &db,
            &["--course", "Physics 101", "--format", format],
        ));
        golden(file, &out);
    }
}

#[test]
fn last_is_the_open_session_and_its_unmarked_students_say_so() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let out = String::from_utf8(stdout_of(report(
        &sandbox,
        &db,
        &["--last", "--format", "csv"],
    )))
    .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert!(
        out.contains("s1001,Ada Lovelace,A,present,2026-12-07T08:58:00+01:00,card,"),
        "{out}"
    );
    assert_eq!(out.matches(",unmarked,").count(), 5, "{out}");
    // Without a selection, the report is of the last session too.
    let default = stdout_of(report(&sandbox, &db, &["--format", "csv"]));
    assert_eq!(String::from_utf8(default).unwrap(), out);
}

#[test]
fn the_date_range_picks_sessions_by_their_local_date() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--course", "Physics 101", "--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_slice(&stdout_of(report(&sandbox, &db, &all))).unwrap()
    };
    let ids = |value: &serde_json::Value| -> Vec<i64> {
        value["course"]["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&json(&[])), [1, 2, 3]);
    assert_eq!(ids(&json(&["--from", "2026-11-30"])), [2, 3]);
    assert_eq!(
        ids(&json(&["--from", "2026-11-23", "--to", "2026-11-30"])),
        [1, 2]
    );
    assert_eq!(ids(&json(&["--to", "2026-11-22"])), Vec::<i64>::new());
    // 09:00 on 23 Nov in Amsterdam is 22:00 on 22 Nov in Honolulu.
    let value: serde_json::Value = serde_json::from_slice(&stdout_of(
        sandbox
            .taproll()
            .args(["report", "--course", "Physics 101", "--format", "json"])
            .args(["--from", "2026-11-22", "--to", "2026-11-22"])
            .args(["--time-zone", "Pacific/Honolulu"])
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap(),
    ))
    .unwrap();
    assert_eq!(ids(&value), [1], "in Honolulu session 1 was on 22 Nov");
    assert_eq!(value["time_zone"], "Pacific/Honolulu");
    assert_eq!(
        value["course"]["sessions"][0]["started_at"],
        "2026-11-22T22:00:00.000-10:00"
    );
}

#[test]
fn the_xlsx_has_a_summary_sessions_and_a_sheet_per_session_with_real_dates() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let file = sandbox.path("course.xlsx");
    let output = report(
        &sandbox,
        &db,
        &["--course", "Physics 101", "-o", file.to_str().unwrap()],
    );
    stdout_of(output);
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(std::fs::read(&file).unwrap())).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        [
            "Summary",
            "Sessions",
            "2026-11-23 #1",
            "2026-11-30 #2",
            "2026-12-07 #3"
        ]
    );

    let summary = workbook.worksheet_range("Summary").unwrap();
    assert_eq!(summary.get_size(), (7, 9), "a header and six students");
    let header: Vec<String> = (0..9)
        .map(|c| summary.get((0, c)).unwrap().to_string())
        .collect();
    assert_eq!(
        header,
        [
            "Student no",
            "Name",
            "Section",
            "Present",
            "Late",
            "Absent",
            "Excused",
            "Rate",
            "Last attended"
        ]
    );
    let row_of = |range: &calamine::Range<Data>, no: &str| -> usize {
        (1..range.height())
            .find(|r| *range.get((*r, 0)).unwrap() == Data::String(no.to_string()))
            .unwrap()
    };
    let ada = row_of(&summary, "s1001");
    assert_eq!(
        summary.get((ada, 1)),
        Some(&Data::String("Ada Lovelace".into()))
    );
    assert_eq!(
        summary.get((ada, 3)).unwrap().as_f64(),
        Some(2.0),
        "present in sessions 1 and 3"
    );
    assert_eq!(
        summary.get((ada, 4)).unwrap().as_f64(),
        Some(1.0),
        "late in session 2"
    );
    assert_eq!(
        summary.get((ada, 7)).unwrap().as_f64(),
        Some(1.0),
        "rate 100%"
    );
    let last = summary.get((ada, 8)).unwrap();
    assert!(last.is_datetime(), "{last:?}");
    assert_eq!(last.as_datetime().unwrap().date().to_string(), "2026-12-07");

    let session_one = workbook.worksheet_range("2026-11-23 #1").unwrap();
    assert_eq!(
        session_one.get((0, 4)).unwrap().to_string(),
        "First tap (Europe/Amsterdam)"
    );
    let alan = row_of(&session_one, "s1002");
    assert_eq!(session_one.get((alan, 3)).unwrap().to_string(), "late");
    let first_tap = session_one.get((alan, 4)).unwrap();
    assert!(first_tap.is_datetime(), "{first_tap:?}");
    assert_eq!(
        first_tap.as_datetime().unwrap().to_string(),
        "2026-11-23 09:12:30"
    );
    let grace = row_of(&session_one, "s1003");
    assert_eq!(
        session_one.get((grace, 6)).unwrap().to_string(),
        "Doctor's note"
    );

    let sessions = workbook.worksheet_range("Sessions").unwrap();
    assert_eq!(sessions.get_size(), (4, 12));
    assert_eq!(sessions.get((1, 3)).unwrap().to_string(), "Lecture 1");
    assert_eq!(
        sessions.get((1, 4)).unwrap().as_f64(),
        Some(3.0),
        "present: Ada, HYPERLINK, Zoë"
    );
}

#[test]
fn a_formula_for_a_name_comes_out_inert_in_csv_and_xlsx() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    for args in [&["--session", "1"][..], &["--course", "Physics 101"][..]] {
        for format in ["csv", "canvas"] {
            let mut all = args.to_vec();
            all.extend(["--format", format]);
            let out = String::from_utf8(stdout_of(report(&sandbox, &db, &all))).unwrap();
            let mut reader =
                csv::Reader::from_reader(out.trim_start_matches('\u{feff}').as_bytes());
            let mut names = 0;
            for record in reader.records() {
                for field in record.unwrap().iter() {
                    assert!(
                        !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "{format}: a cell starts like a formula: {field:?}"
                    );
                    if field.contains("HYPERLINK") {
                        assert_eq!(field, format!("'{HYPERLINK}"));
                        names += 1;
                    }
                }
            }
            assert_eq!(names, 1, "{format} {args:?}: the name is there once\n{out}");
        }
        let file = sandbox.path(&format!("r{}.xlsx", args.len() + args[0].len()));
        stdout_of(report(
            &sandbox,
            &db,
            &[args, &["-o", file.to_str().unwrap()][..]].concat(),
        ));
        let mut workbook: Xlsx<_> =
            open_workbook_from_rs(Cursor::new(std::fs::read(&file).unwrap())).unwrap();
        let mut names = 0;
        for sheet in workbook.sheet_names() {
            let formulas = workbook.worksheet_formula(&sheet).unwrap();
            assert!(
                formulas.used_cells().all(|(_, _, f)| f.is_empty()),
                "{sheet}: the workbook holds a formula"
            );
            for (_, _, value) in workbook.worksheet_range(&sheet).unwrap().used_cells() {
                if let Data::String(text) = value {
                    assert!(
                        !text.starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "{sheet}: {text:?}"
                    );
                    names += usize::from(*text == format!("'{HYPERLINK}"));
                }
            }
        }
        assert!(names >= 1, "the name is in the workbook, as text");
    }
}

#[test]
fn a_report_file_is_not_replaced_without_force() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let file = sandbox.path("report.csv");
    let path = file.to_str().unwrap();
    stdout_of(report(&sandbox, &db, &["--session", "2", "-o", path]));
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(
        first.starts_with("\u{feff}Student no,"),
        "the format came from the extension"
    );

    let refused = report(&sandbox, &db, &["--session", "1", "-o", path]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("already exists") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        first,
        "left as it was"
    );

    stdout_of(report(
        &sandbox,
        &db,
        &["--session", "1", "-o", path, "--force"],
    ));
    assert_ne!(std::fs::read_to_string(&file).unwrap(), first, "replaced");
    let entries = std::fs::read_dir(sandbox.dir.path()).unwrap().count();
    let expected = [
        "taproll.db",
        "taproll.db-wal",
        "taproll.db-shm",
        "taproll.db.lock",
        "report.csv",
    ]
    .iter()
    .filter(|n| sandbox.path(n).exists())
    .count();
    assert_eq!(entries, expected, "no temporary file left");
}

#[test]
fn a_report_reads_while_a_class_holds_the_database() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    // Another test's child process may briefly hold a copy of the fixture's
    // lock (between its fork and exec): wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let _class = loop {
        match Store::open(&db) {
            Ok(store) => break store,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("waiting for the lock: {e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    };
    let out = String::from_utf8(stdout_of(report(&sandbox, &db, &["--last"]))).unwrap();
    assert!(out.contains("Physics 101, session 3"), "{out}");
    let sessions = sandbox
        .taproll()
        .args(["sessions", "--course", "Physics 101", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        sessions.status.success(),
        "{}",
        String::from_utf8_lossy(&sessions.stderr)
    );
}

#[test]
fn bad_selections_are_clear_errors() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    for (args, expected) in [
        (&["--session", "99"][..], "no session 99"),
        (
            &["--course", "Chemistry"][..],
            "no course named \"Chemistry\"",
        ),
        (
            &[
                "--course",
                "Physics 101",
                "--from",
                "2026-12-01",
                "--to",
                "2026-11-01",
            ][..],
            "--from 2026-12-01 is after --to 2026-11-01",
        ),
        (
            &["--course", "Physics 101", "--from", "1 Dec"][..],
            "is not a date like 2026-11-30",
        ),
        (&["--from", "2026-12-01"][..], "--course"),
        (&["--session", "1", "--last"][..], "cannot be used with"),
        (
            &["--time-zone", "Mars/Base"][..],
            "`Mars/Base` is not a time zone",
        ),
    ] {
        let output = sandbox
            .taproll()
            .arg("report")
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
    let missing = sandbox
        .taproll()
        .args(["report", "--db"])
        .arg(sandbox.path("none.db"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(
        message.contains("none.db") && message.contains("no such file"),
        "{message}"
    );
    assert!(
        !sandbox.path("none.db").exists(),
        "a report creates no database"
    );
}

#[test]
fn the_config_sets_the_time_zone_and_the_canvas_points() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let config = sandbox.write(
        "config.toml",
        "[report]\ntime_zone = \"America/New_York\"\n\n[report.canvas]\nassignment = \"Presence\"\npoints = 10\nlate_credit_percent = 50\n",
    );
    let output = sandbox
        .taproll()
        .args(["report", "--session", "1", "--format", "canvas", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let out = String::from_utf8(stdout_of(output)).unwrap();
    assert!(out.contains(",Presence 2026-11-23\n"), "{out}");
    assert!(out.contains("Points Possible,,,,,10\n"), "{out}");
    assert!(
        out.contains("Alan Turing,,s1002,,A,5\n"),
        "late: half of 10\n{out}"
    );
    assert!(out.contains("Ada Lovelace,,s1001,,A,10\n"), "{out}");
    let output = sandbox
        .taproll()
        .args(["report", "--session", "1", "--format", "csv", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let out = String::from_utf8(stdout_of(output)).unwrap();
    assert!(
        out.contains("2026-11-23T03:02:10-05:00"),
        "New York time: {out}"
    );
}
