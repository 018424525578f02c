//! What an instructor can ask of a running class, as data: one type for a
//! view in the same process and a view over the recorder's socket, so every
//! change takes one path (`Engine::execute`).

use crate::domain::Mark;
use crate::store::{Claim, Undone};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    SetMark {
        student_id: i64,
        mark: Mark,
        note: Option<String>,
    },
    Undo,
    /// Give the card of an unclaimed tap to a student.
    Claim {
        tap_id: i64,
        student_id: i64,
        move_card: bool,
    },
    EndSession,
    /// End the open session and start a new one.
    NewSession,
    /// Go on with the session found open (the resume question's answer).
    ContinueSession,
    RemoveCards {
        student_id: i64,
    },
    SaveStudent {
        existing: Option<i64>,
        student_no: String,
        name: String,
    },
    /// Put the events the server refused back in the push's queue.
    RetryParked,
}

/// The answer to one command. A failure carries the store's message, for
/// the view to show loudly; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Done,
    Undone {
        undone: Option<Undone>,
    },
    Claimed {
        claim: Claim,
    },
    /// The session as it is now: ended, or a new one (`moved`: the taps
    /// since the resume question that came along).
    Session {
        session: crate::domain::Session,
        moved: usize,
    },
    CardsRemoved {
        count: usize,
    },
    Unparked {
        count: u64,
    },
    Failed {
        error: String,
    },
}

impl Reply {
    pub fn failed(error: impl std::fmt::Display) -> Self {
        Reply::Failed {
            error: error.to_string(),
        }
    }
}
