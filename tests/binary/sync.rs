//! The real binary pushing to a real server on loopback: killed mid-push
//! and started again, a whole session with the server down, a refused token
//! (and the token never in the log), `taproll sync` and its `--status`.

use crate::common::sync_server::{Fault, SyncServer, TEST_TOKEN, reserve_loopback_port};
use crate::common::{Sandbox, scenario};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A config pushing to `url`, waiting at most 1 s between tries.
fn config(sandbox: &Sandbox, url: &str, extra: &str) -> PathBuf {
    sandbox.write(
        "config.toml",
        &format!(
            "[sync]\nserver = \"{url}\"\nretry_max_seconds = 1\n{extra}\n[log]\nlevel = \"trace\"\n"
        ),
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `taproll sync` and its flags, with `token` in the environment.
fn sync(sandbox: &Sandbox, config: &Path, token: Option<&str>, flags: &[&str]) -> Output {
    let mut command = sandbox.taproll();
    command
        .arg("sync")
        .args(flags)
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(sandbox.path("taproll.db"));
    if let Some(token) = token {
        command.env("TAPROLL_SYNC_TOKEN", token);
    }
    command.output().unwrap()
}

/// A headless run of `scenario` to its end, with `token` in the environment.
fn headless(sandbox: &Sandbox, config: Option<&Path>, token: &str, scenario: &str) -> Output {
    let file = sandbox.write("scenario.toml", scenario);
    let mut command = sandbox.taproll();
    command
        .args(["run", "--headless", "--course", "Networks 101", "--db"])
        .arg(sandbox.path("taproll.db"))
        .arg("--scenario")
        .arg(&file)
        .env("TAPROLL_SYNC_TOKEN", token);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command.output().unwrap()
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The ids of every event in the database's outbox, in sequence order.
fn outbox_ids(sandbox: &Sandbox) -> Vec<Uuid> {
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let mut statement = conn
        .prepare("SELECT event_id FROM outbox ORDER BY seq")
        .unwrap();
    statement
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|id| Uuid::parse_str(&id.unwrap()).unwrap())
        .collect()
}

fn server_ids(server: &SyncServer) -> Vec<Uuid> {
    server.events().iter().map(|e| e.event_id).collect()
}

/// Everything taproll wrote in its state folder (its logs).
fn logs(sandbox: &Sandbox) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(sandbox.path("state").join("taproll")).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    all
}

#[test]
fn killed_mid_push_and_started_again_it_loses_nothing_and_the_server_counts_nothing_twice() {
    let sandbox = Sandbox::new();
    sandbox.import_roster(5000, "Networks 101");
    let server = SyncServer::start();
    let config = config(&sandbox, &server.url(), "batch_events = 25");
    // A class is running (a tap an hour from now keeps it up) and pushing
    // the 10,000 events of the import, 25 at a time.
    let long = sandbox.write(
        "long.toml",
        "[[tap]]\nat_ms = 3600000\nuid = \"04A1B2C3\"\n",
    );
    let mut child = sandbox
        .taproll()
        .args(["run", "--headless", "--course", "Networks 101", "--db"])
        .arg(sandbox.path("taproll.db"))
        .arg("--scenario")
        .arg(&long)
        .arg("--config")
        .arg(&config)
        .env("TAPROLL_SYNC_TOKEN", TEST_TOKEN)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    server.wait_for_events(2000, Duration::from_secs(120));
    // Meanwhile, taproll sync leaves the push to the running class.
    let beside = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert_eq!(beside.status.code(), Some(1));
    assert!(
        text(&beside.stderr).contains("pushes its events itself"),
        "{}",
        text(&beside.stderr)
    );
    // The next batch is stored at the server, and its answer never comes:
    // killed now, taproll has not marked those events sent.
    let requests = server.requests().len();
    server.script([Fault::StoreThenStall(Duration::from_secs(300))]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let in_flight = loop {
        let stalled = server.requests()[requests..]
            .iter()
            .find(|r| r.fault.is_some())
            .map(|r| r.event_ids.clone());
        if let Some(ids) = stalled {
            break ids;
        }
        assert!(Instant::now() < deadline, "no batch came to stall");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(in_flight.len(), 25);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = server.received_count();
    let all = outbox_ids(&sandbox);
    assert!(before < all.len(), "killed before it was done");
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let unsent_but_stored: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND event_id IN ({})",
                in_flight
                    .iter()
                    .map(|id| format!("'{id}'"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unsent_but_stored, 25, "stored there, not marked sent here");
    server.down();
    server.up();
    // Started again: the rest goes, what was sent before the kill is not
    // stored twice, and the order holds.
    let output = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("none wait"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(server_ids(&server), all);
    assert!(
        server.out_of_order().is_empty(),
        "{:?}",
        server.out_of_order()
    );
}

#[test]
fn with_the_server_down_a_session_goes_as_without_one_and_the_queue_drains_when_it_is_back() {
    let taps = scenario(3, 20);
    // Without a server.
    let plain = Sandbox::new();
    plain.import_roster(2, "Networks 101");
    let without = headless(&plain, None, TEST_TOKEN, &taps);
    assert!(without.status.success(), "{}", text(&without.stderr));
    // With a server that is down for the whole session.
    let sandbox = Sandbox::new();
    sandbox.import_roster(2, "Networks 101");
    let reserved = reserve_loopback_port();
    let url = format!("http://127.0.0.1:{}", reserved.port());
    let config = config(&sandbox, &url, "");
    let started = Instant::now();
    let with = headless(&sandbox, Some(&config), TEST_TOKEN, &taps);
    assert!(with.status.success(), "{}", text(&with.stderr));
    // The end does not wait for a server that is down.
    assert!(started.elapsed() < Duration::from_secs(30));
    let lines = json_lines(&with.stdout);
    let outcomes = |lines: &[Value]| -> Vec<(String, String)> {
        lines
            .iter()
            .filter(|l| l["event"] == "tap")
            .map(|l| (l["uid"].to_string(), l["outcome"].to_string()))
            .collect()
    };
    assert_eq!(outcomes(&lines), outcomes(&json_lines(&without.stdout)));
    assert_eq!(outcomes(&lines).len(), 3);
    let offline = lines
        .iter()
        .find(|l| l["event"] == "sync" && l["state"] == "offline")
        .unwrap_or_else(|| panic!("no offline line: {lines:?}"));
    assert!(
        offline["error"]
            .as_str()
            .is_some_and(|e| e.contains("refuses connections")),
        "{offline}"
    );
    // The server is back: taproll sync sends everything, once.
    let server = SyncServer::start_reserved(reserved, TEST_TOKEN);
    let output = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(server_ids(&server), outbox_ids(&sandbox));
    // Nothing left: a second run sends nothing.
    let requests = server.requests().len();
    let again = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert!(again.status.success());
    assert!(
        text(&again.stdout).contains("Sent 0 event(s)"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(server.requests().len(), requests);
}

#[test]
fn a_refused_token_stops_the_push_says_so_and_never_reaches_the_log() {
    let secret = "tok-SECRET-7d1f9c";
    let sandbox = Sandbox::new();
    sandbox.import_roster(2, "Networks 101");
    let server = SyncServer::start_with("the-right-token");
    let config = config(&sandbox, &server.url(), "");
    let run = headless(&sandbox, Some(&config), secret, &scenario(2, 20));
    assert!(run.status.success(), "{}", text(&run.stderr));
    let lines = json_lines(&run.stdout);
    let stopped = lines
        .iter()
        .find(|l| l["event"] == "sync" && l["state"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped line: {lines:?}"));
    assert!(
        stopped["error"].as_str().is_some_and(|e| e.contains("401")),
        "{stopped}"
    );
    // The token went to the server, and only there.
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "stopped after the first 401");
    assert_eq!(
        requests[0].header("authorization"),
        Some(&*format!("Bearer {secret}"))
    );
    let output = sync(&sandbox, &config, Some(secret), &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("still queued"),
        "{stderr}"
    );
    let log = logs(&sandbox);
    assert!(log.contains("401"), "the log tells what happened");
    for output in [&run.stdout, &run.stderr, &output.stdout, &output.stderr] {
        assert!(!text(output).contains(secret));
    }
    assert!(!log.contains(secret), "the token is in the log");
    assert_eq!(server.received_count(), 0);
}

#[test]
fn a_token_file_others_can_read_is_refused_saying_why_and_the_class_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    sandbox.import_roster(1, "Networks 101");
    let server = SyncServer::start();
    let token_file = sandbox.write("token", TEST_TOKEN);
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = config(
        &sandbox,
        &server.url(),
        &format!("token_file = \"{}\"", token_file.display()),
    );
    let output = sync(&sandbox, &config, None, &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&token_file.display().to_string())
            && stderr.contains("mode 0644")
            && stderr.contains("chmod 600"),
        "{stderr}"
    );
    // A class is not refused for it: taps are recorded, the push waits.
    let mut command = sandbox.taproll();
    let run = command
        .args(["run", "--headless", "--course", "Networks 101", "--db"])
        .arg(sandbox.path("taproll.db"))
        .arg("--scenario")
        .arg(sandbox.write("scenario.toml", &scenario(2, 20)))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.iter().filter(|l| l["event"] == "tap").count(), 2);
    assert!(
        lines.iter().any(|l| l["state"] == "stopped"
            && l["error"].as_str().is_some_and(|e| e.contains("chmod 600"))),
        "{lines:?}"
    );
    // Fixed: it goes.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = sync(&sandbox, &config, None, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(server_ids(&server), outbox_ids(&sandbox));
}

#[test]
fn sync_status_shows_the_queue_and_parked_events_and_retry_parked_sends_them() {
    let sandbox = Sandbox::new();
    sandbox.import_roster(3, "Networks 101");
    let ids = outbox_ids(&sandbox);
    let server = SyncServer::start();
    let port = server.port();
    server.reject_events([ids[2]], "student s000001: the name is too long here");
    let config = config(&sandbox, &server.url(), "");
    let status = sync(&sandbox, &config, None, &["--status"]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let shown = text(&status.stdout);
    assert!(shown.contains("Waiting:       6"), "{shown}");
    assert!(shown.contains("Last success:  never"), "{shown}");
    let output = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("1 parked event(s) the server refused"),
        "{}",
        text(&output.stderr)
    );
    let shown = text(&sync(&sandbox, &config, None, &["--status"]).stdout);
    assert!(shown.contains("Waiting:       0"), "{shown}");
    assert!(shown.contains("Parked:        1"), "{shown}");
    assert!(shown.contains("Sent:          5"), "{shown}");
    assert!(
        shown.contains("#3      student_saved")
            && shown.contains("student s000001: the name is too long here"),
        "{shown}"
    );
    // The server is fixed (a new one on the same address): send them again.
    drop(server);
    let server = SyncServer::start_on(port, TEST_TOKEN);
    let output = sync(&sandbox, &config, Some(TEST_TOKEN), &["--retry-parked"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("1 parked event(s) back in the queue"));
    assert_eq!(server_ids(&server), [ids[2]]);
    let shown = text(&sync(&sandbox, &config, None, &["--status"]).stdout);
    assert!(shown.contains("Parked:        0"), "{shown}");
}

#[test]
fn sync_settings_are_checked_with_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    let config = sandbox.write(
        "config.toml",
        "[log]\nlevel = \"info\"\n\n[sync]\nserver = \"http://attendance.example.edu\"\n",
    );
    let output = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{}, line 5, key `sync.server`", config.display()))
            && stderr.contains("https://"),
        "{stderr}"
    );
    // No server at all: the push is off, and says where to set it.
    let config = sandbox.write("off.toml", "[log]\nlevel = \"info\"\n");
    let output = sync(&sandbox, &config, Some(TEST_TOKEN), &[]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("the push is off: no sync.server in"),
        "{}",
        text(&output.stderr)
    );
}
