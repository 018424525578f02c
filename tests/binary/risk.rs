//! Who is at risk: a course of 8 sessions held of 12 planned, at 75% and 3
//! absences in a row, where exactly three students are at risk, each for
//! the reasons expected, in every report format and in `taproll risk`.

use crate::common::{Sandbox, time};
use crate::privacy::text;
use calamine::{Reader, Xlsx, open_workbook_from_rs};
use chrono::Duration;
use std::path::{Path, PathBuf};
use taproll::domain::Mark;
use taproll::store::Store;

const COURSE: &str = "Statistics 2";

/// Each student's marks in the 8 sessions: P present (by hand), L late,
/// A absent, E excused.
const MARKS: [(&str, &str, &str); 6] = [
    ("s1", "Ada Lovelace", "PPPPPPPP"),
    // 6 of 8: exactly 75%, not under.
    ("s2", "Alan Turing", "PPAPPAPP"),
    // 5 of 8: under; 3 absences to the end; attending the 4 left gives
    // 9 of 12, exactly 75%: still reachable.
    ("s3", "Grace Hopper", "PPPLPAAA"),
    // 3 of 8: under, and 7 of 12 at best.
    ("s4", "Ken Thompson", "PAPAAPAA"),
    // Excused sessions do not count.
    ("s5", "Barbara Liskov", "PPPPPPEE"),
    // 4 of 7: under; A E A A is 3 in a row; 8 of 11 at best.
    ("s6", "Edsger Dijkstra", "PPPPAEAA"),
];

const EXPECTED: [(&str, &str); 3] = [
    (
        "s6",
        "attendance 57% (under 75%); 3 absences in a row; cannot reach 75% any more (at most 72% of 12 sessions)",
    ),
    ("s3", "attendance 62% (under 75%); 3 absences in a row"),
    (
        "s4",
        "attendance 37% (under 75%); cannot reach 75% any more (at most 58% of 12 sessions)",
    ),
];

fn course(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let db = sandbox.path("taproll.db");
    let store = Store::open(&db).unwrap();
    let start = time("2026-09-07T09:00:00+02:00");
    let course = store.ensure_course(COURSE, &start).unwrap();
    let mut ids = Vec::new();
    for (no, name, _) in MARKS {
        let student = store.upsert_student(no, name).unwrap();
        store.enrol(course.id, student.id, &start).unwrap();
        ids.push(student.id);
    }
    for week in 0..8 {
        let at = start + Duration::weeks(week);
        let session = store.start_or_resume_session(&course, &at, &at).unwrap();
        for (i, (_, _, marks)) in MARKS.iter().enumerate() {
            let mark = match marks.as_bytes()[week as usize] {
                b'P' => Mark::Present,
                b'L' => Mark::Late,
                b'E' => Mark::Excused,
                _ => continue, // absent when the session ends
            };
            store
                .set_manual_mark(&session, ids[i], mark, None, &(at + Duration::minutes(5)))
                .unwrap();
        }
        store
            .end_session(&session, &(at + Duration::hours(1)))
            .unwrap();
    }
    let config = sandbox.write(
        "config.toml",
        &format!(
            "[risk]\nmin_rate_percent = 75\nconsecutive_absences = 3\n\n\
             [risk.course.\"{COURSE}\"]\nplanned_sessions = 12\n"
        ),
    );
    (db, config)
}

fn taproll(sandbox: &Sandbox, db: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    sandbox
        .taproll()
        .args(args)
        .arg("--db")
        .arg(db)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn report(sandbox: &Sandbox, db: &Path, config: &Path, format: &str) -> String {
    let output = taproll(
        sandbox,
        db,
        config,
        &["report", "--course", COURSE, "--format", format],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn exactly_the_students_at_risk_are_listed_with_their_reasons_in_every_format() {
    let sandbox = Sandbox::new();
    let (db, config) = course(&sandbox);

    // JSON: the list, in report order (by name), and each student's own.
    let json: serde_json::Value =
        serde_json::from_str(&report(&sandbox, &db, &config, "json")).unwrap();
    let listed: Vec<(String, String)> = json["course"]["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let reasons: Vec<&str> = s["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            (
                s["student_no"].as_str().unwrap().to_string(),
                reasons.join("; "),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(no, why)| (no.to_string(), why.to_string()))
        .collect();
    assert_eq!(listed, expected);
    for student in json["course"]["students"].as_array().unwrap() {
        let no = student["student_no"].as_str().unwrap();
        let at_risk = EXPECTED.iter().any(|(n, _)| *n == no);
        assert_eq!(
            !student["risk"].as_array().unwrap().is_empty(),
            at_risk,
            "{no}"
        );
    }

    // The terminal table, Markdown and CSV: every reason, and no other
    // student named in the section.
    let table = report(&sandbox, &db, &config, "table");
    let section = table
        .split("\nAt risk\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    assert_eq!(section.lines().count(), 3, "{section}");
    let md = report(&sandbox, &db, &config, "md");
    let md_section = md
        .split("## At risk")
        .nth(1)
        .unwrap()
        .split("## Sessions")
        .next()
        .unwrap();
    let csv = report(&sandbox, &db, &config, "csv");
    assert!(csv.lines().next().unwrap().ends_with(",At risk"), "{csv}");
    for (no, why) in EXPECTED {
        assert!(
            section.contains(&format!("({no}): {why}")),
            "{no} in\n{section}"
        );
        assert!(
            md_section.contains(no) && md_section.contains(why),
            "{no} in\n{md_section}"
        );
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{no},")))
            .unwrap();
        assert!(line.ends_with(&format!(",{why}")), "{line}");
    }
    for no in ["s1", "s2", "s5"] {
        assert!(
            !section.contains(&format!("({no})")) && !md_section.contains(&format!("| {no} |"))
        );
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{no},")))
            .unwrap();
        assert!(line.ends_with(','), "nothing in the column: {line}");
    }

    // XLSX: a sheet of its own.
    let file = sandbox.path("course.xlsx");
    let output = taproll(
        &sandbox,
        &db,
        &config,
        &["report", "--course", COURSE, "-o", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(std::fs::read(&file).unwrap())).unwrap();
    let sheet = workbook.worksheet_range("At risk").unwrap();
    let rows: Vec<(String, String)> = sheet
        .rows()
        .skip(1)
        .map(|row| (row[0].to_string(), row[3].to_string()))
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn taproll_risk_lists_them_and_its_exit_status_says_whether_anyone_is() {
    let sandbox = Sandbox::new();
    let (db, config) = course(&sandbox);
    let output = taproll(&sandbox, &db, &config, &["risk", "--course", COURSE]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(
        out.starts_with(&format!(
            "{COURSE}: 3 of 6 student(s) at risk (rules: under 75%, 3 absences in a row, \
             12 sessions planned; 8 session(s) held)\n"
        )),
        "{out}"
    );
    for (no, why) in EXPECTED {
        assert!(out.contains(&format!("({no}): {why}\n")), "{out}");
    }
    // Looser rules: nobody, status 0.
    let loose = sandbox.write(
        "loose.toml",
        "[risk]\nmin_rate_percent = 30\nconsecutive_absences = 0\n",
    );
    let output = taproll(&sandbox, &db, &loose, &["risk", "--course", COURSE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains(": 0 of 6 student(s) at risk"));
    // An error is 2, told on standard error.
    let output = taproll(&sandbox, &db, &config, &["risk", "--course", "Chemistry"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no course named \"Chemistry\""),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_roster_marks_the_students_at_risk_and_says_why_for_the_selected_one() {
    let sandbox = Sandbox::new();
    let (db, config) = course(&sandbox);
    let command = format!(
        "XDG_STATE_HOME={state} {bin} run --reader wedge --course '{COURSE}' --db {db} --config {config}",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = db.display(),
        config = config.display(),
    );
    let Some(tmux) = crate::tui_tmux::Tmux::start("risk", 80, 24, &command) else {
        return;
    };
    let screen = tmux.wait_for("! Edsger Dijkstra");
    for (name, marked) in [
        ("Ada Lovelace", false),
        ("Alan Turing", false),
        ("Barbara Liskov", false),
        ("Edsger Dijkstra", true),
        ("Grace Hopper", true),
        ("Ken Thompson", true),
    ] {
        assert_eq!(
            screen.contains(&format!("! {name}")),
            marked,
            "{name}:\n{screen}"
        );
    }
    assert!(!screen.contains("! risk"), "Ada is selected:\n{screen}");
    // Down to Edsger Dijkstra: the status line says why.
    for _ in 0..3 {
        tmux.keys("Down");
    }
    tmux.wait_for("! risk: 57% (min 75%); 3 absent in a row; max 72% of 12");
}
