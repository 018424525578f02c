//! The push to a configured server (`docs/protocol.md`): relentless, exactly
//! once at the server (it deduplicates by event id), never in the room's
//! way. The local database stays the record of truth; the outbox is the
//! queue (`store::SyncQueue`).
//!
//! `settings` resolves `[sync]`; `push` sends one batch and records the
//! answer (`verdict` judges it, `client` talks HTTP, `backoff` says when to
//! try again); `sender` is the thread a run starts; `status` is what the
//! front ends show.

mod backoff;
mod client;
mod keyed;
mod probe;
mod push;
mod secret;
mod sender;
mod settings;
mod status;
mod url;
mod verdict;

pub use backoff::Backoff;
pub use client::{Authorities, Timeouts};
pub use probe::probe;
pub use push::{Pusher, Step};
pub use secret::{TOKEN_VARIABLE, load_or_make_key};
pub use sender::SyncHandle;
pub use settings::{Credentials, SyncSettings, UidForm, card_key_file};
pub use status::{Link, SyncStatus};
pub use url::ServerUrl;
