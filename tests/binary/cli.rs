//! The real binary: headless output, kill -9, a second process, config errors.

use crate::common::{Sandbox, scenario};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// One tap a minute from now: the run stays up until the test ends it.
const LONG_SCENARIO: &str = "[[tap]]\nat_ms = 60000\nuid = \"04A1B2C3\"\n";

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn taps(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "tap").collect()
}

/// `taproll run --headless --config FILE`, to its end (a config error).
fn run_with_config(sandbox: &Sandbox, config: &std::path::Path) -> std::process::Output {
    sandbox
        .taproll()
        .args(["run", "--headless", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

/// Reads stdout lines of a running child until `want` JSON lines arrived.
fn read_lines(child: &mut Child, want: usize) -> Vec<Value> {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.len() < want && Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read stdout") == 0 {
            break;
        }
        lines.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")));
    }
    child.stdout = Some(reader.into_inner());
    lines
}

#[test]
fn headless_run_prints_one_committed_json_line_per_tap_and_exits_at_the_end() {
    let sandbox = Sandbox::new();
    let mut text = scenario(3, 10);
    // The first card again at once: a repeat, stored but not printed.
    text.push_str("[[tap]]\nat_ms = 15\nuid = \"04000000000000\"\nhold_ms = 0\n");
    let scenario = sandbox.write("scenario.toml", &text);
    let db = sandbox.path("taproll.db");
    let output = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "Networks 101", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output.stdout);
    assert_eq!(lines[0]["event"], "session");
    assert_eq!(lines[0]["course"], "Networks 101");
    let taps = taps(&lines);
    assert_eq!(taps.len(), 3, "{lines:?}");
    for (i, tap) in taps.iter().enumerate() {
        // Masked (the default): the first two bytes and the last.
        assert_eq!(tap["uid"], format!("04:00:…:{i:02X}"));
        assert_eq!(tap["outcome"], "unknown");
        assert_eq!(tap["reader"], "Simulated reader");
        assert_eq!(tap["session"], lines[0]["session"]);
        assert!(
            tap["session"].as_str().is_some_and(|s| s.len() == 36),
            "{tap}"
        );
        let at = tap["at"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339 with offset");
    }
    // Stored: the three taps and the repeat.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM taps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 4);
}

#[test]
fn the_demo_headless_starts_with_the_session_readers_and_a_known_student() {
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .taproll()
        .args(["demo", "--headless", "--db"])
        .arg(sandbox.path("demo.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first lines are the session, the readers and the first known tap.
    let lines = read_lines(&mut child, 4);
    child.kill().unwrap();
    child.wait().unwrap();
    let tap = taps(&lines)[0];
    assert_eq!(tap["outcome"], "present");
    assert!(
        tap["name"].is_string() && tap["student_no"].is_string(),
        "{tap}"
    );
}

#[test]
fn kill_9_mid_scenario_loses_no_tap_that_was_printed() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("scenario.toml", &scenario(200, 20));
    let db = sandbox.path("taproll.db");
    let mut child = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--db"])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_lines(&mut child, 40);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let printed = taps(&lines);
    assert!(printed.len() >= 30, "{}", printed.len());

    let conn = rusqlite::Connection::open(&db).unwrap();
    for tap in printed {
        let (uid, outcome): (String, String) = conn
            .query_row(
                "SELECT uid, outcome FROM taps WHERE uuid = ?1",
                [tap["tap"].as_str().unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("tap {tap} printed but not stored: {e}"));
        assert_eq!(
            taproll::domain::CardUid::parse(&uid).unwrap().masked(),
            tap["uid"].as_str().unwrap()
        );
        assert_eq!(outcome, tap["outcome"].as_str().unwrap());
    }
}

#[test]
fn a_second_process_on_the_same_database_gets_a_clear_message() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("scenario.toml", LONG_SCENARIO);
    let db = sandbox.path("taproll.db");
    let run = |sandbox: &Sandbox| {
        let mut command = sandbox.taproll();
        command
            .args(["run", "--headless", "--course", "C", "--db"])
            .arg(&db)
            .arg("--scenario")
            .arg(&scenario);
        command
    };
    let mut first = run(&sandbox).stdout(Stdio::piped()).spawn().unwrap();
    read_lines(&mut first, 1); // the session line: the first one holds the database
    let second = run(&sandbox).output().unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("is in use by another taproll process")
            && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
}

#[test]
fn sigterm_ends_a_headless_run_cleanly() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("scenario.toml", LONG_SCENARIO);
    let mut child = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--db"])
        .arg(sandbox.path("taproll.db"))
        .arg("--scenario")
        .arg(&scenario)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    read_lines(&mut child, 1);
    let sent = send_signal(child.id(), "TERM");
    assert!(sent, "kill(SIGTERM) failed");
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it ended on the signal, not the scenario"
    );
}

/// Sends a signal through the `kill` command, keeping `unsafe` out of the tests.
fn send_signal(pid: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_bad_config_value_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    let config = sandbox.write(
        "config.toml",
        "# taproll\n[session]\nlate_after_minutes = 10\n\n[reader]\nbackend = \"usb\"\n",
    );
    let output = run_with_config(&sandbox, &config);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("{}, line 6, key `reader.backend`:", config.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("usb"), "{stderr}");
}

#[test]
fn an_unknown_config_key_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("config.toml", "[session]\nlate_after_minute = 5\n");
    let output = sandbox
        .taproll()
        .args(["run", "--headless"])
        .env("TAPROLL_CONFIG", &config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}, line 2, key `session.late_after_minute`:",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn an_out_of_range_config_value_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("config.toml", "[session]\ndebounce_seconds = 9000\n");
    let output = run_with_config(&sandbox, &config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}, line 2, key `session.debounce_seconds`: must be between 0 and 600",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn run_without_a_course_the_first_time_says_what_to_do() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("scenario.toml", &scenario(1, 10));
    let output = sandbox
        .taproll()
        .args(["run", "--headless", "--scenario"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pass --course NAME"), "{stderr}");
    // The default database went to the XDG data folder.
    assert!(sandbox.path("data/taproll/taproll.db").exists());
}

#[test]
fn logs_go_to_the_state_folder_not_the_terminal() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("scenario.toml", &scenario(2, 10));
    let output = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--scenario"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let logs: String = std::fs::read_dir(sandbox.path("state/taproll"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert!(logs.contains("tap recorded"), "{logs}");
}

#[test]
fn a_wedge_reader_on_stdin_records_normalised_uids() {
    let sandbox = Sandbox::new();
    // A reader that types 4-byte UIDs as reversed decimal numbers; whole
    // UIDs in the lines, to see every byte of the normalised one.
    let config = sandbox.write(
        "config.toml",
        "[reader]\nbackend = \"wedge\"\n\n[reader.wedge]\nformat = \"decimal\"\nreversed = true\n\n[privacy]\nuids = \"full\"\n",
    );
    let mut child = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // 0xC3B2A104 reversed is 04 A1 B2 C3; then a line that is not a number.
        stdin.write_all(b"3283263748\n\nnot-a-card\n").unwrap();
    } // closing stdin ends the run
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines = json_lines(&output.stdout);
    let tap = taps(&lines)[0];
    assert_eq!(tap["uid"], "04A1B2C3");
    assert_eq!(tap["reader"], "Keyboard reader");
    let error = lines.iter().find(|l| l["event"] == "card_error").unwrap();
    // What was typed is masked: a card number is as good as the card.
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("`no… (10)` is not a decimal card number"),
        "{error}"
    );
}

#[test]
fn starts_at_sets_the_session_start_for_late_arrivals() {
    let sandbox = Sandbox::new();
    let scenario = sandbox.write("scenario.toml", &scenario(1, 10));
    let output = sandbox
        .taproll()
        .args([
            "run",
            "--headless",
            "--course",
            "C",
            "--starts-at",
            "00:00",
            "--scenario",
        ])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let session = &json_lines(&output.stdout)[0];
    let start = chrono::DateTime::parse_from_rfc3339(session["at"].as_str().unwrap()).unwrap();
    assert_eq!(start.time(), chrono::NaiveTime::MIN, "{session}");
    assert_eq!(start.date_naive(), chrono::Local::now().date_naive());

    let bad = sandbox
        .taproll()
        .args(["run", "--headless", "--starts-at", "9am"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a time like 09:15"));
}

#[test]
fn a_scenario_in_the_config_does_not_replace_the_real_reader() {
    let sandbox = Sandbox::new();
    sandbox.write("scenario.toml", &scenario(1, 10));
    let config = sandbox.write("config.toml", "[reader]\nscenario = \"scenario.toml\"\n");
    let mut child = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--config"])
        .arg(&config)
        .env("PCSCLITE_CSOCK_NAME", sandbox.path("no-pcscd.comm"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_lines(&mut child, 2);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(lines[1]["event"], "reader_error", "{lines:?}");
    assert_eq!(
        lines[1]["message"],
        "PC/SC service not running — start pcscd"
    );
}

#[test]
fn an_admin_card_is_not_attendance() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("config.toml", "[admin]\ncards = [\"04:AD:AD:AD\"]\n");
    let scenario = sandbox.write(
        "scenario.toml",
        "[[tap]]\nat_ms = 0\nuid = \"04ADADAD\"\n[[tap]]\nat_ms = 10\nuid = \"04010101\"\n",
    );
    let db = sandbox.path("taproll.db");
    let output = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output.stdout);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["session", "reader_added", "admin_card", "tap"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let uids: Vec<String> = conn
        .prepare("SELECT uid FROM taps")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(uids, ["04010101"], "the admin card is not stored as a tap");
}

#[test]
fn a_bad_admin_card_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("config.toml", "[session]\n\n[admin]\ncards = [\"nope\"]\n");
    let output = run_with_config(&sandbox, &config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("{}, line 4, key `admin.cards[1]`: `nope`", config.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn absent_after_must_come_after_late_after() {
    let sandbox = Sandbox::new();
    let config = sandbox.write(
        "config.toml",
        "[session]\nlate_after_minutes = 15\nabsent_after_minutes = 10\n",
    );
    let output = run_with_config(&sandbox, &config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}, line 3, key `session.absent_after_minutes`",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn sessions_lists_a_courses_sessions_with_label_and_counts() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let roster = sandbox.write(
        "roster.csv",
        "id,name,card\ns1,Ada Lovelace,04000000000000\ns2,Alan Turing,\n",
    );
    let import = sandbox
        .taproll()
        .args(["roster", "import"])
        .arg(&roster)
        .args(["--course", "Networks", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let scenario = sandbox.write("scenario.toml", &scenario(1, 10)); // Ada's card
    let run = sandbox
        .taproll()
        .args([
            "run",
            "--headless",
            "--course",
            "Networks",
            "--label",
            "Lab 3",
            "--db",
        ])
        .arg(&db)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let list = sandbox
        .taproll()
        .args(["sessions", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "Networks");
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    // id, date, time, ended, label (two words), present, late, absent,
    // excused, unmarked: Alan has not tapped yet, the session is open.
    assert_eq!(row[0], "1");
    assert_eq!(
        &row[3..],
        ["open", "Lab", "3", "1", "0", "0", "0", "1"],
        "{list}"
    );
}

#[test]
fn a_key_that_clashes_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("config.toml", "[keys]\nmark = \"m\"\nundo = \"m\"\n");
    let output = run_with_config(&sandbox, &config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}, line 3, key `keys.undo`: `m` is already the key of mark",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn absent_after_flag_must_come_after_late_after() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .taproll()
        .args([
            "run",
            "--headless",
            "--late-after",
            "40",
            "--absent-after",
            "30",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--absent-after must be 0 (never) or more than --late-after"),
        "{stderr}"
    );
}

#[test]
fn bad_report_settings_name_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    for (text, line, key, message) in [
        (
            "[report]\ntime_zone = \"Mars/Base\"\n",
            2,
            "report.time_zone",
            "`Mars/Base` is not a time zone",
        ),
        (
            "[report]\nformats = [\"csv\"]\n\n[report.canvas]\nlate_credit_percent = 120\n",
            5,
            "report.canvas.late_credit_percent",
            "must be between 0 and 100",
        ),
        (
            "[report]\nformats = [\"csv\", \"pdf\"]\n",
            2,
            "report.formats[2]",
            "pdf",
        ),
        (
            "[report]\nformats = []\n",
            2,
            "report.formats",
            "must name at least one format",
        ),
    ] {
        let config = sandbox.write("config.toml", text);
        let output = sandbox
            .taproll()
            .args(["report", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!("{}, line {line}, key `{key}`", config.display());
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
}

/// The key of every config error in full and on its line, however the file
/// writes it: a dotted key under a table, an inline table, an array of
/// tables, a plain key; for a value of the wrong kind, an unknown key and a
/// value out of range alike.
#[test]
fn config_errors_name_the_line_and_full_key_however_the_key_is_written() {
    let sandbox = Sandbox::new();
    for (text, line, key, message) in [
        // A dotted key under a table.
        (
            "[report]\nformats = [\"csv\"]\n\ncanvas.points = 5000\n",
            4,
            "report.canvas.points",
            "must be between 0 and 1000",
        ),
        (
            "[report]\ncanvas.points = \"many\"\n",
            2,
            "report.canvas.points",
            "invalid type",
        ),
        (
            "[report]\n\ncanvas.pointz = 5\n",
            3,
            "report.canvas.pointz",
            "unknown field",
        ),
        (
            "[session]\n\n[report]\ncanvas.late_credit_percent = 101\n",
            4,
            "report.canvas.late_credit_percent",
            "must be between 0 and 100",
        ),
        // An inline table.
        (
            "# taproll\n\nreport = { canvas = { points = 5000 } }\n",
            3,
            "report.canvas.points",
            "must be between 0 and 1000",
        ),
        (
            "session = { late_after_minutes = 5, debounce_seconds = 9000 }\n",
            1,
            "session.debounce_seconds",
            "must be between 0 and 600",
        ),
        (
            "report = { canvas = { pointz = 5 } }\n",
            1,
            "report.canvas.pointz",
            "unknown field",
        ),
        // An array of tables where a table belongs, and array elements.
        (
            "# taproll\n[[admin]]\ncards = []\n",
            2,
            "admin",
            "invalid type",
        ),
        (
            "[admin]\ncards = [\n  \"04A1B2C3\",\n  \"nope\",\n]\n",
            4,
            "admin.cards[2]",
            "`nope`",
        ),
        (
            "[feedback]\nbell = [\"late\", \"loud\"]\n",
            2,
            "feedback.bell[2]",
            "loud",
        ),
        // A plain key, at the top and in a table.
        ("sesion = 1\n", 1, "sesion", "unknown field"),
        ("[keys]\n\nquit = 7\n", 3, "keys.quit", "invalid type"),
    ] {
        let config = sandbox.write("config.toml", text);
        let output = run_with_config(&sandbox, &config);
        assert!(!output.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!(
            "taproll: config error: {}, line {line}, key `{key}`: ",
            config.display()
        );
        assert!(stderr.contains(&expected), "{text}\n{stderr}");
        assert!(stderr.contains(message), "{text}\n{stderr}");
    }
}

#[test]
fn a_syntax_error_in_the_config_names_its_line() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("config.toml", "[session]\nlate_after_minutes = \n");
    let output = run_with_config(&sandbox, &config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "config error: {}, line 2, key `session.late_after_minutes`: ",
        config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_scenario_error_names_the_tap_of_its_array_of_tables() {
    let sandbox = Sandbox::new();
    let mut text = scenario(2, 10);
    text.push_str("[[tap]]\nat_ms = \"soon\"\nuid = \"04A1B2C3\"\n");
    let path = sandbox.write("scenario.toml", &text);
    let output = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "C", "--scenario"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "scenario error: {}, line 10, key `tap[3].at_ms`: invalid type",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}
