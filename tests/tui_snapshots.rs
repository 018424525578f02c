//! Screens rendered to ratatui's TestBackend and compared with insta snapshots.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! The App is built from fixed data, so clocks and paths are stable.

use chrono::DateTime;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Color;
use taproll::domain::{
    CardUid, Course, Mark, MarkSource, Outcome, RosterRow, Session, Student, TapRecord, Timestamp,
};
use taproll::engine::Update;
use taproll::reader::ReaderEvent;
use taproll::reader::wedge::{KeyboardWedge, WEDGE_READER, WedgeConfig};
use taproll::tui::action::Action;
use taproll::tui::app::{App, Setup};
use taproll::tui::banner::Banner;
use taproll::tui::modal::Modal;
use taproll::tui::theme::Theme;
use taproll::tui::view;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const NAMES: [&str; 12] = [
    "Ada Lovelace",
    "Alan Turing",
    "Barbara Liskov",
    "Dennis Ritchie",
    "Edsger Dijkstra",
    "Grace Hopper",
    "Hedy Lamarr",
    "José Ñúñez",
    "Katherine Johnson",
    "Ken Thompson",
    "Margaret Hamilton",
    "Zoë Ng",
];

fn at(time: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(&format!("2026-11-30T{time}+01:00")).unwrap()
}

fn student(i: usize) -> Student {
    Student {
        id: i as i64 + 1,
        student_no: format!("s{}", 1001 + i),
        name: NAMES[i % NAMES.len()].to_string(),
    }
}

fn session() -> Session {
    Session {
        id: 7,
        course: Course {
            id: 1,
            name: "Networks 101".into(),
        },
        started_at: at("09:00:00"),
        ended_at: None,
    }
}

/// How the apps of these tests are set up, unless a test says otherwise.
fn setup() -> Setup {
    Setup {
        db_label: "/home/pi/.local/share/taproll/taproll.db".into(),
        export_to: Some("/home/pi/taproll-reports (csv, xlsx)".into()),
        ..Setup::default()
    }
}

/// An app with `count` students, the first `marked` of them present or late.
fn app(count: usize, marked: usize) -> App {
    app_with(count, marked, setup())
}

fn app_with(count: usize, marked: usize, setup: Setup) -> App {
    let mut app = App::new(session(), at("09:12:34"), setup);
    let rows = (0..count)
        .map(|i| {
            let mark = (i < marked).then_some(if i % 4 == 3 {
                Mark::Late
            } else {
                Mark::Present
            });
            RosterRow {
                has_card: i % 10 != 9,
                student: student(i),
                mark,
                source: mark.map(|_| MarkSource::Card),
                marked_at: mark.map(|_| at(&format!("09:{:02}:{:02}", 1 + i % 12, i % 60))),
            }
        })
        .collect();
    app.set_rows(rows);
    app.apply(Update::Reader(ReaderEvent::ReaderAdded {
        reader: "ACS ACR122U 00 00".into(),
    }));
    app
}

fn tap(app: &mut App, uid: &str, outcome: Outcome, student: Option<Student>) {
    app.apply(Update::Tap(TapRecord {
        tap_id: 1,
        tap_uuid: uuid::Uuid::nil(),
        session_uuid: uuid::Uuid::nil(),
        session_id: 7,
        at: at("09:12:30"),
        reader: "ACS ACR122U 00 00".into(),
        uid: CardUid::parse(uid).unwrap(),
        outcome,
        student,
    }));
}

fn render(app: &mut App, width: u16, height: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let area = ratatui::layout::Rect::new(0, 0, width, height);
    app.set_page_rows(view::page_rows(area));
    app.set_term_size(view::term_size(area));
    terminal
        .draw(|frame| view::render(app, theme, frame))
        .unwrap();
    terminal
}

const COLOR: Theme = Theme { color: true };

/// An app read by a keyboard-wedge reader, and the reader channel the
/// reader's taps go into (its arrival already taken from it).
fn wedge_app(setup: Setup) -> (App, UnboundedReceiver<ReaderEvent>) {
    let (events, mut received) = unbounded_channel();
    let wedge = KeyboardWedge::new(WedgeConfig::default(), events);
    assert!(matches!(
        received.try_recv(),
        Ok(ReaderEvent::ReaderAdded { .. })
    ));
    let setup = Setup {
        wedge: Some(wedge),
        ..setup
    };
    (app_with(30, 15, setup), received)
}

/// The card a wedge reader sent into the reader channel, as hex.
fn sent_card(received: &mut UnboundedReceiver<ReaderEvent>) -> String {
    match received.try_recv() {
        Ok(ReaderEvent::Card { reader, uid, .. }) => {
            assert_eq!(reader, WEDGE_READER);
            uid.as_hex().to_string()
        }
        other => panic!("no card in the reader channel: {other:?}"),
    }
}

/// Set up to ask whether to go on with the session found open, for a
/// minute (until 09:13:34).
fn resuming() -> Setup {
    Setup {
        resume_question: Some(chrono::Duration::seconds(60)),
        ..setup()
    }
}

fn key(app: &mut App, code: KeyCode) -> Action {
    app.on_key(KeyEvent::from(code))
}

#[test]
fn empty_roster() {
    let mut app = app(0, 0);
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn half_full_roster_80x24() {
    let mut app = app(30, 15);
    tap(
        &mut app,
        "04A1B2C3D4E5F6",
        Outcome::Present,
        Some(student(14)),
    );
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn unknown_card_banner() {
    let mut app = app(30, 15);
    tap(&mut app, "04DEADBEEF0001", Outcome::Unknown, None);
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn duplicate_banner_says_when_the_student_was_counted() {
    let mut app = app(12, 3);
    tap(
        &mut app,
        "04A1B2C3",
        Outcome::Duplicate {
            first_at: at("09:04:00"),
        },
        Some(student(0)),
    );
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn not_recorded_banner_and_missing_reader() {
    let mut app = app(12, 3);
    app.apply(Update::Reader(ReaderEvent::ReaderRemoved {
        reader: "ACS ACR122U 00 00".into(),
    }));
    app.apply(Update::NotRecorded {
        reader: "ACS ACR122U 00 00".into(),
        uid: CardUid::parse("04A1B2C3").unwrap(),
        at: at("09:12:30"),
        error: "database error: disk I/O error".into(),
    });
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn a_failed_action_says_what_failed_not_tap_again() {
    let mut app = app(12, 3);
    app.set_banner(Banner::Failed {
        what: "The xlsx report was NOT saved".into(),
        error: "cannot write /home/pi/r.xlsx: No space left on device (saved: r.csv)".into(),
    });
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn scrolled_to_the_end_on_a_large_terminal() {
    let mut app = app(1000, 500);
    app.on_key(KeyEvent::from(KeyCode::End));
    insta::assert_snapshot!(render(&mut app, 120, 40, COLOR).backend());
}

#[test]
fn filter_narrows_the_roster() {
    let mut app = app(30, 15);
    for key in ['/', 'l', 'A', 'm'] {
        app.on_key(KeyEvent::from(KeyCode::Char(key)));
    }
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn help_overlay() {
    let mut app = app(30, 15);
    app.on_key(KeyEvent::from(KeyCode::Char('?')));
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn quit_asks_first() {
    let mut app = app(30, 15);
    let action = app.on_key(KeyEvent::from(KeyCode::Char('q')));
    assert_eq!(action, Action::Redraw);
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
    let action = app.on_key(KeyEvent::from(KeyCode::Char('y')));
    assert_eq!(action, Action::Quit);
    // s stops recording, l leaves it recording, other keys stay.
    for (key, action) in [
        ('s', Action::StopRecording),
        ('l', Action::Leave),
        ('n', Action::Redraw),
    ] {
        app.on_key(KeyEvent::from(KeyCode::Char('q')));
        assert_eq!(
            app.on_key(KeyEvent::from(KeyCode::Char(key))),
            action,
            "{key}"
        );
    }
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let mut app = app(1, 0);
    let mut rows = app.roster().rows().to_vec();
    rows[0].student.name = "Evil\u{1b}]0;pwned\u{7}Name".into();
    app.set_rows(rows);
    let terminal = render(&mut app, 80, 24, COLOR);
    let buffer = terminal.backend().buffer();
    let text: String = buffer.content().iter().map(|cell| cell.symbol()).collect();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    assert!(text.contains("Evil\u{FFFD}]0;pwned\u{FFFD}Name"), "{text}");
}

#[test]
fn no_color_uses_no_colours_at_all() {
    let mut app = app(30, 15);
    tap(&mut app, "04DEADBEEF0001", Outcome::Unknown, None);
    let plain = render(&mut app, 80, 24, Theme { color: false });
    for cell in plain.backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    // ...while the coloured theme does colour the same screen.
    let colored = render(&mut app, 80, 24, COLOR);
    assert!(
        colored
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|cell| cell.bg == Color::Yellow)
    );
}

#[test]
fn random_id_banner_asks_for_the_student_card() {
    let mut app = app(30, 15);
    tap(&mut app, "08A1B2C3", Outcome::RandomId, None);
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn a_card_that_cannot_be_read_says_tap_again() {
    let mut app = app(30, 15);
    app.apply(Update::Reader(ReaderEvent::CardError {
        reader: "Door B 00 01".into(),
        message: "the card refused to give its UID (status 6A 81)".into(),
        at: at("09:12:30"),
    }));
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
}

#[test]
fn a_wedge_reader_types_into_the_card_field_and_enter_submits() {
    let (mut app, mut received) = wedge_app(setup());
    for c in "04a1B2".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
    assert_eq!(key(&mut app, KeyCode::Enter), Action::Redraw);
    // The card goes into the reader channel, the way of every tap.
    assert_eq!(sent_card(&mut received), "04A1B2");
    assert_eq!(app.wedge_typed(), Some(""));
    // Keys that are not hex digits still work as keys.
    assert_eq!(key(&mut app, KeyCode::Char('j')), Action::Redraw);
}

#[test]
fn the_bell_rings_only_for_configured_outcomes() {
    let bell = Setup {
        bell: vec![taproll::config::Cue::Unknown],
        ..setup()
    };
    let mut app = app_with(30, 15, bell);
    tap(&mut app, "04A1B2C3", Outcome::Present, Some(student(1)));
    assert!(!app.take_bell());
    tap(&mut app, "04DEADBEEF0001", Outcome::Unknown, None);
    assert!(app.take_bell());
}

#[test]
fn wedge_digits_are_not_swallowed_by_help_or_the_quit_question() {
    let (mut app, mut received) = wedge_app(setup());
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Char('0'));
    assert_eq!(
        app.modal(),
        Some(&Modal::Help),
        "a digit does not close the help"
    );
    key(&mut app, KeyCode::Char('q')); // closes the help
    key(&mut app, KeyCode::Char('q')); // asks to quit
    assert_eq!(app.modal(), Some(&Modal::ConfirmQuit));
    key(&mut app, KeyCode::Char('4'));
    assert_eq!(key(&mut app, KeyCode::Enter), Action::Redraw);
    assert_eq!(sent_card(&mut received), "04");
    assert_eq!(app.modal(), Some(&Modal::ConfirmQuit), "the question stays");
    // Esc drops half-typed input.
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Char('a'));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.wedge_typed(), Some(""));
}

mod dialogs {
    use super::*;
    use taproll::domain::Mark;
    use taproll::report::Totals;
    use taproll::store::UnclaimedTap;

    fn unclaimed(tap_id: i64, uid: &str, time: &str) -> UnclaimedTap {
        UnclaimedTap {
            tap_id,
            uid: CardUid::parse(uid).unwrap(),
            at: at(time),
            reader: "Door 00 00".into(),
        }
    }

    #[test]
    fn mark_by_hand_choose_then_note() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Char('m'));
        insta::assert_snapshot!("mark_choose", render(&mut app, 80, 24, COLOR).backend());
        key(&mut app, KeyCode::Char('e'));
        for c in "doctor".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        insta::assert_snapshot!("mark_note", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            Action::SetMark {
                student_id: student(1).id,
                mark: Mark::Excused,
                note: Some("doctor".into())
            }
        );
        assert!(app.modal().is_none());
    }

    #[test]
    fn an_unknown_card_asks_whose_it_is() {
        let mut app = app(30, 15);
        tap(&mut app, "04DEADBEEF0001", Outcome::Unknown, None);
        let Some(Action::OpenAssign(pending)) = app.take_pending() else {
            panic!("the assign dialog is asked for");
        };
        assert_eq!(pending.uid.as_hex(), "04DEADBEEF0001");
        let students = (15..30).map(student).collect();
        app.ask_whose_card(pending, students);
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            Action::Redraw,
            "a stray Enter gives nothing away"
        );
        assert!(app.modal().is_some());
        for c in "ham".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        insta::assert_snapshot!("assign_search", render(&mut app, 80, 24, COLOR).backend());
        let action = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&action, Action::Claim { tap, move_card: false, .. } if tap.tap_id == 1),
            "{action:?}"
        );
    }

    #[test]
    fn moving_a_card_from_its_holder_is_asked_first() {
        let mut app = app(30, 15);
        app.ask_to_move_card(unclaimed(9, "04BBBBBB", "09:03:00"), student(2), student(5));
        insta::assert_snapshot!(
            "assign_confirm_move",
            render(&mut app, 80, 24, COLOR).backend()
        );
        assert_eq!(
            key(&mut app, KeyCode::Char('y')),
            Action::Claim {
                tap: unclaimed(9, "04BBBBBB", "09:03:00"),
                student_id: student(2).id,
                move_card: true
            }
        );
    }

    #[test]
    fn unclaimed_taps_list() {
        let mut app = app(30, 15);
        assert_eq!(key(&mut app, KeyCode::Char('U')), Action::OpenUnclaimed);
        app.show_unclaimed(vec![
            unclaimed(12, "04CCCCCC", "09:20:00"),
            unclaimed(7, "04BBBBBB", "09:03:00"),
        ]);
        key(&mut app, KeyCode::Down);
        insta::assert_snapshot!("unclaimed_list", render(&mut app, 80, 24, COLOR).backend());
        match key(&mut app, KeyCode::Enter) {
            Action::OpenAssign(tap) => assert_eq!(tap.tap_id, 7),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ending_the_session_asks_then_shows_the_summary() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('x'));
        insta::assert_snapshot!("end_confirm", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(key(&mut app, KeyCode::Char('y')), Action::EndSession);
        // What the event loop does once the engine has ended it.
        app.set_session(ended());
        app.show_summary(Totals {
            present: 12,
            late: 3,
            absent: 14,
            excused: 1,
            unknown_cards: 3,
            unclaimed_cards: 2,
            duplicates: 4,
            ..Totals::default()
        });
        insta::assert_snapshot!("end_summary", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(key(&mut app, KeyCode::Char('s')), Action::ExportReport);
        // Without a folder to save to.
        let no_export = Setup {
            export_to: None,
            ..setup()
        };
        let mut app = app_with(30, 15, no_export);
        app.set_session(ended());
        app.show_summary(Totals::default());
        assert_eq!(
            key(&mut app, KeyCode::Char('s')),
            Action::Redraw,
            "nothing to save to: s is any other key"
        );
        assert!(app.modal().is_none(), "back to the roster");
        assert_eq!(
            key(&mut app, KeyCode::Char('x')),
            Action::ShowSummary,
            "a summary closed by a stray key comes back"
        );
        assert_eq!(
            key(&mut app, KeyCode::Char('q')),
            Action::Quit,
            "no question once ended"
        );
        let ctrl_c = KeyEvent::new(
            KeyCode::Char('c'),
            ratatui::crossterm::event::KeyModifiers::CONTROL,
        );
        assert_eq!(app.on_key(ctrl_c), Action::Quit, "nor for Ctrl-C");
    }

    fn ended() -> Session {
        Session {
            ended_at: Some(at("10:30:00")),
            ..session()
        }
    }

    #[test]
    fn an_admin_card_opens_the_end_of_class_menu() {
        let mut app = app(30, 15);
        app.apply(taproll::engine::Update::AdminCard {
            reader: "Door 00 00".into(),
            at: at("10:30:00"),
        });
        assert_eq!(app.modal(), Some(&Modal::ConfirmEnd));
        assert_eq!(key(&mut app, KeyCode::Char('y')), Action::EndSession);
    }

    #[test]
    fn an_open_session_found_at_start_is_offered() {
        let mut app = app_with(30, 15, resuming());
        insta::assert_snapshot!("resume_offer", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(key(&mut app, KeyCode::Char('n')), Action::NewSession);
        let mut app = app_with(30, 15, resuming());
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            Action::ContinueSession,
            "Enter continues"
        );
        assert!(app.modal().is_none());
    }

    #[test]
    fn an_unanswered_resume_question_goes_on_with_the_session_by_itself() {
        let mut app = app_with(30, 15, resuming());
        assert_eq!(app.tick(at("09:13:00")), Action::Redraw);
        let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
        assert!(
            screen.contains("Goes on with it by itself in 34 s."),
            "{screen}"
        );
        assert_eq!(app.tick(at("09:13:34")), Action::ContinueSession);
        assert!(app.modal().is_none());
    }

    #[test]
    fn enrol_mode_binds_each_new_card_to_the_selected_student() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('n'));
        assert!(app.roster().enrolling());
        // Row 9 is the first student without a card in this roster.
        assert_eq!(app.roster().selected(), 9);
        insta::assert_snapshot!("enrol_mode", render(&mut app, 80, 24, COLOR).backend());
        tap(&mut app, "04ABABAB", Outcome::Unknown, None);
        match app.take_pending() {
            Some(Action::Claim {
                tap,
                student_id,
                move_card: false,
            }) => {
                assert_eq!(tap.uid.as_hex(), "04ABABAB");
                assert_eq!(student_id, student(9).id);
            }
            other => panic!("expected a claim: {other:?}"),
        }
        // What the event loop does once the card is bound.
        app.card_given();
        assert_eq!(app.roster().selected(), 19);
        key(&mut app, KeyCode::Char('n'));
        assert!(!app.roster().enrolling());
    }

    #[test]
    fn a_lost_card_is_taken_after_asking() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('L'));
        insta::assert_snapshot!("lost_card", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(
            key(&mut app, KeyCode::Char('y')),
            Action::RemoveCards(student(0).id)
        );
    }

    #[test]
    fn adding_a_student_needs_an_id_and_a_name() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('+'));
        for c in "s2001".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        // Enter in the id field goes on to the name; it does not save.
        assert_eq!(key(&mut app, KeyCode::Enter), Action::Redraw);
        for c in "Radia Perlman".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        insta::assert_snapshot!("add_student", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            Action::SaveStudent {
                existing: None,
                student_no: "s2001".into(),
                name: "Radia Perlman".into()
            }
        );
    }
}

#[test]
fn keys_come_from_the_keymap() {
    let keys = Setup {
        keys: taproll::keymap::Keymap {
            mark: 'M',
            ..Default::default()
        },
        ..setup()
    };
    let mut app = app_with(30, 15, keys);
    key(&mut app, KeyCode::Char('m'));
    assert!(app.modal().is_none(), "m is no longer the mark key");
    key(&mut app, KeyCode::Char('M'));
    assert!(matches!(app.modal(), Some(Modal::Mark(_))));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('?'));
    let screen = render(&mut app, 80, 30, COLOR).backend().to_string();
    assert!(
        screen.contains(" M               mark the selected student by hand"),
        "{screen}"
    );
}

#[test]
fn a_wedge_tap_during_the_resume_question_is_not_taken_as_an_answer() {
    let (mut app, mut received) = wedge_app(resuming());
    let resume = app.modal().cloned();
    assert!(matches!(resume, Some(Modal::Resume { .. })));
    for c in "04a1".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.modal().cloned(), resume, "still asking");
    assert_eq!(key(&mut app, KeyCode::Enter), Action::Redraw);
    assert_eq!(sent_card(&mut received), "04A1");
    assert_eq!(app.modal().cloned(), resume, "still asking");
}

#[test]
fn ready_is_not_said_while_no_reader_is_connected() {
    let mut app = app(3, 0);
    app.apply(Update::Reader(ReaderEvent::ReaderRemoved {
        reader: "ACS ACR122U 00 00".into(),
    }));
    let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
    assert!(!screen.contains("Ready"), "{screen}");
    assert!(
        screen.contains("No card reader — taps cannot be recorded"),
        "{screen}"
    );
}

#[test]
fn a_banner_makes_way_for_ready_after_a_while() {
    let mut app = app(3, 0);
    tap(&mut app, "04A1B2C3", Outcome::Present, Some(student(0)));
    app.tick(at("09:12:50"));
    assert!(matches!(app.banner(), Banner::Tap(_)));
    app.tick(at("09:12:54"));
    assert_eq!(app.banner(), &Banner::Ready);
    app.set_banner(Banner::Failed {
        what: "The mark was NOT saved".into(),
        error: "disk full".into(),
    });
    app.tick(at("09:13:30"));
    assert!(
        matches!(app.banner(), Banner::Failed { .. }),
        "a failure stays longer"
    );
    app.tick(at("09:13:54"));
    assert_eq!(app.banner(), &Banner::Ready);
}

#[test]
fn a_narrow_terminal_shows_fewer_columns_not_one_letter_names() {
    let mut app = app(12, 6);
    let screen = render(&mut app, 40, 12, COLOR).backend().to_string();
    assert!(screen.contains("Ada Lovelace"), "{screen}");
    assert!(!screen.contains("Student ID"), "{screen}");
    let screen = render(&mut app, 50, 12, COLOR).backend().to_string();
    assert!(
        screen.contains("Ada Lovelace") && screen.contains("Student ID"),
        "{screen}"
    );
    assert!(!screen.contains("Time"), "{screen}");
}

#[test]
fn the_counts_say_unmarked_and_a_mark_by_hand_says_manual() {
    let mut app = app(4, 1);
    let mut rows = app.roster().rows().to_vec();
    rows[1].mark = Some(Mark::Excused);
    rows[1].source = Some(MarkSource::Manual);
    app.set_rows(rows);
    let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
    assert!(screen.contains("Absent 0"), "{screen}");
    assert!(screen.contains("Unmarked 2"), "{screen}");
    assert!(screen.contains("excused manual"), "{screen}");
    assert!(!screen.contains(" hand"), "{screen}");
}

#[test]
fn over_a_dialog_the_hint_says_how_to_close_it() {
    let mut app = app(3, 0);
    tap(&mut app, "04FFFFFF", Outcome::Unknown, None);
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.modal(), Some(&Modal::ConfirmEnd));
    let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
    assert!(screen.contains("Esc close"), "{screen}");
    assert!(!screen.contains("q quit"), "{screen}");
}

#[test]
fn a_long_saved_report_banner_keeps_its_start_and_end_at_80_columns() {
    let mut app = app(3, 0);
    app.set_banner(Banner::Info {
        headline:
            "Report saved in /home/instructor/Documents/attendance/networks-101/taproll-reports"
                .into(),
        detail: "Networks_101-2026-11-30-session-7.csv, Networks_101-2026-11-30-session-7.xlsx"
            .into(),
    });
    let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
    assert!(
        screen.contains("Report saved in /home/instructor"),
        "{screen}"
    );
    assert!(screen.contains("…"), "{screen}");
    assert!(screen.contains("taproll-reports"), "{screen}");
    assert!(screen.contains("session-7.xlsx"), "{screen}");
}

mod sync {
    use super::*;
    use taproll::store::QueueCounts;
    use taproll::sync::{Link, SyncStatus};

    const NO_COLOR: Theme = Theme { color: false };

    fn status(link: Link, counts: QueueCounts) -> SyncStatus {
        SyncStatus {
            server: Some("https://attendance.example.edu/taproll".into()),
            link,
            counts,
            last_success: Some(at("09:11:58")),
            flushed: 0,
        }
    }

    fn queued(waiting: u64, parked: u64, sent: u64) -> QueueCounts {
        QueueCounts {
            waiting,
            parked,
            sent,
            oldest_waiting: (waiting > 0).then(|| at("09:05:12")),
        }
    }

    fn offline(next_try: Option<Timestamp>) -> Link {
        Link::Offline {
            since: at("09:12:05"),
            error: "the server refuses connections".into(),
            next_try,
        }
    }

    fn token_refused() -> Link {
        Link::Stopped {
            why: "the server refused the token (401); check sync.token_file".into(),
        }
    }

    /// The status line, the screen's last row.
    fn status_line(app: &mut App, width: u16) -> String {
        let screen = render(app, width, 24, NO_COLOR).backend().to_string();
        screen.lines().last().unwrap().to_string()
    }

    #[test]
    fn the_status_line_when_offline() {
        let mut app = app(30, 15);
        app.set_sync(status(offline(None), queued(40, 0, 118)));
        insta::assert_snapshot!(
            "status_offline",
            render(&mut app, 80, 24, NO_COLOR).backend()
        );
        // At 80 columns the error makes way for the key that shows it...
        let line = status_line(&mut app, 80);
        assert!(
            line.contains("│ offline since 09:12 · queued 40 (S: why) │"),
            "{line}"
        );
        // ...and is there where it fits.
        let line = status_line(&mut app, 120);
        assert!(
            line.contains("offline since 09:12 (the server refuses connections) · queued 40"),
            "{line}"
        );
    }

    #[test]
    fn the_status_line_when_stopped() {
        let mut app = app(30, 15);
        app.set_sync(status(token_refused(), queued(5, 0, 0)));
        insta::assert_snapshot!(
            "status_stopped",
            render(&mut app, 80, 24, NO_COLOR).backend()
        );
        let line = status_line(&mut app, 160);
        assert!(
            line.contains("sync stopped: the server refused the token (401)"),
            "{line}"
        );
    }

    #[test]
    fn the_status_line_when_parked() {
        let mut app = app(30, 15);
        app.set_sync(status(Link::Online, queued(0, 2, 57)));
        insta::assert_snapshot!(
            "status_parked",
            render(&mut app, 80, 24, NO_COLOR).backend()
        );
        assert!(status_line(&mut app, 80).contains("│ parked 2 │"));
    }

    #[test]
    fn the_sync_view_when_online() {
        let mut app = app(30, 15);
        app.set_sync(status(Link::Online, queued(3, 0, 118)));
        key(&mut app, KeyCode::Char('S'));
        insta::assert_snapshot!("view_online", render(&mut app, 80, 24, NO_COLOR).backend());
    }

    #[test]
    fn the_sync_view_when_offline_says_the_next_try_and_the_parked() {
        let mut app = app(30, 15);
        app.set_sync(status(offline(Some(at("09:14:10"))), queued(40, 2, 118)));
        key(&mut app, KeyCode::Char('S'));
        insta::assert_snapshot!("view_offline", render(&mut app, 80, 24, NO_COLOR).backend());
    }

    #[test]
    fn the_sync_view_when_stopped() {
        let mut app = app(30, 15);
        app.set_sync(status(token_refused(), queued(5, 0, 0)));
        key(&mut app, KeyCode::Char('S'));
        insta::assert_snapshot!("view_stopped", render(&mut app, 80, 24, NO_COLOR).backend());
    }

    #[test]
    fn the_sync_view_when_off() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('S'));
        insta::assert_snapshot!("view_off", render(&mut app, 80, 24, NO_COLOR).backend());
    }

    #[test]
    fn the_sync_view_follows_the_sender_live() {
        let mut app = app(30, 15);
        app.set_sync(status(Link::Starting, queued(3, 0, 0)));
        key(&mut app, KeyCode::Char('S'));
        let screen = render(&mut app, 80, 24, NO_COLOR).backend().to_string();
        assert!(screen.contains("starting: nothing tried yet"), "{screen}");
        app.set_sync(status(Link::Online, queued(0, 0, 3)));
        let screen = render(&mut app, 80, 24, NO_COLOR).backend().to_string();
        assert!(screen.contains("State        online"), "{screen}");
        assert!(screen.contains("3 so far"), "{screen}");
    }

    #[test]
    fn what_the_server_says_never_reaches_the_terminal_raw() {
        let mut app = app(30, 15);
        let link = Link::Offline {
            since: at("09:12:05"),
            error: "bad gateway\u{1b}]0;pwned\u{7}".into(),
            next_try: None,
        };
        let mut evil = status(link, queued(1, 0, 0));
        evil.server = Some("https://evil\u{1b}[2J.example".into());
        app.set_sync(evil);
        key(&mut app, KeyCode::Char('S'));
        let terminal = render(&mut app, 80, 24, NO_COLOR);
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|cell| cell.symbol())
            .collect();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
        assert!(
            text.contains("bad gateway\u{FFFD}]0;pwned\u{FFFD}"),
            "{text}"
        );
    }

    #[test]
    fn the_sync_key_opens_the_view_and_any_key_closes_it() {
        for closing in [
            KeyCode::Esc,
            KeyCode::Char('q'),
            KeyCode::Char('S'),
            KeyCode::Enter,
            KeyCode::Char('z'),
        ] {
            let mut app = app(30, 15);
            assert_eq!(key(&mut app, KeyCode::Char('S')), Action::Redraw);
            assert_eq!(app.modal(), Some(&Modal::Sync));
            assert!(!Modal::Sync.is_dialog() && !Modal::Sync.takes_text());
            assert_eq!(key(&mut app, closing), Action::Redraw);
            assert!(app.modal().is_none(), "{closing:?} closes it");
        }
        // q closed the view: it did not ask to quit as well.
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('S'));
        key(&mut app, KeyCode::Char('q'));
        assert_eq!(app.modal(), None);
        // r in the view puts the parked events back, and closes it.
        let mut viewing = self::app(30, 15);
        key(&mut viewing, KeyCode::Char('S'));
        assert_eq!(key(&mut viewing, KeyCode::Char('r')), Action::RetryParked);
        assert_eq!(viewing.modal(), None);
    }

    #[test]
    fn the_sync_key_comes_from_the_keymap() {
        let keys = Setup {
            keys: taproll::keymap::Keymap {
                sync: 'Y',
                ..Default::default()
            },
            ..setup()
        };
        let mut app = app_with(30, 15, keys);
        key(&mut app, KeyCode::Char('S'));
        assert!(app.modal().is_none(), "S is no longer the sync key");
        key(&mut app, KeyCode::Char('Y'));
        assert_eq!(app.modal(), Some(&Modal::Sync));
    }

    #[test]
    fn a_wedge_readers_hex_digits_never_open_it_nor_close_it() {
        let (mut app, mut received) = wedge_app(setup());
        for card in ["0123456789abcdef", "ABCDEF"] {
            for c in card.chars() {
                key(&mut app, KeyCode::Char(c));
                assert_eq!(app.modal(), None, "{c} opens nothing");
            }
            assert_eq!(key(&mut app, KeyCode::Enter), Action::Redraw);
            assert_eq!(sent_card(&mut received), card.to_uppercase());
        }
        // Open, the view lets the reader's card through and stays.
        key(&mut app, KeyCode::Char('S'));
        for c in "04A1".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        assert_eq!(sent_card(&mut received), "04A1");
        assert_eq!(app.modal(), Some(&Modal::Sync), "a tap does not close it");
        key(&mut app, KeyCode::Esc);
        assert_eq!(app.modal(), None);
    }

    #[test]
    fn an_admin_card_replaces_the_sync_view_with_the_end_of_class_menu() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('S'));
        app.apply(Update::AdminCard {
            reader: "Door 00 00".into(),
            at: at("10:30:00"),
        });
        assert_eq!(app.modal(), Some(&Modal::ConfirmEnd));
    }
}

/// The door display: the screen facing the students, at an SSH terminal's
/// 80x24 and a large screen's 200x60.
mod door {
    use super::*;
    use ratatui::style::Modifier;
    use taproll::door::{Door, view};

    const SIZES: [(u16, u16); 2] = [(80, 24), (200, 60)];

    /// Attached to its recorder, with a reader, at 09:12:34.
    fn door() -> Door {
        let mut door = Door::new("Networks 101".into(), at("09:12:34"));
        door.set_connected(true);
        door.set_readers(vec!["ACS ACR122U 00 00".into()]);
        door
    }

    fn tap(door: &mut Door, uid: &str, outcome: Outcome, student: Option<Student>) {
        let record = TapRecord {
            tap_id: 1,
            tap_uuid: uuid::Uuid::nil(),
            session_uuid: uuid::Uuid::nil(),
            session_id: 7,
            at: at("09:12:33"),
            reader: "ACS ACR122U 00 00".into(),
            uid: CardUid::parse(uid).unwrap(),
            outcome,
            student,
        };
        door.apply(&Update::Tap(record), at("09:12:34"));
    }

    fn render(door: &Door, width: u16, height: u16, theme: Theme) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| view::render(door, theme, frame))
            .unwrap();
        terminal
    }

    /// The screen's text, row after row.
    fn text(door: &Door, width: u16, height: u16) -> String {
        render(door, width, height, COLOR).backend().to_string()
    }

    /// One snapshot per size: `{name}_{width}x{height}`.
    fn snapshots(name: &str, door: &Door) {
        for (width, height) in SIZES {
            insta::assert_snapshot!(
                format!("{name}_{width}x{height}"),
                render(door, width, height, COLOR).backend()
            );
        }
    }

    #[test]
    fn idle_invites_a_tap() {
        snapshots("idle", &door());
    }

    #[test]
    fn a_present_tap_says_welcome_with_the_name() {
        let mut door = door();
        tap(&mut door, "04A1B2C3", Outcome::Present, Some(student(7)));
        snapshots("present", &door);
    }

    #[test]
    fn an_unknown_card_asks_to_see_the_instructor() {
        let mut door = door();
        tap(&mut door, "04DEADBEEF0001", Outcome::Unknown, None);
        snapshots("unknown_card", &door);
    }

    #[test]
    fn a_tap_not_recorded_is_loud() {
        let mut door = door();
        let update = Update::NotRecorded {
            reader: "ACS ACR122U 00 00".into(),
            uid: CardUid::parse("04A1B2C3").unwrap(),
            at: at("09:12:33"),
            error: "database is locked".into(),
        };
        door.apply(&update, at("09:12:34"));
        snapshots("not_recorded", &door);
        // The whole screen in red, or in reverse video without colour.
        let colored = render(&door, 80, 24, COLOR);
        let cells = colored.backend().buffer().content();
        assert!(cells.iter().all(|cell| cell.bg == Color::Red));
        let plain = render(&door, 80, 24, Theme { color: false });
        for cell in plain.backend().buffer().content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
            assert!(cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
        }
    }

    #[test]
    fn without_a_reader_it_does_not_invite_a_tap() {
        let mut door = door();
        door.set_readers(Vec::new());
        snapshots("no_reader", &door);
    }

    #[test]
    fn without_its_recorder_it_says_not_recording() {
        let mut door = door();
        door.set_connected(false);
        for (width, height) in SIZES {
            let screen = text(&door, width, height);
            assert!(!screen.contains("Tap your card"), "{screen}");
        }
        assert!(text(&door, 80, 24).contains("Not recording — see the instructor"));
    }

    #[test]
    fn back_to_tap_your_card_after_a_while() {
        let mut door = door();
        tap(&mut door, "04A1B2C3", Outcome::Present, Some(student(7)));
        door.tick(at("09:12:34") + taproll::door::SHOWN_FOR);
        assert_eq!(text(&door, 200, 60), text(&self::door(), 200, 60));
    }

    #[test]
    fn a_name_too_long_for_big_letters_is_shown_whole_in_normal_ones() {
        let name = "Wolfeschlegelsteinhausenbergerdorff-Lothringen";
        for (width, height) in SIZES {
            let mut door = door();
            let mut holder = student(0);
            holder.name = name.into();
            tap(&mut door, "04A1B2C3", Outcome::Present, Some(holder));
            let screen = text(&door, width, height);
            assert!(screen.contains(name), "{screen}");
        }
    }

    #[test]
    fn a_name_the_font_cannot_draw_is_shown_in_normal_letters() {
        let mut door = door();
        let mut holder = student(0);
        holder.name = "李小龍 Łukasz".into();
        tap(&mut door, "04A1B2C3", Outcome::Present, Some(holder));
        let screen = text(&door, 200, 60);
        assert!(screen.contains("李小龍 Łukasz"), "{screen}");
    }

    #[test]
    fn no_color_uses_no_colours_at_the_door_either() {
        let mut door = door();
        tap(&mut door, "04DEADBEEF0001", Outcome::Unknown, None);
        let plain = render(&door, 80, 24, Theme { color: false });
        for cell in plain.backend().buffer().content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
    }
}

#[test]
fn a_student_at_risk_has_a_mark_and_the_status_line_says_why_when_selected() {
    let mut app = app(12, 4);
    let why = "62% (min 75%); 3 absent in a row; max 72% of 12";
    app.set_risk(std::collections::HashMap::from([
        (student(1).student_no, why.to_string()),
        (student(5).student_no, "4 absences in a row".to_string()),
    ]));
    // Alan Turing, second by name.
    key(&mut app, KeyCode::Down);
    let screen = render(&mut app, 80, 24, Theme { color: false });
    let text = screen.backend().to_string();
    assert!(
        text.contains("! Alan Turing") && text.contains("! Grace Hopper"),
        "{text}"
    );
    // After the reader, whole at 80 columns.
    assert!(
        text.contains(&format!("● ACS ACR122U 00 00 │ ! risk: {why}")),
        "{text}"
    );
    assert_eq!(
        text.matches("! ").count(),
        3,
        "two marks and the status line"
    );
    insta::assert_snapshot!(screen.backend());
    // Narrower: the reader's name gives way down to its start, then the
    // reasons are cut.
    let narrow = render(&mut app, 60, 24, Theme { color: false });
    let narrow = narrow.backend().to_string();
    assert!(
        narrow.contains("● ACS ACR122U… │ ! risk: 62% (min 75%); 3 absent in a row;…"),
        "{narrow}"
    );
    // Another student selected: the status line says nothing of risk.
    key(&mut app, KeyCode::Down);
    let text = render(&mut app, 80, 24, COLOR).backend().to_string();
    assert!(!text.contains("risk"), "{text}");
}

#[test]
fn the_reasons_of_risk_are_whole_beside_a_real_acr122us_long_name_at_80_columns() {
    let mut app = app(12, 4);
    // What pcsc-lite calls an ACR122U.
    app.apply(Update::Reader(ReaderEvent::ReaderRemoved {
        reader: "ACS ACR122U 00 00".into(),
    }));
    app.apply(Update::Reader(ReaderEvent::ReaderAdded {
        reader: "ACS ACR122U PICC Interface 00 00".into(),
    }));
    let why = "62% (min 75%); 3 absent in a row; max 72% of 12";
    app.set_risk(std::collections::HashMap::from([(
        student(1).student_no,
        why.to_string(),
    )]));
    let status = |app: &mut App| {
        let screen = render(app, 80, 24, Theme { color: false });
        let text = screen.backend().to_string();
        text.lines()
            .find(|line| line.contains('●'))
            .unwrap_or_else(|| panic!("no reader in the status line:\n{text}"))
            .to_string()
    };
    // Nobody at risk selected: the reader's whole name.
    assert!(
        status(&mut app).contains("● ACS ACR122U PICC Interface 00 00 │"),
        "{}",
        status(&mut app)
    );
    // Alan Turing, at risk: the reasons whole, the reader's name cut.
    key(&mut app, KeyCode::Down);
    let line = status(&mut app);
    assert!(
        line.contains(&format!("● ACS ACR122U PICC I… │ ! risk: {why}")),
        "{line}"
    );
}

/// The term view: the course's marks over the term as a grid.
mod term {
    use super::*;
    use taproll::report::model::{SessionReport, Totals, course_report};
    use taproll::store::ReportRow;
    use taproll::tui::term_grid::TermGrid;

    const NO_COLOR: Theme = Theme { color: false };

    /// The `back`-th session before today's (`0`): Mondays and Thursdays.
    fn started(back: usize) -> Timestamp {
        let days = 7 * (back / 2) + 4 * (back % 2);
        at("09:00:00") - chrono::Duration::days(days as i64)
    }

    /// A mark for student `i` in session `j`: mostly present, some late,
    /// absent, excused, spread so that the grid is not a pattern.
    fn mark(i: usize, j: usize) -> Mark {
        match (i * 7 + j * 3 + i * j) % 17 {
            0 | 1 => Mark::Absent,
            2 | 3 => Mark::Late,
            4 => Mark::Excused,
            _ => Mark::Present,
        }
    }

    /// Networks 101 with `count` sessions, today's open and half marked,
    /// and `students` students; the sixth came after the first six sessions,
    /// the fifth has a name too long for the name column.
    fn course(count: usize, students: usize) -> TermGrid {
        let name = |i: usize| match i {
            4 => "Edsger Wybe Dijkstra-van Wijngaarden".to_string(),
            i => student(i).name,
        };
        let sessions = (0..count)
            .map(|j| {
                let open = j + 1 == count;
                let rows = (0..students)
                    .filter(|&i| i != 5 || j >= 6)
                    .map(|i| ReportRow {
                        student_no: student(i).student_no,
                        name: name(i),
                        section: None,
                        mark: (!open || i < students / 2).then(|| mark(i, j)),
                        source: None,
                        note: None,
                        first_tap: None,
                    })
                    .collect();
                let started_at = started(count - 1 - j);
                SessionReport {
                    course: "Networks 101".into(),
                    id: j as i64 + 1,
                    label: None,
                    started_at,
                    ended_at: (!open).then(|| started_at + chrono::Duration::minutes(90)),
                    students: rows,
                    totals: Totals::default(),
                    unknown_taps: Vec::new(),
                }
            })
            .collect();
        let report = course_report("Networks 101".into(), None, None, Vec::new(), sessions);
        TermGrid::from_report(&report)
    }

    /// The roster, with the term view opened over it as `t` does.
    fn opened(grid: TermGrid, width: u16, height: u16) -> App {
        let mut app = app(30, 15);
        // The event loop has measured the screen before any key.
        render(&mut app, width, height, COLOR);
        assert_eq!(key(&mut app, KeyCode::Char('t')), Action::OpenTerm);
        // What `actions.rs` does with the course's report.
        app.show_term(grid);
        app
    }

    /// The screen's styles, a character a cell: the foreground colour's
    /// initial (`g`reen, `y`ellow, `r`ed, `c`yan, `d`ark grey, grey `a`,
    /// `.` none), a capital (`#` for none) in reverse video.
    fn styles(terminal: &Terminal<TestBackend>) -> String {
        let buffer = terminal.backend().buffer();
        let width = usize::from(buffer.area.width);
        let mut out = String::new();
        for (index, cell) in buffer.content().iter().enumerate() {
            let c = match cell.fg {
                Color::Reset => '.',
                Color::Green => 'g',
                Color::Yellow => 'y',
                Color::Red => 'r',
                Color::Cyan => 'c',
                Color::DarkGray => 'd',
                Color::Gray => 'a',
                _ => '?',
            };
            let reversed = cell.modifier.contains(ratatui::style::Modifier::REVERSED);
            out.push(match (reversed, c) {
                (true, '.') => '#',
                (true, c) => c.to_ascii_uppercase(),
                (false, c) => c,
            });
            if (index + 1) % width == 0 {
                out.push('\n');
            }
        }
        out
    }

    /// Text and styles at one size, in colour and under NO_COLOR: the text
    /// is the same, NO_COLOR has no colour at all.
    fn snapshots(name: &str, app: &mut App, width: u16, height: u16) {
        let colour = render(app, width, height, COLOR);
        let plain = render(app, width, height, NO_COLOR);
        assert_eq!(colour.backend().to_string(), plain.backend().to_string());
        for cell in plain.backend().buffer().content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), plain.backend());
        insta::assert_snapshot!(format!("{name}_{width}x{height}_colours"), styles(&colour));
        insta::assert_snapshot!(format!("{name}_{width}x{height}_no_color"), styles(&plain));
    }

    #[test]
    fn the_grid_at_80x24_and_200x60() {
        let mut app = opened(course(24, 30), 80, 24);
        snapshots("grid", &mut app, 80, 24);
        let mut app = opened(course(24, 30), 200, 60);
        snapshots("grid", &mut app, 200, 60);
    }

    #[test]
    fn more_sessions_than_fit_scroll_sideways() {
        let mut app = opened(course(80, 30), 80, 24);
        let screen = render(&mut app, 80, 24, NO_COLOR).backend().to_string();
        assert!(
            screen.contains("sessions 35–80 of 80"),
            "the newest: {screen}"
        );
        for _ in 0..60 {
            key(&mut app, KeyCode::Char('h'));
        }
        for _ in 0..20 {
            key(&mut app, KeyCode::Char('j'));
        }
        insta::assert_snapshot!(
            "scrolled_80x24",
            render(&mut app, 80, 24, NO_COLOR).backend()
        );
        // A bigger screen shows it all.
        let terminal = render(&mut app, 200, 60, NO_COLOR);
        let screen = terminal.backend().to_string();
        assert!(screen.contains("sessions 1–80 of 80"), "{screen}");
        insta::assert_snapshot!("scrolled_200x60", terminal.backend());
    }

    #[test]
    fn a_tiny_terminal_or_an_empty_course_draws_without_trouble() {
        for (width, height) in [(40, 12), (20, 8), (5, 3), (1, 1)] {
            let mut app = opened(course(24, 30), width, height);
            render(&mut app, width, height, COLOR);
            key(&mut app, KeyCode::Char('h'));
            key(&mut app, KeyCode::PageDown);
            render(&mut app, width, height, NO_COLOR);
        }
        let mut app = opened(course(0, 0), 80, 24);
        let screen = render(&mut app, 80, 24, NO_COLOR).backend().to_string();
        assert!(
            screen.contains("No students on this course yet."),
            "{screen}"
        );
        key(&mut app, KeyCode::Char('l'));
        key(&mut app, KeyCode::Char('j'));
        assert!(app.term_open());
    }

    #[test]
    fn keys_move_around_the_grid_and_close_it() {
        let mut app = opened(course(24, 30), 80, 24);
        let footer = |app: &mut App| {
            let screen = render(app, 80, 24, NO_COLOR).backend().to_string();
            let lines: Vec<String> = screen.lines().map(str::to_string).collect();
            // The two lines over the box's bottom border.
            lines[lines.len() - 7..lines.len() - 5].join("\n")
        };
        // At the roster's selection (the first student), today's session.
        let text = footer(&mut app);
        assert!(
            text.contains("Session 24 · Mon 30 Nov 2026 09:00 · open now"),
            "{text}"
        );
        assert!(text.contains("Ada Lovelace (s1001): "), "{text}");
        key(&mut app, KeyCode::Left);
        key(&mut app, KeyCode::Down);
        let text = footer(&mut app);
        assert!(
            text.contains("Session 23 · Thu 26 Nov 2026 09:00"),
            "{text}"
        );
        assert!(text.contains("(s1013): "), "{text}");
        key(&mut app, KeyCode::Char('l'));
        key(&mut app, KeyCode::Char('G'));
        let text = footer(&mut app);
        assert!(text.contains("Session 24"), "{text}");
        assert!(text.contains("not marked yet"), "{text}");
        // A key of the roster does nothing here: the grid stays.
        assert_eq!(key(&mut app, KeyCode::Char('m')), Action::None);
        assert!(app.term_open());
        for close in [KeyCode::Esc, KeyCode::Char('t'), KeyCode::Char('q')] {
            app.show_term(course(24, 30));
            assert!(app.term_open());
            assert_eq!(key(&mut app, close), Action::Redraw);
            assert!(app.modal().is_none(), "{close:?}");
        }
        app.show_term(course(24, 30));
        let ctrl_c = KeyEvent::new(
            KeyCode::Char('c'),
            ratatui::crossterm::event::KeyModifiers::CONTROL,
        );
        app.on_key(ctrl_c);
        assert!(app.modal().is_none(), "Ctrl-C closes it first");
    }

    #[test]
    fn the_term_key_comes_from_the_keymap_and_the_help_lists_it() {
        let keys = Setup {
            keys: taproll::keymap::Keymap {
                term: 'T',
                ..Default::default()
            },
            ..setup()
        };
        let mut app = app_with(30, 15, keys);
        assert_eq!(key(&mut app, KeyCode::Char('t')), Action::None);
        assert_eq!(key(&mut app, KeyCode::Char('T')), Action::OpenTerm);
        app.show_term(course(4, 3));
        let screen = render(&mut app, 80, 24, NO_COLOR).backend().to_string();
        assert!(screen.contains("Esc T close"), "{screen}");
        key(&mut app, KeyCode::Char('T'));
        assert!(app.modal().is_none());
        key(&mut app, KeyCode::Char('?'));
        let screen = render(&mut app, 80, 30, NO_COLOR).backend().to_string();
        assert!(
            screen.contains(" T               the term: all sessions' marks as a grid"),
            "{screen}"
        );
    }

    #[test]
    fn a_wedge_readers_digits_go_to_the_card_not_the_grid() {
        let (mut app, mut received) = wedge_app(setup());
        app.show_term(course(24, 30));
        for c in "04A1B2C3".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        assert_eq!(sent_card(&mut received), "04A1B2C3");
        assert!(app.term_open());
    }

    #[test]
    fn an_admin_card_replaces_the_grid_with_the_end_of_class_menu() {
        let mut app = app(30, 15);
        app.show_term(course(24, 30));
        app.apply(Update::AdminCard {
            reader: "ACS ACR122U 00 00".into(),
            at: at("09:12:40"),
        });
        assert_eq!(app.modal(), Some(&Modal::ConfirmEnd));
    }

    #[test]
    fn control_characters_in_names_and_labels_never_reach_the_terminal() {
        let evil = "Evil\u{1b}]0;pwned\u{7}Name";
        let report = course_report(
            "Net\u{1b}[2Jworks".into(),
            None,
            None,
            Vec::new(),
            vec![SessionReport {
                course: "Networks".into(),
                id: 1,
                label: Some("Lab\u{1b}[31m 1".into()),
                started_at: at("09:00:00"),
                ended_at: None,
                students: vec![ReportRow {
                    student_no: "s\u{7}1".into(),
                    name: evil.into(),
                    section: None,
                    mark: Some(Mark::Present),
                    source: None,
                    note: None,
                    first_tap: None,
                }],
                totals: Totals::default(),
                unknown_taps: Vec::new(),
            }],
        );
        let mut app = app(1, 0);
        render(&mut app, 80, 24, COLOR);
        app.show_term(TermGrid::from_report(&report));
        let terminal = render(&mut app, 80, 24, COLOR);
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|cell| cell.symbol())
            .collect();
        assert!(!text.chars().any(|c| c.is_control()), "{text}");
        for shown in [
            "Evil\u{FFFD}]0;pwned\u{FFFD}Name",
            "Net\u{FFFD}[2Jworks",
            "Lab\u{FFFD}[31m 1",
            "s\u{FFFD}1",
        ] {
            assert!(text.contains(shown), "{shown}: {text}");
        }
    }
}
