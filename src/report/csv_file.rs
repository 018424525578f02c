//! The report as CSV: one row per student, plain headers, for a spreadsheet.

use super::cell::{self, Cell, Table};
use super::model::{Content, Report};
use super::tables;

/// Excel reads a CSV without it as Windows-1252 and garbles "Zoë".
pub const UTF8_BOM: &str = "\u{FEFF}";

pub fn render(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let table = match &report.content {
        Content::Session(session) => tables::session_students(session),
        Content::Course(course) => tables::course_students(course),
    };
    write(&table)
}

/// A table as CSV with every text cell neutralised.
pub fn write(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(UTF8_BOM.as_bytes().to_vec());
    writer.write_record(
        table
            .headers
            .iter()
            .map(|h| cell::neutralise(h).into_owned()),
    )?;
    for row in &table.rows {
        writer.write_record(row.iter().map(field))?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

fn field(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => cell::neutralise(text).into_owned(),
        Cell::Count(count) => count.to_string(),
        Cell::Rate(rate) => rate.map(cell::percent).unwrap_or_default(),
        Cell::Time(at) => at.as_ref().map(cell::full_time).unwrap_or_default(),
        Cell::Date(date) => date.map(|d| d.to_string()).unwrap_or_default(),
    }
}
