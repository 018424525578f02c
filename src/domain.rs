//! Plain data shared by every part of taproll. No I/O lives here.

use std::fmt;
pub use taproll_wire::{Mark, MarkSource, Timestamp, rfc3339};

/// The local time now, with its UTC offset: when a tap or a change happens.
pub fn now() -> Timestamp {
    chrono::Local::now().fixed_offset()
}

/// A card's UID in canonical form: uppercase hex, no separators (`04A1B2C3`).
/// A UID opens doors and pays for lunch on many campuses: screens and logs
/// show it [`masked`](CardUid::masked), and so does its `Debug`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CardUid(String);

/// Why a text is not a card UID.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UidError {
    #[error("the card UID is empty")]
    Empty,
    #[error("the card UID has `{0}`, which is not a hex digit")]
    NotHex(char),
    #[error("the card UID has an odd number of hex digits")]
    OddLength,
    #[error("the card UID is {0} bytes long; taproll accepts 1 to 16")]
    BadLength(usize),
    #[error("the card UID starts or ends with `{0}`; write it as hex bytes like 04:A1:B2:C3")]
    LooseSeparator(char),
    #[error(
        "a card number of {0} byte(s) is no card's UID (they have 4, 7 or 10 bytes, some 8); write it as hex bytes like 04:A1:B2:C3"
    )]
    NotACardLength(usize),
}

impl CardUid {
    /// Longest UID we accept; ISO 14443 UIDs are 4, 7 or 10 bytes.
    const MAX_BYTES: usize = 16;

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UidError> {
        if bytes.is_empty() {
            return Err(UidError::Empty);
        }
        if bytes.len() > Self::MAX_BYTES {
            return Err(UidError::BadLength(bytes.len()));
        }
        Ok(Self(bytes.iter().map(|b| format!("{b:02X}")).collect()))
    }

    /// A card number typed by a person (a roster file, the config): hex as
    /// [`CardUid::parse`] takes it, of a length a card's UID has (ISO 14443:
    /// 4, 7 or 10 bytes; FeliCa and ISO 15693: 8). A shorter or longer one
    /// is a typing mistake, not a card.
    pub fn parse_card_number(text: &str) -> Result<Self, UidError> {
        let uid = Self::parse(text)?;
        let bytes = uid.0.len() / 2;
        if !(4..=10).contains(&bytes) {
            return Err(UidError::NotACardLength(bytes));
        }
        Ok(uid)
    }

    /// Accepts hex with or without `:`, `-` or space between bytes, any case.
    pub fn parse(text: &str) -> Result<Self, UidError> {
        let text = text.trim();
        let is_separator = |c: char| matches!(c, ':' | '-' | ' ');
        if let Some(c) = text.chars().next().filter(|c| is_separator(*c)) {
            return Err(UidError::LooseSeparator(c));
        }
        if let Some(c) = text.chars().last().filter(|c| is_separator(*c)) {
            return Err(UidError::LooseSeparator(c));
        }
        let mut hex = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                ':' | '-' | ' ' => {}
                c if c.is_ascii_hexdigit() => hex.push(c.to_ascii_uppercase()),
                other => return Err(UidError::NotHex(other)),
            }
        }
        if hex.is_empty() {
            return Err(UidError::Empty);
        }
        if !hex.len().is_multiple_of(2) {
            return Err(UidError::OddLength);
        }
        let bytes = hex.len() / 2;
        if bytes > Self::MAX_BYTES {
            return Err(UidError::BadLength(bytes));
        }
        Ok(Self(hex))
    }

    /// A 4-byte UID starting with 08 is a random ID: phones and some cards
    /// present a new one at every tap, so it cannot identify anyone.
    pub fn is_random_id(&self) -> bool {
        self.0.len() == 8 && self.0.starts_with("08")
    }

    /// Canonical form, as stored: `04A1B2C3`.
    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// For screens and logs: enough to tell cards apart, too little to copy
    /// one. The first two bytes and the last (`04:A1:…:F6`); of 3 or 4
    /// bytes the first and the last (`04:…:C3`). At least one byte is
    /// always hidden: of 2 bytes only the first shows, of 1 none.
    pub fn masked(&self) -> String {
        let bytes: Vec<&str> = (0..self.0.len())
            .step_by(2)
            .filter_map(|i| self.0.get(i..i + 2))
            .collect();
        let (head, tail) = match bytes.len() {
            0 | 1 => (0, 0),
            2 => (1, 0),
            3 | 4 => (1, 1),
            _ => (2, 1),
        };
        let mut shown: Vec<&str> = bytes[..head].to_vec();
        shown.push("…");
        shown.extend_from_slice(&bytes[bytes.len() - tail..]);
        shown.join(":")
    }
}

/// Masked: a `{:?}` in a log line must not write a whole UID either.
impl fmt::Debug for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardUid({})", self.masked())
    }
}

/// For the views' socket: a UID travels as its hex and is checked again.
impl TryFrom<String> for CardUid {
    type Error = UidError;
    fn try_from(hex: String) -> Result<Self, UidError> {
        Self::parse(&hex)
    }
}

impl From<CardUid> for String {
    fn from(uid: CardUid) -> String {
        uid.0
    }
}

/// The whole UID as people write it, `04:A1:B2:C3`: for parsing round
/// trips and for messages about a UID the user typed (a roster file, the
/// config). Screens and logs use [`CardUid::masked`].
impl fmt::Display for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.0.as_bytes().chunks(2).enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            // Canonical UIDs hold only ASCII hex digits, so each pair is valid UTF-8.
            f.write_str(std::str::from_utf8(pair).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// What one tap meant.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Present,
    Late,
    /// A first tap after `absent_after_minutes`: stored, and counted absent.
    TooLate,
    /// The student already has a mark in this session, made at `first_at`.
    Duplicate {
        first_at: Timestamp,
    },
    /// No student holds this card.
    Unknown,
    /// A random ID (phone, some cards): it changes at every tap, so it can
    /// never be enrolled.
    RandomId,
    /// The card's holder is not on this course's roster.
    NotEnrolled,
    /// The same card again within the debounce window: stored, not a new event.
    Repeat,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Present => "present",
            Outcome::Late => "late",
            Outcome::TooLate => "too_late",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Unknown => "unknown",
            Outcome::RandomId => "random_id",
            Outcome::NotEnrolled => "not_enrolled",
            Outcome::Repeat => "repeat",
        }
    }

    /// The mark this tap gives its student, if any.
    pub fn mark(self) -> Option<Mark> {
        match self {
            Outcome::Present => Some(Mark::Present),
            Outcome::Late => Some(Mark::Late),
            Outcome::TooLate => Some(Mark::Absent),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Student {
    pub id: i64,
    /// The institution's student number, e.g. `s1001`.
    pub student_no: String,
    pub name: String,
}

/// Longest values taproll stores for a student, in characters. Real ones are
/// far shorter; a longer one is a broken file (a whole row in one cell), and
/// would only push every other column off the screen.
pub const MAX_STUDENT_NO_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 200;
/// RFC 5321's limit for an address.
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_SECTION_CHARS: usize = 100;

/// A student's value that taproll will not store.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {what} is {chars} characters long; taproll keeps at most {max}")]
pub struct TooLong {
    pub what: &'static str,
    pub chars: usize,
    pub max: usize,
}

/// Checks the lengths of a student's values, from a roster file or typed in.
pub fn check_student_fields(
    student_no: &str,
    name: &str,
    email: Option<&str>,
    section: Option<&str>,
) -> Result<(), TooLong> {
    let fields = [
        ("student id", Some(student_no), MAX_STUDENT_NO_CHARS),
        ("name", Some(name), MAX_NAME_CHARS),
        ("e-mail", email, MAX_EMAIL_CHARS),
        ("section", section, MAX_SECTION_CHARS),
    ];
    for (what, value, max) in fields {
        let chars = value.map_or(0, |v| v.chars().count());
        if chars > max {
            return Err(TooLong { what, chars, max });
        }
    }
    Ok(())
}

#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Course {
    pub id: i64,
    pub name: String,
}

/// One class meeting of a course.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub id: i64,
    pub course: Course,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// One line of the live roster: a student and their mark so far.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct RosterRow {
    pub student: Student,
    pub mark: Option<Mark>,
    pub source: Option<MarkSource>,
    pub marked_at: Option<Timestamp>,
    /// The student has at least one card.
    pub has_card: bool,
}

/// A tap as committed to the store.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct TapRecord {
    /// The local row id, for this device's own use (claims).
    pub tap_id: i64,
    /// The tap's and its session's global identities.
    pub tap_uuid: uuid::Uuid,
    pub session_uuid: uuid::Uuid,
    pub session_id: i64,
    pub at: Timestamp,
    pub reader: String,
    pub uid: CardUid,
    pub outcome: Outcome,
    pub student: Option<Student>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_parses_common_spellings_to_one_canonical_form() {
        for text in ["04a1b2c3", "04:A1:B2:C3", "04-a1-b2-c3", " 04 A1 B2 C3 "] {
            assert_eq!(CardUid::parse(text).unwrap().as_hex(), "04A1B2C3", "{text}");
        }
    }

    #[test]
    fn uid_rejects_bad_text() {
        assert_eq!(CardUid::parse(""), Err(UidError::Empty));
        assert_eq!(CardUid::parse("04A"), Err(UidError::OddLength));
        assert_eq!(CardUid::parse("04G1"), Err(UidError::NotHex('G')));
        assert_eq!(
            CardUid::parse(&"AB".repeat(17)),
            Err(UidError::BadLength(17))
        );
        assert_eq!(CardUid::parse("-1"), Err(UidError::LooseSeparator('-')));
        assert_eq!(CardUid::parse("04:A1:"), Err(UidError::LooseSeparator(':')));
    }

    #[test]
    fn a_typed_card_number_has_the_length_of_a_card() {
        assert_eq!(
            CardUid::parse_card_number("04:AA"),
            Err(UidError::NotACardLength(2))
        );
        assert_eq!(
            CardUid::parse_card_number(&"AB".repeat(11)),
            Err(UidError::NotACardLength(11))
        );
        for text in [
            "04A1B2C3",
            "04A1B2C3D4E5F6",
            "0102030405060708",
            &"AB".repeat(10),
        ] {
            assert!(CardUid::parse_card_number(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn student_values_have_sane_lengths() {
        assert_eq!(check_student_fields("s1", "Ann", Some("a@x"), None), Ok(()));
        let long = "x".repeat(10_000);
        assert_eq!(
            check_student_fields("s1", &long, None, None),
            Err(TooLong {
                what: "name",
                chars: 10_000,
                max: MAX_NAME_CHARS
            })
        );
        assert!(check_student_fields(&long, "Ann", None, None).is_err());
        assert!(check_student_fields("s1", "Ann", None, Some(&long)).is_err());
        // Characters, not bytes: 200 accented letters are fine.
        assert!(check_student_fields("s1", &"é".repeat(200), None, None).is_ok());
    }

    #[test]
    fn uid_from_bytes_and_display() {
        let uid = CardUid::from_bytes(&[0x04, 0xa1, 0x0b, 0x00, 0xff, 0x10, 0x80]).unwrap();
        assert_eq!(uid.as_hex(), "04A10B00FF1080");
        assert_eq!(uid.to_string(), "04:A1:0B:00:FF:10:80");
        assert_eq!(CardUid::from_bytes(&[]), Err(UidError::Empty));
    }

    #[test]
    fn a_masked_uid_shows_the_ends_and_never_the_whole() {
        let masked = |hex: &str| CardUid::parse(hex).unwrap().masked();
        assert_eq!(masked("04"), "…");
        assert_eq!(masked("04C3"), "04:…");
        assert_eq!(masked("04A1C3"), "04:…:C3");
        assert_eq!(masked("04A1B2C3"), "04:…:C3");
        assert_eq!(masked("04A1B2C3D4E5F6"), "04:A1:…:F6");
        assert_eq!(masked("04A1B2C3D4E5F6071809"), "04:A1:…:09");
        let uid = CardUid::parse("04A1B2C3D4E5F6").unwrap();
        assert_eq!(format!("{uid:?}"), "CardUid(04:A1:…:F6)");
        assert_eq!(uid.to_string(), "04:A1:B2:C3:D4:E5:F6", "Display is whole");
    }

    #[test]
    fn only_four_byte_uids_starting_with_08_are_random_ids() {
        assert!(CardUid::parse("08A1B2C3").unwrap().is_random_id());
        assert!(!CardUid::parse("04A1B2C3").unwrap().is_random_id());
        assert!(!CardUid::parse("08A1B2C3D4E5F6").unwrap().is_random_id());
    }

    #[test]
    fn marks_and_sources_round_trip_through_text() {
        for mark in [Mark::Present, Mark::Late, Mark::Absent, Mark::Excused] {
            assert_eq!(Mark::parse(mark.as_str()), Some(mark));
        }
        for source in [MarkSource::Card, MarkSource::Manual, MarkSource::Auto] {
            assert_eq!(MarkSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(Mark::parse("here"), None);
    }
}
