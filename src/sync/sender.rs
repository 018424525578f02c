//! The sender thread: its own SQLite connection and HTTP client, woken by
//! every commit of the store, never in the way of a tap. It publishes its
//! status for the front ends; it stops when the run ends (every handle to
//! it is dropped) or, mid-request, with the process: a batch cut off is
//! sent again next time and the server absorbs it.

use super::push::{Pusher, Step};
use super::settings::SyncSettings;
use super::status::{Link, SyncStatus};
use crate::domain::{Timestamp, now};
use crate::store::{SyncQueue, SyncRecord};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often, at most, the status is recounted while a backlog drains.
const RECOUNT_EVERY: Duration = Duration::from_millis(250);

/// A running sender, or none (the push is off).
pub struct SyncHandle {
    bell: Option<SyncSender<()>>,
    status: watch::Receiver<SyncStatus>,
    /// Flush requests made (`finish`); the sender answers in `flushed`.
    asked: Arc<AtomicU64>,
}

impl SyncHandle {
    /// The push is off: the status says so, and nothing runs.
    pub fn off() -> Self {
        let (_, status) = watch::channel(SyncStatus::off());
        Self {
            bell: None,
            status,
            asked: Arc::default(),
        }
    }

    /// Starts the sender for the database at `db`, which a `Store` of this
    /// process holds (it must be migrated first).
    pub fn start(db: PathBuf, settings: SyncSettings) -> std::io::Result<Self> {
        let (bell, rings) = sync_channel(1);
        let initial = SyncStatus {
            server: Some(settings.server.as_str().to_string()),
            link: Link::Starting,
            ..SyncStatus::default()
        };
        let (publish, status) = watch::channel(initial);
        let asked = Arc::new(AtomicU64::new(0));
        let sender = Sender {
            server: settings.server.as_str().to_string(),
            publish,
            asked: Arc::clone(&asked),
            flushed: 0,
        };
        std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || sender.run_guarded(db, settings, rings))?;
        Ok(Self {
            bell: Some(bell),
            status,
            asked,
        })
    }

    /// Wakes the sender (after a commit); costs nothing when it is awake.
    pub fn doorbell(&self) -> impl Fn() + Send + 'static {
        let bell = self.bell.clone();
        move || {
            if let Some(bell) = &bell {
                ring(bell);
            }
        }
    }

    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// At the end of a run: gives the sender up to `grace` to send what
    /// the last commits queued, while the server answers. Returns at once
    /// when the push is off, offline or stopped: nothing waits on a server
    /// that is down (the events stay queued for the next run).
    pub fn finish(&self, grace: Duration) {
        let Some(bell) = &self.bell else { return };
        // Asked after every commit of the run: a check that starts after
        // this and finds nothing waiting has seen them all.
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        ring(bell);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let status = self.status.borrow().clone();
            match status.link {
                Link::Off | Link::Offline { .. } | Link::Stopped { .. } => return,
                Link::Starting | Link::Online if status.flushed >= ticket => return,
                Link::Starting | Link::Online => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::info!("sync: the run ends with events still queued; they go with the next push");
    }
}

fn ring(bell: &SyncSender<()>) {
    match bell.try_send(()) {
        // Full: a ring is already waiting; Disconnected: the sender ended.
        Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
    }
}

/// The sender thread's side: what it publishes, and the flush requests.
struct Sender {
    server: String,
    publish: watch::Sender<SyncStatus>,
    asked: Arc<AtomicU64>,
    /// The last flush request seen through.
    flushed: u64,
}

impl Sender {
    /// `run`, and if it panics (a bug), says so where the instructor looks
    /// instead of showing the last status forever.
    fn run_guarded(mut self, db: PathBuf, settings: SyncSettings, rings: Receiver<()>) {
        let run = std::panic::AssertUnwindSafe(|| self.run(&db, &settings, &rings));
        if std::panic::catch_unwind(run).is_err() {
            tracing::error!("sync: the sender failed (a bug); events wait in the database");
            let why = "the sender failed; events wait in the database; restart taproll".to_string();
            self.status(Link::Stopped { why }, None);
        }
    }

    fn status(&self, link: Link, queue: Option<&SyncQueue>) {
        let mut status = SyncStatus {
            server: Some(self.server.clone()),
            link,
            flushed: self.flushed,
            ..SyncStatus::default()
        };
        if let Some(queue) = queue {
            match (queue.counts(), queue.record()) {
                (Ok(counts), Ok(record)) => {
                    status.counts = counts;
                    status.last_success = record.last_success_at;
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "sync: cannot count the queue")
                }
            }
        }
        self.publish.send_replace(status);
    }

    fn run(&mut self, db: &Path, settings: &SyncSettings, rings: &Receiver<()>) {
        let mut queue = match SyncQueue::open(db) {
            Ok(queue) => queue,
            Err(e) => {
                tracing::error!(error = %e, "sync: cannot open the database; nothing is sent this run");
                self.status(
                    Link::Stopped {
                        why: format!("cannot read the queue: {e}"),
                    },
                    None,
                );
                return;
            }
        };
        let credentials = match &settings.credentials {
            Ok(credentials) => credentials.clone(),
            Err(why) => {
                tracing::error!(why = %why, "sync: not sending this run; events wait in the database");
                if let Err(e) = queue.stop(&self.server, why, &now()) {
                    tracing::warn!(error = %e, "sync: cannot record why it stopped");
                }
                self.status(Link::Stopped { why: why.clone() }, Some(&queue));
                return;
            }
        };
        let record = queue.record().unwrap_or_default();
        let mut pusher = Pusher::new(queue, settings, &credentials);
        let mut failing_since = failing_since(&record);
        // Said once per run and per outage, in the log.
        let mut said_offline = false;
        let mut counted = Instant::now() - RECOUNT_EVERY;
        tracing::info!(server = %self.server, "sync: sender started");
        loop {
            // Read before the step: if it finds nothing waiting, every
            // commit before this request has been sent.
            let asked = self.asked.load(Ordering::SeqCst);
            match pusher.step(&now()) {
                Ok(Step::Idle) => {
                    failing_since = None;
                    said_offline = false;
                    self.flushed = asked;
                    self.status(Link::Online, Some(pusher.queue()));
                    if !wait(rings, None) {
                        return;
                    }
                }
                Ok(Step::Progress { .. }) => {
                    failing_since = None;
                    said_offline = false;
                    if counted.elapsed() >= RECOUNT_EVERY {
                        self.status(Link::Online, Some(pusher.queue()));
                        counted = Instant::now();
                    }
                }
                Ok(Step::Wait { after, error }) => {
                    let at = now();
                    if !said_offline {
                        tracing::warn!(error = %error, "sync: the server cannot be reached; events wait in the database");
                        said_offline = true;
                    }
                    let since = *failing_since.get_or_insert(at);
                    let next_try = at + chrono::Duration::from_std(after).unwrap_or_default();
                    let link = Link::Offline {
                        since,
                        error,
                        next_try: Some(next_try),
                    };
                    self.status(link, Some(pusher.queue()));
                    if !wait(rings, Some(after)) {
                        return;
                    }
                }
                Ok(Step::Stopped { why }) => {
                    tracing::error!(why = %why, "sync: stopped; events wait in the database");
                    self.status(Link::Stopped { why }, Some(pusher.queue()));
                    // Until the run ends: only a new token (a restart) helps.
                    while wait(rings, None) {}
                    return;
                }
                Err(e) => {
                    // The database is busy or failing: the store's own writes
                    // show that loudly; here, try again in a while.
                    tracing::warn!(error = %e, "sync: cannot read or update the queue");
                    let link = Link::Offline {
                        since: *failing_since.get_or_insert(now()),
                        error: format!("database: {e}"),
                        next_try: None,
                    };
                    self.status(link, Some(pusher.queue()));
                    if !wait(rings, Some(Duration::from_secs(5))) {
                        return;
                    }
                }
            }
        }
    }
}

fn failing_since(record: &SyncRecord) -> Option<Timestamp> {
    record.failing_since.filter(|_| record.stopped.is_none())
}

/// Waits for a ring (no `timeout`) or for `timeout` to pass (rings do not
/// cut a backoff short: new taps must not hammer a server that is down).
/// `false` when the run is over.
fn wait(rings: &Receiver<()>, timeout: Option<Duration>) -> bool {
    let Some(timeout) = timeout else {
        return rings.recv().is_ok();
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rings.recv_timeout(left) {
            Ok(()) if left > Duration::ZERO => continue,
            Ok(()) | Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}
