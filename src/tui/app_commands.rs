//! What each command key does to the App (the keys are in `keymap.rs`).

use super::app::{Action, App, Mode};
use super::dialog::{Dialog, MarkDialog, StudentDialog};
use crate::keymap::Command;

impl App {
    pub(super) fn run_command(&mut self, command: Command) -> Action {
        let selected = self
            .visible_rows()
            .get(self.selected)
            .map(|r| r.student.clone());
        match command {
            Command::Quit if self.session_ended => return Action::Quit,
            Command::Quit => self.mode = Mode::ConfirmQuit,
            Command::Help => self.mode = Mode::Help,
            Command::Filter => self.mode = Mode::Filter,
            Command::Undo => return Action::Undo,
            Command::Unclaimed => return Action::OpenUnclaimed,
            Command::EndSession if !self.session_ended => self.dialog = Some(Dialog::ConfirmEnd),
            Command::EndSession => {}
            Command::Mark => {
                if let Some(student) = selected {
                    self.dialog = Some(Dialog::Mark(MarkDialog {
                        student,
                        chosen: None,
                        note: String::new(),
                    }));
                }
            }
            Command::LostCard => {
                if let Some(student) = selected {
                    self.dialog = Some(Dialog::RemoveCards(student));
                }
            }
            Command::AddStudent => {
                self.dialog = Some(Dialog::Student(StudentDialog {
                    existing: None,
                    student_no: String::new(),
                    name: String::new(),
                    on_name: false,
                }));
            }
            Command::EditStudent => {
                if let Some(student) = selected {
                    self.dialog = Some(Dialog::Student(StudentDialog {
                        existing: Some(student.id),
                        student_no: student.student_no,
                        name: student.name,
                        on_name: true,
                    }));
                }
            }
            Command::Enrol => {
                self.enrol = !self.enrol;
                let on_card_holder = self
                    .visible_rows()
                    .get(self.selected)
                    .is_some_and(|r| r.has_card);
                if self.enrol && on_card_holder {
                    self.select_next_without_card();
                }
            }
        }
        Action::Redraw
    }
}
