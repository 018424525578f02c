//! Counters for Prometheus (`GET /metrics`, text format 0.0.4): events
//! accepted, already known and rejected, batches by answer, batch latency.
//! Per-device figures (sequence, last seen, clock offset) are read from
//! the database at each scrape, so every copy of the server shows them.

use crate::devices::DeviceInfo;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the batch latency histogram, in seconds.
const BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    known: AtomicU64,
    rejected: AtomicU64,
    batches: Mutex<Vec<(u16, u64)>>,
    latency: Mutex<Latency>,
}

#[derive(Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn events(&self, accepted: usize, known: usize, rejected: usize) {
        self.accepted.fetch_add(accepted as u64, Ordering::Relaxed);
        self.known.fetch_add(known as u64, Ordering::Relaxed);
        self.rejected.fetch_add(rejected as u64, Ordering::Relaxed);
    }

    pub fn batch(&self, status: u16, seconds: f64) {
        if let Ok(mut batches) = self.batches.lock() {
            match batches.iter_mut().find(|(s, _)| *s == status) {
                Some((_, count)) => *count += 1,
                None => batches.push((status, 1)),
            }
        }
        if let Ok(mut latency) = self.latency.lock() {
            for (bucket, bound) in latency.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            latency.count += 1;
            latency.sum += seconds;
        }
    }

    /// The text Prometheus scrapes.
    pub fn render(
        &self,
        devices: &[DeviceInfo],
        now: chrono::DateTime<chrono::FixedOffset>,
    ) -> String {
        let mut out = String::new();
        for (name, help, counter) in [
            (
                "taproll_events_accepted_total",
                "Events stored for the first time.",
                &self.accepted,
            ),
            (
                "taproll_events_known_total",
                "Events sent again and absorbed (already stored).",
                &self.known,
            ),
            (
                "taproll_events_rejected_total",
                "Events refused for good.",
                &self.rejected,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP taproll_batches_total Batches received, by the status answered.\n# TYPE taproll_batches_total counter"
        );
        if let Ok(batches) = self.batches.lock() {
            for (status, count) in batches.iter() {
                let _ = writeln!(out, "taproll_batches_total{{status=\"{status}\"}} {count}");
            }
        }
        let name = "taproll_batch_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to store a batch and answer.\n# TYPE {name} histogram"
        );
        if let Ok(latency) = self.latency.lock() {
            for (count, bound) in latency.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", latency.count);
            let _ = writeln!(out, "{name}_sum {}", latency.sum);
            let _ = writeln!(out, "{name}_count {}", latency.count);
        }
        let gauges: [Gauge; 4] = [
            (
                "taproll_device_last_seq",
                "The highest sequence number received from the device.",
                |d, _| Some(d.last_seq as f64),
            ),
            (
                "taproll_device_seconds_since_seen",
                "Seconds since the device's last batch (its lag, when it has events to send).",
                |d, now| {
                    let seen =
                        chrono::DateTime::parse_from_rfc3339(d.last_seen_at.as_deref()?).ok()?;
                    Some((now - seen).num_milliseconds() as f64 / 1000.0)
                },
            ),
            (
                "taproll_device_lag_seconds",
                "How old the newest event of the device's last batch was when it arrived.",
                |d, _| Some(d.lag_ms? as f64 / 1000.0),
            ),
            (
                "taproll_device_clock_offset_seconds",
                "The device's clock minus the server's, at its last batch.",
                |d, _| Some(d.clock_offset_ms? as f64 / 1000.0),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for device in devices.iter().filter(|d| d.revoked_at.is_none()) {
                if let Some(value) = value(device, now) {
                    let _ = writeln!(
                        out,
                        "{name}{{institution=\"{}\",room=\"{}\",device=\"{}\"}} {value}",
                        label(&device.institution),
                        label(&device.room),
                        device.id
                    );
                }
            }
        }
        out
    }
}

/// A per-device gauge: its name, its help, and its value for a device now.
type Gauge = (
    &'static str,
    &'static str,
    fn(&DeviceInfo, chrono::DateTime<chrono::FixedOffset>) -> Option<f64>,
);

/// A label value as the text format needs it.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
