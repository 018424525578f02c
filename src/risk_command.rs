//! `taproll risk`: who is at risk in a course, and why, for a person or a
//! cron job (exit status 1 when anyone is). Reads without the writer lock,
//! like a report.

use crate::cli::FileArgs;
use crate::cli_error::CliError;
use crate::config::Config;
use crate::console;
use crate::paths::Dirs;
use crate::report::{self, Selection, model::Content, model::CourseReport};
use crate::risk::{self, RiskRules};
use crate::settings::{database_path, load_config};
use crate::store::Store;
use crate::text::sanitize_for_terminal as clean;
use std::fmt::Write as _;

/// Prints who is at risk; `Status(1)` when anyone is, and an error is
/// printed and ends in `Status(2)`, so that a script tells them apart.
pub fn run(course: Option<&str>, files: &FileArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let (text, anyone) = match assess(course, files, dirs) {
        Ok(found) => found,
        Err(error) => {
            console::note(format_args!(
                "taproll: {}",
                crate::text::sanitize_lines_for_terminal(&error.to_string())
            ));
            return Err(CliError::Status(2));
        }
    };
    // A closed pipe (`taproll risk | head`) still answers with the status;
    // output that could not be written is an error.
    match console::print(text) {
        Err(e) if !console::is_closed_pipe(&e) => {
            console::note(format_args!(
                "taproll: cannot write to standard output: {e}"
            ));
            return Err(CliError::Status(2));
        }
        _ => {}
    }
    if anyone {
        Err(CliError::Status(1))
    } else {
        Ok(())
    }
}

/// The text to print, and whether anyone is at risk.
fn assess(
    course: Option<&str>,
    files: &FileArgs,
    dirs: Option<&Dirs>,
) -> Result<(String, bool), CliError> {
    let config = load_config(files, dirs)?.config;
    let db = database_path(files, &config, dirs)?;
    let store = Store::open_read_only(&db)?;
    let names: Vec<String> = match course {
        Some(name) => vec![name.to_string()],
        None => store.courses()?.into_iter().map(|c| c.name).collect(),
    };
    let mut text = String::new();
    let mut anyone = false;
    for name in names {
        let course = course_at_risk(&store, &config, &name)?;
        anyone |= course.at_risk().next().is_some();
        text.push_str(&describe(&course, &config.risk.for_course(&name)));
    }
    if text.is_empty() {
        text.push_str("No course yet.\n");
    }
    Ok((text, anyone))
}

/// The course over all its sessions, with who is at risk assessed.
fn course_at_risk(store: &Store, config: &Config, name: &str) -> Result<CourseReport, CliError> {
    let selection = Selection::Course {
        name: name.to_string(),
        from: None,
        to: None,
    };
    let report = report::load(store, &selection, &config.report.zone())?;
    let Content::Course(mut course) = report.content else {
        unreachable!("a course selection gives a course report")
    };
    course.assess_risk(&config.risk.for_course(name));
    Ok(course)
}

fn describe(course: &CourseReport, rules: &RiskRules) -> String {
    let at_risk: Vec<_> = course.at_risk().collect();
    let mut text = format!(
        "{}: {} of {} student(s) at risk ({}; {} session(s) held)\n",
        clean(&course.course),
        at_risk.len(),
        course.students.len(),
        rules_text(rules),
        course.sessions.len()
    );
    for student in at_risk {
        let _ = writeln!(
            text,
            "  {} ({}): {}",
            clean(&student.name),
            clean(&student.student_no),
            risk::describe(&student.risk)
        );
    }
    text
}

/// `under 80%, 3 absences in a row, 28 sessions planned`.
fn rules_text(rules: &RiskRules) -> String {
    let mut parts = Vec::new();
    if rules.min_rate_percent > 0 {
        parts.push(format!("under {}%", rules.min_rate_percent));
    }
    if rules.consecutive_absences > 0 {
        parts.push(format!("{} absences in a row", rules.consecutive_absences));
    }
    if rules.planned_sessions > 0 && rules.min_rate_percent > 0 {
        parts.push(format!("{} sessions planned", rules.planned_sessions));
    }
    if parts.is_empty() {
        "no rule is on".to_string()
    } else {
        format!("rules: {}", parts.join(", "))
    }
}
