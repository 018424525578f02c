//! The keys of the TUI's commands, in one place, configurable in `[keys]`.
//! Moving around (arrows, j k, g G, PgUp PgDn, Esc) is fixed.

use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    Filter,
    Mark,
    Undo,
    Unclaimed,
    Enrol,
    LostCard,
    AddStudent,
    EditStudent,
    EndSession,
    Sync,
    Term,
}

impl Command {
    /// The `[keys]` name and what the help overlay says.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Command::Quit => ("quit", "leave (asks: stop, or go on recording)"),
            Command::Help => ("help", "this help"),
            Command::Filter => ("filter", "filter by name or student id"),
            Command::Mark => ("mark", "mark the selected student by hand"),
            Command::Undo => ("undo", "undo the last change by hand"),
            Command::Unclaimed => ("unclaimed", "unclaimed taps: give a card to a student"),
            Command::Enrol => ("enrol", "enrol mode: new cards go to the selected"),
            Command::LostCard => ("lost_card", "lost card: take the selected's cards"),
            Command::AddStudent => ("add_student", "add a student"),
            Command::EditStudent => ("edit_student", "edit the selected student"),
            Command::EndSession => ("end_session", "end the session (the rest are absent)"),
            Command::Sync => ("sync", "sync: the push to the server"),
            Command::Term => ("term", "the term: all sessions' marks as a grid"),
        }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Keymap {
    pub quit: char,
    pub help: char,
    pub filter: char,
    pub mark: char,
    pub undo: char,
    pub unclaimed: char,
    pub enrol: char,
    pub lost_card: char,
    pub add_student: char,
    pub edit_student: char,
    pub end_session: char,
    pub sync: char,
    pub term: char,
}

impl Default for Keymap {
    // None of these is a hex digit: keyboard-wedge readers type those.
    fn default() -> Self {
        Self {
            quit: 'q',
            help: '?',
            filter: '/',
            mark: 'm',
            undo: 'u',
            unclaimed: 'U',
            enrol: 'n',
            lost_card: 'L',
            add_student: '+',
            edit_student: 'r',
            end_session: 'x',
            sync: 'S',
            term: 't',
        }
    }
}

/// Keys that move around the roster and cannot be given to a command.
const MOVEMENT: &[char] = &['j', 'k', 'g', 'G'];

impl Keymap {
    pub fn bindings(&self) -> [(Command, char); 13] {
        [
            (Command::Help, self.help),
            (Command::Filter, self.filter),
            (Command::Mark, self.mark),
            (Command::Undo, self.undo),
            (Command::Unclaimed, self.unclaimed),
            (Command::Enrol, self.enrol),
            (Command::LostCard, self.lost_card),
            (Command::AddStudent, self.add_student),
            (Command::EditStudent, self.edit_student),
            (Command::EndSession, self.end_session),
            (Command::Sync, self.sync),
            (Command::Term, self.term),
            (Command::Quit, self.quit),
        ]
    }

    pub fn command(&self, key: char) -> Option<Command> {
        self.bindings()
            .into_iter()
            .find(|(_, bound)| *bound == key)
            .map(|(command, _)| command)
    }

    /// The first problem as (`keys.name`, message), if any.
    pub fn problem(&self) -> Option<(String, String)> {
        let bindings = self.bindings();
        for (index, (command, key)) in bindings.iter().enumerate() {
            let name = format!("keys.{}", command.describe().0);
            if key.is_ascii_hexdigit() {
                return Some((
                    name,
                    format!("`{key}` is a hex digit, kept for keyboard-wedge readers"),
                ));
            }
            if MOVEMENT.contains(key) || key.is_control() || key.is_whitespace() {
                return Some((
                    name,
                    format!("`{key}` is taken by moving around the roster"),
                ));
            }
            if let Some((other, _)) = bindings[..index].iter().find(|(_, k)| k == key) {
                return Some((
                    name,
                    format!("`{key}` is already the key of {}", other.describe().0),
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_keys_are_valid_and_found() {
        let keys = Keymap::default();
        assert_eq!(keys.problem(), None);
        assert_eq!(keys.command('m'), Some(Command::Mark));
        assert_eq!(keys.command('S'), Some(Command::Sync));
        assert_eq!(keys.command('t'), Some(Command::Term));
        assert_eq!(keys.command('z'), None);
    }

    #[test]
    fn clashes_hex_digits_and_movement_keys_are_refused() {
        let twice = Keymap {
            undo: 'm',
            ..Keymap::default()
        };
        assert_eq!(
            twice.problem(),
            Some(("keys.undo".into(), "`m` is already the key of mark".into()))
        );
        let hex = Keymap {
            quit: 'a',
            ..Keymap::default()
        };
        assert_eq!(hex.problem().map(|p| p.0), Some("keys.quit".into()));
        let movement = Keymap {
            mark: 'j',
            ..Keymap::default()
        };
        assert_eq!(movement.problem().map(|p| p.0), Some("keys.mark".into()));
    }
}
