//! One attached view, on the recorder's side: its messages go to the
//! recorder's loop as `Request`s, the loop's notices and answers go back.

use super::protocol::{Notice, ToRecorder, ToView, Welcome, read_message, write_message};
use crate::command::{Command, Reply};
use crate::reader::ReaderEvent;
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, oneshot};

/// What a view asks of the recorder's loop.
pub enum Request {
    Command {
        command: Command,
        reply: oneshot::Sender<Reply>,
    },
    Reader(ReaderEvent),
    Stop,
    /// The view is gone.
    Left,
}

pub async fn serve_view(
    stream: UnixStream,
    welcome: Welcome,
    mut notices: broadcast::Receiver<Notice>,
    requests: UnboundedSender<Request>,
) {
    let (read, mut write) = stream.into_split();
    // Reading a line is not cancel-safe: a task of its own reads them, so
    // the loop below can wait for a message and a notice at once.
    let (incoming_tx, mut incoming) = unbounded_channel();
    tokio::spawn(async move {
        let mut read = BufReader::new(read);
        loop {
            let message = read_message::<_, ToRecorder>(&mut read).await;
            let done = !matches!(message, Ok(Some(_)));
            if incoming_tx.send(message).is_err() || done {
                break;
            }
        }
    });
    if let Err(e) = write_message(&mut write, &ToView::Welcome(Box::new(welcome))).await {
        tracing::info!(error = %e, "recorder: a view left before its welcome");
        let _ = requests.send(Request::Left);
        return;
    }
    loop {
        tokio::select! {
            message = incoming.recv() => match message {
                Some(Ok(Some(ToRecorder::Command { id, command }))) => {
                    let (reply_tx, reply_rx) = oneshot::channel();
                    if requests.send(Request::Command { command, reply: reply_tx }).is_err() {
                        break;
                    }
                    let reply = reply_rx
                        .await
                        .unwrap_or_else(|_| Reply::failed("the recorder is stopping"));
                    if write_message(&mut write, &ToView::Reply { id, reply }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Some(ToRecorder::Reader { event }))) => {
                    if requests.send(Request::Reader(event)).is_err() {
                        break;
                    }
                }
                Some(Ok(Some(ToRecorder::Stop))) => {
                    let _ = requests.send(Request::Stop);
                }
                Some(Ok(None)) | None => break,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "recorder: a view sent something unreadable; it is cut off");
                    break;
                }
            },
            notice = notices.recv() => match notice {
                Ok(notice) => {
                    let stopping = notice == Notice::Stopping;
                    if write_message(&mut write, &ToView::Notice(notice)).await.is_err() || stopping {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "recorder: a view fell behind and is cut off");
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let _ = requests.send(Request::Left);
}
