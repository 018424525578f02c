//! The roster importer (`taproll::import::parse`): any text gives students
//! and refused lines, or an error; every line it names is in the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use taproll::import::{ImportError, parse};

fuzz_target!(|data: &[u8]| {
    // The command refuses a file that is not UTF-8 before parsing; the
    // lossy text still lets every input reach the parser.
    let text = String::from_utf8_lossy(data);
    let lines = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .count();
    match parse(&text) {
        Ok(parsed) => {
            assert!(!parsed.students.is_empty() || !parsed.refused.is_empty());
            let mut ids = HashSet::new();
            let mut cards = HashSet::new();
            for student in &parsed.students {
                assert!((1..=lines).contains(&student.line), "line {}", student.line);
                assert!(!student.student_no.is_empty() && !student.name.is_empty());
                assert!(ids.insert(student.student_no.clone()), "a student id twice");
                if let Some(card) = &student.card {
                    assert!(cards.insert(card.clone()), "a card twice");
                }
            }
            for refusal in &parsed.refused {
                assert!((1..=lines).contains(&refusal.line), "line {}", refusal.line);
                assert!(!refusal.reason.is_empty());
            }
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
            if let ImportError::Csv { line, .. } = error {
                assert!((1..=lines).contains(&line), "line {line}");
            }
        }
    }
});
