//! The dialogs over the roster that hold something being typed or chosen:
//! mark a student by hand, give an unknown card to a student, pick an
//! unclaimed tap, add or edit a student. Plain data and key handling; which
//! one is open is `modal.rs`'s `Modal`, drawing is in `modal_view.rs`, and
//! store work is done by the event loop from `Action`s.

use super::action::Action;
use crate::domain::{Mark, Student};
use crate::fuzzy;
use crate::store::UnclaimedTap;
use ratatui::crossterm::event::KeyCode;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudentDialog {
    /// `None`: a new student.
    pub existing: Option<i64>,
    pub student_no: String,
    pub name: String,
    /// Typing goes into the name (else the student id); Tab switches.
    pub on_name: bool,
}

/// Setting a mark by hand: pick the mark, then an optional note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkDialog {
    pub student: Student,
    pub chosen: Option<Mark>,
    pub note: String,
}

/// Giving the card of an unclaimed tap to a student.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignDialog {
    pub tap: UnclaimedTap,
    /// Students without a card.
    pub students: Vec<Student>,
    pub query: String,
    pub selected: usize,
    /// Moving the card to the first student from its holder, the second:
    /// asking before doing it.
    pub confirm_move: Option<(Student, Student)>,
    /// An arrow key chose a student (Enter then gives the card).
    pub moved: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnclaimedDialog {
    pub taps: Vec<UnclaimedTap>,
    pub selected: usize,
}

/// What a key did to what is over the roster (a dialog, the help, the quit
/// question).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogKey {
    /// Still open (and redrawn).
    Stay,
    Close,
    /// Close and let the event loop do this.
    Then(Action),
}

impl StudentDialog {
    pub fn add() -> Self {
        Self {
            existing: None,
            student_no: String::new(),
            name: String::new(),
            on_name: false,
        }
    }

    pub fn edit(student: Student) -> Self {
        Self {
            existing: Some(student.id),
            student_no: student.student_no,
            name: student.name,
            on_name: true,
        }
    }
}

impl MarkDialog {
    pub fn new(student: Student) -> Self {
        Self {
            student,
            chosen: None,
            note: String::new(),
        }
    }
}

impl AssignDialog {
    pub fn new(tap: UnclaimedTap, students: Vec<Student>) -> Self {
        Self {
            tap,
            students,
            query: String::new(),
            selected: 0,
            confirm_move: None,
            moved: false,
        }
    }

    /// The card of `tap` belongs to `holder`: ask before moving it to `student`.
    pub fn confirm_move(tap: UnclaimedTap, student: Student, holder: Student) -> Self {
        Self {
            confirm_move: Some((student, holder)),
            ..Self::new(tap, Vec::new())
        }
    }

    /// Students matching the query, best first.
    pub fn matches(&self) -> Vec<&Student> {
        fuzzy::rank(&self.query, &self.students, |s| {
            format!("{} {}", s.name, s.student_no)
        })
    }
}

pub fn mark_key(dialog: &mut MarkDialog, code: KeyCode) -> DialogKey {
    let Some(mark) = dialog.chosen else {
        dialog.chosen = match code {
            KeyCode::Char('p') => Some(Mark::Present),
            KeyCode::Char('l') => Some(Mark::Late),
            KeyCode::Char('e') => Some(Mark::Excused),
            KeyCode::Char('a') => Some(Mark::Absent),
            KeyCode::Esc => return DialogKey::Close,
            _ => None,
        };
        return DialogKey::Stay;
    };
    match code {
        KeyCode::Enter => {
            let note = dialog.note.trim();
            DialogKey::Then(Action::SetMark {
                student_id: dialog.student.id,
                mark,
                note: (!note.is_empty()).then(|| note.to_string()),
            })
        }
        KeyCode::Esc => DialogKey::Close,
        KeyCode::Backspace => {
            dialog.note.pop();
            DialogKey::Stay
        }
        KeyCode::Char(c) if !c.is_control() => {
            dialog.note.push(c);
            DialogKey::Stay
        }
        _ => DialogKey::Stay,
    }
}

pub fn assign_key(dialog: &mut AssignDialog, code: KeyCode) -> DialogKey {
    if let Some((student, _)) = &dialog.confirm_move {
        return match code {
            KeyCode::Char('y' | 'Y') => DialogKey::Then(Action::Claim {
                tap: dialog.tap.clone(),
                student_id: student.id,
                move_card: true,
            }),
            _ => {
                dialog.confirm_move = None;
                DialogKey::Stay
            }
        };
    }
    let count = dialog.matches().len();
    match code {
        KeyCode::Esc => return DialogKey::Close,
        // Only once a student was picked: a stray Enter gives no card away.
        KeyCode::Enter if dialog.query.is_empty() && !dialog.moved => {}
        KeyCode::Enter => {
            return match dialog.matches().get(dialog.selected) {
                Some(student) => DialogKey::Then(Action::Claim {
                    tap: dialog.tap.clone(),
                    student_id: student.id,
                    move_card: false,
                }),
                None => DialogKey::Stay,
            };
        }
        KeyCode::Down => {
            dialog.selected = (dialog.selected + 1).min(count.saturating_sub(1));
            dialog.moved = true;
        }
        KeyCode::Up => {
            dialog.selected = dialog.selected.saturating_sub(1);
            dialog.moved = true;
        }
        KeyCode::Backspace => {
            dialog.query.pop();
            dialog.selected = 0;
        }
        KeyCode::Char(c) if !c.is_control() => {
            dialog.query.push(c);
            dialog.selected = 0;
        }
        _ => {}
    }
    DialogKey::Stay
}

pub fn unclaimed_key(dialog: &mut UnclaimedDialog, code: KeyCode) -> DialogKey {
    match code {
        KeyCode::Esc | KeyCode::Char('q') => DialogKey::Close,
        KeyCode::Down | KeyCode::Char('j') => {
            dialog.selected = (dialog.selected + 1).min(dialog.taps.len().saturating_sub(1));
            DialogKey::Stay
        }
        KeyCode::Up | KeyCode::Char('k') => {
            dialog.selected = dialog.selected.saturating_sub(1);
            DialogKey::Stay
        }
        KeyCode::Enter => match dialog.taps.get(dialog.selected) {
            Some(tap) => DialogKey::Then(Action::OpenAssign(tap.clone())),
            None => DialogKey::Close,
        },
        _ => DialogKey::Stay,
    }
}

pub fn student_key(dialog: &mut StudentDialog, code: KeyCode) -> DialogKey {
    let field = if dialog.on_name {
        &mut dialog.name
    } else {
        &mut dialog.student_no
    };
    match code {
        KeyCode::Esc => return DialogKey::Close,
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
            dialog.on_name = !dialog.on_name;
        }
        KeyCode::Backspace => {
            field.pop();
        }
        KeyCode::Char(c) if !c.is_control() => field.push(c),
        // Enter in the id field goes on to the name, it does not save.
        KeyCode::Enter if !dialog.on_name => dialog.on_name = true,
        KeyCode::Enter => {
            let (no, name) = (dialog.student_no.trim(), dialog.name.trim());
            if !no.is_empty() && !name.is_empty() {
                return DialogKey::Then(Action::SaveStudent {
                    existing: dialog.existing,
                    student_no: no.to_string(),
                    name: name.to_string(),
                });
            }
        }
        _ => {}
    }
    DialogKey::Stay
}
