//! Command-line interface. Flags override environment variables, which
//! override the config file, which overrides the built-in defaults.

use crate::config::ReaderBackend;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "taproll",
    version,
    about = "Classroom attendance with NFC student cards: a live roster in the terminal, stored in SQLite."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Watch a sample class fill in from simulated taps (no reader or config needed).
    Demo(DemoArgs),
    /// Take attendance: open the live roster for a course and record taps.
    /// With a recorder already recording into the database (a service, or a
    /// roster left recording), the roster attaches to it.
    Run(RunArgs),
    /// Record with no roster on screen, for a service started at boot
    /// (assets/taproll-record@.service); `taproll run` attaches to it.
    Record(RunArgs),
    /// The screen by the door, for the students: "Tap your card", then
    /// their name and what was recorded. Attaches to the recorder of the
    /// database; no keyboard needed.
    Door(DoorArgs),
    /// List the PC/SC card readers and their card state.
    Readers,
    /// Import or list a course's students.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Write an attendance report: one session, or a course over dates.
    Report(ReportArgs),
    /// List a course's sessions with their counts, newest first.
    Sessions {
        /// The course [default: the last one used].
        #[arg(long, value_name = "NAME")]
        course: Option<String>,
        #[command(flatten)]
        files: FileArgs,
    },
    /// Who is at risk in a course ([risk] rules), and why. Exit status: 0
    /// nobody, 1 someone (for scripts and cron mail), 2 an error.
    Risk {
        /// The course [default: every course].
        #[arg(long, value_name = "NAME")]
        course: Option<String>,
        #[command(flatten)]
        files: FileArgs,
    },
    /// Push the queued events to the server now; exits 0 when none wait.
    Sync(SyncArgs),
    /// Copy the database into a dated, checked file (while a class records,
    /// too); the oldest beyond backup.keep go.
    Backup(BackupArgs),
    /// Put a backup in place of the database (not while it is recording);
    /// the database it replaces is kept beside it.
    Restore(RestoreArgs),
    /// Look after a student's data: `student forget` erases a student on request.
    #[command(subcommand)]
    Student(StudentCommand),
    /// Delete raw taps older than privacy.keep_raw_taps_days (or --older-than);
    /// marks and every report's counts stay.
    Purge(PurgeArgs),
    /// Check the set-up: pcscd, the readers, the database, the clock, the
    /// config, the push. Exit status: 0 all well, 1 warnings, 2 problems.
    Doctor(DoctorArgs),
    /// Print shell completions: bash, zsh or fish.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the man pages into FOLDER (for packages).
    #[command(hide = true)]
    Man { folder: PathBuf },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The folder to copy into [default: backup.folder, else `backups` beside the database].
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup to put in place.
    pub file: PathBuf,
    /// Restore a backup in which students forgotten since cannot be found
    /// (another device's, or from before taproll's event log); forget them
    /// again by number afterwards.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Subcommand, Debug)]
pub enum StudentCommand {
    /// Forget a student on request: their name, email, cards and enrolments
    /// are erased, and a pseudonym stands for them in past sessions (every
    /// count stays right). Audited, and told to the server. Not while a
    /// class is recording.
    Forget {
        /// The student's id (student number).
        student_no: String,
        /// Only if the student is enrolled in this course (a check that the
        /// id is the right one; the student is forgotten in every course).
        #[arg(long, value_name = "NAME")]
        course: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        files: FileArgs,
    },
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    /// Say what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete the raw taps of sessions that ended more than DAYS days ago
    /// [default: privacy.keep_raw_taps_days].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub older_than: Option<u32>,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Print the queue and the last exchanges with the server; send nothing.
    #[arg(long, conflicts_with = "retry_parked")]
    pub status: bool,
    /// Put the events the server refused back in the queue, and send them.
    #[arg(long)]
    pub retry_parked: bool,
    /// Give up when the server cannot be reached for this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub give_up_after: u64,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("which").args(["session", "last", "course"])))]
pub struct ReportArgs {
    /// The session with this id (`taproll sessions` lists them).
    #[arg(long, value_name = "ID")]
    pub session: Option<i64>,
    /// The most recent session, open or ended [the default].
    #[arg(long)]
    pub last: bool,
    /// Every session of this course, with totals per student.
    #[arg(long, value_name = "NAME")]
    pub course: Option<String>,
    /// With --course: sessions from this date on (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE", requires = "course", value_parser = parse_date)]
    pub from: Option<chrono::NaiveDate>,
    /// With --course: sessions up to this date (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE", requires = "course", value_parser = parse_date)]
    pub to: Option<chrono::NaiveDate>,
    /// Output format [default: from the -o file's extension, else table].
    #[arg(long, value_enum)]
    pub format: Option<crate::report::Format>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the -o file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Time zone of the report: "local" or a name like Europe/Amsterdam [default: report.time_zone].
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    #[command(flatten)]
    pub files: FileArgs,
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date like 2026-11-30"))
}

#[derive(Subcommand, Debug)]
pub enum RosterCommand {
    /// Import students from a CSV (generic, Canvas or Moodle export). Adds and
    /// updates, never deletes; a file with a refused line imports nothing.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The course to import into; created if new.
        #[arg(long, value_name = "NAME")]
        course: String,
        /// Show what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rename a student whom the file names differently even when they are
        /// enrolled in another course (a student id is one person everywhere).
        #[arg(long)]
        allow_renames: bool,
        #[command(flatten)]
        files: FileArgs,
    },
    /// List the students of a course (all courses without --course).
    List {
        #[arg(long, value_name = "NAME")]
        course: Option<String>,
        #[command(flatten)]
        files: FileArgs,
    },
}

/// Where the config and the database are.
#[derive(Args, Debug, Clone, Default)]
pub struct FileArgs {
    /// Config file [default: $XDG_CONFIG_HOME/taproll/config.toml, if present].
    #[arg(long, value_name = "FILE", env = "TAPROLL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database file [default: store.path, else $XDG_DATA_HOME/taproll/taproll.db].
    #[arg(long, value_name = "FILE", env = "TAPROLL_DB")]
    pub db: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Print one JSON line per event instead of showing the roster.
    #[arg(long)]
    pub headless: bool,
    /// Database file [default: a new file in a temporary folder].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Run as the recorder a roster started, listening at this socket
    /// (taproll's own use).
    #[arg(long, hide = true, value_name = "SOCKET")]
    pub recorder_socket: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DoorArgs {
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Course to take attendance for; created if new [default: the last one used].
    #[arg(long, value_name = "NAME")]
    pub course: Option<String>,
    /// Card reader backend [default: reader.backend, else pcsc; sim with --scenario].
    #[arg(long, value_enum, env = "TAPROLL_READER")]
    pub reader: Option<ReaderBackend>,
    /// Scenario of simulated taps, for the sim reader.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// When class starts today, for counting late arrivals [default: now].
    /// Used when a new session starts; a resumed session keeps its start.
    #[arg(long, value_name = "HH:MM", value_parser = parse_clock)]
    pub starts_at: Option<chrono::NaiveTime>,
    /// Minutes after the start when a first tap counts as late [default: session.late_after_minutes].
    #[arg(long, value_name = "MIN", value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub late_after: Option<u32>,
    /// Minutes after the start when a first tap counts as absent; 0 never [default: session.absent_after_minutes].
    #[arg(long, value_name = "MIN", value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub absent_after: Option<u32>,
    /// A label for a new session, e.g. "Lab 3" or "Room B12".
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Print one JSON line per event instead of showing the roster.
    #[arg(long)]
    pub headless: bool,
    /// Run as the recorder a roster started, listening at this socket
    /// (taproll's own use).
    #[arg(long, hide = true, value_name = "SOCKET")]
    pub recorder_socket: Option<PathBuf>,
}

fn parse_clock(text: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| format!("`{text}` is not a time like 09:15"))
}
