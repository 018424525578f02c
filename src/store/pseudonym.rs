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
            Event::TapMoved { .. }
            | Event::SessionStarted { .. }
            | Event::SessionLabelled { .. }
            | Event::StudentForgotten { .. } => {}
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
mod tests {
    use super::*;
    use crate::domain::{Mark, MarkSource, now};
    use crate::events::{MarkCause, SheetMark};
    use uuid::Uuid;

    const PSEUDONYM: &str = "forgotten-0a1b2c3d";

    fn saved(no: &str, previous: Option<&str>, name: &str) -> Event {
        Event::StudentSaved {
            student_no: no.into(),
            previous_student_no: previous.map(str::to_string),
            name: name.into(),
            email: Some("x@example.org".into()),
            course: "Maths".into(),
            section: None,
        }
    }

    fn mark(no: &str, note: Option<&str>) -> Event {
        Event::Mark {
            session: Uuid::nil(),
            student_no: no.into(),
            mark: Some(Mark::Present),
            source: Some(MarkSource::Manual),
            note: note.map(str::to_string),
            marked_at: Some(now()),
            tap: None,
            cause: MarkCause::Manual,
        }
    }

    fn tap(uid: &str, no: Option<&str>) -> Event {
        Event::Tap {
            tap: Uuid::nil(),
            session: Uuid::nil(),
            tapped_at: now(),
            reader: "door".into(),
            uid: uid.into(),
            outcome: "present".into(),
            student_no: no.map(str::to_string),
        }
    }

    /// Ada holds s3 now; she was s1 until event 10 (a typo fixed), and s1
    /// was given to Charles at event 20.
    fn ada(events: &[(i64, Event)]) -> Erasure {
        Erasure {
            numbers: history("s3", events),
            name: "Ada Lovelace".into(),
            pseudonym: PSEUDONYM.into(),
            uids: BTreeMap::from([("04A1B2C3".to_string(), "FF00".to_string())]),
            cards: BTreeSet::from(["04A1B2C3".to_string()]),
        }
    }

    fn log() -> Vec<(i64, Event)> {
        vec![
            (1, saved("s1", None, "Ada Lovelace")),
            (5, mark("s1", None)),
            (10, saved("s3", Some("s1"), "Ada Lovelace")),
            (15, mark("s3", None)),
            (20, saved("s1", None, "Charles Babbage")),
            (25, mark("s1", Some("Charles: came at 11"))),
        ]
    }

    #[test]
    fn a_number_is_theirs_only_while_they_held_it() {
        let events = log();
        let erasure = ada(&events);
        assert_eq!(
            erasure.numbers,
            [
                Held {
                    number: "s3".into(),
                    from: 10,
                    to: i64::MAX
                },
                Held {
                    number: "s1".into(),
                    from: i64::MIN,
                    to: 10
                },
            ]
        );
        let rewritten: Vec<bool> = events
            .into_iter()
            .map(|(seq, mut event)| erasure.rewrite(seq, &mut event).changed)
            .collect();
        // Charles's record and mark, after s1 was his, are left alone.
        assert_eq!(rewritten, [true, true, true, true, false, false]);
    }

    #[test]
    fn the_student_given_a_freed_number_is_not_its_earlier_holder() {
        // Charles got s1 at event 20, after Ada's renumbering freed it.
        let events = log();
        assert_eq!(
            history("s1", &events),
            [Held {
                number: "s1".into(),
                from: 11,
                to: i64::MAX
            }]
        );
        let erasure = Erasure {
            numbers: history("s1", &events),
            name: "Charles Babbage".into(),
            pseudonym: PSEUDONYM.into(),
            uids: BTreeMap::new(),
            cards: BTreeSet::new(),
        };
        let rewritten: Vec<bool> = events
            .into_iter()
            .map(|(seq, mut event)| erasure.rewrite(seq, &mut event).changed)
            .collect();
        // Ada's record, mark and renumbering are left alone.
        assert_eq!(rewritten, [false, false, false, false, true, true]);
    }

    #[test]
    fn their_renumbering_loses_both_numbers_and_their_record_its_name() {
        let events = log();
        let erasure = ada(&events);
        let mut event = events[2].1.clone();
        let done = erasure.rewrite(10, &mut event);
        assert_eq!(done.numbers, BTreeSet::from(["s1".into(), "s3".into()]));
        let json = serde_json::to_string(&event).unwrap();
        assert!(
            !json.contains("Ada") && !json.contains("s1") && !json.contains("s3"),
            "{json}"
        );
        assert!(!json.contains("x@example.org"), "{json}");
    }

    #[test]
    fn a_note_loses_the_name_but_not_a_number_that_reads_as_a_time() {
        let events = log();
        let erasure = ada(&events);
        let mut event = mark("s3", Some("Ada Lovelace came at 11"));
        erasure.rewrite(15, &mut event);
        let Event::Mark {
            student_no, note, ..
        } = event
        else {
            unreachable!()
        };
        assert_eq!(student_no, PSEUDONYM);
        assert_eq!(note.as_deref(), Some("forgotten-0a1b2c3d came at 11"));
        assert_eq!(
            erasure.scrub("Ada Lovelaces"),
            "Ada Lovelaces",
            "whole words only"
        );
    }

    #[test]
    fn a_card_is_rewritten_in_their_taps_and_unknown_taps_not_in_anothers() {
        let erasure = ada(&log());
        let mut theirs = tap("04A1B2C3", Some("s3"));
        assert!(erasure.rewrite(15, &mut theirs).changed);
        let mut unknown = tap("04A1B2C3", None);
        assert!(
            erasure.rewrite(16, &mut unknown).changed,
            "a card they hold now"
        );
        let mut anothers = tap("04A1B2C3", Some("s2"));
        assert!(!erasure.rewrite(17, &mut anothers).changed);
        let Event::Tap { uid, .. } = unknown else {
            unreachable!()
        };
        assert_eq!(uid, "FF00");
        // A card moved from them to another: the number goes, the UID stays.
        let mut moved = Event::CardBound {
            uid: "04A1B2C3".into(),
            student_no: "s2".into(),
            from_student_no: Some("s3".into()),
        };
        assert!(erasure.rewrite(18, &mut moved).changed);
        assert_eq!(
            moved,
            Event::CardBound {
                uid: "04A1B2C3".into(),
                student_no: "s2".into(),
                from_student_no: Some(PSEUDONYM.into()),
            }
        );
    }

    #[test]
    fn a_mark_sheet_line_of_theirs_is_rewritten_and_another_only_loses_the_name() {
        let erasure = ada(&log());
        let at = now();
        let line = |no: &str, note: &str| SheetMark {
            student_no: no.into(),
            mark: Mark::Excused,
            source: MarkSource::Manual,
            note: Some(note.into()),
            marked_at: at,
            tap: None,
        };
        let mut event = Event::SessionEnded {
            session: Uuid::nil(),
            ended_at: now(),
            marks: vec![
                line("s3", "Ada Lovelace: doctor"),
                line("s2", "came with Ada Lovelace"),
            ],
        };
        assert!(erasure.rewrite(16, &mut event).changed);
        let Event::SessionEnded { marks, .. } = event else {
            unreachable!()
        };
        assert_eq!(marks[0], line(PSEUDONYM, "forgotten-0a1b2c3d: doctor"));
        assert_eq!(marks[1], line("s2", "came with forgotten-0a1b2c3d"));
    }

    #[test]
    fn old_events_lose_exact_numbers_and_uids_not_parts_of_other_strings() {
        let erasure = ada(&log());
        let mut json = serde_json::json!({
            "session_id": 12, "student_no": "s1", "uid": "04A1B2C3",
            "at": "2026-11-30T09:04:11", "name": "Ada Lovelace"
        });
        assert!(erasure.scrub_json(&mut json));
        assert_eq!(
            json,
            serde_json::json!({
                "session_id": 12, "student_no": PSEUDONYM, "uid": "FF00",
                "at": "2026-11-30T09:04:11", "name": PSEUDONYM
            })
        );
    }
}
