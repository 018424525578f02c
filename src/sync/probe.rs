//! Whether the server answers and takes the token, for `taproll doctor`:
//! an empty batch, which a receiver answers like any other and stores
//! nothing of.

use super::client::Client;
use super::push::batch_body;
use super::settings::{Credentials, SyncSettings};
use super::verdict::{Verdict, judge};
use crate::domain::Timestamp;
use uuid::Uuid;

pub fn probe(
    settings: &SyncSettings,
    credentials: &Credentials,
    device_id: Uuid,
    now: &Timestamp,
) -> Result<(), String> {
    let client = Client::new(
        &settings.server,
        &credentials.token,
        credentials.authorities.as_ref(),
        settings.timeouts,
    );
    let reply = client.post(batch_body(device_id, now, &[]).as_bytes())?;
    match judge(&reply, now.to_utc()) {
        Verdict::Answered(_) => Ok(()),
        Verdict::Refused(why) => Err(format!("the server refuses the token: {why}")),
        Verdict::Retry { error, .. } => Err(format!("no answer from the server: {error}")),
        Verdict::BadBatch(why) => Err(format!("the server refuses an empty batch: {why}")),
        Verdict::TooLarge => Err("the server refuses even an empty batch as too large".into()),
    }
}
