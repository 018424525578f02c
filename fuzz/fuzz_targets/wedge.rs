//! Keyboard-wedge normalisation (`wedge::normalise`): any typed line and
//! any reader settings give a UID or an error; the error never shows what
//! was typed in full (`masked_typed`), nor does `masked_typed` itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taproll::reader::wedge::{WedgeConfig, WedgeFormat, masked_typed, normalise};

fuzz_target!(|data: &[u8]| {
    let Some((&[settings, bytes], typed)) = data.split_first_chunk::<2>() else {
        return;
    };
    let config = WedgeConfig {
        format: if settings & 1 == 0 {
            WedgeFormat::Hex
        } else {
            WedgeFormat::Decimal
        },
        reversed: settings & 2 != 0,
        bytes,
    };
    let typed = String::from_utf8_lossy(typed);
    let card_like = typed.trim();
    let card_like = card_like.len() >= 8 && card_like.chars().all(|c| c.is_ascii_hexdigit());
    match normalise(&typed, &config) {
        Ok(uid) => assert!((1..=16).contains(&(uid.as_hex().len() / 2))),
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            if card_like {
                assert!(!message.contains(typed.trim()), "{message}");
            }
        }
    }
    let masked = masked_typed(&typed);
    if card_like {
        assert!(!masked.contains(typed.trim()), "{masked}");
    }
});
