//! Tests of the real taproll binary on real files and in a real terminal:
//! headless runs, config errors, roster imports, reports, output and
//! database failures, and the TUI in tmux. One binary: one link for CI.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod erasure;
mod maintenance;
mod privacy;
mod recorder;
mod reports;
mod retention;
mod risk;
mod robustness;
mod roster_import;
mod server;
mod sync;
mod tui_tmux;
