//! The server's settings: a TOML file (`--config`), then the environment
//! (`TAPROLL_SERVER_DATABASE`, `TAPROLL_SERVER_LISTEN`), then flags. Every
//! key has a default: with none given, it listens on loopback and keeps an
//! SQLite file in the working folder.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on. Loopback by default: put a reverse
    /// proxy with TLS in front, or set `tls_cert` and `tls_key`.
    pub listen: String,
    /// `postgres://user@host/db`, or an SQLite file (`sqlite:PATH` or PATH).
    pub database: String,
    /// The largest request body taken (a batch of 500 events is ~200 kB).
    pub max_body_bytes: usize,
    /// Longest time to store a batch before answering 503.
    pub request_timeout_seconds: u64,
    /// Batches a minute one device may send before getting 429.
    pub device_batches_per_minute: u32,
    /// A device clock further off than this is logged and flagged.
    pub clock_offset_warn_seconds: u64,
    /// Where `/metrics` is served: names every institution's rooms, so
    /// keep it private (loopback, or a firewalled address). Empty: none.
    pub metrics_listen: String,
    /// HTTPS: the certificate chain and its private key (PEM files). Both
    /// or neither; without them, plain HTTP (behind a TLS proxy).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8750".into(),
            database: "sqlite:taproll-server.db".into(),
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout_seconds: 30,
            device_batches_per_minute: 600,
            clock_offset_warn_seconds: 120,
            metrics_listen: "127.0.0.1:8751".into(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl ServerConfig {
    /// The file's settings (defaults without one), then the environment's.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            None => Self::default(),
            Some(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: shown.clone(),
                    source,
                })?;
                let mut config: Self = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
                // Paths in the file are relative to the file's folder.
                let base = path.parent().unwrap_or(Path::new("."));
                for file in [&mut config.tls_cert, &mut config.tls_key]
                    .into_iter()
                    .flatten()
                {
                    if file.is_relative() {
                        *file = base.join(&*file);
                    }
                }
                if config.tls_cert.is_some() != config.tls_key.is_some() {
                    return Err(ConfigError::Invalid {
                        path: shown,
                        message: "tls_cert and tls_key go together: set both, or neither".into(),
                    });
                }
                config
            }
        };
        if let Ok(database) = std::env::var("TAPROLL_SERVER_DATABASE") {
            config.database = database;
        }
        if let Ok(listen) = std::env::var("TAPROLL_SERVER_LISTEN") {
            config.listen = listen;
        }
        Ok(config)
    }
}
