//! The commands that look after an installation rather than a class:
//! `backup`, `restore`, and the shell completions and man pages a package
//! installs (`completions`, `man`). `doctor` has a module of its own.

use crate::backup::{self, BackupError};
use crate::cli::{BackupArgs, Cli, RestoreArgs, Shell};
use crate::cli_error::CliError;
use crate::console;
use crate::paths::Dirs;
use crate::reader::now;
use crate::settings::{backup_plan, database_path, load_config};
use crate::store::AppliedAgain;
use clap::CommandFactory;
use std::path::Path;

pub fn backup(args: BackupArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let config = load_config(&args.files, dirs)?.config;
    let db = database_path(&args.files, &config, dirs)?;
    let plan = backup_plan(&config.backup, &db, args.to);
    let taken = backup::take(&db, &plan, &now())?;
    let mut text = format!(
        "Backed up {} to {} ({} KiB, integrity ok)\n",
        db.display(),
        taken.file.display(),
        taken.bytes.div_ceil(1024)
    );
    for old in &taken.removed {
        text.push_str(&format!("Removed the old backup {}\n", old.display()));
    }
    console::print(text).map_err(CliError::Output)
}

pub fn restore(args: RestoreArgs, dirs: Option<&Dirs>) -> Result<(), CliError> {
    let config = load_config(&args.files, dirs)?.config;
    let db = database_path(&args.files, &config, dirs)?;
    let restored = backup::restore(&db, &args.file, &now(), args.force)?;
    let mut text = format!("Restored {} into {}\n", args.file.display(), db.display());
    if let Some(kept) = &restored.kept {
        text.push_str(&format!(
            "The database it replaced is kept as {}\n",
            kept.display()
        ));
    }
    if !restored.kept_problems.is_empty() {
        text.push_str(&format!(
            "(it was damaged: {})\n",
            restored.kept_problems.join("; ")
        ));
    }
    if let Some(problem) = &restored.trail_problem {
        text.push_str(&format!(
            "WARNING: the erasures of the database it replaced could not be read ({problem}): \
             a student forgotten since the backup was taken may be in it again\n"
        ));
    }
    for applied in &restored.erasures {
        text.push_str(&erasure_line(applied));
    }
    console::print(text).map_err(CliError::Output)
}

/// What a restore did with a student forgotten after the backup was taken.
fn erasure_line(applied: &AppliedAgain) -> String {
    match applied {
        AppliedAgain::Forgotten(again) => format!(
            "Forgotten again: {} (erased {}) was in the backup, and is forgotten in it too\n",
            again.pseudonym, again.erased_at
        ),
        AppliedAgain::NotInBackup(again) => format!(
            "{} (erased {}) was not in the backup: nothing to forget again\n",
            again.pseudonym, again.erased_at
        ),
        AppliedAgain::NotMatched(again) => format!(
            "WARNING: {} (erased {}) cannot be found in the backup (--force): if it holds that \
             student, run `taproll student forget` for them again\n",
            again.pseudonym, again.erased_at
        ),
    }
}

/// A backup at the end of a session, when `[backup] after_session` asks:
/// on a thread of its own (the room never waits), logged. The recorder
/// waits for it before it exits (the last class of the day, then a
/// shutdown).
pub fn after_session(db: &Path, plan: backup::BackupPlan) -> Option<std::thread::JoinHandle<()>> {
    let db = db.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("backup".into())
        .spawn(move || match backup::take(&db, &plan, &now()) {
            Ok(taken) => tracing::info!(file = %taken.file.display(), bytes = taken.bytes, "backup taken at the end of the session"),
            Err(BackupError::NoFolder(folder)) => tracing::warn!(folder = %folder.display(), "no backup at the end of the session: its folder is not there (a USB stick not mounted?)"),
            Err(e) => tracing::error!(error = %e, "the backup at the end of the session FAILED"),
        });
    match spawned {
        Ok(thread) => Some(thread),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the backup at the end of the session");
            None
        }
    }
}

pub fn completions(shell: Shell) -> Result<(), CliError> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "taproll", &mut text);
    console::print(text).map_err(CliError::Output)
}

/// `taproll.1` and a page per command (`taproll-run.1`, ...) into `folder`.
pub fn man_pages(folder: &Path) -> Result<(), CliError> {
    let failed = |source| CliError::Start {
        what: "man pages",
        source,
    };
    std::fs::create_dir_all(folder).map_err(failed)?;
    let command = Cli::command();
    write_page(folder, "taproll", command.clone()).map_err(failed)?;
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("taproll-{}", sub.get_name());
        // The synopsis reads `taproll run ...`, the command one types.
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("taproll {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        write_page(folder, &name, page).map_err(failed)?;
    }
    Ok(())
}

fn write_page(folder: &Path, name: &str, command: clap::Command) -> std::io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page)?;
    std::fs::write(folder.join(format!("{name}.1")), page)
}
