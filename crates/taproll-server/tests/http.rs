//! The real taproll-server binary over HTTP: health and metrics, the rate
//! limit and the body limit, a batch in flight finished on SIGTERM, the
//! report command, and a settings file it cannot read.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use taproll_wire::events::{Envelope, Event, MarkCause, SCHEMA_VERSION};
use taproll_wire::protocol::Batch;
use taproll_wire::{Mark, MarkSource};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_taproll-server");

fn server(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new(BIN)
        .arg("--database")
        .arg(dir.join("server.db"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn add_device(dir: &Path, institution: &str) -> String {
    let output = server(
        dir,
        &[
            "device",
            "add",
            "--institution",
            institution,
            "--room",
            "B12",
        ],
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// A server killed when the test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve` on a free port with `settings` (no metrics listener unless
/// they set one); the child, its address and, if any, the metrics one.
fn serve(dir: &Path, settings: &str) -> (Running, String, Option<String>) {
    let config = dir.join("server.toml");
    let metrics = if settings.contains("metrics_listen") {
        String::new()
    } else {
        "metrics_listen = \"\"\n".to_string()
    };
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\n{metrics}{settings}"),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--database")
        .arg(dir.join("server.db"))
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let metrics = metrics.is_empty().then(|| {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line.trim()
            .strip_prefix("metrics on http://")
            .unwrap()
            .trim_end_matches("/metrics")
            .to_string()
    });
    (Running(child), address, metrics)
}

/// A batch of `taps` taps with their marks, from a new device.
fn batch(taps: usize) -> Batch {
    let device_id = Uuid::now_v7();
    let session = Uuid::now_v7();
    let now = chrono::Utc::now().fixed_offset();
    let mut events = vec![Event::SessionStarted {
        session,
        course: "Networks".into(),
        planned_start: now,
        label: None,
    }];
    for i in 0..taps {
        let tap = Uuid::now_v7();
        events.push(Event::Tap {
            tap,
            session,
            tapped_at: now,
            reader: "Door".into(),
            uid: format!("04{i:08X}"),
            outcome: "present".into(),
            student_no: Some(format!("s{i}")),
        });
        events.push(Event::Mark {
            session,
            student_no: format!("s{i}"),
            mark: Some(Mark::Present),
            source: Some(MarkSource::Card),
            note: None,
            marked_at: Some(now),
            tap: Some(tap),
            cause: MarkCause::Tap,
        });
    }
    Batch {
        protocol: 1,
        device_id,
        sent_at: now,
        events: events
            .into_iter()
            .enumerate()
            .map(|(n, event)| Envelope {
                schema_version: SCHEMA_VERSION,
                event_id: Uuid::now_v7(),
                device_id,
                seq: n as i64 + 1,
                at: now,
                event,
            })
            .collect(),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs `batch`: the status, `Retry-After` and body.
fn post(address: &str, token: &str, batch: &Batch) -> (u16, Option<String>, String) {
    let mut response = agent()
        .post(&format!("http://{address}/v1/events"))
        .header("Authorization", &format!("Bearer {token}"))
        .content_type("application/json")
        .send(&serde_json::to_vec(batch).unwrap()[..])
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (
        response.status().as_u16(),
        retry,
        response.body_mut().read_to_string().unwrap(),
    )
}

fn get(address: &str, path: &str) -> (u16, String) {
    let mut response = agent()
        .get(&format!("http://{address}{path}"))
        .call()
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

fn stop(child: Running) {
    drop(child);
}

#[test]
fn health_and_metrics_tell_what_came_in() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_device(dir.path(), "North");
    let (child, address, metrics) = serve(dir.path(), "metrics_listen = \"127.0.0.1:0\"\n");
    let metrics_address = metrics.unwrap();
    assert_eq!(get(&address, "/healthz"), (200, "ok\n".to_string()));
    // Not on the devices' listener: it names every institution's rooms.
    assert_eq!(get(&address, "/metrics").0, 404);
    let sent = batch(10);
    assert_eq!(post(&address, &token, &sent).0, 200);
    assert_eq!(post(&address, &token, &sent).0, 200);
    let (status, metrics) = get(&metrics_address, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("taproll_events_accepted_total 21"),
        "{metrics}"
    );
    assert!(
        metrics.contains("taproll_events_known_total 21"),
        "{metrics}"
    );
    assert!(
        metrics.contains("taproll_batches_total{status=\"200\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("taproll_batch_seconds_count 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("taproll_device_last_seq{institution=\"North\",room=\"B12\","),
        "{metrics}"
    );
    stop(child);
}

#[test]
fn a_device_over_its_rate_gets_429_with_retry_after_and_a_big_body_413() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_device(dir.path(), "North");
    let (child, address, _) = serve(
        dir.path(),
        "device_batches_per_minute = 2\nmax_body_bytes = 20000\n",
    );
    // One device: its batch, sent again twice (a lost answer, say).
    let sent = batch(1);
    assert_eq!(post(&address, &token, &sent).0, 200);
    assert_eq!(post(&address, &token, &sent).0, 200);
    let (status, retry, _) = post(&address, &token, &sent);
    assert_eq!(status, 429);
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // Another device is not held back by this one.
    let other = add_device(dir.path(), "North");
    let second = batch(1);
    assert_eq!(post(&address, &other, &second).0, 200);
    // A batch over the size limit: a 413 the device reads (and halves).
    let (status, _, body) = post(&address, &other, &batch(200));
    assert_eq!(status, 413, "{body}");
    stop(child);
}

#[test]
fn on_sigterm_a_batch_in_flight_is_stored_and_answered_before_the_server_ends() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_device(dir.path(), "North");
    let (mut child, address, _) = serve(dir.path(), "");
    let body = serde_json::to_vec(&batch(50)).unwrap();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // A first request on the connection: the server is surely serving it.
    write!(stream, "GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\nok\n") {
        stream.read_exact(&mut byte).unwrap();
        seen.push(byte[0]);
    }
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..body.len() / 2]).unwrap();
    stream.flush().unwrap();
    // Half the batch is in; the server is told to stop.
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&body[body.len() / 2..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"accepted\""), "{answer}");
    assert!(child.0.wait().unwrap().success(), "ends cleanly after");
    let conn = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 101);
}

#[test]
fn the_report_command_prints_a_courses_attendance_across_rooms() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_device(dir.path(), "North");
    let (child, address, _) = serve(dir.path(), "");
    assert_eq!(post(&address, &token, &batch(3)).0, 200);
    stop(child);
    let output = server(
        dir.path(),
        &["report", "--institution", "North", "--course", "Networks"],
    );
    let csv = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("date,session,room"), "{csv}");
    assert!(lines[1].contains(",B12,,s0,,present,card,"), "{csv}");
    let failed = Command::new(BIN)
        .arg("--database")
        .arg(dir.path().join("server.db"))
        .args(["report", "--institution", "South", "--course", "Networks"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("no institution `South`"));
}

#[test]
fn a_settings_file_with_a_mistake_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ndatabse = \"x\"\n").unwrap();
    let output = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["device", "list"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&config.display().to_string()) && stderr.contains("databse"),
        "{stderr}"
    );
}
