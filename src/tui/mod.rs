//! The terminal front end: sets up the terminal, runs the event loop, and
//! always restores the terminal on the way out (quit, error, panic, SIGTERM,
//! SIGHUP).
//!
//! The TUI is a view of a recorder (`crate::recorder`): the loop waits on
//! the recorder's notices (taps, other views' changes, the push), the keys
//! (`App::on_key` names an `Action`, `actions.rs` carries it out through the
//! recorder), a keyboard-wedge reader's taps (handed to the recorder) and
//! the clock. `App` is plain state; `view.rs` draws it.

pub mod action;
pub mod actions;
pub mod app;
pub mod banner;
pub mod dialog;
pub mod layout;
pub mod modal;
pub mod modal_view;
pub mod roster;
pub mod sync_view;
pub mod term_grid;
pub mod term_view;
pub mod term_window;
pub mod terminal;
pub mod theme;
pub mod view;

use crate::config::Cue;
use crate::engine::Update;
use crate::reader::wedge::KeyboardWedge;
use crate::reader::{ReaderEvent, now};
use crate::recorder::{Notice, Welcome};
use crate::report::export::ExportSettings;
use action::Action;
use actions::{Class, Flow, reload_risk, reload_roster, reload_term};
use app::App;
use ratatui::crossterm::event::Event;
use terminal::{TerminalGuard, clock_tick, spawn_input_thread, terminal_lost};
use theme::Theme;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// How the TUI is set up, from the config.
pub struct TuiOptions {
    /// The database path as shown in the status line.
    pub db_label: String,
    /// A keyboard-wedge reader, read from the keyboard, and the channel it
    /// sends its taps on; the view hands them to the recorder.
    pub wedge: Option<(KeyboardWedge, UnboundedReceiver<ReaderEvent>)>,
    pub bell: Vec<Cue>,
    pub keys: crate::keymap::Keymap,
    /// The end-of-session report: where and in which formats it is saved.
    pub export: ExportSettings,
    /// The database, to find its recorder again when it is gone (a
    /// restarted service).
    pub db: std::path::PathBuf,
    /// Said in the banner at the start (flags a running recorder ignores).
    pub note: Option<String>,
    /// Who is marked as at risk on the roster.
    pub risk: crate::config::RiskConfig,
}

/// How a view ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaving {
    /// The recorder was stopped from here.
    Stopped,
    /// The view went (left by choice, a signal, the terminal gone); the
    /// recorder, if it is still there, goes on recording.
    Left,
}

/// Shows the live roster of the class `class` is attached to until the
/// instructor leaves, a signal arrives or the terminal goes away.
pub async fn run(mut class: Class, options: TuiOptions) -> Result<Leaving, TuiError> {
    let theme = Theme::from_env();
    let welcome = class.link.welcome().clone();
    let (wedge, mut wedge_events) = match options.wedge {
        Some((wedge, events)) => (Some(wedge), Some(events)),
        None => (None, None),
    };
    let started = now();
    let setup = app::Setup {
        db_label: options.db_label,
        keys: options.keys,
        bell: options.bell,
        export_to: Some(options.export.describe()),
        wedge,
        resume_question: welcome.resume_until.map(|until| until - started),
    };
    let mut app = App::new(welcome.session.clone(), started, setup);
    adopt(&mut app, &welcome);
    if let Some(note) = options.note.clone() {
        app.set_banner(banner::Banner::Info {
            headline: "Attached to the running recorder".into(),
            detail: note,
        });
    }
    reload_roster(&mut app, &class.store);
    reload_risk(&mut app, &class.store, &options.risk);
    let uid = crate::recorder::place::own_uid().unwrap_or(u32::MAX);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut guard = TerminalGuard::enter()?;
    let mut input = spawn_input_thread()?;
    let mut clock = clock_tick();
    let mut attached = true;
    let mut dirty = true;
    let leaving = loop {
        // What a tap asked for (a dialog, a card to bind). Taps go on being
        // recorded while a dialog is open.
        if let Some(action) = app.take_pending() {
            match actions::perform(action, &mut app, &mut class, &options.export).await {
                Flow::Continue => {}
                Flow::Stopped => break Leaving::Stopped,
                Flow::Left => break Leaving::Left,
            }
            dirty = true;
        }
        if dirty {
            let drawn = guard.terminal().size().and_then(|size| {
                app.set_page_rows(view::page_rows(size.into()));
                app.set_term_size(view::term_size(size.into()));
                guard
                    .terminal()
                    .draw(|frame| view::render(&app, theme, frame))
                    .map(|_| ())
            });
            if let Err(e) = drawn {
                terminal_lost(&e);
                break Leaving::Left;
            }
            dirty = false;
            if app.take_bell() {
                ring_bell();
            }
        }
        tokio::select! {
            // Everything the recorder did: taps (recorded whatever is on
            // screen, the resume question included), other views' changes,
            // the push.
            notice = class.link.notice(), if attached => {
                match notice {
                    Ok(notice) => {
                        if on_notice(&mut app, &class.store, &options.risk, notice) {
                            reload_term(&mut app, &class.store, &options.export.zone);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the view lost its recorder");
                        attached = false;
                        app.recorder_gone(e.to_string());
                    }
                }
                dirty = true;
            }
            // A keyboard-wedge reader types here; its card is the recorder's.
            Some(event) = recv_wedge(&mut wedge_events) => {
                if let Err(e) = class.link.reader_event(event).await {
                    app.recorder_gone(e.to_string());
                    attached = false;
                }
                dirty = true;
            }
            input = input.recv() => match input {
                Some(Ok(Event::Key(key))) => {
                    let action = app.on_key(key);
                    if action != Action::None {
                        dirty = true;
                    }
                    match actions::perform(action, &mut app, &mut class, &options.export).await {
                        Flow::Continue => {}
                        Flow::Stopped => break Leaving::Stopped,
                        Flow::Left => break Leaving::Left,
                    }
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    terminal_lost(&e);
                    break Leaving::Left;
                }
                None => break Leaving::Left,
            },
            _ = clock.tick() => {
                let action = app.tick(now());
                actions::perform(action, &mut app, &mut class, &options.export).await;
                if !attached {
                    attached = reattach(&mut app, &mut class, &options.db, uid).await;
                }
                dirty = true;
            }
            _ = sigterm.recv() => break Leaving::Left,
            _ = sighup.recv() => {
                tracing::warn!("SIGHUP: the terminal is gone (a dropped connection?); the view ends, the recorder goes on recording");
                break Leaving::Left;
            }
            _ = sigint.recv() => break Leaving::Left,
        }
    };
    tracing::info!(?leaving, "TUI closed");
    Ok(leaving)
}

/// The recorder's welcome, applied: its session, the push, the readers.
fn adopt(app: &mut App, welcome: &Welcome) {
    app.set_session(welcome.session.clone());
    app.set_sync(welcome.sync.clone());
    app.set_recorder(app::RecorderInfo {
        pid: welcome.pid,
        service: welcome.service,
        views: welcome.views,
        clock: welcome.clock.clone(),
        gone: None,
    });
    app.clear_readers();
    for event in &welcome.readers {
        app.apply(Update::Reader(event.clone()));
    }
    if let Some(problem) = welcome.reader_end.clone() {
        app.reader_stream_ended(problem);
    }
}

/// A recorder is back (a service restarted by systemd, say): attach to it.
async fn reattach(app: &mut App, class: &mut Class, db: &std::path::Path, uid: u32) -> bool {
    let Ok(Some(link)) = crate::recorder::attach::find(db, uid).await else {
        return false;
    };
    tracing::info!(
        pid = link.welcome().pid,
        "the roster attached to the recorder again"
    );
    adopt(app, link.welcome());
    class.link = link;
    app.set_banner(banner::Banner::Info {
        headline: "Recording again".into(),
        detail: "attached to the recorder".into(),
    });
    reload_roster(app, &class.store);
    true
}

/// What the recorder told every view, applied to this one. True when the
/// marks may have changed (the roster was read again).
fn on_notice(
    app: &mut App,
    store: &crate::store::Store,
    risk: &crate::config::RiskConfig,
    notice: Notice,
) -> bool {
    match notice {
        Notice::Update { update } => {
            let changed = app.apply(update);
            if changed {
                reload_roster(app, store);
            }
            return changed;
        }
        Notice::Changed { session } => {
            // Sent after every command: only a session that ended or began
            // changes who is at risk coming into it.
            let before = (app.session().id, app.session().ended_at);
            let another = (session.id, session.ended_at) != before;
            app.set_session(session);
            reload_roster(app, store);
            if another {
                reload_risk(app, store, risk);
            }
            return true;
        }
        Notice::Resumed => app.resume_answered(),
        Notice::Sync { status } => app.set_sync(status),
        Notice::ReaderEnded { problem } => app.reader_stream_ended(problem),
        Notice::Views { count } => app.set_views(count),
        Notice::Stopping => {
            app.recorder_gone("it was stopped (from another view, or by SIGTERM)".into())
        }
    }
    false
}

/// The wedge's next event; never, without a wedge.
async fn recv_wedge(events: &mut Option<UnboundedReceiver<ReaderEvent>>) -> Option<ReaderEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// The terminal bell (BEL), after the frame that shows the tap.
fn ring_bell() {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
}
