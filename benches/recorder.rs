//! A tap's way to the screen, through a recorder and its socket, against
//! the single-process TUI of before (issue 13):
//! `cargo bench --bench recorder`. Prints a Markdown table; the figures go
//! to docs/benchmarks.md.
//!
//! Both paths get the same taps, one after the other in turn, on databases
//! of their own (synchronous=FULL, as in class):
//! - **in process**: `Engine::handle` commits the tap, the `App` applies the
//!   update, reloads the roster from the store and draws an 80x24 frame to
//!   a `TestBackend` (what the TUI did before the recorder);
//! - **attached view**: the tap goes into the reader channel of a recorder
//!   serving its socket on a thread of its own; the view waits for the
//!   recorder's notice, applies it, reloads the roster from its own
//!   read-only connection and draws the same frame.
//!
//! Timed from the tap handed over to the frame drawn, so both include the
//! same commit (and its fsync); the difference is the recorder's path:
//! the notice, the socket, the view's own read. Goal: p99 under 50 ms.

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::Path;
use std::time::{Duration, Instant};
use taproll::domain::{CardUid, Session};
use taproll::engine::{Engine, Update};
use taproll::reader::{ReaderEvent, now};
use taproll::recorder::serve::{self, Listening, Recorder};
use taproll::recorder::{Attached, Notice};
use taproll::rules::Policy;
use taproll::store::Store;
use taproll::sync::SyncHandle;
use taproll::tui::actions::reload_roster;
use taproll::tui::{app::App, theme::Theme, view};

const STUDENTS: usize = 300;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (mut single, session_a) = class(&dir.path().join("single.db"));
    let (engine, session_b) = class(&dir.path().join("recorder.db"));
    let socket = dir.path().join("recorder.sock");
    let (taps, events) = tokio::sync::mpsc::unbounded_channel();
    let uid = taproll::recorder::place::own_uid().unwrap();
    let listener_socket = socket.clone();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let recorder = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listening = Listening::bind(&listener_socket).unwrap();
            ready_tx.send(()).unwrap();
            let sync = SyncHandle::off();
            let mut recorder = Recorder {
                engine,
                events,
                reader_end: None,
                sync: sync.status(),
                service: true,
                resume_until: None,
                clock: String::new(),
                db_label: "bench".into(),
                ends_when_idle: false,
                ends_with_reader: false,
                on_first_view: None,
                on_session_end: None,
                uid,
                socket_name: "recorder.sock".into(),
            };
            serve::serve(&mut recorder, listening).await.unwrap()
        })
    });
    // The view connects once the recorder listens.
    ready.recv().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (in_process, attached) = runtime.block_on(async {
        let mut link = Attached::connect(&socket, uid).await.unwrap();
        let view_store = Store::open_read_only(&dir.path().join("recorder.db")).unwrap();
        let mut view_app = App::new(session_b, now(), Default::default());
        let mut single_app = App::new(session_a, now(), Default::default());
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let (mut in_process, mut attached) = (Vec::new(), Vec::new());
        for i in 0..STUDENTS {
            let tap = card(i);
            // In process, as the TUI did before.
            let start = Instant::now();
            let update = single.handle(tap.clone());
            if single_app.apply(update) {
                let rows = single.roster().unwrap();
                single_app.set_rows(rows);
            }
            terminal
                .draw(|frame| view::render(&single_app, Theme { color: true }, frame))
                .unwrap();
            in_process.push(start.elapsed());
            // Through the recorder and its socket.
            let start = Instant::now();
            taps.send(tap).unwrap();
            loop {
                if let Notice::Update { update } = link.notice().await.unwrap() {
                    assert!(matches!(update, Update::Tap(_)), "{update:?}");
                    if view_app.apply(update) {
                        reload_roster(&mut view_app, &view_store);
                    }
                    break;
                }
            }
            terminal
                .draw(|frame| view::render(&view_app, Theme { color: true }, frame))
                .unwrap();
            attached.push(start.elapsed());
        }
        link.stop().await.unwrap();
        (in_process, attached)
    });
    recorder.join().unwrap();
    report(in_process, attached);
}

/// A course of `STUDENTS` students with cards, and its open session.
fn class(db: &Path) -> (Engine, Session) {
    let store = Store::open(db).unwrap();
    let when = now();
    let course = store.ensure_course("Bench", &when).unwrap();
    store
        .in_transaction(|store| -> Result<(), taproll::store::StoreError> {
            for i in 0..STUDENTS {
                let student = store.upsert_student(&format!("s{i}"), &format!("Student {i}"))?;
                store.enrol(course.id, student.id, &when)?;
                store.bind_card(&uid(i), student.id, &when)?;
            }
            Ok(())
        })
        .unwrap();
    let session = store
        .start_or_resume_session(&course, &when, &when)
        .unwrap();
    (
        Engine::new(store, session.clone(), Policy::default()),
        session,
    )
}

fn uid(i: usize) -> CardUid {
    CardUid::from_bytes(&(i as u32 | 0x0400_0000).to_be_bytes()).unwrap()
}

fn card(i: usize) -> ReaderEvent {
    ReaderEvent::Card {
        reader: "Door".into(),
        uid: uid(i),
        at: now(),
    }
}

fn report(mut in_process: Vec<Duration>, mut attached: Vec<Duration>) {
    in_process.sort();
    attached.sort();
    let p = |sorted: &[Duration], q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!("| {STUDENTS} taps, tap handed over → frame drawn | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (name, sorted) in [
        ("in process (before)", &in_process),
        ("attached view", &attached),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            ms(p(sorted, 0.5)),
            ms(p(sorted, 0.99)),
            ms(*sorted.last().unwrap())
        );
    }
    let ratio = |q: f64| p(&attached, q).as_secs_f64() / p(&in_process, q).as_secs_f64();
    println!(
        "| ratio attached / in process | {:.2} | {:.2} | |",
        ratio(0.5),
        ratio(0.99)
    );
}
