//! The config loader (`taproll::config::parse`, what `load` does after
//! reading the file): any text gives a checked config or an error that
//! names the file, and a line that is in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use taproll::config::{self, Config};
use taproll::toml_file::{self, TomlFileError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // read_to_string refuses it before any parsing
    };
    let path = Path::new("fuzz.toml");
    if let Err(error) = config::parse(path, text) {
        assert!(
            error.to_string().starts_with("config error: fuzz.toml"),
            "{error}"
        );
    }
    if let Err(TomlFileError::Invalid { line, .. }) = toml_file::parse::<Config>(path, text) {
        assert!(line <= text.split('\n').count(), "line {line}");
    }
});
