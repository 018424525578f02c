//! Tests of the library on real SQLite files: the store (taps, marks, undo,
//! claims, sessions, migrations, two writers) and the engine with the typed
//! events it leaves in the outbox. One binary: one link for CI to build.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "../common/mod.rs"]
mod common;

mod clock;
mod events;
mod marks;
mod properties;
mod restore;
mod store;
mod sync;
mod sync_server;
mod term;
