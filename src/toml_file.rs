//! Reading TOML files (config, scenarios) with errors that name the file, the
//! line and the key, so a typo can be fixed without guessing.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TomlFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}, key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

/// Parses `text` (read from `path`) into `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, TomlFileError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        let line = line_of_offset(text, offset);
        TomlFileError::Invalid {
            path: path.to_path_buf(),
            line,
            key: key_at_line(text, line),
            message: e.message().trim().to_string(),
        }
    })
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<(T, String), TomlFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| TomlFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((parse(path, &text)?, text))
}

/// An error about a value that parsed but is not allowed, e.g. out of range.
pub fn invalid_value(path: &Path, text: &str, key: &str, message: String) -> TomlFileError {
    TomlFileError::Invalid {
        path: path.to_path_buf(),
        line: line_of_key(text, key).unwrap_or(0),
        key: key.to_string(),
        message,
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

/// The dotted key on a 1-based line: `reader.backend`, `tap[3].uid`, or the
/// table name when the line is a header.
fn key_at_line(text: &str, line: usize) -> String {
    let mut table = String::new();
    let mut array_counts: Vec<(String, usize)> = Vec::new();
    for (number, raw) in text.lines().enumerate().take(line) {
        let trimmed = raw.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|r| r.split("]]").next())
        {
            let name = name.trim().to_string();
            let count = match array_counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => {
                    *count += 1;
                    *count
                }
                None => {
                    array_counts.push((name.clone(), 1));
                    1
                }
            };
            table = format!("{name}[{count}]");
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = name.trim().to_string();
        }
        if number + 1 == line {
            let key = trimmed
                .split_once('=')
                .map(|(key, _)| key.trim().trim_matches('"').to_string());
            return match (table.is_empty(), key) {
                (_, None) => table,
                (true, Some(key)) => key,
                (false, Some(key)) => format!("{table}.{key}"),
            };
        }
    }
    table
}

/// The 1-based line where a dotted `table.key` is set, if it is.
fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut current = "";
    for (number, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = name.trim();
        } else if current == table
            && trimmed
                .split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == key)
        {
            return Some(number + 1);
        }
    }
    None
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
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        #[serde(default)]
        minutes: u32,
    }

    fn error(text: &str) -> (usize, String, String) {
        match parse::<Sample>(Path::new("c.toml"), text) {
            Err(TomlFileError::Invalid {
                line, key, message, ..
            }) => (line, key, message),
            other => panic!("expected an Invalid error, got {other:?}"),
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
    fn array_tables_are_numbered_from_one() {
        let text = "[session]\n[[tap]]\nminutes = 1\n[[tap]]\nminutes = -1\n";
        let (line, key, _) = error(text);
        assert_eq!((line, key.as_str()), (5, "tap[2].minutes"));
    }

    #[test]
    fn a_value_error_after_parsing_finds_the_key_line() {
        let text = "[other]\nminutes = 1\n[session]\n\nminutes = 900\n";
        match invalid_value(
            Path::new("c.toml"),
            text,
            "session.minutes",
            "too big".into(),
        ) {
            TomlFileError::Invalid { line, .. } => assert_eq!(line, 5),
            other => panic!("{other:?}"),
        }
    }
}
