//! The one-shot commands that print to the terminal and exit: `readers`,
//! `roster import`, `roster list`, `sessions` and `report`. They resolve the
//! config and database through `settings`, as the live runs do.

use crate::cli::{FileArgs, ReportArgs, RosterCommand};
use crate::cli_error::{CliError, Usage};
use crate::console;
use crate::domain::CardUid;
use crate::import::{self, Refusal};
use crate::paths::Dirs;
use crate::privacy::UidExport;
use crate::report::{self, Format, Selection, Zone, output};
use crate::settings::{database_path, export_uids, load_config};
use crate::store::{ImportOptions, ImportOutcome, Store};
use crate::text::sanitize_for_terminal as clean;
use std::fmt::Write as _;
use std::path::Path;

pub fn roster(command: RosterCommand, dirs: Option<&Dirs>) -> Result<(), CliError> {
    match command {
        RosterCommand::Import {
            file,
            course,
            dry_run,
            allow_renames,
            files,
        } => {
            let config = load_config(&files, dirs)?.config;
            let store = Store::open(&database_path(&files, &config, dirs)?)?;
            let options = ImportOptions {
                dry_run,
                allow_renames,
            };
            let summary = import_file(&store, &file, &course, options)?;
            console::print(summary).map_err(|e| {
                if dry_run || console::is_closed_pipe(&e) {
                    CliError::Output(e)
                } else {
                    // Committed already: the error must not read as a failed import.
                    CliError::OutputAfterImport(e)
                }
            })
        }
        RosterCommand::List { course, files } => {
            let config = load_config(&files, dirs)?.config;
            let db = database_path(&files, &config, dirs)?;
            let uids = export_uids(&config, dirs, &db)?;
            let store = Store::open_read_only(&db)?;
            console::print(list(&store, course.as_deref(), &uids)?).map_err(CliError::Output)
        }
    }
}

/// Imports a roster file; the report on success, every refused line on failure.
pub fn import_file(
    store: &Store,
    file: &Path,
    course: &str,
    options: ImportOptions,
) -> Result<String, CliError> {
    let bytes = std::fs::read(file).map_err(|source| CliError::ReadFile {
        path: file.to_path_buf(),
        source,
    })?;
    // Spreadsheets still write Windows-1252 now and then: refuse, don't guess.
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        CliError::Import {
            file: file.to_path_buf(),
            source: import::ImportError::Csv {
                line,
                reason: "the file is not UTF-8; save it as \"CSV UTF-8\"".to_string(),
            },
        }
    })?;
    let parsed = import::parse(&text).map_err(|source| CliError::Import {
        file: file.to_path_buf(),
        source,
    })?;
    if !parsed.refused.is_empty() {
        return Err(refused(file, &parsed.refused));
    }
    let now = crate::reader::now();
    let summary = match store.import_roster(course, &parsed.students, &now, options)? {
        ImportOutcome::Done(summary) => summary,
        ImportOutcome::Refused(lines) => return Err(refused(file, &lines)),
    };
    let verb = if options.dry_run { "would be " } else { "" };
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{}: {} students read ({}); {} {verb}added, {} {verb}updated, {} unchanged, {} cards {verb}bound.",
        clean(course),
        parsed.students.len(),
        parsed.format.name(),
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.cards_bound,
    );
    if options.dry_run {
        report.push_str("Dry run: nothing was written.\n");
    }
    Ok(report)
}

fn refused(file: &Path, lines: &[Refusal]) -> CliError {
    CliError::Refused {
        file: file.to_path_buf(),
        lines: lines.to_vec(),
    }
}

/// The students of one course, or of every course; their cards as `uids`
/// says, as in an export.
pub fn list(store: &Store, course: Option<&str>, uids: &UidExport) -> Result<String, CliError> {
    let courses = match course {
        Some(name) => vec![
            store
                .course_by_name(name)?
                .ok_or_else(|| Usage::UnknownCourse(name.to_string()))?,
        ],
        None => store.courses()?,
    };
    if courses.is_empty() {
        return Ok(
            "No courses yet: import a roster with taproll roster import FILE --course NAME\n"
                .to_string(),
        );
    }
    let mut out = String::new();
    for course in courses {
        let students = store.roster_listing(course.id)?;
        let _ = writeln!(out, "{} ({} students)", clean(&course.name), students.len());
        for s in students {
            let cards: Vec<String> = s
                .cards
                .iter()
                .map(|c| CardUid::parse(c).map_or_else(|_| c.clone(), |uid| uids.text(&uid)))
                .collect();
            let _ = writeln!(
                out,
                "  {:<12} {:<28} {:<28} {:<10} {}",
                clean(&s.student_no),
                clean(&s.name),
                clean(s.email.as_deref().unwrap_or("")),
                clean(s.section.as_deref().unwrap_or("")),
                cards.join(" ")
            );
        }
    }
    Ok(out)
}

pub fn sessions(
    course: Option<&str>,
    files: &FileArgs,
    dirs: Option<&Dirs>,
) -> Result<(), CliError> {
    let config = load_config(files, dirs)?.config;
    let store = Store::open_read_only(&database_path(files, &config, dirs)?)?;
    console::print(list_sessions(&store, course)?).map_err(CliError::Output)
}

/// Without --course and before any session: the one course there is, else
/// the names to choose from.
fn only_course(store: &Store) -> Result<crate::domain::Course, CliError> {
    let mut courses = store.courses()?;
    match courses.len() {
        0 => Err(Usage::NoCourse.into()),
        1 => Ok(courses.remove(0)),
        _ => {
            let names = courses.iter().map(|c| clean(&c.name)).collect();
            Err(Usage::ChooseCourse(names).into())
        }
    }
}

/// Sessions of a course, newest first, with their counts.
pub fn list_sessions(store: &Store, course: Option<&str>) -> Result<String, CliError> {
    let course = match course {
        Some(name) => store
            .course_by_name(name)?
            .ok_or_else(|| Usage::UnknownCourse(name.to_string()))?,
        None => match store.last_used_course()? {
            Some(course) => course,
            None => only_course(store)?,
        },
    };
    let mut out = format!("{}\n", clean(&course.name));
    let sessions = store.sessions_of(&course)?;
    if sessions.is_empty() {
        out.push_str("  No sessions yet: taproll run --course NAME starts the first one.\n");
        return Ok(out);
    }
    let _ = writeln!(
        out,
        "  {:>4}  {:<16}  {:<5}  {:<14} {:>7} {:>4} {:>6} {:>7} {:>8}",
        "id", "started", "ended", "label", "present", "late", "absent", "excused", "unmarked"
    );
    for listing in sessions {
        let summary = report::session_totals(store, &listing.session)?;
        let ended = listing
            .session
            .ended_at
            .map_or("open".to_string(), |at| at.format("%H:%M").to_string());
        let _ = writeln!(
            out,
            "  {:>4}  {:<16}  {:<5}  {:<14} {:>7} {:>4} {:>6} {:>7} {:>8}",
            listing.session.id,
            listing.session.started_at.format("%Y-%m-%d %H:%M"),
            ended,
            clean(listing.label.as_deref().unwrap_or("")),
            summary.present,
            summary.late,
            summary.absent,
            summary.excused,
            summary.unmarked
        );
    }
    Ok(out)
}

/// `taproll report`: reads the database without taking the writer lock, so
/// it works while a class is being taken.
pub fn report(args: ReportArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let config = load_config(&args.files, dirs)?.config;
    let zone = match &args.time_zone {
        Some(name) => Zone::parse(name).map_err(Usage::TimeZone)?,
        None => config.report.zone(),
    };
    let format = match (args.format, &args.output) {
        (Some(format), _) => format,
        (None, None) => Format::Table,
        (None, Some(path)) => {
            Format::from_path(path).ok_or_else(|| Usage::UnknownFormat(path.clone()))?
        }
    };
    let selection = match (args.session, args.course) {
        (Some(id), _) => Selection::Session(id),
        (None, Some(name)) => Selection::Course {
            name,
            from: args.from,
            to: args.to,
        },
        (None, None) => Selection::Last,
    };
    if format == Format::Xlsx && args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(Usage::XlsxToTerminal.into());
    }
    // Refused before the work, not after it; write_file checks again.
    if let Some(path) = &args.output {
        output::check_target(path, args.force).map_err(report::ReportError::from)?;
    }
    let db = database_path(&args.files, &config, dirs)?;
    let uids = export_uids(&config, dirs, &db)?;
    let store = Store::open_read_only(&db)?;
    let mut report = report::load(&store, &selection, &zone)?;
    if let report::model::Content::Course(course) = &mut report.content {
        course.assess_risk(&config.risk.for_course(&course.course));
    }
    let bytes = report::render(&report, format, &config.report.lms(), &uids)?;
    match &args.output {
        Some(path) => {
            output::write_file(path, &bytes, args.force, config.report.file_mode())
                .map_err(report::ReportError::from)?;
            console::note(format_args!(
                "taproll: report written to {}",
                clean(&path.display().to_string())
            ));
        }
        None => {
            // Names and notes are outside text: on a terminal, made harmless.
            let bytes = if std::io::stdout().is_terminal() && format != Format::Xlsx {
                crate::text::sanitize_lines_for_terminal(&String::from_utf8_lossy(&bytes))
                    .into_bytes()
            } else {
                bytes
            };
            console::print(bytes).map_err(CliError::Output)?;
        }
    }
    Ok(())
}

/// `taproll readers`, like `pcsc_scan -r`.
pub fn readers() -> Result<(), CliError> {
    let mut out = String::new();
    for (index, reader) in crate::reader::list::list()?.iter().enumerate() {
        // Reader names come from the driver: made safe to show.
        let _ = writeln!(out, "{index}: {}  ({})", clean(&reader.name), reader.state);
    }
    console::print(out).map_err(CliError::Output)
}
