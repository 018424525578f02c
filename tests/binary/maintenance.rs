//! Looking after an installation: `taproll backup` while a class records,
//! `taproll restore`, `taproll doctor` on broken set-ups, and the shell
//! completions and man pages a package installs.

use crate::common::Sandbox;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `taproll backup --db DB --to FOLDER`.
fn backup_to(sandbox: &Sandbox, db: &Path, folder: &Path) -> std::process::Output {
    sandbox
        .taproll()
        .args(["backup", "--db"])
        .arg(db)
        .arg("--to")
        .arg(folder)
        .output()
        .unwrap()
}

fn backups(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn a_backup_taken_while_a_class_records_holds_every_tap_before_it() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    const TAPS: u32 = 400;
    sandbox.import_roster(TAPS as usize, "Networks");
    let mut scenario = String::new();
    for i in 0..TAPS {
        scenario.push_str(&format!(
            "[[tap]]\nat_ms = {}\nuid = \"04{i:08X}\"\nhold_ms = 0\n",
            i * 10
        ));
    }
    let scenario = sandbox.write("taps.toml", &scenario);
    let db = sandbox.path("taproll.db");
    let mut class = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "Networks", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(class.stdout.take().unwrap()).lines();
    // A tap line is printed once its tap is committed.
    let mut printed = 0;
    while printed < 100 {
        let line = lines.next().unwrap().unwrap();
        if line.contains("\"event\":\"tap\"") {
            printed += 1;
        }
    }
    let folder = sandbox.path("backups");
    std::fs::create_dir(&folder).unwrap();
    let output = backup_to(&sandbox, &db, &folder);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("integrity ok"), "{stdout}");
    // The class goes on to its end meanwhile.
    for line in lines {
        line.unwrap();
    }
    assert!(class.wait().unwrap().success());
    let files = backups(&folder);
    assert_eq!(files.len(), 1, "{files:?}");
    let copy = &files[0];
    let name = copy.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("taproll-") && name.ends_with(".db"),
        "{name}"
    );
    let mode = std::fs::metadata(copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let conn = rusqlite::Connection::open(copy).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let copied = count(copy, "SELECT count(*) FROM taps");
    assert!(copied >= 100, "every tap shown before the backup: {copied}");
    assert_eq!(
        count(copy, "SELECT count(*) FROM taps"),
        count(copy, "SELECT count(*) FROM marks WHERE mark = 'present'"),
        "one commit's state: each tap with its mark"
    );
    assert!(!copy.with_extension("db-wal").exists(), "one file");
    assert_eq!(count(&db, "SELECT count(*) FROM taps"), i64::from(TAPS));
}

#[test]
fn backups_beyond_keep_go_and_a_stick_not_mounted_is_said() {
    let sandbox = Sandbox::new();
    sandbox.import_roster(2, "Networks");
    let db = sandbox.path("taproll.db");
    let stick = sandbox.path("stick");
    let config = sandbox.write(
        "config.toml",
        &format!("[backup]\nfolder = \"{}\"\nkeep = 2\n", stick.display()),
    );
    let backup = || {
        sandbox
            .taproll()
            .args(["backup", "--db"])
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let output = backup();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not exist (a USB stick not mounted?)"),
        "{stderr}"
    );
    assert!(!stick.exists(), "a configured folder is never made");
    std::fs::create_dir(&stick).unwrap();
    let mut made = Vec::new();
    for _ in 0..3 {
        let output = backup();
        assert!(output.status.success());
        let said = String::from_utf8_lossy(&output.stdout).into_owned();
        let file = said
            .split(" to ")
            .nth(1)
            .unwrap()
            .split(" (")
            .next()
            .unwrap();
        made.push(PathBuf::from(file));
    }
    // The newest two stay, the first goes.
    assert_eq!(backups(&stick), made[1..].to_vec());
}

#[test]
fn a_restore_puts_a_backup_back_and_keeps_what_it_replaced_but_not_while_recording() {
    let sandbox = Sandbox::new();
    sandbox.import_roster(3, "Networks");
    let db = sandbox.path("taproll.db");
    let folder = sandbox.path("backups");
    std::fs::create_dir(&folder).unwrap();
    let taken = backup_to(&sandbox, &db, &folder);
    assert!(taken.status.success());
    let backup = backups(&folder).remove(0);
    // A class after the backup: its taps are what the restore replaces.
    let scenario = sandbox.write("taps.toml", &crate::common::scenario(2, 10));
    let class = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "Networks", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(class.status.success());
    assert_eq!(count(&db, "SELECT count(*) FROM taps"), 2);
    // Not while a recorder holds the database.
    let mut recorder = sandbox
        .taproll()
        .env("TAPROLL_RUNTIME_DIR", sandbox.path("run"))
        .args([
            "record", "--course", "Networks", "--reader", "wedge", "--db",
        ])
        .arg(&db)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    sandbox.wait_for_recorder();
    let restore = || {
        sandbox
            .taproll()
            .args(["restore"])
            .arg(&backup)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap()
    };
    let refused = restore();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("in use by another taproll process"),
        "{stderr}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM taps"),
        2,
        "nothing replaced"
    );
    crate::common::stop_process(recorder.id().to_string());
    assert!(recorder.wait().unwrap().success());
    let restored = restore();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(
        restored.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM taps"),
        0,
        "as in the backup"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM students"), 3);
    let kept: Vec<PathBuf> = std::fs::read_dir(sandbox.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("taproll-replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "{stdout}");
    assert!(stdout.contains(&*kept[0].to_string_lossy()), "{stdout}");
    assert_eq!(
        count(&kept[0], "SELECT count(*) FROM taps"),
        2,
        "what it replaced"
    );
}

/// `taproll doctor` with the database `db` and `PCSCLITE_CSOCK_NAME`.
fn doctor(
    sandbox: &Sandbox,
    db: &Path,
    pcscd_socket: &Path,
    config: Option<&Path>,
) -> (i32, String) {
    let mut command = sandbox.taproll();
    command
        .env("PCSCLITE_CSOCK_NAME", pcscd_socket)
        .args(["doctor", "--db"])
        .arg(db);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_doctor_names_a_pcscd_that_is_down_a_bad_config_and_an_open_database() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    sandbox.import_roster(1, "Networks");
    let db = sandbox.path("taproll.db");
    let no_pcscd = sandbox.path("no-pcscd.comm");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = sandbox.write("config.toml", "[session]\nlate_after_minutes = \"ten\"\n");
    let (status, report) = doctor(&sandbox, &db, &no_pcscd, Some(&config));
    assert_eq!(status, 2, "{report}");
    assert!(report.contains("PROBLEM config"), "{report}");
    assert!(report.contains("config.toml"), "names the file: {report}");
    assert!(
        report.contains("late_after_minutes"),
        "names the key: {report}"
    );
    assert!(
        report.contains("PROBLEM pcscd     the PC/SC service does not answer"),
        "{report}"
    );
    assert!(
        report.contains("systemctl enable --now pcscd.socket"),
        "{report}"
    );
    assert!(
        report.contains("can be read by others (mode 644)"),
        "{report}"
    );
    assert!(
        report.contains(&format!("fix: chmod 600 {}", db.display())),
        "{report}"
    );
    assert!(!report.contains('\x1b'), "plain when piped: {report}");
}

#[test]
fn the_doctor_says_when_pcscd_sees_no_reader_and_when_all_is_well() {
    use crate::common::pcscd::Pcscd;
    let Some(empty) = Pcscd::start_without_readers() else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.import_roster(1, "Networks");
    let db = sandbox.path("taproll.db");
    let (status, report) = doctor(&sandbox, &db, &empty.socket(), None);
    assert_eq!(status, 2, "{report}");
    assert!(report.contains("ok      pcscd     running"), "{report}");
    assert!(
        report.contains("PROBLEM readers   pcscd sees no card reader"),
        "{report}"
    );
    assert!(report.contains("fix: plug the reader in"), "{report}");
    drop(empty);
    let Some(pcscd) = Pcscd::start("Door") else {
        return;
    };
    let (status, report) = doctor(&sandbox, &db, &pcscd.socket(), None);
    assert!(
        report.contains("ok      readers   Door 00 00 (empty)"),
        "{report}"
    );
    assert!(report.contains("integrity ok"), "{report}");
    // Here the clock's sync cannot be told (no timedatectl): a warning.
    assert!(status <= 1, "{report}");
    assert!(!report.contains("PROBLEM"), "{report}");
}

#[test]
fn completions_and_man_pages_are_printed_for_packages() {
    let sandbox = Sandbox::new();
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef taproll"),
        ("fish", "complete -c taproll"),
    ] {
        let output = sandbox
            .taproll()
            .args(["completions", shell])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{shell}");
        assert!(text.contains(mark), "{shell}: {text}");
        assert!(text.contains("doctor"), "{shell} knows the commands");
    }
    let folder = sandbox.path("man");
    let output = sandbox.taproll().arg("man").arg(&folder).output().unwrap();
    assert!(output.status.success());
    let page = std::fs::read_to_string(folder.join("taproll.1")).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH taproll"),
        "{page}"
    );
    let run = std::fs::read_to_string(folder.join("taproll-run.1")).unwrap();
    assert!(run.contains("\\-\\-course"), "{run}");
    assert!(
        !folder.join("taproll-man.1").exists(),
        "the hidden command has no page"
    );
}

/// `[backup] after_session`: one backup when a session ends, taken by the
/// recorder, finished before it exits.
#[test]
fn the_recorder_takes_one_backup_when_a_session_ends() {
    use std::io::Write;
    let sandbox = Sandbox::new();
    sandbox.import_roster(2, "Networks");
    let db = sandbox.path("taproll.db");
    let folder = sandbox.path("backups");
    let config = sandbox.write("config.toml", "[backup]\nafter_session = true\nkeep = 10\n");
    let mut recorder = sandbox
        .taproll()
        .env("TAPROLL_RUNTIME_DIR", sandbox.path("run"))
        .args([
            "record", "--course", "Networks", "--reader", "wedge", "--db",
        ])
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stream = std::os::unix::net::UnixStream::connect(sandbox.wait_for_recorder()).unwrap();
    let mut view = stream.try_clone().unwrap();
    let mut answers = BufReader::new(stream).lines();
    let mut ask = |id: u32, command: &str| {
        writeln!(
            view,
            r#"{{"type":"command","id":{id},"command":{{"command":"{command}"}}}}"#
        )
        .unwrap();
        // Notices come too: read on to this command's reply.
        loop {
            let line = answers.next().unwrap().unwrap();
            if line.contains(&format!(r#""type":"reply","id":{id}"#)) {
                return line;
            }
        }
    };
    let ended = ask(1, "end_session");
    assert!(ended.contains(r#""reply":"session""#), "{ended}");
    // A new session after an ended one ends nothing: no second backup.
    let new = ask(2, "new_session");
    assert!(new.contains(r#""reply":"session""#), "{new}");
    crate::common::stop_process(recorder.id().to_string());
    assert!(recorder.wait().unwrap().success());
    let files = backups(&folder);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        count(
            &files[0],
            "SELECT count(*) FROM sessions WHERE ended_at IS NOT NULL"
        ),
        1
    );
}
