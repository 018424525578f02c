//! `taproll readers`: the PC/SC readers pcscd knows and their card state,
//! like `pcsc_scan -r`, with hints for the usual set-up problems.

use pcsc::{Context, Error, ReaderState, Scope, State};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(
        "PC/SC service not reachable — is pcscd running? Start it with: sudo systemctl start pcscd"
    )]
    NoService,
    #[error("no card reader found.{}", pn533_hint())]
    NoReaders,
    #[error("PC/SC error: {0}")]
    Pcsc(Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    pub name: String,
    /// "empty", "card present", "card in use", "unavailable", ...
    pub state: String,
}

pub fn list() -> Result<Vec<ReaderInfo>, ListError> {
    let context = Context::establish(Scope::User).map_err(|e| {
        if super::pcsc::is_service_down(e) {
            ListError::NoService
        } else {
            ListError::Pcsc(e)
        }
    })?;
    let names = match context.list_readers_owned() {
        Ok(names) if !names.is_empty() => names,
        Ok(_) | Err(Error::NoReadersAvailable) => return Err(ListError::NoReaders),
        Err(e) => return Err(ListError::Pcsc(e)),
    };
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    match context.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(Error::Timeout) => {}
        Err(e) => return Err(ListError::Pcsc(e)),
    }
    Ok(states
        .iter()
        .map(|state| ReaderInfo {
            name: state.name().to_string_lossy().into_owned(),
            state: describe(state.event_state()),
        })
        .collect())
}

fn describe(state: State) -> String {
    let text = if state.contains(State::UNAVAILABLE) {
        "unavailable"
    } else if state.contains(State::MUTE) {
        "card present, unresponsive"
    } else if state.contains(State::INUSE) {
        "card present, in use"
    } else if state.contains(State::PRESENT) {
        "card present"
    } else if state.contains(State::EMPTY) {
        "empty"
    } else {
        "unknown"
    };
    text.to_string()
}

/// On Linux the kernel's NFC driver can take an ACR122U before pcscd does.
fn pn533_hint() -> &'static str {
    let modules = std::fs::read_to_string("/proc/modules").unwrap_or_default();
    if modules.lines().any(|l| l.starts_with("pn533")) {
        " The kernel module pn533 is loaded and may hold an ACR122U: see \
         Troubleshooting in the README (blacklist pn533_usb, pn533 and nfc)."
    } else {
        " Plug a reader in; if it is an ACR122U, see Troubleshooting in the README."
    }
}
