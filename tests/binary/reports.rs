//! Reports from one fixed fixture (a course of three sessions on a real
//! database file), written by the real binary in every format and compared
//! with the golden files in `tests/golden/`. The XLSX is read back and its
//! cells checked. To accept a deliberate change of output, run
//! `TAPROLL_BLESS=1 cargo test --test reports` and review the diff.

use crate::common::{Sandbox, time as at, uid};
use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Output;
use taproll::domain::Mark;
use taproll::rules::Policy;
use taproll::store::Store;

const HYPERLINK: &str = "=HYPERLINK(\"http://x\",\"y\")";

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
            Default::default(),
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
    store
        .set_session_label(one.id, "Lecture 1", &start)
        .unwrap();
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

/// Opens the fixture's database to write. Another test's child process may
/// briefly hold a copy of the fixture's writer lock (between its fork and
/// exec): wait that out.
fn open_writer(db: &Path) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Store::open(db) {
            Ok(store) => return store,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("waiting for the lock: {e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
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

/// Every text format of one report, each compared with `PREFIX.EXT`.
fn check_text_formats(selection: &[&str], prefix: &str) {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    for (format, suffix) in [
        ("table", ".txt"),
        ("csv", ".csv"),
        ("canvas", "_canvas.csv"),
        ("md", ".md"),
        ("json", ".json"),
    ] {
        let args = [selection, &["--format", format][..]].concat();
        let out = stdout_of(report(&sandbox, &db, &args));
        golden(&format!("{prefix}{suffix}"), &out);
    }
}

#[test]
fn every_text_format_of_one_session_matches_its_golden_file() {
    check_text_formats(&["--session", "1"], "session");
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let moodle = stdout_of(report(
        &sandbox,
        &db,
        &["--session", "1", "--format", "moodle"],
    ));
    golden("session_moodle.csv", &moodle);
}

#[test]
fn a_course_is_refused_in_the_moodle_format_which_marks_one_session() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let refused = report(
        &sandbox,
        &db,
        &["--course", "Physics 101", "--format", "moodle"],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("--session ID or --last"), "{message}");
}

/// Contract test: reads the Moodle CSV the way mod_attendance's "mark
/// sessions" import does (classes/import/marksessions.php and its mapping
/// form classes/form/import/marksessions_confirm.php, plugin 4.x), so that a
/// change here that Moodle would not take fails. What it does, step by step:
/// the first row is the header, every name non-empty and unique (Moodle's
/// csv_import_reader); the form preselects the user column and field named
/// `userid`, `username`, `idnumber` or `email`, the first found, and the
/// `status` column when one is named so (else `scantime`); users are matched
/// on the lower-cased field; a user twice is an error; with the status
/// column mapped, the cell must be one of the activity's acronyms (the
/// defaults P, A, L, E), compared exactly; a scan time must be readable by
/// PHP's strtotime (here: RFC 3339 with the offset, which it reads).
#[test]
fn the_moodle_csv_is_read_as_mod_attendance_reads_it() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let bytes = stdout_of(report(
        &sandbox,
        &db,
        &["--session", "1", "--format", "moodle"],
    ));
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        !text.starts_with('\u{feff}'),
        "no byte-order mark before `idnumber`"
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let unique: std::collections::HashSet<&String> = headers.iter().collect();
    assert!(headers.iter().all(|h| !h.is_empty()) && unique.len() == headers.len());
    // The form's preselection.
    let user_field = ["userid", "username", "idnumber", "email"]
        .into_iter()
        .find(|field| headers.iter().any(|h| h == field))
        .unwrap();
    assert_eq!(
        user_field, "idnumber",
        "students are matched on their ID number"
    );
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (user, status, scantime) = (column("idnumber"), column("status"), column("scantime"));
    // The session's students as Moodle knows them: ID number -> the mark.
    let expected = [
        ("s1001", "P"),
        ("s1002", "L"),
        ("s1003", "E"),
        ("s1004", "P"),
        ("s1005", "P"),
        ("s1006", "A"),
    ];
    let acronyms = ["P", "A", "L", "E"];
    let mut seen = std::collections::HashMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let who = row[user].to_lowercase();
        assert!(
            seen.insert(who.clone(), row[status].to_string()).is_none(),
            "{who} twice"
        );
        assert!(
            acronyms.contains(&&row[status]),
            "status {:?}",
            &row[status]
        );
        let scan = &row[scantime];
        if !scan.is_empty() {
            chrono::DateTime::parse_from_rfc3339(scan).unwrap();
        }
    }
    let expected: std::collections::HashMap<String, String> = expected
        .iter()
        .map(|(no, status)| (no.to_string(), status.to_string()))
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn every_text_format_of_the_course_matches_its_golden_file() {
    check_text_formats(&["--course", "Physics 101"], "course");
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
            "At risk",
            "2026-11-23 #1",
            "2026-11-30 #2",
            "2026-12-07 #3"
        ]
    );

    let summary = workbook.worksheet_range("Summary").unwrap();
    assert_eq!(summary.get_size(), (7, 10), "a header and six students");
    let header: Vec<String> = (0..10)
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
            "Last attended",
            "At risk"
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
fn a_report_file_is_private_unless_the_config_lets_the_group_read() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let mode = |name: &str| {
        std::fs::metadata(sandbox.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let private = sandbox.path("private.csv");
    stdout_of(report(
        &sandbox,
        &db,
        &["--last", "-o", private.to_str().unwrap()],
    ));
    assert_eq!(mode("private.csv"), 0o600);

    let config = sandbox.write("group.toml", "[report]\nfile_mode = \"0640\"\n");
    let shared = sandbox.path("shared.csv");
    let args = [
        "--last",
        "-o",
        shared.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    stdout_of(report(&sandbox, &db, &args));
    assert_eq!(mode("shared.csv"), 0o640);

    let config = sandbox.write("wide.toml", "[report]\n\nfile_mode = \"0666\"\n");
    let wide = sandbox.path("wide.csv");
    let args = [
        "--last",
        "-o",
        wide.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let refused = report(&sandbox, &db, &args);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("wide.toml, line 3, key `report.file_mode`") && message.contains("0640"),
        "{message}"
    );
    assert!(!wide.exists());
}

#[test]
fn a_report_reads_while_a_class_holds_the_database() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let _class = open_writer(&db);
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
    assert!(out.contains(",Presence 2026-11-23 #1\n"), "{out}");
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

/// The XML of every worksheet in the workbook, by file name.
fn sheet_xml(file: &Path) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mut xml = String::new();
            std::io::Read::read_to_string(&mut archive.by_name(&name).unwrap(), &mut xml).unwrap();
            (name, xml)
        })
        .collect()
}

#[test]
fn every_table_sheet_has_a_frozen_header_and_a_filter() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    for (args, tables) in [
        (&["--course", "Physics 101"][..], 6),
        // Summary is label and value; the students and the unknown cards are tables.
        (&["--session", "1"][..], 2),
    ] {
        let file = sandbox.path("workbook.xlsx");
        let all = [args, &["-o", file.to_str().unwrap(), "--force"][..]].concat();
        stdout_of(report(&sandbox, &db, &all));
        let sheets = sheet_xml(&file);
        let with_filter: Vec<&(String, String)> = sheets
            .iter()
            .filter(|(_, xml)| xml.contains("<autoFilter ref=\"A1:"))
            .collect();
        assert_eq!(with_filter.len(), tables, "{args:?}");
        for (name, xml) in with_filter {
            assert!(
                xml.contains(
                    r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
                ),
                "{name}: no frozen header row"
            );
        }
    }
}

#[test]
fn reports_of_nothing_are_still_well_formed() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    {
        let store = open_writer(&db);
        store
            .ensure_course("Empty", &at("2026-11-01T12:00:00+01:00"))
            .unwrap();
    }
    for selection in [
        &["--course", "Physics 101", "--to", "2026-11-22"][..],
        &["--course", "Empty"][..],
    ] {
        for format in ["table", "csv", "canvas", "md", "json"] {
            let out = stdout_of(report(
                &sandbox,
                &db,
                &[selection, &["--format", format][..]].concat(),
            ));
            assert!(!out.is_empty(), "{selection:?} {format}");
        }
        let file = sandbox.path("empty.xlsx");
        let all = [selection, &["-o", file.to_str().unwrap(), "--force"][..]].concat();
        stdout_of(report(&sandbox, &db, &all));
        let mut workbook: Xlsx<_> =
            open_workbook_from_rs(Cursor::new(std::fs::read(&file).unwrap())).unwrap();
        assert_eq!(
            workbook.sheet_names(),
            ["Summary", "Sessions", "At risk"],
            "{selection:?}"
        );
        let sessions = workbook.worksheet_range("Sessions").unwrap();
        assert_eq!(sessions.get_size().0, 1, "only the header");
    }
    let json: serde_json::Value = serde_json::from_slice(&stdout_of(report(
        &sandbox,
        &db,
        &["--course", "Empty", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["course"]["students"], serde_json::json!([]));
    assert_eq!(json["course"]["sessions"], serde_json::json!([]));
}

#[test]
fn a_session_has_the_same_canvas_assignment_in_every_export() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let header = |args: &[&str]| -> Vec<String> {
        let out = String::from_utf8(stdout_of(report(
            &sandbox,
            &db,
            &[args, &["--format", "canvas"][..]].concat(),
        )))
        .unwrap();
        out.lines()
            .next()
            .unwrap()
            .split(',')
            .map(String::from)
            .collect()
    };
    let course = header(&["--course", "Physics 101"]);
    assert_eq!(
        course[5..],
        [
            "Attendance 2026-11-23 #1",
            "Attendance 2026-11-30 #2",
            "Attendance 2026-12-07 #3"
        ]
    );
    assert_eq!(header(&["--session", "2"])[5], course[6]);
    assert_eq!(
        header(&["--course", "Physics 101", "--from", "2026-11-30"])[5],
        course[6]
    );
}

#[test]
fn the_machines_time_zone_is_the_default() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let output = sandbox
        .taproll()
        .env("TZ", "America/New_York")
        .args(["report", "--session", "1", "--format", "json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&stdout_of(output)).unwrap();
    assert_eq!(json["time_zone"], "America/New_York");
    assert_eq!(
        json["session"]["started_at"],
        "2026-11-23T03:00:00.000-05:00"
    );
}

#[test]
fn an_unknown_file_extension_asks_for_a_format() {
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let file = sandbox.path("grades.xls");
    let output = report(&sandbox, &db, &["-o", file.to_str().unwrap()]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("grades.xls") && message.contains("--format"),
        "{message}"
    );
    assert!(!file.exists());
    stdout_of(report(
        &sandbox,
        &db,
        &["-o", file.to_str().unwrap(), "--format", "xlsx"],
    ));
    assert!(
        std::fs::read(&file).unwrap().starts_with(b"PK"),
        "a zip: the XLSX asked for"
    );
    // Piped (not a terminal), an XLSX may go to standard output.
    let piped = stdout_of(report(&sandbox, &db, &["--format", "xlsx"]));
    assert!(piped.starts_with(b"PK"));
}

#[test]
fn the_end_of_session_export_never_replaces_a_file() {
    use taproll::report::export::{ExportSettings, export_session};
    use taproll::report::{Format, LmsOptions, Zone};
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let store = Store::open_read_only(&db).unwrap();
    let settings = ExportSettings {
        folder: sandbox.path("reports/nested"),
        formats: vec![Format::Csv, Format::Json],
        zone: Zone::parse("Europe/Amsterdam").unwrap(),
        lms: LmsOptions::default(),
        uids: Default::default(),
    };
    let first = export_session(&store, 2, &settings).unwrap().written;
    let names = |files: &[PathBuf]| -> Vec<String> {
        files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(
        names(&first),
        [
            "physics-101_2026-11-30_session-2.csv",
            "physics-101_2026-11-30_session-2.json"
        ]
    );
    let again = export_session(&store, 2, &settings).unwrap().written;
    assert_eq!(
        names(&again),
        [
            "physics-101_2026-11-30_session-2-2.csv",
            "physics-101_2026-11-30_session-2-2.json"
        ]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&settings.folder), 0o700);
    assert_eq!(mode(&first[0]), 0o600);
    assert_eq!(
        std::fs::read(&first[0]).unwrap(),
        std::fs::read(&again[0]).unwrap(),
        "the same report, kept twice"
    );

    let blocked = ExportSettings {
        folder: sandbox.path("taproll.db/reports"),
        ..settings
    };
    let error = export_session(&store, 2, &blocked).unwrap_err().to_string();
    assert!(error.contains("taproll.db/reports"), "{error}");
}

#[test]
fn a_card_moved_to_someone_else_takes_its_first_tap_along() {
    use taproll::report::{Content, Selection, Zone, load};
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let mut store = open_writer(&db);
    let (session, _) = store.last_session().unwrap().unwrap();
    let policy = Policy::default();
    // Session 3: Alan taps with the card of s1004 (HYPERLINK) at 09:01, which
    // first counts s1004 present; the card is then moved to Alan. Grace's
    // card is unknown; she is marked present by hand before it is claimed.
    let taken = store
        .record_tap(
            &session,
            &policy,
            "Door",
            &uid("04A1B2C6"),
            &at("2026-12-07T09:01:00+01:00"),
        )
        .unwrap();
    let grace_card = store
        .record_tap(
            &session,
            &policy,
            "Door",
            &uid("04ABCDEF"),
            &at("2026-12-07T09:02:00+01:00"),
        )
        .unwrap();
    let id = |name: &str| {
        store
            .roster(&session)
            .unwrap()
            .into_iter()
            .find(|r| r.student.name == name)
            .unwrap()
            .student
            .id
    };
    let (alan, grace) = (id("Alan Turing"), id("Grace Hopper"));
    store
        .claim_tap(
            &session,
            &policy,
            taken.tap_id,
            alan,
            true,
            &at("2026-12-07T09:03:00+01:00"),
        )
        .unwrap();
    store
        .set_manual_mark(
            &session,
            grace,
            Mark::Present,
            None,
            &at("2026-12-07T09:04:00+01:00"),
        )
        .unwrap();
    store
        .claim_tap(
            &session,
            &policy,
            grace_card.tap_id,
            grace,
            false,
            &at("2026-12-07T09:05:00+01:00"),
        )
        .unwrap();
    drop(store);
    let store = Store::open_read_only(&db).unwrap();
    let report = load(
        &store,
        &Selection::Session(session.id),
        &Zone::parse("Europe/Amsterdam").unwrap(),
    )
    .unwrap();
    let Content::Session(report) = report.content else {
        panic!("a session report");
    };
    let first_tap = |no: &str| {
        report
            .students
            .iter()
            .find(|s| s.student_no == no)
            .unwrap()
            .first_tap
            .map(|t| t.format("%H:%M").to_string())
    };
    assert_eq!(first_tap("s1001").as_deref(), Some("08:58"), "Ada's own");
    assert_eq!(first_tap("s1004"), None, "the moved tap was not theirs");
    let s1004 = report
        .students
        .iter()
        .find(|s| s.student_no == "s1004")
        .unwrap();
    assert_eq!(s1004.mark, None, "and neither is its mark");
    assert_eq!(
        first_tap("s1002").as_deref(),
        Some("09:01"),
        "Alan's tap came with the card"
    );
    assert_eq!(
        first_tap("s1003").as_deref(),
        Some("09:02"),
        "Grace's card, claimed after her mark"
    );
}

/// Makes a FIFO, or with `kind` "c" a character device like `/dev/null`
/// (major 1, minor 3), inside the sandbox; `None` when the system will not
/// (mknod needs root).
fn special_file(path: &Path, kind: &str) -> Option<()> {
    let status = match kind {
        "fifo" => std::process::Command::new("mkfifo").arg(path).status(),
        _ => std::process::Command::new("mknod")
            .arg(path)
            .args(["c", "1", "3"])
            .status(),
    };
    match status {
        Ok(status) if status.success() => Some(()),
        _ => {
            eprintln!("cannot make a {kind} here; that case is skipped");
            None
        }
    }
}

#[test]
fn force_replaces_only_a_regular_file() {
    use std::os::unix::fs::FileTypeExt;
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let kind_of = |path: &Path| std::fs::symlink_metadata(path).unwrap().file_type();

    let fifo = sandbox.path("pipe.csv");
    special_file(&fifo, "fifo").unwrap();
    let device = sandbox.path("null.csv");
    let have_device = special_file(&device, "c").is_some();
    let target = sandbox.write("target.csv", "kept");
    let link = sandbox.path("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let folder = sandbox.path("folder.csv");
    std::fs::create_dir(&folder).unwrap();

    let mut cases = vec![
        (fifo.clone(), "FIFO"),
        (link.clone(), "symbolic link"),
        (folder.clone(), "folder"),
    ];
    if have_device {
        cases.push((device.clone(), "character device"));
    }
    for (path, kind) in &cases {
        let refused = report(
            &sandbox,
            &db,
            &["--session", "1", "-o", path.to_str().unwrap(), "--force"],
        );
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{kind} replaced: {message}");
        assert!(
            message.contains(path.to_str().unwrap()) && message.contains(kind),
            "the message names the path and what it is: {message}"
        );
        assert!(
            message.contains("only a regular file"),
            "and says why: {message}"
        );
    }
    assert!(kind_of(&fifo).is_fifo(), "the FIFO is still a FIFO");
    if have_device {
        assert!(kind_of(&device).is_char_device(), "the device is still one");
    }
    assert!(kind_of(&link).is_symlink(), "the link is still a link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
    assert!(kind_of(&folder).is_dir());

    // Without --force a special file is refused too, and left alone.
    let refused = report(
        &sandbox,
        &db,
        &["--session", "1", "-o", fifo.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    assert!(kind_of(&fifo).is_fifo());
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file left: {leftovers:?}"
    );
}

#[test]
fn the_end_of_session_export_goes_around_a_special_file() {
    use std::os::unix::fs::FileTypeExt;
    use taproll::report::export::{ExportSettings, export_session};
    use taproll::report::{Format, LmsOptions, Zone};
    let sandbox = Sandbox::new();
    let db = fixture(&sandbox);
    let store = Store::open_read_only(&db).unwrap();
    let folder = sandbox.path("reports");
    std::fs::create_dir(&folder).unwrap();
    let fifo = folder.join("physics-101_2026-11-30_session-2.csv");
    special_file(&fifo, "fifo").unwrap();
    let target = sandbox.write("target.json", "kept");
    let link = folder.join("physics-101_2026-11-30_session-2.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let settings = ExportSettings {
        folder,
        formats: vec![Format::Csv, Format::Json],
        zone: Zone::parse("Europe/Amsterdam").unwrap(),
        lms: LmsOptions::default(),
        uids: Default::default(),
    };
    let exported = export_session(&store, 2, &settings).unwrap();
    assert!(exported.failed.is_empty(), "{:?}", exported.failed);
    let names: Vec<String> = exported
        .written
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "physics-101_2026-11-30_session-2-2.csv",
            "physics-101_2026-11-30_session-2-2.json"
        ]
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
}

/// A name that would recolour a terminal (ESC [31m), ring its bell, start
/// a C1 control sequence (U+009B, CSI) and reverse the text after it.
const HOSTILE_NAME: &str = "Eve\u{1b}[31m\u{7}\u{9b}2J\u{202E}nimda";
const HOSTILE_COURSE: &str = "Evil\u{1b}[2J 101";

/// One course, one ended session with outside text everywhere it can be:
/// the course, the label, a student's name and section, a note holding a
/// tab and line breaks, a reader's name and an unknown card.
fn hostile_fixture(sandbox: &Sandbox) -> PathBuf {
    let db = sandbox.path("hostile.db");
    let mut store = Store::open(&db).unwrap();
    let line = |no: &str, name: &str, section: &str, card: &str| taproll::import::RosterLine {
        line: 2,
        student_no: no.to_string(),
        name: name.to_string(),
        email: None,
        card: Some(uid(card)),
        section: Some(section.to_string()),
    };
    let now = at("2026-11-01T12:00:00+01:00");
    store
        .import_roster(
            HOSTILE_COURSE,
            &[
                line("s1\u{7f}", HOSTILE_NAME, "B\u{1b}[0m\u{2066}", "04A1B2C3"),
                line("s2", "Ann\tLee", "A", "04A1B2C4"),
            ],
            &now,
            Default::default(),
        )
        .unwrap();
    let course = store.course_by_name(HOSTILE_COURSE).unwrap().unwrap();
    let start = at("2026-11-23T09:00:00+01:00");
    let session = store
        .start_or_resume_session(&course, &start, &start)
        .unwrap();
    store
        .set_session_label(session.id, "Lab\u{202E}3\u{85}", &start)
        .unwrap();
    let policy = Policy::default();
    for (card, time) in [("04A1B2C3", "09:02:00"), ("04EEEE02", "09:03:00")] {
        store
            .record_tap(
                &session,
                &policy,
                "Door\u{1b}]0;owned\u{7}",
                &uid(card),
                &at(&format!("2026-11-23T{time}+01:00")),
            )
            .unwrap();
    }
    let ann = store
        .roster(&session)
        .unwrap()
        .into_iter()
        .find(|r| r.student.student_no == "s2")
        .unwrap()
        .student
        .id;
    store
        .set_manual_mark(
            &session,
            ann,
            Mark::Excused,
            Some("sick\tday\nback\r\nlater\u{9b}"),
            &at("2026-11-23T09:40:00+01:00"),
        )
        .unwrap();
    store
        .end_session(&session, &at("2026-11-23T10:30:00+01:00"))
        .unwrap();
    db
}

/// The first character a terminal would act on: a C0 control other than
/// the line break (and, in CSV, the CR of its CRLF line ends), DEL, a C1
/// control or a bidirectional override.
fn first_control(text: &str, crlf: bool) -> Option<(usize, char)> {
    let bytes = text.as_bytes();
    text.char_indices().find(|&(at, c)| {
        let line_end = c == '\n' || (crlf && c == '\r' && bytes.get(at + 1) == Some(&b'\n'));
        (c.is_control() && !line_end)
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn no_text_format_carries_a_control_character() {
    let sandbox = Sandbox::new();
    let db = hostile_fixture(&sandbox);
    let selections: [&[&str]; 2] = [&["--session", "1"], &["--course", HOSTILE_COURSE]];
    let mut carried = Vec::new();
    for selection in selections {
        for format in ["table", "csv", "canvas", "md", "json"] {
            let file = sandbox.path(&format!("out-{format}-{}", selection[0].len()));
            let args = [selection, &["--format", format][..]].concat();
            let piped = stdout_of(report(&sandbox, &db, &args));
            let with_o = [&args[..], &["-o", file.to_str().unwrap()][..]].concat();
            stdout_of(report(&sandbox, &db, &with_o));
            let written = std::fs::read(&file).unwrap();
            for (how, bytes) in [("piped", piped), ("-o", written)] {
                let text = String::from_utf8(bytes).unwrap();
                let crlf = format == "csv" || format == "canvas";
                if let Some((at, c)) = first_control(&text, crlf) {
                    carried.push(format!(
                        "{format} {selection:?} {how}: {c:?} at byte {at}:\n{}",
                        text.escape_debug()
                    ));
                    continue;
                }
                if format == "json" {
                    // JSON escapes them: a program reads the name as stored.
                    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let students = match selection[0] {
                        "--session" => &value["session"]["students"],
                        _ => &value["course"]["students"],
                    };
                    let eve = students
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["student_no"] == "s1\u{7f}")
                        .unwrap();
                    assert_eq!(eve["name"], HOSTILE_NAME, "{text}");
                } else {
                    assert!(
                        text.contains("Eve\u{FFFD}")
                            && text.contains("\u{FFFD}\u{FFFD}2J\u{FFFD}nimda"),
                        "{format} {how}: the name is there, its controls replaced:\n{text}"
                    );
                }
            }
        }
    }
    assert!(carried.is_empty(), "{}", carried.join("\n\n"));
}
