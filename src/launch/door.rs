//! `taproll door`: the students' screen, a view of the database's
//! recorder. It starts no recorder: the roster or the service does.

use crate::cli::DoorArgs;
use crate::cli_error::CliError;
use crate::paths::Dirs;
use crate::recorder::place;
use crate::settings::{database_path, load_config};

pub(super) fn run(args: DoorArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let loaded = load_config(&args.files, dirs)?;
    let db = database_path(&args.files, &loaded.config, dirs)?;
    let _log_guard = super::logs::start_logging(dirs, &loaded.config, super::Role::View);
    let uid = place::own_uid()?;
    let runtime = super::event_loop()?;
    Ok(runtime.block_on(crate::door::live::run(&db, uid))?)
}
