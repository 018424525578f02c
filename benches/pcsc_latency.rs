//! Card detection latency through a real PC/SC stack:
//! `cargo bench --bench pcsc_latency` (part of `make bench`).
//!
//! A private pcscd with a vpcd reader (the test harness's), watched at the
//! same time by taproll (headless, release build) and by `pcsc_scan`. For each
//! virtual tap, the time from putting the card on the reader to each
//! program's report is taken in this process; the ratio of medians is
//! taproll against pcsc_scan on the very same taps. Two costs after
//! detection: from taproll's detection timestamp (`at`, taken when pcscd
//! reported the card) to its JSON line, printed after the commit, which
//! includes talking to the card (connect, GET DATA, through pcscd and vpcd's
//! TCP link); and taproll's own cost, from the moment the virtual card sent
//! its UID to the printed line.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

#[path = "../tests/common/pcscd.rs"]
#[allow(dead_code)]
mod pcscd;
#[path = "../tests/common/vcard.rs"]
#[allow(dead_code)]
mod vcard;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TAPS: usize = 60;

fn main() {
    let Some(pcscd) = pcscd::Pcscd::start("Door") else {
        println!("| PC/SC latency | skipped: needs pcscd, vpcd and root |");
        return;
    };
    if Command::new("pcsc_scan").arg("-h").output().is_err() {
        println!("| PC/SC latency | skipped: pcsc_scan (pcsc-tools) is not installed |");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut taproll = Command::new(env!("CARGO_BIN_EXE_taproll"))
        .args([
            "run",
            "--reader",
            "pcsc",
            "--headless",
            "--course",
            "Bench",
            "--db",
        ])
        .arg(dir.path().join("bench.db"))
        .env("PCSCLITE_CSOCK_NAME", pcscd.socket())
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // stdbuf: pcsc_scan's stdout is a pipe here, and must not sit in a buffer.
    let mut scan = Command::new("stdbuf")
        .args(["-oL", "pcsc_scan"])
        .env("PCSCLITE_CSOCK_NAME", pcscd.socket())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let taproll_lines = stamped_lines(taproll.stdout.take().unwrap());
    let scan_lines = stamped_lines(scan.stdout.take().unwrap());
    wait_for(&taproll_lines, |l| l.contains("\"reader_added\""));
    wait_for(&scan_lines, |l| {
        l.contains("Card removed") || l.contains("Card state")
    });
    std::thread::sleep(Duration::from_secs(1));
    while scan_lines.try_recv().is_ok() {}

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut own_cost = Vec::new();
    let mut after_detection = Vec::new();
    let mut phase: u64 = 12345;
    for i in 0..TAPS {
        let uid = [0x04, 0x42, (i >> 8) as u8, i as u8];
        let hex: String = uid.iter().map(|b| format!("{b:02X}")).collect();
        let put = Instant::now();
        let card = vcard::Card::insert(pcscd.port("Door 00 00"), &uid, vcard::Behaviour::GiveUid);
        let (tap_line, tap_seen, tap_wall) = wait_for(&taproll_lines, |l| l.contains(&hex));
        let (_, scan_seen, _) = wait_for(&scan_lines, |l| l.contains("Card inserted"));
        ours.push(tap_seen - put);
        theirs.push(scan_seen - put);
        let at = tap_line
            .split("\"at\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        let since_detection = tap_wall - at.with_timezone(&chrono::Utc);
        after_detection.push(since_detection.to_std().unwrap_or_default());
        own_cost.push(tap_seen - card.uid_answered_at().unwrap());
        card.remove();
        wait_for(&scan_lines, |l| l.contains("Card removed"));
        // A pseudo-random pause, so taps do not keep the same phase
        // against pcscd's polling.
        phase = phase
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(100 + (phase >> 33) % 400));
    }
    for child in [&mut taproll, &mut scan] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (ours, theirs, own) = (sorted(ours), sorted(theirs), sorted(own_cost));
    let after_detection = sorted(after_detection);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!("| what | figure |\n|---|---|");
    println!(
        "| card on reader -> reported, taproll (p50 / p90, {TAPS} taps) | {} / {} |",
        ms(pct(&ours, 0.5)),
        ms(pct(&ours, 0.9))
    );
    println!(
        "| card on reader -> reported, pcsc_scan (p50 / p90, same taps) | {} / {} |",
        ms(pct(&theirs, 0.5)),
        ms(pct(&theirs, 0.9))
    );
    println!(
        "| ratio taproll / pcsc_scan (medians) | {:.3} |",
        pct(&ours, 0.5).as_secs_f64() / pct(&theirs, 0.5).as_secs_f64()
    );
    println!(
        "| taproll, PC/SC event -> committed and printed, card I/O included (p50 / p99 / max) | {} / {} / {} |",
        ms(pct(&after_detection, 0.5)),
        ms(pct(&after_detection, 0.99)),
        ms(after_detection[after_detection.len() - 1])
    );
    println!(
        "| taproll own cost, card's UID answer -> committed and printed (p50 / p99 / max) | {} / {} / {} |",
        ms(pct(&own, 0.5)),
        ms(pct(&own, 0.99)),
        ms(own[own.len() - 1])
    );
}

type Stamped = (String, Instant, chrono::DateTime<chrono::Utc>);

/// Lines of a child's output, each stamped when it arrived.
fn stamped_lines(out: impl std::io::Read + Send + 'static) -> Receiver<Stamped> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send((line, Instant::now(), chrono::Utc::now())).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(lines: &Receiver<Stamped>, want: impl Fn(&str) -> bool) -> Stamped {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("an expected line");
        if want(&line.0) {
            return line;
        }
    }
}

fn sorted(mut v: Vec<Duration>) -> Vec<Duration> {
    v.sort();
    v
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
