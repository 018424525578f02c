//! A backup restored after students were forgotten (`backup::restore`):
//! each is forgotten in it again, found by the events the two databases
//! share; one who came after the backup is not in it; a backup that shares
//! no event (another device's) is refused unless forced.

use crate::common::{Sandbox, at};
use std::path::{Path, PathBuf};
use taproll::backup::{self, BackupPlan};
use taproll::domain::Course;
use taproll::store::{AppliedAgain, Store};

/// What became of each erasure, as (what, pseudonym).
fn outcomes(applied: &[AppliedAgain]) -> Vec<(&'static str, String)> {
    applied
        .iter()
        .map(|a| match a {
            AppliedAgain::Forgotten(a) => ("forgotten", a.pseudonym.clone()),
            AppliedAgain::NotInBackup(a) => ("not in backup", a.pseudonym.clone()),
            AppliedAgain::NotMatched(a) => ("not matched", a.pseudonym.clone()),
        })
        .collect()
}

fn take_backup(sandbox: &Sandbox, db: &Path, folder: &str, time: &str) -> PathBuf {
    let plan = BackupPlan {
        folder: sandbox.path(folder),
        keep: 14,
        make_folder: true,
    };
    backup::take(db, &plan, &at(time)).unwrap().file
}

/// A database with a course and these students, as (number, name).
fn class(db: &Path, students: &[(&str, &str)]) -> Course {
    let store = Store::open(db).unwrap();
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    for (no, name) in students {
        let student = store.upsert_student(no, name).unwrap();
        store.enrol(course.id, student.id, &at("08:00:00")).unwrap();
    }
    course
}

/// The id of the student with this number and name (saved as they are).
fn id_of(store: &Store, no: &str, name: &str) -> i64 {
    store.upsert_student(no, name).unwrap().id
}

/// The pseudonyms of the database's audited erasures, oldest first, with
/// when each was made.
fn audited(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT pseudonym, at FROM erasures ORDER BY id")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_restore_forgets_again_whom_the_backup_holds_and_no_one_else() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let course = class(&db, &[("s1", "Ada Lovelace"), ("s3", "Alan Turing")]);
    let file = take_backup(&sandbox, &db, "backups", "08:30:00");

    // After the backup: Grace comes, Ada gets a new number (s1 is free
    // again), Alan takes s1; then Grace and Ada are forgotten.
    let store = Store::open(&db).unwrap();
    let ada = id_of(&store, "s1", "Ada Lovelace");
    let alan = id_of(&store, "s3", "Alan Turing");
    let save = |no: &str, name: &str, existing| {
        store
            .save_student(course.id, existing, no, name, &at("09:00:00"))
            .unwrap();
    };
    save("s2", "Grace Hopper", None);
    save("s9", "Ada Lovelace", Some(ada));
    save("s1", "Alan Turing", Some(alan));
    let grace = store.forget_student("s2", &at("10:00:00")).unwrap();
    let ada_forgotten = store.forget_student("s9", &at("10:01:00")).unwrap();
    drop(store);
    let before = audited(&db);

    let restored = backup::restore(&db, &file, &at("11:00:00"), false).unwrap();
    assert_eq!(
        outcomes(&restored.erasures),
        [
            ("not in backup", grace.pseudonym.clone()),
            ("forgotten", ada_forgotten.pseudonym.clone()),
        ]
    );
    // In the backup Ada was s1 and Alan s3: Ada is forgotten, under the
    // same pseudonym, and Alan is not.
    let store = Store::open(&db).unwrap();
    assert_eq!(store.footprint("s1").unwrap(), None);
    assert!(store.footprint(&ada_forgotten.pseudonym).unwrap().is_some());
    assert_eq!(store.footprint("s3").unwrap().unwrap().name, "Alan Turing");
    drop(store);
    // Both erasures stay audited, at the times they were made.
    assert_eq!(audited(&db), before);
    // The database replaced is kept; the copy made ready is gone.
    let left = leftovers(&db);
    assert!(
        left.len() == 1 && left[0].starts_with("taproll-replaced-"),
        "{left:?}"
    );
}

#[test]
fn a_chain_of_restores_keeps_every_erasure_for_the_next() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let course = class(&db, &[("s3", "Alan Turing")]);
    let older = take_backup(&sandbox, &db, "backups", "08:30:00");
    // Ada comes, as s1; a backup; she gets s4 and Charles s1; a backup.
    let store = Store::open(&db).unwrap();
    store
        .save_student(course.id, None, "s1", "Ada Lovelace", &at("09:00:00"))
        .unwrap();
    drop(store);
    let with_ada = take_backup(&sandbox, &db, "backups", "09:30:00");
    let store = Store::open(&db).unwrap();
    let ada = id_of(&store, "s1", "Ada Lovelace");
    store
        .save_student(course.id, Some(ada), "s4", "Ada Lovelace", &at("10:00:00"))
        .unwrap();
    store
        .save_student(course.id, None, "s1", "Charles Babbage", &at("10:00:00"))
        .unwrap();
    drop(store);
    let renumbered = take_backup(&sandbox, &db, "backups", "10:30:00");

    // Back to the backup with Ada as s1, where she is forgotten.
    backup::restore(&db, &with_ada, &at("11:00:00"), false).unwrap();
    let store = Store::open(&db).unwrap();
    let ada_forgotten = store.forget_student("s1", &at("11:05:00")).unwrap();
    drop(store);
    // The older backup never had her: said, and the erasure kept.
    let restored = backup::restore(&db, &older, &at("11:10:00"), false).unwrap();
    assert_eq!(
        outcomes(&restored.erasures),
        [("not in backup", ada_forgotten.pseudonym.clone())]
    );
    // The newest has her as s4 (renumbered after the erasure's events) and
    // Charles as s1: she is forgotten, he is not.
    let restored = backup::restore(&db, &renumbered, &at("11:20:00"), false).unwrap();
    assert_eq!(
        outcomes(&restored.erasures),
        [("forgotten", ada_forgotten.pseudonym.clone())]
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(store.footprint("s4").unwrap(), None);
    assert_eq!(
        store.footprint("s1").unwrap().unwrap().name,
        "Charles Babbage"
    );
    assert!(store.footprint(&ada_forgotten.pseudonym).unwrap().is_some());
    drop(store);
    assert_eq!(
        audited(&db),
        [(
            ada_forgotten.pseudonym.clone(),
            "2026-11-30T11:05:00.000+01:00".into()
        )]
    );
}

#[test]
fn another_devices_backup_is_refused_unless_forced() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    class(&db, &[("s1", "Ada Lovelace")]);
    let store = Store::open(&db).unwrap();
    let forgotten = store.forget_student("s1", &at("10:00:00")).unwrap();
    drop(store);
    let other = sandbox.path("other.db");
    class(&other, &[("s1", "Ada Lovelace")]);
    let theirs = take_backup(&sandbox, &other, "their-backups", "08:30:00");

    let error = backup::restore(&db, &theirs, &at("12:00:00"), false).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("cannot be found in it; pass --force")
            && message.contains("nothing was restored"),
        "{message}"
    );
    assert_eq!(leftovers(&db), Vec::<String>::new());
    let store = Store::open(&db).unwrap();
    assert_eq!(store.footprint("s1").unwrap(), None, "as it was");
    drop(store);

    let restored = backup::restore(&db, &theirs, &at("12:00:00"), true).unwrap();
    assert_eq!(
        outcomes(&restored.erasures),
        [("not matched", forgotten.pseudonym.clone())]
    );
    assert_eq!(audited(&db)[0].0, forgotten.pseudonym);
}

/// The files beside the database other than its own: a copy kept or
/// staged by a restore.
fn leftovers(db: &Path) -> Vec<String> {
    let own = db.file_name().unwrap().to_string_lossy().to_string();
    let mut names: Vec<String> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| !name.starts_with(&own) && name.ends_with(".db"))
        .filter(|name| name.contains("restoring") || name.contains("replaced"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_restore_whose_erasures_fail_changes_nothing() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    class(&db, &[("s1", "Ada Lovelace")]);
    let file = take_backup(&sandbox, &db, "backups", "08:30:00");
    let store = Store::open(&db).unwrap();
    let forgotten = store.forget_student("s1", &at("10:00:00")).unwrap();
    drop(store);
    // A backup in which a student cannot be changed: forgetting her fails.
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE UPDATE ON students
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();

    let error = backup::restore(&db, &file, &at("11:00:00"), false).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("refused by the test") && message.contains("nothing was restored"),
        "{message}"
    );
    // Neither the backup's copy made ready nor a copy of the database is
    // left behind.
    assert_eq!(leftovers(&db), Vec::<String>::new());
    let store = Store::open(&db).unwrap();
    assert_eq!(store.footprint("s1").unwrap(), None, "she is not back");
    assert!(store.footprint(&forgotten.pseudonym).unwrap().is_some());
}

#[test]
fn a_server_sent_the_student_since_the_backup_is_still_told_of_the_erasure() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    class(&db, &[("s1", "Ada Lovelace")]);
    let file = take_backup(&sandbox, &db, "backups", "08:30:00");
    // After the backup, the push sends her events; then she is forgotten,
    // and the erasure waits to be sent when the backup is restored.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE outbox SET sent_at = '2026-11-30T09:00:00+01:00'",
            [],
        )
        .unwrap();
    let store = Store::open(&db).unwrap();
    let forgotten = store.forget_student("s1", &at("10:00:00")).unwrap();
    drop(store);

    backup::restore(&db, &file, &at("11:00:00"), false).unwrap();
    // In the backup nothing was sent, yet the server has her as s1: the
    // erasure queued again names s1 for it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let told: Vec<String> = conn
        .prepare("SELECT event FROM outbox WHERE kind = 'student_forgotten' AND sent_at IS NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        told.iter()
            .any(|event| event.contains("\"student_no\":\"s1\"")
                && event.contains(&forgotten.pseudonym)),
        "{told:?}"
    );
}
