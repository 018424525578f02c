//! Devices and institutions: a device is added to an institution and a room
//! and gets a token, shown once; the server keeps its hash. Every request
//! is the device of its token; every row it writes or reads is its
//! institution's.

use crate::storage::{Result, Statement, Storage, Value};
use crate::tokens::{new_token, token_hash};

/// A device as the server knows it from its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The registration's id (what `device revoke` takes).
    pub id: String,
    pub institution_id: i64,
    pub institution: String,
    pub room: String,
    /// The taproll device id its first batch carried; later batches must
    /// carry the same (one token, one device).
    pub device_id: Option<String>,
    pub revoked: bool,
}

/// A device with what `device list` shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    pub id: String,
    pub institution: String,
    pub room: String,
    pub device_id: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_seen_at: Option<String>,
    pub last_seq: i64,
    pub events: i64,
    pub clock_offset_ms: Option<i64>,
    /// How old the newest event of its last batch was when it arrived.
    pub lag_ms: Option<i64>,
}

/// Adds a device (and its institution, the first time); its token.
pub async fn add_device(
    storage: &Storage,
    institution: &str,
    room: &str,
    now: &str,
) -> Result<(String, String)> {
    let token =
        new_token().map_err(|e| crate::storage::StorageError::Bad(format!("random: {e}")))?;
    let id = uuid::Uuid::new_v4().to_string();
    storage
        .transaction(vec![
            Statement::new(
                "INSERT INTO institutions (name, created_at) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                vec![Value::text(institution), Value::text(now)],
            ),
            Statement::new(
                "INSERT INTO devices (id, institution_id, room, token_hash, created_at)
                 SELECT $1, id, $2, $3, $4 FROM institutions WHERE name = $5",
                vec![
                    Value::text(&id),
                    Value::text(room),
                    Value::text(token_hash(&token)),
                    Value::text(now),
                    Value::text(institution),
                ],
            ),
        ])
        .await?;
    Ok((id, token))
}

/// The device whose token this is, revoked or not; `None`: no such token.
pub async fn device_for_token(storage: &Storage, token: &str) -> Result<Option<Device>> {
    let rows = storage
        .query(Statement::new(
            "SELECT d.id, d.institution_id, i.name, d.room, d.device_id, d.revoked_at
             FROM devices d JOIN institutions i ON i.id = d.institution_id
             WHERE d.token_hash = $1",
            vec![Value::text(token_hash(token))],
        ))
        .await?;
    Ok(rows.into_iter().next().map(|row| Device {
        id: text(&row[0]),
        institution_id: row[1].as_int().unwrap_or_default(),
        institution: text(&row[2]),
        room: text(&row[3]),
        device_id: row[4].as_text().map(str::to_string),
        revoked: row[5].as_text().is_some(),
    }))
}

pub async fn list_devices(storage: &Storage, institution: Option<&str>) -> Result<Vec<DeviceInfo>> {
    let rows = storage
        .query(Statement::new(
            "SELECT d.id, i.name, d.room, d.device_id, d.created_at, d.revoked_at,
                    d.last_seen_at, d.last_seq, d.events, d.clock_offset_ms, d.lag_ms
             FROM devices d JOIN institutions i ON i.id = d.institution_id
             WHERE CAST($1 AS TEXT) IS NULL OR i.name = $1
             ORDER BY i.name, d.room, d.created_at",
            vec![Value::opt_text(institution)],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| DeviceInfo {
            id: text(&row[0]),
            institution: text(&row[1]),
            room: text(&row[2]),
            device_id: row[3].as_text().map(str::to_string),
            created_at: text(&row[4]),
            revoked_at: row[5].as_text().map(str::to_string),
            last_seen_at: row[6].as_text().map(str::to_string),
            last_seq: row[7].as_int().unwrap_or_default(),
            events: row[8].as_int().unwrap_or_default(),
            clock_offset_ms: row[9].as_int(),
            lag_ms: row[10].as_int(),
        })
        .collect())
}

/// Adds `accepted` to the events a device has sent (resends not counted).
pub async fn count_events(storage: &Storage, id: &str, accepted: usize) -> Result<()> {
    if accepted == 0 {
        return Ok(());
    }
    storage
        .transaction(vec![Statement::new(
            "UPDATE devices SET events = events + $2 WHERE id = $1",
            vec![Value::text(id), Value::int(accepted as i64)],
        )])
        .await
}

/// The id of the institution named `name`, if there is one.
pub async fn institution_id(storage: &Storage, name: &str) -> Result<Option<i64>> {
    let rows = storage
        .query(Statement::new(
            "SELECT id FROM institutions WHERE name = $1",
            vec![Value::text(name)],
        ))
        .await?;
    Ok(rows.first().and_then(|row| row[0].as_int()))
}

/// Revokes a device's token (its events stay); whether there was one.
pub async fn revoke_device(storage: &Storage, id: &str, now: &str) -> Result<bool> {
    let rows = storage
        .query(Statement::new(
            "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id",
            vec![Value::text(id), Value::text(now)],
        ))
        .await?;
    Ok(!rows.is_empty())
}

fn text(value: &Value) -> String {
    value.as_text().unwrap_or_default().to_string()
}
