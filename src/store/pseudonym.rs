//! What a forgotten student's data becomes (pure). Their numbers become the
//! pseudonym, their name the pseudonym too, their email nothing, and each
//! of their cards' UIDs a made-up one: in their own events only. A number
//! or a card can be someone else's at another time (a number freed by a
//! renumbering and given again, a card moved to another student), so a
//! number is theirs only over the events in which they held it.

use crate::events::Event;
use std::collections::{BTreeMap, BTreeSet};

/// A number the student held, over the events `from..to` (by sequence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub number: String,
    pub from: i64,
    pub to: i64,
}

/// The numbers a student holding `current` now held, newest first, from
/// the renumberings among `events` (in sequence order): each one's
/// `previous_student_no` was theirs before it. Before another student was
/// renumbered away from a number, it was that student's, not theirs.
pub fn history(current: &str, events: &[(i64, Event)]) -> Vec<Held> {
    let mut held = Vec::new();
    let (mut number, mut to) = (current.to_string(), i64::MAX);
    for (seq, event) in events.iter().rev() {
        let Event::StudentSaved {
            student_no,
            previous_student_no: Some(previous),
            ..
        } = event
        else {
            continue;
        };
        if *seq >= to {
            continue;
        }
        if *student_no == number && *previous != number {
            // Their own renumbering: `previous` was theirs before.
            held.push(Held {
                number: std::mem::replace(&mut number, previous.clone()),
                from: *seq,
                to,
            });
            to = *seq;
        } else if *previous == number && *student_no != number {
            // Someone else's, which freed the number: theirs only after.
            held.push(Held {
                number,
                from: *seq + 1,
                to,
            });
            return held;
        }
    }
    held.push(Held {
        number,
        from: i64::MIN,
        to,
    });
    held
}

/// A student being forgotten: what is erased and what stands for it.
#[derive(Debug)]
pub struct Erasure {
    pub numbers: Vec<Held>,
    pub name: String,
    pub pseudonym: String,
    /// Each card UID (stored hex) of the student, and its stand-in.
    pub uids: BTreeMap<String, String>,
    /// The cards they hold now: a tap of one nobody was known to hold
    /// then (an unknown card, claimed later) is theirs too.
    pub cards: BTreeSet<String>,
}

/// What rewriting one event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewritten {
    pub changed: bool,
    /// The student's numbers the event named.
    pub numbers: BTreeSet<String>,
    /// The number the event leaves them with (a renumbering's new one):
    /// what a server that took it knows them by.
    pub held: Option<String>,
}

impl Erasure {
    /// Whether `number` was the student's at event `seq`.
    fn theirs(&self, number: &str, seq: i64) -> bool {
        self.numbers
            .iter()
            .any(|h| h.number == number && (h.from..h.to).contains(&seq))
    }

    /// Event `seq` with the student replaced, if it is about them.
    pub fn rewrite(&self, seq: i64, event: &mut Event) -> Rewritten {
        let mut done = Rewritten::default();
        let number = |number: &mut String, done: &mut Rewritten| {
            if self.theirs(number, seq) {
                let was = std::mem::replace(number, self.pseudonym.clone());
                done.held = Some(was.clone());
                done.numbers.insert(was);
                done.changed = true;
                true
            } else {
                false
            }
        };
        match event {
            Event::Tap {
                uid, student_no, ..
            } => {
                let theirs = match student_no {
                    Some(no) => number(no, &mut done),
                    None => self.cards.contains(uid.as_str()),
                };
                if theirs {
                    done.changed |= self.uid(uid);
                }
            }
            Event::TapMoved {
                student_no: Some(no),
                ..
            } => {
                number(no, &mut done);
            }
            // A note may name them, whoever it is about (as in the marks).
            Event::Mark {
                student_no, note, ..
            } => {
                number(student_no, &mut done);
                done.changed |= self.scrub_note(note);
            }
            Event::SessionEnded { marks, .. } => {
                for mark in marks {
                    number(&mut mark.student_no, &mut done);
                    done.changed |= self.scrub_note(&mut mark.note);
                }
            }
            Event::StudentSaved {
                student_no,
                previous_student_no,
                name,
                email,
                ..
            } => {
                if number(student_no, &mut done) {
                    // Their renumbering: the number before was theirs too.
                    if let Some(previous) = previous_student_no.take() {
                        done.numbers.insert(previous);
                        *previous_student_no = Some(self.pseudonym.clone());
                    }
                    *name = self.pseudonym.clone();
                    *email = None;
                }
            }
            Event::CardBound {
                uid,
                student_no,
                from_student_no,
            } => {
                if number(student_no, &mut done) {
                    done.changed |= self.uid(uid);
                }
                // Moved from them to another student: the card is that
                // student's now, its UID stays.
                if let Some(from) = from_student_no {
                    number(from, &mut done);
                }
            }
            Event::CardRemoved { uid, student_no } => {
                if number(student_no, &mut done) {
                    done.changed |= self.uid(uid);
                }
            }
            // A session's label may name them too ("Ada's make-up lab").
            Event::SessionStarted { label, .. } => {
                done.changed |= self.scrub_note(label);
            }
            Event::SessionLabelled { label, .. } => {
                let mut text = Some(std::mem::take(label));
                done.changed |= self.scrub_note(&mut text);
                *label = text.unwrap_or_default();
            }
            Event::TapMoved { .. } | Event::StudentForgotten { .. } => {}
        }
        done
    }

    /// The card UIDs an event of theirs names (to find cards they no
    /// longer hold).
    pub fn their_uids(&self, seq: i64, event: &Event) -> Option<String> {
        match event {
            Event::Tap {
                uid,
                student_no: Some(no),
                ..
            }
            | Event::CardBound {
                uid,
                student_no: no,
                ..
            }
            | Event::CardRemoved {
                uid,
                student_no: no,
            } if self.theirs(no, seq) => Some(uid.clone()),
            _ => None,
        }
    }

    /// Free text (a note, an error) with the name replaced where it stands
    /// as words. Numbers are not: `11` would be found in a date.
    pub fn scrub(&self, text: &str) -> String {
        replace_words(text, &self.name, &self.pseudonym)
    }

    /// A JSON document (an event of taproll before typed events): a string
    /// that is exactly a number they held first or one of their UIDs is
    /// replaced, and the name wherever it stands as words; true when one
    /// changed.
    pub fn scrub_json(&self, value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => {
                let scrubbed = if self.theirs(text, 0) {
                    self.pseudonym.clone()
                } else if let Some(stand_in) = self.uids.get(text.as_str()) {
                    stand_in.clone()
                } else {
                    self.scrub(text)
                };
                let changed = &scrubbed != text;
                *text = scrubbed;
                changed
            }
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, item| self.scrub_json(item) | changed),
            serde_json::Value::Object(fields) => fields
                .values_mut()
                .fold(false, |changed, item| self.scrub_json(item) | changed),
            _ => false,
        }
    }

    fn uid(&self, uid: &mut String) -> bool {
        match self.uids.get(uid.as_str()) {
            Some(stand_in) => {
                *uid = stand_in.clone();
                true
            }
            None => false,
        }
    }

    fn scrub_note(&self, note: &mut Option<String>) -> bool {
        let Some(text) = note else {
            return false;
        };
        let scrubbed = self.scrub(text);
        let changed = scrubbed != *text;
        *text = scrubbed;
        changed
    }
}

/// `text` with each `from` that stands as a word (no letter or digit
/// right before or after it) replaced by `to`.
fn replace_words(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_string();
    }
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(from) {
        let end = at + from.len();
        if is_word(text[..at].chars().last()) || is_word(text[end..].chars().next()) {
            continue;
        }
        out.push_str(&text[copied..at]);
        out.push_str(to);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests;
