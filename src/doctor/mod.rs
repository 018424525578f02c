//! `taproll doctor`: what is wrong with this room's set-up, one line per
//! check, each ok, a warning or a problem, with the fix. For the admin at
//! a Pi by the door, and for scripts (the exit status).
//!
//! The checks (`checks.rs`) gather findings; how they are shown and what
//! they add up to is here, pure.

mod checks;

use crate::cli::DoctorArgs;
use crate::cli_error::CliError;
use crate::console;
use crate::paths::Dirs;
use crate::text::sanitize_for_terminal as clean;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Problem,
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// What was checked: `pcscd`, `readers`, `database`, ...
    pub topic: &'static str,
    /// What was found.
    pub found: String,
    /// What to do, for a warning or a problem.
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(topic: &'static str, found: impl Into<String>) -> Self {
        Self {
            level: Level::Ok,
            topic,
            found: found.into(),
            fix: None,
        }
    }

    pub fn warning(topic: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            topic,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn problem(topic: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Problem,
            topic,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
}

pub fn run(args: DoctorArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let findings = checks::all(&args.files, dirs);
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = std::io::stdout().is_terminal() && !no_color;
    console::print(render(&findings, color)).map_err(CliError::Output)?;
    match exit_status(&findings) {
        0 => Ok(()),
        status => Err(CliError::Status(status)),
    }
}

/// 0: all well; 1: warnings only; 2: at least one problem.
pub fn exit_status(findings: &[Finding]) -> u8 {
    match findings.iter().map(|f| f.level).max() {
        Some(Level::Problem) => 2,
        Some(Level::Warning) => 1,
        Some(Level::Ok) | None => 0,
    }
}

/// One line per finding, the fix indented under it, and a summary.
pub fn render(findings: &[Finding], color: bool) -> String {
    let paint = |level: Level, text: &str| -> String {
        if !color {
            return text.to_string();
        }
        let code = match level {
            Level::Ok => "32",
            Level::Warning => "33",
            Level::Problem => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut text = String::new();
    for finding in findings {
        let word = match finding.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Problem => "PROBLEM",
        };
        text.push_str(&format!(
            "{} {:<9} {}\n",
            paint(finding.level, word),
            finding.topic,
            clean(&finding.found)
        ));
        if let Some(fix) = &finding.fix {
            text.push_str(&format!("{:<18}fix: {}\n", "", clean(fix)));
        }
    }
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let (problems, warnings) = (count(Level::Problem), count(Level::Warning));
    text.push_str(&match (problems, warnings) {
        (0, 0) => "All well.\n".to_string(),
        _ => format!("{problems} problem(s), {warnings} warning(s).\n"),
    });
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_sets_the_exit_status() {
        let ok = Finding::ok("pcscd", "running");
        let warning = Finding::warning("clock", "unknown", "install systemd-timesyncd");
        let problem = Finding::problem("readers", "none", "plug one in");
        assert_eq!(exit_status(&[]), 0);
        assert_eq!(exit_status(std::slice::from_ref(&ok)), 0);
        assert_eq!(exit_status(&[ok.clone(), warning.clone()]), 1);
        assert_eq!(exit_status(&[problem, warning, ok]), 2);
    }

    #[test]
    fn each_line_says_the_level_the_topic_and_the_fix_plain_when_piped() {
        let findings = [
            Finding::ok("pcscd", "running"),
            Finding::problem("readers", "no reader\x1b[31m", "plug one in"),
        ];
        let text = render(&findings, false);
        assert_eq!(
            text,
            "ok      pcscd     running\n\
             PROBLEM readers   no reader\u{FFFD}[31m\n                  fix: plug one in\n\
             1 problem(s), 0 warning(s).\n"
        );
        let colored = render(&findings, true);
        assert!(colored.contains("\x1b[1;31mPROBLEM\x1b[0m"), "{colored}");
        assert!(!colored.contains("no reader\x1b"), "found text is cleaned");
    }
}
