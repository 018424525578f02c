//! The recorder: records into the database, serves its views on the
//! socket, and has no terminal. Started by a view (`--recorder-socket`)
//! or as a service (`taproll record`).

use super::{
    OpenClass, Plan, ReaderChoice, Role, RunningReader, SYNC_GRACE, event_loop, open_class,
    reader_end, start_reader,
};
use crate::cli_error::CliError;
use crate::reader::now;
use crate::recorder::place;
use crate::recorder::serve::{self, Ending, Listening, Recorder};

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
    let end = reader_end(&plan.reader);
    let service = plan.role == Role::Service;
    // A scenario a roster asked for plays once that roster watches; any
    // other reader records from now on, whoever watches.
    let (reader, events, wedge, on_first_view) = match plan.reader {
        ReaderChoice::Sim(script) if !service => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let start: Box<dyn FnOnce() + Send> = Box::new(move || {
                if let Err(e) = script.spawn(tx) {
                    tracing::error!(error = %e, "cannot start the scenario");
                }
            });
            (RunningReader::Thread, rx, None, Some(start))
        }
        choice => {
            let (reader, events, wedge) = start_reader(choice, false)?;
            (reader, events, wedge, None)
        }
    };
    // The socket last, once the database is ours (its lock is held) and
    // the reader runs: a view that can attach finds a recorder recording.
    let socket = match plan.socket.take() {
        Some(socket) => socket,
        None => place::recorder_folder(uid)?.join(place::socket_name(&plan.db)),
    };
    let listening = match runtime.block_on(async { Listening::bind(&socket) }) {
        Ok(listening) => listening,
        Err(source) => {
            reader.stop();
            return Err(CliError::Start {
                what: "recorder's socket",
                source,
            });
        }
    };
    tracing::info!(socket = %listening.path().display(), pid = std::process::id(), "recorder started");
    // The backups at the ends of sessions, waited for before exiting.
    let backups: std::sync::Arc<std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>> =
        Default::default();
    let mut recorder = Recorder {
        engine,
        events,
        reader_end: end,
        sync: sync.status(),
        service,
        resume_until,
        clock: clock_word(clock),
        db_label: plan.db.display().to_string(),
        // A scenario's recorder ends when it is over and nobody watches.
        ends_when_idle: on_first_view.is_some(),
        ends_with_reader: service,
        on_first_view,
        on_session_end: plan.backup.take().map(|backup| {
            let db = plan.db.clone();
            let backups = std::sync::Arc::clone(&backups);
            let hook: Box<dyn Fn() + Send> = Box::new(move || {
                if let Some(thread) = crate::maintenance::after_session(&db, backup.clone())
                    && let Ok(mut threads) = backups.lock()
                {
                    threads.push(thread);
                }
            });
            hook
        }),
        uid,
        socket_name: place::socket_name(&plan.db),
    };
    // Its socket is gone when it returns: a new run starts a recorder of
    // its own.
    let ending = runtime.block_on(serve::serve(&mut recorder, listening));
    // The reader stops, and what it read until then is recorded.
    reader.stop();
    drop(wedge);
    serve::drain(&mut recorder);
    drop(recorder);
    // The last taps and the end of the session, to a server that answers.
    sync.finish(SYNC_GRACE);
    finish_backups(&backups);
    let ending = ending.map_err(|source| CliError::Start {
        what: "recorder's signal handlers",
        source,
    })?;
    tracing::info!(?ending, "recorder ended");
    match ending {
        Ending::ReaderStopped => Err(CliError::ReaderStopped),
        Ending::Stopped | Ending::Signal | Ending::Idle => Ok(()),
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

/// How long an exiting recorder waits for a backup still being written (a
/// service gets 30 s from systemd in all).
const BACKUP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits for the end-of-session backups still running, for a while.
fn finish_backups(backups: &std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>) {
    let Ok(mut threads) = backups.lock() else {
        return;
    };
    let deadline = std::time::Instant::now() + BACKUP_GRACE;
    while threads.iter().any(|t| !t.is_finished()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let unfinished = threads.iter().filter(|t| !t.is_finished()).count();
    if unfinished > 0 {
        tracing::error!(
            unfinished,
            "a backup at the end of a session was still running; it is given up"
        );
    }
    threads.clear();
}
