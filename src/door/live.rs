//! The door display's loop: attach to the recorder of the database, show
//! what it tells, and attach again whenever it is gone (a restarted
//! service). `q` or Ctrl-C on a keyboard, if there is one, ends it.

use super::{Door, view};
use crate::engine::Update;
use crate::reader::now;
use crate::recorder::{Attached, Notice, attach};
use crate::tui::TuiError;
use crate::tui::terminal::{TerminalGuard, clock_tick, spawn_input_thread, terminal_lost};
use crate::tui::theme::Theme;
use ratatui::crossterm::event::{Event, KeyCode, KeyModifiers};
use std::path::Path;
use tokio::signal::unix::{SignalKind, signal};

pub async fn run(db: &Path, uid: u32) -> Result<(), TuiError> {
    let theme = Theme::from_env();
    let mut door = Door::new(String::new(), now());
    let mut link = attach_to(db, uid, &mut door).await;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut guard = TerminalGuard::enter()?;
    let mut input = spawn_input_thread()?;
    let mut clock = clock_tick();
    loop {
        if let Err(e) = guard
            .terminal()
            .draw(|frame| view::render(&door, theme, frame))
        {
            terminal_lost(&e);
            break;
        }
        tokio::select! {
            notice = next_notice(&mut link) => match notice {
                Ok(Notice::Update { update }) => door.apply(&update, now()),
                // No reader is left to tap on: the door must not invite one.
                Ok(Notice::ReaderEnded { problem: Some(_) }) => door.set_readers(Vec::new()),
                Ok(Notice::Stopping) | Err(_) => {
                    tracing::warn!("door: the recorder is gone; trying again every second");
                    link = None;
                    door.set_connected(false);
                }
                Ok(_) => {}
            },
            _ = clock.tick() => {
                door.tick(now());
                if link.is_none() {
                    link = attach_to(db, uid, &mut door).await;
                }
            }
            input = input.recv() => match input {
                Some(Ok(Event::Key(key))) => {
                    let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
                        && key.code == KeyCode::Char('c');
                    if ctrl_c || key.code == KeyCode::Char('q') {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    terminal_lost(&e);
                    break;
                }
                None => break,
            },
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    tracing::info!("door display closed");
    Ok(())
}

/// Attaches to the recorder of `db`, if one is there, and starts the door
/// afresh from its welcome: the course and the readers it has now.
async fn attach_to(db: &Path, uid: u32, door: &mut Door) -> Option<Attached> {
    let link = match attach::find(db, uid).await {
        Ok(link) => link?,
        // Another build's recorder, say: the door says it is not
        // recording, and the log says why.
        Err(e) => {
            tracing::warn!(error = %e, "door: cannot attach");
            return None;
        }
    };
    let welcome = link.welcome();
    tracing::info!(pid = welcome.pid, "door: attached to the recorder");
    *door = Door::new(welcome.session.course.name.clone(), now());
    door.set_connected(true);
    door.set_readers(Vec::new());
    for event in &welcome.readers {
        door.apply(&Update::Reader(event.clone()), now());
    }
    if let Some(Some(_)) = welcome.reader_end {
        door.set_readers(Vec::new());
    }
    Some(link)
}

/// The next notice; never, while there is no recorder.
async fn next_notice(link: &mut Option<Attached>) -> Result<Notice, crate::recorder::AttachError> {
    match link {
        Some(link) => link.notice().await,
        None => std::future::pending().await,
    }
}
