//! The TUI's state as plain data, and how keys and engine updates change it.
//! No terminal here: tests drive `App` directly and render it to a TestBackend.
//! `App::new` builds it whole; the view reads it through the accessors, and
//! the event loop and `actions.rs` change it through the methods below.

use super::action::Action;
use super::banner::Banner;
use super::dialog::{AssignDialog, UnclaimedDialog};
use super::modal::Modal;
use super::roster::Roster;
use super::term_grid::TermGrid;
use super::term_window::{GridSize, TermView};
use crate::config::Cue;
use crate::domain::{Outcome, RosterRow, Session, Student, TapRecord, Timestamp};
use crate::engine::Update;
use crate::keymap::Keymap;
use crate::reader::ReaderEvent;
use crate::reader::wedge::KeyboardWedge;
use crate::report::Totals;
use crate::store::UnclaimedTap;
use crate::sync::SyncStatus;
use std::collections::HashMap;

mod keys;

/// How the App is set up. Everything else starts empty and comes from the
/// store, the readers, the clock and the keys.
#[derive(Debug, Default)]
pub struct Setup {
    /// The database path as shown in the status line.
    pub db_label: String,
    pub keys: Keymap,
    /// Outcomes that ring the terminal bell.
    pub bell: Vec<Cue>,
    /// Where the end-of-session export goes, as shown:
    /// `~/taproll-reports (csv, xlsx)`; `None`: saving is not offered.
    pub export_to: Option<String>,
    /// A keyboard-wedge reader typing into the TUI.
    pub wedge: Option<KeyboardWedge>,
    /// The session was found open: ask whether to go on with it, for this
    /// long before going on with it by itself.
    pub resume_question: Option<chrono::Duration>,
}

#[derive(Clone, Debug)]
pub struct App {
    /// As the engine last gave it: ended, or a new one started.
    session: Session,
    now: Timestamp,
    roster: Roster,
    banner: Banner,
    /// When the banner was set: it makes way for "Ready" after a while, so
    /// the next student never reads the previous one's name as theirs.
    banner_at: Timestamp,
    /// Readers currently connected, in the order they appeared.
    readers: Vec<String>,
    /// The last problem a reader backend reported, until a reader shows up.
    reader_problem: Option<String>,
    /// The simulated scenario has played to its end.
    scenario_finished: bool,
    /// Gets the keys a keyboard-wedge reader types; `None`: no such reader.
    wedge: Option<KeyboardWedge>,
    bell: Vec<Cue>,
    /// The next frame should ring the bell.
    ring_bell: bool,
    /// Reloading the roster from the store failed; shown in the status line.
    store_problem: Option<String>,
    db_label: String,
    /// What is over the roster and gets the keys; `None`: the roster does.
    modal: Option<Modal>,
    /// What a tap asks of the event loop because it needs the store (open
    /// the assign dialog, bind a card in enrol mode).
    pending: Option<Action>,
    keys: Keymap,
    export_to: Option<String>,
    /// The push to a server, as its sender last said.
    sync: SyncStatus,
    /// The recorder this view is attached to.
    recorder: RecorderInfo,
    /// Why a student is at risk, by student id (`[risk]`).
    risk: HashMap<String, String>,
    /// The room for the term view's grid, as the event loop measured it.
    term_size: GridSize,
}

/// The recorder as the status line shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecorderInfo {
    pub pid: u32,
    /// Started as a service (`taproll record`), not by a view.
    pub service: bool,
    /// Views attached, this one included.
    pub views: usize,
    /// The clock check's word.
    pub clock: String,
    /// The recorder stopped or cannot be reached: taps are NOT recorded.
    pub gone: Option<String>,
}

impl App {
    pub fn new(session: Session, now: Timestamp, setup: Setup) -> Self {
        let modal = setup
            .resume_question
            .map(|wait| Modal::Resume { until: now + wait });
        Self {
            session,
            now,
            roster: Roster::default(),
            banner: Banner::Ready,
            banner_at: now,
            readers: Vec::new(),
            reader_problem: None,
            scenario_finished: false,
            wedge: setup.wedge,
            bell: setup.bell,
            ring_bell: false,
            store_problem: None,
            db_label: setup.db_label,
            modal,
            pending: None,
            keys: setup.keys,
            export_to: setup.export_to,
            sync: SyncStatus::off(),
            recorder: RecorderInfo::default(),
            risk: HashMap::new(),
            term_size: GridSize::default(),
        }
    }

    pub fn set_recorder(&mut self, recorder: RecorderInfo) {
        self.recorder = recorder;
    }

    pub fn recorder(&self) -> &RecorderInfo {
        &self.recorder
    }

    /// The readers as a new recorder will tell them.
    pub fn clear_readers(&mut self) {
        self.readers.clear();
        self.reader_problem = None;
        self.scenario_finished = false;
    }

    pub fn set_views(&mut self, views: usize) {
        self.recorder.views = views;
    }

    /// The recorder stopped or its connection broke: said loudly, in the
    /// banner and the status line, until the view is left.
    pub fn recorder_gone(&mut self, why: String) {
        self.cue(Some(Cue::Error));
        self.set_banner(Banner::Failed {
            what: "NOT RECORDING: the recorder is gone".into(),
            error: why.clone(),
        });
        self.recorder.gone = Some(why);
    }

    /// Someone answered the resume question (in another view), or the
    /// recorder went on with the session by itself.
    pub fn resume_answered(&mut self) {
        if matches!(self.modal, Some(Modal::Resume { .. })) {
            self.modal = None;
            self.set_banner(Banner::Info {
                headline: format!("Continuing session {}", self.session.id),
                detail: format!("{} ends it", self.keys.end_session),
            });
        }
    }

    /// The sender's news (the status line and the sync view show it).
    pub fn set_sync(&mut self, status: SyncStatus) {
        self.sync = status;
    }

    // What the view reads.

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    pub fn banner(&self) -> &Banner {
        &self.banner
    }

    pub fn readers(&self) -> &[String] {
        &self.readers
    }

    pub fn reader_problem(&self) -> Option<&str> {
        self.reader_problem.as_deref()
    }

    pub fn scenario_finished(&self) -> bool {
        self.scenario_finished
    }

    /// What a keyboard-wedge reader has typed of a card so far.
    pub fn wedge_typed(&self) -> Option<&str> {
        self.wedge.as_ref().map(KeyboardWedge::typed)
    }

    pub fn store_problem(&self) -> Option<&str> {
        self.store_problem.as_deref()
    }

    pub fn db_label(&self) -> &str {
        &self.db_label
    }

    pub fn sync(&self) -> &SyncStatus {
        &self.sync
    }

    pub fn keys(&self) -> &Keymap {
        &self.keys
    }

    pub fn modal(&self) -> Option<&Modal> {
        self.modal.as_ref()
    }

    /// The filter line is open.
    pub fn filtering(&self) -> bool {
        self.modal == Some(Modal::Filter)
    }

    fn session_ended(&self) -> bool {
        self.session.ended_at.is_some()
    }

    // What the event loop and the actions do.

    pub fn set_banner(&mut self, banner: Banner) {
        self.banner = banner;
        self.banner_at = self.now;
    }

    /// The clock moved on: an old banner makes way for "Ready", and an
    /// unanswered resume question goes on with the session.
    pub fn tick(&mut self, now: Timestamp) -> Action {
        self.now = now;
        if now - self.banner_at >= self.banner.shown_for() {
            self.banner = Banner::Ready;
        }
        if let Some(Modal::Resume { until }) = &self.modal
            && now >= *until
        {
            self.modal = None;
            return Action::ContinueSession;
        }
        Action::Redraw
    }

    /// The roster as just read from the store.
    pub fn set_rows(&mut self, rows: Vec<RosterRow>) {
        self.roster.set_rows(rows);
        self.store_problem = None;
    }

    /// The roster could not be read: the status line says so.
    /// Who is at risk, by student id, and why.
    pub fn set_risk(&mut self, risk: HashMap<String, String>) {
        self.risk = risk;
    }

    /// Why the student with this id is at risk; `None` when they are not.
    pub fn risk_of(&self, student_no: &str) -> Option<&str> {
        self.risk.get(student_no).map(String::as_str)
    }

    pub fn set_store_problem(&mut self, problem: String) {
        self.store_problem = Some(problem);
    }

    /// The roster rows that fit on screen, as the event loop measured them.
    pub fn set_page_rows(&mut self, rows: usize) {
        self.roster.set_page_rows(rows);
    }

    /// The room for the term view's grid, as the event loop measured it.
    pub fn set_term_size(&mut self, size: GridSize) {
        self.term_size = size;
        if let Some(Modal::Term(view)) = &mut self.modal {
            view.set_size(size);
        }
    }

    /// The term view is open (it is read again when the marks change).
    pub fn term_open(&self) -> bool {
        matches!(self.modal, Some(Modal::Term(_)))
    }

    /// Shows the course's term grid, at the student selected in the roster;
    /// already open, it shows the new grid where it was.
    pub fn show_term(&mut self, grid: TermGrid) {
        if let Some(Modal::Term(view)) = &mut self.modal {
            view.replace(grid);
            return;
        }
        // The grid's texts are sanitised: so is the number looked for.
        let student_no = self
            .roster
            .selected_row()
            .map(|r| crate::text::sanitize_for_terminal(&r.student.student_no));
        let view = TermView::new(grid, student_no.as_deref(), self.term_size);
        self.modal = Some(Modal::Term(view));
    }

    /// The engine's session changed (ended, or a new one started).
    pub fn set_session(&mut self, session: Session) {
        self.session = session;
    }

    /// The reader stream ended: with a problem to show, or (`None`) as
    /// expected, a scenario played to its end.
    pub fn reader_stream_ended(&mut self, problem: Option<String>) {
        match problem {
            Some(problem) => self.reader_problem = Some(problem),
            None => self.scenario_finished = true,
        }
    }

    /// What the last tap asked of the event loop, if anything.
    pub fn take_pending(&mut self) -> Option<Action> {
        self.pending.take()
    }

    /// Whether the frame just drawn should ring the bell.
    pub fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.ring_bell)
    }

    /// A card was given to a student: in enrol mode the next student
    /// without a card is selected for the next new card.
    pub fn card_given(&mut self) {
        if self.roster.enrolling() {
            self.roster.select_next_without_card();
        }
    }

    pub fn show_unclaimed(&mut self, taps: Vec<UnclaimedTap>) {
        self.modal = Some(Modal::Unclaimed(UnclaimedDialog { taps, selected: 0 }));
    }

    /// Asks whose the card of `tap` is, among `students` (those without one).
    pub fn ask_whose_card(&mut self, tap: UnclaimedTap, students: Vec<Student>) {
        self.modal = Some(Modal::Assign(AssignDialog::new(tap, students)));
    }

    /// The card of `tap` is `holder`'s: asks before moving it to `student`.
    pub fn ask_to_move_card(&mut self, tap: UnclaimedTap, student: Student, holder: Student) {
        let dialog = AssignDialog::confirm_move(tap, student, holder);
        self.modal = Some(Modal::Assign(dialog));
    }

    /// The end-of-session counts, offering to save the report.
    pub fn show_summary(&mut self, summary: Totals) {
        self.modal = Some(Modal::Summary {
            summary,
            export_to: self.export_to.clone(),
        });
    }

    /// Applies an engine update. Returns true when the roster must be reloaded.
    pub fn apply(&mut self, update: Update) -> bool {
        match update {
            Update::Tap(record) => {
                // A repeat is stored but is not a new event: keep the banner.
                if record.outcome == Outcome::Repeat {
                    return false;
                }
                self.cue(cue_of(record.outcome));
                if let Some(action) = self.action_for_tap(&record) {
                    self.pending = Some(action);
                }
                self.set_banner(Banner::Tap(record));
                true
            }
            Update::NotRecorded { uid, error, .. } => {
                self.cue(Some(Cue::Error));
                self.set_banner(Banner::NotRecorded { uid, error });
                false
            }
            Update::Reader(event) => {
                self.apply_reader_event(event);
                false
            }
            Update::AdminCard { reader, .. } => {
                // The kiosk by the door: the admin card asks to end the class
                // (the help, the quit question or the filter line make way).
                let dialog_open = self.modal.as_ref().is_some_and(Modal::is_dialog);
                if !self.session_ended() && !dialog_open {
                    self.modal = Some(Modal::ConfirmEnd);
                }
                self.set_banner(Banner::Info {
                    headline: "Admin card".into(),
                    detail: reader,
                });
                false
            }
        }
    }

    fn apply_reader_event(&mut self, event: ReaderEvent) {
        match event {
            ReaderEvent::ReaderAdded { reader } => {
                if !self.readers.contains(&reader) {
                    self.readers.push(reader);
                }
                self.reader_problem = None;
            }
            ReaderEvent::ReaderRemoved { reader } => self.readers.retain(|r| *r != reader),
            ReaderEvent::Error { reader, message } => {
                self.reader_problem = Some(match reader {
                    Some(reader) => format!("{reader}: {message}"),
                    None => message,
                });
            }
            ReaderEvent::CardError {
                reader, message, ..
            } => {
                self.cue(Some(Cue::Error));
                self.set_banner(Banner::CardError { reader, message });
            }
            ReaderEvent::Card { .. } | ReaderEvent::CardRemoved { .. } => {}
        }
    }

    /// What a tap asks for beyond the banner: in enrol mode, bind its card
    /// to the selected student; else, for an unknown card, ask whose it is
    /// (not with a wedge reader: its next card would be typed into the
    /// dialog's search). Nothing while something is over the roster.
    fn action_for_tap(&self, record: &TapRecord) -> Option<Action> {
        if self.modal.is_some() {
            return None;
        }
        let tap = UnclaimedTap {
            tap_id: record.tap_id,
            uid: record.uid.clone(),
            at: record.at,
            reader: record.reader.clone(),
        };
        if self.roster.enrolling() {
            let selected = self.roster.selected_row()?.student.id;
            let own_card = record.student.as_ref().is_some_and(|s| s.id == selected);
            let bindable = matches!(record.outcome, Outcome::Unknown) || record.student.is_some();
            return (bindable && !own_card).then_some(Action::Claim {
                tap,
                student_id: selected,
                move_card: false,
            });
        }
        (record.outcome == Outcome::Unknown && self.wedge.is_none())
            .then_some(Action::OpenAssign(tap))
    }

    fn cue(&mut self, cue: Option<Cue>) {
        if cue.is_some_and(|cue| self.bell.contains(&cue)) {
            self.ring_bell = true;
        }
    }
}

/// The bell cue for an outcome, if it has one.
fn cue_of(outcome: Outcome) -> Option<Cue> {
    match outcome {
        Outcome::Present => Some(Cue::Present),
        Outcome::Late | Outcome::TooLate => Some(Cue::Late),
        Outcome::Duplicate { .. } => Some(Cue::Duplicate),
        Outcome::Unknown => Some(Cue::Unknown),
        Outcome::RandomId => Some(Cue::RandomId),
        Outcome::NotEnrolled => Some(Cue::NotEnrolled),
        Outcome::Repeat => None,
    }
}
