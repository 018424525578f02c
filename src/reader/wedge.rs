//! Keyboard-wedge readers: cheap USB readers that type the card number as
//! keystrokes followed by Enter. They disagree on how to write a UID (hex or
//! decimal, byte order, dropped leading zeros), so the typed text goes
//! through a configurable normalisation that gives the same canonical UID a
//! PC/SC reader reads from the same card.
//!
//! Headless reads a wedge reader's lines from standard input (`spawn_stdin`),
//! the TUI from its own keys (`KeyboardWedge`); either way a typed card goes
//! into the reader channel, the one way every tap reaches the engine.

use super::{EventSender, ReaderEvent, now};
use crate::domain::{CardUid, UidError};
use serde::Deserialize;
use std::io::BufRead;

/// The reader name stored with wedge taps.
pub const WEDGE_READER: &str = "Keyboard reader";

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum WedgeFormat {
    /// `04A1B2C3`, `04:a1:b2:c3`
    #[default]
    Hex,
    /// The UID bytes as one decimal number, e.g. `0077705923`.
    Decimal,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WedgeConfig {
    pub format: WedgeFormat,
    /// The reader types the bytes last-first (common for 4-byte UIDs).
    pub reversed: bool,
    /// UID length in bytes, to restore leading zeros the reader dropped;
    /// 0 takes the typed length (hex) or 4 bytes (decimal).
    pub bytes: u8,
}

/// What was typed is kept [`masked_typed`]: these messages reach the screen.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WedgeError {
    #[error("`{0}` is not a decimal card number")]
    NotDecimal(String),
    #[error("`{typed}` does not fit in {bytes} bytes")]
    TooLong { typed: String, bytes: u8 },
    #[error(transparent)]
    Uid(#[from] UidError),
}

/// Turns what the reader typed into the canonical UID.
pub fn normalise(typed: &str, config: &WedgeConfig) -> Result<CardUid, WedgeError> {
    let typed = typed.trim();
    let mut bytes = match config.format {
        WedgeFormat::Hex => hex_bytes(typed)?,
        WedgeFormat::Decimal => decimal_bytes(typed)?,
    };
    let want = match (config.bytes, config.format) {
        (0, WedgeFormat::Hex) => bytes.len(),
        (0, WedgeFormat::Decimal) => 4.max(bytes.len()),
        (n, _) => usize::from(n),
    };
    if bytes.len() > want {
        return Err(WedgeError::TooLong {
            typed: masked_typed(typed),
            bytes: want as u8,
        });
    }
    // Leading zeros come back in front of the number as typed...
    let mut padded = vec![0u8; want - bytes.len()];
    padded.append(&mut bytes);
    // ...and only then is the byte order undone.
    if config.reversed {
        padded.reverse();
    }
    Ok(CardUid::from_bytes(&padded)?)
}

fn hex_bytes(typed: &str) -> Result<Vec<u8>, WedgeError> {
    let mut digits: String = typed
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    if digits.len() % 2 == 1 {
        digits.insert(0, '0'); // a dropped leading zero
    }
    let uid = CardUid::parse(&digits)?;
    Ok(uid
        .as_hex()
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect())
}

fn decimal_bytes(typed: &str) -> Result<Vec<u8>, WedgeError> {
    if typed.is_empty() || !typed.chars().all(|c| c.is_ascii_digit()) {
        return Err(WedgeError::NotDecimal(masked_typed(typed)));
    }
    let value: u128 = typed
        .parse()
        .map_err(|_| WedgeError::NotDecimal(masked_typed(typed)))?;
    let bytes = value.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    Ok(bytes[first..].to_vec())
}

/// What a reader typed, for screens and logs: a card number in any
/// spelling is as good as its UID, so only its first two characters and
/// its length show (`04… (14)`), like a masked UID.
pub fn masked_typed(typed: &str) -> String {
    let count = typed.chars().count();
    match count {
        0 => String::new(),
        1 | 2 => format!("… ({count})"),
        _ => format!("{}… ({count})", typed.chars().take(2).collect::<String>()),
    }
}

/// The reader event for one typed line.
pub fn event(typed: &str, config: &WedgeConfig) -> ReaderEvent {
    let at = now();
    match normalise(typed, config) {
        Ok(uid) => ReaderEvent::Card {
            reader: WEDGE_READER.to_string(),
            uid,
            at,
        },
        Err(e) => ReaderEvent::CardError {
            reader: WEDGE_READER.to_string(),
            message: e.to_string(),
            at,
        },
    }
}

/// A wedge reader typing into the TUI, which reads the keyboard itself and
/// hands over the keys that are the reader's (hex digits, then Enter). Each
/// finished line goes into the reader channel like any backend's tap, so the
/// engine hears of it by the same way as of a PC/SC tap.
#[derive(Clone, Debug)]
pub struct KeyboardWedge {
    config: WedgeConfig,
    events: EventSender,
    typed: String,
}

impl KeyboardWedge {
    /// Says the reader is there, as a backend thread does when it starts.
    pub fn new(config: WedgeConfig, events: EventSender) -> Self {
        let _ = events.send(ReaderEvent::ReaderAdded {
            reader: WEDGE_READER.to_string(),
        });
        Self {
            config,
            events,
            typed: String::new(),
        }
    }

    /// What the reader has typed of the current card so far.
    pub fn typed(&self) -> &str {
        &self.typed
    }

    /// Takes a typed character; false: not one a wedge reader types.
    pub fn push(&mut self, c: char) -> bool {
        let digit = c.is_ascii_hexdigit();
        if digit {
            self.typed.push(c);
        }
        digit
    }

    pub fn pop(&mut self) {
        self.typed.pop();
    }

    pub fn clear(&mut self) {
        self.typed.clear();
    }

    /// Enter: the typed card goes into the reader channel as a tap.
    pub fn submit(&mut self) {
        let typed = std::mem::take(&mut self.typed);
        if self.events.send(event(&typed, &self.config)).is_err() {
            // Only when the front end that reads the channel is gone.
            tracing::warn!(typed = %masked_typed(&typed), "a keyboard-wedge tap after the reader channel closed");
        }
    }
}

/// Headless: reads typed lines from standard input until it closes.
pub fn spawn_stdin(
    config: WedgeConfig,
    events: EventSender,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("reader-wedge".into())
        .spawn(move || {
            let _ = events.send(ReaderEvent::ReaderAdded {
                reader: WEDGE_READER.to_string(),
            });
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                if events.send(event(&line, &config)).is_err() {
                    break;
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str, reversed: bool, bytes: u8) -> String {
        let config = WedgeConfig {
            format: WedgeFormat::Hex,
            reversed,
            bytes,
        };
        normalise(text, &config).unwrap().as_hex().to_string()
    }

    fn decimal(text: &str, reversed: bool, bytes: u8) -> String {
        let config = WedgeConfig {
            format: WedgeFormat::Decimal,
            reversed,
            bytes,
        };
        normalise(text, &config).unwrap().as_hex().to_string()
    }

    // One card, UID 04 A1 B2 C3 as PC/SC reads it, typed by different readers.
    #[test]
    fn one_card_typed_many_ways_gives_one_uid() {
        assert_eq!(hex("04A1B2C3", false, 0), "04A1B2C3");
        assert_eq!(hex("04:a1:b2:c3", false, 0), "04A1B2C3");
        assert_eq!(hex("4A1B2C3", false, 0), "04A1B2C3"); // dropped leading zero
        assert_eq!(hex("C3B2A104", true, 0), "04A1B2C3"); // bytes reversed
        assert_eq!(decimal("77705923", false, 0), "04A1B2C3"); // 0x04A1B2C3
        assert_eq!(decimal("0077705923", false, 0), "04A1B2C3");
        assert_eq!(decimal("3283263748", true, 0), "04A1B2C3"); // 0xC3B2A104
    }

    #[test]
    fn a_configured_length_restores_leading_zero_bytes() {
        assert_eq!(hex("A1B2C3", false, 4), "00A1B2C3");
        assert_eq!(decimal("10597059", false, 4), "00A1B2C3");
        assert_eq!(decimal("10597059", true, 4), "C3B2A100");
        assert_eq!(decimal("1", false, 7), "00000000000001");
    }

    #[test]
    fn a_card_typed_into_the_tui_goes_into_the_reader_channel() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut wedge = KeyboardWedge::new(WedgeConfig::default(), tx);
        let added = rx.try_recv().unwrap();
        assert!(matches!(added, ReaderEvent::ReaderAdded { reader } if reader == WEDGE_READER));
        for c in "04a1b2c3".chars() {
            assert!(wedge.push(c));
        }
        assert!(!wedge.push('q'), "not a digit a reader types");
        wedge.push('9');
        wedge.pop();
        assert_eq!(wedge.typed(), "04a1b2c3");
        wedge.submit();
        assert_eq!(wedge.typed(), "");
        match rx.try_recv().unwrap() {
            ReaderEvent::Card { reader, uid, .. } => {
                assert_eq!((reader.as_str(), uid.as_hex()), (WEDGE_READER, "04A1B2C3"));
            }
            other => panic!("{other:?}"),
        }
        // A line that is no card's number is a card that could not be read.
        for _ in 0..34 {
            wedge.push('1');
        }
        wedge.submit();
        assert!(matches!(
            rx.try_recv().unwrap(),
            ReaderEvent::CardError { .. }
        ));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let decimal = WedgeConfig {
            format: WedgeFormat::Decimal,
            ..WedgeConfig::default()
        };
        assert_eq!(
            normalise("12ab", &decimal),
            Err(WedgeError::NotDecimal("12… (4)".into()))
        );
        let four = WedgeConfig {
            bytes: 4,
            ..WedgeConfig::default()
        };
        let too_long = normalise("04A1B2C3D4", &four).unwrap_err().to_string();
        assert_eq!(too_long, "`04… (10)` does not fit in 4 bytes");
        assert!(matches!(
            normalise("xyz", &WedgeConfig::default()),
            Err(WedgeError::Uid(_))
        ));
    }
}
