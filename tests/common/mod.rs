//! Helpers shared by the integration tests: a private folder per test with
//! its own XDG directories, and the real taproll binary.

#![allow(dead_code)] // each test file uses a different part of this

pub mod pcscd;
pub mod postgres;
pub mod sync_server;
pub mod vcard;

use std::path::PathBuf;
use std::process::Command;
use taproll::domain::{CardUid, Timestamp};
use tempfile::TempDir;

pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write a test file");
        path
    }

    /// The real binary, with config, data and logs kept inside the sandbox.
    pub fn taproll(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_taproll"));
        command
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env_remove("TAPROLL_CONFIG")
            .env_remove("TAPROLL_DB")
            .env_remove("TAPROLL_READER")
            .env_remove("TAPROLL_SYNC_TOKEN");
        command
    }
}

/// A scenario of `count` taps of distinct unknown cards, `gap_ms` apart.
pub fn scenario(count: usize, gap_ms: u64) -> String {
    (0..count)
        .map(|i| {
            format!(
                "[[tap]]\nat_ms = {}\nuid = \"04{:012X}\"\nhold_ms = 0\n",
                i as u64 * gap_ms,
                i
            )
        })
        .collect()
}

/// `09:04:12` on the day the tests' classes take place (2026-11-30, UTC+1).
pub fn at(clock: &str) -> Timestamp {
    time(&format!("2026-11-30T{clock}+01:00"))
}

/// An RFC 3339 time.
pub fn time(text: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 time")
}

/// A card UID in any spelling taproll accepts.
pub fn uid(text: &str) -> CardUid {
    CardUid::parse(text).expect("a card UID")
}
