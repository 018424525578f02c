//! Card UIDs: from a reader's bytes (`CardUid::from_bytes`) and from text
//! (`parse`, `parse_card_number`). What is accepted reads back as itself,
//! and the masked form always hides at least one byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taproll::domain::CardUid;

fn check(uid: &CardUid) {
    let hex = uid.as_hex();
    assert!(
        !hex.is_empty() && hex.len().is_multiple_of(2) && hex.len() <= 32,
        "{hex}"
    );
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    assert_eq!(CardUid::parse(hex).as_ref(), Ok(uid));
    assert_eq!(CardUid::parse(&uid.to_string()).as_ref(), Ok(uid));
    let shown = uid.masked().split(':').filter(|part| *part != "…").count();
    assert!(shown < hex.len() / 2, "{} shows every byte", uid.masked());
}

fuzz_target!(|data: &[u8]| {
    match CardUid::from_bytes(data) {
        Ok(uid) => {
            assert!((1..=16).contains(&data.len()));
            let hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(uid.as_hex(), hex);
            check(&uid);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    let text = String::from_utf8_lossy(data);
    match CardUid::parse(&text) {
        Ok(uid) => check(&uid),
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    match CardUid::parse_card_number(&text) {
        Ok(uid) => {
            assert!((4..=10).contains(&(uid.as_hex().len() / 2)));
            assert_eq!(CardUid::parse(&text), Ok(uid));
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
