//! A backup restored after students were forgotten (`backup::restore`):
//! each is forgotten in it again, found by the events the two databases
//! share; one who came after the backup is not in it; another device's
//! backup shares no event, and the restore says so.

use crate::common::{Sandbox, at};
use std::path::Path;
use taproll::backup::{self, BackupPlan};
use taproll::store::{AppliedAgain, Store};

/// What became of each erasure, as (what, pseudonym).
fn outcomes(applied: &[AppliedAgain]) -> Vec<(&'static str, String)> {
    applied
        .iter()
        .map(|a| match a {
            AppliedAgain::Forgotten(a) => ("forgotten", a.pseudonym.clone()),
            AppliedAgain::NotInBackup(a) => ("not in backup", a.pseudonym.clone()),
            AppliedAgain::OtherDevice(a) => ("other device", a.pseudonym.clone()),
        })
        .collect()
}

fn take_backup(sandbox: &Sandbox, db: &Path, folder: &str) -> std::path::PathBuf {
    let plan = BackupPlan {
        folder: sandbox.path(folder),
        keep: 14,
        make_folder: true,
    };
    backup::take(db, &plan, &at("08:30:00")).unwrap().file
}

#[test]
fn a_restore_forgets_again_whom_the_backup_holds_and_says_who_it_cannot_find() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let store = Store::open(&db).unwrap();
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ada = store.upsert_student("s1", "Ada Lovelace").unwrap();
    store.enrol(course.id, ada.id, &at("08:00:00")).unwrap();
    let alan = store.upsert_student("s3", "Alan Turing").unwrap();
    store.enrol(course.id, alan.id, &at("08:00:00")).unwrap();
    drop(store);
    let file = take_backup(&sandbox, &db, "backups");

    // After the backup: Grace comes, Ada gets a new number (s1 is free
    // again), Alan takes s1; then Grace and Ada are forgotten.
    let store = Store::open(&db).unwrap();
    let new = |no: &str, name: &str, existing| {
        store
            .save_student(course.id, existing, no, name, &at("09:00:00"))
            .unwrap();
    };
    new("s2", "Grace Hopper", None);
    new("s9", "Ada Lovelace", Some(ada.id));
    new("s1", "Alan Turing", Some(alan.id));
    let grace = store.forget_student("s2", &at("10:00:00")).unwrap();
    let ada_forgotten = store.forget_student("s9", &at("10:01:00")).unwrap();
    drop(store);

    let restored = backup::restore(&db, &file, &at("11:00:00")).unwrap();
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
    let kept = store.footprint("s3").unwrap().unwrap();
    assert_eq!(kept.name, "Alan Turing");
    // Both erasures stay audited.
    assert_eq!(
        audited(&db),
        [grace.pseudonym.clone(), ada_forgotten.pseudonym.clone()]
    );
    drop(store);

    // Another device's database shares no event: nothing can be matched,
    // and the restore says so rather than passing over it.
    let other = sandbox.path("other.db");
    let store = Store::open(&other).unwrap();
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ada = store.upsert_student("s1", "Ada Lovelace").unwrap();
    store.enrol(course.id, ada.id, &at("08:00:00")).unwrap();
    drop(store);
    let theirs = take_backup(&sandbox, &other, "their-backups");
    let restored = backup::restore(&db, &theirs, &at("12:00:00")).unwrap();
    assert_eq!(
        outcomes(&restored.erasures),
        [
            ("other device", grace.pseudonym.clone()),
            ("other device", ada_forgotten.pseudonym.clone())
        ]
    );
    assert_eq!(
        audited(&db),
        [grace.pseudonym.clone(), ada_forgotten.pseudonym.clone()]
    );
}

/// The pseudonyms of the database's audited erasures, oldest first.
fn audited(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT pseudonym FROM erasures ORDER BY id")
        .unwrap();
    statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_restore_whose_erasures_fail_is_undone() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let store = Store::open(&db).unwrap();
    let course = store
        .ensure_course("Networks 101", &at("08:00:00"))
        .unwrap();
    let ada = store.upsert_student("s1", "Ada Lovelace").unwrap();
    store.enrol(course.id, ada.id, &at("08:00:00")).unwrap();
    drop(store);
    let file = take_backup(&sandbox, &db, "backups");
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

    let error = backup::restore(&db, &file, &at("11:00:00")).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("refused by the test") && message.contains("the restore was undone"),
        "{message}"
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(store.footprint("s1").unwrap(), None, "she is not back");
    assert!(store.footprint(&forgotten.pseudonym).unwrap().is_some());
}
