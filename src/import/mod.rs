//! Reading a roster CSV: a generic file with a header row (id, name, email,
//! card; names matched loosely), or a Canvas or Moodle export, detected from
//! the header. UTF-8 with or without BOM, quoted fields, comma or semicolon.
//! Pure: text in, rows and refused lines out; the store applies them.

mod records;

use crate::domain::{CardUid, check_student_fields};
use records::{Record, records};
use std::collections::HashMap;

/// Which kind of file the header says this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Generic,
    /// Canvas gradebook export: "Student", "ID", "SIS User ID", "Section", ...
    Canvas,
    /// Moodle export: "First name", "Last name"/"Surname", "ID number", ...
    Moodle,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Generic => "generic CSV",
            Format::Canvas => "Canvas export",
            Format::Moodle => "Moodle export",
        }
    }
}

/// One student as the file gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterLine {
    /// 1-based line in the file.
    pub line: usize,
    pub student_no: String,
    pub name: String,
    pub email: Option<String>,
    pub card: Option<CardUid>,
    pub section: Option<String>,
}

/// A line that will not be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub format: Format,
    pub students: Vec<RosterLine>,
    pub refused: Vec<Refusal>,
}

/// The file as a whole cannot be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header but no students")]
    NoStudents,
    #[error(
        "the header has two columns for one value: `{first}` (column {first_at}) and `{second}` (column {second_at}); keep one of them"
    )]
    DuplicateColumn {
        first: String,
        first_at: usize,
        second: String,
        second_at: usize,
    },
    #[error("line {line}: {reason}")]
    Csv { line: usize, reason: String },
    #[error(
        "the header has no {missing} column (found: {found}); name the columns e.g. id, name, email, card"
    )]
    MissingColumn {
        missing: &'static str,
        found: String,
    },
}

/// Column names are compared lower-case with everything but letters and
/// digits removed: "Student ID", "student_id" and "StudentId" are one name.
fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

const ID_NAMES: &[&str] = &[
    "id",
    "studentid",
    "studentnumber",
    "studentno",
    "number",
    "matriculation",
    "matriculationnumber",
    "sisuserid",
    "sisid",
    "idnumber",
    "username",
];
const NAME_NAMES: &[&str] = &["name", "fullname", "studentname", "student"];
const FIRST_NAMES: &[&str] = &["firstname", "givenname", "forename"];
const LAST_NAMES: &[&str] = &["lastname", "surname", "familyname"];
const EMAIL_NAMES: &[&str] = &["email", "emailaddress", "mail", "sisloginid"];
const CARD_NAMES: &[&str] = &["card", "carduid", "uid", "cardid", "nfc", "nfcuid"];
const SECTION_NAMES: &[&str] = &["section", "group", "sections", "groups"];

/// Where each field is in a row.
struct Columns {
    format: Format,
    id: usize,
    name: NameColumns,
    email: Option<usize>,
    card: Option<usize>,
    section: Option<usize>,
}

enum NameColumns {
    Full(usize),
    /// Canvas writes "Last, First".
    Sortable(usize),
    Split {
        first: usize,
        last: usize,
    },
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    // The first name in the list wins, whatever the column order.
    names
        .iter()
        .find_map(|name| headers.iter().position(|h| h == name))
}

fn columns(headers: &[String], raw: &[String]) -> Result<Columns, ImportError> {
    let missing = |missing| ImportError::MissingColumn {
        missing,
        found: raw.join(", "),
    };
    let has = |name: &str| headers.iter().any(|h| h == name);
    let format = if has("student") && has("sisuserid") {
        Format::Canvas
    } else if find(headers, FIRST_NAMES).is_some()
        && find(headers, LAST_NAMES).is_some()
        && has("idnumber")
    {
        Format::Moodle
    } else {
        Format::Generic
    };
    let id = match format {
        Format::Canvas => find(headers, &["sisuserid"]),
        Format::Moodle => find(headers, &["idnumber"]),
        Format::Generic => find(headers, ID_NAMES),
    }
    .ok_or_else(|| missing("student id"))?;
    let name = match (format, find(headers, NAME_NAMES)) {
        (Format::Canvas, Some(column)) => NameColumns::Sortable(column),
        (Format::Generic, Some(column)) => NameColumns::Full(column),
        _ => match (find(headers, FIRST_NAMES), find(headers, LAST_NAMES)) {
            (Some(first), Some(last)) => NameColumns::Split { first, last },
            _ => return Err(missing("name")),
        },
    };
    Ok(Columns {
        format,
        id,
        name,
        email: find(headers, EMAIL_NAMES),
        card: find(headers, CARD_NAMES),
        section: find(headers, SECTION_NAMES),
    })
}

/// Comma or semicolon: whichever the header line has more of, outside quotes.
fn delimiter(header_line: &str) -> char {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for c in header_line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { ';' } else { ',' }
}

/// A column we read that the header names twice: which value would count?
fn refuse_duplicate_columns(headers: &[String], raw: &[String]) -> Result<(), ImportError> {
    let known = [
        ID_NAMES,
        NAME_NAMES,
        FIRST_NAMES,
        LAST_NAMES,
        EMAIL_NAMES,
        CARD_NAMES,
        SECTION_NAMES,
    ];
    for (i, header) in headers.iter().enumerate() {
        let ours = known.iter().any(|names| names.contains(&header.as_str()));
        if let Some(j) = headers[i + 1..].iter().position(|h| h == header)
            && ours
        {
            return Err(ImportError::DuplicateColumn {
                first: raw[i].clone(),
                first_at: i + 1,
                second: raw[i + j + 1].clone(),
                second_at: i + j + 2,
            });
        }
    }
    Ok(())
}

pub fn parse(text: &str) -> Result<Parsed, ImportError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    // One line end: Windows' CR LF and old Mac's lone CR become LF.
    let text = &text.replace("\r\n", "\n").replace('\r', "\n");
    let header_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(ImportError::Empty)?;
    let is_blank = |record: &Record| record.fields.iter().all(|f| f.trim().is_empty());
    let delimiter = delimiter(header_line);
    let mut rows = records(text, delimiter)?
        .into_iter()
        .filter(|record| !is_blank(record));
    let header = rows.next().ok_or(ImportError::Empty)?;
    let raw: Vec<String> = header.fields.iter().map(|h| h.trim().to_string()).collect();
    let headers: Vec<String> = raw.iter().map(|h| normalise(h)).collect();
    refuse_duplicate_columns(&headers, &raw)?;
    let columns = columns(&headers, &raw)?;

    let mut parsed = Parsed {
        format: columns.format,
        students: Vec::new(),
        refused: Vec::new(),
    };
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    let mut seen_cards: HashMap<CardUid, usize> = HashMap::new();
    for record in rows {
        let line = record.line;
        let field = |i: usize| record.fields.get(i).map(|f| f.trim()).unwrap_or("");
        if columns.format == Format::Canvas && is_canvas_extra_row(field(0)) {
            continue;
        }
        let mut refuse = |reason: String| parsed.refused.push(Refusal { line, reason });
        // More values than columns: a comma inside a value without quotes
        // ("Lovelace, Ada") shifts every value after it.
        if record.fields[headers.len().min(record.fields.len())..]
            .iter()
            .any(|f| !f.trim().is_empty())
        {
            refuse(format!(
                "{} values but the header has {} columns; a value with a `{}` in it must be in quotes",
                record.fields.len(),
                headers.len(),
                delimiter
            ));
            continue;
        }
        let student_no = field(columns.id).to_string();
        let name = match columns.name {
            NameColumns::Full(i) => field(i).to_string(),
            NameColumns::Sortable(i) => unsort_name(field(i)),
            NameColumns::Split { first, last } => format!("{} {}", field(first), field(last))
                .trim()
                .to_string(),
        };
        if student_no.is_empty() {
            refuse("no student id".into());
            continue;
        }
        if name.is_empty() {
            refuse(format!("student {student_no} has no name"));
            continue;
        }
        if let Some(first) = seen_ids.get(&student_no) {
            refuse(format!(
                "student id {student_no} is already on line {first}"
            ));
            continue;
        }
        let optional = |column: Option<usize>| {
            column
                .map(field)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let email = optional(columns.email).filter(|e| e.contains('@'));
        let section = optional(columns.section);
        if let Err(e) =
            check_student_fields(&student_no, &name, email.as_deref(), section.as_deref())
        {
            refuse(e.to_string());
            continue;
        }
        let card = match columns.card.map(field).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => match CardUid::parse_card_number(text) {
                Ok(uid) => Some(uid),
                Err(e) => {
                    refuse(format!("card `{text}`: {e}"));
                    continue;
                }
            },
        };
        if let Some(uid) = &card {
            if let Some(first) = seen_cards.get(uid) {
                refuse(format!(
                    "card {uid} is already given to the student on line {first}"
                ));
                continue;
            }
            seen_cards.insert(uid.clone(), line);
        }
        seen_ids.insert(student_no.clone(), line);
        parsed.students.push(RosterLine {
            line,
            student_no,
            name,
            email,
            card,
            section,
        });
    }
    if parsed.students.is_empty() && parsed.refused.is_empty() {
        return Err(ImportError::NoStudents);
    }
    Ok(parsed)
}

/// Canvas puts a "Points Possible" row under the header, and a test student.
fn is_canvas_extra_row(student: &str) -> bool {
    student == "Points Possible" || student == "Student, Test" || student == "Test Student"
}

/// "Lovelace, Ada" -> "Ada Lovelace"; anything else as it is.
fn unsort_name(name: &str) -> String {
    match name.split_once(',') {
        Some((last, first)) if !first.contains(',') => format!("{} {}", first.trim(), last.trim())
            .trim()
            .to_string(),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_matched_loosely() {
        assert_eq!(normalise("Student ID"), "studentid");
        assert_eq!(normalise("student_id"), "studentid");
        assert_eq!(normalise("E-Mail"), "email");
    }

    #[test]
    fn the_delimiter_is_the_more_frequent_one_outside_quotes() {
        assert_eq!(delimiter("id;name;\"a,b,c\""), ';');
        assert_eq!(delimiter("id,name,email"), ',');
    }

    #[test]
    fn canvas_sortable_names_are_turned_around() {
        assert_eq!(unsort_name("Lovelace, Ada"), "Ada Lovelace");
        assert_eq!(unsort_name("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(unsort_name("a, b, c"), "a, b, c");
    }
}
