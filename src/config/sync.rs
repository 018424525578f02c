//! `[sync]`: the push to a server, as the config file says it.

use serde::Deserialize;
use std::path::PathBuf;

/// The push to a server (`docs/protocol.md`); off without `server`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// The server's base URL; https:// unless it is this machine.
    pub server: Option<String>,
    /// A file (mode 0600) holding the device token; `TAPROLL_SYNC_TOKEN`
    /// wins over it.
    pub token_file: Option<PathBuf>,
    /// At most this many events per batch...
    pub batch_events: u32,
    /// ...and about this many bytes.
    pub batch_bytes: u32,
    pub connect_timeout_seconds: u32,
    /// For the whole exchange of one batch.
    pub request_timeout_seconds: u32,
    /// The longest wait between tries while the server is unreachable.
    pub retry_max_seconds: u32,
    /// Card UIDs as read, or keyed (HMAC-SHA256 with this installation's key).
    pub card_uids: CardUids,
    /// The key for keyed UIDs; default `card-key` in the data folder.
    pub card_key_file: Option<PathBuf>,
    /// The certificate authorities (PEM) to trust for the server instead
    /// of the public ones: for a server with a certificate of the
    /// institution's own CA.
    pub ca_file: Option<PathBuf>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            server: None,
            token_file: None,
            batch_events: 500,
            batch_bytes: 1024 * 1024,
            connect_timeout_seconds: 10,
            request_timeout_seconds: 30,
            retry_max_seconds: 300,
            card_uids: CardUids::Raw,
            card_key_file: None,
            ca_file: None,
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum CardUids {
    #[default]
    Raw,
    Keyed,
}
