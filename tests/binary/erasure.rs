//! `taproll student forget`: after a demo class, one student is forgotten;
//! the session's counts stay, and the student is gone from the roster, the
//! reports, the log and the database file's bytes.

use crate::common::Sandbox;
use crate::privacy::{logs, spellings, text};
use serde_json::Value;
use std::path::Path;

/// Radia Perlman taps first in the demo: she has a mark.
const NUMBER: &str = "s1010";
const NAME: &str = "Radia Perlman";
const CARD: &str = "0493253CD654AF";

fn demo(sandbox: &Sandbox) -> std::path::PathBuf {
    let db = sandbox.path("demo.db");
    let output = sandbox
        .taproll()
        .args(["demo", "--headless", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    db
}

fn taproll(sandbox: &Sandbox, db: &Path, args: &[&str]) -> std::process::Output {
    sandbox
        .taproll()
        .args(args)
        .arg("--db")
        .arg(db)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn report(sandbox: &Sandbox, db: &Path, format: &str) -> String {
    let output = taproll(sandbox, db, &["report", "--last", "--format", format]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

/// Every byte of the database's files (the WAL too, if there is one).
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        bytes.extend(wal);
    }
    bytes
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn a_forgotten_student_leaves_the_counts_and_nothing_else() {
    let sandbox = Sandbox::new();
    let db = demo(&sandbox);
    // The card is the one the demo's roster gives her.
    let roster = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/roster.toml"),
    )
    .unwrap();
    assert!(roster.contains(&format!(
        "id = \"{NUMBER}\"\nname = \"{NAME}\"\ncard = \"{CARD}\""
    )));
    let before: Value = serde_json::from_str(&report(&sandbox, &db, "json")).unwrap();
    assert!(report(&sandbox, &db, "csv").contains(NAME));
    let bytes = file_bytes(&db);
    assert!(
        holds(&bytes, NAME) && holds(&bytes, CARD),
        "the test can fail"
    );

    // Without a terminal and without --yes: refused, nothing changed.
    let refused = taproll(&sandbox, &db, &["student", "forget", NUMBER]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--yes"),
        "{}",
        text(&refused.stderr)
    );
    let wrong_course = taproll(
        &sandbox,
        &db,
        &[
            "student",
            "forget",
            NUMBER,
            "--course",
            "Chemistry",
            "--yes",
        ],
    );
    assert!(!wrong_course.status.success());
    assert!(
        text(&wrong_course.stderr).contains("not enrolled in \"Chemistry\""),
        "{}",
        text(&wrong_course.stderr)
    );
    assert!(report(&sandbox, &db, "csv").contains(NAME), "still there");

    let forget = taproll(
        &sandbox,
        &db,
        &[
            "student",
            "forget",
            NUMBER,
            "--course",
            "Networks 101 (demo)",
            "--yes",
        ],
    );
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    let said = text(&forget.stdout);
    assert!(said.starts_with("Forgotten: forgotten-"), "{said}");

    // The counts are the same; her row is the pseudonym's.
    let after: Value = serde_json::from_str(&report(&sandbox, &db, "json")).unwrap();
    let session = |report: &Value| report["session"].clone();
    assert_eq!(session(&after)["totals"], session(&before)["totals"]);
    let students = |report: &Value| session(report)["students"].as_array().unwrap().clone();
    assert_eq!(students(&after).len(), students(&before).len());
    let pseudonym = said.split_whitespace().nth(1).unwrap();
    let row = students(&after)
        .into_iter()
        .find(|s| s["student_no"] == pseudonym)
        .unwrap_or_else(|| panic!("{pseudonym} in {after}"));
    let was = students(&before)
        .into_iter()
        .find(|s| s["student_no"] == NUMBER)
        .unwrap();
    assert_eq!(
        (&row["status"], &row["first_tap"]),
        (&was["status"], &was["first_tap"])
    );

    // Gone from the roster, every report format, the log and the file.
    let roster = taproll(&sandbox, &db, &["roster", "list"]);
    assert!(roster.status.success());
    let listed = text(&roster.stdout);
    assert!(
        listed.contains("Alan Turing") && !listed.contains(NAME) && !listed.contains(pseudonym)
    );
    for format in ["csv", "json", "md", "table", "canvas"] {
        let report = report(&sandbox, &db, format);
        assert!(
            !report.contains(NAME) && !report.contains(NUMBER),
            "{format}:\n{report}"
        );
    }
    let logs = logs(&sandbox);
    assert!(
        logs.contains("a student was forgotten on request"),
        "{logs}"
    );
    assert!(!logs.contains(NAME), "{logs}");
    let bytes = file_bytes(&db);
    assert!(!holds(&bytes, NAME), "the name is in the file's bytes");
    for spelling in spellings(CARD) {
        assert!(
            !holds(&bytes, &spelling),
            "the card {spelling} is in the file's bytes"
        );
    }
    // Nothing was ever sent, so no server needs her number either.
    assert!(!holds(&bytes, NUMBER), "the number is in the file's bytes");

    // The erasure is audited, without the erased data, and queued.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (audited, erased): (String, String) = conn
        .query_row("SELECT pseudonym, erased FROM erasures", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(audited, pseudonym);
    assert!(
        erased.starts_with("name, email, 1 card(s), 1 enrolment(s); 1 mark(s)"),
        "{erased}"
    );
    let event: String = conn
        .query_row(
            "SELECT event FROM outbox WHERE kind = 'student_forgotten'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(event.contains(pseudonym), "{event}");

    // Again: she is not found.
    let again = taproll(&sandbox, &db, &["student", "forget", NUMBER, "--yes"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no student has the id s1010"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn a_backup_restored_after_a_forget_does_not_bring_the_student_back() {
    let sandbox = Sandbox::new();
    let db = demo(&sandbox);
    let folder = sandbox.path("backups");
    std::fs::create_dir(&folder).unwrap();
    let backup = taproll(&sandbox, &db, &["backup", "--to", folder.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let file = std::fs::read_dir(&folder)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        holds(&std::fs::read(&file).unwrap(), NAME),
        "the backup holds her"
    );
    let before: Value = serde_json::from_str(&report(&sandbox, &db, "json")).unwrap();
    let forget = taproll(&sandbox, &db, &["student", "forget", NUMBER, "--yes"]);
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    let said = text(&forget.stdout);
    let pseudonym = said.split_whitespace().nth(1).unwrap().to_string();
    assert!(pseudonym.starts_with("forgotten-"), "{said}");

    // Twice: over the forgetting database, then over the restored one
    // (whose erasure is the one made again).
    for time in 0..2 {
        let restore = taproll(&sandbox, &db, &["restore", file.to_str().unwrap()]);
        assert!(restore.status.success(), "{}", text(&restore.stderr));
        let said = text(&restore.stdout);
        assert!(
            said.contains(&format!("Forgotten again: {pseudonym} (erased ")),
            "restore {time}: {said}"
        );

        // The same pseudonym stands for her, the counts are the same.
        let after: Value = serde_json::from_str(&report(&sandbox, &db, "json")).unwrap();
        let session = |report: &Value| report["session"].clone();
        assert_eq!(session(&after)["totals"], session(&before)["totals"]);
        let row = |report: &Value, number: &str| {
            session(report)["students"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["student_no"] == number)
                .cloned()
                .unwrap_or_else(|| panic!("{number} in {report}"))
        };
        assert_eq!(
            (row(&after, &pseudonym)["status"].clone()),
            row(&before, NUMBER)["status"]
        );
        let roster = taproll(&sandbox, &db, &["roster", "list"]);
        let listed = text(&roster.stdout);
        assert!(listed.contains("Alan Turing") && !listed.contains(NAME));
        let bytes = file_bytes(&db);
        assert!(
            !holds(&bytes, NAME),
            "restore {time}: the name is in the file"
        );
        assert!(
            !holds(&bytes, NUMBER),
            "restore {time}: the number is in the file"
        );
        for spelling in spellings(CARD) {
            assert!(
                !holds(&bytes, &spelling),
                "restore {time}: the card {spelling}"
            );
        }
        let conn = rusqlite::Connection::open(&db).unwrap();
        let erased: String = conn
            .query_row(
                "SELECT erased FROM erasures WHERE pseudonym = ?1",
                [&pseudonym],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            erased.starts_with("name, email, 1 card(s)")
                && erased.contains("; forgotten again in a backup restored at "),
            "{erased}"
        );
    }
}
