//! Ingest benchmark: `cargo bench -p taproll-server --bench ingest` (part
//! of `make bench`). 50 devices push 2,000 events each (batches of 500,
//! taps and their marks) at once to one release taproll-server on a
//! private PostgreSQL; the baseline, in the same run, is a plain batched
//! `INSERT ... ON CONFLICT DO NOTHING` of the same rows through one
//! connection (no HTTP, no JSON, no projections). Goal: at least 10,000
//! events/s on the 2-core CI machine. Prints a Markdown table; the figures
//! go to docs/benchmarks.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

#[path = "../../../tests/common/postgres.rs"]
mod postgres;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use taproll_wire::events::{Envelope, Event, MarkCause, SCHEMA_VERSION};
use taproll_wire::protocol::{Batch, BatchAnswer};
use taproll_wire::{Mark, MarkSource};
use uuid::Uuid;

const DEVICES: usize = 50;
const EVENTS_PER_DEVICE: usize = 2_000;
const BATCH: usize = 500;

fn main() {
    let Some(pg) = postgres::PgServer::start_durable("bench ingest") else {
        return;
    };
    let url = pg.database("bench");
    let bin = env!("CARGO_BIN_EXE_taproll-server");
    let tokens: Vec<String> = (0..DEVICES)
        .map(|i| {
            let output = Command::new(bin)
                .args([
                    "--database",
                    &url,
                    "device",
                    "add",
                    "--institution",
                    "Bench",
                ])
                .args(["--room", &format!("Room {i}")])
                .output()
                .unwrap();
            assert!(output.status.success());
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut server = Command::new(bin)
        .args(["--database", &url, "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let devices: Vec<Vec<Batch>> = (0..DEVICES).map(|_| batches()).collect();
    let rows: Vec<Envelope> = devices
        .iter()
        .flat_map(|batches| batches.iter().flat_map(|b| b.events.clone()))
        .collect();

    // 50 devices at once, each its batches in order.
    let start = Arc::new(Barrier::new(DEVICES + 1));
    let threads: Vec<_> = devices
        .into_iter()
        .zip(tokens)
        .map(|(batches, token)| {
            let start = Arc::clone(&start);
            let url = format!("{address}/v1/events");
            std::thread::spawn(move || {
                let bodies: Vec<Vec<u8>> = batches
                    .iter()
                    .map(|b| serde_json::to_vec(b).unwrap())
                    .collect();
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(120)))
                    .build()
                    .into();
                start.wait();
                let mut accepted = 0;
                for body in bodies {
                    let answer: BatchAnswer = agent
                        .post(&url)
                        .header("Authorization", &format!("Bearer {token}"))
                        .content_type("application/json")
                        .send(&body[..])
                        .unwrap()
                        .body_mut()
                        .read_json()
                        .unwrap();
                    accepted += answer.accepted.len();
                }
                accepted
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let accepted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let server_time = began.elapsed();
    assert_eq!(
        accepted,
        DEVICES * EVENTS_PER_DEVICE,
        "every event accepted once"
    );
    let _ = server.kill();
    let _ = server.wait();

    let baseline = baseline(&url, &rows);
    let total = (DEVICES * EVENTS_PER_DEVICE) as f64;
    let rate = |d: Duration| total / d.as_secs_f64();
    println!(
        "| {DEVICES} devices x {EVENTS_PER_DEVICE} events, batches of {BATCH} | time | events/s |\n|---|---|---|"
    );
    println!(
        "| taproll-server on PostgreSQL (HTTP, JSON, dedup, projections) | {:.2} s | {:.0} |",
        server_time.as_secs_f64(),
        rate(server_time)
    );
    println!(
        "| baseline: batched INSERT ... ON CONFLICT DO NOTHING, one connection | {:.2} s | {:.0} |",
        baseline.as_secs_f64(),
        rate(baseline)
    );
    println!(
        "| **ratio server / baseline (events/s)** | | **{:.2}** |",
        rate(server_time) / rate(baseline)
    );
}

/// One device's events, in batches: a session, then taps and their marks.
fn batches() -> Vec<Batch> {
    let device_id = Uuid::now_v7();
    let session = Uuid::now_v7();
    let now = chrono::Utc::now().fixed_offset();
    let mut events = vec![Event::SessionStarted {
        session,
        course: "Networks 101".into(),
        planned_start: now,
        label: None,
    }];
    let mut i = 0;
    while events.len() < EVENTS_PER_DEVICE {
        let tap = Uuid::now_v7();
        events.push(Event::Tap {
            tap,
            session,
            tapped_at: now,
            reader: "Door".into(),
            uid: format!("04{i:08X}"),
            outcome: "present".into(),
            student_no: Some(format!("s{i:06}")),
        });
        events.push(Event::Mark {
            session,
            student_no: format!("s{i:06}"),
            mark: Some(Mark::Present),
            source: Some(MarkSource::Card),
            note: None,
            marked_at: Some(now),
            tap: Some(tap),
            cause: MarkCause::Tap,
        });
        i += 1;
    }
    events.truncate(EVENTS_PER_DEVICE);
    let envelopes: Vec<Envelope> = events
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
        .collect();
    envelopes
        .chunks(BATCH)
        .map(|chunk| Batch {
            protocol: 1,
            device_id,
            sent_at: now,
            events: chunk.to_vec(),
        })
        .collect()
}

/// The same rows, inserted plainly: batches of 500 rows, one connection.
fn baseline(url: &str, rows: &[Envelope]) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(
                "CREATE TABLE plain (event_id TEXT PRIMARY KEY, institution_id BIGINT, device_id TEXT,
                 seq BIGINT, kind TEXT, at TEXT, received_at TEXT, sent_at TEXT, body TEXT)",
            )
            .await
            .unwrap();
        let prepared: Vec<[String; 8]> = rows
            .iter()
            .map(|e| {
                [
                    e.event_id.to_string(),
                    e.device_id.to_string(),
                    e.seq.to_string(),
                    e.event.kind().to_string(),
                    taproll_wire::rfc3339(&e.at),
                    taproll_wire::rfc3339(&e.at),
                    taproll_wire::rfc3339(&e.at),
                    serde_json::to_string(e).unwrap(),
                ]
            })
            .collect();
        let began = Instant::now();
        for chunk in prepared.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO plain (event_id, institution_id, device_id, seq, kind, at, received_at, sent_at, body) VALUES ",
            );
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
            let mut seqs: Vec<i64> = Vec::with_capacity(chunk.len());
            for row in chunk {
                seqs.push(row[2].parse().unwrap());
            }
            for (n, row) in chunk.iter().enumerate() {
                let b = params.len();
                if n > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, 1, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                ));
                params.push(&row[0]);
                params.push(&row[1]);
                params.push(&seqs[n]);
                params.push(&row[3]);
                params.push(&row[4]);
                params.push(&row[5]);
                params.push(&row[6]);
                params.push(&row[7]);
            }
            sql.push_str(" ON CONFLICT (event_id) DO NOTHING");
            client.execute(&sql, &params).await.unwrap();
        }
        began.elapsed()
    })
}
