//! What is over the roster and takes the keys: the filter being typed, the
//! help, the sync view, the term view, the quit question, or one of the
//! dialogs. One enum in one place, so two can never be open at once and
//! "is anything open?" has one answer.
//! The dialogs' own state and keys are in `dialog.rs`.

use super::action::Action;
use super::dialog::{self, AssignDialog, DialogKey, MarkDialog, StudentDialog, UnclaimedDialog};
use super::term_window::TermView;
use crate::domain::{Student, Timestamp};
use crate::report::Totals;
use ratatui::crossterm::event::KeyCode;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modal {
    /// Typing a filter after `/`; the filter itself belongs to the roster
    /// and stays when typing ends.
    Filter,
    Help,
    /// The push to the server (read-only, drawn from `App::sync` every
    /// frame); any key closes it.
    Sync,
    /// Leaving while the session is open: stop recording, or leave it
    /// recording? (The session stays open either way.)
    ConfirmQuit,
    Mark(MarkDialog),
    Assign(AssignDialog),
    Unclaimed(UnclaimedDialog),
    ConfirmEnd,
    /// The end-of-session counts, and where the report can be saved.
    Summary {
        summary: Totals,
        export_to: Option<String>,
    },
    /// taproll found this course's session still open (a crash, a dropped
    /// SSH connection): continue it, or end it and start a new one? Taps are
    /// recorded meanwhile; at `until` it goes on with the session by itself
    /// (a kiosk after a power cut has nobody to answer).
    Resume {
        until: Timestamp,
    },
    /// A lost card: take the student's cards away?
    RemoveCards(Student),
    /// Add a student, or edit the selected one.
    Student(StudentDialog),
    /// The course's marks over the term, as a grid (read-only; its keys
    /// move around it, `App::on_key` takes them).
    Term(TermView),
}

impl Modal {
    /// A dialog, as opposed to the filter line, the help, the sync view,
    /// the term view or the quit question, which make way for one (an admin
    /// card's end-of-class menu).
    pub fn is_dialog(&self) -> bool {
        !matches!(
            self,
            Modal::Filter | Modal::Help | Modal::Sync | Modal::ConfirmQuit | Modal::Term(_)
        )
    }

    /// Typing goes into this (a filter, a search, a note, a name), so a
    /// wedge reader's digits must not be taken from it.
    pub fn takes_text(&self) -> bool {
        match self {
            Modal::Filter => true,
            // Its mark keys include a and e, which are hex digits.
            Modal::Mark(_) => true,
            Modal::Assign(dialog) => dialog.confirm_move.is_none(),
            Modal::Student(_) => true,
            Modal::Help
            | Modal::Sync
            | Modal::Term(_)
            | Modal::ConfirmQuit
            | Modal::Unclaimed(_)
            | Modal::ConfirmEnd
            | Modal::Summary { .. }
            | Modal::Resume { .. }
            | Modal::RemoveCards(_) => false,
        }
    }

    /// What a key does to it; `ctrl_c`: the key is Ctrl-C.
    pub fn on_key(&mut self, code: KeyCode, ctrl_c: bool) -> DialogKey {
        match self {
            // The roster owns the filter and takes these keys (`App::on_key`),
            // as it does the term view's (they depend on the keymap).
            Modal::Filter | Modal::Term(_) => DialogKey::Stay,
            Modal::Help => DialogKey::Close,
            // Not a hex digit: a wedge reader's typing never sends.
            Modal::Sync => match code {
                KeyCode::Char('r') => DialogKey::Then(Action::RetryParked),
                _ => DialogKey::Close,
            },
            // Neither s nor l is a hex digit: a wedge reader's typing
            // never answers it.
            // q q (or y, or Ctrl-C) is the usual way out: it stops a
            // recorder this roster started, and leaves a service recording
            // (`Action::Quit`); s and l say which.
            Modal::ConfirmQuit => match code {
                KeyCode::Char('y' | 'Y' | 'q') => DialogKey::Then(Action::Quit),
                KeyCode::Char('s' | 'S') => DialogKey::Then(Action::StopRecording),
                KeyCode::Char('l' | 'L') => DialogKey::Then(Action::Leave),
                _ if ctrl_c => DialogKey::Then(Action::Quit),
                _ => DialogKey::Close,
            },
            Modal::Mark(dialog) => dialog::mark_key(dialog, code),
            Modal::Assign(dialog) => dialog::assign_key(dialog, code),
            Modal::Unclaimed(dialog) => dialog::unclaimed_key(dialog, code),
            Modal::ConfirmEnd => match code {
                KeyCode::Char('y' | 'Y') => DialogKey::Then(Action::EndSession),
                _ => DialogKey::Close,
            },
            Modal::RemoveCards(student) => match code {
                KeyCode::Char('y' | 'Y') => DialogKey::Then(Action::RemoveCards(student.id)),
                _ => DialogKey::Close,
            },
            Modal::Student(dialog) => dialog::student_key(dialog, code),
            Modal::Resume { .. } => match code {
                KeyCode::Char('n' | 'N') => DialogKey::Then(Action::NewSession),
                _ => DialogKey::Then(Action::ContinueSession),
            },
            Modal::Summary { export_to, .. } => match code {
                KeyCode::Char('q') | KeyCode::Enter => DialogKey::Then(Action::Quit),
                // Not a hex digit: a wedge reader's typing never saves.
                KeyCode::Char('s') if export_to.is_some() => DialogKey::Then(Action::ExportReport),
                _ => DialogKey::Close,
            },
        }
    }
}
