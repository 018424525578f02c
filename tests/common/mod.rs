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
            .env_remove("TAPROLL_SYNC_TOKEN")
            // Under a CI runner that systemd started: logs go to the files.
            .env_remove("JOURNAL_STREAM");
        command
    }
}

/// A recorder started in the sandbox (by a roster, or `taproll record`)
/// outlives its terminal by design: the sandbox stops every one still
/// holding a database lock in it, so no test leaves a process behind.
impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in lock_holders(self.dir.path(), &self.dir.path().to_string_lossy()) {
            stop_process(pid);
        }
    }
}

/// The pids in the `.lock` files under `dir` whose process is a taproll of
/// this sandbox (its command line names the sandbox: a pid reused by
/// another process is left alone).
fn lock_holders(dir: &std::path::Path, sandbox: &str) -> Vec<String> {
    let mut pids = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "lock")
                && let Ok(pid) = std::fs::read_to_string(&path)
            {
                let pid = pid.trim().to_string();
                let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let command = String::from_utf8_lossy(&command);
                if !pid.is_empty() && command.contains("taproll") && command.contains(sandbox) {
                    pids.push(pid);
                }
            }
        }
    }
    pids
}

/// The process has ended: no longer in /proc, or a zombie nobody reaped
/// (a recorder whose roster ended is reparented; in a container, PID 1 may
/// never reap it).
pub fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// SIGTERM, then SIGKILL if it is still there after 10 s.
pub fn stop_process(pid: String) {
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let gone = || process_gone(&pid);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if !gone() {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
}

impl Sandbox {
    /// The recorder's socket in `<sandbox>/run` (the tests' recorders get
    /// `TAPROLL_RUNTIME_DIR` there), if it is there.
    pub fn recorder_socket(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.path("run"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .next()
    }

    /// Waits (60 s at most) until a recorder listens in `<sandbox>/run`.
    pub fn wait_for_recorder(&self) -> PathBuf {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(socket) = self.recorder_socket() {
                return socket;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no recorder listened in {}",
                self.path("run").display()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// A roster of `students` students (`s000000`, ...), each with a card
    /// (`0400000000`, ...), imported by the real binary into the sandbox's
    /// `taproll.db` for `course`: two events each, queued for the push.
    pub fn import_roster(&self, students: usize, course: &str) {
        let mut csv = String::from("student_id,name,card\n");
        for i in 0..students {
            csv.push_str(&format!("s{i:06},Student {i},04{i:08X}\n"));
        }
        let file = self.write("roster.csv", &csv);
        let output = self
            .taproll()
            .args(["roster", "import"])
            .arg(&file)
            .args(["--course", course, "--db"])
            .arg(self.path("taproll.db"))
            .output()
            .expect("run taproll roster import");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
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
/// Every `Store` method that records something takes its time from the
/// caller, so a database built with these times holds no other: a store
/// method that read the real clock made the clock tests fail from the
/// morning the real clock passed this day.
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
