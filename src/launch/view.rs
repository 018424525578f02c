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
use std::path::{Path, PathBuf};
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
    make_folder(&plan.db)?;
    let runtime = event_loop()?;
    runtime.block_on(async {
        let (link, mut spawned) = attach_or_start(&plan, uid).await?;
        let pid = link.welcome().pid;
        let result = show(&plan, link, spawned.is_some()).await;
        if let Some(own) = &mut spawned
            && result.is_err()
        {
            // The roster could not be shown: its recorder goes too, or it
            // would record with nobody knowing.
            tracing::warn!(pid, "the roster failed; stopping the recorder it started");
            let _ = own.child.kill();
        }
        if matches!(result, Ok(Leaving::Stopped))
            && !spawn::wait_gone(pid, spawned.as_mut(), STOP_WAIT)
        {
            tracing::warn!(pid, "the recorder is still finishing after {STOP_WAIT:?}");
        }
        reap(spawned);
        result.map(|_| ())
    })
}

/// The recorder of the database: the one running, or one started now.
async fn attach_or_start(plan: &Plan, uid: u32) -> Result<(Attached, Option<Spawned>), CliError> {
    if let Some(link) = attach::find(&plan.db, uid).await? {
        return Ok((link, None));
    }
    let socket = place::recorder_folder(uid)?.join(place::socket_name(&plan.db));
    match spawn::recorder_for_view(recorder_args(plan), &socket) {
        Ok((spawned, stream)) => {
            let link = Attached::from_std(stream, &socket, uid).await;
            match link {
                Ok(link) => Ok((link, Some(spawned))),
                Err(e) => {
                    let mut spawned = spawned;
                    let _ = spawned.child.kill();
                    reap(Some(spawned));
                    Err(e.into())
                }
            }
        }
        // Another roster (or the door's service) may have started one at
        // the same moment: attach to that one.
        Err(e) => {
            tokio::time::sleep(Duration::from_millis(500)).await;
            match attach::find(&plan.db, uid).await {
                Ok(Some(link)) => Ok((link, None)),
                _ => Err(e.into()),
            }
        }
    }
}

async fn show(plan: &Plan, link: Attached, started_here: bool) -> Result<Leaving, CliError> {
    let welcome = link.welcome();
    tracing::info!(pid = welcome.pid, started_here, "attached to the recorder");
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
    let store = Store::open_read_only(&plan.db)?;
    let wedge = match &plan.reader {
        ReaderChoice::Wedge(config) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            Some((KeyboardWedge::new(*config, tx), rx))
        }
        ReaderChoice::Pcsc { .. } | ReaderChoice::Sim(_) => None,
    };
    let options = tui::TuiOptions {
        db_label: plan.db.display().to_string(),
        db: plan.db.clone(),
        wedge,
        bell: plan.bell.clone(),
        keys: plan.keys.clone(),
        export: plan.export.clone(),
        risk: plan.risk.clone(),
        note: (!started_here).then(|| ignored_flags(plan)).flatten(),
    };
    Ok(tui::run(Class { link, store }, options).await?)
}

/// What the command line asked that a running recorder does not take.
fn ignored_flags(plan: &Plan) -> Option<String> {
    let mut ignored = Vec::new();
    if plan.starts_at.is_some() {
        ignored.push("--starts-at");
    }
    if plan.label.is_some() {
        ignored.push("--label");
    }
    (!ignored.is_empty()).then(|| {
        format!(
            "{} not used: the recorder was running already (its session goes on)",
            ignored.join(", ")
        )
    })
}

/// The database's folder, made (private) if new, so that the recorder's
/// socket name, which goes by the folder's real path, is the same before
/// the database exists and after.
fn make_folder(db: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt;
    let Some(folder) = db.parent().filter(|f| !f.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|source| CliError::Start {
            what: "database folder",
            source,
        })
}

/// This command line again, as the recorder: the same config, database,
/// course and reader. A demo's database, made up here, is passed on.
fn recorder_args(plan: &Plan) -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let has_db = args
        .iter()
        .any(|a| a == "--db" || a.to_string_lossy().starts_with("--db="));
    if plan.demo && !has_db {
        args.push("--db".into());
        args.push(PathBuf::from(&plan.db).into_os_string());
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
