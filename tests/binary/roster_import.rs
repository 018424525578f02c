//! Roster import: the parser on the fixture files, and the real binary
//! importing into a real database.

use crate::common::Sandbox;
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

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn names(sandbox: &Sandbox) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let mut statement = conn
        .prepare("SELECT student_no, name FROM students ORDER BY student_no")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_quote_left_open_refuses_the_file_at_its_line_and_renames_nobody() {
    let sandbox = Sandbox::new();
    let first = sandbox.write("first.csv", "id,name,email\ns2,Bob,b@x\n");
    assert!(import(&sandbox, &first, &[]).status.success());
    let file = sandbox.write(
        "f.csv",
        "id,name,email\ns1,Ann,a@x\ns2,\"Bob,b@x\ns3,Cat,c@x\ns4,Dan,d@x\n",
    );
    let output = import(&sandbox, &file, &[]);
    assert!(!output.status.success());
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("line 3: a quote opens the value"),
        "{stderr}"
    );
    assert_eq!(names(&sandbox), [("s2".to_string(), "Bob".to_string())]);

    for (line, reason) in [
        ("s2,\"Bob O\"Neil\",b@x", "text after the closing quote"),
        ("s2,Bob O\"Neil,b@x", "a quote inside the value"),
        ("s2,\"Bob\nO'Neil\",b@x", "not closed on this line"),
    ] {
        let file = sandbox.write("g.csv", &format!("id,name,email\ns1,Ann,a@x\n{line}\n"));
        let stderr = stderr_of(&import(&sandbox, &file, &[]));
        assert!(stderr.contains("line 3: "), "{line}: {stderr}");
        assert!(stderr.contains(reason), "{line}: {stderr}");
    }
    assert_eq!(names(&sandbox), [("s2".to_string(), "Bob".to_string())]);
}

#[test]
fn a_rename_of_a_student_of_another_course_is_refused_unless_allowed() {
    let sandbox = Sandbox::new();
    let one = sandbox.write("one.csv", "id,name\n1,Alice\n2,Bob\n");
    let output = sandbox
        .taproll()
        .args(["roster", "import"])
        .arg(&one)
        .args(["--course", "Course One", "--db"])
        .arg(sandbox.path("taproll.db"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let two = sandbox.write("two.csv", "id,name\n1,Xavier\n2,Bob\n3,Zoe\n");
    for extra in [&["--dry-run"][..], &[]] {
        let output = import(&sandbox, &two, extra);
        assert!(!output.status.success());
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains(
                "line 2: student id 1 is Alice in Course One; this file calls them Xavier"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("--allow-renames"), "{stderr}");
    }
    assert_eq!(
        names(&sandbox),
        [
            ("1".to_string(), "Alice".to_string()),
            ("2".to_string(), "Bob".to_string())
        ]
    );
    let output = import(&sandbox, &two, &["--allow-renames"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(names(&sandbox)[0], ("1".to_string(), "Xavier".to_string()));
}

#[test]
fn loose_files_are_refused_with_a_reason() {
    let sandbox = Sandbox::new();
    let cases = [
        (
            "id,name,Name\ns1,Ann,Bob\n",
            "two columns for one value: `name` (column 2) and `Name` (column 3)",
        ),
        ("id,name,email\n\n", "the file has a header but no students"),
        (
            "id,name,card\ns1,Ann,04:AA\n",
            "line 2: card `04:AA`: a card number of 2 byte(s)",
        ),
        (
            "id,name,card\ns1,Ann,-1\n",
            "line 2: card `-1`: the card UID starts or ends with `-`",
        ),
        (
            "id,name,email\ns1,Lovelace, Ada,ada@x\n",
            "line 2: 4 values but the header has 3 columns",
        ),
    ];
    for (text, reason) in cases {
        let file = sandbox.write("f.csv", text);
        let output = import(&sandbox, &file, &[]);
        assert!(!output.status.success(), "{text}");
        let stderr = stderr_of(&output);
        assert!(stderr.contains(reason), "{text}: {stderr}");
        assert!(stderr.contains("f.csv"), "the file is named: {stderr}");
    }
    let long = "x".repeat(10_000);
    let file = sandbox.write("long.csv", &format!("id,name\ns1,{long}\n"));
    let stderr = stderr_of(&import(&sandbox, &file, &[]));
    assert!(
        stderr.contains("line 2: the name is 10000 characters long; taproll keeps at most 200"),
        "{stderr}"
    );
    assert_eq!(count(&sandbox, "courses"), 0, "no empty course was made");
    assert_eq!(count(&sandbox, "students"), 0);
}

#[test]
fn the_demo_refuses_a_database_that_holds_more_than_the_demo() {
    let sandbox = Sandbox::new();
    let real = sandbox.write("real.csv", "id,name,card\ns1001,Real Person,04A1B2C3\n");
    assert!(import(&sandbox, &real, &[]).status.success());
    let before = names(&sandbox);
    let output = sandbox
        .taproll()
        .args(["demo", "--headless", "--db"])
        .arg(sandbox.path("taproll.db"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("holds more than the demo (the course \"Networks 101\")"),
        "{stderr}"
    );
    assert_eq!(names(&sandbox), before, "no student renamed or added");
    assert_eq!(count(&sandbox, "courses"), 1, "no demo course added");
    assert_eq!(count(&sandbox, "sessions"), 0);
}

#[test]
fn listings_of_an_empty_database_and_of_a_course_without_sessions_say_so() {
    let sandbox = Sandbox::new();
    let run = |args: &[&str]| {
        let output = sandbox
            .taproll()
            .args(args)
            .arg("--db")
            .arg(sandbox.path("taproll.db"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    };
    // An empty database, as `taproll run` leaves it when no course is given.
    drop(taproll::store::Store::open(&sandbox.path("taproll.db")).unwrap());
    let (ok, text) = run(&["roster", "list"]);
    assert!(ok && text.contains("No courses yet"), "{text}");

    let file = sandbox.write("one.csv", "id,name\ns1,Ann\n");
    assert!(import(&sandbox, &file, &[]).status.success());
    let (ok, text) = run(&["sessions"]);
    assert!(ok, "{text}");
    assert!(!text.contains("no course yet"), "{text}");
    assert!(
        text.starts_with("Networks 101\n") && text.contains("No sessions yet"),
        "{text}"
    );
}
