//! taproll-server: receives what classroom devices push (protocol v1,
//! `docs/protocol.md`), keeps it in PostgreSQL or SQLite, and gives a
//! department its attendance across rooms. Stateless apart from the
//! database: run several copies against one PostgreSQL to grow.
//!
//! `http` answers requests; `received` reads a batch as sent; `ingest`
//! turns it into statements, `projection` an event; `devices` and `reads`
//! are the other things it stores and reads; `storage` runs statements on
//! either database. `config` (settings), `tokens` (device tokens),
//! `rate` (per-device limit) and `metrics` (Prometheus) are small helpers.

pub mod config;
pub mod devices;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod projection;
pub mod rate;
pub mod reads;
pub mod received;
pub mod storage;
pub mod tokens;
