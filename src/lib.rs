//! taproll: classroom attendance with NFC student cards.
//!
//! Follow one tap: `reader` (a backend thread sends `ReaderEvent::Card`) →
//! `engine` (asks `rules`, commits through `store`) → `tui` or `headless`
//! (shows what was committed).

pub mod backup;
pub mod cli;
pub mod cli_error;
pub mod clock;
pub mod command;
pub mod commands;
pub mod config;
pub mod console;
pub mod demo;
pub mod doctor;
pub mod domain;
pub mod door;
pub mod engine;
/// The typed events, shared with receivers (`taproll-wire`).
pub use taproll_wire::events;
pub mod fuzzy;
pub mod headless;
pub mod import;
pub mod keymap;
pub mod launch;
pub mod logging;
pub mod maintenance;
pub mod paths;
pub mod privacy;
pub mod privacy_command;
pub mod reader;
pub mod recorder;
pub mod report;
pub mod risk;
pub mod risk_command;
pub mod rules;
pub mod settings;
pub mod store;
pub mod sync;
pub mod sync_command;
pub mod text;
pub mod toml_file;
pub mod tui;
