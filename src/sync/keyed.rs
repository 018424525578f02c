//! Card UIDs sent keyed (`card_uids = "keyed"`): the lowercase hex of
//! HMAC-SHA256(key, UID) (`privacy::keyed_uid`, which the exports' hashes
//! use too). One card gives one value for every device with the same key,
//! and the UID cannot be read back from it.

use crate::events::Event;
use crate::privacy::keyed_uid;

/// `event` with every card UID in it keyed.
pub fn with_keyed_uids(key: &[u8], mut event: Event) -> Event {
    match &mut event {
        Event::Tap { uid, .. } | Event::CardBound { uid, .. } | Event::CardRemoved { uid, .. } => {
            *uid = keyed_uid(key, uid);
        }
        Event::SessionStarted { .. }
        | Event::SessionLabelled { .. }
        | Event::TapMoved { .. }
        | Event::Mark { .. }
        | Event::SessionEnded { .. }
        | Event::StudentSaved { .. }
        | Event::StudentForgotten { .. } => {}
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uid_of_an_event_is_keyed_and_nothing_else() {
        let event = Event::CardBound {
            uid: "04A1B2C3".into(),
            student_no: "s1".into(),
            from_student_no: None,
        };
        let Event::CardBound {
            uid, student_no, ..
        } = with_keyed_uids(b"key", event)
        else {
            panic!("same kind");
        };
        assert_eq!(uid, keyed_uid(b"key", "04A1B2C3"));
        assert_eq!(uid.len(), 64);
        assert_eq!(student_no, "s1");
    }
}
