//! End-of-class reports. `model` computes what a report says from the store;
//! `tables` lays it out once; each format module writes it its own way.
//! `load` reads the store, `render` writes bytes, `output` puts them in a
//! file safely, `export` is the TUI's end-of-session export.

pub mod at_risk;
pub mod canvas;
pub mod cell;
mod csv_file;
pub mod export;
pub mod json;
mod markdown;
pub mod model;
pub mod moodle;
pub mod output;
mod tables;
mod terminal;
mod xlsx;
pub mod zone;

pub use canvas::CanvasOptions;
pub use model::{Content, Report, Totals};
pub use moodle::MoodleOptions;
pub use zone::Zone;

use crate::domain::Session;
use crate::privacy::UidExport;
use crate::store::{Store, StoreError};
use chrono::NaiveDate;
use model::{Enrolled, course_report, in_range, session_report};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no session {0}; `taproll sessions` lists them")]
    NoSession(i64),
    #[error("no session has been recorded yet: `taproll run --course NAME` starts one")]
    NoSessions,
    #[error("no course named \"{name}\"; the courses are: {known}")]
    NoCourse { name: String, known: String },
    #[error("--from {from} is after --to {to}")]
    BadRange { from: NaiveDate, to: NaiveDate },
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error(transparent)]
    Output(#[from] output::OutputError),
    #[error(
        "a Moodle import marks one session: pass --session ID or --last (taproll sessions lists them)"
    )]
    MoodleCourse,
}

/// The output formats of `taproll report --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned text for the terminal.
    Table,
    /// One row per student, for a spreadsheet.
    Csv,
    /// Canvas gradebook import: points per session.
    Canvas,
    /// Moodle attendance import (mod_attendance "mark sessions"): one session.
    Moodle,
    /// Excel workbook: a summary sheet and a sheet per session.
    Xlsx,
    /// Markdown tables.
    Md,
    /// JSON, schema in docs/report-json.md.
    Json,
}

impl Format {
    /// As written in the config and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Canvas => "canvas",
            Format::Moodle => "moodle",
            Format::Xlsx => "xlsx",
            Format::Md => "md",
            Format::Json => "json",
        }
    }

    /// The end of a file name in this format.
    pub fn suffix(self) -> &'static str {
        match self {
            Format::Table => ".txt",
            Format::Csv => ".csv",
            Format::Canvas => "_canvas.csv",
            Format::Moodle => "_moodle.csv",
            Format::Xlsx => ".xlsx",
            Format::Md => ".md",
            Format::Json => ".json",
        }
    }

    /// The format a file name asks for, when `--format` is not given.
    pub fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "txt" => Some(Format::Table),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "md" => Some(Format::Md),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Which sessions a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    Session(i64),
    /// The most recently started session, open or ended.
    Last,
    /// A course's sessions that started within the inclusive dates.
    Course {
        name: String,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
}

pub fn load(store: &Store, selection: &Selection, zone: &Zone) -> Result<Report, ReportError> {
    let content = match selection {
        Selection::Session(id) => {
            let (session, label) = store
                .session_by_id(*id)?
                .ok_or(ReportError::NoSession(*id))?;
            Content::Session(session_report(store.session_data(&session, label)?, zone))
        }
        Selection::Last => {
            let (session, label) = store.last_session()?.ok_or(ReportError::NoSessions)?;
            Content::Session(session_report(store.session_data(&session, label)?, zone))
        }
        Selection::Course { name, from, to } => {
            if let (Some(from), Some(to)) = (from, to)
                && from > to
            {
                return Err(ReportError::BadRange {
                    from: *from,
                    to: *to,
                });
            }
            let Some(course) = store.course_by_name(name)? else {
                let known: Vec<String> = store
                    .courses()?
                    .into_iter()
                    .map(|c| format!("\"{}\"", c.name))
                    .collect();
                return Err(ReportError::NoCourse {
                    name: name.clone(),
                    known: if known.is_empty() {
                        "none yet".to_string()
                    } else {
                        known.join(", ")
                    },
                });
            };
            let mut sessions = Vec::new();
            // Newest first from the store; reports read oldest first.
            for listing in store.sessions_of(&course)?.into_iter().rev() {
                if in_range(&zone.convert(&listing.session.started_at), *from, *to) {
                    let data = store.session_data(&listing.session, listing.label)?;
                    sessions.push(session_report(data, zone));
                }
            }
            let enrolled = store
                .roster_listing(course.id)?
                .into_iter()
                .map(|s| Enrolled {
                    student_no: s.student_no,
                    name: s.name,
                    section: s.section,
                })
                .collect();
            Content::Course(course_report(course.name, *from, *to, enrolled, sessions))
        }
    };
    Ok(Report {
        time_zone: zone.name(),
        content,
    })
}

/// A session's counts, for the end-of-session summary and `taproll sessions`.
pub fn session_totals(store: &Store, session: &Session) -> Result<model::Totals, ReportError> {
    // The counts do not depend on the zone.
    Ok(session_report(store.session_data(session, None)?, &Zone::Local).totals)
}

/// What the LMS formats need besides the report (`[report.canvas]`,
/// `[report.moodle]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LmsOptions {
    pub canvas: CanvasOptions,
    pub moodle: MoodleOptions,
}

/// `uids`: how the card UIDs of unknown taps are written.
pub fn render(
    report: &Report,
    format: Format,
    lms: &LmsOptions,
    uids: &UidExport,
) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        Format::Table => terminal::render(report, uids).into_bytes(),
        Format::Csv => csv_file::render(report)?,
        Format::Canvas => canvas::render(report, &lms.canvas)?,
        Format::Moodle => {
            moodle::render(report, &lms.moodle).ok_or(ReportError::MoodleCourse)??
        }
        Format::Xlsx => xlsx::render(report, uids)?,
        Format::Md => markdown::render(report, uids).into_bytes(),
        Format::Json => json::render(report, uids)?,
    })
}
