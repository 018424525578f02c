//! From command line to a running front end: resolve the settings, open the
//! store, pick the course and session, start the reader, hand over to the
//! TUI or headless loop. The one-shot commands are in `commands`; what both
//! resolve the same way (config, database, export) is in `settings`.

use crate::cli::{Cli, Command, DemoArgs, RunArgs};
use crate::cli_error::{CliError, Usage};
use crate::clock::{self, ClockState};
use crate::config::{self, Config, Cue, ReaderBackend};
use crate::demo;
use crate::engine::Engine;
use crate::paths::Dirs;
use crate::privacy::UidExport;
use crate::reader::pcsc::{PcscReader, ReaderFilter};
use crate::reader::wedge::{self, KeyboardWedge, WedgeConfig};
use crate::reader::{self, ReaderEvent, sim::Script};
use crate::report::export::ExportSettings;
use crate::rules::Policy;
use crate::settings::{database_path, export_settings, export_uids, load_config, sync_settings};
use crate::store::Store;
use crate::sync::{SyncHandle, SyncSettings};
use crate::{commands, headless, maintenance};

mod door;
mod logs;
mod record;
mod view;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// How long a run that ends waits for the push of its last events.
const SYNC_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How a run is set up, after flags, environment, config and defaults.
struct Plan {
    db: PathBuf,
    keys: crate::keymap::Keymap,
    label: Option<String>,
    admin_cards: Vec<crate::domain::CardUid>,
    course: Option<String>,
    starts_at: Option<chrono::NaiveTime>,
    reader: ReaderChoice,
    policy: Policy,
    role: Role,
    demo: bool,
    bell: Vec<Cue>,
    export: ExportSettings,
    /// How long the TUI asks about a session found open.
    resume_question: chrono::Duration,
    /// The push to a server, when `[sync]` names one.
    sync: Option<SyncSettings>,
    /// A session starts only on a clock the system says is synchronised
    /// (where it can say).
    require_synced_clock: bool,
    /// Where the recorder a roster started listens (the roster chose it).
    socket: Option<PathBuf>,
    /// A backup at the end of each session (`[backup] after_session`).
    backup: Option<crate::backup::BackupPlan>,
    /// Raw taps older than this go at the start (`privacy.keep_raw_taps_days`).
    keep_raw_taps_days: Option<u32>,
    /// Who the roster marks as at risk (`[risk]`).
    risk: crate::config::RiskConfig,
}

enum ReaderChoice {
    Pcsc { filter: ReaderFilter, led: bool },
    Sim(Script),
    Wedge(WedgeConfig),
}

/// What this process is in a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The roster on screen, attached to the database's recorder (started
    /// if there is none).
    View,
    /// JSON lines on standard output, recording in this process.
    Headless,
    /// The recorder a view started: no terminal, ends when a view says so.
    RecorderForView,
    /// `taproll record`: a service, no view needed.
    Service,
}

impl Role {
    fn of(headless: bool, recorder_for_view: bool) -> Self {
        match (headless, recorder_for_view) {
            (true, _) => Role::Headless,
            (false, true) => Role::RecorderForView,
            (false, false) => Role::View,
        }
    }
}

/// A started reader backend, kept until the front end is done.
enum RunningReader {
    Pcsc(PcscReader),
    /// Sim and stdin-wedge threads end on their own.
    Thread,
    /// A view reads a wedge reader from its keys and hands its taps to the
    /// recorder; the recorder keeps the channel's sender (`start_reader`).
    Keyboard,
}

impl RunningReader {
    fn stop(self) {
        match self {
            RunningReader::Pcsc(pcsc) => pcsc.stop(),
            RunningReader::Thread | RunningReader::Keyboard => {}
        }
    }
}

pub fn main(cli: Cli) -> Result<(), CliError> {
    let dirs = Dirs::from_env();
    let (plan, config) = match cli.command {
        Command::Readers => return commands::readers(),
        Command::Roster(command) => return commands::roster(command, dirs.as_ref()),
        Command::Report(args) => return commands::report(args, dirs.as_ref()),
        Command::Sessions { course, files } => {
            return commands::sessions(course.as_deref(), &files, dirs.as_ref());
        }
        Command::Sync(args) => return crate::sync_command::run(args, dirs.as_ref()),
        Command::Backup(args) => return maintenance::backup(args, dirs.as_ref()),
        Command::Restore(args) => return maintenance::restore(args, dirs.as_ref()),
        Command::Doctor(args) => return crate::doctor::run(args, dirs.as_ref()),
        Command::Student(command) => {
            return crate::privacy_command::student(command, dirs.as_ref());
        }
        Command::Risk { course, files } => {
            return crate::risk_command::run(course.as_deref(), &files, dirs.as_ref());
        }
        Command::Purge(args) => return crate::privacy_command::purge(args, dirs.as_ref()),
        Command::Completions { shell } => return maintenance::completions(shell),
        Command::Man { folder } => return maintenance::man_pages(&folder),
        Command::Demo(args) => (plan_demo(args)?, config::Loaded::default()),
        Command::Run(args) => {
            let loaded = load_config(&args.files, dirs.as_ref())?;
            (plan_run(args, &loaded.config, dirs.as_ref())?, loaded)
        }
        Command::Record(args) => {
            if args.headless {
                return Err(Usage::RecordHeadless.into());
            }
            let loaded = load_config(&args.files, dirs.as_ref())?;
            let plan = Plan {
                role: Role::Service,
                ..plan_run(args, &loaded.config, dirs.as_ref())?
            };
            (plan, loaded)
        }
        Command::Door(args) => return door::run(args, dirs.as_ref()),
    };
    let _log_guard = logs::start_logging(dirs.as_ref(), &config.config, plan.role);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        db = %plan.db.display(),
        config = ?config.file,
        "taproll starting"
    );
    // The recorder a demo's roster started has nobody to tell.
    let demo_db = (plan.demo && plan.role != Role::RecorderForView).then(|| plan.db.clone());
    let result = run(plan);
    if let Some(db) = demo_db {
        crate::console::note(format_args!(
            "The demo database is kept at {}",
            db.display()
        ));
    }
    result
}

fn plan_demo(args: DemoArgs) -> Result<Plan, CliError> {
    let db = match args.db {
        Some(db) => db,
        None => demo_folder()?.join("taproll-demo.db"),
    };
    // The demo's reports go beside its database, not into the home folder.
    let report = crate::config::ReportConfig {
        folder: Some(db.parent().unwrap_or(Path::new(".")).join("reports")),
        ..Default::default()
    };
    // The demo reads no config: its exports keep the default, masked.
    let export = export_settings(&report, &db, UidExport::Masked);
    Ok(Plan {
        export,
        db,
        keys: Default::default(),
        label: None,
        admin_cards: Vec::new(),
        course: None,
        starts_at: None,
        reader: ReaderChoice::Sim(demo::script()?),
        policy: Policy::default(),
        role: Role::of(args.headless, args.recorder_socket.is_some()),
        socket: args.recorder_socket.clone(),
        // A new demo database has nothing to be behind, and the demo must
        // run on a laptop without network.
        require_synced_clock: false,
        keep_raw_taps_days: None,
        risk: Default::default(),
        backup: None,
        demo: true,
        bell: Vec::new(),
        resume_question: chrono::Duration::seconds(
            crate::config::SessionConfig::default()
                .resume_question_seconds
                .into(),
        ),
        sync: None,
    })
}

fn plan_run(args: RunArgs, config: &Config, dirs: Option<&Dirs>) -> Result<Plan, CliError> {
    let db = database_path(&args.files, config, dirs)?;
    // Only the --scenario flag implies the simulator: a scenario left in the
    // config must never replace the real reader unnoticed.
    let backend = match (args.reader, &args.scenario) {
        (Some(backend), _) => backend,
        (None, Some(_)) => ReaderBackend::Sim,
        (None, None) => config.reader.backend,
    };
    let scenario = args.scenario.or_else(|| config.reader.scenario.clone());
    let reader = match backend {
        ReaderBackend::Pcsc => ReaderChoice::Pcsc {
            filter: ReaderFilter(config.reader.name.clone().filter(|n| !n.is_empty())),
            led: config.feedback.reader_led,
        },
        ReaderBackend::Sim => {
            let path = scenario.ok_or(Usage::NoScenario)?;
            ReaderChoice::Sim(Script::load(&path)?)
        }
        ReaderBackend::Wedge => ReaderChoice::Wedge(config.reader.wedge),
    };
    let late_after = args.late_after.unwrap_or(config.session.late_after_minutes);
    let absent_after = args
        .absent_after
        .unwrap_or(config.session.absent_after_minutes);
    if absent_after != 0 && absent_after <= late_after {
        return Err(Usage::AbsentBeforeLate {
            absent: absent_after,
            late: late_after,
        }
        .into());
    }
    let policy = Policy {
        late_after: chrono::Duration::minutes(late_after.into()),
        absent_after: (absent_after != 0).then(|| chrono::Duration::minutes(absent_after.into())),
        debounce: chrono::Duration::seconds(config.session.debounce_seconds.into()),
    };
    let sync = sync_settings(config, dirs, &db)?;
    let backup = config
        .backup
        .after_session
        .then(|| crate::settings::backup_plan(&config.backup, &db, None));
    Ok(Plan {
        sync,
        export: export_settings(&config.report, &db, export_uids(config, dirs, &db)?),
        db,
        keys: config.keys.clone(),
        label: args.label,
        admin_cards: config.admin.uids(),
        course: args.course,
        starts_at: args.starts_at,
        reader,
        policy,
        role: Role::of(args.headless, args.recorder_socket.is_some()),
        socket: args.recorder_socket.clone(),
        require_synced_clock: config.session.require_synced_clock,
        keep_raw_taps_days: config.privacy.keep_raw_taps_days,
        risk: config.risk.clone(),
        backup,
        demo: false,
        bell: config.feedback.bell.clone(),
        resume_question: chrono::Duration::seconds(config.session.resume_question_seconds.into()),
    })
}

fn run(plan: Plan) -> Result<(), CliError> {
    match plan.role {
        Role::View => view::run(plan),
        Role::Headless => run_headless(plan),
        Role::RecorderForView | Role::Service => record::run(plan),
    }
}

/// A class ready to record: the engine on its session, and the push.
struct OpenClass {
    engine: Engine,
    sync: SyncHandle,
    /// The course's session was found open and goes on.
    resumed: bool,
    /// What the clock check found.
    clock: ClockState,
}

/// Opens the store as its writer, starts the push, and starts or resumes
/// the course's session.
fn open_class(plan: &mut Plan) -> Result<OpenClass, CliError> {
    let mut store = Store::open(&plan.db)?;
    // Tap events wait for a configured server before retention takes them.
    let unsent = if plan.sync.is_some() {
        crate::store::Unsent::Keep
    } else {
        crate::store::Unsent::Delete
    };
    // Started once the store has migrated the database; woken by each commit.
    let sync = match plan.sync.take() {
        // The class does not depend on the push: without its thread, the
        // events wait in the database for the next run or `taproll sync`.
        Some(settings) => SyncHandle::start(plan.db.clone(), settings).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot start the sync thread; the push is off this run");
            SyncHandle::off()
        }),
        None => SyncHandle::off(),
    };
    store.on_commit(sync.doorbell());
    let now = reader::now();
    // Before any session starts or goes on: a clock that booted stale would
    // mark the class late or absent, and put its taps before older ones.
    let clock = clock::judge(
        now,
        store.newest_event_time()?,
        clock::system_sync(),
        plan.require_synced_clock,
    )?;
    tracing::info!(clock = clock.status(), "the clock was checked");
    if let Some(days) = plan.keep_raw_taps_days {
        // Retention is not the class's business: a failure is logged.
        let before = crate::privacy_command::window_start(&now, days);
        if let Err(e) = store.purge_raw_taps(&before, unsent, false, &now) {
            tracing::error!(error = %e, "cannot delete the raw taps past privacy.keep_raw_taps_days");
        }
    }
    let mut resumed = false;
    let mut planned_start = None;
    let session = if plan.demo {
        demo::seed(&store, &plan.db, &now)?
    } else {
        let course = match &plan.course {
            Some(name) => store.ensure_course(name, &now)?,
            None => store.last_used_course()?.ok_or(Usage::NoCourse)?,
        };
        let start = plan
            .starts_at
            .and_then(|t| today_at(&now, t))
            .unwrap_or(now);
        planned_start = plan.starts_at.map(|_| start);
        let open_before = store.open_session_id(&course)?;
        // The label is for a new session; a resumed one keeps its own, and a
        // new one started from the resume question gets it then.
        let session =
            store.start_or_resume_labelled(&course, &start, &now, plan.label.as_deref())?;
        resumed = open_before == Some(session.id);
        session
    };
    let engine = Engine::new(store, session, plan.policy)
        .with_admin_cards(std::mem::take(&mut plan.admin_cards))
        .with_new_session_plan(planned_start, plan.label.clone())
        .with_clock_check(plan.require_synced_clock);
    Ok(OpenClass {
        engine,
        sync,
        resumed,
        clock,
    })
}

fn event_loop() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Start {
            what: "event loop",
            source,
        })
}

/// What the reader's end means: expected for a scenario, else a problem.
fn reader_end(choice: &ReaderChoice) -> Option<String> {
    match choice {
        ReaderChoice::Sim(_) => None,
        ReaderChoice::Pcsc { .. } | ReaderChoice::Wedge(_) => {
            Some("card reader stopped — restart taproll; details in the log".to_string())
        }
    }
}

/// Records in this process and prints a JSON line per event (a kiosk, a
/// script): no socket, no views.
fn run_headless(mut plan: Plan) -> Result<(), CliError> {
    let OpenClass { engine, sync, .. } = open_class(&mut plan)?;
    let runtime = event_loop()?;
    let (reader, events, _wedge) = start_reader(plan.reader, true)?;
    let mut stdout = std::io::stdout().lock();
    let ending = runtime.block_on(headless::run(
        engine,
        events,
        sync.status(),
        &plan.export.uids,
        &mut stdout,
    ));
    // A scenario or standard input may end; a PC/SC reader thread may not.
    let result = match (ending, &reader) {
        (Err(e), _) => {
            // The reader of our output went away: nothing more is recorded.
            tracing::warn!(error = %e, "standard output failed; taproll ends, every tap printed is stored");
            Err(CliError::Output(e))
        }
        (Ok(headless::Ending::ReaderEnded), RunningReader::Pcsc(_)) => Err(CliError::ReaderStopped),
        (Ok(_), _) => Ok(()),
    };
    reader.stop();
    // The last taps and the end of the session, to a server that answers.
    sync.finish(SYNC_GRACE);
    headless::print_sync_end(&sync.status().borrow(), &mut stdout);
    result
}

/// Today at `time`, local; `None` in a daylight-saving gap.
fn today_at(
    now: &crate::domain::Timestamp,
    time: chrono::NaiveTime,
) -> Option<crate::domain::Timestamp> {
    use chrono::TimeZone;
    chrono::Local
        .from_local_datetime(&now.date_naive().and_time(time))
        .earliest()
        .map(|at| at.fixed_offset())
}

/// The reader backend and the channel its events come on; with a keyboard
/// wedge in the TUI, also the wedge, which the TUI reads from its keys and
/// which sends into the same channel as every other reader.
fn start_reader(
    choice: ReaderChoice,
    headless: bool,
) -> Result<
    (
        RunningReader,
        UnboundedReceiver<ReaderEvent>,
        Option<KeyboardWedge>,
    ),
    CliError,
> {
    let (tx, rx) = unbounded_channel();
    let mut keyboard = None;
    let started = match choice {
        ReaderChoice::Pcsc { filter, led } => {
            PcscReader::spawn(filter, led, tx).map(RunningReader::Pcsc)
        }
        ReaderChoice::Sim(script) => script.spawn(tx).map(|_| RunningReader::Thread),
        ReaderChoice::Wedge(config) if headless => {
            wedge::spawn_stdin(config, tx).map(|_| RunningReader::Thread)
        }
        ReaderChoice::Wedge(config) => {
            keyboard = Some(KeyboardWedge::new(config, tx));
            Ok(RunningReader::Keyboard)
        }
    };
    let reader = started.map_err(|source| CliError::Start {
        what: "card reader thread",
        source,
    })?;
    Ok((reader, rx, keyboard))
}

/// A fresh private folder for a demo database.
fn demo_folder() -> Result<PathBuf, CliError> {
    use std::os::unix::fs::DirBuilderExt;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let dir = std::env::temp_dir().join(format!("taproll-demo-{stamp}-{}", std::process::id()));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|source| CliError::Start {
            what: "demo folder",
            source,
        })?;
    Ok(dir)
}
