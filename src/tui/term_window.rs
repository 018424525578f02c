//! The term view's state (`Modal::Term`): the grid, the selected student and
//! session, and which part of the grid is on screen. It opens on the most
//! recent sessions; moving the selection scrolls the grid as little as
//! possible, like the roster. Pure: the event loop says how much room there
//! is (`set_size`), `term_view.rs` draws what `columns` and the ranges say.

use super::term_grid::{GridCell, GridSession, GridStudent, TermGrid};
use std::ops::Range;

/// A student's attendance rate, ` 100%`, with the space before it.
pub const RATE_WIDTH: usize = 5;
/// Names are cut to this many columns even when there is room.
const NAME_MAX: usize = 24;
/// ...and on a narrow terminal to as few as this, for sessions to show.
const NAME_MIN: usize = 8;
/// Sessions shown before there is room for the rate (all, when fewer).
const FEW_SESSIONS: usize = 10;

/// The room for the grid: student rows, and columns for the name, the
/// sessions and the rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GridSize {
    pub rows: usize,
    pub width: usize,
}

/// How a width is shared: the name column, a space, one column per session
/// shown, then the rate if it fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    pub name: usize,
    pub sessions: usize,
    pub rate: bool,
}

impl Columns {
    /// `widest_name`: in terminal columns; `sessions`: how many there are.
    pub fn fitting(widest_name: usize, sessions: usize, width: usize) -> Self {
        let wanted = sessions.min(FEW_SESSIONS);
        let mut name = widest_name.clamp("Name".len(), NAME_MAX);
        if width.saturating_sub(name + 1) < wanted {
            // Names make way, down to a point, for a few sessions to show.
            name = name.min(width.saturating_sub(wanted + 1).max(NAME_MIN));
        }
        let room = width.saturating_sub(name + 1);
        let rate = room >= wanted + RATE_WIDTH;
        let room = if rate { room - RATE_WIDTH } else { room };
        Self {
            name,
            sessions: sessions.min(room),
            rate,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermView {
    grid: TermGrid,
    /// The selected student and session (indices into the grid).
    row: usize,
    column: usize,
    /// The first student and the first session on screen.
    top: usize,
    left: usize,
    size: GridSize,
}

impl TermView {
    /// On the most recent sessions, at the student `student_no` (the one
    /// selected in the roster) if the grid has them.
    pub fn new(grid: TermGrid, student_no: Option<&str>, size: GridSize) -> Self {
        let row = student_no
            .and_then(|no| grid.students.iter().position(|s| s.student_no == no))
            .unwrap_or(0);
        let column = grid.sessions.len().saturating_sub(1);
        let mut view = Self {
            grid,
            row,
            column,
            top: 0,
            left: 0,
            size,
        };
        view.scroll_into_view();
        view
    }

    pub fn grid(&self) -> &TermGrid {
        &self.grid
    }

    pub fn columns(&self) -> Columns {
        Columns::fitting(
            self.grid.widest_name(),
            self.grid.sessions.len(),
            self.size.width,
        )
    }

    /// The students on screen, as indices into the grid.
    pub fn rows_shown(&self) -> Range<usize> {
        let end = (self.top + self.page_rows()).min(self.grid.students.len());
        self.top.min(end)..end
    }

    /// The sessions on screen, as indices into the grid.
    pub fn sessions_shown(&self) -> Range<usize> {
        let end = (self.left + self.columns().sessions).min(self.grid.sessions.len());
        self.left.min(end)..end
    }

    /// The selected student and session, as indices into the grid.
    pub fn selected(&self) -> (usize, usize) {
        (self.row, self.column)
    }

    pub fn selected_student(&self) -> Option<&GridStudent> {
        self.grid.students.get(self.row)
    }

    pub fn selected_session(&self) -> Option<&GridSession> {
        self.grid.sessions.get(self.column)
    }

    pub fn selected_cell(&self) -> Option<GridCell> {
        self.selected_student()?.cells.get(self.column).copied()
    }

    pub fn page_rows(&self) -> usize {
        self.size.rows.max(1)
    }

    /// The room on screen changed (or was measured for the first time).
    pub fn set_size(&mut self, size: GridSize) {
        self.size = size;
        self.scroll_into_view();
    }

    pub fn move_rows(&mut self, delta: isize) {
        self.row = moved(self.row, delta, self.grid.students.len());
        self.scroll_into_view();
    }

    pub fn move_columns(&mut self, delta: isize) {
        self.column = moved(self.column, delta, self.grid.sessions.len());
        self.scroll_into_view();
    }

    /// The grid read again (a tap, another view's change): the same student
    /// and session stay selected; on the newest session, the selection
    /// stays on the newest (a session started meanwhile).
    pub fn replace(&mut self, grid: TermGrid) {
        let on_newest = self.column + 1 >= self.grid.sessions.len();
        let student = self.selected_student().map(|s| s.student_no.clone());
        let session = self.selected_session().map(|s| s.id);
        self.row = student
            .and_then(|no| grid.students.iter().position(|s| s.student_no == no))
            .unwrap_or(self.row);
        self.column = match session.and_then(|id| grid.sessions.iter().position(|s| s.id == id)) {
            Some(column) if !on_newest => column,
            _ => grid.sessions.len().saturating_sub(1),
        };
        self.grid = grid;
        self.scroll_into_view();
    }

    fn scroll_into_view(&mut self) {
        self.row = self.row.min(self.grid.students.len().saturating_sub(1));
        self.column = self.column.min(self.grid.sessions.len().saturating_sub(1));
        let students = self.grid.students.len();
        self.top = scrolled(self.top, self.row, self.page_rows(), students);
        let page = self.columns().sessions.max(1);
        self.left = scrolled(self.left, self.column, page, self.grid.sessions.len());
    }
}

/// `index` moved by `delta`, within `0..len`.
fn moved(index: usize, delta: isize, len: usize) -> usize {
    let target = (index as isize).saturating_add(delta);
    target.clamp(0, len.saturating_sub(1) as isize) as usize
}

/// The first of `page` items shown, moved as little as possible for
/// `selected` to be among them, and no further than a full page from the end.
fn scrolled(first: usize, selected: usize, page: usize, len: usize) -> usize {
    let first = if selected < first {
        selected
    } else if selected >= first + page {
        selected + 1 - page
    } else {
        first
    };
    first.min(len.saturating_sub(page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mark;
    use crate::tui::term_grid::GridSession;

    fn grid(students: usize, sessions: usize) -> TermGrid {
        let at = chrono::DateTime::parse_from_rfc3339("2026-09-01T09:00:00+02:00").unwrap();
        TermGrid {
            course: "Physics".into(),
            sessions: (0..sessions)
                .map(|i| GridSession {
                    id: i as i64 + 1,
                    started_at: at + chrono::Duration::days(i as i64),
                    label: None,
                    open: false,
                })
                .collect(),
            students: (0..students)
                .map(|i| GridStudent {
                    student_no: format!("s{i}"),
                    name: format!("Student {i}"),
                    cells: vec![GridCell::Marked(Mark::Present); sessions],
                    rate: Some(100),
                })
                .collect(),
        }
    }

    const SMALL: GridSize = GridSize { rows: 5, width: 40 };

    #[test]
    fn the_width_goes_to_the_names_then_the_sessions_then_the_rate() {
        // 80 columns less the box: names whole, 53 sessions, the rate.
        assert_eq!(
            Columns::fitting(17, 60, 76),
            Columns {
                name: 17,
                sessions: 53,
                rate: true
            }
        );
        // Few sessions: all of them, and the rate after them.
        assert_eq!(Columns::fitting(17, 3, 76).sessions, 3);
        // Long names are cut; short ones keep the "Name" heading's width.
        assert_eq!(Columns::fitting(40, 60, 76).name, 24);
        assert_eq!(Columns::fitting(2, 60, 76).name, 4);
        // Narrow: the names make way down to 8 columns, then the rate goes.
        assert_eq!(
            Columns::fitting(24, 60, 30),
            Columns {
                name: 19,
                sessions: 10,
                rate: false
            }
        );
        assert_eq!(
            Columns::fitting(24, 60, 15),
            Columns {
                name: 8,
                sessions: 6,
                rate: false
            }
        );
        assert_eq!(Columns::fitting(24, 60, 0).sessions, 0);
    }

    #[test]
    fn it_opens_on_the_newest_sessions_at_the_roster_selection() {
        // "Student 19": 10 columns of name, 40 - 11 - 5 = 24 sessions shown.
        let view = TermView::new(grid(20, 30), Some("s3"), SMALL);
        assert_eq!(view.columns().sessions, 24);
        assert_eq!(view.selected(), (3, 29));
        assert_eq!(view.sessions_shown(), 6..30);
        assert_eq!(view.rows_shown(), 0..5);
        // Unknown to the grid (enrolled since?): the first student.
        let view = TermView::new(grid(20, 30), Some("s99"), SMALL);
        assert_eq!(view.selected(), (0, 29));
    }

    #[test]
    fn moving_scrolls_as_little_as_possible_and_stops_at_the_ends() {
        let mut view = TermView::new(grid(20, 30), None, SMALL);
        view.move_columns(-23);
        assert_eq!(view.sessions_shown(), 6..30, "still on screen");
        view.move_columns(-1);
        assert_eq!(view.selected().1, 5);
        assert_eq!(view.sessions_shown(), 5..29);
        view.move_columns(isize::MIN / 2);
        assert_eq!(view.sessions_shown(), 0..24);
        view.move_columns(isize::MAX / 2);
        assert_eq!((view.selected().1, view.sessions_shown()), (29, 6..30));
        view.move_rows(4);
        assert_eq!(view.rows_shown(), 0..5);
        view.move_rows(1);
        assert_eq!((view.selected().0, view.rows_shown()), (5, 1..6));
        view.move_rows(isize::MAX / 2);
        assert_eq!((view.selected().0, view.rows_shown()), (19, 15..20));
        view.move_rows(-100);
        assert_eq!((view.selected().0, view.rows_shown()), (0, 0..5));
    }

    #[test]
    fn a_bigger_screen_shows_more_and_an_empty_grid_shows_nothing() {
        let mut view = TermView::new(grid(20, 30), None, SMALL);
        view.set_size(GridSize {
            rows: 50,
            width: 196,
        });
        assert_eq!(view.sessions_shown(), 0..30);
        assert_eq!(view.rows_shown(), 0..20);
        let empty = TermView::new(grid(0, 0), None, SMALL);
        assert_eq!(empty.sessions_shown(), 0..0);
        assert_eq!(empty.rows_shown(), 0..0);
        assert_eq!(empty.selected_cell(), None);
    }

    #[test]
    fn a_new_grid_keeps_the_selection_and_follows_the_newest_session() {
        let mut view = TermView::new(grid(20, 30), Some("s4"), SMALL);
        view.replace(grid(20, 31));
        assert_eq!(view.selected(), (4, 30), "a session started: on it");
        view.move_columns(-10);
        let mut fewer = grid(20, 31);
        fewer.students.remove(0);
        view.replace(fewer);
        assert_eq!(view.selected(), (3, 20), "the same student and session");
    }
}
