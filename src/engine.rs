//! The session engine: reader events in, committed taps out. Both front ends
//! (TUI and headless) drive this one type, so they record taps the same way.

use crate::clock;
use crate::command::{Command, Reply};
use crate::domain::{CardUid, Mark, RosterRow, Session, Student, TapRecord, Timestamp};
use crate::reader::{ReaderEvent, now};
use crate::rules::Policy;
use crate::store::{self, Claim, Store, UnclaimedTap, Undone};

pub struct Engine {
    store: Store,
    session: Session,
    policy: Policy,
    /// Cards that open the end-of-class menu instead of counting.
    admin_cards: Vec<CardUid>,
    /// For a session started from the resume question: the planned start
    /// (`--starts-at`; else now) and label.
    new_start: Option<Timestamp>,
    new_label: Option<String>,
    /// The session was found open and the instructor is asked whether to go
    /// on with it: the newest tap before the question, and when it was
    /// asked. Taps after it go to a new session if that is the answer, and
    /// the new session starts when the question was asked (its taps came
    /// after that).
    resume_since: Option<(i64, Timestamp)>,
    /// A new session needs a clock the system says is synchronised.
    require_synced_clock: bool,
}

/// What a front end should show after one reader event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// An admin card: open the end-of-class menu. Not attendance, not stored.
    AdminCard { reader: String, at: Timestamp },
}

impl Engine {
    pub fn new(store: Store, session: Session, policy: Policy) -> Self {
        Self {
            store,
            session,
            policy,
            admin_cards: Vec::new(),
            new_start: None,
            new_label: None,
            resume_since: None,
            require_synced_clock: false,
        }
    }

    /// Checks the clock before a new session starts (`crate::clock`).
    pub fn with_clock_check(mut self, require_synced_clock: bool) -> Self {
        self.require_synced_clock = require_synced_clock;
        self
    }

    /// Whether the clock may start a session now; the reason, if not.
    fn check_clock(&self, at: Timestamp) -> Result<(), String> {
        let newest = self.store.newest_event_time().map_err(|e| e.to_string())?;
        // timedatectl may take its time: asked only when its answer counts.
        let sync = if self.require_synced_clock {
            clock::system_sync()
        } else {
            clock::Sync::Unknown
        };
        let verdict = clock::judge(at, newest, sync, self.require_synced_clock);
        verdict.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "no new session: the clock is not plausible");
            e.to_string()
        })
    }

    /// The session was found open: the taps from now on may still move to
    /// a new session (`start_new_session`).
    pub fn asking_to_resume(mut self) -> store::Result<Self> {
        self.resume_since = Some((self.store.last_tap_id()?, now()));
        Ok(self)
    }

    /// The instructor went on with the session found open (or let the
    /// question time out): its taps stay where they are.
    pub fn resumed(&mut self) {
        self.resume_since = None;
    }

    pub fn with_new_session_plan(
        mut self,
        start: Option<Timestamp>,
        label: Option<String>,
    ) -> Self {
        self.new_start = start;
        self.new_label = label;
        self
    }

    pub fn with_admin_cards(mut self, cards: Vec<CardUid>) -> Self {
        self.admin_cards = cards;
        self
    }

    pub fn handle(&mut self, event: ReaderEvent) -> Update {
        let ReaderEvent::Card { reader, uid, at } = event else {
            return Update::Reader(event);
        };
        if self.admin_cards.contains(&uid) {
            tracing::info!(reader = %reader, "admin card");
            return Update::AdminCard { reader, at };
        }
        match self
            .store
            .record_tap(&self.session, &self.policy, &reader, &uid, &at)
        {
            Ok(record) => {
                tracing::info!(
                    tap = record.tap_id,
                    reader = %record.reader,
                    uid = %record.uid.masked(),
                    outcome = record.outcome.as_str(),
                    "tap recorded"
                );
                Update::Tap(record)
            }
            Err(e) => {
                tracing::error!(reader = %reader, uid = %uid.masked(), error = %e, "tap NOT recorded");
                Update::NotRecorded {
                    reader,
                    uid,
                    at,
                    error: e.to_string(),
                }
            }
        }
    }

    /// Carries out an instructor's command, from a view in this process or
    /// over the recorder's socket: the one way a class is changed by hand.
    pub fn execute(&mut self, command: Command) -> Reply {
        let result = match command {
            Command::SetMark {
                student_id,
                mark,
                note,
            } => self
                .set_mark(student_id, mark, note.as_deref())
                .map(|()| Reply::Done),
            Command::Undo => self.undo().map(|undone| Reply::Undone { undone }),
            Command::Claim {
                tap_id,
                student_id,
                move_card,
            } => self
                .claim(tap_id, student_id, move_card)
                .map(|claim| Reply::Claimed { claim }),
            Command::EndSession => self.end_session().map(|()| Reply::Session {
                session: self.session.clone(),
                moved: 0,
            }),
            Command::NewSession => {
                if let Err(why) = self.check_clock(now()) {
                    return Reply::Failed { error: why };
                }
                self.start_new_session().map(|moved| Reply::Session {
                    session: self.session.clone(),
                    moved,
                })
            }
            Command::ContinueSession => {
                self.resumed();
                Ok(Reply::Done)
            }
            Command::RemoveCards { student_id } => self
                .remove_cards(student_id)
                .map(|count| Reply::CardsRemoved { count }),
            Command::SaveStudent {
                existing,
                student_no,
                name,
            } => self
                .save_student(existing, &student_no, &name)
                .map(|()| Reply::Done),
            Command::RetryParked => self.retry_parked().map(|count| Reply::Unparked { count }),
        };
        result.unwrap_or_else(Reply::failed)
    }

    /// The session found open is still waiting for the resume question's
    /// answer.
    pub fn asking(&self) -> bool {
        self.resume_since.is_some()
    }

    pub fn roster(&self) -> store::Result<Vec<RosterRow>> {
        self.store.roster(&self.session)
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session's global identity (the one its events carry).
    pub fn session_uuid(&self) -> store::Result<uuid::Uuid> {
        self.store.session_uuid(self.session.id)
    }

    /// The store, for a front end to read from (the end-of-session export
    /// reads the session's report). Read only: every change goes through
    /// the engine's methods, which decide it once and log a failure.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Puts the events the server refused back in the push's queue (the
    /// server was fixed); how many. The commit wakes the sender.
    pub fn retry_parked(&self) -> store::Result<u64> {
        let result = self.store.unpark_all();
        match &result {
            Ok(count) => tracing::info!(count, "sync: parked events put back in the queue"),
            Err(e) => tracing::error!(error = %e, "sync: could not put parked events back"),
        }
        result
    }

    pub fn set_mark(&self, student_id: i64, mark: Mark, note: Option<&str>) -> store::Result<()> {
        let result = self
            .store
            .set_manual_mark(&self.session, student_id, mark, note, &now());
        log_failure("mark by hand", &result);
        result
    }

    pub fn undo(&self) -> store::Result<Option<Undone>> {
        let result = self.store.undo_last_change(&self.session, &now());
        log_failure("undo", &result);
        result
    }

    pub fn unclaimed_taps(&self) -> store::Result<Vec<UnclaimedTap>> {
        self.store.unclaimed_taps(&self.session)
    }

    pub fn students_without_card(&self) -> store::Result<Vec<Student>> {
        self.store.students_without_card(self.session.course.id)
    }

    pub fn claim(&self, tap_id: i64, student_id: i64, move_card: bool) -> store::Result<Claim> {
        let result = self.store.claim_tap(
            &self.session,
            &self.policy,
            tap_id,
            student_id,
            move_card,
            &now(),
        );
        log_failure("claim a tap", &result);
        result
    }

    /// Ends the session. Ended is ended even if the summary cannot be read.
    pub fn end_session(&mut self) -> store::Result<()> {
        let at = now();
        let result = self.store.end_session(&self.session, &at);
        log_failure("end the session", &result);
        if result.is_ok() {
            self.session.ended_at = Some(at);
        }
        result
    }

    /// Ends the current session and starts a new one for the same course;
    /// the taps recorded while the resume question was open come along.
    /// Returns how many taps moved.
    pub fn start_new_session(&mut self) -> store::Result<usize> {
        let at = now();
        let label = self.new_label.clone();
        let result = match self.resume_since.take() {
            Some((since, asked_at)) if self.session.ended_at.is_none() => {
                let start = self.new_start.unwrap_or(asked_at);
                self.store.restart_session(
                    &self.session,
                    &self.policy,
                    since,
                    &start,
                    label.as_deref(),
                    &at,
                )
            }
            _ => {
                let start = self.new_start.unwrap_or(at);
                let ended = match self.session.ended_at {
                    Some(_) => Ok(()),
                    None => self.end_session(),
                };
                ended.and_then(|()| {
                    self.store
                        .start_or_resume_labelled(
                            &self.session.course,
                            &start,
                            &at,
                            label.as_deref(),
                        )
                        .map(|session| (session, 0))
                })
            }
        };
        log_failure("start a new session", &result);
        let (session, moved) = result?;
        self.session = session;
        Ok(moved)
    }

    pub fn remove_cards(&self, student_id: i64) -> store::Result<usize> {
        let result = self.store.remove_cards(student_id, &now());
        log_failure("remove cards", &result);
        result
    }

    pub fn save_student(
        &self,
        existing: Option<i64>,
        student_no: &str,
        name: &str,
    ) -> store::Result<()> {
        let result =
            self.store
                .save_student(self.session.course.id, existing, student_no, name, &now());
        log_failure("save a student", &result);
        result
    }
}

fn log_failure<T>(what: &str, result: &store::Result<T>) {
    if let Err(e) = result {
        tracing::error!(error = %e.for_log(), "could not {what}");
    }
}
