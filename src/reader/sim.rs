//! The simulated reader: plays a TOML scenario of timed taps, for the demo
//! and for tests. See `assets/demo/scenario.toml` for the format.

use super::{EventSender, ReaderEvent, now};
use crate::domain::CardUid;
use crate::toml_file::{self, TomlFileError};
use serde::Deserialize;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default, rename = "tap")]
    pub taps: Vec<ScenarioTap>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTap {
    /// Milliseconds from the start of the scenario.
    pub at_ms: u64,
    /// Card UID in hex, any common spelling.
    pub uid: String,
    #[serde(default = "default_reader")]
    pub reader: String,
    /// How long the card stays on the reader.
    #[serde(default = "default_hold_ms")]
    pub hold_ms: u64,
}

fn default_reader() -> String {
    "Simulated reader".to_string()
}

fn default_hold_ms() -> u64 {
    300
}

/// A scenario with every UID checked, ready to play.
#[derive(Debug, Clone)]
pub struct Script {
    steps: Vec<(ScenarioTap, CardUid)>,
}

impl Script {
    pub fn parse(path: &Path, text: &str) -> Result<Self, TomlFileError> {
        let scenario: Scenario = toml_file::parse(path, text)?;
        let mut steps = Vec::with_capacity(scenario.taps.len());
        for (index, tap) in scenario.taps.into_iter().enumerate() {
            let uid = CardUid::parse(&tap.uid).map_err(|e| {
                toml_file::invalid_value(
                    path,
                    text,
                    &format!("tap[{}].uid", index + 1),
                    e.to_string(),
                )
            })?;
            steps.push((tap, uid));
        }
        steps.sort_by_key(|(tap, _)| tap.at_ms);
        Ok(Self { steps })
    }

    pub fn load(path: &Path) -> Result<Self, TomlFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TomlFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Plays the script on a new thread. The sender is dropped at the end,
    /// which tells the receiver the scenario is over.
    pub fn spawn(self, events: EventSender) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("reader-sim".into())
            .spawn(move || self.play(&events))
    }

    fn play(&self, events: &EventSender) {
        let mut readers: Vec<&str> = self.steps.iter().map(|(t, _)| t.reader.as_str()).collect();
        readers.sort_unstable();
        readers.dedup();
        for reader in readers {
            let added = ReaderEvent::ReaderAdded {
                reader: reader.to_string(),
            };
            if events.send(added).is_err() {
                return;
            }
        }
        let start = Instant::now();
        for (tap, uid) in &self.steps {
            sleep_until(start + Duration::from_millis(tap.at_ms));
            let card = ReaderEvent::Card {
                reader: tap.reader.clone(),
                uid: uid.clone(),
                at: now(),
            };
            if events.send(card).is_err() {
                return; // the receiver is gone: taproll is shutting down
            }
            std::thread::sleep(Duration::from_millis(tap.hold_ms));
            let removed = ReaderEvent::CardRemoved {
                reader: tap.reader.clone(),
            };
            if events.send(removed).is_err() {
                return;
            }
        }
    }
}

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_scenario_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/scenario.toml");
        let script = Script::load(&path).unwrap();
        assert!(script.steps.len() >= 20, "{}", script.steps.len());
    }

    #[test]
    fn a_bad_uid_names_the_tap_and_line() {
        let text = "[[tap]]\nat_ms = 1\nuid = \"04A1\"\n\n[[tap]]\nat_ms = 2\nuid = \"zz\"\n";
        let error = Script::parse(Path::new("s.toml"), text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "s.toml, line 7, key `tap[2].uid`: the card UID has `z`, which is not a hex digit"
        );
        // An inline array of tables: the same line and key.
        let text = "tap = [\n  { at_ms = 1, uid = \"04A1\" },\n  { at_ms = 2, uid = \"zz\" },\n]\n";
        let error = Script::parse(Path::new("s.toml"), text).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("s.toml, line 3, key `tap[2].uid`"),
            "{error}"
        );
    }

    #[test]
    fn play_sends_reader_card_and_removal_events_then_ends() {
        let text = "[[tap]]\nat_ms = 20\nuid = \"0a0b0c0d\"\nreader = \"Door\"\nhold_ms = 0\n\
                    [[tap]]\nat_ms = 0\nuid = \"01020304\"\nreader = \"Door\"\nhold_ms = 0\n";
        let script = Script::parse(Path::new("s.toml"), text).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        script.spawn(tx).unwrap().join().unwrap();
        let mut kinds = Vec::new();
        while let Ok(event) = rx.try_recv() {
            kinds.push(match event {
                ReaderEvent::ReaderAdded { reader } => format!("added {reader}"),
                ReaderEvent::Card { uid, .. } => format!("card {uid}"),
                ReaderEvent::CardRemoved { .. } => "removed".to_string(),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(
            kinds,
            [
                "added Door",
                "card 01:02:03:04",
                "removed",
                "card 0A:0B:0C:0D",
                "removed"
            ]
        );
        // The thread is done and dropped its sender: the stream has ended.
        assert_eq!(
            rx.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        );
    }
}
