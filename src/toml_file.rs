//! Reading TOML files (config, scenarios) with errors that name the file, the
//! line and the full dotted key, so a typo can be fixed without guessing.
//!
//! Lines and keys come from the toml crate's spans, never from re-reading the
//! text: the error's span is looked up in the document's spanned tree
//! (`toml::de::DeTable`), which knows every key however it was written (a
//! `[table]` header, a dotted key, an inline table, an array of tables).

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

#[derive(Debug, thiserror::Error)]
pub enum TomlFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `line` 0: no line to name; `key` empty: no key to name (a syntax
    /// error outside any key); both are then left out of the message.
    #[error("{}", Located { path, line: *line, key, message })]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

/// `FILE, line N, key `a.b`: message`, without the parts that are unknown.
struct Located<'a> {
    path: &'a Path,
    line: usize,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        if !self.key.is_empty() {
            write!(f, ", key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Parses `text` (read from `path`) into `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, TomlFileError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|span| span.start);
        let key = offset
            .and_then(|offset| key_at(&entries(text), text, offset))
            .unwrap_or_default();
        TomlFileError::Invalid {
            path: path.to_path_buf(),
            line: offset.map_or(0, |offset| line_of_offset(text, offset)),
            key,
            message: e.message().trim().to_string(),
        }
    })
}

/// An error about a value that parsed but is not allowed, e.g. out of range.
/// `key` is a dotted path as the errors write it (`report.canvas.points`,
/// `tap[2].uid`, `admin.cards[1]`); the line is where that key is written,
/// else where its nearest written parent is (a `[table]` header).
pub fn invalid_value(path: &Path, text: &str, key: &str, message: String) -> TomlFileError {
    TomlFileError::Invalid {
        path: path.to_path_buf(),
        line: line_of_key(text, key).unwrap_or(0),
        key: key.to_string(),
        message,
    }
}

/// One key or array element of a document.
#[derive(Debug)]
struct Entry {
    /// The full dotted path: `report.canvas.points`, `tap[2].uid`.
    path: String,
    /// Where the key is written (for an array element: the element).
    key: Range<usize>,
    /// Where the value is written; a `[table]`'s value is its header.
    value: Range<usize>,
}

/// Every key and array element of `text`, as far as it parses.
fn entries(text: &str) -> Vec<Entry> {
    let (document, _errors) = DeTable::parse_recoverable(text);
    let mut out = Vec::new();
    collect_table(document.get_ref(), "", &mut out);
    out
}

fn collect_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        // A key the parser made up to recover from a syntax error.
        if key.span().is_empty() {
            continue;
        }
        let segment = key_segment(key.get_ref());
        let path = if prefix.is_empty() {
            segment
        } else {
            format!("{prefix}.{segment}")
        };
        out.push(Entry {
            path: path.clone(),
            key: key.span(),
            value: value.span(),
        });
        collect_value(value.get_ref(), &path, out);
    }
}

fn collect_value(value: &DeValue<'_>, path: &str, out: &mut Vec<Entry>) {
    match value {
        DeValue::Table(table) => collect_table(table, path, out),
        DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                // Numbered from one, as a person counts `[[tap]]` blocks.
                let path = format!("{path}[{}]", index + 1);
                out.push(Entry {
                    path: path.clone(),
                    key: element.span(),
                    value: element.span(),
                });
                collect_value(element.get_ref(), &path, out);
            }
        }
        _ => {}
    }
}

/// A key as written in a dotted path: bare when TOML allows, else quoted.
fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

/// The dotted key an error at `offset` is about: the narrowest key or value
/// that holds the offset; for a syntax error between them, the last key
/// written before it on its line.
fn key_at(entries: &[Entry], text: &str, offset: usize) -> Option<String> {
    let holding = entries
        .iter()
        .flat_map(|entry| [(entry, &entry.key), (entry, &entry.value)])
        .filter(|(_, span)| contains(span, offset))
        .min_by_key(|(_, span)| span.len())
        .map(|(entry, _)| entry);
    let line = line_of_offset(text, offset);
    let before_on_line = || {
        entries
            .iter()
            .filter(|e| e.key.start <= offset && line_of_offset(text, e.key.start) == line)
            .max_by_key(|e| e.key.start)
    };
    holding.or_else(before_on_line).map(|e| e.path.clone())
}

/// The 1-based line where `dotted` is written, or its nearest written parent.
fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let entries = entries(text);
    let mut wanted = dotted;
    loop {
        if let Some(entry) = entries.iter().find(|e| e.path == wanted) {
            return Some(line_of_offset(text, entry.key.start));
        }
        // `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a`.
        let cut = wanted.rfind(['.', '['])?;
        wanted = &wanted[..cut];
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        session: Section,
        #[serde(default)]
        tap: Vec<Section>,
        #[serde(default)]
        report: Report,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        #[serde(default)]
        minutes: u32,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Report {
        canvas: Canvas,
        formats: Vec<String>,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Canvas {
        points: u32,
    }

    fn error(text: &str) -> (usize, String, String) {
        match parse::<Sample>(Path::new("c.toml"), text) {
            Err(TomlFileError::Invalid {
                line, key, message, ..
            }) => (line, key, message),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    fn line_and_key(text: &str) -> (usize, String) {
        let (line, key, _) = error(text);
        (line, key)
    }

    fn value_line(text: &str, key: &str) -> usize {
        match invalid_value(Path::new("c.toml"), text, key, "too big".into()) {
            TomlFileError::Invalid { line, .. } => line,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_value_names_its_line_and_dotted_key() {
        let (line, key, message) = error("# c\n[session]\nminutes = \"ten\"\n");
        assert_eq!((line, key.as_str()), (3, "session.minutes"));
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let (line, key, message) = error("[session]\nminutes = 3\nminuts = 4\n");
        assert_eq!((line, key.as_str()), (3, "session.minuts"));
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn a_plain_key_at_the_top_is_named() {
        let (line, key, message) = error("[session]\n\nsesion = 1\n");
        // Top-level keys after a table belong to it in TOML.
        assert_eq!((line, key.as_str()), (3, "session.sesion"));
        assert!(message.contains("unknown field"), "{message}");
        assert_eq!(
            line_and_key("\nsesion = 1\n[session]\n"),
            (2, "sesion".to_string())
        );
    }

    #[test]
    fn array_tables_are_numbered_from_one() {
        let text = "[session]\n[[tap]]\nminutes = 1\n[[tap]]\nminutes = -1\n";
        assert_eq!(line_and_key(text), (5, "tap[2].minutes".to_string()));
        let text = "[session]\n[[tap]]\nminutes = 1\n[[tap]]\n\nminuts = 1\n";
        assert_eq!(line_and_key(text), (6, "tap[2].minuts".to_string()));
        let text = "session = {}\ntap = [{ minutes = 1 }, { minutes = \"x\" }]\n";
        assert_eq!(line_and_key(text), (2, "tap[2].minutes".to_string()));
    }

    #[test]
    fn a_dotted_key_under_a_table_is_named_in_full() {
        let text = "[session]\n[report]\nformats = []\ncanvas.points = \"many\"\n";
        assert_eq!(line_and_key(text), (4, "report.canvas.points".to_string()));
        let text = "[session]\n[report]\n\ncanvas.pointz = 5\n";
        assert_eq!(line_and_key(text), (4, "report.canvas.pointz".to_string()));
        let text = "[session]\n[report.canvas]\npoints = -5\n";
        assert_eq!(line_and_key(text), (3, "report.canvas.points".to_string()));
        let text = "[session]\n[report.canvass]\npoints = 5\n";
        assert_eq!(line_and_key(text), (2, "report.canvass".to_string()));
    }

    #[test]
    fn an_inline_table_is_named_in_full() {
        let text = "session = {}\nreport = { canvas = { points = -1 } }\n";
        assert_eq!(line_and_key(text), (2, "report.canvas.points".to_string()));
        let text = "session = {}\n\nreport = { canvas = { pointz = 1 } }\n";
        assert_eq!(line_and_key(text), (3, "report.canvas.pointz".to_string()));
    }

    #[test]
    fn an_array_element_is_named_on_its_own_line() {
        let text = "[session]\n[report]\nformats = [\n  \"csv\",\n  3,\n]\n";
        assert_eq!(line_and_key(text), (5, "report.formats[2]".to_string()));
    }

    #[test]
    fn a_syntax_error_names_its_line_and_the_key_being_written() {
        let (line, key, _) = error("[session]\nminutes = \n");
        assert_eq!((line, key.as_str()), (2, "session.minutes"));
        let (line, key, _) = error("[session\n");
        assert_eq!((line, key.as_str()), (1, "session"));
        let (line, key, _) = error("[session]\n\n= 1\n");
        assert_eq!((line, key.as_str()), (3, ""));
        let shown = parse::<Sample>(Path::new("c.toml"), "[session]\n\n= 1\n")
            .unwrap_err()
            .to_string();
        assert!(shown.starts_with("c.toml, line 3: "), "{shown}");
    }

    #[test]
    fn the_message_keeps_its_format() {
        let shown = parse::<Sample>(Path::new("c.toml"), "[session]\nminutes = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            shown.starts_with("c.toml, line 2, key `session.minutes`: invalid type"),
            "{shown}"
        );
    }

    #[test]
    fn a_value_error_after_parsing_finds_the_key_line() {
        let text = "[other]\nminutes = 1\n[session]\n\nminutes = 900\n";
        assert_eq!(value_line(text, "session.minutes"), 5);
    }

    #[test]
    fn a_value_error_finds_dotted_inline_and_array_keys() {
        let dotted = "[report]\nformats = []\n\ncanvas.points = 5000\n";
        assert_eq!(value_line(dotted, "report.canvas.points"), 4);
        let inline = "\n\nreport = { canvas = { points = 5000 } }\n[session]\n";
        assert_eq!(value_line(inline, "report.canvas.points"), 3);
        let header = "[report.canvas]\n\npoints = 5000\n";
        assert_eq!(value_line(header, "report.canvas.points"), 3);
        let tables = "[[tap]]\nuid = \"a\"\n[[tap]]\n\nuid = \"b\"\n";
        assert_eq!(value_line(tables, "tap[2].uid"), 5);
        let cards = "[admin]\ncards = [\n  \"04A1B2C3\",\n  \"nope\",\n]\n";
        assert_eq!(value_line(cards, "admin.cards[2]"), 4);
    }

    #[test]
    fn a_key_not_written_falls_back_to_its_table() {
        let text = "[session]\n\n[keys]\nquit = \"m\"\n";
        assert_eq!(value_line(text, "keys.mark"), 3);
        assert_eq!(value_line(text, "report.canvas.points"), 0);
    }

    #[test]
    fn keys_that_need_quotes_are_quoted() {
        let text = "[session]\n\"minutes now\" = 1\n";
        assert_eq!(
            line_and_key(text),
            (2, "session.\"minutes now\"".to_string())
        );
    }
}
