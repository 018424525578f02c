//! Card readers. Each backend sends `ReaderEvent`s into one channel, the
//! only way a tap reaches the engine, which never knows which backend
//! produced them.
//!
//! Backends: `pcsc` (USB readers through pcscd, a thread), `wedge`
//! (keyboard-wedge readers: a thread reading standard input, or in the TUI
//! the keys the TUI hands over) and `sim` (a scripted scenario, a thread);
//! `list` is `taproll readers`.

pub mod list;
pub mod pcsc;
pub mod sim;
pub mod wedge;

use crate::domain::{CardUid, Timestamp};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReaderEvent {
    ReaderAdded {
        reader: String,
    },
    ReaderRemoved {
        reader: String,
    },
    /// A card came into the field and its UID was read.
    Card {
        reader: String,
        uid: CardUid,
        at: Timestamp,
    },
    CardRemoved {
        reader: String,
    },
    /// A card was seen but its UID could not be read (refused GET DATA, a
    /// failed connect): the student must tap again.
    CardError {
        reader: String,
        message: String,
        at: Timestamp,
    },
    /// Something went wrong that a person should see (and maybe fix).
    Error {
        reader: Option<String>,
        message: String,
    },
}

/// Where a backend sends its events. When every sender is gone the stream has
/// ended (a finished scenario); the PC/SC backend never ends on its own.
pub type EventSender = UnboundedSender<ReaderEvent>;

pub use crate::domain::now;
