//! What each key does to the App: a keyboard-wedge reader's digits, the
//! keys of what is open over the roster, the filter line, moving around the
//! roster, and the command keys (which key is which is in `keymap.rs`).

use super::App;
use crate::keymap::Command;
use crate::tui::action::Action;
use crate::tui::dialog::{DialogKey, MarkDialog, StudentDialog};
use crate::tui::modal::Modal;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        // A wedge reader's digits go to its input unless something open is
        // taking text; what is open stays open.
        let takes_text = self.modal.as_ref().is_some_and(Modal::takes_text);
        if !takes_text
            && !ctrl_c
            && let Some(action) = self.on_wedge_key(key.code)
        {
            return action;
        }
        let ended = self.session_ended();
        match &mut self.modal {
            // As the quit key: an ended session has nothing left to resume.
            None if ctrl_c && ended => Action::Quit,
            None if ctrl_c => {
                self.modal = Some(Modal::ConfirmQuit);
                Action::Redraw
            }
            None => self.on_roster_key(key.code),
            Some(Modal::Filter) => self.on_filter_key(key.code),
            Some(Modal::Term(_)) => self.on_term_key(key.code, ctrl_c),
            Some(modal) => match modal.on_key(key.code, ctrl_c) {
                DialogKey::Stay => Action::Redraw,
                DialogKey::Close => {
                    self.modal = None;
                    Action::Redraw
                }
                DialogKey::Then(action) => {
                    self.modal = None;
                    action
                }
            },
        }
    }

    /// Wedge readers type hex or decimal digits, none of which is a key of
    /// ours (j k g G q y n ? / are not hex), then Enter; the card goes into
    /// the reader channel. `None`: not theirs.
    fn on_wedge_key(&mut self, code: KeyCode) -> Option<Action> {
        let wedge = self.wedge.as_mut()?;
        let typing = !wedge.typed().is_empty();
        match code {
            KeyCode::Char(c) => {
                if !wedge.push(c) {
                    return None;
                }
            }
            KeyCode::Enter if typing => wedge.submit(),
            KeyCode::Backspace if typing => wedge.pop(),
            KeyCode::Esc if typing => wedge.clear(),
            _ => return None,
        }
        Some(Action::Redraw)
    }

    fn on_roster_key(&mut self, code: KeyCode) -> Action {
        if let KeyCode::Char(c) = code
            && let Some(command) = self.keys.command(c)
        {
            return self.run_command(command);
        }
        let page = self.roster.page_rows() as isize;
        let roster = &mut self.roster;
        match code {
            KeyCode::Esc if !roster.filter().is_empty() => roster.clear_filter(),
            KeyCode::Down | KeyCode::Char('j') => roster.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => roster.move_by(-1),
            KeyCode::PageDown => roster.move_by(page),
            KeyCode::PageUp => roster.move_by(-page),
            KeyCode::Home | KeyCode::Char('g') => roster.move_by(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => roster.move_by(isize::MAX / 2),
            _ => return Action::None,
        }
        Action::Redraw
    }

    fn on_filter_key(&mut self, code: KeyCode) -> Action {
        match code {
            // The filter stays; the selection starts at its first match.
            KeyCode::Enter => {
                self.modal = None;
                self.roster.edit_filter(|_| {});
            }
            KeyCode::Esc => {
                self.modal = None;
                self.roster.edit_filter(String::clear);
            }
            KeyCode::Backspace => self.roster.edit_filter(|filter| {
                filter.pop();
            }),
            KeyCode::Char(c) if !c.is_control() => self.roster.edit_filter(|f| f.push(c)),
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// The term view: the movement keys move around the grid (h l and the
    /// side arrows through the sessions); Esc, its own key, the quit key or
    /// Ctrl-C close it. Nothing else does, so a stray key leaves it open.
    fn on_term_key(&mut self, code: KeyCode, ctrl_c: bool) -> Action {
        let closing = ctrl_c
            || code == KeyCode::Esc
            || code == KeyCode::Char(self.keys.term)
            || code == KeyCode::Char(self.keys.quit);
        let Some(Modal::Term(view)) = &mut self.modal else {
            return Action::None;
        };
        if closing {
            self.modal = None;
            return Action::Redraw;
        }
        let page = view.page_rows() as isize;
        match code {
            KeyCode::Down | KeyCode::Char('j') => view.move_rows(1),
            KeyCode::Up | KeyCode::Char('k') => view.move_rows(-1),
            KeyCode::PageDown => view.move_rows(page),
            KeyCode::PageUp => view.move_rows(-page),
            KeyCode::Home | KeyCode::Char('g') => view.move_rows(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => view.move_rows(isize::MAX / 2),
            KeyCode::Right | KeyCode::Char('l') => view.move_columns(1),
            KeyCode::Left | KeyCode::Char('h') => view.move_columns(-1),
            _ => return Action::None,
        }
        Action::Redraw
    }

    fn run_command(&mut self, command: Command) -> Action {
        let selected = self.roster.selected_row().map(|r| r.student.clone());
        let open = match command {
            Command::Quit if self.session_ended() => return Action::Quit,
            Command::Quit => Some(Modal::ConfirmQuit),
            Command::Help => Some(Modal::Help),
            Command::Sync => Some(Modal::Sync),
            Command::Filter => Some(Modal::Filter),
            Command::Undo => return Action::Undo,
            Command::Unclaimed => return Action::OpenUnclaimed,
            Command::Term => return Action::OpenTerm,
            Command::EndSession if !self.session_ended() => Some(Modal::ConfirmEnd),
            // Ended already: the summary again, closed by a stray key maybe.
            Command::EndSession => return Action::ShowSummary,
            Command::Mark => selected.map(|s| Modal::Mark(MarkDialog::new(s))),
            Command::LostCard => selected.map(Modal::RemoveCards),
            Command::AddStudent => Some(Modal::Student(StudentDialog::add())),
            Command::EditStudent => selected.map(|s| Modal::Student(StudentDialog::edit(s))),
            Command::Enrol => {
                self.roster.toggle_enrol();
                None
            }
        };
        if open.is_some() {
            self.modal = open;
        }
        Action::Redraw
    }
}
