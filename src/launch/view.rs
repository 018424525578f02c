//! The roster on screen: attach to the recorder of the database, starting
//! one when there is none, and show the class until the instructor leaves.

use super::{Plan, ReaderChoice, event_loop};
use crate::cli_error::{CliError, Usage};
use crate::reader::wedge::KeyboardWedge;
use crate::recorder::spawn::{self, Spawned};
use crate::recorder::{Attached, attach, place};
use crate::store::Store;
use crate::tui::{self, Leaving, actions::Class};
use std::ffi::OsString;
use std::time::Duration;

/// How long leaving with "stop" waits for the recorder to be gone (it
/// pushes its last events to a server for up to 5 s).
const STOP_WAIT: Duration = Duration::from_secs(15);

pub(super) fn run(plan: Plan) -> Result<(), CliError> {
    // Before a recorder is started for it: a roster that cannot be shown
    // would leave one recording with nobody told.
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Usage::NoTerminal.into());
    }
    let uid = place::own_uid()?;
    let runtime = event_loop()?;
    runtime.block_on(async {
        let (link, mut spawned) = match attach::find(&plan.db, uid).await {
            Some(link) => (link, None),
            None => {
                let socket = place::recorder_folder(uid)?.join(place::socket_name(&plan.db));
                let spawned = spawn::recorder_for_view(recorder_args(&plan), &socket)?;
                (Attached::connect(&socket, uid).await?, Some(spawned))
            }
        };
        let welcome = link.welcome();
        tracing::info!(
            pid = welcome.pid,
            started_here = spawned.is_some(),
            "attached to the recorder"
        );
        if let Some(asked) = &plan.course
            && *asked != welcome.session.course.name
        {
            return Err(Usage::OtherCourse {
                pid: welcome.pid,
                recording: welcome.session.course.name.clone(),
                asked: asked.clone(),
            }
            .into());
        }
        let pid = welcome.pid;
        let store = Store::open_read_only(&plan.db)?;
        let wedge = match plan.reader {
            ReaderChoice::Wedge(config) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                Some((KeyboardWedge::new(config, tx), rx))
            }
            ReaderChoice::Pcsc { .. } | ReaderChoice::Sim(_) => None,
        };
        let options = tui::TuiOptions {
            db_label: plan.db.display().to_string(),
            wedge,
            bell: plan.bell,
            keys: plan.keys,
            export: plan.export,
        };
        let leaving = tui::run(Class { link, store }, options).await?;
        if leaving == Leaving::Stopped && !spawn::wait_gone(pid, spawned.as_mut(), STOP_WAIT) {
            tracing::warn!(pid, "the recorder is still finishing after {STOP_WAIT:?}");
        }
        reap(spawned);
        Ok(())
    })
}

/// This command line again, as the recorder: the same config, database,
/// course and reader. A demo's database, made up here, is passed on.
fn recorder_args(plan: &Plan) -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if plan.demo
        && !args
            .iter()
            .any(|a| a == "--db" || a.to_string_lossy().starts_with("--db="))
    {
        args.push("--db".into());
        args.push(plan.db.clone().into_os_string());
    }
    args
}

/// A recorder started here that has ended is reaped; one still recording
/// is left to run (it is in a process group of its own).
fn reap(spawned: Option<Spawned>) {
    if let Some(mut spawned) = spawned {
        let _ = spawned.child.try_wait();
    }
}
