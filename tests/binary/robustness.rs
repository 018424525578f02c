//! The real binary when the world is unkind: standard output that fails, a
//! database on read-only media, a --db that names the wrong file.

use crate::common::{Sandbox, scenario};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A course "Networks" of `count` students in a new database, with one
/// session in which the first student tapped.
fn class(sandbox: &Sandbox, count: usize) -> PathBuf {
    let db = sandbox.path("taproll.db");
    let mut csv = String::from("id,name,card\n");
    for i in 0..count {
        let card = if i == 0 { "04000000000000" } else { "" };
        csv.push_str(&format!("s{i:05},Student Number {i},{card}\n"));
    }
    let roster = sandbox.write("roster.csv", &csv);
    succeeds(&import(sandbox, &roster, &db).output().unwrap());
    let scenario = sandbox.write("scenario.toml", &scenario(1, 10));
    let run = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "Networks", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    succeeds(&run);
    db
}

fn import(sandbox: &Sandbox, roster: &Path, db: &Path) -> Command {
    let mut command = sandbox.taproll();
    command
        .args(["roster", "import"])
        .arg(roster)
        .args(["--course", "Networks", "--db"])
        .arg(db);
    command
}

fn succeeds(output: &Output) {
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output (or error) that fails with ENOSPC on every write.
fn full_disk() -> Stdio {
    File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
        .into()
}

/// A pipe whose reader is gone before the command starts: EPIPE at the
/// first write, every time (no race with the reader closing it).
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer.into()
}

/// One line on standard error, that does not speak of a panic, and the
/// ordinary failure status (a panic exits with 101).
fn one_line_error(output: &Output) -> String {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

fn roster_list(sandbox: &Sandbox, db: &Path) -> Output {
    sandbox
        .taproll()
        .args(["roster", "list", "--db"])
        .arg(db)
        .output()
        .unwrap()
}

#[test]
fn sessions_to_a_full_disk_is_a_one_line_error() {
    let sandbox = Sandbox::new();
    let db = class(&sandbox, 2);
    let output = sandbox
        .taproll()
        .args(["sessions", "--db"])
        .arg(&db)
        .stdout(full_disk())
        .output()
        .unwrap();
    let text = one_line_error(&output);
    assert!(
        text.contains("cannot write to standard output") && text.contains("No space left"),
        "{text}"
    );
}

#[test]
fn a_long_roster_list_into_a_closed_pipe_ends_quietly() {
    let sandbox = Sandbox::new();
    let db = class(&sandbox, 3000);
    let output = sandbox
        .taproll()
        .args(["roster", "list", "--db"])
        .arg(&db)
        .stdout(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_roster_import_whose_summary_cannot_be_written_is_still_imported() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let roster = sandbox.write("roster.csv", "id,name\ns1,Ada Lovelace\ns2,Alan Turing\n");
    let output = import(&sandbox, &roster, &db)
        .stdout(full_disk())
        .output()
        .unwrap();
    let text = one_line_error(&output);
    assert!(
        text.contains("No space left") && text.contains("imported all the same"),
        "{text}"
    );
    let list = roster_list(&sandbox, &db);
    succeeds(&list);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("Networks (2 students)"),
        "{list:?}"
    );

    // Into a closed pipe: quiet, and imported too.
    let more = sandbox.write("more.csv", "id,name\ns3,Grace Hopper\n");
    let output = import(&sandbox, &more, &db)
        .stdout(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let list = roster_list(&sandbox, &db);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("Networks (3 students)"),
        "{list:?}"
    );
}

#[test]
fn messages_to_a_standard_error_that_fails_do_not_panic() {
    let sandbox = Sandbox::new();
    let db = class(&sandbox, 2);
    // A report written to a file says so on standard error, which is full.
    let report = sandbox.path("report.csv");
    let output = sandbox
        .taproll()
        .args(["report", "--db"])
        .arg(&db)
        .arg("-o")
        .arg(&report)
        .stderr(full_disk())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(report.exists());
    // An error with nowhere to say it still ends with the failure status.
    for target in [full_disk(), closed_pipe()] {
        let output = sandbox
            .taproll()
            .args(["roster", "list", "--db"])
            .arg(sandbox.path("missing.db"))
            .stderr(target)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
    }
    // Help, and a report, to a full disk: an error, not a silent success.
    let output = sandbox
        .taproll()
        .arg("--help")
        .stdout(full_disk())
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains("No space left"));
    let output = sandbox
        .taproll()
        .args(["report", "--format", "json", "--db"])
        .arg(&db)
        .stdout(full_disk())
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains("No space left"));
}

// ---- a database on read-only media ----

/// How this machine can make a folder read-only for one process.
enum ReadOnly {
    /// A read-only bind mount in a private mount namespace: root ignores
    /// permission bits, so only a real read-only mount is read-only to it.
    Mount,
    /// Not root: permission bits are enough.
    Chmod,
}

fn read_only_way(sandbox: &Sandbox) -> Option<ReadOnly> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Some(ReadOnly::Chmod);
    }
    let probe = sandbox.path("probe");
    std::fs::create_dir_all(&probe).unwrap();
    let works = Command::new("unshare")
        .args(["--mount", "sh", "-c", MOUNT_READ_ONLY, "sh"])
        .arg(&probe)
        .args(["sh", "-c", "! touch \"$0/x\" 2>/dev/null"])
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    if works {
        return Some(ReadOnly::Mount);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "read-only media tests cannot run in CI: unshare --mount failed as root"
    );
    eprintln!("SKIPPED: read-only media test needs unshare --mount (util-linux) as root");
    None
}

/// `$1` bind-mounted onto itself read-only, then the rest of the arguments
/// run in that mount namespace.
const MOUNT_READ_ONLY: &str =
    "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && shift && exec \"$@\"";

/// A folder holding a copy of `db` (made older when `version` is
/// given), for `read_only`.
fn media_copy(sandbox: &Sandbox, db: &Path, version: Option<i64>) -> PathBuf {
    // Characters that mean something in an SQLite URI, in case it is read
    // through one.
    let media = sandbox.path("USB stick #1 ?50%");
    std::fs::create_dir_all(&media).unwrap();
    let mut side = db.as_os_str().to_owned();
    side.push("-wal");
    assert!(!Path::new(&side).exists(), "taproll left a WAL behind");
    let copy = media.join("taproll.db");
    std::fs::copy(db, &copy).unwrap();
    if let Some(version) = version {
        rusqlite::Connection::open(&copy)
            .unwrap()
            .pragma_update(None, "user_version", version)
            .unwrap();
    }
    copy
}

/// Runs taproll `args` with the folder of `db` read-only (and `db` 0444).
fn read_only(sandbox: &Sandbox, way: &ReadOnly, db: &Path, args: &[&str]) -> Output {
    let media = db.parent().unwrap();
    std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(media, std::fs::Permissions::from_mode(0o555)).unwrap();
    let template = sandbox.taproll();
    let mut command = match way {
        ReadOnly::Chmod => sandbox.taproll(),
        ReadOnly::Mount => {
            let mut command = Command::new("unshare");
            command
                .args(["--mount", "sh", "-c", MOUNT_READ_ONLY, "sh"])
                .arg(media)
                .arg(template.get_program());
            for (key, value) in template.get_envs() {
                match value {
                    Some(value) => command.env(key, value),
                    None => command.env_remove(key),
                };
            }
            command
        }
    };
    let output = command.args(args).arg("--db").arg(db).output().unwrap();
    // Writable again, so the sandbox can be removed.
    std::fs::set_permissions(media, std::fs::Permissions::from_mode(0o755)).unwrap();
    output
}

fn entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn reports_and_listings_read_a_database_on_read_only_media() {
    let sandbox = Sandbox::new();
    let Some(way) = read_only_way(&sandbox) else {
        return;
    };
    let db = class(&sandbox, 2);
    let copy = media_copy(&sandbox, &db, None);
    for args in [
        &["report"][..],
        &["sessions", "--course", "Networks"],
        &["roster", "list"],
    ] {
        let output = read_only(&sandbox, &way, &copy, args);
        succeeds(&output);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains("Student Number 1") || text.contains("Networks"),
            "{args:?}: {text}"
        );
        assert_eq!(stderr(&output), "", "{args:?}");
    }
    assert_eq!(entries(copy.parent().unwrap()), ["taproll.db"]);
}

#[test]
fn an_old_database_on_read_only_media_says_it_must_be_copied_to_upgrade() {
    let sandbox = Sandbox::new();
    let Some(way) = read_only_way(&sandbox) else {
        return;
    };
    let db = class(&sandbox, 2);
    let copy = media_copy(&sandbox, &db, Some(2));
    let output = read_only(&sandbox, &way, &copy, &["sessions"]);
    let text = one_line_error(&output);
    assert!(
        text.contains(&copy.display().to_string())
            && text.contains("older taproll")
            && text.contains("copy it to a writable folder"),
        "{text}"
    );
    assert_eq!(entries(copy.parent().unwrap()), ["taproll.db"]);
}

#[test]
fn changes_left_in_a_wal_on_read_only_media_are_not_skipped_in_silence() {
    let sandbox = Sandbox::new();
    let Some(way) = read_only_way(&sandbox) else {
        return;
    };
    let db = class(&sandbox, 2);
    let copy = media_copy(&sandbox, &db, None);
    // A copy taken while a class was running: the last changes are still in
    // the -wal file, and the -shm file was not copied.
    {
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute(
            "UPDATE students SET name = 'Renamed' WHERE student_no = 's00001'",
            [],
        )
        .unwrap();
        let mut wal = copy.as_os_str().to_owned();
        wal.push("-wal");
        let saved = sandbox.path("saved-wal");
        std::fs::copy(&wal, &saved).unwrap();
        drop(conn); // checkpoints and removes the -wal and -shm files
        std::fs::copy(&saved, &wal).unwrap();
        // The main file as it was before the change.
        std::fs::copy(&db, &copy).unwrap();
    }
    let output = read_only(&sandbox, &way, &copy, &["roster", "list"]);
    if output.status.success() {
        // Read with the log: the change must be there.
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Renamed"), "{text}");
    } else {
        let text = one_line_error(&output);
        assert!(
            text.contains(&copy.display().to_string()) && text.contains("-wal"),
            "{text}"
        );
    }
}

// ---- the wrong file as --db ----

/// The commands that open the database, each on `db`.
fn every_opener(sandbox: &Sandbox, db: &Path) -> Vec<(&'static str, Output)> {
    let roster = sandbox.write("roster.csv", "id,name\ns1,Ada Lovelace\n");
    let scenario = sandbox.write("scenario.toml", &scenario(1, 10));
    let mut run = sandbox.taproll();
    run.args(["run", "--headless", "--course", "Networks", "--scenario"])
        .arg(&scenario)
        .arg("--db")
        .arg(db);
    let mut list = sandbox.taproll();
    list.args(["roster", "list", "--db"]).arg(db);
    let mut report = sandbox.taproll();
    report.args(["report", "--db"]).arg(db);
    let mut sessions = sandbox.taproll();
    sessions
        .args(["sessions", "--course", "Networks", "--db"])
        .arg(db);
    vec![
        ("import", import(sandbox, &roster, db).output().unwrap()),
        ("run", run.output().unwrap()),
        ("list", list.output().unwrap()),
        ("report", report.output().unwrap()),
        ("sessions", sessions.output().unwrap()),
    ]
}

fn lock_of(db: &Path) -> PathBuf {
    let mut lock = db.as_os_str().to_owned();
    lock.push(".lock");
    PathBuf::from(lock)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every command refused `db` with `want` and the path in one line, and
/// left it as it was: same bytes, same mode, nothing beside it.
fn refused_untouched(sandbox: &Sandbox, db: &Path, want: &str) {
    let before = std::fs::read(db).unwrap();
    let locked_before = lock_of(db).exists();
    let folder = entries(sandbox.dir.path());
    for (command, output) in every_opener(sandbox, db) {
        let text = one_line_error(&output);
        assert!(
            text.contains(&db.display().to_string()) && text.contains(want),
            "{command}: {text}"
        );
        assert_eq!(std::fs::read(db).unwrap(), before, "{command} changed it");
        assert_eq!(mode(db), 0o644, "{command} changed its mode");
        assert_eq!(lock_of(db).exists(), locked_before, "{command} left a lock");
    }
    // Test inputs and the sandbox's own folders (logs) aside.
    let ours = |name: &String| {
        !["roster.csv", "scenario.toml", "config", "data", "state"].contains(&name.as_str())
    };
    let after: Vec<String> = entries(sandbox.dir.path())
        .into_iter()
        .filter(ours)
        .collect();
    let folder: Vec<String> = folder.into_iter().filter(ours).collect();
    assert_eq!(after, folder, "files appeared beside it");
}

#[test]
fn a_folder_as_database_is_named_and_left_alone() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path("attendance");
    std::fs::create_dir(&folder).unwrap();
    for (command, output) in every_opener(&sandbox, &folder) {
        let text = one_line_error(&output);
        assert!(
            text.contains(&format!("{} is a folder", folder.display())) && text.contains("--db"),
            "{command}: {text}"
        );
        assert!(!lock_of(&folder).exists(), "{command} left a lock");
        assert_eq!(entries(&folder), Vec::<String>::new());
    }
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let sandbox = Sandbox::new();
    let db = sandbox.write("notes.txt", "my lecture notes\n");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused_untouched(
        &sandbox,
        &db,
        "is not a taproll database (it is not an SQLite file); pass --db with the right file",
    );
}

#[test]
fn an_sqlite_database_of_another_program_is_refused_and_left_untouched() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);")
            .unwrap();
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused_untouched(
        &sandbox,
        &db,
        "is not a taproll database (it is an SQLite database of another program",
    );
}

#[test]
fn a_truncated_database_names_the_path_and_says_to_restore_a_backup() {
    let sandbox = Sandbox::new();
    let db = class(&sandbox, 300);
    let bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 16 * 1024, "{}", bytes.len());
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused_untouched(&sandbox, &db, "restore it from a backup");
}

#[test]
fn a_damaged_database_names_the_path_and_says_to_restore_a_backup() {
    let sandbox = Sandbox::new();
    let db = class(&sandbox, 300);
    let mut bytes = std::fs::read(&db).unwrap();
    // Page 1 after its header holds the schema: garbage there.
    bytes[100..4096].fill(0xA5);
    std::fs::write(&db, &bytes).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused_untouched(&sandbox, &db, "restore it from a backup");
}
