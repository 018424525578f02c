//! The taproll-server binary: `serve`, `device add | list | revoke`,
//! `report`. One error report at the end, on standard error.

use clap::{Parser, Subcommand};
use std::future::IntoFuture;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use taproll_server::config::ServerConfig;
use taproll_server::http::{AppState, Limits, metrics_router, router};
use taproll_server::metrics::Metrics;
use taproll_server::rate::RateLimiter;
use taproll_server::storage::Storage;
use taproll_server::{devices, reads};

#[derive(Parser, Debug)]
#[command(
    name = "taproll-server",
    version,
    about = "Receives the attendance taproll devices push"
)]
struct Cli {
    /// Settings file (TOML) [default: built-in defaults].
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "TAPROLL_SERVER_CONFIG"
    )]
    config: Option<PathBuf>,
    /// The database: postgres://... or an SQLite file [default: sqlite:taproll-server.db].
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Answer devices and readers until SIGTERM or SIGINT.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8750].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Add, list or revoke devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// A course's attendance across rooms, as CSV or JSON.
    Report {
        #[arg(long)]
        institution: String,
        #[arg(long)]
        course: String,
        /// First date (2026-11-30), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// Last date, inclusive.
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
enum DeviceCommand {
    /// Add a device; prints its token once (only its hash is kept).
    Add {
        #[arg(long)]
        institution: String,
        #[arg(long)]
        room: String,
    },
    /// The devices: room, last seen, events, sequence, clock offset.
    List {
        #[arg(long)]
        institution: Option<String>,
    },
    /// Revoke a device's token (its events stay).
    Revoke { id: String },
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Config(#[from] taproll_server::config::ConfigError),
    #[error("database: {0}")]
    Storage(#[from] taproll_server::storage::StorageError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            complain(&format!("cannot start: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            complain(&e.to_string());
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let mut config = ServerConfig::load(cli.config.as_deref())?;
    if let Some(database) = cli.database {
        config.database = database;
    }
    let storage = Storage::open(&config.database).await?;
    let now = || taproll_wire::rfc3339(&chrono::Utc::now().fixed_offset());
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(storage, &config).await
        }
        Command::Device(DeviceCommand::Add { institution, room }) => {
            let (id, token) = devices::add_device(&storage, &institution, &room, &now()).await?;
            print(&format!(
                "device {id} added to {institution}, room {room}\n\
                 token (shown once; put it in the device's sync token file):\n{token}\n"
            ))
        }
        Command::Device(DeviceCommand::List { institution }) => {
            let list = devices::list_devices(&storage, institution.as_deref()).await?;
            let warn = config.clock_offset_warn_seconds as f64;
            let seconds = |ms: Option<i64>| ms.map(|ms| ms as f64 / 1000.0);
            let mut out = String::from(
                "id\tinstitution\troom\tlast seen\tevents\tlast seq\tlag\tclock offset\trevoked\n",
            );
            for d in list {
                let offset = seconds(d.clock_offset_ms).map_or("-".to_string(), |s| {
                    // Flagged: its times may be off by as much.
                    let flag = if s.abs() > warn { " (far off!)" } else { "" };
                    format!("{s:.1} s{flag}")
                });
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    d.id,
                    d.institution,
                    d.room,
                    d.last_seen_at.as_deref().unwrap_or("never"),
                    d.events,
                    d.last_seq,
                    seconds(d.lag_ms).map_or("-".to_string(), |s| format!("{s:.0} s")),
                    offset,
                    d.revoked_at.as_deref().unwrap_or("-"),
                ));
            }
            print(&out)
        }
        Command::Device(DeviceCommand::Revoke { id }) => {
            if devices::revoke_device(&storage, &id, &now()).await? {
                print(&format!(
                    "device {id} revoked: its token is refused from now on\n"
                ))
            } else {
                Err(Failure::Usage(format!(
                    "no device {id} to revoke (or already revoked)"
                )))
            }
        }
        Command::Report {
            institution,
            course,
            from,
            to,
            format,
        } => {
            for date in [&from, &to].into_iter().flatten() {
                if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                    return Err(Failure::Usage(format!(
                        "`{date}` is not a date like 2026-11-30"
                    )));
                }
            }
            let Some(id) = devices::institution_id(&storage, &institution).await? else {
                return Err(Failure::Usage(format!("no institution `{institution}`")));
            };
            let rows =
                reads::attendance(&storage, id, &course, from.as_deref(), to.as_deref()).await?;
            if format == "json" {
                let text = serde_json::to_string_pretty(&rows).unwrap_or_default();
                print(&format!("{text}\n"))
            } else {
                print(&reads::attendance_csv(&rows))
            }
        }
    }
}

async fn serve(storage: Storage, config: &ServerConfig) -> Result<(), Failure> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| Failure::Io { what, source }
    };
    // tokio's bind sets SO_REUSEADDR: a restart takes the port at once.
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(io(&format!("listen on {}", config.listen)))?;
    let address = listener
        .local_addr()
        .map_err(io("read the listening address"))?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            // ring, as the classroom app's client: one TLS library in the repository.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let loaded = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(io(&format!(
                    "read the TLS certificate {} and key {}",
                    cert.display(),
                    key.display()
                )))?;
            Some(loaded)
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%address, scheme, database = storage.kind(), "taproll-server listening");
    // For scripts and tests that asked for port 0.
    say(format_args!("listening on {scheme}://{address}"));
    let state = Arc::new(AppState {
        storage,
        metrics: Metrics::default(),
        rate: RateLimiter::new(config.device_batches_per_minute),
        limits: Limits {
            max_body_bytes: config.max_body_bytes,
            request_timeout: Duration::from_secs(config.request_timeout_seconds),
            clock_offset_warn: Duration::from_secs(config.clock_offset_warn_seconds),
        },
    });
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    serve_metrics(config, Arc::clone(&state), stopped(stopping.clone())).await;
    let app = router(state);
    // Batches in flight get this long to finish after SIGTERM; then the
    // process ends anyway (a device resends what was not answered).
    let grace = async {
        stopped(stopping.clone()).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    match tls {
        None => {
            let serving =
                axum::serve(listener, app).with_graceful_shutdown(stopped(stopping.clone()));
            tokio::select! {
                served = serving.into_future() => served.map_err(io("serve"))?,
                () = grace => tracing::warn!("stopping without waiting longer for some requests"),
            }
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopping_handle = handle.clone();
            let stop_signal = stopped(stopping.clone());
            tokio::spawn(async move {
                stop_signal.await;
                stopping_handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
            });
            let listener = listener.into_std().map_err(io("serve"))?;
            axum_server::tls_rustls::from_tcp_rustls(listener, tls)
                .map_err(io("serve"))?
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(io("serve"))?
        }
    }
    tracing::info!("taproll-server stopped: every batch in flight was answered");
    Ok(())
}

/// The one error a run ends on, on standard error (if it is there).
fn complain(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "taproll-server: {message}");
}

/// A command's output. A reader that went away (`| head`) is not a
/// failure; any other error is.
fn print(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Io {
            what: "write to standard output".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// A line on standard output, if anyone reads it: `println!` would panic
/// (and end the server) once whoever started it closed the pipe.
fn say(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// How long requests in flight may take after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// `/metrics` on its own listener (`metrics_listen`), until `stopped`. A
/// second copy of the server on the same machine finds the port taken: it
/// says so and serves without metrics.
async fn serve_metrics(
    config: &ServerConfig,
    state: Arc<AppState>,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if config.metrics_listen.is_empty() {
        return;
    }
    match tokio::net::TcpListener::bind(&config.metrics_listen).await {
        Ok(listener) => {
            if let Ok(address) = listener.local_addr() {
                say(format_args!("metrics on http://{address}/metrics"));
            }
            tokio::spawn(async move {
                let serving =
                    axum::serve(listener, metrics_router(state)).with_graceful_shutdown(stopped);
                if let Err(e) = serving.await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        Err(e) => tracing::warn!(
            address = %config.metrics_listen,
            error = %e,
            "metrics are not served (is another copy serving them here?)"
        ),
    }
}

/// SIGTERM or SIGINT: stop taking connections, finish the batches in flight.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("stopping: finishing the batches in flight");
}
