//! Card UIDs sent keyed (`card_uids = "keyed"`): the lowercase hex of
//! HMAC-SHA256(key, UID). One card gives one value for every device with
//! the same key, and the UID cannot be read back from it.

use crate::events::Event;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn keyed_uid(key: &[u8], uid: &str) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(uid.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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
        | Event::StudentSaved { .. } => {}
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_as_rfc_4231_gives_it() {
        // RFC 4231, test case 2.
        assert_eq!(
            keyed_uid(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

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
