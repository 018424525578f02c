//! USB card readers through the PC/SC service (pcscd), on a dedicated thread:
//! PC/SC calls block, so they never run on the async runtime.
//!
//! Loop: wait in `SCardGetStatusChange` on every reader plus the PnP
//! pseudo-reader; when a card appears, connect (shared), send GET DATA for the
//! UID, disconnect leaving the card. A card left on the reader stays one event
//! because only the empty -> present change is acted on. When pcscd goes away
//! the context is re-established every 2 s.

use super::{EventSender, ReaderEvent, now};
use crate::domain::CardUid;
use pcsc::{
    Context, Disposition, Error, PNP_NOTIFICATION, Protocols, ReaderState, Scope, ShareMode, State,
};
use std::ffi::{CStr, CString};
use std::time::Duration;

/// GET DATA (UID), the PC/SC part 3 pseudo-APDU most contactless readers answer.
const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Starts the backend thread; it runs until the receiver is dropped.
pub fn spawn(events: EventSender) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("reader-pcsc".into())
        .spawn(move || run(&events))
}

fn run(events: &EventSender) {
    let mut last_error = String::new();
    while !events.is_closed() {
        match Context::establish(Scope::User) {
            Ok(context) => {
                last_error.clear();
                if let Err(e) = watch(&context, events) {
                    tracing::warn!(error = %e, "PC/SC watch ended");
                    report(events, &mut last_error, describe(e));
                }
            }
            Err(e) => report(events, &mut last_error, describe(e)),
        }
        std::thread::sleep(RETRY_EVERY);
    }
}

/// Sends an error once, not every retry.
fn report(events: &EventSender, last: &mut String, message: String) {
    if *last != message {
        let _ = events.send(ReaderEvent::Error {
            reader: None,
            message: message.clone(),
        });
        *last = message;
    }
}

fn describe(error: Error) -> String {
    match error {
        Error::NoService | Error::ServiceStopped => {
            "PC/SC service not running — start pcscd".to_string()
        }
        other => format!("PC/SC error: {other}"),
    }
}

/// Watches readers until the context fails. Returns the failure.
fn watch(context: &Context, events: &EventSender) -> Result<(), Error> {
    let mut states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
    let mut announced_none = false;
    loop {
        if events.is_closed() {
            return Ok(());
        }
        // Drop readers that went away.
        states.retain(|state| {
            let gone = is_reader(state)
                && state
                    .event_state()
                    .intersects(State::UNKNOWN | State::IGNORE);
            if gone {
                let _ = events.send(ReaderEvent::ReaderRemoved {
                    reader: name_of(state.name()),
                });
            }
            !gone
        });
        let names = match context.list_readers_owned() {
            Ok(names) => names,
            Err(Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(e),
        };
        for name in names {
            if !states.iter().any(|s| s.name() == name.as_c_str()) {
                let _ = events.send(ReaderEvent::ReaderAdded {
                    reader: name_of(&name),
                });
                states.push(ReaderState::new(name, State::UNAWARE));
            }
        }
        if states.len() == 1 && !announced_none {
            let _ = events.send(ReaderEvent::Error {
                reader: None,
                message: "no card reader connected — plug one in".to_string(),
            });
        }
        announced_none = states.len() == 1;
        for state in &mut states {
            state.sync_current_state();
        }
        // A timeout lets the loop notice a closed channel at shutdown.
        match context.get_status_change(Duration::from_secs(1), &mut states) {
            Ok(()) => {}
            Err(Error::Timeout) => continue,
            Err(e) => return Err(e),
        }
        for state in &states {
            if !is_reader(state) {
                continue;
            }
            let was = state.current_state();
            let is = state.event_state();
            let reader = name_of(state.name());
            if is.contains(State::PRESENT) && !was.contains(State::PRESENT) {
                let event = match read_uid(context, state.name()) {
                    Ok(uid) => ReaderEvent::Card {
                        reader,
                        uid,
                        at: now(),
                    },
                    Err(message) => ReaderEvent::Error {
                        reader: Some(reader),
                        message,
                    },
                };
                let _ = events.send(event);
            } else if was.contains(State::PRESENT) && is.contains(State::EMPTY) {
                let _ = events.send(ReaderEvent::CardRemoved { reader });
            }
        }
    }
}

fn is_reader(state: &ReaderState) -> bool {
    state.name() != PNP_NOTIFICATION()
}

fn name_of(name: &CStr) -> String {
    name.to_string_lossy().into_owned()
}

fn read_uid(context: &Context, reader: &CStr) -> Result<CardUid, String> {
    let reader_owned: CString = reader.to_owned();
    let card = context
        .connect(&reader_owned, ShareMode::Shared, Protocols::ANY)
        .map_err(|e| format!("could not talk to the card ({e}) — tap again"))?;
    let mut buffer = [0u8; 64];
    let answer = card
        .transmit(&GET_UID, &mut buffer)
        .map_err(|e| format!("could not read the card ({e}) — tap again"))
        .and_then(uid_from_answer);
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
}
