//! USB card readers through the PC/SC service (pcscd), on a dedicated thread:
//! PC/SC calls block, so they never run on the async runtime.
//!
//! Loop: wait in `SCardGetStatusChange` on every reader plus the PnP
//! pseudo-reader (which wakes us when a reader is plugged in or out). When a
//! card appears, connect (shared), send GET DATA for the UID, disconnect
//! leaving the card. Only the empty -> present change (or a new card event
//! count) is acted on, so a card left on the reader is one event. When pcscd goes away (restart, update)
//! the context is re-established every 2 s. `PcscReader::stop` cancels the
//! blocking wait.

use super::{EventSender, ReaderEvent, now};
use crate::domain::CardUid;
use pcsc::{
    Context, Disposition, Error, PNP_NOTIFICATION, Protocols, ReaderState, Scope, ShareMode, State,
};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// GET DATA (UID), the PC/SC part 3 pseudo-APDU contactless readers answer.
const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];
/// ACR122U LED and buzzer pseudo-APDUs (FF 00 40 P2 04 T1 T2 reps buzzer):
/// a short green blink with one beep, or red blinks with beeps.
const LED_READ: [u8; 9] = [0xFF, 0x00, 0x40, 0xA0, 0x04, 0x01, 0x01, 0x01, 0x01];
const LED_REFUSED: [u8; 9] = [0xFF, 0x00, 0x40, 0x50, 0x04, 0x02, 0x02, 0x03, 0x03];
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// Longest blocking wait; see `watch`.
const WAIT_AT_MOST: Duration = Duration::from_secs(1);
pub const SERVICE_DOWN: &str = "PC/SC service not running — start pcscd";
pub const NO_READER: &str = "no card reader connected — plug one in";

/// A running PC/SC backend.
pub struct PcscReader {
    stopping: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Context>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Which readers to watch: all, or those whose name contains this text.
#[derive(Clone, Debug, Default)]
pub struct ReaderFilter(pub Option<String>);

impl ReaderFilter {
    fn accepts(&self, name: &str) -> bool {
        match &self.0 {
            Some(part) => name.to_lowercase().contains(&part.to_lowercase()),
            None => true,
        }
    }
}

impl PcscReader {
    /// `led`: flash the LED and sound the buzzer of ACR122U-class readers.
    pub fn spawn(filter: ReaderFilter, led: bool, events: EventSender) -> std::io::Result<Self> {
        let stopping = Arc::new(AtomicBool::new(false));
        let context = Arc::new(Mutex::new(None));
        let watcher = Watcher {
            filter,
            led,
            events,
            stopping: Arc::clone(&stopping),
            context: Arc::clone(&context),
            known: Vec::new(),
            last_problem: String::new(),
        };
        let thread = std::thread::Builder::new()
            .name("reader-pcsc".into())
            .spawn(move || watcher.run())?;
        Ok(Self {
            stopping,
            context,
            thread: Some(thread),
        })
    }

    /// Stops the thread, interrupting a blocking wait, and waits for it.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(slot) = self.context.lock()
            && let Some(context) = slot.as_ref()
        {
            let _ = context.cancel();
        }
        // Bounded: the thread checks `stopping` at least every WAIT_AT_MOST
        // (or RETRY_EVERY while pcscd is down).
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Watcher {
    filter: ReaderFilter,
    led: bool,
    events: EventSender,
    stopping: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Context>>>,
    /// Readers announced to the front end, to take back when pcscd goes.
    known: Vec<String>,
    /// The last problem reported, so a retry loop reports it once.
    last_problem: String,
}

impl Watcher {
    fn running(&self) -> bool {
        !self.stopping.load(Ordering::SeqCst) && !self.events.is_closed()
    }

    fn run(mut self) {
        while self.running() {
            match Context::establish(Scope::User) {
                Ok(context) => {
                    self.set_context(Some(context.clone()));
                    tracing::info!("PC/SC context established");
                    let result = self.watch(&context);
                    self.set_context(None);
                    self.forget_readers();
                    match result {
                        Ok(()) => return,
                        Err(Error::Cancelled) if !self.running() => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "PC/SC wait failed; reconnecting");
                            self.problem(describe(e));
                        }
                    }
                }
                Err(e) => self.problem(describe(e)),
            }
            std::thread::sleep(RETRY_EVERY);
        }
    }

    fn set_context(&self, context: Option<Context>) {
        if let Ok(mut slot) = self.context.lock() {
            *slot = context;
        }
    }

    fn send(&self, event: ReaderEvent) {
        let _ = self.events.send(event);
    }

    /// Reports a problem once, not at every retry.
    fn problem(&mut self, message: String) {
        if self.last_problem != message {
            tracing::warn!(%message, "reader problem");
            self.send(ReaderEvent::Error {
                reader: None,
                message: message.clone(),
            });
            self.last_problem = message;
        }
    }

    fn forget_readers(&mut self) {
        for reader in std::mem::take(&mut self.known) {
            self.send(ReaderEvent::ReaderRemoved { reader });
        }
    }

    /// Watches readers until stopped (`Ok`) or the context fails.
    fn watch(&mut self, context: &Context) -> Result<(), Error> {
        let mut states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
        // pcscd's card event counter per reader: a card swapped between two
        // polls shows as present -> present with a new count.
        let mut counts: HashMap<String, u32> = HashMap::new();
        loop {
            if !self.running() {
                return Ok(());
            }
            self.sync_readers(context, &mut states)?;
            for state in &mut states {
                state.sync_current_state();
            }
            // Blocks until a card or reader changes, or stop() cancels it. The
            // timeout bounds a stop() that lands just before the call, when
            // SCardCancel has nothing to cancel yet.
            match context.get_status_change(WAIT_AT_MOST, &mut states) {
                Ok(()) => {}
                Err(Error::Timeout) => continue,
                Err(e) => return Err(e),
            }
            for state in states.iter().filter(|s| is_reader(s)) {
                let (was, is) = (state.current_state(), state.event_state());
                let count = state.event_count();
                let swapped = counts
                    .insert(name_of(state.name()), count)
                    .is_some_and(|previous| previous != count);
                // First sight of a reader (at start, after a pcscd restart, or
                // when plugged in): a card already lying on it was counted
                // before or was forgotten there; it is not a new tap. Only
                // now is the reader watched, so only now is it announced: a
                // card put on it before would never become a tap, and the
                // screen must not say "Ready" for it.
                if was == State::UNAWARE {
                    self.send(ReaderEvent::ReaderAdded {
                        reader: name_of(state.name()),
                    });
                    continue;
                }
                let arrived = !was.contains(State::PRESENT) || swapped;
                if is.contains(State::PRESENT) && arrived {
                    let at = now();
                    let reader = name_of(state.name());
                    let event = match read_uid(context, state.name(), self.led) {
                        Ok(uid) => ReaderEvent::Card { reader, uid, at },
                        Err(message) => ReaderEvent::CardError {
                            reader,
                            message,
                            at,
                        },
                    };
                    self.send(event);
                } else if was.contains(State::PRESENT) && !is.contains(State::PRESENT) {
                    self.send(ReaderEvent::CardRemoved {
                        reader: name_of(state.name()),
                    });
                }
            }
        }
    }

    /// Drops readers that went away and adds new ones, telling the front end.
    fn sync_readers(
        &mut self,
        context: &Context,
        states: &mut Vec<ReaderState>,
    ) -> Result<(), Error> {
        let mut removed = Vec::new();
        states.retain(|state| {
            let gone = is_reader(state)
                && state
                    .event_state()
                    .intersects(State::UNKNOWN | State::IGNORE);
            if gone {
                removed.push(name_of(state.name()));
            }
            !gone
        });
        for reader in removed {
            self.known.retain(|k| *k != reader);
            self.send(ReaderEvent::ReaderRemoved { reader });
        }
        let names = match context.list_readers_owned() {
            Ok(names) => names,
            Err(Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(e),
        };
        for name in names {
            let text = name_of(&name);
            if self.filter.accepts(&text) && !states.iter().any(|s| s.name() == name.as_c_str()) {
                // Announced after its first snapshot, in `watch`.
                self.known.push(text);
                states.push(ReaderState::new(name, State::UNAWARE));
            }
        }
        if states.len() == 1 {
            let message = match &self.filter.0 {
                Some(part) => format!("no card reader matches reader.name \"{part}\""),
                None => NO_READER.to_string(),
            };
            self.problem(message);
        } else {
            self.last_problem.clear();
        }
        Ok(())
    }
}

/// The errors that mean pcscd is not there (not started, stopped, restarting).
pub fn is_service_down(error: Error) -> bool {
    matches!(
        error,
        Error::NoService | Error::ServiceStopped | Error::CommError
    )
}

fn describe(error: Error) -> String {
    if is_service_down(error) {
        SERVICE_DOWN.to_string()
    } else {
        format!("PC/SC error: {error}")
    }
}

fn is_reader(state: &ReaderState) -> bool {
    state.name() != PNP_NOTIFICATION()
}

fn name_of(name: &CStr) -> String {
    name.to_string_lossy().into_owned()
}

fn read_uid(context: &Context, reader: &CStr, led: bool) -> Result<CardUid, String> {
    let reader: CString = reader.to_owned();
    let card = context
        .connect(&reader, ShareMode::Shared, Protocols::ANY)
        .map_err(|e| format!("could not talk to the card ({e}) — tap again"))?;
    let mut buffer = [0u8; 64];
    let answer = card
        .transmit(&GET_UID, &mut buffer)
        .map_err(|e| format!("could not read the card ({e}) — tap again"))
        .and_then(uid_from_answer);
    if led {
        let signal = if answer.is_ok() {
            &LED_READ
        } else {
            &LED_REFUSED
        };
        // Readers without LED control answer with an error status: ignored.
        let _ = card.transmit(signal, &mut buffer);
    }
    let _ = card.disconnect(Disposition::LeaveCard);
    answer
}

/// The UID from a GET DATA answer: data then status `90 00`.
pub fn uid_from_answer(answer: &[u8]) -> Result<CardUid, String> {
    match answer {
        [data @ .., 0x90, 0x00] => CardUid::from_bytes(data)
            .map_err(|e| format!("the card answered with no usable UID ({e})")),
        [.., sw1, sw2] => Err(format!(
            "the card refused to give its UID (status {sw1:02X} {sw2:02X}) — is it a student card?"
        )),
        _ => Err("the card gave a truncated answer — tap again".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_taken_only_from_a_9000_answer() {
        let uid = uid_from_answer(&[0x04, 0xA1, 0xB2, 0xC3, 0x90, 0x00]).unwrap();
        assert_eq!(uid.as_hex(), "04A1B2C3");
        let refused = uid_from_answer(&[0x6A, 0x81]).unwrap_err();
        assert!(refused.contains("6A 81"), "{refused}");
        assert!(uid_from_answer(&[0x90, 0x00]).is_err());
        assert!(uid_from_answer(&[0x90]).is_err());
    }

    #[test]
    fn the_filter_matches_part_of_a_name_ignoring_case() {
        let filter = ReaderFilter(Some("acr122".into()));
        assert!(filter.accepts("ACS ACR122U PICC Interface 00 00"));
        assert!(!filter.accepts("Virtual PCD 00 00"));
        assert!(ReaderFilter(None).accepts("anything"));
    }
}
