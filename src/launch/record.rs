//! The recorder: records into the database, serves its views on the
//! socket, and has no terminal. Started by a view (`--recorder-for-view`)
//! or as a service (`taproll record`).

use super::{OpenClass, Plan, Role, SYNC_GRACE, event_loop, open_class, reader_end, start_reader};
use crate::cli_error::CliError;
use crate::reader::now;
use crate::recorder::place;
use crate::recorder::serve::{self, Recorder};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub(super) fn run(mut plan: Plan) -> Result<(), CliError> {
    let uid = place::own_uid()?;
    let OpenClass {
        mut engine,
        sync,
        resumed,
        clock,
    } = open_class(&mut plan)?;
    // A recorder a roster started asks that roster whether to go on with a
    // session found open; a service (a Pi after a power cut) goes on.
    let resume_until = if resumed && plan.role == Role::RecorderForView {
        engine = engine.asking_to_resume()?;
        Some(now() + plan.resume_question)
    } else {
        None
    };
    let runtime = event_loop()?;
    // The socket once the database is ours (its lock is held): a socket
    // left by a recorder that was killed is stale and goes.
    let socket = place::recorder_folder(uid)?.join(place::socket_name(&plan.db));
    let listener = runtime.block_on(async { bind(&socket) })?;
    let socket_file = RemoveOnDrop(socket.clone());
    // A view's demo ends with its scenario; a service waits for views.
    let ends_when_idle =
        plan.role == Role::RecorderForView && matches!(plan.reader, super::ReaderChoice::Sim(_));
    let end = reader_end(&plan.reader);
    let (reader, events, wedge) = start_reader(plan.reader, false)?;
    tracing::info!(socket = %socket.display(), pid = std::process::id(), "recorder started");
    let recorder = Recorder {
        engine,
        events,
        reader_end: end,
        sync: sync.status(),
        service: plan.role == Role::Service,
        resume_until,
        clock: clock_word(clock),
        db_label: plan.db.display().to_string(),
        ends_when_idle,
        uid,
    };
    let ending = runtime.block_on(serve::serve(recorder, listener));
    // No view can attach any more: a new run starts a recorder of its own.
    drop(socket_file);
    // A view's wedge reader sent into this channel; nothing more comes.
    drop(wedge);
    reader.stop();
    // The last taps and the end of the session, to a server that answers.
    sync.finish(SYNC_GRACE);
    let ending = ending.map_err(|source| CliError::Start {
        what: "recorder's signal handlers",
        source,
    })?;
    tracing::info!(?ending, "recorder ended");
    Ok(())
}

/// Listens at `path`, private to this user (the folder is already 0700).
fn bind(path: &Path) -> Result<tokio::net::UnixListener, CliError> {
    let failed = |source| CliError::Start {
        what: "recorder's socket",
        source,
    };
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!(socket = %path.display(), "a stale recorder socket removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e)),
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    Ok(listener)
}

/// The socket goes with the recorder, however it ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The clock's word for the status line: only when it is not known to be
/// right (a synchronised clock needs no word on a crowded line).
fn clock_word(clock: crate::clock::ClockState) -> String {
    match clock {
        crate::clock::ClockState::Synchronised => String::new(),
        other => other.status().to_string(),
    }
}
