//! The terminal a view draws on: entered and always restored (quit, error,
//! panic, SIGTERM, SIGHUP), its keys read on a thread of their own, and the
//! once-a-second clock. Shared by the roster and the door display.

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Restores the terminal when dropped, whatever the way out.
pub struct TerminalGuard {
    /// Always `Some` until dropped.
    terminal: Option<DefaultTerminal>,
}

impl TerminalGuard {
    pub fn enter() -> std::io::Result<Self> {
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

    pub fn terminal(&mut self) -> &mut DefaultTerminal {
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
/// the view ends, the recorder goes on recording.
pub fn terminal_lost(error: &std::io::Error) {
    tracing::warn!(
        error = %error,
        "the terminal is gone (a dropped connection?); the view ends, the recorder goes on recording"
    );
}

/// Ticks on each whole second, so the clock changes when the second does.
pub fn clock_tick() -> tokio::time::Interval {
    let into_second = chrono::Local::now().timestamp_subsec_millis().min(999);
    let first = tokio::time::Instant::now() + Duration::from_millis(u64::from(1000 - into_second));
    let mut interval = tokio::time::interval_at(first, Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    interval
}

/// Crossterm's `read` blocks, so it gets a thread of its own that forwards
/// terminal events; idle, it sleeps in the kernel and costs nothing.
pub fn spawn_input_thread() -> std::io::Result<UnboundedReceiver<std::io::Result<Event>>> {
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
