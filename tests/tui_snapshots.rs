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
use taproll::tui::app::App;
use taproll::tui::theme::Theme;
use taproll::tui::view;

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

/// An app with `count` students, the first `marked` of them present or late.
fn app(count: usize, marked: usize) -> App {
    let mut app = App::new(
        &session(),
        "/home/pi/.local/share/taproll/taproll.db".into(),
        at("09:12:34"),
    );
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
    app.page_rows = view::page_rows(ratatui::layout::Rect::new(0, 0, width, height));
    app.scroll_into_view();
    terminal
        .draw(|frame| view::render(app, theme, frame))
        .unwrap();
    terminal
}

const COLOR: Theme = Theme { color: true };

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
    app.banner = taproll::tui::app::Banner::Failed {
        what: "The xlsx report was NOT saved".into(),
        error: "cannot write /home/pi/r.xlsx: No space left on device (saved: r.csv)".into(),
    };
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
    assert_eq!(action, taproll::tui::app::Action::Redraw);
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
    let action = app.on_key(KeyEvent::from(KeyCode::Char('y')));
    assert_eq!(action, taproll::tui::app::Action::Quit);
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let mut app = app(1, 0);
    let mut rows = app.rows.clone();
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
    let mut app = app(30, 15);
    app.wedge_input = Some(String::new());
    for key in "04a1B2".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(key)));
    }
    insta::assert_snapshot!(render(&mut app, 80, 24, COLOR).backend());
    let action = app.on_key(KeyEvent::from(KeyCode::Enter));
    assert_eq!(
        action,
        taproll::tui::app::Action::WedgeLine("04a1B2".into())
    );
    assert_eq!(app.wedge_input.as_deref(), Some(""));
    // Keys that are not hex digits still work as keys.
    assert_eq!(
        app.on_key(KeyEvent::from(KeyCode::Char('j'))),
        taproll::tui::app::Action::Redraw
    );
}

#[test]
fn the_bell_rings_only_for_configured_outcomes() {
    let mut app = app(30, 15);
    app.bell = vec![taproll::config::Cue::Unknown];
    tap(&mut app, "04A1B2C3", Outcome::Present, Some(student(1)));
    assert!(!app.ring_bell);
    tap(&mut app, "04DEADBEEF0001", Outcome::Unknown, None);
    assert!(app.ring_bell);
}

#[test]
fn wedge_digits_are_not_swallowed_by_help_or_the_quit_question() {
    use taproll::tui::app::{Action, Mode};
    let mut app = app(3, 0);
    app.wedge_input = Some(String::new());
    app.on_key(KeyEvent::from(KeyCode::Char('?')));
    app.on_key(KeyEvent::from(KeyCode::Char('0')));
    assert_eq!(app.mode, Mode::Help, "a digit does not close the help");
    app.on_key(KeyEvent::from(KeyCode::Char('q'))); // closes the help
    app.on_key(KeyEvent::from(KeyCode::Char('q'))); // asks to quit
    assert_eq!(app.mode, Mode::ConfirmQuit);
    app.on_key(KeyEvent::from(KeyCode::Char('4')));
    assert_eq!(
        app.on_key(KeyEvent::from(KeyCode::Enter)),
        Action::WedgeLine("04".into())
    );
    assert_eq!(app.mode, Mode::ConfirmQuit, "the question stays");
    // Esc drops half-typed input.
    app.on_key(KeyEvent::from(KeyCode::Char('n')));
    app.on_key(KeyEvent::from(KeyCode::Char('a')));
    app.on_key(KeyEvent::from(KeyCode::Esc));
    assert_eq!(app.wedge_input.as_deref(), Some(""));
}

mod dialogs {
    use super::*;
    use taproll::domain::Mark;
    use taproll::report::Totals;
    use taproll::store::UnclaimedTap;
    use taproll::tui::app::Action;
    use taproll::tui::dialog::{AssignDialog, Dialog};

    fn key(app: &mut App, code: KeyCode) -> Action {
        app.on_key(KeyEvent::from(code))
    }

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
        assert!(app.dialog.is_none());
    }

    #[test]
    fn an_unknown_card_asks_whose_it_is() {
        let mut app = app(30, 15);
        tap(&mut app, "04DEADBEEF0001", Outcome::Unknown, None);
        let Some(Action::OpenAssign(pending)) = app.pending.take() else {
            panic!("the assign dialog is asked for");
        };
        assert_eq!(pending.uid.as_hex(), "04DEADBEEF0001");
        let students = (15..30).map(student).collect();
        app.dialog = Some(Dialog::Assign(AssignDialog::new(pending, students)));
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            Action::Redraw,
            "a stray Enter gives nothing away"
        );
        assert!(app.dialog.is_some());
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
        let mut dialog = AssignDialog::new(unclaimed(9, "04BBBBBB", "09:03:00"), Vec::new());
        dialog.confirm_move = Some((student(2), student(5)));
        app.dialog = Some(Dialog::Assign(dialog));
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
        app.dialog = Some(Dialog::Unclaimed(taproll::tui::dialog::UnclaimedDialog {
            taps: vec![
                unclaimed(12, "04CCCCCC", "09:20:00"),
                unclaimed(7, "04BBBBBB", "09:03:00"),
            ],
            selected: 0,
        }));
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
        app.session_ended = true;
        app.dialog = Some(Dialog::Summary {
            summary: Totals {
                present: 12,
                late: 3,
                absent: 14,
                excused: 1,
                unknown_cards: 3,
                unclaimed_cards: 2,
                duplicates: 4,
                ..Totals::default()
            },
            export_to: Some("/home/pi/taproll-reports (csv, xlsx)".into()),
        });
        insta::assert_snapshot!("end_summary", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(key(&mut app, KeyCode::Char('s')), Action::ExportReport);
        app.dialog = Some(Dialog::Summary {
            summary: Totals::default(),
            export_to: None,
        });
        assert_eq!(
            key(&mut app, KeyCode::Char('s')),
            Action::Redraw,
            "nothing to save to: s is any other key"
        );
        assert!(app.dialog.is_none(), "back to the roster");
        assert_eq!(
            key(&mut app, KeyCode::Char('q')),
            Action::Quit,
            "no question once ended"
        );
    }

    #[test]
    fn an_admin_card_opens_the_end_of_class_menu() {
        let mut app = app(30, 15);
        app.apply(taproll::engine::Update::AdminCard {
            reader: "Door 00 00".into(),
            at: at("10:30:00"),
        });
        assert_eq!(app.dialog, Some(Dialog::ConfirmEnd));
        assert_eq!(key(&mut app, KeyCode::Char('y')), Action::EndSession);
    }

    #[test]
    fn an_open_session_found_at_start_is_offered() {
        let mut app = app(30, 15);
        let until = at("09:13:34");
        app.dialog = Some(Dialog::Resume { until });
        insta::assert_snapshot!("resume_offer", render(&mut app, 80, 24, COLOR).backend());
        assert_eq!(key(&mut app, KeyCode::Char('n')), Action::NewSession);
        app.dialog = Some(Dialog::Resume { until });
        assert_eq!(
            key(&mut app, KeyCode::Enter),
            Action::ContinueSession,
            "Enter continues"
        );
        assert!(app.dialog.is_none());
    }

    #[test]
    fn an_unanswered_resume_question_goes_on_with_the_session_by_itself() {
        let mut app = app(30, 15);
        let until = at("09:13:34");
        app.dialog = Some(Dialog::Resume { until });
        assert_eq!(app.tick(at("09:13:00")), Action::Redraw);
        let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
        assert!(
            screen.contains("Goes on with it by itself in 34 s."),
            "{screen}"
        );
        assert_eq!(app.tick(until), Action::ContinueSession);
        assert!(app.dialog.is_none());
    }

    #[test]
    fn enrol_mode_binds_each_new_card_to_the_selected_student() {
        let mut app = app(30, 15);
        key(&mut app, KeyCode::Char('n'));
        assert!(app.enrol);
        // Row 9 is the first student without a card in this roster.
        assert_eq!(app.selected, 9);
        insta::assert_snapshot!("enrol_mode", render(&mut app, 80, 24, COLOR).backend());
        tap(&mut app, "04ABABAB", Outcome::Unknown, None);
        match app.pending.take() {
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
        app.select_next_without_card();
        assert_eq!(app.selected, 19);
        key(&mut app, KeyCode::Char('n'));
        assert!(!app.enrol);
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
    let mut app = app(30, 15);
    app.keys = taproll::keymap::Keymap {
        mark: 'M',
        ..Default::default()
    };
    app.on_key(KeyEvent::from(KeyCode::Char('m')));
    assert!(app.dialog.is_none(), "m is no longer the mark key");
    app.on_key(KeyEvent::from(KeyCode::Char('M')));
    assert!(app.dialog.is_some());
    app.dialog = None;
    app.on_key(KeyEvent::from(KeyCode::Char('?')));
    let screen = render(&mut app, 80, 30, COLOR).backend().to_string();
    assert!(
        screen.contains(" M               mark the selected student by hand"),
        "{screen}"
    );
}

#[test]
fn a_wedge_tap_during_the_resume_question_is_not_taken_as_an_answer() {
    use taproll::tui::app::Action;
    use taproll::tui::dialog::Dialog;
    let mut app = app(3, 0);
    app.wedge_input = Some(String::new());
    let resume = Dialog::Resume {
        until: at("09:13:34"),
    };
    app.dialog = Some(resume.clone());
    for c in "04a1".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(c)));
    }
    assert_eq!(app.dialog, Some(resume), "still asking");
    assert_eq!(
        app.on_key(KeyEvent::from(KeyCode::Enter)),
        Action::WedgeLine("04a1".into())
    );
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
    assert!(matches!(app.banner, taproll::tui::app::Banner::Tap(_)));
    app.tick(at("09:12:54"));
    assert_eq!(app.banner, taproll::tui::app::Banner::Ready);
    app.set_banner(taproll::tui::app::Banner::Failed {
        what: "The mark was NOT saved".into(),
        error: "disk full".into(),
    });
    app.tick(at("09:13:30"));
    assert!(
        matches!(app.banner, taproll::tui::app::Banner::Failed { .. }),
        "a failure stays longer"
    );
    app.tick(at("09:13:54"));
    assert_eq!(app.banner, taproll::tui::app::Banner::Ready);
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
    let mut rows = app.rows.clone();
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
    app.dialog = Some(taproll::tui::dialog::Dialog::ConfirmEnd);
    let screen = render(&mut app, 80, 24, COLOR).backend().to_string();
    assert!(screen.contains("Esc close"), "{screen}");
    assert!(!screen.contains("q quit"), "{screen}");
}

#[test]
fn a_long_saved_report_banner_keeps_its_start_and_end_at_80_columns() {
    let mut app = app(3, 0);
    app.set_banner(taproll::tui::app::Banner::Info {
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
