//! Property tests over what reads outside input: the roster importer, the
//! config and scenario loaders, card UIDs and the wedge normalisation. Any
//! input gives a value or an error that says where, never a panic; a roster
//! file that is refused leaves the database exactly as it was. The same
//! entry points are fuzzed for longer under `fuzz/` (docs/fuzzing.md).
//!
//! Fixed seed and case counts, no persistence files: every run tries the
//! same inputs, and the suite stays a few seconds long.

use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestRunner};
use rusqlite::types::ValueRef;
use std::path::{Path, PathBuf};
use taproll::cli_error::CliError;
use taproll::commands::import_file;
use taproll::config;
use taproll::domain::CardUid;
use taproll::import::{self, ImportError};
use taproll::reader::sim::Script;
use taproll::reader::wedge::{WedgeConfig, WedgeFormat, masked_typed, normalise};
use taproll::store::{ImportOptions, Store};
use taproll::toml_file::TomlFileError;

fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(15),
        ..ProptestConfig::default()
    }
}

/// The number of lines the importer counts in `text`.
fn line_count(text: &str) -> usize {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .count()
}

/// Parses a roster and checks what any outcome promises.
fn parse_roster(text: &str) -> Result<import::Parsed, ImportError> {
    let lines = line_count(text);
    let parsed = import::parse(text);
    match &parsed {
        Ok(parsed) => {
            assert!(!parsed.students.is_empty() || !parsed.refused.is_empty());
            let named = parsed.students.iter().map(|s| s.line);
            for line in named.chain(parsed.refused.iter().map(|r| r.line)) {
                assert!((2..=lines).contains(&line), "line {line} of {lines}");
            }
            assert!(parsed.refused.iter().all(|r| !r.reason.is_empty()));
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
            if let ImportError::Csv { line, .. } = error {
                assert!((1..=lines).contains(line), "line {line} of {lines}");
            }
        }
    }
    parsed
}

const FIXTURES: [&str; 6] = [
    include_str!("../fixtures/bad_lines.csv"),
    include_str!("../fixtures/canvas.csv"),
    include_str!("../fixtures/generic_bom_semicolon.csv"),
    include_str!("../fixtures/missing_columns.csv"),
    include_str!("../fixtures/moodle.csv"),
    include_str!("../fixtures/report_roster.csv"),
];

/// `text` with one value replaced: the `field`th (by the delimiter, quotes
/// not minded) of the `line`th line, each counted round the file's size.
fn replace_value(text: &str, line: usize, field: usize, value: &str) -> String {
    let delimiter = if text.contains(';') { ';' } else { ',' };
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let line = line % lines.len();
    let mut fields: Vec<&str> = lines[line].split(delimiter).collect();
    let field = field % fields.len();
    fields[field] = value;
    lines[line] = fields.join(&delimiter.to_string());
    lines.join("\n")
}

/// A generic roster of new students: ids g0, g1, ..., cards 07000000 up.
fn good_lines() -> impl Strategy<Value = Vec<String>> {
    let line = ("[A-Za-z][A-Za-z '.-]{0,20}", any::<bool>(), any::<bool>());
    prop::collection::vec(line, 0..6).prop_map(|lines| {
        lines
            .into_iter()
            .enumerate()
            .map(|(i, (name, email, card))| {
                let email = if email {
                    format!("g{i}@example.edu")
                } else {
                    String::new()
                };
                let card = if card {
                    format!("07{i:06X}")
                } else {
                    String::new()
                };
                format!("g{i},{name},{email},{card}")
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn any_text_gives_a_roster_or_an_error(text in any::<String>()) {
        let _ = parse_roster(&text);
    }

    #[test]
    fn csv_like_text_gives_a_roster_or_an_error(
        text in "(id|name|card|student|\"|,|;|\r|\n|\u{FEFF}| |s1|Ada|04A1B2C3|04:a1|@)*",
    ) {
        let _ = parse_roster(&text);
    }

    #[test]
    fn a_fixture_with_a_value_changed_gives_a_roster_or_an_error(
        fixture in 0..FIXTURES.len(),
        line in any::<usize>(),
        field in any::<usize>(),
        value in "\\PC{0,30}",
    ) {
        let _ = parse_roster(&replace_value(FIXTURES[fixture], line, field, &value));
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Each line that was not touched is read: a student or a refused line,
    /// once. (The changed line may be a blank one now, or spoil the file.)
    #[test]
    fn every_other_line_is_a_student_or_refused(
        lines in good_lines(),
        line in any::<usize>(),
        field in any::<usize>(),
        value in "\\PC{0,30}",
    ) {
        let text = format!("id,name,email,card\n{}\n", lines.join("\n"));
        let changed = 1 + line % (lines.len() + 1);
        let text = replace_value(&text, changed - 1, field, &value);
        if let Ok(parsed) = parse_roster(&text) {
            let mut named: Vec<usize> = parsed.students.iter().map(|s| s.line).collect();
            named.extend(parsed.refused.iter().map(|r| r.line));
            named.sort_unstable();
            let before = named.len();
            named.dedup();
            prop_assert_eq!(before, named.len(), "a line read twice");
            for untouched in (2..=lines.len() + 1).filter(|l| *l != changed) {
                prop_assert!(named.contains(&untouched), "line {} left out", untouched);
            }
        }
    }
}

/// A line (or two) that makes the whole file refused, and the line of the
/// file (counted in the poison) that the refusal names.
#[derive(Clone, Debug)]
struct Poison {
    lines: Vec<&'static [u8]>,
    refused: usize,
}

fn poison() -> impl Strategy<Value = Poison> {
    let poison = |lines: &[&'static [u8]], refused| Poison {
        lines: lines.to_vec(),
        refused,
    };
    prop::sample::select(vec![
        // Refused by the parser, line by line.
        poison(&[b"x1,First,,", b"x1,Second,,"], 1),
        poison(&[b"x2,,,"], 0),
        poison(&[b",Someone,,"], 0),
        poison(&[b"x3,Bad Card,,04ZZ"], 0),
        poison(&[b"x3,Short Card,,04A1"], 0),
        poison(&[b"x4,Lovelace, Ada,a@example.edu,05000001"], 0),
        poison(&[b"x5,A,,06000001", b"x6,B,,06:00:00:01"], 1),
        // Refused by the parser as a whole file.
        poison(&[b"x7,Bob O\"Neil,,"], 0),
        poison(&[b"x8,\"Bob,,"], 0),
        poison(&[b"x9,Jos\xe9,,"], 0),
        // Refused by the database: another student's card, and a rename
        // of a student enrolled in another course.
        poison(&[b"x10,Thief,,04A1B2C4"], 0),
        poison(&[b"x11,New,,04:a1:b2:c3"], 0),
        poison(&[b"s3,Grace Renamed,,"], 0),
    ])
}

/// Every row of every table, as text: the whole database to compare.
fn dump(db: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut query = statement.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            rows.push(format!("{table}: {}", values.join(" | ")));
        }
    }
    rows.sort();
    rows
}

/// A database with Networks 101 (Ada with card 04A1B2C3, Alan) and
/// Physics (Grace with card 04A1B2C4), imported as a user would.
fn classes(dir: &Path) -> (PathBuf, Store) {
    let db = dir.join("taproll.db");
    let store = Store::open(&db).unwrap();
    let files = [
        (
            "Networks 101",
            "id,name,card\ns1,Ada Lovelace,04A1B2C3\ns2,Alan Turing,\n",
        ),
        ("Physics", "id,name,card\ns3,Grace Hopper,04A1B2C4\n"),
    ];
    for (course, text) in files {
        let file = dir.join("base.csv");
        std::fs::write(&file, text).unwrap();
        import_file(&store, &file, course, ImportOptions::default()).unwrap();
    }
    (db, store)
}

/// `taproll roster import` of a file with one bad line among good ones:
/// refused, with that line named, and nothing of it written. One database
/// for every case (a case that writes fails, and SQLite's syncs make a new
/// database per case slow).
#[test]
fn a_refused_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, store) = classes(dir.path());
    let path = dir.path().join("roster.csv");
    let courses = prop::sample::select(vec!["Networks 101", "Chemistry"]);
    let strategy = (
        good_lines(),
        poison(),
        any::<usize>(),
        courses,
        any::<bool>(),
    );
    let mut runner = TestRunner::new(cases(128));
    let result = runner.run(&strategy, |(lines, poison, at, course, dry_run)| {
        let before = dump(&db);
        let at = at % (lines.len() + 1);
        let mut file: Vec<&[u8]> = vec![b"id,name,email,card"];
        file.extend(lines[..at].iter().map(|l| l.as_bytes()));
        file.extend(&poison.lines);
        file.extend(lines[at..].iter().map(|l| l.as_bytes()));
        std::fs::write(&path, file.join(&b'\n')).unwrap();
        let refused_line = 2 + at + poison.refused;

        let options = ImportOptions {
            dry_run,
            allow_renames: false,
        };
        let error = import_file(&store, &path, course, options).unwrap_err();
        match &error {
            CliError::Refused { lines, .. } => {
                prop_assert!(lines.iter().any(|r| r.line == refused_line), "{}", error);
            }
            CliError::Import {
                source: ImportError::Csv { line, .. },
                ..
            } => prop_assert_eq!(*line, refused_line, "{}", error),
            other => prop_assert!(false, "not a refusal: {}", other),
        }
        let named = format!("line {refused_line}");
        prop_assert!(error.to_string().contains(&named), "{}", error);
        let after = dump(&db);
        let written: Vec<&String> = after.iter().filter(|row| !before.contains(row)).collect();
        let gone: Vec<&String> = before.iter().filter(|row| !after.contains(row)).collect();
        prop_assert!(
            written.is_empty() && gone.is_empty(),
            "written: {:#?}\ngone: {:#?}",
            written,
            gone
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// A `key = value` line of config.example.toml: (line, key) outside
/// `[keys]` (a clash there names whichever key comes first).
fn example_value_lines() -> Vec<(usize, String)> {
    let mut section = String::new();
    let mut found = Vec::new();
    for (index, line) in EXAMPLE.lines().enumerate() {
        if let Some(name) = line.strip_prefix('[') {
            section = name.trim_end_matches(']').to_string();
        } else if let Some((key, _)) = line.split_once(" = ")
            && !line.starts_with('#')
            && section != "keys"
        {
            found.push((index + 1, format!("{section}.{key}")));
        }
    }
    found
}

const EXAMPLE: &str = include_str!("../../config.example.toml");

/// A TOML value of any type, well formed.
fn toml_value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..5000).prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-zA-Z0-9 ./:_+-]{0,16}".prop_map(|s| format!("\"{s}\"")),
        Just("1.5".to_string()),
    ];
    prop_oneof![
        3 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
    ]
}

/// `config error: c.toml, line N, key `k`: ...` read back: (N, k).
fn line_and_key(message: &str) -> Option<(usize, String)> {
    let rest = message.strip_prefix("config error: c.toml, line ")?;
    let (line, rest) = rest.split_once(", key `")?;
    let (key, _) = rest.split_once("`: ")?;
    Some((line.parse().ok()?, key.to_string()))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_config_text_gives_a_config_or_an_error(text in any::<String>()) {
        if let Err(error) = config::parse(Path::new("c.toml"), &text) {
            let message = error.to_string();
            prop_assert!(message.starts_with("config error: c.toml"), "{}", message);
        }
    }

    /// One value of the example changed: taken, or refused naming its line
    /// and key (or, for a value a list holds, the list's element).
    #[test]
    fn a_changed_config_value_is_taken_or_names_its_line_and_key(
        which in any::<prop::sample::Index>(),
        value in toml_value(),
    ) {
        let lines = example_value_lines();
        let (line, key) = which.get(&lines).clone();
        let text: Vec<String> = EXAMPLE
            .lines()
            .enumerate()
            .map(|(index, text)| match text.split_once(" = ") {
                Some((name, _)) if index + 1 == line => format!("{name} = {value}"),
                _ => text.to_string(),
            })
            .collect();
        if let Err(error) = config::parse(Path::new("c.toml"), &text.join("\n")) {
            let message = error.to_string();
            let named = line_and_key(&message);
            prop_assert!(named.is_some(), "{}", message);
            let (named_line, named_key) = named.unwrap_or_default();
            prop_assert_eq!(named_line, line, "{}", message);
            prop_assert!(named_key.starts_with(&key), "{}", message);
        }
    }

    #[test]
    fn any_scenario_text_gives_a_script_or_an_error(text in any::<String>()) {
        match Script::parse(Path::new("s.toml"), &text) {
            Ok(_) => {}
            Err(TomlFileError::Invalid { line, message, .. }) => {
                prop_assert!(line <= text.split('\n').count());
                prop_assert!(!message.is_empty());
            }
            Err(other) => prop_assert!(false, "read a file: {}", other),
        }
    }

    /// One tap's UID changed in the demo scenario: taken if it is a UID,
    /// else refused naming that tap, its line and why.
    #[test]
    fn a_changed_scenario_uid_is_taken_or_names_its_tap(
        which in any::<prop::sample::Index>(),
        uid in "[0-9a-fA-F :g-z-]{0,24}",
    ) {
        const DEMO: &str = include_str!("../../assets/demo/scenario.toml");
        let uid_lines: Vec<usize> = DEMO
            .lines()
            .enumerate()
            .filter(|(_, text)| text.starts_with("uid = "))
            .map(|(index, _)| index)
            .collect();
        let tap = which.index(uid_lines.len());
        let text: Vec<String> = DEMO
            .lines()
            .enumerate()
            .map(|(index, text)| {
                if index == uid_lines[tap] { format!("uid = \"{uid}\"") } else { text.to_string() }
            })
            .collect();
        let result = Script::parse(Path::new("s.toml"), &text.join("\n"));
        match CardUid::parse(&uid) {
            Ok(_) => prop_assert!(result.is_ok()),
            Err(why) => {
                let expected = format!(
                    "s.toml, line {}, key `tap[{}].uid`: {why}",
                    uid_lines[tap] + 1,
                    tap + 1
                );
                prop_assert_eq!(result.map(|_| ()).unwrap_err().to_string(), expected);
            }
        }
    }
}

/// What any UID promises: it reads back as itself from either spelling,
/// and its masked form hides at least one byte.
fn check_uid(uid: &CardUid) -> Result<(), TestCaseError> {
    let hex = uid.as_hex();
    prop_assert!(!hex.is_empty() && hex.len().is_multiple_of(2) && hex.len() <= 32);
    prop_assert_eq!(CardUid::parse(hex), Ok(uid.clone()));
    prop_assert_eq!(CardUid::parse(&uid.to_string()), Ok(uid.clone()));
    let masked = uid.masked();
    let shown = masked.split(':').filter(|part| *part != "…").count();
    prop_assert!(shown < hex.len() / 2, "{} shows every byte", masked);
    Ok(())
}

/// A UID's bytes as a person might write them.
fn spelled(bytes: &[u8], separator: &str, lower: bool) -> String {
    let pairs: Vec<String> = bytes
        .iter()
        .map(|b| {
            if lower {
                format!("{b:02x}")
            } else {
                format!("{b:02X}")
            }
        })
        .collect();
    pairs.join(separator)
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn any_text_gives_a_uid_or_an_error(text in "\\PC{0,40}|[0-9a-fA-F :-]{0,40}") {
        match CardUid::parse(&text) {
            Ok(uid) => check_uid(&uid)?,
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        match CardUid::parse_card_number(&text) {
            Ok(uid) => {
                prop_assert!((4..=10).contains(&(uid.as_hex().len() / 2)));
                prop_assert_eq!(CardUid::parse(&text), Ok(uid));
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn any_bytes_give_a_uid_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
        match CardUid::from_bytes(&bytes) {
            Ok(uid) => {
                prop_assert!((1..=16).contains(&bytes.len()));
                check_uid(&uid)?;
            }
            Err(error) => {
                prop_assert!(bytes.is_empty() || bytes.len() > 16);
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }

    #[test]
    fn every_spelling_of_a_uid_is_the_same_uid(
        bytes in prop::collection::vec(any::<u8>(), 1..=16),
        separator in prop::sample::select(vec!["", ":", "-", " "]),
        lower in any::<bool>(),
    ) {
        let uid = CardUid::from_bytes(&bytes).unwrap();
        prop_assert_eq!(CardUid::parse(&spelled(&bytes, separator, lower)), Ok(uid));
    }

    #[test]
    fn any_typed_line_gives_a_uid_or_a_masked_error(
        typed in "\\PC{0,40}|[0-9a-fA-F :-]{0,40}",
        decimal in any::<bool>(),
        reversed in any::<bool>(),
        bytes in any::<u8>(),
    ) {
        let format = if decimal { WedgeFormat::Decimal } else { WedgeFormat::Hex };
        let config = WedgeConfig { format, reversed, bytes };
        // A card number of 8 digits and more must not show in full.
        let card_like = typed.trim().len() >= 8 && typed.trim().chars().all(|c| c.is_ascii_hexdigit());
        match normalise(&typed, &config) {
            Ok(uid) if bytes > 0 => prop_assert_eq!(uid.as_hex().len(), 2 * usize::from(bytes)),
            Ok(_) => {}
            Err(error) => {
                let message = error.to_string();
                prop_assert!(!message.is_empty());
                prop_assert!(!card_like || !message.contains(typed.trim()), "{}", message);
            }
        }
        prop_assert!(!card_like || !masked_typed(&typed).contains(typed.trim()));
    }

    /// A reader that types the UID in hex or decimal, either byte order,
    /// leading zeros dropped: the UID a PC/SC reader reads from the card.
    #[test]
    fn a_wedge_reader_gives_the_cards_uid(
        bytes in prop::collection::vec(any::<u8>(), 1..=16),
        decimal in any::<bool>(),
        reversed in any::<bool>(),
        separator in prop::sample::select(vec!["", ":", " "]),
    ) {
        let mut sent = bytes.clone();
        if reversed {
            sent.reverse();
        }
        let typed = if decimal {
            let mut value = [0u8; 16];
            value[16 - sent.len()..].copy_from_slice(&sent);
            u128::from_be_bytes(value).to_string()
        } else if separator.is_empty() {
            let hex = spelled(&sent, "", false);
            let trimmed = hex.trim_start_matches('0');
            if trimmed.is_empty() { hex } else { trimmed.to_string() }
        } else {
            spelled(&sent, separator, true)
        };
        let format = if decimal { WedgeFormat::Decimal } else { WedgeFormat::Hex };
        let config = WedgeConfig { format, reversed, bytes: bytes.len() as u8 };
        prop_assert_eq!(normalise(&typed, &config), Ok(CardUid::from_bytes(&bytes).unwrap()));
    }
}
