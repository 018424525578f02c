//! Configuration: embedded defaults < config file < environment < flags.
//! The file layer lives here; environment variables and flags are applied by
//! the CLI (clap reads both). Every key is documented in `config.example.toml`.

use crate::domain::CardUid;
use crate::keymap::Keymap;
use crate::reader::wedge::WedgeConfig;
use crate::report::{CanvasOptions, Format, LmsOptions, MoodleOptions, Zone};
use crate::toml_file::{self, TomlFileError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

mod risk;
mod sync;
mod validate;

pub use risk::{CourseRisk, RiskConfig};
pub use sync::{CardUids, SyncConfig};
use validate::validate;

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub session: SessionConfig,
    pub reader: ReaderConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub feedback: FeedbackConfig,
    pub admin: AdminConfig,
    pub keys: Keymap,
    pub report: ReportConfig,
    pub sync: SyncConfig,
    pub backup: BackupConfig,
    pub privacy: PrivacyConfig,
    pub risk: RiskConfig,
}

/// What leaves the database. Screens and logs always show card UIDs masked;
/// this says how exports write them.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Card UIDs in reports, the end-of-session export, the headless JSON
    /// lines and `taproll roster list`.
    pub uids: ExportUids,
    /// Raw taps of sessions that ended more days ago than this are deleted
    /// (at a recorder's start, and by `taproll purge`); marks and counts
    /// stay. Not set: kept for good.
    pub keep_raw_taps_days: Option<u32>,
}

/// How exports write a card's UID (`privacy.uids`).
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExportUids {
    /// `04:A1:…:F6`: tells cards apart on a page, cannot open a door.
    #[default]
    Masked,
    /// The keyed hash the push sends (`sync.card_uids = "keyed"`), cut to
    /// 16 hex digits: the same card gives the same value in every export.
    Hash,
    /// The whole UID, as stored.
    Full,
}

/// Copies of the database (`taproll backup`).
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Where backups go; default `backups` beside the database. A folder
    /// named here must exist (a USB stick's mount point): taproll never
    /// makes it, or an unmounted stick's backups would fill the SD card.
    pub folder: Option<PathBuf>,
    /// How many backups are kept; the oldest go.
    pub keep: u32,
    /// Take one when a session ends.
    pub after_session: bool,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            folder: None,
            keep: 14,
            after_session: false,
        }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Where the TUI's end-of-session export goes; default `~/taproll-reports`.
    pub folder: Option<PathBuf>,
    /// The formats of that export.
    pub formats: Vec<Format>,
    /// `local` or an IANA name; checked when the config is loaded.
    pub time_zone: String,
    pub canvas: CanvasOptions,
    pub moodle: MoodleOptions,
    /// The mode `taproll report -o` makes files with (`"0600"`; `"0640"`
    /// lets the group read); checked when the config is loaded. The
    /// end-of-session export stays 0600 in its private folder.
    pub file_mode: String,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            folder: None,
            formats: vec![Format::Csv, Format::Xlsx],
            time_zone: "local".to_string(),
            canvas: CanvasOptions::default(),
            moodle: MoodleOptions::default(),
            file_mode: "0600".to_string(),
        }
    }
}

impl ReportConfig {
    /// The configured zone; the machine's if the name is bad (the loader
    /// refuses bad names, so only a hand-built config gets here).
    pub fn zone(&self) -> Zone {
        Zone::parse(&self.time_zone).unwrap_or(Zone::Local)
    }

    /// The options of the Canvas and Moodle formats.
    pub fn lms(&self) -> LmsOptions {
        LmsOptions {
            canvas: self.canvas.clone(),
            moodle: self.moodle.clone(),
        }
    }

    /// The configured mode; private if it is bad (the loader refuses those).
    pub fn file_mode(&self) -> u32 {
        crate::report::output::parse_file_mode(&self.file_mode)
            .unwrap_or(crate::report::output::PRIVATE)
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Card UIDs (hex) that open the end-of-class menu instead of counting.
    pub cards: Vec<String>,
}

impl AdminConfig {
    /// The admin cards, checked when the config was loaded.
    pub fn uids(&self) -> Vec<CardUid> {
        self.cards
            .iter()
            .filter_map(|c| CardUid::parse_card_number(c).ok())
            .collect()
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub late_after_minutes: u32,
    /// 0: never.
    pub absent_after_minutes: u32,
    pub debounce_seconds: u32,
    /// How long the question about a session found open waits for an
    /// answer before going on with the session.
    pub resume_question_seconds: u32,
    /// Start no session while the system says its clock is not synchronised
    /// (`crate::clock`); off for a room without network, the time set by hand.
    pub require_synced_clock: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            late_after_minutes: 10,
            absent_after_minutes: 0,
            debounce_seconds: 3,
            resume_question_seconds: 60,
            require_synced_clock: true,
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReaderBackend {
    /// USB readers through the PC/SC service (pcscd).
    #[default]
    Pcsc,
    /// A scripted scenario of taps, for demos and tests.
    Sim,
    /// A keyboard-wedge reader that types the UID and Enter.
    Wedge,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReaderConfig {
    pub backend: ReaderBackend,
    /// Scenario file for the `sim` backend.
    pub scenario: Option<PathBuf>,
    /// PC/SC: only watch readers whose name contains this (any case).
    pub name: Option<String>,
    /// How a keyboard-wedge reader writes UIDs.
    pub wedge: WedgeConfig,
}

/// What the terminal bell can ring for.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    Present,
    Late,
    Duplicate,
    Unknown,
    RandomId,
    NotEnrolled,
    /// A tap that was not recorded, or a card that could not be read.
    Error,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    /// Outcomes that ring the terminal bell (TUI only).
    pub bell: Vec<Cue>,
    /// Flash the LED and sound the buzzer of ACR122U-class readers on each
    /// read (green: read, red: card refused). Other readers ignore it.
    pub reader_led: bool,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The database file; default: `taproll.db` in the XDG data folder.
    pub path: Option<PathBuf>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: LogLevel,
}

#[derive(Debug, thiserror::Error)]
#[error("config error: {0}")]
pub struct ConfigError(#[from] TomlFileError);

/// The config and the file it came from, if any.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
}

/// Loads `explicit` (from `--config` or `$TAPROLL_CONFIG`), which must exist,
/// or else the default file, which may be missing.
pub fn load(explicit: Option<&Path>, default_file: Option<&Path>) -> Result<Loaded, ConfigError> {
    let file = match (explicit, default_file) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(path)) if path.exists() => path.to_path_buf(),
        (None, _) => return Ok(Loaded::default()),
    };
    let text = std::fs::read_to_string(&file).map_err(|source| TomlFileError::Read {
        path: file.clone(),
        source,
    })?;
    let mut config = parse(&file, &text)?;
    // Paths in the file are relative to the file's folder, not to the cwd.
    let base = file.parent().unwrap_or(Path::new("."));
    for path in [
        &mut config.reader.scenario,
        &mut config.store.path,
        &mut config.report.folder,
        &mut config.sync.token_file,
        &mut config.sync.card_key_file,
        &mut config.sync.ca_file,
    ]
    .into_iter()
    .flatten()
    {
        if path.is_relative() {
            *path = base.join(&*path);
        }
    }
    Ok(Loaded {
        config,
        file: Some(file),
    })
}

/// The config that `text` (read from `path`) describes, checked; its paths
/// as written. Pure: the fuzz and property tests call it.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml_file::parse(path, text)?;
    validate(&config, path, text)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let loaded = load(Some(&path), None).unwrap();
        assert_eq!(loaded.config, Config::default());
    }

    #[test]
    fn export_uids_are_masked_unless_the_file_says_otherwise() {
        assert_eq!(Config::default().privacy.uids, ExportUids::Masked);
        for (text, uids) in [("hash", ExportUids::Hash), ("full", ExportUids::Full)] {
            let file = format!("[privacy]\nuids = \"{text}\"\n");
            let config: Config = toml_file::parse(Path::new("c.toml"), &file).unwrap();
            assert_eq!(config.privacy.uids, uids);
        }
        let error = toml_file::parse::<Config>(Path::new("c.toml"), "[privacy]\nuids = \"raw\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("c.toml, line 2, key `privacy.uids`: ") && error.contains("masked"),
            "{error}"
        );
    }

    #[test]
    fn the_clock_requirement_can_be_turned_off() {
        let text = "[session]\nrequire_synced_clock = false\n";
        let config: Config = toml_file::parse(Path::new("c.toml"), text).unwrap();
        assert!(!config.session.require_synced_clock);
        assert!(Config::default().session.require_synced_clock);
    }

    #[test]
    fn a_clock_requirement_that_is_not_true_or_false_names_file_line_and_key() {
        let text = "[session]\nlate_after_minutes = 10\nrequire_synced_clock = \"no\"\n";
        let error = toml_file::parse::<Config>(Path::new("c.toml"), text).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("c.toml, line 3, key `session.require_synced_clock`: "),
            "{message}"
        );
    }

    #[test]
    fn a_missing_default_file_means_defaults() {
        let loaded = load(None, Some(Path::new("/nonexistent/taproll.toml"))).unwrap();
        assert_eq!(loaded.config, Config::default());
        assert!(loaded.file.is_none());
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let error = load(Some(Path::new("/nonexistent/taproll.toml")), None).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/taproll.toml"),
            "{error}"
        );
    }
}
