//! How card UIDs leave the database: in exports as `[privacy] uids` says
//! (resolved by `settings::export_uids`), keyed on the push
//! (`sync.card_uids = "keyed"`). Screens and logs need no choice: they
//! always show `CardUid::masked`. Pure: the key is read by the caller.

use crate::domain::CardUid;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How many hex digits of the keyed hash an export writes: 64 bits tell a
/// class's cards apart, and a column of them stays readable.
pub const HASH_DIGITS: usize = 16;

/// `[privacy] uids` resolved for a run, with the key for hashes.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum UidExport {
    /// `04:A1:…:F6`.
    #[default]
    Masked,
    /// The first [`HASH_DIGITS`] of the keyed UID the push sends
    /// ([`keyed_uid`] with this installation's card key).
    Hash(Vec<u8>),
    /// The whole UID.
    Full,
}

/// The key never reaches a log or a message.
impl std::fmt::Debug for UidExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UidExport::Masked => "Masked",
            UidExport::Hash(_) => "Hash(…)",
            UidExport::Full => "Full",
        })
    }
}

impl UidExport {
    /// For a table people read: a whole UID as `04:A1:B2:C3`.
    pub fn text(&self, uid: &CardUid) -> String {
        match self {
            UidExport::Full => uid.to_string(),
            _ => self.data(uid),
        }
    }

    /// For data programs read (JSON): a whole UID as stored, `04A1B2C3`.
    pub fn data(&self, uid: &CardUid) -> String {
        match self {
            UidExport::Masked => uid.masked(),
            UidExport::Hash(key) => {
                let mut hash = keyed_uid(key, uid.as_hex());
                hash.truncate(HASH_DIGITS);
                hash
            }
            UidExport::Full => uid.as_hex().to_string(),
        }
    }
}

/// The lowercase hex of HMAC-SHA256(key, UID): one card gives one value
/// wherever the key is the same, and the UID cannot be read back from it.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardUid {
        CardUid::parse("04A1B2C3D4E5F6").unwrap()
    }

    #[test]
    fn hmac_sha256_as_rfc_4231_gives_it() {
        // RFC 4231, test case 2.
        assert_eq!(
            keyed_uid(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn each_choice_writes_the_uid_its_way() {
        assert_eq!(UidExport::Masked.text(&card()), "04:A1:…:F6");
        assert_eq!(UidExport::Masked.data(&card()), "04:A1:…:F6");
        assert_eq!(UidExport::Full.text(&card()), "04:A1:B2:C3:D4:E5:F6");
        assert_eq!(UidExport::Full.data(&card()), "04A1B2C3D4E5F6");
    }

    #[test]
    fn a_hash_is_the_start_of_the_pushed_keyed_uid_the_same_in_every_form() {
        let hashed = UidExport::Hash(b"installation key".to_vec());
        let pushed = keyed_uid(b"installation key", "04A1B2C3D4E5F6");
        let hash = hashed.data(&card());
        assert_eq!(hash.len(), HASH_DIGITS);
        assert!(pushed.starts_with(&hash), "{hash} {pushed}");
        assert_eq!(hashed.text(&card()), hash);
        let other = UidExport::Hash(b"another key".to_vec());
        assert_ne!(other.data(&card()), hash, "another installation");
        assert_eq!(format!("{hashed:?}"), "Hash(…)", "the key is not shown");
    }
}
