//! What the recorder and its views say to each other over the socket: one
//! JSON object per line. The recorder speaks first (`Welcome`), then a view
//! sends commands and reader events, and the recorder answers each command
//! and tells every view what happened (`Notice`).
//!
//! Both ends are the same build of taproll (the socket is private to one
//! user), but a view left open across an upgrade would talk to a new
//! recorder: `PROTOCOL` makes that a clear refusal, not a misreading.

use crate::command::{Command, Reply};
use crate::domain::{Session, Timestamp};
use crate::engine::Update;
use crate::reader::ReaderEvent;
use crate::sync::SyncStatus;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

pub const PROTOCOL: u32 = 1;

/// A line longer than this is not ours: the connection is dropped.
const MAX_LINE_BYTES: u64 = 4 << 20;

/// From a view to the recorder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToRecorder {
    /// Answered by a `ToView::Reply` with the same `id`.
    Command { id: u64, command: Command },
    /// What a keyboard-wedge reader typed in the view.
    Reader { event: ReaderEvent },
    /// Stop recording: the recorder ends (the session stays open).
    Stop,
}

/// From the recorder to a view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToView {
    Welcome(Box<Welcome>),
    Reply { id: u64, reply: Reply },
    Notice(Notice),
}

/// What a view needs to start showing the class; the rest it reads from
/// the database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub protocol: u32,
    pub pid: u32,
    /// The database the recorder writes, as it opened it.
    pub db: String,
    pub session: Session,
    /// The session was found open and nobody has said yet whether to go
    /// on with it: ask until then (the recorder goes on with it at that
    /// time by itself).
    pub resume_until: Option<Timestamp>,
    /// The readers' state so far, to be applied in order (readers added,
    /// removed, their last problem).
    pub readers: Vec<ReaderEvent>,
    /// The reader stream has ended, with the problem to show (`Some(None)`:
    /// a scenario played to its end).
    pub reader_end: Option<Option<String>>,
    pub sync: SyncStatus,
    /// Started as a service (`taproll record`), not by a view.
    pub service: bool,
    /// Views attached, this one included.
    pub views: usize,
    /// The clock's state, for the status line.
    pub clock: String,
}

/// What happened in the recorder, told to every view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// A reader event and what it did: a committed tap, a failed write, a
    /// reader come or gone.
    Update {
        update: Update,
    },
    /// A command changed the class (a mark, a card, the session): read the
    /// roster again.
    Changed {
        session: Session,
    },
    /// The resume question was answered (or timed out).
    Resumed,
    Sync {
        status: SyncStatus,
    },
    ReaderEnded {
        problem: Option<String>,
    },
    Views {
        count: usize,
    },
    /// The recorder is stopping; the connection closes next.
    Stopping,
}

/// Writes one message as a line.
pub async fn write_message<W: AsyncWrite + Unpin, T: Serialize>(
    out: &mut W,
    message: &T,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line).await?;
    out.flush().await
}

/// Reads the next message; `Ok(None)` when the other end closed.
pub async fn read_message<R, T>(input: &mut BufReader<R>) -> std::io::Result<Option<T>>
where
    R: tokio::io::AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let mut line = Vec::new();
    let read = input
        .take(MAX_LINE_BYTES)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a message too long, or cut off",
        ));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
