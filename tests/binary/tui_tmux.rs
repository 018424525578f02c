//! The real binary in a real terminal (tmux): the roster fills in, `q` asks
//! before quitting, a keyboard-wedge reader's typing is a tap, and every way
//! out (quit, SIGTERM, SIGHUP) leaves the terminal usable again.

use crate::common::{Sandbox, process_gone};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own, so tests never touch the user's sessions.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` (with a loud message) when tmux is missing on a developer's
    /// machine; in CI a missing tmux fails the test.
    pub(crate) fn start(name: &str, width: u16, height: u16, command: &str) -> Option<Self> {
        let available = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
            eprintln!("SKIPPED {name}: tmux is not installed (make test installs it)");
            return None;
        }
        let tmux = Self {
            socket: format!("taproll-test-{}-{name}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        tmux.run(&["new-session", "-d", "-s", "t", "-x", &w, "-y", &h, command]);
        Some(tmux)
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub(crate) fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    pub(crate) fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "t", keys]);
    }

    /// Waits until `text` is on screen; panics with the screen if it never is.
    pub(crate) fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {text:?} on:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills taproll, the roster and the recorder it started, with SIGKILL
    /// (a crash, a power cut) and waits until they are gone. It does not
    /// look at the screen: a frame cut off mid-write can leave the pane in
    /// a state where the shell's next line is not shown.
    pub(crate) fn kill_taproll(&self) {
        let view = self.taproll_pid();
        assert!(
            !view.is_empty(),
            "taproll is not running:\n{}",
            self.screen()
        );
        let recorder = children(&view);
        assert!(!recorder.is_empty(), "the roster started no recorder");
        for pid in [recorder, view] {
            let sent = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
            assert!(sent.success(), "kill -KILL {pid} failed");
            let deadline = Instant::now() + Duration::from_secs(60);
            while !process_gone(&pid) {
                assert!(Instant::now() < deadline, "taproll {pid} outlived SIGKILL");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The pid of taproll's roster, the shell's child in the pane.
    pub(crate) fn taproll_pid(&self) -> String {
        let shell = self.run(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        children(shell.trim())
    }
}

/// The pid of `parent`'s taproll child (the roster's is its recorder).
pub(crate) fn children(parent: &str) -> String {
    let output = Command::new("pgrep")
        .args(["-P", parent, "taproll"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// Runs the demo in a shell that reports, once taproll exits, its exit code
/// and whether the terminal is back in normal (canonical, echoing) mode,
/// on one line ending in DONE.
fn demo_in_shell(sandbox: &Sandbox) -> String {
    format!(
        "XDG_STATE_HOME={state} {bin} demo --db {db}; \
         echo EXIT=$? TTY=$(stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' ')DONE; sleep 60",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("demo.db").display(),
    )
}

#[test]
fn the_demo_fills_in_and_q_asks_before_quitting() {
    let sandbox = Sandbox::new();
    let Some(tmux) = Tmux::start("quit", 80, 24, &demo_in_shell(&sandbox)) else {
        return;
    };
    tmux.wait_for("Roster");
    let screen = tmux.wait_for("— PRESENT");
    assert!(screen.contains("Networks 101 (demo)"), "{screen}");
    assert!(screen.contains("Door"), "a reader is shown:\n{screen}");
    let recorder = children(&tmux.taproll_pid());
    assert!(!recorder.is_empty(), "the roster started a recorder");
    tmux.keys("q");
    tmux.wait_for("Leave taproll?");
    tmux.keys("n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tmux.screen().contains("Leave taproll?") {
        assert!(Instant::now() < deadline, "n did not close the question");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.keys("q");
    tmux.wait_for("Leave taproll?");
    // Stop recording: the recorder ends with the roster.
    tmux.keys("s");
    let screen = tmux.wait_for("DONE");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("icanon echo"),
        "terminal not restored:\n{screen}"
    );
    assert!(
        !screen.contains("Roster"),
        "still on the alternate screen:\n{screen}"
    );
    assert!(
        process_gone(&recorder),
        "the recorder {recorder} was stopped"
    );
    // What was shown is in the database.
    let conn = rusqlite::Connection::open(sandbox.path("demo.db")).unwrap();
    let marks: i64 = conn
        .query_row("SELECT count(*) FROM marks", [], |r| r.get(0))
        .unwrap();
    assert!(marks >= 1);
}

fn signal_restores_the_terminal(name: &str, signal: &str) {
    let sandbox = Sandbox::new();
    let Some(tmux) = Tmux::start(name, 80, 24, &demo_in_shell(&sandbox)) else {
        return;
    };
    tmux.wait_for("Roster");
    let pid = tmux.taproll_pid();
    assert!(!pid.is_empty(), "taproll is running");
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let screen = tmux.wait_for("DONE");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("icanon echo"),
        "terminal not restored:\n{screen}"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores_the_terminal("term", "TERM");
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores_the_terminal("hup", "HUP");
}

#[test]
fn the_tui_records_taps_from_a_pcsc_reader() {
    use crate::common::pcscd::Pcscd;
    use crate::common::vcard::{Behaviour, Card};
    let Some(pcscd) = Pcscd::start("Door") else {
        return;
    };
    let sandbox = Sandbox::new();
    let command = format!(
        "PCSCLITE_CSOCK_NAME={socket} XDG_STATE_HOME={state} {bin} run --reader pcsc --course Networks --db {db}",
        socket = pcscd.socket().display(),
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("taproll.db").display(),
    );
    let Some(tmux) = Tmux::start("pcsc", 80, 24, &command) else {
        return;
    };
    tmux.wait_for("Door 00 00, Door 00 01");
    let card = Card::insert(
        pcscd.port("Door 00 01"),
        &[4, 0xA1, 0xB2, 0xC3],
        Behaviour::GiveUid,
    );
    let screen = tmux.wait_for("Unknown card 04:…:C3");
    card.remove();
    assert!(
        screen.contains("Door 00 01 ·"),
        "the banner names the reader:\n{screen}"
    );
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let reader: String = conn
        .query_row("SELECT reader FROM taps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reader, "Door 00 01");
}

#[test]
fn a_wedge_reader_typing_into_the_tui_records_a_tap() {
    let sandbox = Sandbox::new();
    let command = format!(
        "XDG_STATE_HOME={state} {bin} run --reader wedge --course Networks --db {db}",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("taproll.db").display(),
    );
    let Some(tmux) = Tmux::start("wedge", 80, 24, &command) else {
        return;
    };
    tmux.wait_for("Keyboard reader");
    // The reader types the card number, then Enter.
    tmux.run(&["send-keys", "-t", "t", "-l", "04a1b2c3"]);
    tmux.wait_for("card: 04… (8)");
    tmux.keys("Enter");
    let screen = tmux.wait_for("Unknown card 04:…:C3");
    assert!(
        screen.contains("Keyboard reader ·"),
        "the banner names the reader:\n{screen}"
    );
    assert!(
        !screen.contains("Whose is it?"),
        "no dialog for the reader's next card to be typed into:\n{screen}"
    );
    assert!(
        !screen.contains("04:A1:B2:C3") && !screen.contains("04a1b2c3"),
        "the whole UID is never on the screen:\n{screen}"
    );
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let tap: (String, String) = conn
        .query_row("SELECT reader, uid FROM taps", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(tap, ("Keyboard reader".into(), "04A1B2C3".into()));
}

#[test]
fn a_class_from_the_keyboard_enrol_excuse_end() {
    let sandbox = Sandbox::new();
    let command = format!(
        "XDG_STATE_HOME={state} {bin} demo --db {db}; echo EXIT=$? DONE; sleep 60",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("demo.db").display(),
    );
    let Some(tmux) = Tmux::start("class", 80, 24, &command) else {
        return;
    };
    // The scenario taps an unknown card: the dialog asks whose it is.
    tmux.wait_for("Whose is it?");
    for key in ["f", "r", "a", "Enter"] {
        tmux.keys(key);
    }
    tmux.wait_for("Frances Allen                             s1008        present card");
    // Excuse Adele Goldberg, with a note.
    for key in ["/", "a", "d", "e", "l", "Enter", "m", "e"] {
        tmux.keys(key);
    }
    tmux.run(&["send-keys", "-t", "t", "-l", "sick note"]);
    tmux.keys("Enter");
    tmux.wait_for("Adele Goldberg                            s1018        excused manual");
    // End the session.
    tmux.keys("Escape");
    tmux.keys("x");
    tmux.wait_for("End the session?");
    tmux.keys("y");
    let summary = tmux.wait_for("Session ended");
    assert!(summary.contains("Excused       1"), "{summary}");
    // Save the report: the demo's go beside its database.
    let reports = sandbox.path("reports");
    assert!(summary.contains("s save the report to"), "{summary}");
    tmux.keys("s");
    let saved = tmux.wait_for("Report saved");
    assert!(
        saved.contains("Session ended"),
        "back on the summary: {saved}"
    );
    let files: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let csv = files
        .iter()
        .find(|f| f.ends_with("_session-1.csv"))
        .unwrap();
    assert!(csv.starts_with("networks-101-demo_"), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("_session-1.xlsx")),
        "{files:?}"
    );
    assert_eq!(files.len(), 2, "{files:?}");
    let text = std::fs::read_to_string(reports.join(csv)).unwrap();
    assert!(
        text.contains("s1018,Adele Goldberg,,excused,,manual,sick note"),
        "{text}"
    );
    tmux.keys("Enter");
    let screen = tmux.wait_for("DONE");
    assert!(screen.contains("EXIT=0"), "{screen}");

    let conn = rusqlite::Connection::open(sandbox.path("demo.db")).unwrap();
    let mark = |student_no: &str| -> (String, String, Option<String>) {
        conn.query_row(
            "SELECT m.mark, m.source, m.note FROM marks m JOIN students s ON s.id = m.student_id
             WHERE s.student_no = ?1",
            [student_no],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(mark("s1008"), ("present".into(), "card".into(), None));
    assert_eq!(
        mark("s1018"),
        ("excused".into(), "manual".into(), Some("sick note".into()))
    );
    let card: String = conn
        .query_row(
            "SELECT c.uid FROM cards c JOIN students s ON s.id = c.student_id WHERE s.student_no = 's1008'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(card, "04DEADBEEF0001");
    let (ended, absent): (Option<String>, i64) = conn
        .query_row(
            "SELECT (SELECT ended_at FROM sessions),
                    (SELECT count(*) FROM marks WHERE mark = 'absent' AND source = 'auto')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(ended.is_some(), "the session is ended");
    assert!(absent >= 1, "the rest are absent");
}

#[test]
fn the_next_run_offers_to_continue_an_open_session() {
    let sandbox = Sandbox::new();
    let idle = sandbox.write(
        "idle.toml",
        "[[tap]]\nat_ms = 3600000\nuid = \"04A1B2C3\"\n",
    );
    // The second run: a student taps while the question is on screen.
    let early = sandbox.write(
        "early.toml",
        "[[tap]]\nat_ms = 300\nuid = \"04D00D00\"\n[[tap]]\nat_ms = 3600000\nuid = \"04A1B2C3\"\n",
    );
    // The question must still be open when the test answers it.
    let config = sandbox.write("config.toml", "[session]\nresume_question_seconds = 3600\n");
    let command = |scenario: &std::path::Path| {
        format!(
            "XDG_STATE_HOME={state} {bin} run --config {config} --course Networks --db {db} --scenario {scenario}; echo EXIT=$? DONE; sleep 60",
            config = config.display(),
            state = sandbox.path("state").display(),
            bin = env!("CARGO_BIN_EXE_taproll"),
            db = sandbox.path("taproll.db").display(),
            scenario = scenario.display(),
        )
    };
    // First run: a new session, then a "crash" (SIGKILL).
    {
        let Some(tmux) = Tmux::start("resume1", 80, 24, &command(&idle)) else {
            return;
        };
        tmux.wait_for("Roster");
        tmux.kill_taproll();
    }
    let Some(tmux) = Tmux::start("resume2", 80, 24, &command(&early)) else {
        return;
    };
    tmux.wait_for("Open session found");
    // The tap is recorded while the question waits for an answer.
    let screen = tmux.wait_for("Unknown card 04:…:00");
    assert!(screen.contains("Open session found"), "{screen}");
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let tap_session = || -> i64 {
        conn.query_row(
            "SELECT session_id FROM taps WHERE uid = '04D00D00'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(tap_session(), 1, "recorded into the open session");
    tmux.keys("n");
    tmux.wait_for("New session started");
    let sessions: Vec<(i64, Option<String>)> = conn
        .prepare("SELECT id, ended_at FROM sessions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions[0].1.is_some(), "the old session was ended");
    assert!(sessions[1].1.is_none(), "the new one is open");
    assert_eq!(tap_session(), 2, "the tap moved to the new session");
}

#[test]
fn an_unanswered_resume_question_goes_on_with_the_session() {
    let sandbox = Sandbox::new();
    let idle = sandbox.write(
        "idle.toml",
        "[[tap]]\nat_ms = 3600000\nuid = \"04A1B2C3\"\n",
    );
    let config = sandbox.write("config.toml", "[session]\nresume_question_seconds = 3\n");
    let command = format!(
        "XDG_STATE_HOME={state} {bin} run --config {config} --course Networks --db {db} --scenario {scenario}; echo EXIT=$? DONE; sleep 60",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("taproll.db").display(),
        config = config.display(),
        scenario = idle.display(),
    );
    {
        let Some(tmux) = Tmux::start("timeout1", 80, 24, &command) else {
            return;
        };
        tmux.wait_for("Roster");
        tmux.kill_taproll();
    }
    let Some(tmux) = Tmux::start("timeout2", 80, 24, &command) else {
        return;
    };
    // Nobody answers (a kiosk after a power cut): it goes on by itself.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !tmux.screen().contains("Continuing session 1") {
        assert!(Instant::now() < deadline, "{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!tmux.screen().contains("Open session found"));
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let open: Vec<Option<String>> = conn
        .prepare("SELECT ended_at FROM sessions ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(open, [None], "the one session goes on");
}

/// Runs taproll in a shell that outlives the terminal (it ignores SIGHUP)
/// and writes taproll's exit status to a file.
#[test]
fn a_dropped_terminal_ends_taproll_without_a_panic_and_keeps_every_tap() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("taps.toml", &crate::common::scenario(3, 100));
    let status = sandbox.path("status");
    let command = format!(
        "trap '' HUP; XDG_STATE_HOME={state} {bin} run --course Networks --db {db} --scenario {scenario}; echo $? > {status}",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = sandbox.path("taproll.db").display(),
        scenario = scenario.display(),
        status = status.display(),
    );
    let Some(tmux) = Tmux::start("drop", 80, 24, &command) else {
        return;
    };
    tmux.wait_for("scenario finished");
    // The SSH connection drops: the terminal goes away under taproll.
    tmux.run(&["kill-session", "-t", "t"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Ok(code) = std::fs::read_to_string(&status)
            && !code.is_empty()
        {
            break code;
        }
        assert!(Instant::now() < deadline, "taproll did not end");
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = logs(&sandbox);
    assert_eq!(code.trim(), "0", "exit status; log:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("the terminal is gone"), "{log}");
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let taps: i64 = conn
        .query_row("SELECT count(*) FROM taps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(taps, 3);
}

/// Every log file taproll wrote in the sandbox, joined.
fn logs(sandbox: &Sandbox) -> String {
    let dir = sandbox.path("state/taproll");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    text
}

#[test]
fn a_report_on_a_terminal_is_safe_to_print() {
    let sandbox = Sandbox::new();
    // A name that would clear the screen, and one that would be a formula.
    let roster = sandbox.write(
        "roster.csv",
        "id,name\ns1,\"Eve\u{1b}[2JMallory\"\ns2,=1+1\n",
    );
    let db = sandbox.path("taproll.db");
    let import = sandbox
        .taproll()
        .args(["roster", "import", "--course", "Safe", "--db"])
        .arg(&db)
        .arg(&roster)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let command = format!(
        "clear; {bin} report --course Safe --format csv --db {db}; \
         {bin} report --course Safe --format xlsx --db {db}; echo EXIT=$? DONE; sleep 60",
        bin = env!("CARGO_BIN_EXE_taproll"),
        db = db.display(),
    );
    let Some(tmux) = Tmux::start("report", 80, 24, &command) else {
        return;
    };
    let screen = tmux.wait_for("DONE");
    assert!(
        screen.contains("Student no,Name"),
        "the screen was not cleared: {screen}"
    );
    assert!(screen.contains("s1,Eve\u{FFFD}[2JMallory"), "{screen}");
    assert!(screen.contains("s2,'=1+1"), "{screen}");
    assert!(screen.contains("XLSX report is a binary file"), "{screen}");
    assert!(screen.contains("EXIT=1"), "{screen}");
}

#[test]
fn a_class_with_a_server_ends_with_the_server_holding_exactly_its_events() {
    use crate::common::sync_server::{SyncServer, TEST_TOKEN};
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let roster = sandbox.write(
        "roster.csv",
        "student_id,name,card\ns1,Ada Lovelace,04A1B2C3\ns2,Alan Turing,04D4E5F6\ns3,Grace Hopper,\n",
    );
    let imported = sandbox
        .taproll()
        .args(["roster", "import"])
        .arg(&roster)
        .args(["--course", "Networks", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(imported.status.success());
    let server = SyncServer::start();
    let config = sandbox.write(
        "config.toml",
        &format!(
            "[sync]\nserver = \"{}\"\nretry_max_seconds = 1\n",
            server.url()
        ),
    );
    let taps = sandbox.write(
        "taps.toml",
        "[[tap]]\nat_ms = 200\nuid = \"04A1B2C3\"\nhold_ms = 0\n\
         [[tap]]\nat_ms = 400\nuid = \"04D4E5F6\"\nhold_ms = 0\n",
    );
    let command = format!(
        "TAPROLL_SYNC_TOKEN={TEST_TOKEN} XDG_STATE_HOME={state} {bin} run --config {config} --course Networks --db {db} --scenario {taps}; echo EXIT=$? DONE; sleep 60",
        state = sandbox.path("state").display(),
        bin = env!("CARGO_BIN_EXE_taproll"),
        config = config.display(),
        db = db.display(),
        taps = taps.display(),
    );
    let Some(tmux) = Tmux::start("sync", 80, 24, &command) else {
        return;
    };
    // Both taps recorded, and the status line says how the push goes.
    tmux.wait_for("Present 2");
    tmux.wait_for("synced");
    tmux.keys("S");
    let view = tmux.wait_for("online");
    assert!(view.contains(&server.url()), "{view}");
    tmux.keys("Escape");
    tmux.keys("x");
    tmux.wait_for("End the session?");
    tmux.keys("y");
    tmux.wait_for("Session ended");
    tmux.keys("Enter");
    let screen = tmux.wait_for("DONE");
    assert!(screen.contains("EXIT=0"), "{screen}");
    // Every event of the database, the end of the session included, once.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let outbox: Vec<(String, String)> = conn
        .prepare("SELECT event_id, kind FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        outbox.last().map(|(_, kind)| kind.as_str()),
        Some("session_ended")
    );
    let received: Vec<(String, String)> = server
        .events()
        .iter()
        .map(|e| (e.event_id.to_string(), e.event.kind().to_string()))
        .collect();
    assert_eq!(received, outbox);
    let unsent: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unsent, 0);
}
