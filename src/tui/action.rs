//! What a key, a tap or the clock asks the event loop to do. `App` and the
//! dialogs only name the action; `actions.rs` carries it out (store work
//! through the engine), so the state stays plain data.

use crate::domain::Mark;
use crate::store::UnclaimedTap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Redraw,
    /// Leave the usual way: stop a recorder this roster started; leave a
    /// service recording.
    Quit,
    /// Stop recording and leave: the recorder ends, the session stays open.
    StopRecording,
    /// Leave this view; the recorder goes on recording.
    Leave,
    SetMark {
        student_id: i64,
        mark: Mark,
        note: Option<String>,
    },
    Undo,
    OpenUnclaimed,
    OpenAssign(UnclaimedTap),
    Claim {
        tap: UnclaimedTap,
        student_id: i64,
        move_card: bool,
    },
    EndSession,
    /// Show the ended session's summary again (to save its report).
    ShowSummary,
    /// End the open session and start a new one.
    NewSession,
    /// Go on with the session found open (the resume question's answer).
    ContinueSession,
    RemoveCards(i64),
    /// Write the session's report to the export folder.
    ExportReport,
    /// Put the events the server refused back in the push's queue.
    RetryParked,
    /// Read the course's report over the term and show it as a grid.
    OpenTerm,
    SaveStudent {
        existing: Option<i64>,
        student_no: String,
        name: String,
    },
}
