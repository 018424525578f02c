//! The headless front end: one JSON object per line on stdout for every
//! event, each tap line printed (and flushed) only after its tap is committed.

use crate::domain::{Outcome, Session, TapRecord, Timestamp, rfc3339};
use crate::engine::{Engine, Update};
use crate::privacy::UidExport;
use crate::reader::{ReaderEvent, now};
use crate::sync::{Link, SyncStatus};
use serde::Serialize;
use std::io::Write;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

/// One output line. Field names are a stable interface for scripts, and the
/// same as the events' (`docs/events.md`): global identities, no row ids.
#[derive(Serialize, Debug, PartialEq)]
pub struct Line {
    pub event: &'static str,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub student_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Line {
    fn new(event: &'static str, at: &Timestamp) -> Self {
        Self {
            event,
            at: rfc3339(at),
            session: None,
            course: None,
            reader: None,
            uid: None,
            outcome: None,
            student_no: None,
            name: None,
            tap: None,
            first_at: None,
            message: None,
        }
    }

    pub fn session(session: &Session, uuid: uuid::Uuid) -> Self {
        Self {
            session: Some(uuid.to_string()),
            course: Some(session.course.name.clone()),
            ..Self::new("session", &session.started_at)
        }
    }

    /// `uids`: how the card's UID is written (`[privacy] uids`).
    pub fn tap(record: &TapRecord, uids: &UidExport) -> Self {
        Self {
            session: Some(record.session_uuid.to_string()),
            reader: Some(record.reader.clone()),
            uid: Some(uids.data(&record.uid)),
            outcome: Some(record.outcome.as_str()),
            student_no: record.student.as_ref().map(|s| s.student_no.clone()),
            name: record.student.as_ref().map(|s| s.name.clone()),
            tap: Some(record.tap_uuid.to_string()),
            first_at: match record.outcome {
                Outcome::Duplicate { first_at } => Some(rfc3339(&first_at)),
                _ => None,
            },
            ..Self::new("tap", &record.at)
        }
    }

    /// The line for an engine update; `None` for events that are not news
    /// (a repeat tap, a card lifted off the reader).
    pub fn from_update(update: &Update, uids: &UidExport) -> Option<Self> {
        match update {
            Update::Tap(record) if record.outcome == Outcome::Repeat => None,
            Update::Tap(record) => Some(Self::tap(record, uids)),
            Update::NotRecorded {
                reader,
                uid,
                at,
                error,
            } => Some(Self {
                reader: Some(reader.clone()),
                uid: Some(uids.data(uid)),
                message: Some(error.clone()),
                ..Self::new("not_recorded", at)
            }),
            Update::Reader(ReaderEvent::ReaderAdded { reader }) => Some(Self {
                reader: Some(reader.clone()),
                ..Self::new("reader_added", &now())
            }),
            Update::Reader(ReaderEvent::ReaderRemoved { reader }) => Some(Self {
                reader: Some(reader.clone()),
                ..Self::new("reader_removed", &now())
            }),
            Update::Reader(ReaderEvent::Error { reader, message }) => Some(Self {
                reader: reader.clone(),
                message: Some(message.clone()),
                ..Self::new("reader_error", &now())
            }),
            Update::AdminCard { reader, at } => Some(Self {
                reader: Some(reader.clone()),
                ..Self::new("admin_card", at)
            }),
            Update::Reader(ReaderEvent::CardError {
                reader,
                message,
                at,
            }) => Some(Self {
                reader: Some(reader.clone()),
                message: Some(message.clone()),
                ..Self::new("card_error", at)
            }),
            Update::Reader(ReaderEvent::Card { .. } | ReaderEvent::CardRemoved { .. }) => None,
        }
    }
}

/// A change of the push's state, as one JSON line: `{"event": "sync",
/// "state": "offline", ...}`. Printed when the state or the number of parked
/// events changes, not for every event queued and sent.
#[derive(Serialize)]
struct SyncLine {
    event: &'static str,
    at: String,
    state: &'static str,
    waiting: u64,
    parked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl SyncLine {
    /// A line when `status` differs from what was `said` last (then updated).
    fn changed(status: &SyncStatus, said: &mut Option<(&'static str, u64)>) -> Option<Self> {
        let now_said = (status.link.name(), status.counts.parked);
        if *said == Some(now_said) {
            return None;
        }
        *said = Some(now_said);
        let (since, error) = match &status.link {
            Link::Offline { since, error, .. } => (Some(rfc3339(since)), Some(error.clone())),
            Link::Stopped { why } => (None, Some(why.clone())),
            Link::Off | Link::Starting | Link::Online => (None, None),
        };
        Some(Self {
            event: "sync",
            at: rfc3339(&now()),
            state: status.link.name(),
            waiting: status.counts.waiting,
            parked: status.counts.parked,
            since,
            error,
        })
    }
}

/// The push's state at the end of a run, as one last `sync` line (when the
/// push is on): what a script reads to know whether everything went.
pub fn print_sync_end(status: &SyncStatus, out: &mut impl Write) {
    if status.link == Link::Off {
        return;
    }
    if let Some(line) = SyncLine::changed(status, &mut None)
        && let Err(e) = emit(out, &line)
    {
        tracing::warn!(error = %e, "cannot print the last sync line");
    }
}

fn emit(out: &mut impl Write, line: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Why a headless run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The reader stream ended (a finished scenario, stdin closed, or a
    /// reader thread that died).
    ReaderEnded,
    /// SIGINT, SIGTERM or SIGHUP.
    Signal,
}

/// Runs until the reader stream ends or SIGINT, SIGTERM or SIGHUP arrives;
/// card UIDs in the lines as `uids` says (the lines are an export).
pub async fn run(
    mut engine: Engine,
    mut events: UnboundedReceiver<ReaderEvent>,
    mut sync: watch::Receiver<SyncStatus>,
    uids: &UidExport,
    out: &mut impl Write,
) -> std::io::Result<Ending> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let uuid = engine.session_uuid().map_err(std::io::Error::other)?;
    emit(out, &Line::session(engine.session(), uuid))?;
    let mut sync_said = None;
    let ending = loop {
        tokio::select! {
            Ok(()) = sync.changed() => {
                let status = sync.borrow_and_update().clone();
                if let Some(line) = SyncLine::changed(&status, &mut sync_said) {
                    emit(out, &line)?;
                }
            }
            event = events.recv() => match event {
                Some(event) => {
                    let update = engine.handle(event);
                    if let Some(line) = Line::from_update(&update, uids) {
                        emit(out, &line)?;
                    }
                }
                None => break Ending::ReaderEnded,
            },
            _ = sigterm.recv() => break Ending::Signal,
            _ = sighup.recv() => break Ending::Signal,
            _ = sigint.recv() => break Ending::Signal,
        }
    };
    tracing::info!(?ending, "headless run ended");
    Ok(ending)
}
