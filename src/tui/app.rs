//! The TUI's state as plain data, and how keys and engine updates change it.
//! No terminal here: tests drive `App` directly and render it to a TestBackend.

use super::dialog::{Dialog, DialogKey};
use crate::config::Cue;
use crate::domain::{Mark, Outcome, RosterRow, Session, TapRecord, Timestamp};
use crate::engine::Update;
use crate::keymap::Keymap;
use crate::reader::ReaderEvent;
use crate::rules::{Counts, tally};
use crate::store::UnclaimedTap;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a filter after `/`.
    Filter,
    Help,
    ConfirmQuit,
}

/// The big line under the roster: what the last tap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Banner {
    Ready,
    Tap(TapRecord),
    NotRecorded {
        uid: String,
        error: String,
    },
    /// A card was seen but could not be read.
    CardError {
        reader: String,
        message: String,
    },
    /// A change asked for from the keyboard failed: what, and why.
    Failed {
        what: String,
        error: String,
    },
    /// What a change made from the keyboard did.
    Info {
        headline: String,
        detail: String,
    },
}

impl Banner {
    /// How long the banner stays: a failure long enough to be seen from
    /// across the room, anything else until the next student is at the door.
    fn shown_for(&self) -> chrono::Duration {
        match self {
            Banner::Ready => chrono::Duration::MAX,
            Banner::NotRecorded { .. } | Banner::CardError { .. } | Banner::Failed { .. } => {
                chrono::Duration::seconds(60)
            }
            Banner::Tap(_) | Banner::Info { .. } => chrono::Duration::seconds(20),
        }
    }
}

/// What the event loop should do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Redraw,
    Quit,
    /// A keyboard-wedge reader typed a card number and Enter.
    WedgeLine(String),
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
    /// End the open session and start a new one.
    NewSession,
    /// Go on with the session found open (the resume question's answer).
    ContinueSession,
    RemoveCards(i64),
    /// Write the session's report to the export folder.
    ExportReport,
    SaveStudent {
        existing: Option<i64>,
        student_no: String,
        name: String,
    },
}

#[derive(Clone, Debug)]
pub struct App {
    pub course: String,
    pub session_id: i64,
    pub started_at: Timestamp,
    pub now: Timestamp,
    pub rows: Vec<RosterRow>,
    pub counts: Counts,
    /// Set through `set_banner`, which notes when.
    pub banner: Banner,
    /// When the banner was set: it makes way for "Ready" after a while, so
    /// the next student never reads the previous one's name as theirs.
    pub banner_at: Timestamp,
    /// Readers currently connected, in the order they appeared.
    pub readers: Vec<String>,
    /// The last problem a reader backend reported, until a reader shows up.
    pub reader_problem: Option<String>,
    /// The simulated scenario has played to its end.
    pub scenario_finished: bool,
    /// Keyboard-wedge input typed so far; `None` when no wedge reader is used.
    pub wedge_input: Option<String>,
    /// Outcomes that ring the terminal bell.
    pub bell: Vec<Cue>,
    /// The next frame should ring the bell.
    pub ring_bell: bool,
    /// Reloading the roster from the store failed; shown in the status line.
    pub store_problem: Option<String>,
    pub db_path: String,
    pub sync: String,
    pub mode: Mode,
    pub filter: String,
    /// Index into `visible_rows()`.
    pub selected: usize,
    /// First visible row of the table.
    pub offset: usize,
    /// Roster rows that fit on screen; the event loop keeps it current.
    pub page_rows: usize,
    /// The dialog over the roster, if one is open; it gets the keys.
    pub dialog: Option<Dialog>,
    /// Something a tap asks for that needs the store (open the assign
    /// dialog, bind a card in enrol mode): the event loop carries it out.
    pub pending: Option<Action>,
    /// Enrol mode: each tap of a new card binds the selected student.
    pub enrol: bool,
    pub keys: Keymap,
    pub session_ended: bool,
    /// Where the end-of-session export goes, as shown: `~/taproll-reports (csv, xlsx)`.
    pub export_to: Option<String>,
}

impl App {
    pub fn new(session: &Session, db_path: String, now: Timestamp) -> Self {
        Self {
            course: session.course.name.clone(),
            session_id: session.id,
            started_at: session.started_at,
            now,
            rows: Vec::new(),
            counts: Counts::default(),
            banner: Banner::Ready,
            banner_at: now,
            readers: Vec::new(),
            reader_problem: None,
            scenario_finished: false,
            wedge_input: None,
            bell: Vec::new(),
            ring_bell: false,
            store_problem: None,
            db_path,
            sync: "off".to_string(),
            mode: Mode::Normal,
            filter: String::new(),
            selected: 0,
            offset: 0,
            page_rows: 10,
            dialog: None,
            pending: None,
            enrol: false,
            keys: Keymap::default(),
            session_ended: session.ended_at.is_some(),
            export_to: None,
        }
    }

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
        if let Some(Dialog::Resume { until }) = &self.dialog
            && now >= *until
        {
            self.dialog = None;
            return Action::ContinueSession;
        }
        Action::Redraw
    }

    pub fn set_rows(&mut self, rows: Vec<RosterRow>) {
        self.counts = tally(&rows);
        self.rows = rows;
        self.clamp_selection();
    }

    /// Rows matching the filter (name or student id, ignoring case).
    pub fn visible_rows(&self) -> Vec<&RosterRow> {
        let needle = self.filter.to_lowercase();
        self.rows
            .iter()
            .filter(|row| {
                needle.is_empty()
                    || row.student.name.to_lowercase().contains(&needle)
                    || row.student.student_no.to_lowercase().contains(&needle)
            })
            .collect()
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
                self.set_banner(Banner::NotRecorded {
                    uid: uid.to_string(),
                    error,
                });
                false
            }
            Update::Reader(event) => {
                self.apply_reader_event(event);
                false
            }
            Update::AdminCard { reader, .. } => {
                // The kiosk by the door: the admin card asks to end the class.
                if !self.session_ended && self.dialog.is_none() {
                    self.mode = Mode::Normal;
                    self.dialog = Some(Dialog::ConfirmEnd);
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
    /// dialog's search).
    fn action_for_tap(&self, record: &TapRecord) -> Option<Action> {
        if self.dialog.is_some() || self.mode != Mode::Normal {
            return None;
        }
        let tap = UnclaimedTap {
            tap_id: record.tap_id,
            uid: record.uid.clone(),
            at: record.at,
            reader: record.reader.clone(),
        };
        if self.enrol {
            let selected = self.visible_rows().get(self.selected)?.student.id;
            let own_card = record.student.as_ref().is_some_and(|s| s.id == selected);
            let bindable = matches!(record.outcome, Outcome::Unknown) || record.student.is_some();
            return (bindable && !own_card).then_some(Action::Claim {
                tap,
                student_id: selected,
                move_card: false,
            });
        }
        (record.outcome == Outcome::Unknown && self.wedge_input.is_none())
            .then_some(Action::OpenAssign(tap))
    }

    /// In enrol mode: moves to the next student without a card.
    pub fn select_next_without_card(&mut self) {
        let rows = self.visible_rows();
        let next = (self.selected + 1..rows.len())
            .chain(0..self.selected)
            .find(|&i| !rows[i].has_card);
        if let Some(next) = next {
            self.selected = next;
            self.scroll_into_view();
        }
    }

    fn cue(&mut self, cue: Option<Cue>) {
        if cue.is_some_and(|cue| self.bell.contains(&cue)) {
            self.ring_bell = true;
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        // A wedge reader's digits go to its input unless a dialog is taking
        // text; the dialog stays open.
        let takes_text =
            self.mode == Mode::Filter || self.dialog.as_ref().is_some_and(Dialog::takes_text);
        if !takes_text
            && !ctrl_c
            && let Some(action) = self.on_wedge_key(key.code)
        {
            return action;
        }
        if let Some(dialog) = &mut self.dialog {
            return match dialog.on_key(key.code) {
                DialogKey::Stay => Action::Redraw,
                DialogKey::Close => {
                    self.dialog = None;
                    Action::Redraw
                }
                DialogKey::Then(action) => {
                    self.dialog = None;
                    action
                }
            };
        }
        match self.mode {
            Mode::Help => {
                self.mode = Mode::Normal;
                Action::Redraw
            }
            Mode::ConfirmQuit => match key.code {
                KeyCode::Char('y' | 'Y' | 'q') => Action::Quit,
                _ if ctrl_c => Action::Quit,
                _ => {
                    self.mode = Mode::Normal;
                    Action::Redraw
                }
            },
            Mode::Filter => self.on_filter_key(key),
            Mode::Normal if ctrl_c => {
                self.mode = Mode::ConfirmQuit;
                Action::Redraw
            }
            Mode::Normal => self.on_normal_key(key.code),
        }
    }

    /// Wedge readers type hex or decimal digits, none of which is a key of
    /// ours (j k g G q y n ? / are not hex), then Enter. `None`: not theirs.
    fn on_wedge_key(&mut self, code: KeyCode) -> Option<Action> {
        let input = self.wedge_input.as_mut()?;
        match code {
            KeyCode::Char(c) if c.is_ascii_hexdigit() => input.push(c),
            KeyCode::Enter if !input.is_empty() => {
                return Some(Action::WedgeLine(std::mem::take(input)));
            }
            KeyCode::Backspace if !input.is_empty() => {
                input.pop();
            }
            KeyCode::Esc if !input.is_empty() => input.clear(),
            _ => return None,
        }
        Some(Action::Redraw)
    }

    fn on_normal_key(&mut self, code: KeyCode) -> Action {
        if let KeyCode::Char(c) = code
            && let Some(command) = self.keys.command(c)
        {
            return self.run_command(command);
        }
        let page = self.page_rows.max(1);
        match code {
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.clamp_selection();
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::PageDown => self.move_by(page as isize),
            KeyCode::PageUp => self.move_by(-(page as isize)),
            KeyCode::Home | KeyCode::Char('g') => self.move_by(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_by(isize::MAX / 2),
            _ => return Action::None,
        }
        Action::Redraw
    }

    fn on_filter_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Esc => {
                self.filter.clear();
                self.mode = Mode::Normal;
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) if !c.is_control() => self.filter.push(c),
            _ => return Action::None,
        }
        self.selected = 0;
        self.offset = 0;
        Action::Redraw
    }

    fn move_by(&mut self, delta: isize) {
        let count = self.visible_rows().len();
        if count == 0 {
            self.selected = 0;
            return;
        }
        let target = (self.selected as isize).saturating_add(delta);
        self.selected = target.clamp(0, count as isize - 1) as usize;
        self.scroll_into_view();
    }

    fn clamp_selection(&mut self) {
        let count = self.visible_rows().len();
        self.selected = self.selected.min(count.saturating_sub(1));
        self.scroll_into_view();
    }

    /// Keeps the selected row on screen, moving the view as little as possible.
    pub fn scroll_into_view(&mut self) {
        let page = self.page_rows.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        let count = self.visible_rows().len();
        self.offset = self.offset.min(count.saturating_sub(page));
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
