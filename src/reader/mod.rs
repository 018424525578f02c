//! Card readers. Each backend runs on its own thread and sends `ReaderEvent`s
//! into a channel; the engine never knows which backend produced them.
//!
//! Backends: `pcsc` (USB readers through pcscd), `wedge` (keyboard-wedge
//! readers) and `sim` (a scripted scenario); `list` is `taproll readers`.

pub mod list;
pub mod pcsc;
pub mod sim;
pub mod wedge;

use crate::domain::{CardUid, Timestamp};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Clone, Debug, PartialEq, Eq)]
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

pub fn now() -> Timestamp {
    chrono::Local::now().fixed_offset()
}
