//! The recorder outlives its terminal: a dropped SSH connection (the tmux
//! server killed) loses no tap, the next `taproll run` attaches and shows
//! them; two rosters watch one class; leaving with "leave" keeps recording,
//! with "stop" ends it; `taproll record` serves rosters coming and going;
//! the socket is for its user only; a clock behind the database starts no
//! session. Real parts: pcscd with vpcd readers, tmux, SQLite files.

use crate::common::pcscd::Pcscd;
use crate::common::vcard::{Behaviour, Card};
use crate::common::{Sandbox, process_gone};
use crate::tui_tmux::{Tmux, children};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Waits until `done` holds; panics with `what` if it never does.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `taproll run` on the PC/SC readers of `pcscd`, in a shell that prints
/// the exit status and DONE.
fn run_command(sandbox: &Sandbox, pcscd: &Pcscd) -> String {
    format!(
        "PCSCLITE_CSOCK_NAME={socket} XDG_CONFIG_HOME={config} XDG_STATE_HOME={state} TAPROLL_RUNTIME_DIR={run} {bin} run --reader pcsc --course Networks --db {db}; echo EXIT=$? DONE; sleep 60",
        socket = pcscd.socket().display(),
        config = sandbox.path("config").display(),
        state = sandbox.path("state").display(),
        run = sandbox.path("run").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("taproll.db").display(),
    )
}

/// Student `i`'s card from `Sandbox::import_roster`, tapped on `reader`
/// and held until its tap is in `db` (a card lifted before pcscd's next
/// poll was never there, for pcscd as for a real reader).
fn tap(pcscd: &Pcscd, reader: &str, i: u32, db: &Path) {
    let before = count(db, "SELECT count(*) FROM taps");
    let card = Card::insert(
        pcscd.port(reader),
        &[
            0x04,
            (i >> 24) as u8,
            (i >> 16) as u8,
            (i >> 8) as u8,
            i as u8,
        ],
        Behaviour::GiveUid,
    );
    wait_until("the tap stored", || {
        count(db, "SELECT count(*) FROM taps") > before
    });
    pcscd.take_off(reader, card);
}

#[test]
fn a_dropped_connection_loses_no_tap_and_the_next_run_shows_them() {
    let Some(pcscd) = Pcscd::start("Door") else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.import_roster(5, "Networks");
    let db = sandbox.path("taproll.db");
    let first = Tmux::start("drop1", 80, 24, &run_command(&sandbox, &pcscd)).unwrap();
    first.wait_for("Door 00 00");
    let recorder = children(&first.taproll_pid());
    assert!(!recorder.is_empty(), "the roster started a recorder");
    // The SSH connection drops: the terminal and the roster go.
    drop(first);
    // Students go on tapping at the door.
    for i in 0..3 {
        tap(&pcscd, "Door 00 00", i, &db);
    }
    wait_until("the three taps stored", || {
        count(&db, "SELECT count(*) FROM taps") == 3
    });
    assert!(!process_gone(&recorder), "the recorder goes on");
    // The instructor logs in again: the roster attaches, no question asked.
    let second = Tmux::start("drop2", 80, 24, &run_command(&sandbox, &pcscd)).unwrap();
    let screen = second.wait_for("Present 3");
    for i in 0..3 {
        assert!(
            screen.contains(&format!("Student {i}")),
            "student {i} shown:\n{screen}"
        );
    }
    assert!(!screen.contains("Open session found"), "{screen}");
    assert_eq!(
        children(&second.taproll_pid()),
        "",
        "attached to the running recorder, started none"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM marks WHERE mark = 'present'"),
        3
    );
    // Stop: the recorder ends, cleanly, and its socket goes with it.
    second.keys("q");
    second.wait_for("Leave taproll?");
    second.keys("s");
    let screen = second.wait_for("DONE");
    assert!(screen.contains("EXIT=0"), "{screen}");
    wait_until("the recorder gone", || process_gone(&recorder));
    let sockets = std::fs::read_dir(sandbox.path("run")).unwrap().count();
    assert_eq!(sockets, 0, "the socket is removed");
    let log = std::fs::read_dir(sandbox.path("state/taproll"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(log.contains("a view asked to stop recording"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn two_rosters_see_each_tap_and_each_others_marks_and_leave_keeps_recording() {
    let Some(pcscd) = Pcscd::start("Door") else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.import_roster(5, "Networks");
    let db = sandbox.path("taproll.db");
    let one = Tmux::start("view1", 80, 24, &run_command(&sandbox, &pcscd)).unwrap();
    one.wait_for("Door 00 00");
    let recorder = children(&one.taproll_pid());
    let two = Tmux::start("view2", 80, 24, &run_command(&sandbox, &pcscd)).unwrap();
    two.wait_for("2 views");
    one.wait_for("2 views");
    // A tap: both rosters show it.
    tap(&pcscd, "Door 00 00", 1, &db);
    one.wait_for("STUDENT 1 — PRESENT");
    two.wait_for("STUDENT 1 — PRESENT");
    // A mark by hand in one shows in the other.
    for key in ["/", "4", "Enter", "m", "e"] {
        one.keys(key);
    }
    one.run(&["send-keys", "-t", "t", "-l", "dentist"]);
    one.keys("Enter");
    one.wait_for("Student 4                                 s000004      excused manual");
    two.wait_for("Student 4                                 s000004      excused manual");
    // The second roster leaves, the recorder goes on recording.
    two.keys("q");
    two.wait_for("Leave taproll?");
    two.keys("l");
    let screen = two.wait_for("DONE");
    assert!(screen.contains("EXIT=0"), "{screen}");
    wait_until("one view left", || !one.screen().contains("2 views"));
    tap(&pcscd, "Door 00 00", 2, &db);
    one.wait_for("STUDENT 2 — PRESENT");
    assert_eq!(count(&db, "SELECT count(*) FROM taps"), 2);
    assert!(!process_gone(&recorder));
    // The first leaves too: nobody watches, the door still counts.
    one.keys("q");
    one.wait_for("Leave taproll?");
    one.keys("l");
    one.wait_for("DONE");
    tap(&pcscd, "Door 00 00", 3, &db);
    wait_until("the tap with no roster open stored", || {
        count(&db, "SELECT count(*) FROM taps") == 3
    });
    assert!(!process_gone(&recorder), "left recording");
}

/// `taproll record` as systemd runs it: no terminal, standard input closed.
fn record(sandbox: &Sandbox, scenario: &Path) -> std::process::Child {
    sandbox
        .taproll()
        .env("TAPROLL_RUNTIME_DIR", sandbox.path("run"))
        .args(["record", "--course", "Networks", "--db"])
        .arg(sandbox.path("taproll.db"))
        .arg("--scenario")
        .arg(scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_service_records_while_rosters_attach_and_detach_and_sigterm_stops_it() {
    let sandbox = Sandbox::new();
    sandbox.import_roster(40, "Networks");
    // A tap every 150 ms for 6 s: the taps go on through every attach.
    let mut scenario = String::new();
    for i in 0..40u32 {
        scenario.push_str(&format!(
            "[[tap]]\nat_ms = {}\nuid = \"04{i:08X}\"\nhold_ms = 0\n",
            i * 150
        ));
    }
    let scenario = sandbox.write("taps.toml", &scenario);
    let db = sandbox.path("taproll.db");
    let mut service = record(&sandbox, &scenario);
    sandbox.wait_for_recorder();
    let view = format!(
        "XDG_CONFIG_HOME={config} XDG_STATE_HOME={state} TAPROLL_RUNTIME_DIR={run} {bin} run --db {db}; echo EXIT=$? DONE; sleep 60",
        config = sandbox.path("config").display(),
        state = sandbox.path("state").display(),
        run = sandbox.path("run").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = db.display(),
    );
    let mut seen = Vec::new();
    for round in 0..3 {
        let tmux = Tmux::start(&format!("svc{round}"), 100, 30, &view).unwrap();
        let screen = tmux.wait_for("rec: service");
        seen.push(count(&db, "SELECT count(*) FROM taps"));
        assert!(screen.contains("Networks"), "{screen}");
        if round % 2 == 0 {
            // Leaving a service's roster: it goes on.
            tmux.keys("q");
            tmux.wait_for("Leave taproll?");
            tmux.keys("l");
            tmux.wait_for("DONE");
        }
        // Else the connection drops.
    }
    wait_until("every tap stored", || {
        count(&db, "SELECT count(*) FROM taps") == 40
    });
    assert!(service.try_wait().unwrap().is_none(), "the service goes on");
    // systemd stops it.
    let pid = service.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = service.wait().unwrap();
    assert!(status.success(), "SIGTERM ends it cleanly: {status}");
    assert_eq!(std::fs::read_dir(sandbox.path("run")).unwrap().count(), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM taps"), 40);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[test]
fn a_database_with_an_event_newer_than_the_clock_starts_no_session() {
    use taproll::store::Store;
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    {
        // A session taken when the clock said 2100 (or this clock is stale).
        let store = Store::open(&db).unwrap();
        let future = crate::common::time("2100-01-01T09:00:00+01:00");
        let course = store.ensure_course("Networks", &future).unwrap();
        let session = store
            .start_or_resume_session(&course, &future, &future)
            .unwrap();
        store.end_session(&session, &future).unwrap();
    }
    let scenario = sandbox.write("taps.toml", &crate::common::scenario(1, 10));
    // Headless, and the recorder as a service: the recorder a roster
    // starts is the same code (its refusal reaches the roster's terminal).
    for how in ["run --headless", "record"] {
        let output = sandbox
            .taproll()
            .env("TAPROLL_RUNTIME_DIR", sandbox.path("run"))
            .args(how.split(' '))
            .args(["--course", "Networks", "--db"])
            .arg(&db)
            .arg("--scenario")
            .arg(&scenario)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains("The clock says"), "{stderr}");
        assert!(stderr.contains("2100"), "names the event's time: {stderr}");
        assert!(stderr.contains("No session was started."), "{stderr}");
    }
    // The roster: the recorder it starts refuses, the roster says why.
    let command = format!(
        "XDG_CONFIG_HOME={config} XDG_STATE_HOME={state} TAPROLL_RUNTIME_DIR={run} {bin} run --course Networks --db {db} --scenario {scenario}; echo EXIT=$? DONE; sleep 60",
        config = sandbox.path("config").display(),
        state = sandbox.path("state").display(),
        run = sandbox.path("run").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = db.display(),
        scenario = scenario.display(),
    );
    let tmux = Tmux::start("clock", 100, 30, &command).unwrap();
    let screen = tmux.wait_for("DONE");
    assert!(screen.contains("The clock says"), "{screen}");
    assert!(screen.contains("EXIT=1"), "{screen}");
    assert_eq!(count(&db, "SELECT count(*) FROM sessions"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM taps"), 0);
}

/// The recorder runs as `nobody`; root (who may open any file, the socket
/// too) connects: the recorder sees another uid on the socket and says
/// nothing to it. Needs root and runuser; skipped loudly without them.
#[test]
fn the_socket_refuses_another_users_process() {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let runuser = Command::new("runuser").arg("--help").output().is_ok();
    if !root || !runuser {
        eprintln!(
            "SKIPPED the_socket_refuses_another_users_process: needs root and runuser to run a recorder as another user (the check itself is unit-tested in recorder::place)"
        );
        return;
    }
    let sandbox = Sandbox::new();
    // nobody's own folder, reachable through the sandbox.
    std::fs::set_permissions(sandbox.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = sandbox.path("nobody");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let scenario = sandbox.write(
        "taps.toml",
        "[[tap]]\nat_ms = 3600000\nuid = \"04A1B2C3\"\n",
    );
    std::fs::set_permissions(&scenario, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut recorder = Command::new("runuser")
        .args(["-u", "nobody", "--", "env", "-u", "JOURNAL_STREAM"])
        .arg(format!("XDG_CONFIG_HOME={}/config", home.display()))
        .arg(format!("XDG_STATE_HOME={}/state", home.display()))
        .arg(format!("TAPROLL_RUNTIME_DIR={}/run", home.display()))
        .arg(env!("CARGO_BIN_EXE_taproll"))
        .args(["record", "--course", "Networks", "--db"])
        .arg(home.join("taproll.db"))
        .arg("--scenario")
        .arg(&scenario)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = home.join("run");
    let socket = || {
        std::fs::read_dir(&run)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path())
    };
    wait_until("nobody's recorder listening", || {
        socket().is_some() || recorder.try_wait().unwrap().is_some()
    });
    assert!(
        recorder.try_wait().unwrap().is_none(),
        "the recorder started"
    );
    let socket = socket().unwrap();
    let folder = std::fs::metadata(&run).unwrap();
    assert_eq!((folder.uid(), folder.mode() & 0o777), (65534, 0o700));
    let file = std::fs::metadata(&socket).unwrap();
    assert_eq!((file.uid(), file.mode() & 0o777), (65534, 0o600));
    // Root gets through the file modes, not past the recorder.
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut said = Vec::new();
    let read = stream.read_to_end(&mut said);
    assert!(
        read.is_ok() && said.is_empty(),
        "the recorder said {:?} to another user ({read:?})",
        String::from_utf8_lossy(&said)
    );
    crate::common::stop_process(recorder.id().to_string());
    let status = recorder.wait().unwrap();
    let log = std::fs::read_dir(home.join("state/taproll"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(log.contains("refused a view of another user"), "{log}");
    assert!(log.contains("uid=0"), "{log}");
    assert!(status.success() || status.code().is_none(), "{status}");
}

/// The door display attached to a service: a tap shows the student's name
/// and what was recorded. The tap comes over the socket as a view's
/// keyboard-wedge reader sends it, so the test decides when it happens.
#[test]
fn the_door_shows_the_student_who_tapped() {
    use std::io::Write;
    use taproll::reader::ReaderEvent;
    use taproll::recorder::protocol::ToRecorder;
    let sandbox = Sandbox::new();
    sandbox.import_roster(3, "Networks");
    let db = sandbox.path("taproll.db");
    let mut service = sandbox
        .taproll()
        .env("TAPROLL_RUNTIME_DIR", sandbox.path("run"))
        .args([
            "record", "--reader", "wedge", "--course", "Networks", "--db",
        ])
        .arg(&db)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let socket = sandbox.wait_for_recorder();
    // Too small for big letters: the words are plain text on screen.
    let door = format!(
        "XDG_CONFIG_HOME={config} XDG_STATE_HOME={state} TAPROLL_RUNTIME_DIR={run} {bin} door --db {db}; echo EXIT=$? DONE; sleep 60",
        config = sandbox.path("config").display(),
        state = sandbox.path("state").display(),
        run = sandbox.path("run").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = db.display(),
    );
    let tmux = Tmux::start("door", 40, 12, &door).unwrap();
    tmux.wait_for("Networks");
    tmux.wait_for("Tap your card");
    let mut view = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    let tap = ToRecorder::Reader {
        event: ReaderEvent::Card {
            reader: "Front door".into(),
            uid: taproll::domain::CardUid::parse("0400000001").unwrap(),
            at: taproll::domain::now(),
        },
    };
    let mut line = serde_json::to_vec(&tap).unwrap();
    line.push(b'\n');
    view.write_all(&line).unwrap();
    let screen = tmux.wait_for("Student 1");
    assert!(screen.contains("present"), "{screen}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM taps WHERE reader = 'Front door'"),
        1
    );
    // The recorder stops: the door says it is not recording, and stays.
    crate::common::stop_process(service.id().to_string());
    assert!(service.wait().unwrap().success());
    tmux.wait_for("Not recording");
    assert!(!tmux.screen().contains("DONE"));
}

/// Under systemd the log goes to standard error, which is the journal.
#[test]
fn the_service_logs_to_the_journal_when_systemd_says_so() {
    let sandbox = Sandbox::new();
    sandbox.import_roster(1, "Networks");
    let scenario = sandbox.write(
        "taps.toml",
        "[[tap]]\nat_ms = 0\nuid = \"0400000000\"\nhold_ms = 0\n",
    );
    let db = sandbox.path("taproll.db");
    let service = sandbox
        .taproll()
        .env("TAPROLL_RUNTIME_DIR", sandbox.path("run"))
        .env("JOURNAL_STREAM", "8:12345")
        .args(["record", "--course", "Networks", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the tap stored", || {
        count(&db, "SELECT count(*) FROM taps") == 1
    });
    crate::common::stop_process(service.id().to_string());
    let output = service.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let journal = String::from_utf8_lossy(&output.stderr);
    assert!(journal.contains("recorder started"), "{journal}");
    assert!(journal.contains("tap recorded"), "{journal}");
    assert!(journal.contains("recorder ended"), "{journal}");
    assert!(
        !journal.contains('\x1b'),
        "no colours in the journal: {journal}"
    );
    assert!(
        !sandbox.path("state/taproll").exists(),
        "no log file beside the journal"
    );
}

/// A login's runtime folder goes at its logout, the recorder's socket with
/// it: the recorder listens again, and a view finds it.
#[test]
fn a_recorder_whose_socket_was_removed_listens_again() {
    use std::io::{BufRead, BufReader};
    let sandbox = Sandbox::new();
    sandbox.import_roster(1, "Networks");
    let scenario = sandbox.write(
        "idle.toml",
        "[[tap]]\nat_ms = 3600000\nuid = \"0400000000\"\n",
    );
    let mut service = record(&sandbox, &scenario);
    let first = sandbox.wait_for_recorder();
    std::fs::remove_dir_all(sandbox.path("run")).unwrap();
    let again = sandbox.wait_for_recorder();
    assert_eq!(again, first, "where a view looks for it");
    let view = std::os::unix::net::UnixStream::connect(&first).unwrap();
    let mut welcome = String::new();
    BufReader::new(view).read_line(&mut welcome).unwrap();
    assert!(welcome.contains("\"welcome\""), "{welcome}");
    crate::common::stop_process(service.id().to_string());
    assert!(service.wait().unwrap().success());
}
