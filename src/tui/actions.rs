//! Carrying out what a key asked for: store work through the engine, then
//! the App is updated from the result. Every failure is shown in the banner.

use super::action::Action;
use super::app::App;
use super::banner::Banner;
use crate::engine::Engine;
use crate::report::export::{ExportSettings, Exported, export_session};
use crate::store::{Claim, UnclaimedTap};
use crate::text::sanitize_for_terminal as clean;

/// Whether the TUI goes on after an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// `export`: where the end-of-session report goes (saving it is the front
/// end's business; the engine only records).
pub fn perform(
    action: Action,
    app: &mut App,
    engine: &mut Engine,
    export: &ExportSettings,
) -> Flow {
    match action {
        Action::None | Action::Redraw => {}
        Action::Quit => return Flow::Quit,
        Action::SetMark {
            student_id,
            mark,
            note,
        } => match engine.set_mark(student_id, mark, note.as_deref()) {
            Ok(()) => {
                let name = student_name(app, student_id);
                let note = note
                    .map(|n| format!(" · note: {}", clean(&n)))
                    .unwrap_or_default();
                info(
                    app,
                    format!("{name} — {} (by hand)", mark.as_str().to_uppercase()),
                    format!("{} undoes it{note}", app.keys().undo),
                );
                reload_roster(app, engine);
            }
            Err(e) => failed(app, "the mark was NOT saved", &e.to_string()),
        },
        Action::RetryParked => match engine.retry_parked() {
            Ok(0) => info(app, "No parked events".into(), String::new()),
            Ok(count) => info(
                app,
                format!("{count} parked event(s) back in the queue"),
                "the push sends them now".into(),
            ),
            Err(e) => failed(app, "the parked events were NOT put back", &e.to_string()),
        },
        Action::Undo => match engine.undo() {
            Ok(Some(undone)) => {
                let back = undone.restored.map_or("no mark", |m| m.as_str());
                info(
                    app,
                    format!("Undone: {} is back to {back}", clean(&undone.student.name)),
                    String::new(),
                );
                reload_roster(app, engine);
            }
            Ok(None) => info(app, "Nothing to undo in this session".into(), String::new()),
            Err(e) => failed(app, "undo FAILED", &e.to_string()),
        },
        Action::OpenUnclaimed => match engine.unclaimed_taps() {
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
        Action::OpenAssign(tap) => open_assign(app, engine, tap),
        Action::Claim {
            tap,
            student_id,
            move_card,
        } => claim(app, engine, tap, student_id, move_card),
        Action::NewSession => match engine.start_new_session() {
            Ok(moved) => {
                app.set_session(engine.session().clone());
                info(
                    app,
                    "New session started".into(),
                    format!(
                        "the open one was ended; {moved} tap(s) since the question moved along"
                    ),
                );
                reload_roster(app, engine);
            }
            Err(e) => failed(app, "no new session", &e.to_string()),
        },
        Action::ContinueSession => {
            engine.resumed();
            info(
                app,
                format!("Continuing session {}", app.session().id),
                format!("{} ends it", app.keys().end_session),
            );
        }
        Action::RemoveCards(student_id) => match engine.remove_cards(student_id) {
            Ok(count) => {
                let name = student_name(app, student_id);
                info(
                    app,
                    format!("{count} card(s) taken from {name}"),
                    format!(
                        "their next new card can be given to them ({}, or the unknown-card dialog)",
                        app.keys().enrol
                    ),
                );
                reload_roster(app, engine);
            }
            Err(e) => failed(app, "the card was NOT removed", &e.to_string()),
        },
        Action::ExportReport => {
            match export_session(engine.store(), engine.session().id, export) {
                Ok(exported) => show_export(app, &exported),
                Err(e) => failed(app, "the report was NOT saved", &e.to_string()),
            }
            // Back to the summary, to quit from there.
            if let Ok(summary) = crate::report::session_totals(engine.store(), engine.session()) {
                app.show_summary(summary);
            }
        }
        Action::ShowSummary => {
            match crate::report::session_totals(engine.store(), engine.session()) {
                Ok(summary) => app.show_summary(summary),
                Err(e) => failed(app, "cannot show the summary", &e.to_string()),
            }
        }
        Action::SaveStudent {
            existing,
            student_no,
            name,
        } => match engine.save_student(existing, &student_no, &name) {
            Ok(()) => {
                let verb = if existing.is_some() { "saved" } else { "added" };
                info(app, format!("{} {verb}", clean(&name)), clean(&student_no));
                reload_roster(app, engine);
            }
            Err(e) => failed(app, "the student was NOT saved", &e.to_string()),
        },
        Action::EndSession => match engine.end_session() {
            Ok(()) => {
                app.set_session(engine.session().clone());
                reload_roster(app, engine);
                match crate::report::session_totals(engine.store(), engine.session()) {
                    Ok(summary) => app.show_summary(summary),
                    Err(e) => failed(
                        app,
                        "session ended; cannot show the summary",
                        &e.to_string(),
                    ),
                }
            }
            Err(e) => failed(app, "the session was NOT ended", &e.to_string()),
        },
    }
    Flow::Continue
}

/// Opens the dialog to give the card of `tap` to a student without a card.
pub fn open_assign(app: &mut App, engine: &Engine, tap: UnclaimedTap) {
    match engine.students_without_card() {
        Ok(students) => app.ask_whose_card(tap, students),
        Err(e) => failed(app, "cannot list students", &e.to_string()),
    }
}

fn claim(app: &mut App, engine: &Engine, tap: UnclaimedTap, student_id: i64, move_card: bool) {
    let name = student_name(app, student_id);
    match engine.claim(tap.tap_id, student_id, move_card) {
        Ok(Claim::Bound { mark }) => {
            let mark = mark.map_or("already marked".to_string(), |m| {
                format!("marked {}", m.as_str())
            });
            info(
                app,
                format!("Card given to {name}"),
                format!("{mark} from the tap · {} undoes it", app.keys().undo),
            );
            reload_roster(app, engine);
            app.card_given();
        }
        Ok(Claim::CardTaken { holder }) => {
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
        Err(e) => failed(app, "the card was NOT given", &e.to_string()),
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

/// The roster on screen is always re-read from the store, the record of truth.
pub fn reload_roster(app: &mut App, engine: &Engine) {
    match engine.roster() {
        Ok(rows) => app.set_rows(rows),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the roster");
            app.set_store_problem(format!("cannot read the roster: {e}"));
        }
    }
}
