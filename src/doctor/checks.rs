//! The checks of `taproll doctor`, each of the outside world: the config
//! file, pcscd and the readers, the kernel's NFC modules, the database, the
//! disk, the clock, the push. None changes anything.

use super::Finding;
use crate::cli::FileArgs;
use crate::config::{Config, ReaderBackend};
use crate::paths::Dirs;
use crate::reader::list::{self, ListError};
use crate::settings::{database_path, load_config, sync_settings};
use crate::store::Store;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// How long doctor waits for pcscd (which may accept and never answer)
/// and for `df` (a hung mount).
const PCSCD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
const DF_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// `work`'s result if it comes within `limit`; its thread is left behind
/// otherwise (doctor exits soon after).
fn within<T: Send + 'static>(
    limit: std::time::Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("doctor-check".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .ok()?;
    rx.recv_timeout(limit).ok()
}

/// Below this much free space the database's folder is a problem; below
/// ten times as much, a warning. A class writes a few hundred KiB.
const LOW_DISK_BYTES: u64 = 50 * 1024 * 1024;

pub fn all(files: &FileArgs, dirs: Option<&Dirs>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let config = match load_config(files, dirs) {
        Ok(loaded) => {
            findings.push(Finding::ok(
                "config",
                match &loaded.file {
                    Some(file) => format!("{} is valid", file.display()),
                    None => "no config file: the defaults".to_string(),
                },
            ));
            loaded.config
        }
        Err(e) => {
            findings.push(Finding::problem(
                "config",
                e.to_string(),
                "correct that line (config.example.toml shows every key)",
            ));
            Config::default()
        }
    };
    readers(&config, &mut findings);
    kernel_modules(&mut findings);
    let db = database_path(files, &config, dirs);
    let store = match &db {
        Ok(db) => database(db, &mut findings),
        Err(e) => {
            findings.push(Finding::problem(
                "database",
                e.to_string(),
                "pass --db FILE",
            ));
            None
        }
    };
    clock(&config, store.as_ref(), &mut findings);
    if let (Ok(db), Some(store)) = (&db, &store) {
        push(&config, dirs, db, store, &mut findings);
    }
    findings
}

fn readers(config: &Config, findings: &mut Vec<Finding>) {
    if config.reader.backend != ReaderBackend::Pcsc {
        findings.push(Finding::ok(
            "readers",
            "reader.backend is not pcsc: pcscd is not needed",
        ));
        return;
    }
    match within(PCSCD_PATIENCE, list::list) {
        None => {
            findings.push(Finding::problem(
                "pcscd",
                format!(
                    "no answer from the PC/SC service in {} s",
                    PCSCD_PATIENCE.as_secs()
                ),
                "sudo systemctl restart pcscd",
            ));
        }
        Some(listed) => readers_listed(listed, findings),
    }
}

fn readers_listed(listed: Result<Vec<list::ReaderInfo>, ListError>, findings: &mut Vec<Finding>) {
    match listed {
        Ok(readers) => {
            findings.push(Finding::ok("pcscd", "running, reachable"));
            let names: Vec<String> = readers
                .iter()
                .map(|r| format!("{} ({})", r.name, r.state))
                .collect();
            findings.push(Finding::ok("readers", names.join(", ")));
        }
        Err(ListError::NoService) => findings.push(Finding::problem(
            "pcscd",
            "the PC/SC service does not answer",
            "sudo apt install pcscd libccid && sudo systemctl enable --now pcscd.socket",
        )),
        Err(ListError::NoReaders) => {
            findings.push(Finding::ok("pcscd", "running, reachable"));
            findings.push(Finding::problem(
                "readers",
                "pcscd sees no card reader",
                "plug the reader in (taproll readers lists what pcscd sees); an ACR122U \
                 held by the kernel's pn533 driver: see the modules line",
            ));
        }
        Err(e) => findings.push(Finding::problem(
            "pcscd",
            e.to_string(),
            "sudo systemctl restart pcscd",
        )),
    }
}

/// The kernel's NFC drivers take an ACR122U before pcscd can.
fn kernel_modules(findings: &mut Vec<Finding>) {
    let modules = std::fs::read_to_string("/proc/modules").unwrap_or_default();
    let loaded: Vec<&str> = modules
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| matches!(*name, "pn533_usb" | "pn533" | "nfc"))
        .collect();
    let takes_readers = loaded.iter().any(|m| m.starts_with("pn533"));
    if loaded.is_empty() {
        findings.push(Finding::ok("modules", "no kernel NFC driver in the way"));
    } else if !takes_readers {
        // The NFC core alone (a laptop's own NFC chip, say): no ACR122U
        // is taken by it, but pn533 would load on top of it.
        findings.push(Finding::warning(
            "modules",
            "the kernel's nfc module is loaded (not pn533)",
            "if an ACR122U is not seen, blacklist pn533_usb, pn533 and nfc (README: Troubleshooting)",
        ));
    } else {
        findings.push(Finding::problem(
            "modules",
            format!(
                "{} loaded: it takes ACR122U readers away from pcscd",
                loaded.join(", ")
            ),
            "the taproll package installs /lib/modprobe.d/taproll-nfc.conf; \
             else: printf 'blacklist pn533_usb\\nblacklist pn533\\nblacklist nfc\\n' | \
             sudo tee /etc/modprobe.d/blacklist-nfc.conf, then unplug and replug the reader",
        ));
    }
}

/// The database file: there, private, whole; its folder's free space.
fn database(db: &Path, findings: &mut Vec<Finding>) -> Option<Store> {
    let meta = match std::fs::metadata(db) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            findings.push(Finding::warning(
                "database",
                format!("{} does not exist yet", db.display()),
                "taproll roster import FILE --course NAME makes it",
            ));
            return None;
        }
        Err(e) => {
            findings.push(Finding::problem(
                "database",
                format!("{}: {e}", db.display()),
                "check the path and its folder's permissions",
            ));
            return None;
        }
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        findings.push(Finding::problem(
            "database",
            format!(
                "{} can be read by others (mode {mode:o}): it holds every student's name",
                db.display()
            ),
            format!("chmod 600 {}", db.display()),
        ));
    }
    let own = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if own.is_some_and(|uid| uid != meta.uid()) {
        findings.push(Finding::warning(
            "database",
            format!("{} belongs to uid {}, not to you", db.display(), meta.uid()),
            "run taproll as the user who owns it (the service's User=)",
        ));
    }
    let store = match Store::open_read_only(db) {
        Ok(store) => store,
        Err(e) => {
            findings.push(Finding::problem(
                "database",
                e.to_string(),
                "restore the last backup: taproll restore FILE",
            ));
            return None;
        }
    };
    match store.integrity_problems() {
        Ok(problems) if problems.is_empty() => findings.push(Finding::ok(
            "database",
            format!(
                "{} ({} KiB, mode {mode:o}, integrity ok)",
                db.display(),
                meta.len().div_ceil(1024)
            ),
        )),
        Ok(problems) => findings.push(Finding::problem(
            "database",
            format!("{} is damaged: {}", db.display(), problems.join("; ")),
            "restore the last backup: taproll restore FILE",
        )),
        Err(e) => findings.push(Finding::problem(
            "database",
            e.to_string(),
            "restore the last backup: taproll restore FILE",
        )),
    }
    disk(db, findings);
    Some(store)
}

fn disk(db: &Path, findings: &mut Vec<Finding>) {
    let folder = db
        .parent()
        .filter(|f| !f.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match free_bytes(folder) {
        Some(free) if free < LOW_DISK_BYTES => findings.push(Finding::problem(
            "disk",
            format!("{} MiB free beside the database", free / (1024 * 1024)),
            "free some space: a full disk stops taps from being recorded",
        )),
        Some(free) if free < 10 * LOW_DISK_BYTES => findings.push(Finding::warning(
            "disk",
            format!("{} MiB free beside the database", free / (1024 * 1024)),
            "free some space before it runs out",
        )),
        Some(free) => findings.push(Finding::ok(
            "disk",
            format!("{} MiB free beside the database", free / (1024 * 1024)),
        )),
        None => findings.push(Finding::warning(
            "disk",
            "cannot tell the free space (df did not answer)",
            format!("df -h {}", folder.display()),
        )),
    }
}

/// Free bytes in `folder`'s file system, from POSIX `df -Pk`.
fn free_bytes(folder: &Path) -> Option<u64> {
    let folder = folder.to_path_buf();
    let output = within(DF_PATIENCE, move || {
        std::process::Command::new("df")
            .arg("-Pk")
            .arg(&folder)
            .stdin(std::process::Stdio::null())
            .output()
    })?
    .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn clock(config: &Config, store: Option<&Store>, findings: &mut Vec<Finding>) {
    use crate::clock::{self, ClockState};
    let newest = store.and_then(|s| s.newest_event_time().ok()).flatten();
    let verdict = clock::judge(
        crate::reader::now(),
        newest,
        clock::system_sync(),
        config.session.require_synced_clock,
    );
    findings.push(match verdict {
        Ok(ClockState::Synchronised) => Finding::ok("clock", "synchronised"),
        Ok(ClockState::SyncUnknown) => Finding::warning(
            "clock",
            "the system cannot say whether the clock is synchronised (no timedatectl)",
            "a Raspberry Pi has no battery clock: use systemd-timesyncd (timedatectl status)",
        ),
        Ok(ClockState::NotSynchronised) => Finding::warning(
            "clock",
            "not synchronised (allowed: session.require_synced_clock = false)",
            "check the time before each class, or connect to a network",
        ),
        Err(e) => Finding::problem("clock", "no session can start", e.to_string()),
    });
}

/// The push, when `[sync]` names a server: the token, the server's answer
/// to an empty batch, the queue.
fn push(
    config: &Config,
    dirs: Option<&Dirs>,
    db: &Path,
    store: &Store,
    findings: &mut Vec<Finding>,
) {
    let settings = match sync_settings(config, dirs, db) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            findings.push(Finding::ok("sync", "off (no sync.server)"));
            return;
        }
        Err(e) => {
            findings.push(Finding::problem(
                "sync",
                e.to_string(),
                "correct sync.server",
            ));
            return;
        }
    };
    let credentials = match &settings.credentials {
        Ok(credentials) => credentials,
        Err(why) => {
            findings.push(Finding::problem(
                "sync",
                why.clone(),
                "set TAPROLL_SYNC_TOKEN or sync.token_file (a 0600 file)",
            ));
            return;
        }
    };
    let answer = store
        .device_id()
        .map_err(|e| e.to_string())
        .and_then(|device_id| {
            crate::sync::probe(&settings, credentials, device_id, &crate::reader::now())
        });
    findings.push(match answer {
        Ok(()) => Finding::ok(
            "sync",
            format!("{} answers and takes the token", settings.server.as_str()),
        ),
        Err(why) => Finding::problem(
            "sync",
            why,
            "check sync.server, the network, and the device's token on the server",
        ),
    });
    match store.sync_counts() {
        Ok(counts) if counts.parked > 0 => findings.push(Finding::warning(
            "queue",
            format!(
                "{} waiting, {} refused by the server",
                counts.waiting, counts.parked
            ),
            "taproll sync --status says why; taproll sync --retry-parked once it is fixed",
        )),
        Ok(counts) => findings.push(Finding::ok("queue", format!("{} waiting", counts.waiting))),
        Err(e) => findings.push(Finding::warning(
            "queue",
            e.to_string(),
            "taproll sync --status",
        )),
    }
}
