//! A private pcscd with vpcd virtual readers, for tests against the real
//! PC/SC stack. It runs in its own mount namespace with its own socket
//! folder bind-mounted over /run/pcscd (pcscd 1.9.9 ignores
//! PCSCLITE_CSOCK_NAME for its own socket), so it never clashes with the
//! system daemon. Clients find it through PCSCLITE_CSOCK_NAME.
//!
//! The vpcd entry gives two readers, "NAME 00 00" on `port` and "NAME 00 01"
//! on `port + 1`; a virtual card is a TCP client of that port. (A second vpcd
//! entry in the same pcscd does not work: the driver keeps its slots in
//! globals, so the entries overwrite each other.)

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct Pcscd {
    dir: TempDir,
    child: Option<Child>,
    name: String,
    port: u16,
    with_readers: bool,
}

impl Pcscd {
    /// Starts pcscd with the two vpcd readers "NAME 00 00" and "NAME 00 01".
    /// `None`, with a loud message, on a developer machine without pcscd,
    /// vpcd or root; a failure in CI.
    pub fn start(name: &str) -> Option<Self> {
        Self::start_with(name, true)
    }

    /// A pcscd with no reader at all.
    pub fn start_without_readers() -> Option<Self> {
        Self::start_with("none", false)
    }

    fn start_with(name: &str, with_readers: bool) -> Option<Self> {
        if let Some(reason) = missing_prerequisite() {
            assert!(
                std::env::var_os("CI").is_none(),
                "PC/SC tests cannot run in CI: {reason}"
            );
            eprintln!(
                "SKIPPED: PC/SC test needs {reason} (make test installs pcscd and vsmartcard-vpcd)"
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("conf")).expect("conf folder");
        std::fs::create_dir_all(dir.path().join("run")).expect("run folder");
        let port = free_port_pair();
        let conf = format!(
            "FRIENDLYNAME \"{name}\"\nDEVICENAME /dev/null:0x{port:04X}\n\
             LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x{port:04X}\n"
        );
        if with_readers {
            std::fs::write(dir.path().join("conf/vpcd"), conf).expect("reader.conf entry");
        }
        let mut pcscd = Self {
            dir,
            child: None,
            name: name.to_string(),
            port,
            with_readers,
        };
        pcscd.launch();
        Some(pcscd)
    }

    /// The socket clients use: set PCSCLITE_CSOCK_NAME to it.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run/pcscd.comm")
    }

    /// The TCP port of a reader, by its PC/SC name ("Door A 00 01").
    pub fn port(&self, reader: &str) -> u16 {
        match reader.strip_prefix(self.name.as_str()) {
            Some(" 00 00") => self.port,
            Some(" 00 01") => self.port + 1,
            _ => panic!("no reader {reader}"),
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts pcscd again with the same readers and ports.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    fn launch(&mut self) {
        let run = self.dir.path().join("run");
        let _ = std::fs::remove_file(run.join("pcscd.comm"));
        let _ = std::fs::remove_file(run.join("pcscd.pid"));
        let script = format!(
            "mkdir -p /run/pcscd && mount --bind '{run}' /run/pcscd && exec pcscd --foreground --config '{conf}'",
            run = run.display(),
            conf = self.dir.path().join("conf").display()
        );
        let log = std::fs::File::create(self.dir.path().join("pcscd.log")).expect("pcscd log");
        let child = Command::new("unshare")
            .args(["--mount", "sh", "-c", &script])
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start pcscd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until pcscd's socket exists and every vpcd port is listening.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listening = listening_ports();
            let ready = !self.with_readers
                || listening.contains(&self.port) && listening.contains(&(self.port + 1));
            if self.socket().exists() && ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pcscd did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pcscd.log")).unwrap_or_default()
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn missing_prerequisite() -> Option<String> {
    let found = |program: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("pcscd") {
        return Some("pcscd".into());
    }
    if !Path::new("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists() {
        return Some("vsmartcard-vpcd".into());
    }
    if !found("unshare") {
        return Some("unshare (util-linux)".into());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Some("root, for a private mount namespace".into());
    }
    None
}

/// TCP ports in LISTEN state, from /proc/net/tcp (a probe connection
/// would look like a card to vpcd).
fn listening_ports() -> Vec<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields.get(1)?.rsplit_once(':')?.1;
            (fields.get(3) == Some(&"0A")).then(|| u16::from_str_radix(port, 16).ok())?
        })
        .collect()
}

/// Two free consecutive TCP ports (vpcd listens on all addresses).
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let first = TcpListener::bind(("0.0.0.0", 0)).expect("bind a free port");
        let port = first.local_addr().expect("local address").port();
        if port < u16::MAX && TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two free consecutive ports");
}
