//! The settings every front end resolves the same way, from flags, the
//! config file and the XDG folders: which config, which database, where the
//! end-of-session export goes. Used by `launch` (live runs) and `commands`
//! (one-shot commands), so neither needs the other.

use crate::cli::FileArgs;
use crate::cli_error::{CliError, Usage};
use crate::config::{self, Config, ExportUids, ReportConfig};
use crate::paths::Dirs;
use crate::privacy::UidExport;
use crate::report::export::ExportSettings;
use crate::sync::SyncSettings;
use std::path::{Path, PathBuf};

/// The config named by `--config` / `$TAPROLL_CONFIG`, or the default file.
pub fn load_config(files: &FileArgs, dirs: Option<&Dirs>) -> Result<config::Loaded, CliError> {
    let default_file = dirs.map(|d| d.config_file.clone());
    Ok(config::load(
        files.config.as_deref(),
        default_file.as_deref(),
    )?)
}

/// `--db`, `$TAPROLL_DB`, `store.path`, else the XDG data folder.
pub fn database_path(
    files: &FileArgs,
    config: &Config,
    dirs: Option<&Dirs>,
) -> Result<PathBuf, CliError> {
    match files.db.clone().or_else(|| config.store.path.clone()) {
        Some(db) => Ok(db),
        None => Ok(dirs.ok_or(Usage::NoHome)?.default_db()),
    }
}

/// The end-of-session export from the `[report]` config, card UIDs as
/// `uids` says; the folder defaults to `~/taproll-reports`, else (no home)
/// a `reports` folder beside the database.
pub fn export_settings(config: &ReportConfig, db: &Path, uids: UidExport) -> ExportSettings {
    let folder = config.folder.clone().unwrap_or_else(|| {
        directories::BaseDirs::new()
            .map(|dirs| dirs.home_dir().join("taproll-reports"))
            .unwrap_or_else(|| db.parent().unwrap_or(Path::new(".")).join("reports"))
    });
    ExportSettings {
        folder,
        formats: config.formats.clone(),
        zone: config.zone(),
        lms: config.lms(),
        uids,
    }
}

/// How exports write card UIDs (`[privacy] uids`). Hashes take the push's
/// card key, so a card gives one value in both; it is read, or made
/// (0600), only when hashes are asked for.
pub fn export_uids(config: &Config, dirs: Option<&Dirs>, db: &Path) -> Result<UidExport, CliError> {
    Ok(match config.privacy.uids {
        ExportUids::Masked => UidExport::Masked,
        ExportUids::Hash => {
            let file = crate::sync::card_key_file(&config.sync, &data_dir(dirs, db));
            UidExport::Hash(crate::sync::load_or_make_key(&file).map_err(Usage::Privacy)?)
        }
        ExportUids::Full => UidExport::Full,
    })
}

/// Where the card key is kept by default: the data folder, else (no home)
/// beside the database.
fn data_dir(dirs: Option<&Dirs>, db: &Path) -> PathBuf {
    match dirs {
        Some(dirs) => dirs.data_dir.clone(),
        None => db.parent().unwrap_or(Path::new(".")).to_path_buf(),
    }
}

/// `[sync]` for this run; `None` when it names no server. The card key is
/// kept in the data folder (`data_dir`).
pub fn sync_settings(
    config: &Config,
    dirs: Option<&Dirs>,
    db: &Path,
) -> Result<Option<SyncSettings>, CliError> {
    let token = std::env::var(crate::sync::TOKEN_VARIABLE).ok();
    SyncSettings::resolve(&config.sync, token, &data_dir(dirs, db))
        .transpose()
        .map_err(|message| Usage::Sync(message).into())
}

/// Where backups of `db` go (`--to`, else `[backup]`, else `backups`
/// beside the database) and how many are kept.
pub fn backup_plan(
    config: &crate::config::BackupConfig,
    db: &Path,
    to: Option<PathBuf>,
) -> crate::backup::BackupPlan {
    // A relative backup.folder is beside the database, not wherever
    // taproll was started (the service starts in /).
    let beside = db.parent().unwrap_or(Path::new("."));
    let named = to.or_else(|| config.folder.as_ref().map(|folder| beside.join(folder)));
    crate::backup::BackupPlan {
        make_folder: named.is_none(),
        folder: named.unwrap_or_else(|| db.parent().unwrap_or(Path::new(".")).join("backups")),
        keep: config.keep as usize,
    }
}
