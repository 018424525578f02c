//! `taproll student forget` and `taproll purge`: what an admin answers an
//! erasure request and a retention policy with (docs/privacy.md). Both hold
//! the writer lock, so neither runs beside a class being recorded.

use crate::backup::backups_of;
use crate::cli::{PurgeArgs, StudentCommand};
use crate::cli_error::{CliError, Usage};
use crate::console;
use crate::domain::{Timestamp, now};
use crate::paths::Dirs;
use crate::settings::{backup_plan, database_path, load_config};
use crate::store::{Footprint, Purge, Store, Unsent};
use crate::text::sanitize_for_terminal as clean;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};

pub fn student(command: StudentCommand, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let StudentCommand::Forget {
        student_no,
        course,
        yes,
        files,
    } = command;
    let config = load_config(&files, dirs)?.config;
    let db = database_path(&files, &config, dirs)?;
    let _log = start_log(dirs, &config);
    let store = Store::open(&db)?;
    let footprint = store
        .footprint(&student_no)?
        .ok_or_else(|| Usage::UnknownStudent(clean(&student_no)))?;
    if let Some(course) = &course
        && !footprint.courses.contains(course)
    {
        return Err(Usage::NotInCourse {
            student_no: clean(&student_no),
            course: clean(course),
            enrolled: enrolled(&footprint),
        }
        .into());
    }
    if !yes {
        confirm(&footprint)?;
    }
    let forgotten = store.forget_student(&student_no, &now())?;
    let mut text = format!(
        "Forgotten: {} stands for the student in {} mark(s) of past sessions now; \
         {} stored event(s) rewritten, and the erasure is queued for the server.\n",
        forgotten.pseudonym, forgotten.footprint.marks, forgotten.events_rewritten
    );
    // Committed already: a failed vacuum must not read as a failed forget.
    match store.vacuum() {
        Ok(true) => {}
        Ok(false) => text.push_str(
            "A reader had the database open: the erased data leaves its -wal file at the next checkpoint.\n",
        ),
        Err(e) => {
            tracing::error!(error = %e, "the vacuum after a forget failed");
            let _ = writeln!(
                text,
                "The student is forgotten, but the file could not be vacuumed ({e}): \
                 the erased bytes stay in its free pages until `sqlite3 DB VACUUM` runs."
            );
        }
    }
    let folder = backup_plan(&config.backup, &db, None).folder;
    let backups = backups_of(&db, &folder);
    if !backups.is_empty() {
        let _ = writeln!(
            text,
            "{} backup(s) in {} were taken before and still hold the student; they go as \
             backup.keep rotates them out, or delete them now.",
            backups.len(),
            folder.display()
        );
    }
    console::print(text).map_err(CliError::Output)
}

/// An erasure and a purge are logged as a class is (the log file of
/// the day); without a log folder they go on, the database audits them.
fn start_log(
    dirs: Option<&Dirs>,
    config: &crate::config::Config,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    crate::logging::init(&dirs?.state_dir, config.log.level).ok()
}

/// The courses, for a message.
fn enrolled(footprint: &Footprint) -> String {
    if footprint.courses.is_empty() {
        "no course".to_string()
    } else {
        clean(&footprint.courses.join(", "))
    }
}

/// Shows what goes and asks for `yes` at the terminal.
fn confirm(footprint: &Footprint) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(Usage::ConfirmForget.into());
    }
    let question = format!(
        "Forget the student {} ({})?\n  \
         enrolled in: {}\n  \
         {} card(s), {} mark(s) in past sessions, {} raw tap(s)\n\
         Erased: the name, the email, the cards and the enrolments. Kept under a\n\
         pseudonym: the marks, so every count stays right. This cannot be undone.\n\
         Type yes to forget them: ",
        clean(&footprint.student_no),
        clean(&footprint.name),
        enrolled(footprint),
        footprint.cards,
        footprint.marks,
        footprint.taps
    );
    let mut stdout = std::io::stdout();
    stdout
        .write_all(question.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(CliError::Output)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::Output)?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(Usage::ForgetDeclined.into())
    }
}

pub fn purge(args: PurgeArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let config = load_config(&args.files, dirs)?.config;
    let days = args
        .older_than
        .or(config.privacy.keep_raw_taps_days)
        .ok_or(Usage::NoRetention)?;
    let db = database_path(&args.files, &config, dirs)?;
    let _log = start_log(dirs, &config);
    let store = Store::open(&db)?;
    let now = now();
    let before = window_start(&now, days);
    let purge = store.purge_raw_taps(&before, Unsent::Delete, args.dry_run, &now)?;
    if !args.dry_run && purge.taps > 0 {
        store.vacuum()?;
    }
    console::print(purge_text(&purge, &before, args.dry_run)).map_err(CliError::Output)
}

/// Sessions that ended before this lose their raw taps.
pub fn window_start(now: &Timestamp, days: u32) -> Timestamp {
    *now - chrono::Duration::days(i64::from(days))
}

fn purge_text(purge: &Purge, before: &Timestamp, dry_run: bool) -> String {
    let when = before.format("%Y-%m-%d %H:%M");
    if purge.sessions == 0 {
        return format!("No raw taps of sessions that ended before {when}: nothing to delete.\n");
    }
    let verb = if dry_run { "Would delete" } else { "Deleted" };
    let mut text = format!(
        "{verb} {} raw tap(s) of {} session(s) that ended before {when}, with the {} stored \
         event(s) that carry them",
        purge.taps, purge.sessions, purge.events
    );
    if purge.unsent_events > 0 {
        let _ = write!(
            text,
            " ({} never sent to the server, which will not get them)",
            purge.unsent_events
        );
    }
    text.push_str(".\nMarks, first tap times and every report's counts stay.\n");
    text
}
