//! Where a run's log goes: the day's file in the state folder, or the
//! journal for a service that systemd started; panics are logged too.

use super::Role;
use crate::config::Config;
use crate::logging;
use crate::paths::Dirs;
use std::path::Path;

pub(super) fn start_logging(
    dirs: Option<&Dirs>,
    config: &Config,
    role: Role,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    // A service's standard error is the journal (systemd says so).
    if role == Role::Service && std::env::var_os("JOURNAL_STREAM").is_some() {
        let guard = logging::init_journal(config.log.level);
        install_panic_logger();
        return Some(guard);
    }
    let dir: &Path = &dirs?.state_dir;
    match logging::init(dir, config.log.level) {
        Ok(guard) => {
            install_panic_logger();
            Some(guard)
        }
        Err(reason) => {
            crate::console::note(format_args!("taproll: logging is off: {reason}"));
            None
        }
    }
}

/// Panics go to the log file too; the TUI's own hook restores the terminal
/// first so the message is readable.
fn install_panic_logger() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "taproll panicked");
        previous(info);
    }));
}
