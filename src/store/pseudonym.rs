//! What a forgotten student's data becomes (pure): their numbers become the
//! pseudonym, their name the pseudonym too, their email nothing, and each
//! of their cards' UIDs a made-up one, in stored events and in free text.

use crate::events::Event;
use std::collections::{BTreeMap, BTreeSet};

/// A student being forgotten: what is erased and what stands for it.
#[derive(Debug)]
pub struct Erasure {
    /// Every number the student had: the current one, and earlier ones an
    /// event still names (a renumbering).
    pub numbers: BTreeSet<String>,
    pub name: String,
    pub pseudonym: String,
    /// Each card UID (stored hex) of the student, and its stand-in.
    pub uids: BTreeMap<String, String>,
}

impl Erasure {
    /// `event` with the student replaced; `false` when it did not name them.
    pub fn rewrite(&self, event: &mut Event) -> bool {
        let mut changed = false;
        match event {
            Event::Tap {
                uid, student_no, ..
            } => {
                changed |= self.uid(uid);
                changed |= self.opt_number(student_no);
            }
            Event::TapMoved { student_no, .. } => changed |= self.opt_number(student_no),
            Event::Mark {
                student_no, note, ..
            } => {
                changed |= self.number(student_no);
                changed |= self.opt_text(note);
            }
            Event::SessionEnded { marks, .. } => {
                for mark in marks {
                    changed |= self.number(&mut mark.student_no);
                    changed |= self.opt_text(&mut mark.note);
                }
            }
            Event::StudentSaved {
                student_no,
                previous_student_no,
                name,
                email,
                ..
            } => {
                let theirs = self.number(student_no) | self.opt_number(previous_student_no);
                if theirs {
                    *name = self.pseudonym.clone();
                    *email = None;
                }
                changed |= theirs;
            }
            Event::CardBound {
                uid,
                student_no,
                from_student_no,
            } => {
                changed |= self.uid(uid);
                changed |= self.number(student_no);
                changed |= self.opt_number(from_student_no);
            }
            Event::CardRemoved { uid, student_no } => {
                changed |= self.uid(uid);
                changed |= self.number(student_no);
            }
            Event::SessionStarted { .. }
            | Event::SessionLabelled { .. }
            | Event::StudentForgotten { .. } => {}
        }
        changed
    }

    /// The earlier numbers a renumbering event links to one of ours; true
    /// when it added any (the caller repeats until none is added).
    pub fn learn_numbers(&mut self, event: &Event) -> bool {
        let Event::StudentSaved {
            student_no,
            previous_student_no: Some(previous),
            ..
        } = event
        else {
            return false;
        };
        let linked = self.numbers.contains(student_no) || self.numbers.contains(previous);
        let before = self.numbers.len();
        if linked {
            self.numbers.insert(student_no.clone());
            self.numbers.insert(previous.clone());
        }
        self.numbers.len() > before
    }

    /// Free text (a note, an error) with the name, numbers and UIDs
    /// replaced where they stand as words: a number `12` is not replaced
    /// inside `123`.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = replace_words(text, &self.name, &self.pseudonym);
        for number in &self.numbers {
            text = replace_words(&text, number, &self.pseudonym);
        }
        for (uid, stand_in) in &self.uids {
            text = replace_words(&text, uid, stand_in);
        }
        text
    }

    /// A JSON document (an event of taproll before typed events) with
    /// every string scrubbed; true when one changed.
    pub fn scrub_json(&self, value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => {
                let scrubbed = self.scrub(text);
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

    fn number(&self, number: &mut String) -> bool {
        if self.numbers.contains(number.as_str()) {
            *number = self.pseudonym.clone();
            return true;
        }
        false
    }

    fn opt_number(&self, number: &mut Option<String>) -> bool {
        number.as_mut().is_some_and(|n| self.number(n))
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

    fn opt_text(&self, text: &mut Option<String>) -> bool {
        let Some(old) = text.as_ref() else {
            return false;
        };
        let new = self.scrub(old);
        let changed = &new != old;
        *text = Some(new);
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

    fn erasure() -> Erasure {
        Erasure {
            numbers: BTreeSet::from(["s1".to_string()]),
            name: "Ada Lovelace".into(),
            pseudonym: "forgotten-0a1b2c3d".into(),
            uids: BTreeMap::from([("04A1B2C3".to_string(), "FF00".to_string())]),
        }
    }

    #[test]
    fn a_tap_of_their_card_loses_the_uid_and_the_number() {
        let mut event = Event::Tap {
            tap: Uuid::nil(),
            session: Uuid::nil(),
            tapped_at: now(),
            reader: "door".into(),
            uid: "04A1B2C3".into(),
            outcome: "present".into(),
            student_no: Some("s1".into()),
        };
        assert!(erasure().rewrite(&mut event));
        let Event::Tap {
            uid, student_no, ..
        } = event
        else {
            unreachable!()
        };
        assert_eq!(
            (uid.as_str(), student_no.as_deref()),
            ("FF00", Some("forgotten-0a1b2c3d"))
        );
    }

    #[test]
    fn another_students_events_are_left_alone() {
        let mut event = Event::CardBound {
            uid: "04FFFFFF".into(),
            student_no: "s2".into(),
            from_student_no: None,
        };
        let before = event.clone();
        assert!(!erasure().rewrite(&mut event));
        assert_eq!(event, before);
    }

    #[test]
    fn their_saved_record_loses_name_and_email() {
        let mut event = Event::StudentSaved {
            student_no: "s1".into(),
            previous_student_no: None,
            name: "Ada Lovelace".into(),
            email: Some("ada@example.org".into()),
            course: "Maths".into(),
            section: None,
        };
        assert!(erasure().rewrite(&mut event));
        let json = serde_json::to_string(&event).unwrap();
        assert!(
            !json.contains("Ada") && !json.contains("ada@") && !json.contains("\"s1\""),
            "{json}"
        );
    }

    #[test]
    fn a_mark_sheet_line_and_its_note_are_rewritten() {
        let mut event = Event::SessionEnded {
            session: Uuid::nil(),
            ended_at: now(),
            marks: vec![SheetMark {
                student_no: "s1".into(),
                mark: Mark::Excused,
                source: MarkSource::Manual,
                note: Some("Ada Lovelace: doctor, s1".into()),
                marked_at: now(),
                tap: None,
            }],
        };
        assert!(erasure().rewrite(&mut event));
        let Event::SessionEnded { marks, .. } = event else {
            unreachable!()
        };
        assert_eq!(marks[0].student_no, "forgotten-0a1b2c3d");
        assert_eq!(
            marks[0].note.as_deref(),
            Some("forgotten-0a1b2c3d: doctor, forgotten-0a1b2c3d")
        );
    }

    #[test]
    fn free_text_loses_whole_words_only() {
        let erasure = Erasure {
            numbers: BTreeSet::from(["12".to_string()]),
            ..erasure()
        };
        assert_eq!(
            erasure.scrub("Ada Lovelace (12) came late; room 123, Ada Lovelaces"),
            "forgotten-0a1b2c3d (forgotten-0a1b2c3d) came late; room 123, Ada Lovelaces"
        );
        let mut json = serde_json::json!({"session_id": 12, "student_no": "12", "uid": "04A1B2C3"});
        assert!(erasure.scrub_json(&mut json));
        assert_eq!(
            json,
            serde_json::json!({"session_id": 12, "student_no": "forgotten-0a1b2c3d", "uid": "FF00"})
        );
    }

    #[test]
    fn a_renumbering_links_the_earlier_number_in_either_direction() {
        let mut erasure = erasure();
        let renumbered = |from: &str, to: &str| Event::StudentSaved {
            student_no: to.into(),
            previous_student_no: Some(from.into()),
            name: "x".into(),
            email: None,
            course: "Maths".into(),
            section: None,
        };
        assert!(erasure.learn_numbers(&renumbered("s0", "s1")));
        assert!(erasure.learn_numbers(&renumbered("s1", "s2")));
        assert!(
            !erasure.learn_numbers(&renumbered("s1", "s2")),
            "nothing new"
        );
        assert!(
            !erasure.learn_numbers(&renumbered("t1", "t2")),
            "another student"
        );
        assert_eq!(
            erasure.numbers.iter().collect::<Vec<_>>(),
            ["s0", "s1", "s2"]
        );
        let mut mark = Event::Mark {
            session: Uuid::nil(),
            student_no: "s0".into(),
            mark: None,
            source: None,
            note: None,
            marked_at: None,
            tap: None,
            cause: MarkCause::Manual,
        };
        assert!(erasure.rewrite(&mut mark));
    }
}
