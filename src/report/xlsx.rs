//! The report as an Excel workbook: a summary sheet, then a sheet per
//! session; frozen headers, filters, and times and dates as real ones.

use super::cell::{self, Cell, Table};
use super::model::{Content, Report, SessionReport};
use super::tables;
use crate::privacy::UidExport;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

/// Excel's limit on a column's width, in characters; wider is cut.
const MAX_WIDTH: usize = 40;

struct Formats {
    header: Format,
    time: Format,
    date: Format,
    percent: Format,
}

pub fn render(report: &Report, uids: &UidExport) -> Result<Vec<u8>, XlsxError> {
    let formats = Formats {
        header: Format::new().set_bold(),
        time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        percent: Format::new().set_num_format("0.0%"),
    };
    let zone = &report.time_zone;
    let mut workbook = Workbook::new();
    match &report.content {
        Content::Session(session) => {
            let summary = workbook.add_worksheet().set_name("Summary")?;
            write_facts(summary, &tables::session_facts(session, zone), &formats)?;
            add_session_sheet(&mut workbook, session, zone, &formats)?;
            if !session.unknown_taps.is_empty() {
                let sheet = workbook.add_worksheet().set_name("Unknown cards")?;
                write_table(
                    sheet,
                    &tables::unknown_taps(&session.unknown_taps, uids),
                    zone,
                    &formats,
                )?;
            }
        }
        Content::Course(course) => {
            let summary = workbook.add_worksheet().set_name("Summary")?;
            write_table(summary, &tables::course_students(course), zone, &formats)?;
            let sessions = workbook.add_worksheet().set_name("Sessions")?;
            write_table(
                sessions,
                &tables::session_counts(&course.sessions),
                zone,
                &formats,
            )?;
            let at_risk = workbook.add_worksheet().set_name("At risk")?;
            write_table(at_risk, &tables::at_risk(course), zone, &formats)?;
            for session in &course.sessions {
                add_session_sheet(&mut workbook, session, zone, &formats)?;
            }
        }
    }
    workbook.save_to_buffer()
}

/// A sheet named `2026-11-30 #12`: unique (the id) and within Excel's 31
/// characters, without the characters sheet names may not hold.
fn add_session_sheet(
    workbook: &mut Workbook,
    session: &SessionReport,
    zone: &str,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let name = format!("{} #{}", session.started_at.format("%Y-%m-%d"), session.id);
    let sheet = workbook.add_worksheet().set_name(name)?;
    write_table(sheet, &tables::session_students(session), zone, formats)
}

/// The table from A1, its header frozen and filtered; time columns say
/// their zone, as Excel times have none.
fn write_table(
    sheet: &mut Worksheet,
    table: &Table,
    zone: &str,
    formats: &Formats,
) -> Result<(), XlsxError> {
    for (column, header) in table.headers.iter().enumerate() {
        let is_time = table
            .rows
            .iter()
            .any(|row| matches!(row[column], Cell::Time(_)));
        let header = if is_time {
            format!("{header} ({zone})")
        } else {
            header.clone()
        };
        sheet.write_string_with_format(
            0,
            column as u16,
            cell::neutralise(&header),
            &formats.header,
        )?;
    }
    let mut widths: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
    for (index, row) in table.rows.iter().enumerate() {
        let at = index as u32 + 1;
        for (column, value) in row.iter().enumerate() {
            let width = write_cell(sheet, at, column as u16, value, formats)?;
            widths[column] = widths[column].max(width);
        }
    }
    for (column, width) in widths.into_iter().enumerate() {
        sheet.set_column_width(column as u16, (width.min(MAX_WIDTH) + 2) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_column = table.headers.len().saturating_sub(1) as u16;
    sheet.autofilter(0, 0, table.rows.len() as u32, last_column)?;
    Ok(())
}

/// Label and value per row, the labels bold.
fn write_facts(
    sheet: &mut Worksheet,
    facts: &[(String, Cell)],
    formats: &Formats,
) -> Result<(), XlsxError> {
    let mut width = 0;
    for (index, (label, value)) in facts.iter().enumerate() {
        sheet.write_string_with_format(index as u32, 0, label, &formats.header)?;
        width = width.max(write_cell(sheet, index as u32, 1, value, formats)?);
    }
    sheet.set_column_width(0, 18)?;
    sheet.set_column_width(1, (width.min(MAX_WIDTH) + 2) as f64)?;
    Ok(())
}

/// Excel holds at most 32,767 characters in a cell; a longer text (a
/// pasted essay of a note) is cut rather than failing the whole workbook.
fn fit_in_a_cell(text: &str) -> &str {
    const MAX_CHARS: usize = 32_767;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Writes one cell; returns about how wide it shows, in characters.
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    value: &Cell,
    formats: &Formats,
) -> Result<usize, XlsxError> {
    match value {
        Cell::Text(text) if text.is_empty() => Ok(0),
        Cell::Text(text) => {
            let text = cell::neutralise(text);
            let text = fit_in_a_cell(&text);
            sheet.write_string(row, column, text)?;
            Ok(text.chars().count())
        }
        Cell::Count(count) => {
            sheet.write_number(row, column, *count as f64)?;
            Ok(count.to_string().len())
        }
        Cell::Rate(Some(rate)) => {
            sheet.write_number_with_format(row, column, *rate, &formats.percent)?;
            Ok(6)
        }
        Cell::Time(Some(at)) => {
            sheet.write_datetime_with_format(row, column, at.naive_local(), &formats.time)?;
            Ok(19)
        }
        Cell::Date(Some(date)) => {
            sheet.write_datetime_with_format(row, column, *date, &formats.date)?;
            Ok(10)
        }
        Cell::Rate(None) | Cell::Time(None) | Cell::Date(None) => Ok(0),
    }
}
