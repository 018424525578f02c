//! Carrying out what a key asked for: changes go to the recorder as
//! commands (`crate::command`), reads come from the database, and the App
//! is updated from the result. Every failure is shown in the banner.

use super::action::Action;
use super::app::App;
use super::banner::Banner;
use super::term_grid::TermGrid;
use crate::command::{Command, Reply};
use crate::recorder::Attached;
use crate::report::export::{ExportSettings, Exported, export_session};
use crate::report::{Content, Selection, Zone};
use crate::store::{Claim, Store, UnclaimedTap};
use crate::text::sanitize_for_terminal as clean;

/// What a view works with: the recorder it is attached to, for every
/// change, and the database, read directly (it is the truth).
pub struct Class {
    pub link: Attached,
    pub store: Store,
}

/// Whether the TUI goes on after an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The recorder was asked to stop, and has.
    Stopped,
    /// The view goes; the recorder keeps recording.
    Left,
}

impl Class {
    /// Sends a command; a refusal or a lost recorder is the error to show.
    async fn ask(&mut self, command: Command) -> Result<Reply, String> {
        match self.link.command(command).await {
            Ok(Reply::Failed { error }) => Err(error),
            Ok(reply) => Ok(reply),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `export`: where the end-of-session report goes (saving it is the front
/// end's business; the recorder only records).
pub async fn perform(
    action: Action,
    app: &mut App,
    class: &mut Class,
    export: &ExportSettings,
) -> Flow {
    match action {
        Action::None | Action::Redraw => {}
        // The usual way out: a recorder started for this roster stops with
        // it; a service goes on, for the door and the next class.
        Action::Quit if app.recorder().service => return Flow::Left,
        Action::Quit | Action::StopRecording => return stop(app, class).await,
        Action::Leave => return Flow::Left,
        Action::SetMark {
            student_id,
            mark,
            note,
        } => {
            let command = Command::SetMark {
                student_id,
                mark,
                note: note.clone(),
            };
            match class.ask(command).await {
                Ok(_) => {
                    let name = student_name(app, student_id);
                    let note = note
                        .map(|n| format!(" · note: {}", clean(&n)))
                        .unwrap_or_default();
                    info(
                        app,
                        format!("{name} — {} (by hand)", mark.as_str().to_uppercase()),
                        format!("{} undoes it{note}", app.keys().undo),
                    );
                    reload_roster(app, &class.store);
                }
                Err(e) => failed(app, "the mark was NOT saved", &e),
            }
        }
        Action::RetryParked => match class.ask(Command::RetryParked).await {
            Ok(Reply::Unparked { count: 0 }) => info(app, "No parked events".into(), String::new()),
            Ok(Reply::Unparked { count }) => info(
                app,
                format!("{count} parked event(s) back in the queue"),
                "the push sends them now".into(),
            ),
            Ok(other) => unexpected(app, &other),
            Err(e) => failed(app, "the parked events were NOT put back", &e),
        },
        Action::Undo => match class.ask(Command::Undo).await {
            Ok(Reply::Undone {
                undone: Some(undone),
            }) => {
                let back = undone.restored.map_or("no mark", |m| m.as_str());
                info(
                    app,
                    format!("Undone: {} is back to {back}", clean(&undone.student.name)),
                    String::new(),
                );
                reload_roster(app, &class.store);
            }
            Ok(Reply::Undone { undone: None }) => {
                info(app, "Nothing to undo in this session".into(), String::new())
            }
            Ok(other) => unexpected(app, &other),
            Err(e) => failed(app, "undo FAILED", &e),
        },
        Action::OpenUnclaimed => match class.store.unclaimed_taps(app.session()) {
            Ok(taps) if taps.is_empty() => {
                info(
                    app,
                    "No unclaimed taps in this session".into(),
                    String::new(),
                );
            }
            Ok(taps) => app.show_unclaimed(taps),
            Err(e) => failed(app, "cannot list unclaimed taps", &e.to_string()),
        },
        Action::OpenAssign(tap) => open_assign(app, &class.store, tap),
        Action::OpenTerm => {
            let course = &app.session().course.name;
            match load_term(&class.store, course, &export.zone) {
                Ok(grid) => app.show_term(grid),
                Err(e) => failed(app, "cannot show the term", &e),
            }
        }
        Action::Claim {
            tap,
            student_id,
            move_card,
        } => claim(app, class, tap, student_id, move_card).await,
        Action::NewSession => match class.ask(Command::NewSession).await {
            Ok(Reply::Session { session, moved }) => {
                app.set_session(session);
                info(
                    app,
                    "New session started".into(),
                    format!(
                        "the open one was ended; {moved} tap(s) since the question moved along"
                    ),
                );
                reload_roster(app, &class.store);
            }
            Ok(other) => unexpected(app, &other),
            Err(e) => failed(app, "no new session", &e),
        },
        Action::ContinueSession => match class.ask(Command::ContinueSession).await {
            Ok(_) => info(
                app,
                format!("Continuing session {}", app.session().id),
                format!("{} ends it", app.keys().end_session),
            ),
            Err(e) => failed(app, "cannot go on with the session", &e),
        },
        Action::RemoveCards(student_id) => {
            match class.ask(Command::RemoveCards { student_id }).await {
                Ok(Reply::CardsRemoved { count }) => {
                    let name = student_name(app, student_id);
                    info(
                        app,
                        format!("{count} card(s) taken from {name}"),
                        format!(
                            "their next new card can be given to them ({}, or the unknown-card dialog)",
                            app.keys().enrol
                        ),
                    );
                    reload_roster(app, &class.store);
                }
                Ok(other) => unexpected(app, &other),
                Err(e) => failed(app, "the card was NOT removed", &e),
            }
        }
        Action::ExportReport => {
            match export_session(&class.store, app.session().id, export) {
                Ok(exported) => show_export(app, &exported),
                Err(e) => failed(app, "the report was NOT saved", &e.to_string()),
            }
            // Back to the summary, to quit from there.
            if let Ok(summary) = crate::report::session_totals(&class.store, app.session()) {
                app.show_summary(summary);
            }
        }
        Action::ShowSummary => show_summary(app, &class.store, "cannot show the summary"),
        Action::SaveStudent {
            existing,
            student_no,
            name,
        } => {
            let command = Command::SaveStudent {
                existing,
                student_no: student_no.clone(),
                name: name.clone(),
            };
            match class.ask(command).await {
                Ok(_) => {
                    let verb = if existing.is_some() { "saved" } else { "added" };
                    info(app, format!("{} {verb}", clean(&name)), clean(&student_no));
                    reload_roster(app, &class.store);
                }
                Err(e) => failed(app, "the student was NOT saved", &e),
            }
        }
        Action::EndSession => match class.ask(Command::EndSession).await {
            Ok(Reply::Session { session, .. }) => {
                app.set_session(session);
                reload_roster(app, &class.store);
                show_summary(app, &class.store, "session ended; cannot show the summary");
            }
            Ok(other) => unexpected(app, &other),
            Err(e) => failed(app, "the session was NOT ended", &e),
        },
    }
    Flow::Continue
}

/// Asks the recorder to stop and waits until it has; a recorder already
/// gone has nothing left to stop.
async fn stop(app: &mut App, class: &mut Class) -> Flow {
    if app.recorder().gone.is_some() {
        return Flow::Stopped;
    }
    match class.link.stop().await {
        Ok(()) => Flow::Stopped,
        Err(e) => {
            failed(app, "the recorder did NOT stop", &e.to_string());
            Flow::Continue
        }
    }
}

fn show_summary(app: &mut App, store: &Store, what: &str) {
    match crate::report::session_totals(store, app.session()) {
        Ok(summary) => app.show_summary(summary),
        Err(e) => failed(app, what, &e.to_string()),
    }
}

/// An answer that does not fit the command: a recorder of another build.
fn unexpected(app: &mut App, reply: &Reply) {
    failed(
        app,
        "the recorder's answer makes no sense",
        &format!("{reply:?}"),
    );
}

/// Opens the dialog to give the card of `tap` to a student without a card.
pub fn open_assign(app: &mut App, store: &Store, tap: UnclaimedTap) {
    match store.students_without_card(app.session().course.id) {
        Ok(students) => app.ask_whose_card(tap, students),
        Err(e) => failed(app, "cannot list students", &e.to_string()),
    }
}

async fn claim(
    app: &mut App,
    class: &mut Class,
    tap: UnclaimedTap,
    student_id: i64,
    move_card: bool,
) {
    let name = student_name(app, student_id);
    let command = Command::Claim {
        tap_id: tap.tap_id,
        student_id,
        move_card,
    };
    match class.ask(command).await {
        Ok(Reply::Claimed {
            claim: Claim::Bound { mark },
        }) => {
            let mark = mark.map_or("already marked".to_string(), |m| {
                format!("marked {}", m.as_str())
            });
            info(
                app,
                format!("Card given to {name}"),
                format!("{mark} from the tap · {} undoes it", app.keys().undo),
            );
            reload_roster(app, &class.store);
            app.card_given();
        }
        Ok(Reply::Claimed {
            claim: Claim::CardTaken { holder },
        }) => {
            // Ask before moving: reopen the dialog with the question.
            if let Some(student) = app.roster().student(student_id).cloned() {
                app.ask_to_move_card(tap, student, holder);
            } else {
                failed(
                    app,
                    "the card belongs to someone else",
                    &clean(&holder.name),
                );
            }
        }
        Ok(other) => unexpected(app, &other),
        Err(e) => failed(app, "the card was NOT given", &e),
    }
}

fn student_name(app: &App, student_id: i64) -> String {
    app.roster().student(student_id).map_or_else(
        || format!("student #{student_id}"),
        |student| clean(&student.name),
    )
}

fn info(app: &mut App, headline: String, detail: String) {
    app.set_banner(Banner::Info { headline, detail });
}

/// The files saved, or loudly the formats that were not.
fn show_export(app: &mut App, exported: &Exported) {
    let names: Vec<String> = exported
        .written
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    if let Some((format, error)) = exported.failed.first() {
        let saved = if names.is_empty() {
            String::new()
        } else {
            format!(" (saved: {})", names.join(", "))
        };
        let what = format!("the {} report was NOT saved", format.as_str());
        failed(app, &what, &format!("{error}{saved}"));
        return;
    }
    let folder = exported
        .written
        .first()
        .and_then(|f| f.parent())
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    info(
        app,
        format!("Report saved in {}", clean(&folder)),
        clean(&names.join(", ")),
    );
}

fn failed(app: &mut App, what: &str, error: &str) {
    let mut what = what.to_string();
    if let Some(first) = what.get(..1) {
        what.replace_range(..1, &first.to_uppercase());
    }
    app.set_banner(Banner::Failed {
        what,
        error: error.to_string(),
    });
}

/// Who is at risk coming into this session: the course's other sessions
/// (this one's taps would clear a run of absences only to have it come
/// back at the end). A failure leaves the markers off, and is logged.
pub fn reload_risk(app: &mut App, store: &Store, config: &crate::config::RiskConfig) {
    let course = app.session().course.name.clone();
    let selection = crate::report::Selection::Course {
        name: course.clone(),
        from: None,
        to: None,
    };
    let current = app.session().id;
    match crate::report::load(store, &selection, &crate::report::Zone::Local) {
        Ok(report) => {
            let crate::report::Content::Course(mut course_report) = report.content else {
                return;
            };
            course_report.sessions.retain(|s| s.id != current);
            course_report.assess_risk(&config.for_course(&course));
            let risk = course_report
                .at_risk()
                .map(|s| (s.student_no.clone(), crate::risk::describe_short(&s.risk)))
                .collect();
            app.set_risk(risk);
        }
        Err(e) => tracing::error!(error = %e, "cannot tell who is at risk"),
    }
}

/// The course's report over the whole term, read as `taproll report
/// --course NAME` reads it, as a grid. The TUI reads it in the zone of the
/// end-of-session report.
pub fn load_term(store: &Store, course: &str, zone: &Zone) -> Result<TermGrid, String> {
    let selection = Selection::Course {
        name: course.to_string(),
        from: None,
        to: None,
    };
    match crate::report::load(store, &selection, zone) {
        Ok(report) => match report.content {
            Content::Course(course) => Ok(TermGrid::from_report(&course)),
            Content::Session(_) => Err("the report is not the course's".into()),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// The term view, if it is open, read again after the marks changed; a
/// failure keeps the grid as it was and says so in the status line.
pub fn reload_term(app: &mut App, store: &Store, zone: &Zone) {
    if !app.term_open() {
        return;
    }
    match load_term(store, &app.session().course.name, zone) {
        Ok(grid) => app.show_term(grid),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the term");
            app.set_store_problem(format!("cannot read the term: {e}"));
        }
    }
}

/// The roster on screen is always re-read from the store, the record of truth.
pub fn reload_roster(app: &mut App, store: &Store) {
    match store.roster(app.session()) {
        Ok(rows) => app.set_rows(rows),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the roster");
            app.set_store_problem(format!("cannot read the roster: {e}"));
        }
    }
}
