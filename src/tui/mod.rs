//! The terminal front end: sets up the terminal, runs the event loop, and
//! always restores the terminal on the way out (quit, error, panic, SIGTERM,
//! SIGHUP).
//!
//! The loop waits on three things: the reader channel (every tap, a
//! keyboard-wedge reader's included, reaches the engine there), the keys
//! (`App::on_key` names an `Action`, `actions.rs` carries it out) and the
//! clock. `App` is plain state; `view.rs` draws it.

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
pub mod theme;
pub mod view;

use crate::config::Cue;
use crate::engine::Engine;
use crate::reader::wedge::KeyboardWedge;
use crate::reader::{ReaderEvent, now};
use crate::report::export::ExportSettings;
use crate::sync::SyncStatus;
use action::Action;
use actions::{Flow, reload_roster};
use app::App;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event};
use std::time::Duration;
use theme::Theme;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Restores the terminal when dropped, whatever the way out.
struct TerminalGuard {
    /// Always `Some` until dropped.
    terminal: Option<DefaultTerminal>,
}

impl TerminalGuard {
    fn enter() -> std::io::Result<Self> {
        use ratatui::crossterm::{execute, terminal};
        install_restoring_panic_hook();
        let entered = terminal::enable_raw_mode()
            .and_then(|()| execute!(std::io::stdout(), terminal::EnterAlternateScreen))
            .and_then(|()| {
                ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
            });
        match entered {
            Ok(terminal) => Ok(Self {
                terminal: Some(terminal),
            }),
            Err(e) => {
                let _ = ratatui::try_restore();
                Err(e)
            }
        }
    }

    fn terminal(&mut self) -> &mut DefaultTerminal {
        // Invariant: set in `enter`, taken only in `drop`.
        #[allow(clippy::expect_used)]
        self.terminal
            .as_mut()
            .expect("the terminal is there until dropped")
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Errors are ignored on purpose: after SIGHUP there is no terminal left.
        if let Some(mut terminal) = self.terminal.take() {
            let _ = terminal.show_cursor();
            let _ = ratatui::try_restore();
            // ratatui's own Drop reports a cursor it could not show with
            // eprintln!, which panics when the terminal is gone (EIO): a
            // dropped SSH connection would end in a panic and SIGABRT.
            std::mem::forget(terminal);
        }
    }
}

/// Restores the terminal before a panic's message is printed. ratatui's
/// hook (of `ratatui::init`) prints with eprintln!, which panics again when
/// the terminal is gone; this one ignores what it cannot do. A panic in a
/// helper thread (a reader, the push) goes to the log only: the roster goes
/// on, and its screen must not be torn down or written over.
fn install_restoring_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| match std::thread::current().name() {
        Some("main") | None => {
            let _ = ratatui::try_restore();
            previous(info);
        }
        Some(thread) => tracing::error!(thread, "panic: {info}"),
    }));
}

/// The terminal went away under us (a dropped SSH connection): writes and
/// reads fail with EIO, or the input stream ends. Not a failure of taproll:
/// every committed tap is stored and the next run resumes the session.
fn terminal_lost(error: &std::io::Error) {
    tracing::warn!(
        error = %error,
        "the terminal is gone (a dropped connection?); taproll ends, every recorded tap is stored"
    );
}

/// How the TUI is set up, from the config.
pub struct TuiOptions {
    /// The database path as shown in the status line.
    pub db_label: String,
    /// A keyboard-wedge reader, read from the keyboard: it sends its taps
    /// into the reader channel that `run` receives.
    pub wedge: Option<KeyboardWedge>,
    pub bell: Vec<Cue>,
    /// Shown as a problem when the reader stream ends; `None` when the end is
    /// expected (a finished scenario).
    pub reader_end: Option<String>,
    /// The session was found open: ask whether to continue it, for this
    /// long before going on with it by itself.
    pub resume_question: Option<chrono::Duration>,
    pub keys: crate::keymap::Keymap,
    /// The end-of-session report: where and in which formats it is saved.
    pub export: ExportSettings,
    /// The push's status, as its sender publishes it.
    pub sync: watch::Receiver<SyncStatus>,
}

/// Runs the live roster until the user quits or a signal arrives.
pub async fn run(
    mut engine: Engine,
    mut events: UnboundedReceiver<ReaderEvent>,
    options: TuiOptions,
) -> Result<(), TuiError> {
    let theme = Theme::from_env();
    let setup = app::Setup {
        db_label: options.db_label,
        keys: options.keys,
        bell: options.bell,
        export_to: Some(options.export.describe()),
        wedge: options.wedge,
        resume_question: options.resume_question,
    };
    let mut app = App::new(engine.session().clone(), now(), setup);
    let mut sync = options.sync.clone();
    app.set_sync(sync.borrow_and_update().clone());
    reload_roster(&mut app, &engine);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut guard = TerminalGuard::enter()?;
    let mut input = spawn_input_thread()?;
    let mut clock = clock_tick();
    let mut reader_open = true;
    let mut dirty = true;
    loop {
        // What a tap asked for (a dialog, a card to bind). Taps go on being
        // recorded while a dialog is open.
        if let Some(action) = app.take_pending() {
            actions::perform(action, &mut app, &mut engine, &options.export);
            dirty = true;
        }
        if dirty {
            let drawn = guard.terminal().size().and_then(|size| {
                app.set_page_rows(view::page_rows(size.into()));
                guard
                    .terminal()
                    .draw(|frame| view::render(&app, theme, frame))
                    .map(|_| ())
            });
            if let Err(e) = drawn {
                terminal_lost(&e);
                break;
            }
            dirty = false;
            if app.take_bell() {
                ring_bell();
            }
        }
        tokio::select! {
            // Taps are recorded whatever is on screen, the resume question
            // included (its answer may move them to a new session). Every
            // tap comes this way, a keyboard-wedge reader's too.
            event = events.recv(), if reader_open => match event {
                Some(event) => {
                    if app.apply(engine.handle(event)) {
                        reload_roster(&mut app, &engine);
                    }
                    dirty = true;
                }
                None => {
                    reader_open = false;
                    app.reader_stream_ended(options.reader_end.clone());
                    dirty = true;
                }
            },
            input = input.recv() => match input {
                Some(Ok(Event::Key(key))) => {
                    let action = app.on_key(key);
                    if action != Action::None {
                        dirty = true;
                    }
                    if actions::perform(action, &mut app, &mut engine, &options.export) == Flow::Quit {
                        break;
                    }
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    terminal_lost(&e);
                    break;
                }
                None => break,
            },
            Ok(()) = sync.changed() => {
                app.set_sync(sync.borrow_and_update().clone());
                dirty = true;
            }
            _ = clock.tick() => {
                let action = app.tick(now());
                actions::perform(action, &mut app, &mut engine, &options.export);
                dirty = true;
            }
            _ = sigterm.recv() => break,
            _ = sighup.recv() => {
                tracing::warn!("SIGHUP: the terminal is gone (a dropped connection?); taproll ends, every recorded tap is stored");
                break;
            }
            _ = sigint.recv() => break,
        }
    }
    tracing::info!("TUI closed");
    Ok(())
}

/// The terminal bell (BEL), after the frame that shows the tap.
fn ring_bell() {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
}

/// Ticks on each whole second, so the clock changes when the second does.
fn clock_tick() -> tokio::time::Interval {
    let into_second = chrono::Local::now().timestamp_subsec_millis().min(999);
    let first = tokio::time::Instant::now() + Duration::from_millis(u64::from(1000 - into_second));
    let mut interval = tokio::time::interval_at(first, Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    interval
}

/// Crossterm's `read` blocks, so it gets a thread of its own that forwards
/// terminal events; idle, it sleeps in the kernel and costs nothing.
fn spawn_input_thread() -> std::io::Result<UnboundedReceiver<std::io::Result<Event>>> {
    let (tx, rx): (UnboundedSender<_>, _) = unbounded_channel();
    std::thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || {
            loop {
                let event = event::read();
                let failed = event.is_err();
                if tx.send(event).is_err() || failed {
                    break;
                }
            }
        })?;
    Ok(rx)
}
