//! The one error type of the front ends: the live runs (`launch`: TUI and
//! headless) and the one-shot commands (`commands`). Library modules keep
//! their own `thiserror` types; this one gathers them, adds what only a
//! front end can get wrong (flags that do not fit together, standard
//! output), and is what `main` prints. Every message says what to do next.

use crate::config::ConfigError;
use crate::demo::DemoError;
use crate::import::{ImportError, Refusal};
use crate::reader::list::ListError;
use crate::report::ReportError;
use crate::store::StoreError;
use crate::text::sanitize_for_terminal as clean;
use crate::toml_file::TomlFileError;
use crate::tui::TuiError;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("scenario error: {0}")]
    Scenario(#[from] TomlFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{file}: {source}")]
    Import { file: PathBuf, source: ImportError },
    #[error(transparent)]
    Readers(#[from] ListError),
    #[error(transparent)]
    Tui(#[from] TuiError),
    #[error(transparent)]
    Usage(#[from] Usage),
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Roster lines refused, every one with its number and reason.
    #[error("{}", RefusedLines { file, lines })]
    Refused { file: PathBuf, lines: Vec<Refusal> },
    #[error("cannot start the {what}: {source}")]
    Start {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the card reader thread stopped unexpectedly; see the log")]
    ReaderStopped,
    #[error(transparent)]
    Clock(#[from] crate::clock::ClockError),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// A command whose output is its answer ends with this status:
    /// `taproll doctor` (warnings 1, problems 2), `taproll risk` (someone
    /// at risk 1, an error 2). What it found is printed already.
    #[error("exit status {0}: the output above says why")]
    Status(u8),
    #[error(transparent)]
    Spawn(#[from] crate::recorder::spawn::SpawnError),
    #[error(transparent)]
    Attach(#[from] crate::recorder::AttachError),
    #[error(transparent)]
    Place(#[from] crate::recorder::place::PlaceError),
    #[error("cannot write to standard output: {0}")]
    Output(std::io::Error),
    /// The import is committed; only its summary could not be printed.
    #[error(
        "cannot write to standard output: {0}; the roster was imported all the same (taproll roster list shows it)"
    )]
    OutputAfterImport(std::io::Error),
    /// `taproll sync` could not empty the queue; nothing is lost.
    #[error(
        "{why}; {waiting} event(s) still queued: they stay in the database and go with the next push"
    )]
    SyncIncomplete { why: String, waiting: u64 },
}

impl CliError {
    /// The reader of our standard output went away (`taproll ... | head`):
    /// not a failure to report.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if crate::console::is_closed_pipe(e))
    }
}

/// What was asked does not fit the flags, the config or the database.
#[derive(Debug, thiserror::Error)]
pub enum Usage {
    #[error("no course yet: pass --course NAME to start the first session")]
    NoCourse,
    #[error("no course named \"{0}\"; taproll roster list shows the courses")]
    UnknownCourse(String),
    #[error("no session yet in any course: pass --course NAME ({})", .0.join(", "))]
    ChooseCourse(Vec<String>),
    #[error("the sim reader needs a scenario: pass --scenario FILE or set reader.scenario")]
    NoScenario,
    #[error("no home folder to keep data in: pass --db FILE")]
    NoHome,
    #[error(
        "absent after {absent} minutes comes before late after {late}: \
         --absent-after must be 0 (never) or more than --late-after"
    )]
    AbsentBeforeLate { absent: u32, late: u32 },
    #[error("--time-zone: {0}")]
    TimeZone(String),
    #[error(
        "cannot tell the format from the name {}: pass --format table|csv|canvas|xlsx|md|json",
        .0.display()
    )]
    UnknownFormat(PathBuf),
    #[error("an XLSX report is a binary file: write it with -o FILE.xlsx")]
    XlsxToTerminal,
    #[error("sync.server: {0}")]
    Sync(String),
    /// `privacy.uids = "hash"` without its key.
    #[error("privacy.uids = \"hash\" needs the card key: {0}")]
    Privacy(String),
    #[error(
        "the push is off: no sync.server in {}; set it (config.example.toml shows how)",
        .0.as_deref().map_or("the config (there is no config file)".to_string(), |f| f.display().to_string())
    )]
    SyncOff(Option<PathBuf>),
    #[error("no student has the id {0}; taproll roster list shows them")]
    UnknownStudent(String),
    #[error(
        "the student {student_no} is not enrolled in \"{course}\" (they are in: {enrolled}); check the id"
    )]
    NotInCourse {
        student_no: String,
        course: String,
        enrolled: String,
    },
    #[error("forgetting a student cannot be undone: pass --yes to confirm without a terminal")]
    ConfirmForget,
    #[error("nothing forgotten (the answer was not yes)")]
    ForgetDeclined,
    #[error(
        "how old must raw taps be to go? set privacy.keep_raw_taps_days in the config, or pass --older-than DAYS"
    )]
    NoRetention,
    #[error("taproll record has no screen: --headless does not go with it")]
    RecordHeadless,
    #[error(
        "the roster needs a terminal (standard input and output are not one): \
         use --headless for JSON lines, or taproll record to record with no screen"
    )]
    NoTerminal,
    #[error(
        "the recorder of this database (pid {pid}) records \"{recording}\", not \"{asked}\": \
         leave its roster with s (stop recording), or use another --db"
    )]
    OtherCourse {
        pid: u32,
        recording: String,
        asked: String,
    },
}

/// `FILE: 2 line(s) refused, nothing imported:` and a line per refusal.
struct RefusedLines<'a> {
    file: &'a std::path::Path,
    lines: &'a [Refusal],
}

impl fmt::Display for RefusedLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} line(s) refused, nothing imported:",
            self.file.display(),
            self.lines.len()
        )?;
        for refusal in self.lines {
            write!(f, "\n  line {}: {}", refusal.line, clean(&refusal.reason))?;
        }
        Ok(())
    }
}
