//! The recorder's loop: reader events and the views' commands in, through
//! the engine, committed changes out to every attached view. It owns no
//! terminal: views come and go (a dropped SSH connection is one going) and
//! recording goes on until a view says stop, or SIGTERM.

use super::connection::{self, Request};
use super::place::peer_allowed;
use super::protocol::{Notice, PROTOCOL, Welcome};
use crate::domain::Timestamp;
use crate::engine::{Engine, Update};
use crate::reader::{ReaderEvent, now};
use crate::sync::SyncStatus;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::{broadcast, watch};

/// Notices a slow view may fall behind by before it is cut off (it reads
/// the roster from the database again when it attaches anew).
const NOTICE_BACKLOG: usize = 4096;

/// The readers' state kept for views that attach later: enough to show
/// which readers are there and their last problem.
const READER_STATE_KEPT: usize = 64;

/// Everything the recorder runs with.
pub struct Recorder {
    pub engine: Engine,
    pub events: UnboundedReceiver<ReaderEvent>,
    /// Shown when the reader stream ends; `None` when that is expected (a
    /// scenario played to its end).
    pub reader_end: Option<String>,
    pub sync: watch::Receiver<SyncStatus>,
    /// Started as a service, not for a view.
    pub service: bool,
    /// The session was found open: until when to wait for a view to answer
    /// the resume question before going on with it.
    pub resume_until: Option<Timestamp>,
    /// What the clock check found, for the status line.
    pub clock: String,
    pub db_label: String,
    /// End once the reader stream has ended and no view is left (a demo's
    /// recorder, whose scenario is over).
    pub ends_when_idle: bool,
    /// End (as a failure) when the reader stream ends with a problem: a
    /// service, which systemd then starts again.
    pub ends_with_reader: bool,
    /// Started when the first view attaches: a scenario, which is there to
    /// be watched from its first tap.
    pub on_first_view: Option<Box<dyn FnOnce() + Send>>,
    /// Called when a session ends (`[backup] after_session`); it must not
    /// make the loop wait.
    pub on_session_end: Option<Box<dyn Fn() + Send>>,
    /// This process's uid: only its views may attach.
    pub uid: u32,
    /// The socket's file name (`place::socket_name`), to listen again
    /// under it when the folder was taken away.
    pub socket_name: String,
}

/// Why the recorder ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// A view asked it to stop.
    Stopped,
    /// SIGTERM or SIGINT.
    Signal,
    /// Its scenario is over and no view is left.
    Idle,
    /// The reader stream ended with a problem (`ends_with_reader`).
    ReaderStopped,
}

/// How often the recorder looks whether its socket is still there.
const SOCKET_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// The recorder's socket: listening, and the file it listens at, removed
/// when it is dropped.
pub struct Listening {
    listener: UnixListener,
    path: PathBuf,
    inode: u64,
}

impl Listening {
    /// Listens at `path`, private to this user (its folder is 0700). A
    /// socket there that answers belongs to a live recorder (of the same
    /// database under another name): refused. One that does not is stale.
    pub fn bind(path: &Path) -> std::io::Result<Self> {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("another recorder listens at {}", path.display()),
            ));
        }
        match std::fs::remove_file(path) {
            Ok(()) => tracing::info!(socket = %path.display(), "a stale recorder socket removed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let inode = std::fs::symlink_metadata(path)?.ino();
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            inode,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The socket file is still ours (not removed, not replaced).
    fn still_there(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if self.still_there() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The socket file went (its folder was removed at a logout, or someone
/// deleted it): listen at the socket's place as a new view would look for
/// it. Until that works, the old listener goes on serving the views
/// attached and the recorder goes on recording.
fn listen_again(recorder: &Recorder, old: Listening) -> Listening {
    let again = super::place::recorder_folder(recorder.uid)
        .map_err(std::io::Error::other)
        .and_then(|folder| Listening::bind(&folder.join(&recorder.socket_name)));
    match again {
        Ok(listening) => {
            tracing::warn!(was = %old.path.display(), now = %listening.path.display(), "recorder: the socket was gone; listening again");
            listening
        }
        Err(e) => {
            tracing::error!(error = %e, "recorder: the socket is gone and cannot be made again; views cannot attach");
            old
        }
    }
}

/// How long a stopping recorder gives its views to hear it.
const FAREWELL: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs until a view says stop, a signal, or (see `Recorder`) the reader's
/// end. The reader events still on their way are the caller's to record
/// after it has stopped the reader (`drain`).
pub async fn serve(recorder: &mut Recorder, mut listening: Listening) -> std::io::Result<Ending> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let (notices, _) = broadcast::channel(NOTICE_BACKLOG);
    let (requests_tx, mut requests) = unbounded_channel();
    let mut state = State {
        readers: Vec::new(),
        reader_end: None,
        views: 0,
        notices,
        connections: Vec::new(),
    };
    // The socket is looked at now and then: a login's runtime folder goes
    // at its logout, and a view must still find the recorder.
    let mut socket_check = tokio::time::interval(SOCKET_CHECK);
    socket_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Accepting paused after a failure (out of file descriptors, say).
    let mut accept_paused = false;
    let accept_pause = tokio::time::sleep(std::time::Duration::ZERO);
    tokio::pin!(accept_pause);
    let mut reader_open = true;
    let deadline = recorder.resume_until.map(until_instant);
    let resume_timer = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now));
    tokio::pin!(resume_timer);
    tracing::info!(service = recorder.service, "recorder listening for views");
    let ending = loop {
        tokio::select! {
            event = recorder.events.recv(), if reader_open => match event {
                Some(event) => state.reader_event(&mut recorder.engine, event),
                None => {
                    reader_open = false;
                    let problem = recorder.reader_end.clone();
                    match &problem {
                        Some(problem) => tracing::error!(problem, "the reader stream ended"),
                        None => tracing::info!("the scenario has played to its end"),
                    }
                    state.reader_end = Some(problem.clone());
                    let stopped = problem.is_some() && recorder.ends_with_reader;
                    state.tell(Notice::ReaderEnded { problem });
                    if stopped {
                        break Ending::ReaderStopped;
                    }
                    if recorder.ends_when_idle && state.views == 0 {
                        break Ending::Idle;
                    }
                }
            },
            _ = socket_check.tick() => {
                if !listening.still_there() {
                    listening = listen_again(recorder, listening);
                }
            }
            accepted = listening.listener.accept(), if !accept_paused => match accepted {
                Ok((stream, _)) => {
                    if state.attach(recorder, stream, &requests_tx)
                        && let Some(start) = recorder.on_first_view.take()
                    {
                        start();
                    }
                }
                Err(e) => {
                    // Out of file descriptors, say: wait, do not spin, and
                    // go on recording meanwhile.
                    tracing::warn!(error = %e, "recorder: cannot accept a view");
                    accept_paused = true;
                    accept_pause
                        .as_mut()
                        .reset(tokio::time::Instant::now() + std::time::Duration::from_millis(200));
                }
            },
            () = &mut accept_pause, if accept_paused => accept_paused = false,
            Some(request) = requests.recv() => match request {
                Request::Command { command, reply } => {
                    let was_asking = recorder.engine.asking();
                    let before = recorder.engine.session().clone();
                    let answer = recorder.engine.execute(command);
                    let after = recorder.engine.session();
                    // The session open before is over now: ended, or ended
                    // and a new one started (once, not for both steps).
                    let ended = before.ended_at.is_none()
                        && (after.id != before.id || after.ended_at.is_some());
                    if ended && let Some(hook) = &recorder.on_session_end {
                        hook();
                    }
                    if was_asking && !recorder.engine.asking() {
                        state.tell(Notice::Resumed);
                    }
                    state.tell(Notice::Changed { session: recorder.engine.session().clone() });
                    // The view may be gone already; the change is made.
                    let _ = reply.send(answer);
                }
                Request::Reader(event) => state.reader_event(&mut recorder.engine, event),
                Request::Stop => {
                    tracing::info!("recorder: a view asked to stop recording");
                    break Ending::Stopped;
                }
                Request::Left => {
                    state.views = state.views.saturating_sub(1);
                    tracing::info!(views = state.views, "recorder: a view detached; recording goes on");
                    state.tell(Notice::Views { count: state.views });
                    if recorder.ends_when_idle && !reader_open && state.views == 0 {
                        break Ending::Idle;
                    }
                }
            },
            Ok(()) = recorder.sync.changed() => {
                let status = recorder.sync.borrow_and_update().clone();
                state.tell(Notice::Sync { status });
            }
            () = &mut resume_timer, if deadline.is_some() && recorder.engine.asking() => {
                tracing::info!("recorder: nobody answered the resume question; going on with the session");
                recorder.engine.resumed();
                state.tell(Notice::Resumed);
            }
            _ = sigterm.recv() => break Ending::Signal,
            _ = sigint.recv() => break Ending::Signal,
            _ = sighup.recv() => {
                // Its terminal, if it ever had one, is gone: nothing to do.
                tracing::info!("recorder: SIGHUP ignored; recording goes on");
            }
        }
    };
    tracing::info!(?ending, "recorder stopping");
    // A view's wedge taps already sent are recorded, not dropped.
    while let Ok(request) = requests.try_recv() {
        if let Request::Reader(event) = request {
            state.reader_event(&mut recorder.engine, event);
        }
    }
    state.tell(Notice::Stopping);
    // Each view hears it before the connections close with the loop.
    let farewell = async {
        for connection in state.connections.drain(..) {
            let _ = connection.await;
        }
    };
    let _ = tokio::time::timeout(FAREWELL, farewell).await;
    Ok(ending)
}

/// Records the reader events still in the channel, once the reader has
/// stopped: a card read (and beeped for) just before the stop counts.
pub fn drain(recorder: &mut Recorder) {
    while let Ok(event) = recorder.events.try_recv() {
        let update = recorder.engine.handle(event);
        tracing::debug!(?update, "recorder: recorded on the way out");
    }
}

/// The recorder's own state, apart from the engine.
struct State {
    /// Readers added and removed and their problems, in order.
    readers: Vec<ReaderEvent>,
    reader_end: Option<Option<String>>,
    views: usize,
    notices: broadcast::Sender<Notice>,
    /// The views' connection tasks, to let them say goodbye.
    connections: Vec<tokio::task::JoinHandle<()>>,
}

impl State {
    fn tell(&self, notice: Notice) {
        // No view attached: nobody to tell.
        let _ = self.notices.send(notice);
    }

    fn reader_event(&mut self, engine: &mut Engine, event: ReaderEvent) {
        let update = engine.handle(event);
        if let Update::Reader(
            event @ (ReaderEvent::ReaderAdded { .. }
            | ReaderEvent::ReaderRemoved { .. }
            | ReaderEvent::Error { .. }),
        ) = &update
        {
            if self.readers.len() >= READER_STATE_KEPT {
                self.readers.remove(0);
            }
            self.readers.push(event.clone());
        }
        self.tell(Notice::Update { update });
    }

    /// Whether the view was let in.
    fn attach(
        &mut self,
        recorder: &Recorder,
        stream: tokio::net::UnixStream,
        requests: &tokio::sync::mpsc::UnboundedSender<Request>,
    ) -> bool {
        let peer = stream.peer_cred().map(|cred| cred.uid());
        match peer {
            Ok(uid) if peer_allowed(recorder.uid, uid) => {}
            Ok(uid) => {
                tracing::warn!(uid, "recorder: refused a view of another user");
                return false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "recorder: cannot tell who a view is; refused");
                return false;
            }
        }
        self.views += 1;
        let welcome = Welcome {
            protocol: PROTOCOL,
            pid: std::process::id(),
            db: recorder.db_label.clone(),
            session: recorder.engine.session().clone(),
            resume_until: recorder.resume_until.filter(|_| recorder.engine.asking()),
            readers: self.readers.clone(),
            reader_end: self.reader_end.clone(),
            sync: recorder.sync.borrow().clone(),
            service: recorder.service,
            views: self.views,
            clock: recorder.clock.clone(),
        };
        tracing::info!(views = self.views, "recorder: a view attached");
        self.tell(Notice::Views { count: self.views });
        // Subscribed now, so the view misses nothing after its welcome.
        let notices = self.notices.subscribe();
        self.connections.retain(|c| !c.is_finished());
        self.connections.push(tokio::spawn(connection::serve_view(
            stream,
            welcome,
            notices,
            requests.clone(),
        )));
        true
    }
}

/// The tokio instant of a wall-clock time (now if it is past).
fn until_instant(until: Timestamp) -> tokio::time::Instant {
    let wait = (until - now()).to_std().unwrap_or_default();
    tokio::time::Instant::now() + wait
}
