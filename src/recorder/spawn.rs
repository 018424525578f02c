//! A view with no recorder to attach to starts one: the same command line,
//! re-run as a recorder of its own (`--recorder-socket PATH`: the view
//! chooses where it listens), in a process group of its own, with no
//! terminal, so a hang-up of the view's terminal (a dropped SSH connection)
//! never reaches it. The view waits until it listens, or relays its error
//! if it could not start. Its first connection is the view's own.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Opening the database, migrating it, finding the readers: well under this.
const START_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot start the recorder: {0}")]
    Start(std::io::Error),
    /// The recorder ended before it listened; its own message says why.
    #[error("{message}")]
    Failed { message: String, code: Option<i32> },
    #[error("the recorder did not start listening at {path} within {START_WAIT:?}")]
    NoSocket { path: PathBuf },
}

/// A recorder started for this view: its process, until it ends.
pub struct Spawned {
    pub child: Child,
}

/// Starts `taproll <args> --recorder-socket SOCKET` and waits until it
/// accepts a connection there: the view's, returned with it.
pub fn recorder_for_view(
    args: Vec<OsString>,
    socket: &Path,
) -> Result<(Spawned, UnixStream), SpawnError> {
    let exe = std::env::current_exe().map_err(SpawnError::Start)?;
    let mut child = Command::new(exe)
        .args(args)
        .arg("--recorder-socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Read until it listens, then closed: its later messages go to the log.
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(SpawnError::Start)?;
    let deadline = Instant::now() + START_WAIT;
    loop {
        // Its socket is new: one left by a recorder that was killed does
        // not answer (and the new recorder removes it before it listens).
        if let Ok(stream) = UnixStream::connect(socket) {
            // Dropping our end of its stderr: it writes to the log from now on.
            drop(child.stderr.take());
            return Ok((Spawned { child }, stream));
        }
        if let Some(status) = child.try_wait().map_err(SpawnError::Start)? {
            let mut message = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut message);
            }
            let message = message
                .trim_end()
                .strip_prefix("taproll: ")
                .map(str::to_string)
                .unwrap_or_else(|| message.trim_end().to_string());
            return Err(SpawnError::Failed {
                message: if message.is_empty() {
                    format!("the recorder ended at once ({status}); see the log")
                } else {
                    message
                },
                code: status.code(),
            });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SpawnError::NoSocket {
                path: socket.to_path_buf(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (a while) for a stopped recorder to be gone, so the next run finds
/// the database free. Its own child is reaped (else it would linger as a
/// zombie); another's is watched in /proc.
pub fn wait_gone(pid: u32, mut spawned: Option<&mut Spawned>, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let gone = match &mut spawned {
            Some(own) if own.child.id() == pid => {
                matches!(own.child.try_wait(), Ok(Some(_)) | Err(_))
            }
            _ => !alive(pid),
        };
        if gone {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is a running process: in /proc and not a zombie (a
/// stopped recorder that is not our child may wait long to be reaped).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}
