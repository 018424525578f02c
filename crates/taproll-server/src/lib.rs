//! taproll-server: receives what classroom devices push (protocol v1,
//! `docs/protocol.md`), keeps it in PostgreSQL or SQLite, and gives a
//! department its attendance across rooms. Stateless apart from the
//! database: run several copies against one PostgreSQL to grow.
//!
//! `http` answers requests; `ingest` turns a batch into statements;
//! `devices` and `reads` are the other things it stores and reads;
//! `storage` runs statements on either database.

pub mod config;
pub mod devices;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod rate;
pub mod reads;
pub mod storage;
pub mod tokens;
