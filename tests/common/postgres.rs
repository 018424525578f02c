//! A private PostgreSQL for tests (the server's, and the end-to-end ones
//! of the classroom app pushing to it): initdb in a temporary folder,
//! pg_ctl on a free loopback port; as the `postgres` user when run as root,
//! since PostgreSQL refuses to run as root. No containers.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL server of the test's own, stopped when dropped.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    root: bool,
}

impl PgServer {
    /// `None`, loudly, on a developer machine without PostgreSQL; in CI a
    /// missing PostgreSQL fails the test.
    pub fn start(name: &str) -> Option<Self> {
        Self::start_with(name, false)
    }

    /// With fsync on, as in production: for benchmarks. Tests run without
    /// it (what they check does not depend on surviving a power cut).
    pub fn start_durable(name: &str) -> Option<Self> {
        Self::start_with(name, true)
    }

    fn start_with(name: &str, durable: bool) -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is required in CI (make test installs it)"
            );
            eprintln!("SKIPPED {name}: PostgreSQL is not installed (make test installs it)");
            return None;
        };
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("taproll-pg-")
            .tempdir()
            .expect("a temporary folder");
        let data = dir.path().join("data");
        if root {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()));
        }
        let server = Self {
            dir,
            bin,
            port: 0,
            root,
        };
        server.as_postgres(&server.bin.join("initdb"), |c| {
            c.args([
                "--auth=trust",
                "--username=taproll",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data);
        });
        let mut server = server;
        // A port free a moment ago may be taken meanwhile: try again.
        for _ in 0..5 {
            let port = free_port();
            let started = server.try_as_postgres(&server.bin.join("pg_ctl"), |c| {
                c.arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(server.dir.path().join("log"))
                    .args(["-w", "-t", "60", "-o"])
                    .arg(format!(
                        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync={}",
                        server.dir.path().display(),
                        if durable { "on" } else { "off" }
                    ))
                    .arg("start");
            });
            if started {
                server.port = port;
                return Some(server);
            }
        }
        panic!(
            "PostgreSQL did not start; its log:\n{}",
            std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default()
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for a new, empty database of its own.
    pub fn database(&self, name: &str) -> String {
        self.as_postgres(&self.bin.join("createdb"), |c| {
            c.args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "taproll",
                name,
            ]);
        });
        format!("postgres://taproll@127.0.0.1:{}/{name}", self.port)
    }

    /// `sql` run by psql on database `name`: its rows, `|`-separated.
    pub fn query(&self, name: &str, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "taproll",
                "-At",
                "-c",
            ])
            .arg(sql)
            .arg(name)
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn as_postgres(&self, program: &Path, args: impl FnOnce(&mut Command)) {
        assert!(
            self.try_as_postgres(program, args),
            "{} failed",
            program.display()
        );
    }

    fn try_as_postgres(&self, program: &Path, args: impl FnOnce(&mut Command)) -> bool {
        let mut command = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        args(&mut command);
        command.current_dir(self.dir.path());
        let output = command.output().expect("run a PostgreSQL program");
        if !output.status.success() {
            eprintln!(
                "{}: {}{}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output.status.success()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Also when a start timed out but the server came up anyway.
        let data = self.dir.path().join("data");
        if data.join("postmaster.pid").exists() {
            let _ = self.try_as_postgres(&self.bin.join("pg_ctl"), |c| {
                c.arg("-D").arg(&data).args(["-m", "immediate", "stop"]);
            });
        }
    }
}

/// The newest installed PostgreSQL's programs.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(command: &mut Command) {
    let status = command.status().expect("run a command");
    assert!(status.success(), "{command:?} failed");
}
