//! `taproll sync`: push the queue now, from a shell (an admin at the end of
//! the day, a cron job); `--status` prints the queue and the last exchanges;
//! `--retry-parked` sends the events the server refused once more. It holds
//! the database's writer lock, so it never pushes beside a running class
//! (whose own sender does the same work).

use crate::cli::SyncArgs;
use crate::cli_error::{CliError, Usage};
use crate::console;
use crate::domain::{Timestamp, now};
use crate::paths::Dirs;
use crate::settings::{database_path, load_config, sync_settings};
use crate::store::{Store, StoreError, SyncQueue};
use crate::sync::{Pusher, Step};
use crate::text::sanitize_for_terminal as clean;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::time::{Duration, Instant};

/// At most this many parked events are listed by `--status`.
const PARKED_LISTED: usize = 50;

pub fn run(args: SyncArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let loaded = load_config(&args.files, dirs)?;
    let db = database_path(&args.files, &loaded.config, dirs)?;
    if args.status {
        let store = Store::open_read_only(&db)?;
        let text = status_text(&store, loaded.config.sync.server.as_deref())?;
        return console::print(text).map_err(CliError::Output);
    }
    let settings =
        sync_settings(&loaded.config, dirs, &db)?.ok_or(Usage::SyncOff(loaded.file.clone()))?;
    // The writer lock, held to the end: one pusher per database.
    let store = Store::open(&db).map_err(|e| match e {
        StoreError::InUse { holder, .. } => CliError::SyncIncomplete {
            why: format!(
                "a taproll{holder} is taking a class with this database and pushes its events itself (taproll sync --status shows how far it is)"
            ),
            waiting: Store::open_read_only(&db)
                .and_then(|store| store.sync_counts())
                .map_or(0, |counts| counts.waiting),
        },
        other => other.into(),
    })?;
    let credentials = match &settings.credentials {
        Ok(credentials) => credentials.clone(),
        Err(why) => {
            return Err(CliError::SyncIncomplete {
                why: why.clone(),
                waiting: store.sync_counts()?.waiting,
            });
        }
    };
    let mut pusher = Pusher::new(SyncQueue::open(&db)?, &settings, &credentials);
    if args.retry_parked {
        let count = pusher.queue_mut().unpark_all()?;
        console::note(format_args!("{count} parked event(s) back in the queue"));
    }
    let total = pusher.queue().counts()?.waiting;
    let mut progress = Progress::new(total);
    let give_up = Duration::from_secs(args.give_up_after);
    let mut failing_since: Option<Instant> = None;
    let (mut sent, mut parked) = (0u64, 0u64);
    let incomplete = |why: String, pusher: &Pusher| -> Result<(), CliError> {
        Err(CliError::SyncIncomplete {
            why,
            waiting: pusher.queue().counts()?.waiting,
        })
    };
    loop {
        match pusher.step(&now())? {
            Step::Idle => break,
            Step::Progress {
                sent: more_sent,
                parked: more_parked,
            } => {
                sent += more_sent as u64;
                parked += more_parked as u64;
                failing_since = None;
                progress.show(sent + parked);
            }
            Step::Wait { after, error } => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() + after > give_up {
                    progress.finish();
                    let waited = since.elapsed().as_secs();
                    let waited = if waited > 0 {
                        format!(" in {waited} s")
                    } else {
                        String::new()
                    };
                    return incomplete(
                        format!("the push did not get through{waited}: {error}"),
                        &pusher,
                    );
                }
                progress.interrupt();
                console::note(format_args!(
                    "sync: {error}; trying again in {:.1} s",
                    after.as_secs_f64()
                ));
                std::thread::sleep(after);
            }
            Step::Stopped { why } => {
                progress.finish();
                return incomplete(why, &pusher);
            }
        }
    }
    progress.finish();
    let counts = pusher.queue().counts()?;
    let out = format!(
        "Sent {sent} event(s) to {}; none wait.\n",
        settings.server.as_str()
    );
    drop(store);
    console::print(out).map_err(CliError::Output)?;
    if counts.parked > 0 {
        // On standard error: a cron job mails it.
        console::note(format_args!(
            "taproll: {} parked event(s) the server refused: taproll sync --status lists them, taproll sync --retry-parked sends them again",
            counts.parked
        ));
    }
    Ok(())
}

/// The queue, the last exchanges and the parked events, for `--status`.
pub fn status_text(store: &Store, server: Option<&str>) -> Result<String, CliError> {
    let counts = store.sync_counts()?;
    let record = store.sync_record()?;
    let time = |at: &Option<Timestamp>| {
        at.map_or("never".to_string(), |at| {
            at.format("%Y-%m-%d %H:%M:%S").to_string()
        })
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Server:        {}",
        server.map_or("none: the push is off (sync.server)".to_string(), clean)
    );
    let _ = writeln!(
        out,
        "Waiting:       {}{}",
        counts.waiting,
        counts
            .oldest_waiting
            .map(|at| format!(" (oldest made {})", at.format("%Y-%m-%d %H:%M:%S")))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "Parked:        {}", counts.parked);
    let _ = writeln!(out, "Sent:          {}", counts.sent);
    let _ = writeln!(out, "Last success:  {}", time(&record.last_success_at));
    let _ = writeln!(out, "Last attempt:  {}", time(&record.last_attempt_at));
    if let Some(since) = record.failing_since {
        let _ = writeln!(
            out,
            "Failing since: {} ({})",
            since.format("%Y-%m-%d %H:%M:%S"),
            clean(record.last_error.as_deref().unwrap_or("no error recorded"))
        );
    }
    if let Some(why) = &record.stopped {
        let _ = writeln!(out, "Stopped:       {}", clean(why));
    }
    let parked = store.parked_events(PARKED_LISTED)?;
    if !parked.is_empty() {
        let _ = writeln!(
            out,
            "\nParked events (taproll sync --retry-parked sends them again):"
        );
        for event in &parked {
            let _ = writeln!(
                out,
                "  #{:<6} {:<16} made {}  parked {}  {}",
                event.seq,
                event.kind,
                event.at.format("%Y-%m-%d %H:%M:%S"),
                event.parked_at.format("%Y-%m-%d %H:%M"),
                clean(&event.reason)
            );
        }
        if counts.parked > parked.len() as u64 {
            let _ = writeln!(out, "  … and {} more", counts.parked - parked.len() as u64);
        }
    }
    Ok(out)
}

/// A progress bar on standard error, when it is a terminal and the backlog
/// is long enough to wait for.
struct Progress {
    total: u64,
    shown: bool,
    last: Option<Instant>,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self {
            total,
            shown: total >= 1000 && std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn show(&mut self, done: u64) {
        if !self.shown
            || self
                .last
                .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let done = done.min(self.total);
        let filled = (done * 30 / self.total.max(1)) as usize;
        let _ = write!(
            std::io::stderr().lock(),
            "\rsync [{}{}] {done}/{} events",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            self.total
        );
    }

    /// A line of its own for a message.
    fn interrupt(&mut self) {
        if self.shown && self.last.is_some() {
            console::note("");
            self.last = None;
        }
    }

    fn finish(&mut self) {
        self.interrupt();
        self.shown = false;
    }
}
