//! The device token and the key for card UIDs: read from the environment
//! or from files only their owner can read, and never shown. A `Token`
//! prints as `Token(…)`: it cannot reach a log or a message by accident.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The environment variable that holds the token (it wins over the file).
pub const TOKEN_VARIABLE: &str = "TAPROLL_SYNC_TOKEN";

#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// The `Authorization` header's value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The token itself, to take it out of what a server says.
    pub(super) fn secret(&self) -> &str {
        &self.0
    }

    fn checked(text: &str, from: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("{from} is empty"));
        }
        if !text.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!(
                "{from} holds a character a token cannot have (spaces, control or non-ASCII characters)"
            ));
        }
        Ok(Self(text.to_string()))
    }
}

/// The token from `TAPROLL_SYNC_TOKEN` (as given in `variable`), else from
/// `file`, which must be the user's own and not readable by others.
pub fn load_token(variable: Option<String>, file: Option<&Path>) -> Result<Token, String> {
    if let Some(text) = variable {
        return Token::checked(&text, TOKEN_VARIABLE).map_err(|e| {
            if file.is_some() {
                format!("{e} (unset it to use sync.token_file)")
            } else {
                e
            }
        });
    }
    let Some(file) = file else {
        return Err(format!(
            "no token: set {TOKEN_VARIABLE}, or sync.token_file to a file (mode 0600) that holds it"
        ));
    };
    let text = read_private(file)?;
    Token::checked(&text, &format!("the token file {}", file.display()))
}

/// The key for card UIDs sent keyed (`card_uids = "keyed"`): 32 bytes,
/// kept in hex in `file` (0600), made there the first time.
pub fn load_or_make_key(file: &Path) -> Result<Vec<u8>, String> {
    match std::fs::symlink_metadata(file) {
        Ok(_) => {
            let text = read_private(file)?;
            decode_hex(text.trim())
                .filter(|key| key.len() >= 16)
                .ok_or_else(|| {
                    format!(
                        "the card key file {} does not hold a key (64 hex digits)",
                        file.display()
                    )
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => make_key(file),
        Err(e) => Err(format!(
            "cannot read the card key file {}: {e}",
            file.display()
        )),
    }
}

fn make_key(file: &Path) -> Result<Vec<u8>, String> {
    let fail =
        |e: &dyn fmt::Display| format!("cannot make the card key file {}: {e}", file.display());
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| fail(&e))?;
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder).map_err(|e| fail(&e))?;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    // create_new: two taprolls starting at once must not each write a key.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .and_then(|mut f| {
            f.write_all(format!("{hex}\n").as_bytes())
                .and_then(|()| f.sync_all())
        });
    match written {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_make_key(file),
        Err(e) => Err(fail(&e)),
    }
}

/// Reads a secret file that only its owner may read or write.
fn read_private(file: &Path) -> Result<String, String> {
    let shown = file.display();
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{shown} can be read by other users (mode {mode:04o}); run: chmod 600 {shown}"
        ));
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {shown}: {e}"))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_variable_wins_and_a_token_never_prints() {
        let token = load_token(Some(" s3cret\n".into()), Some(Path::new("/nonexistent"))).unwrap();
        assert_eq!(token.bearer(), "Bearer s3cret");
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(load_token(Some("two words".into()), None).is_err());
        assert!(load_token(None, None).unwrap_err().contains(TOKEN_VARIABLE));
    }

    #[test]
    fn a_token_file_others_can_read_is_refused_with_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = load_token(None, Some(&file)).unwrap_err();
        assert!(
            error.contains("mode 0644") && error.contains("chmod 600"),
            "{error}"
        );
        assert!(!error.contains("s3cret"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            load_token(None, Some(&file)).unwrap().bearer(),
            "Bearer s3cret"
        );
    }

    #[test]
    fn the_card_key_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data").join("card-key");
        let key = load_or_make_key(&file).unwrap();
        assert_eq!(key.len(), 32);
        let mode = std::fs::metadata(&file).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            load_or_make_key(&file).unwrap(),
            key,
            "the same key next time"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(load_or_make_key(&file).is_err());
    }
}
