//! The session engine: reader events in, committed taps out. Both front ends
//! (TUI and headless) drive this one type, so they record taps the same way.

use crate::domain::{CardUid, RosterRow, Session, TapRecord, Timestamp};
use crate::reader::ReaderEvent;
use crate::rules::Policy;
use crate::store::{self, Store};

pub struct Engine {
    store: Store,
    session: Session,
    policy: Policy,
}

/// What a front end should show after one reader event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The tap is committed.
    Tap(TapRecord),
    /// The tap could not be stored: show it loudly, the student must tap again.
    NotRecorded {
        reader: String,
        uid: CardUid,
        at: Timestamp,
        error: String,
    },
    /// A reader came, went, or reported a problem; nothing was stored.
    Reader(ReaderEvent),
}

impl Engine {
    pub fn new(store: Store, session: Session, policy: Policy) -> Self {
        Self {
            store,
            session,
            policy,
        }
    }

    pub fn handle(&mut self, event: ReaderEvent) -> Update {
        let ReaderEvent::Card { reader, uid, at } = event else {
            return Update::Reader(event);
        };
        match self
            .store
            .record_tap(&self.session, &self.policy, &reader, &uid, &at)
        {
            Ok(record) => {
                tracing::info!(
                    tap = record.tap_id,
                    reader = %record.reader,
                    uid = %record.uid,
                    outcome = record.outcome.as_str(),
                    "tap recorded"
                );
                Update::Tap(record)
            }
            Err(e) => {
                tracing::error!(reader = %reader, uid = %uid, error = %e, "tap NOT recorded");
                Update::NotRecorded {
                    reader,
                    uid,
                    at,
                    error: e.to_string(),
                }
            }
        }
    }

    pub fn roster(&self) -> store::Result<Vec<RosterRow>> {
        self.store.roster(&self.session)
    }

    pub fn session(&self) -> &Session {
        &self.session
    }
}
