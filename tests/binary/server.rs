//! End to end: the real taproll binary pushing to the real taproll-server
//! binary, on an SQLite file and on a private PostgreSQL, with each side
//! killed (SIGKILL) mid-push and started again; two server processes on one
//! PostgreSQL; tokens that are wrong, revoked or of another institution.

use crate::common::Sandbox;
use crate::common::postgres::PgServer;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// taproll-server, built beside taproll by `cargo test --workspace`.
fn server_bin(test: &str) -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_BIN_EXE_taproll")).with_file_name("taproll-server");
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "taproll-server is not built: run the tests with cargo test --workspace (make test)"
    );
    eprintln!("SKIPPED {test}: taproll-server is not built (cargo test --workspace builds it)");
    None
}

/// Where a server keeps its data, and how to count what it holds.
enum Db<'a> {
    Sqlite(PathBuf),
    Postgres(&'a PgServer, String),
}

impl Db<'_> {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite:{}", path.display()),
            Db::Postgres(pg, name) => {
                format!("postgres://taproll@127.0.0.1:{}/{name}", pg_port(pg))
            }
        }
    }

    /// One number from `sql`.
    fn count(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            Db::Postgres(pg, name) => pg.query(name, sql).parse().unwrap(),
        }
    }
}

fn pg_port(pg: &PgServer) -> u16 {
    pg.port()
}

fn server(bin: &Path, db: &Db, args: &[&str]) -> std::process::Output {
    let output = Command::new(bin)
        .arg("--database")
        .arg(db.url())
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "taproll-server {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A new device's token.
fn add_device(bin: &Path, db: &Db, institution: &str, room: &str) -> String {
    let output = server(
        bin,
        db,
        &[
            "device",
            "add",
            "--institution",
            institution,
            "--room",
            room,
        ],
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let token = text.lines().last().unwrap().trim().to_string();
    assert_eq!(token.len(), 64, "{text}");
    token
}

/// A child process killed when the test ends, passed or failed: a failed
/// test must not leave a server or a taproll running.
struct Running(Child);

impl Running {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `taproll-server serve` on `port` (0: any), once it listens; its port.
fn serve(bin: &Path, db: &Db, port: u16) -> (Running, u16) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(bin)
        .arg("--database")
        .arg(db.url())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TAPROLL_SERVER_CONFIG", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(address) = line.trim().strip_prefix("listening on http://") else {
        panic!(
            "taproll-server did not start: {line:?}\n{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    };
    let port = address.rsplit(':').next().unwrap().parse().unwrap();
    (Running(child), port)
}

fn device_count(sandbox: &Sandbox, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Waits until `sql` on the server's database gives at least `n`.
fn wait_for(db: &Db, sql: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let found = db.count(sql);
        if found >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {found} of {n}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The device's marks and the server's, as `student_no:mark` lines.
fn marks_match(sandbox: &Sandbox, port: u16, token: &str) {
    let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
    let mut device: Vec<String> = conn
        .prepare(
            "SELECT s.student_no || ':' || m.mark FROM marks m JOIN students s ON s.id = m.student_id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    device.sort();
    let body = ureq::get(&format!(
        "http://127.0.0.1:{port}/v1/courses/Networks/attendance"
    ))
    .header("Authorization", &format!("Bearer {token}"))
    .call()
    .unwrap()
    .body_mut()
    .read_to_string()
    .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let mut server: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["student_no"].as_str().unwrap(),
                r["mark"].as_str().unwrap()
            )
        })
        .collect();
    server.sort();
    assert!(!device.is_empty());
    assert_eq!(server, device);
}

/// A class pushed through kills of both sides; exactly once at the end.
fn class_through_kills(sandbox: &Sandbox, bin: &Path, db: &Db) {
    let token = add_device(bin, db, "North", "B12");
    sandbox.import_roster(4000, "Networks");
    let (mut server_child, port) = serve(bin, db, 0);
    let config = sandbox.write(
        "config.toml",
        &format!(
            "[sync]\nserver = \"http://127.0.0.1:{port}\"\nbatch_events = 25\nretry_max_seconds = 1\n"
        ),
    );
    // Three students tap; the class then waits (a tap in an hour).
    let scenario = sandbox.write(
        "taps.toml",
        "[[tap]]\nat_ms = 100\nuid = \"0400000001\"\nhold_ms = 0\n\
         [[tap]]\nat_ms = 200\nuid = \"0400000002\"\nhold_ms = 0\n\
         [[tap]]\nat_ms = 300\nuid = \"0400000003\"\nhold_ms = 0\n\
         [[tap]]\nat_ms = 3600000\nuid = \"04FFFFFFFF\"\n",
    );
    let mut taproll = Running(
        sandbox
            .taproll()
            .args(["run", "--headless", "--course", "Networks", "--db"])
            .arg(sandbox.path("taproll.db"))
            .arg("--scenario")
            .arg(&scenario)
            .arg("--config")
            .arg(&config)
            .env("TAPROLL_SYNC_TOKEN", &token)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The server killed mid-push, and started again on its port.
    wait_for(db, "SELECT count(*) FROM events", 1000);
    server_child.kill();
    let (mut server_child, _) = serve(bin, db, port);
    // Then taproll killed mid-push.
    wait_for(db, "SELECT count(*) FROM events", 2500);
    taproll.kill();
    let produced = device_count(sandbox, "SELECT count(*) FROM outbox");
    if db.count("SELECT count(*) FROM events") == produced {
        // A fast machine: the push won the race with the kill. Exactly
        // once is still checked below; the kill mid-push of the sender
        // alone is tests/binary/sync.rs's.
        eprintln!("note: the push was done before taproll was killed");
    }
    // Started again: the rest goes.
    let output = sandbox
        .taproll()
        .args(["sync", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(sandbox.path("taproll.db"))
        .env("TAPROLL_SYNC_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(db.count("SELECT count(*) FROM events"), produced);
    assert_eq!(
        db.count("SELECT count(DISTINCT event_id) FROM events"),
        produced
    );
    marks_match(sandbox, port, &token);
    server_child.kill();
}

#[test]
fn a_class_reaches_taproll_server_on_sqlite_exactly_once_through_kills_on_both_sides() {
    let Some(bin) = server_bin("server_sqlite") else {
        return;
    };
    let sandbox = Sandbox::new();
    let db = Db::Sqlite(sandbox.path("server.db"));
    class_through_kills(&sandbox, &bin, &db);
}

#[test]
fn a_class_reaches_taproll_server_on_postgres_exactly_once_through_kills_on_both_sides() {
    let Some(bin) = server_bin("server_postgres") else {
        return;
    };
    let Some(pg) = PgServer::start("server_postgres") else {
        return;
    };
    pg.database("department");
    let sandbox = Sandbox::new();
    let db = Db::Postgres(&pg, "department".into());
    class_through_kills(&sandbox, &bin, &db);
}

#[test]
fn two_servers_on_one_postgres_store_each_event_once() {
    let Some(bin) = server_bin("two_servers") else {
        return;
    };
    let Some(pg) = PgServer::start("two_servers") else {
        return;
    };
    pg.database("department");
    let db = Db::Postgres(&pg, "department".into());
    let servers: Vec<(Running, u16)> = (0..2).map(|_| serve(&bin, &db, 0)).collect();
    let ports: Vec<u16> = servers.iter().map(|(_, port)| *port).collect();
    // Two devices, each pushing to one copy, at once.
    let devices: Vec<(Sandbox, String)> = (0..2)
        .map(|i| {
            let sandbox = Sandbox::new();
            sandbox.import_roster(500, "Networks");
            (
                sandbox,
                add_device(&bin, &db, "North", &format!("Room {i}")),
            )
        })
        .collect();
    // Each device to one copy, at once; then everything again, each to
    // the other copy (as a device behind a load balancer whose answers
    // were lost): all known, nothing stored twice.
    for round in 0..2 {
        let running: Vec<Child> = devices
            .iter()
            .enumerate()
            .map(|(i, (sandbox, token))| {
                let config = sandbox.write(
                    "config.toml",
                    &format!(
                        "[sync]\nserver = \"http://127.0.0.1:{}\"\nbatch_events = 40\n",
                        ports[(i + round) % 2]
                    ),
                );
                sandbox
                    .taproll()
                    .args(["sync", "--config"])
                    .arg(&config)
                    .arg("--db")
                    .arg(sandbox.path("taproll.db"))
                    .env("TAPROLL_SYNC_TOKEN", token)
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in running {
            assert!(child.wait().unwrap().success());
        }
        for (sandbox, _) in &devices {
            let conn = rusqlite::Connection::open(sandbox.path("taproll.db")).unwrap();
            conn.execute("UPDATE outbox SET sent_at = NULL", [])
                .unwrap();
        }
    }
    // Then the same batch to both copies at the same moment (a lost
    // answer resent through a load balancer): each event stored once,
    // accepted by exactly one of them.
    let device_id = uuid::Uuid::now_v7();
    let batch = fresh_batch(device_id, 300);
    let body = serde_json::to_vec(&batch).unwrap();
    let token = add_device(&bin, &db, "North", "Room 3");
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let answers: Vec<serde_json::Value> = ports
        .iter()
        .map(|&port| {
            let (start, body, token) = (start.clone(), body.clone(), token.clone());
            std::thread::spawn(move || {
                start.wait();
                let text = ureq::post(&format!("http://127.0.0.1:{port}/v1/events"))
                    .header("Authorization", &format!("Bearer {token}"))
                    .content_type("application/json")
                    .send(&body[..])
                    .unwrap()
                    .body_mut()
                    .read_to_string()
                    .unwrap();
                serde_json::from_str(&text).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let accepted: usize = answers
        .iter()
        .map(|a| a["accepted"].as_array().unwrap().len())
        .sum();
    let known: usize = answers
        .iter()
        .map(|a| a["known"].as_array().unwrap().len())
        .sum();
    assert_eq!((accepted, known), (300, 300), "{answers:?}");
    let produced: i64 = devices
        .iter()
        .map(|(sandbox, _)| device_count(sandbox, "SELECT count(*) FROM outbox"))
        .sum::<i64>()
        + 300;
    assert_eq!(produced, 2300);
    assert_eq!(db.count("SELECT count(*) FROM events"), produced);
    assert_eq!(
        db.count("SELECT count(DISTINCT event_id) FROM events"),
        produced
    );
    drop(servers);
}

/// A batch of `events` new events (a session and its labels) of a device.
fn fresh_batch(device_id: uuid::Uuid, events: usize) -> taproll_wire::protocol::Batch {
    use taproll::events::{Envelope, Event, SCHEMA_VERSION};
    let now = chrono::Utc::now().fixed_offset();
    let session = uuid::Uuid::now_v7();
    taproll_wire::protocol::Batch {
        protocol: 1,
        device_id,
        sent_at: now,
        events: (0..events)
            .map(|i| Envelope {
                schema_version: SCHEMA_VERSION,
                event_id: uuid::Uuid::now_v7(),
                device_id,
                seq: i as i64 + 1,
                at: now,
                event: if i == 0 {
                    Event::SessionStarted {
                        session,
                        course: "Networks".into(),
                        planned_start: now,
                        label: None,
                    }
                } else {
                    Event::SessionLabelled {
                        session,
                        label: format!("Label {i}"),
                    }
                },
            })
            .collect(),
    }
}

#[test]
fn wrong_revoked_and_other_institutions_tokens_see_nothing() {
    let Some(bin) = server_bin("tokens") else {
        return;
    };
    let sandbox = Sandbox::new();
    let db = Db::Sqlite(sandbox.path("server.db"));
    let north = add_device(&bin, &db, "North", "B12");
    let south = add_device(&bin, &db, "South", "A1");
    sandbox.import_roster(3, "Networks");
    let (_server, port) = serve(&bin, &db, 0);
    let config = sandbox.write(
        "config.toml",
        &format!("[sync]\nserver = \"http://127.0.0.1:{port}\"\n"),
    );
    let output = sandbox
        .taproll()
        .args(["sync", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(sandbox.path("taproll.db"))
        .env("TAPROLL_SYNC_TOKEN", &north)
        .output()
        .unwrap();
    assert!(output.status.success());
    let get = |path: &str, token: &str| -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(&format!("http://127.0.0.1:{port}{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    };
    let (status, body) = get("/v1/courses", &north);
    assert_eq!(status, 200);
    assert!(body.contains("Networks"), "{body}");
    // Another institution: nothing listed, the course is not found.
    assert_eq!(get("/v1/courses", &south), (200, "[]".to_string()));
    assert_eq!(get("/v1/courses/Networks/attendance", &south).0, 404);
    assert_eq!(get("/v1/courses/Networks/sessions", &south).0, 404);
    // A wrong token, and a revoked one.
    assert_eq!(get("/v1/courses", &"0".repeat(64)).0, 401);
    let listed = String::from_utf8_lossy(
        &server(&bin, &db, &["device", "list", "--institution", "South"]).stdout,
    )
    .into_owned();
    let south_id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    server(&bin, &db, &["device", "revoke", &south_id]);
    let (status, body) = get("/v1/courses", &south);
    assert_eq!(status, 401);
    assert!(body.contains("revoked"), "{body}");
}

#[test]
fn over_https_with_the_institutions_own_ca_the_class_arrives_and_without_it_nothing_is_sent() {
    let Some(bin) = server_bin("https") else {
        return;
    };
    let sandbox = Sandbox::new();
    // The institution's CA, and the server's certificate from it.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &*ca)
        .unwrap();
    let ca_file = sandbox.write("ca.pem", &ca.pem());
    sandbox.write("cert.pem", &cert.pem());
    sandbox.write("key.pem", &key.serialize_pem());
    let server_config = sandbox.write(
        "server.toml",
        "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    );
    let db = Db::Sqlite(sandbox.path("server.db"));
    let token = add_device(&bin, &db, "North", "B12");
    sandbox.import_roster(5, "Networks");
    let mut child = Running(
        Command::new(&bin)
            .arg("--config")
            .arg(&server_config)
            .arg("--database")
            .arg(db.url())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on https://127.0.0.1:")
        .unwrap_or_else(|| panic!("{line:?}"))
        .parse()
        .unwrap();
    let sync = |extra: &str| {
        let config = sandbox.write(
            "config.toml",
            &format!("[sync]\nserver = \"https://localhost:{port}\"\n{extra}"),
        );
        sandbox
            .taproll()
            .args(["sync", "--give-up-after", "0", "--config"])
            .arg(&config)
            .arg("--db")
            .arg(sandbox.path("taproll.db"))
            .env("TAPROLL_SYNC_TOKEN", &token)
            .output()
            .unwrap()
    };
    // The public CAs do not know the institution's: nothing is sent.
    let refused = sync("");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("certificate is not trusted") && stderr.contains("sync.ca_file"),
        "{stderr}"
    );
    assert_eq!(db.count("SELECT count(*) FROM events"), 0);
    // Told to trust it (sync.ca_file): everything goes.
    let output = sync(&format!("ca_file = \"{}\"\n", ca_file.display()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(db.count("SELECT count(*) FROM events"), 10);
    child.kill();
}
