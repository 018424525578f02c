//! `[sync]` resolved for a run: the checked server address, the token and
//! card key read from where they are kept, the limits and waits.

use super::backoff::Backoff;
use super::client::{Authorities, Timeouts};
use super::secret::{self, Token};
use super::url::ServerUrl;
use crate::config::{CardUids, SyncConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct SyncSettings {
    pub server: ServerUrl,
    /// What the push needs to send; `Err`: why it cannot (shown, and the
    /// room goes on: the events wait in the database).
    pub credentials: Result<Credentials, String>,
    pub batch_events: usize,
    pub batch_bytes: usize,
    pub timeouts: Timeouts,
    pub backoff: Backoff,
}

#[derive(Clone, Debug)]
pub struct Credentials {
    pub token: Token,
    pub uids: UidForm,
    /// The authorities trusted for the server (`ca_file`); `None`: the
    /// public ones built in.
    pub authorities: Option<Authorities>,
}

/// How card UIDs are sent.
#[derive(Clone, PartialEq, Eq)]
pub enum UidForm {
    Raw,
    /// HMAC-SHA256 with this key.
    Keyed(Vec<u8>),
}

impl std::fmt::Debug for UidForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UidForm::Raw => "Raw",
            UidForm::Keyed(_) => "Keyed(…)",
        })
    }
}

/// This installation's key for card UIDs: `sync.card_key_file`, else
/// `card-key` in `data_dir`. The push's keyed UIDs and the exports' hashes
/// (`privacy.uids = "hash"`) both use it, so a card gives one value in both.
pub fn card_key_file(config: &SyncConfig, data_dir: &Path) -> PathBuf {
    config
        .card_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("card-key"))
}

impl SyncSettings {
    /// `None` when no server is configured (the push is off). `token` is
    /// `TAPROLL_SYNC_TOKEN`; `data_dir` holds the default card key.
    pub fn resolve(
        config: &SyncConfig,
        token: Option<String>,
        data_dir: &Path,
    ) -> Option<Result<Self, String>> {
        let server = config.server.as_deref()?;
        Some(ServerUrl::parse(server).map(|server| {
            let credentials =
                secret::load_token(token, config.token_file.as_deref()).and_then(|token| {
                    let uids = match config.card_uids {
                        CardUids::Raw => UidForm::Raw,
                        CardUids::Keyed => UidForm::Keyed(secret::load_or_make_key(
                            &card_key_file(config, data_dir),
                        )?),
                    };
                    let authorities = config
                        .ca_file
                        .as_deref()
                        .map(Authorities::read)
                        .transpose()?;
                    Ok(Credentials {
                        token,
                        uids,
                        authorities,
                    })
                });
            Self {
                server,
                credentials,
                batch_events: config.batch_events as usize,
                batch_bytes: config.batch_bytes as usize,
                timeouts: Timeouts {
                    connect: Duration::from_secs(config.connect_timeout_seconds.into()),
                    request: Duration::from_secs(config.request_timeout_seconds.into()),
                },
                backoff: Backoff {
                    cap: Duration::from_secs(config.retry_max_seconds.into()),
                    ..Backoff::default()
                },
            }
        }))
    }
}
