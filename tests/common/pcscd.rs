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
//!
//! Ports: tests run in parallel, in several binaries, next to other programs,
//! so a port that was free a moment ago proves nothing. The pair is picked
//! outside the kernel's ephemeral range (where every outgoing connection,
//! such as another test's virtual card, takes its local port), then pcscd is
//! started and the listening sockets are checked to be its own
//! (/proc/net/tcp inode in /proc/PID/fd). When vpcd could not bind a port
//! (it then drops the whole entry and logs "Address already in use"), pcscd
//! is started again on another pair.
//!
//! pcscd runs with --debug: the log says when a client is watching the
//! readers (`wait_for_watcher`) and when pcscd saw a reader empty again
//! (`take_off`), and it is what a failed test shows.

use super::vcard::Card;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long to wait for something that takes well under a second on an idle
/// machine. Generous: CI runs several test binaries on two cores, and a
/// deadline only costs time when a test fails anyway.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Port pairs tried before giving up (each clash is logged).
const ATTEMPTS: usize = 20;

pub struct Pcscd {
    dir: TempDir,
    child: Option<Child>,
    name: String,
    port: u16,
    with_readers: bool,
    /// How many times pcscd was started: each start has a fresh log.
    launches: u32,
}

/// A point in pcscd's log, taken before starting a client; see
/// `wait_for_watcher`.
#[derive(Clone, Copy, Debug)]
pub struct LogMark {
    launch: u32,
    offset: u64,
}

enum Start {
    Ready,
    /// vpcd could not have the ports: someone else holds one of them.
    PortsTaken(String),
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
        let mut pcscd = Self {
            dir,
            child: None,
            name: name.to_string(),
            port: 0,
            with_readers,
            launches: 0,
        };
        pcscd.launch();
        Some(pcscd)
    }

    /// The socket clients use: set PCSCLITE_CSOCK_NAME to it.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run/pcscd.comm")
    }

    /// The TCP port of a reader, by its PC/SC name ("Door A 00 01"). It can
    /// change at `restart` (when another process took it meanwhile).
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

    /// Starts pcscd again with the same readers (on the same ports unless
    /// they were taken meanwhile).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Starts pcscd and waits until it serves clients with its readers on
    /// ports of its own; on a port clash, again on other ports.
    fn launch(&mut self) {
        let mut clashes = Vec::new();
        for _ in 0..ATTEMPTS {
            if self.with_readers && (self.port == 0 || !clashes.is_empty()) {
                self.port = pick_port_pair();
            }
            self.spawn();
            match self.wait_ready() {
                Start::Ready => return,
                Start::PortsTaken(why) => {
                    eprintln!("pcscd: {why}; starting it again on other ports");
                    clashes.push(why);
                    self.kill();
                }
            }
        }
        panic!("pcscd never got two ports of its own: {clashes:#?}");
    }

    fn spawn(&mut self) {
        if self.with_readers {
            let (name, port) = (&self.name, self.port);
            let conf = format!(
                "FRIENDLYNAME \"{name}\"\nDEVICENAME /dev/null:0x{port:04X}\n\
                 LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x{port:04X}\n"
            );
            std::fs::write(self.dir.path().join("conf/vpcd"), conf).expect("reader.conf entry");
        }
        let run = self.dir.path().join("run");
        let _ = std::fs::remove_file(run.join("pcscd.comm"));
        let _ = std::fs::remove_file(run.join("pcscd.pid"));
        // `exec` all the way: the child's pid is pcscd's, which owns the
        // vpcd sockets.
        let script = format!(
            "mkdir -p /run/pcscd && mount --bind '{run}' /run/pcscd && exec pcscd --foreground --debug --config '{conf}'",
            run = run.display(),
            conf = self.dir.path().join("conf").display()
        );
        let log = std::fs::File::create(self.log_path()).expect("pcscd log");
        let child = Command::new("unshare")
            .args(["--mount", "sh", "-c", &script])
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start pcscd");
        self.child = Some(child);
        self.launches += 1;
    }

    /// Waits until pcscd serves clients: it creates its socket only after
    /// starting the readers of its configuration (vpcd's listening sockets
    /// included) and saying "daemon ready". Then the readers' ports must be
    /// pcscd's own: when vpcd could not bind one, pcscd runs on without the
    /// readers, and a listener on that port is someone else's.
    fn wait_ready(&mut self) -> Start {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let child = self.child.as_mut().expect("pcscd started");
            let pid = child.id();
            if let Ok(Some(status)) = child.try_wait() {
                panic!("pcscd exited ({status}):\n{}", self.log());
            }
            if self.socket().exists() && self.log().contains("daemon ready") {
                if !self.with_readers {
                    return Start::Ready;
                }
                let ours = sockets_of(pid);
                let listeners = listening_sockets();
                let pair = [self.port, self.port + 1];
                let owned = |port: u16| {
                    listeners
                        .iter()
                        .any(|(p, inode)| *p == port && ours.contains(inode))
                };
                if pair.iter().all(|&port| owned(port)) {
                    return Start::Ready;
                }
                // vpcd drops both readers when it cannot bind one port.
                let foreign: Vec<u16> = pair
                    .into_iter()
                    .filter(|&port| !owned(port) && listeners.iter().any(|(p, _)| *p == port))
                    .collect();
                return Start::PortsTaken(if foreign.is_empty() {
                    format!("vpcd could not bind ports {pair:?}")
                } else {
                    format!("another process listens on port(s) {foreign:?}")
                });
            }
            assert!(
                Instant::now() < deadline,
                "pcscd did not start within {PATIENCE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// pcscd's log (debug level) since its last start.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("pcscd.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The end of the current log: clients that connect after it are new.
    pub fn mark(&self) -> LogMark {
        LogMark {
            launch: self.launches,
            offset: std::fs::metadata(self.log_path()).map_or(0, |m| m.len()),
        }
    }

    /// Waits until a PC/SC client that connected after `since` (a client
    /// started before a restart counts from the restart) has taken its
    /// first look at the readers and is waiting for changes. From then on a
    /// card put on a reader is a change for that client, not a card that was
    /// already lying there when it started.
    ///
    /// Every SCardGetStatusChange call begins with a
    /// CMD_WAIT_READER_STATE_CHANGE to pcscd; the first call (all readers
    /// "unaware") returns at once with their state, so a second one means
    /// the first look is over.
    pub fn wait_for_watcher(&self, since: LogMark) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if wait_calls_per_client(&self.log_since(since))
                .iter()
                .any(|&calls| calls >= 2)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no PC/SC client watched the readers within {PATIENCE:?}; pcscd log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Takes a card off `reader` and waits until pcscd has said the reader
    /// is empty, so that the next card put on it is an arrival.
    ///
    /// Without the wait vpcd can hide the next card: pcscd powers down a card
    /// left unused for a poll (400 ms) and first asks the driver whether it
    /// is still there; vpcd's answer drops the closed connection, but pcscd
    /// reports no removal from that check, and its next poll finds the card
    /// waiting behind: "present" both times, no event, no tap. It happens
    /// when a card is taken off 0.4 to 0.8 s after pcscd saw it and the next
    /// one is put on at once, as a loaded machine now and then did. A real
    /// reader reports every change; a real hand is not that quick either.
    pub fn take_off(&self, reader: &str, card: Card) {
        self.take_off_all(vec![(reader, card)]);
    }

    /// `take_off` for cards on several readers at once: all are taken off,
    /// then pcscd's word awaited for each reader.
    pub fn take_off_all(&self, cards: Vec<(&str, Card)>) {
        let before = self.mark();
        let readers: Vec<&str> = cards.iter().map(|(reader, _)| *reader).collect();
        for (_, card) in cards {
            card.remove();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let log = self.log_since(before);
            let waiting: Vec<&&str> = readers
                .iter()
                .filter(|reader| {
                    let said = format!("Card Removed From {reader}");
                    !log.lines().any(|line| line.trim_end().ends_with(&said))
                })
                .collect();
            if waiting.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pcscd never saw {waiting:?} empty within {PATIENCE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The complete lines of pcscd's log after `mark` (all of them if pcscd
    /// was started again since), read from there: the debug log of a long
    /// test grows to megabytes.
    fn log_since(&self, mark: LogMark) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let from = if mark.launch == self.launches {
            mark.offset
        } else {
            0
        };
        let mut text = Vec::new();
        if let Ok(mut log) = std::fs::File::open(self.log_path())
            && log.seek(SeekFrom::Start(from)).is_ok()
        {
            let _ = log.read_to_end(&mut text);
        }
        // The last line may be half written.
        let end = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        String::from_utf8_lossy(&text[..end]).into_owned()
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

/// For each client that connected in this part of pcscd's debug log, how
/// many times it asked to wait for reader changes. A client number is a file
/// descriptor, reused after a client leaves: each "Thread is started" begins
/// a new client.
fn wait_calls_per_client(log: &str) -> Vec<u32> {
    let mut clients: Vec<(&str, u32)> = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line.split_once("Thread is started: dwClientID=") {
            let id = rest.1.split(',').next().unwrap_or_default();
            clients.push((id, 0));
        } else if let Some(rest) =
            line.split_once("Received command: CMD_WAIT_READER_STATE_CHANGE from client ")
        {
            let id = rest.1.trim();
            if let Some(client) = clients.iter_mut().rev().find(|(c, _)| *c == id) {
                client.1 += 1;
            }
        }
    }
    clients.into_iter().map(|(_, calls)| calls).collect()
}

/// Rows of /proc/net/tcp and /proc/net/tcp6: (local port, state, inode).
fn tcp_sockets() -> Vec<(u16, String, String)> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            let table = std::fs::read_to_string(table).unwrap_or_default();
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let port = fields.get(1)?.rsplit_once(':')?.1;
                    let port = u16::from_str_radix(port, 16).ok()?;
                    Some((port, fields.get(3)?.to_string(), fields.get(9)?.to_string()))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// TCP sockets in LISTEN state: (port, inode). Read from /proc, since a
/// probe connection would look like a card to vpcd.
fn listening_sockets() -> Vec<(u16, String)> {
    tcp_sockets()
        .into_iter()
        .filter(|(_, state, _)| state == "0A")
        .map(|(port, _, inode)| (port, inode))
        .collect()
}

/// The socket inodes a process holds open.
fn sockets_of(pid: u32) -> HashSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .filter_map(|fd| {
            let target = std::fs::read_link(fd.ok()?.path()).ok()?;
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect()
}

/// A random pair of consecutive ports that no socket uses right now, below
/// the ephemeral range (or above it, if it starts low), so no outgoing
/// connection takes one of them by chance. Still only a guess: `launch`
/// checks that pcscd got them.
fn pick_port_pair() -> u16 {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| {
            let mut bounds = range.split_whitespace().map(|b| b.parse::<u16>().ok());
            Some((bounds.next()??, bounds.next()??))
        })
        .unwrap_or((32768, 60999));
    let (low, high) = if ephemeral.0 >= 12000 {
        (10000, ephemeral.0 - 2)
    } else {
        (ephemeral.1.saturating_add(1).max(10000), 65534)
    };
    let random = RandomState::new();
    for attempt in 0u32..1000 {
        let span = u64::from(high - low);
        let port = low + u16::try_from(random.hash_one(attempt) % span).expect("in range");
        let in_use: HashSet<u16> = tcp_sockets().into_iter().map(|(p, _, _)| p).collect();
        if !in_use.contains(&port) && !in_use.contains(&(port + 1)) {
            return port;
        }
    }
    panic!("no two free consecutive ports in {low}..{high}");
}
