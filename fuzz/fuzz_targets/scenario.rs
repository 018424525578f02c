//! The scenario loader (`Script::parse`): any text gives a script or an
//! error that names the file, and a line that is in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use taproll::reader::sim::Script;
use taproll::toml_file::TomlFileError;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // read_to_string refuses it before any parsing
    };
    match Script::parse(Path::new("fuzz.toml"), text) {
        Ok(_) => {}
        Err(TomlFileError::Invalid { line, message, .. }) => {
            assert!(line <= text.split('\n').count(), "line {line}");
            assert!(!message.is_empty());
        }
        Err(other) => panic!("parsing read a file: {other}"),
    }
});
