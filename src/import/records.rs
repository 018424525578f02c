//! Splitting a roster file into records, strictly. A roster value is one
//! line of text; RFC 4180 explains a quote only around a whole value (with
//! `""` for a quote inside it). Anything else (a quote left open, text after
//! a closing quote, a bare quote inside a value) is a mistake in the file,
//! and a lenient reader would silently swallow lines or drop quotes: the
//! file is refused with the line where the value began.

use super::ImportError;

/// One line of the file, split into its values.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    /// 1-based line in the file.
    pub line: usize,
    pub fields: Vec<String>,
}

/// Every line of `text` (line ends already `\n`), in order; blank lines too.
pub fn records(text: &str, delimiter: char) -> Result<Vec<Record>, ImportError> {
    // A final line end does not start another record.
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .map(|(index, line)| {
            let line_no = index + 1;
            split(line, delimiter)
                .map(|fields| Record {
                    line: line_no,
                    fields,
                })
                .map_err(|reason| ImportError::Csv {
                    line: line_no,
                    reason,
                })
        })
        .collect()
}

/// The values of one line, or why the line cannot be read.
fn split(line: &str, delimiter: char) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let (field, after) = match rest.trim_start_matches(' ').strip_prefix('"') {
            Some(quoted) => quoted_value(quoted, delimiter)?,
            None => plain_value(rest, delimiter)?,
        };
        fields.push(field);
        match after {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

/// A value without quotes, up to the delimiter; and what follows it.
fn plain_value(text: &str, delimiter: char) -> Result<(String, Option<&str>), String> {
    let (value, after) = match text.split_once(delimiter) {
        Some((value, after)) => (value, Some(after)),
        None => (text, None),
    };
    if value.contains('"') {
        return Err(format!(
            "a quote inside the value `{}`; put the value in quotes and double the quote inside: \"{}\"",
            shorten(value),
            shorten(&value.replace('"', "\"\""))
        ));
    }
    Ok((value.to_string(), after))
}

/// A value after its opening quote: up to the closing one, `""` read as a
/// quote; then only spaces before the delimiter or the end of the line.
fn quoted_value(text: &str, delimiter: char) -> Result<(String, Option<&str>), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            value.push(c);
            continue;
        }
        if text[i + 1..].starts_with('"') {
            value.push('"');
            chars.next();
            continue;
        }
        let after = text[i + 1..].trim_start_matches(' ');
        return match after.strip_prefix(delimiter) {
            Some(next) => Ok((value, Some(next))),
            None if after.is_empty() => Ok((value, None)),
            None => Err(format!(
                "text after the closing quote of \"{}\": `{}`; a quote inside a quoted value is written twice (\"\")",
                shorten(&value),
                shorten(after)
            )),
        };
    }
    Err(format!(
        "a quote opens the value \"{}\" and is not closed on this line; \
         a roster value is one line: close the quote or remove it",
        shorten(&value)
    ))
}

/// Enough of a value to recognise it in a message.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.chars().count() <= SHOWN {
        return text.to_string();
    }
    let mut short: String = text.chars().take(SHOWN).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Result<Vec<String>, String> {
        split(line, ',')
    }

    #[test]
    fn plain_and_quoted_values() {
        assert_eq!(fields("s1,Ann,a@x").unwrap(), ["s1", "Ann", "a@x"]);
        assert_eq!(
            fields(r#"s1,"Lovelace, Ada","say ""hi""",,"#).unwrap(),
            ["s1", "Lovelace, Ada", "say \"hi\"", "", ""]
        );
        assert_eq!(fields(r#"s1, "Ann" ,x"#).unwrap(), ["s1", "Ann", "x"]);
        assert_eq!(fields("").unwrap(), [""]);
        assert_eq!(split("a;\"b;c\"", ';').unwrap(), ["a", "b;c"]);
    }

    #[test]
    fn a_quote_the_format_cannot_explain_is_refused() {
        let open = fields(r#"s2,"Bob,b@x"#).unwrap_err();
        assert!(open.contains("not closed on this line"), "{open}");
        let after = fields(r#"s2,"Bob O"Neil,b@x"#).unwrap_err();
        assert!(after.contains("text after the closing quote"), "{after}");
        let bare = fields(r#"s2,Bob O"Neil,b@x"#).unwrap_err();
        assert!(bare.contains(r#""Bob O""Neil""#), "{bare}");
    }

    #[test]
    fn records_carry_their_line_numbers() {
        let all = records("id,name\n\ns1,Ann\n", ',').unwrap();
        let lines: Vec<usize> = all.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3]);
        let error = records("id,name\ns1,\"Ann\ns2,Bob\n", ',').unwrap_err();
        assert!(
            matches!(error, ImportError::Csv { line: 2, .. }),
            "{error:?}"
        );
    }
}
