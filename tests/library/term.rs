//! The TUI's term view reads the course report from the database, as
//! `taproll report --course` does: the grid is that report.

use crate::common::{Sandbox, at, time};
use taproll::domain::Mark;
use taproll::report::Zone;
use taproll::store::Store;
use taproll::tui::actions::load_term;
use taproll::tui::term_grid::GridCell;

#[test]
fn the_term_grid_is_the_course_report_read_from_the_read_only_store() {
    let sandbox = Sandbox::new();
    let db = sandbox.path("taproll.db");
    let store = Store::open(&db).unwrap();
    let monday = time("2026-11-23T09:00:00+01:00");
    let course = store.ensure_course("Networks 101", &monday).unwrap();
    let enrol = |no: &str, name: &str| {
        let student = store.upsert_student(no, name).unwrap();
        store.enrol(course.id, student.id, &monday).unwrap();
        student.id
    };
    let ada = enrol("s-1", "Ada Lovelace");
    enrol("s-2", "Alan Turing");
    let first = store
        .start_or_resume_session(&course, &monday, &monday)
        .unwrap();
    let ten_past = monday + chrono::Duration::minutes(10);
    store
        .set_manual_mark(&first, ada, Mark::Late, None, &ten_past)
        .unwrap();
    // Alan is marked absent at the end.
    store
        .end_session(&first, &(monday + chrono::Duration::minutes(90)))
        .unwrap();
    // Grace joins the course after its first session.
    let grace = enrol("s-3", "Grace Hopper");
    let today = store
        .start_or_resume_session(&course, &at("09:00:00"), &at("09:00:00"))
        .unwrap();
    store
        .set_manual_mark(&today, grace, Mark::Present, None, &at("09:05:00"))
        .unwrap();

    // While the recorder holds the database, as a view reads it.
    let reader = Store::open_read_only(&db).unwrap();
    let zone = Zone::parse("Europe/Amsterdam").unwrap();
    let grid = load_term(&reader, "Networks 101", &zone).unwrap();
    assert_eq!(grid.course, "Networks 101");
    let sessions: Vec<(String, bool)> = grid
        .sessions
        .iter()
        .map(|s| (s.started_at.to_rfc3339(), s.open))
        .collect();
    assert_eq!(
        sessions,
        [
            ("2026-11-23T09:00:00+01:00".to_string(), false),
            ("2026-11-30T09:00:00+01:00".to_string(), true),
        ]
    );
    let rows: Vec<(&str, String, Option<u8>)> = grid
        .students
        .iter()
        .map(|s| {
            let marks = s.cells.iter().map(|c| c.symbol()).collect();
            (s.name.as_str(), marks, s.rate)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Ada Lovelace", "L·".to_string(), Some(100)),
            ("Alan Turing", "A·".to_string(), Some(0)),
            ("Grace Hopper", "·P".to_string(), Some(100)),
        ]
    );
    // Not marked yet today; not on the list of the session before she came.
    assert_eq!(grid.students[0].cells[1], GridCell::Unmarked);
    assert_eq!(grid.students[2].cells[0], GridCell::NotListed);

    let error = load_term(&reader, "Physics", &zone).unwrap_err();
    assert!(error.contains("no course named \"Physics\""), "{error}");
}
