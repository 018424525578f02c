//! `taproll door`: the students' screen, a view of the recorder.

use crate::cli::DoorArgs;
use crate::cli_error::CliError;
use crate::paths::Dirs;

pub(super) fn run(_args: DoorArgs, _dirs: Option<&Dirs>) -> Result<(), CliError> {
    Ok(())
}
