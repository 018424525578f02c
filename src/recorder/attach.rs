//! A view's end of the socket: attach to a recorder, send it commands and
//! reader events, hear its notices.

use super::protocol::{Notice, PROTOCOL, ToRecorder, ToView, Welcome, read_message, write_message};
use crate::command::{Command, Reply};
use crate::reader::ReaderEvent;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// How long a view waits for the recorder's welcome and for an answer. The
/// recorder answers from its loop, between taps: far quicker than this,
/// unless it is stuck.
const ANSWER_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("cannot reach the recorder at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the recorder did not answer in {0:?}")]
    NoAnswer(Duration),
    #[error("the recorder went away (it stopped, or was stopped)")]
    Gone,
    #[error(
        "the recorder speaks protocol {found}, this view {PROTOCOL}: stop it and start taproll again"
    )]
    Protocol { found: u32 },
    #[error("the recorder's connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path} is served by a process of uid {found}, not this user's: not attached")]
    Stranger { path: PathBuf, found: u32 },
}

pub struct Attached {
    welcome: Welcome,
    writer: OwnedWriteHalf,
    /// What the reading task got: `Err` and then the end when the
    /// connection broke, the end alone when the recorder closed it.
    incoming: UnboundedReceiver<std::io::Result<ToView>>,
    /// Notices that came while waiting for an answer.
    pending: VecDeque<Notice>,
    next_id: u64,
}

impl Attached {
    /// Attaches to the recorder listening at `path`, if it runs as `uid`:
    /// a socket someone else put in our way gets no commands from us.
    pub async fn connect(path: &Path, uid: u32) -> Result<Self, AttachError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| AttachError::Connect {
                path: path.to_path_buf(),
                source,
            })?;
        Self::attach(stream, path, uid).await
    }

    /// `connect` on a connection made already (the one that found a new
    /// recorder listening).
    pub async fn from_std(
        stream: std::os::unix::net::UnixStream,
        path: &Path,
        uid: u32,
    ) -> Result<Self, AttachError> {
        stream.set_nonblocking(true)?;
        Self::attach(UnixStream::from_std(stream)?, path, uid).await
    }

    async fn attach(stream: UnixStream, path: &Path, uid: u32) -> Result<Self, AttachError> {
        let peer = stream.peer_cred()?.uid();
        if !super::place::peer_allowed(uid, peer) {
            return Err(AttachError::Stranger {
                path: path.to_path_buf(),
                found: peer,
            });
        }
        let (read, writer) = stream.into_split();
        let (tx, mut incoming) = unbounded_channel();
        tokio::spawn(async move {
            let mut read = BufReader::new(read);
            loop {
                match read_message::<_, ToView>(&mut read).await {
                    Ok(Some(message)) => {
                        if tx.send(Ok(message)).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let first = tokio::time::timeout(ANSWER_WAIT, incoming.recv())
            .await
            .map_err(|_| AttachError::NoAnswer(ANSWER_WAIT))?;
        let welcome = match first {
            Some(Ok(ToView::Welcome(welcome))) => *welcome,
            Some(Ok(_)) => {
                return Err(AttachError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the recorder did not start with its welcome",
                )));
            }
            Some(Err(e)) => return Err(AttachError::Io(e)),
            None => return Err(AttachError::Gone),
        };
        if welcome.protocol != PROTOCOL {
            return Err(AttachError::Protocol {
                found: welcome.protocol,
            });
        }
        Ok(Self {
            welcome,
            writer,
            incoming,
            pending: VecDeque::new(),
            next_id: 1,
        })
    }

    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Sends a command and waits for its answer.
    pub async fn command(&mut self, command: Command) -> Result<Reply, AttachError> {
        let id = self.next_id;
        self.next_id += 1;
        write_message(&mut self.writer, &ToRecorder::Command { id, command }).await?;
        let wait = async {
            loop {
                match self.incoming.recv().await {
                    Some(Ok(ToView::Reply {
                        id: answered,
                        reply,
                    })) if answered == id => {
                        return Ok(reply);
                    }
                    Some(Ok(ToView::Notice(notice))) => self.pending.push_back(notice),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(AttachError::Io(e)),
                    None => return Err(AttachError::Gone),
                }
            }
        };
        tokio::time::timeout(ANSWER_WAIT, wait)
            .await
            .map_err(|_| AttachError::NoAnswer(ANSWER_WAIT))?
    }

    /// Hands a keyboard-wedge reader's event to the recorder.
    pub async fn reader_event(&mut self, event: ReaderEvent) -> Result<(), AttachError> {
        Ok(write_message(&mut self.writer, &ToRecorder::Reader { event }).await?)
    }

    /// Asks the recorder to stop, and waits until it has.
    pub async fn stop(&mut self) -> Result<(), AttachError> {
        write_message(&mut self.writer, &ToRecorder::Stop).await?;
        let closed = async { while let Some(Ok(_)) = self.incoming.recv().await {} };
        tokio::time::timeout(ANSWER_WAIT, closed)
            .await
            .map_err(|_| AttachError::NoAnswer(ANSWER_WAIT))
    }

    /// The next notice; `Err` when the connection is gone. Cancel-safe: it
    /// only waits on a channel.
    pub async fn notice(&mut self) -> Result<Notice, AttachError> {
        if let Some(notice) = self.pending.pop_front() {
            return Ok(notice);
        }
        loop {
            match self.incoming.recv().await {
                Some(Ok(ToView::Notice(notice))) => return Ok(notice),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(AttachError::Io(e)),
                None => return Err(AttachError::Gone),
            }
        }
    }
}

/// The live recorder of `db`, if one answers in any of its folders. A
/// socket nobody listens at (its recorder was killed; the next one removes
/// it) is passed over; a recorder that answers wrongly (another build, not
/// this user's, stuck) is the error, not a reason to start a second one.
pub async fn find(db: &Path, uid: u32) -> Result<Option<Attached>, AttachError> {
    for socket in super::place::candidate_sockets(db, uid) {
        if !socket.exists() {
            continue;
        }
        match Attached::connect(&socket, uid).await {
            Ok(link) => return Ok(Some(link)),
            Err(e @ AttachError::Connect { .. }) => {
                tracing::info!(socket = %socket.display(), error = %e, "no recorder there")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
