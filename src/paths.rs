//! Where taproll keeps its files by default (XDG base directories).

use directories::ProjectDirs;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Dirs {
    /// `$XDG_CONFIG_HOME/taproll/config.toml`
    pub config_file: PathBuf,
    /// `$XDG_DATA_HOME/taproll`
    pub data_dir: PathBuf,
    /// `$XDG_STATE_HOME/taproll`, for logs
    pub state_dir: PathBuf,
}

impl Dirs {
    /// `None` when there is no home folder to put them in.
    pub fn from_env() -> Option<Self> {
        let project = ProjectDirs::from("", "", "taproll")?;
        Some(Self {
            config_file: project.config_dir().join("config.toml"),
            data_dir: project.data_dir().to_path_buf(),
            state_dir: project
                .state_dir()
                .unwrap_or_else(|| project.data_dir())
                .to_path_buf(),
        })
    }

    pub fn default_db(&self) -> PathBuf {
        self.data_dir.join("taproll.db")
    }
}
