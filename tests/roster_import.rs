//! Roster import: the parser on the fixture files, and the real binary
//! importing into a real database.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::Sandbox;
use std::path::PathBuf;
use taproll::import::{Format, ImportError, parse};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

#[test]
fn a_generic_file_with_bom_semicolons_quotes_and_blank_lines() {
    let parsed = parse(&read("generic_bom_semicolon.csv")).unwrap();
    assert_eq!(parsed.format, Format::Generic);
    assert!(parsed.refused.is_empty(), "{:?}", parsed.refused);
    // line | id | name | card | section
    let rows: Vec<String> = parsed
        .students
        .iter()
        .map(|s| {
            let card = s.card.as_ref().map_or("-", |c| c.as_hex());
            let section = s.section.as_deref().unwrap_or("-");
            format!("{}|{}|{}|{card}|{section}", s.line, s.student_no, s.name)
        })
        .collect();
    assert_eq!(
        rows,
        [
            "2|s1001|Lovelace; Ada|04A1B2C3|Mon",
            "3|s1002|Turing, Alan \"Prof\"|-|Tue",
            "5|s1003|Grace Hopper|040B0C0D|-",
        ]
    );
    assert_eq!(parsed.students[0].email.as_deref(), Some("ada@example.edu"));
}

#[test]
fn a_canvas_export_is_detected_and_its_extra_rows_skipped() {
    let parsed = parse(&read("canvas.csv")).unwrap();
    assert_eq!(parsed.format, Format::Canvas);
    let people: Vec<(&str, &str, Option<&str>)> = parsed
        .students
        .iter()
        .map(|s| (s.student_no.as_str(), s.name.as_str(), s.section.as_deref()))
        .collect();
    assert_eq!(
        people,
        [
            ("s1001", "Ada Lovelace", Some("Networks 101 - A")),
            ("s1002", "Alan Turing", Some("Networks 101 - B")),
            ("s1003", "Grace Hopper", Some("Networks 101 - A")),
        ]
    );
    assert_eq!(
        parsed.students[1].email.as_deref(),
        Some("alan@example.edu")
    );
}

#[test]
fn a_moodle_export_is_detected() {
    let parsed = parse(&read("moodle.csv")).unwrap();
    assert_eq!(parsed.format, Format::Moodle);
    let people: Vec<(&str, &str)> = parsed
        .students
        .iter()
        .map(|s| (s.student_no.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        people,
        [("s1001", "Ada Lovelace"), ("s1002", "Alan Turing")]
    );
}

#[test]
fn bad_lines_are_refused_with_line_and_reason() {
    let parsed = parse(&read("bad_lines.csv")).unwrap();
    let refused: Vec<(usize, &str)> = parsed
        .refused
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            (3, "no student id"),
            (4, "student s1003 has no name"),
            (5, "student id s1001 is already on line 2"),
            (
                6,
                "card `04ZZ`: the card UID has `Z`, which is not a hex digit"
            ),
            (
                7,
                "card 04:A1:B2:C3 is already given to the student on line 2"
            ),
        ]
    );
}

#[test]
fn a_file_without_an_id_or_name_column_says_what_it_found() {
    let error = parse(&read("missing_columns.csv")).unwrap_err();
    assert_eq!(
        error,
        ImportError::MissingColumn {
            missing: "student id",
            found: "email, card".into()
        }
    );
    assert_eq!(parse("\n\n"), Err(ImportError::Empty));
}

fn import(sandbox: &Sandbox, file: &PathBuf, extra: &[&str]) -> std::process::Output {
    sandbox
        .taproll()
        .args(["roster", "import"])
        .arg(file)
        .args(["--course", "Networks 101", "--db"])
        .arg(sandbox.path("taproll.db"))
        .args(extra)
        .output()
        .unwrap()
}

fn count(sandbox: &Sandbox, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn import_then_reimport_updates_and_adds_but_never_deletes() {
    let sandbox = Sandbox::new();
    let first = import(&sandbox, &fixture("canvas.csv"), &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(
        report.contains("3 students read (Canvas export); 3 added, 0 updated, 0 unchanged"),
        "{report}"
    );
    // A second file renames Ada, keeps Alan and leaves Grace out.
    let second = sandbox.write(
        "update.csv",
        "id,name,email\ns1001,Ada King,ada@example.edu\ns1002,Alan Turing,alan@example.edu\ns1004,Hedy Lamarr,\n",
    );
    let output = import(&sandbox, &second, &[]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("1 added, 1 updated, 1 unchanged"),
        "{report}"
    );
    assert_eq!(count(&sandbox, "enrolments"), 4, "Grace is still enrolled");

    let list = sandbox
        .taproll()
        .args(["roster", "list", "--course", "Networks 101", "--db"])
        .arg(sandbox.path("taproll.db"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.starts_with("Networks 101 (4 students)\n"), "{list}");
    assert!(list.contains("Ada King"), "{list}");
    assert!(
        list.contains("Networks 101 - B"),
        "the section is kept: {list}"
    );
}

#[test]
fn a_file_with_a_refused_line_imports_nothing() {
    let sandbox = Sandbox::new();
    let output = import(&sandbox, &fixture("bad_lines.csv"), &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("5 line(s) refused, nothing imported"),
        "{stderr}"
    );
    assert!(stderr.contains("line 6: card `04ZZ`"), "{stderr}");
    assert_eq!(count(&sandbox, "students"), 0);
}

#[test]
fn a_card_that_belongs_to_someone_else_is_refused_and_nothing_written() {
    let sandbox = Sandbox::new();
    let first = sandbox.write("a.csv", "id,name,card\ns1,Ada,04A1B2C3\n");
    assert!(import(&sandbox, &first, &[]).status.success());
    let second = sandbox.write("b.csv", "id,name,card\ns2,Alan,\ns3,Grace,04:A1:B2:C3\n");
    let output = import(&sandbox, &second, &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3: card 04:A1:B2:C3 belongs to s1 (Ada)"),
        "{stderr}"
    );
    assert_eq!(count(&sandbox, "students"), 1, "Alan was not half-imported");
}

#[test]
fn a_dry_run_writes_nothing() {
    let sandbox = Sandbox::new();
    let output = import(&sandbox, &fixture("moodle.csv"), &["--dry-run"]);
    assert!(output.status.success());
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("2 would be added"), "{report}");
    assert!(report.contains("Dry run: nothing was written."), "{report}");
    assert_eq!(count(&sandbox, "students"), 0);
    assert_eq!(count(&sandbox, "courses"), 0);
}

#[test]
fn a_file_that_is_not_utf8_is_refused_clearly() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("latin1.csv");
    std::fs::write(&path, b"id,name\ns1,Jos\xe9\n").unwrap();
    let output = import(&sandbox, &path, &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2: the file is not UTF-8"), "{stderr}");
}
