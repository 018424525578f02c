//! Logs go to a file, never to the terminal the TUI is drawing on.

use crate::config::LogLevel;
use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Starts logging to `dir/taproll.YYYY-MM-DD.log` (kept 14 days). Returns the
/// guard that flushes the log on drop, or a reason logging is off.
pub fn init(dir: &Path, level: LogLevel) -> Result<WorkerGuard, String> {
    create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("taproll")
        .filename_suffix("log")
        .max_log_files(14)
        .build(dir)
        .map_err(|e| format!("cannot log to {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let level = tracing_level(level);
    // The HTTP and TLS libraries speak only of trouble: at debug they would
    // fill the SD card with a line per connection.
    let filter = Targets::new()
        .with_default(level)
        .with_target("ureq", tracing::Level::WARN)
        .with_target("ureq_proto", tracing::Level::WARN)
        .with_target("rustls", tracing::Level::WARN);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter),
        )
        .try_init()
        .map_err(|e| format!("logging already set up: {e}"))?;
    Ok(guard)
}

/// Logs to standard error, for a service whose standard error is the
/// journal: no colours, no time (the journal stamps each line). Written
/// from a thread of its own, as the file log is: a journal that stalls
/// never holds up a tap. The guard flushes it on drop.
pub fn init_journal(level: LogLevel) -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let filter = Targets::new()
        .with_default(tracing_level(level))
        .with_target("ureq", tracing::Level::WARN)
        .with_target("ureq_proto", tracing::Level::WARN)
        .with_target("rustls", tracing::Level::WARN);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .without_time()
                .with_filter(filter),
        )
        .try_init();
    guard
}

fn tracing_level(level: LogLevel) -> tracing::Level {
    match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    }
}

/// Logs hold names and card UIDs: only the user may read them.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
