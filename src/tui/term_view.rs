//! Drawing the term view (`Modal::Term`, state in `term_window.rs`): the
//! course's students by sessions, one character per mark, over the roster;
//! the banner and the status line stay in sight (taps are recorded while it
//! is open). Colour only adds to the letters: under NO_COLOR they read the
//! same.

use super::term_grid::{GridCell, GridStudent, cut, month_row, number_row};
use super::term_window::{Columns, GridSize, RATE_WIDTH, TermView};
use super::theme::Theme;
use crate::domain::Mark;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

/// Lines in the box apart from the students: the month and number rows
/// over the grid, the selected session and student under it.
const HEADER: u16 = 2;
const FOOTER: u16 = 2;

/// The room for the grid in `area` (where `render` draws): inside the box
/// and one column of margin on either side.
pub fn grid_size(area: Rect) -> GridSize {
    let inner = Block::bordered().inner(area);
    GridSize {
        rows: usize::from(inner.height.saturating_sub(HEADER + FOOTER)),
        width: usize::from(inner.width.saturating_sub(2)),
    }
}

/// `close`: the key that opened it, and closes it again.
pub fn render(view: &TermView, close: char, theme: Theme, frame: &mut Frame, area: Rect) {
    let grid = view.grid();
    let columns = view.columns();
    let title = format!(
        " Term · {} · {} students · {} sessions ",
        grid.course,
        grid.students.len(),
        grid.sessions.len()
    );
    let block = Block::bordered().title(Span::styled(title, theme.title()));
    let block = bottom_titles(block, view, close, area.width.saturating_sub(2), theme);
    let inner = block.inner(area);
    let mut lines = header_lines(view, columns, theme);
    for index in view.rows_shown() {
        if let Some(student) = grid.students.get(index) {
            lines.push(student_line(view, index, student, columns, theme));
        }
    }
    if grid.students.is_empty() || grid.sessions.is_empty() {
        let empty = if grid.students.is_empty() {
            " No students on this course yet."
        } else {
            " No session of this course yet."
        };
        lines.push(Line::styled(empty, theme.dim()));
    }
    // The selection's lines at the bottom of the box.
    let students_end = usize::from(inner.height.saturating_sub(FOOTER));
    lines.resize(students_end.max(lines.len()), Line::default());
    lines.extend(footer_lines(view, usize::from(inner.width), theme));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The months, then `Name`, the session numbers and `Rate`.
fn header_lines(view: &TermView, columns: Columns, theme: Theme) -> Vec<Line<'static>> {
    let grid = view.grid();
    let shown = view.sessions_shown();
    let sessions = &grid.sessions[shown.clone()];
    let rate_width = if columns.rate { RATE_WIDTH } else { 0 };
    let months = month_row(sessions, sessions.len() + rate_width);
    let gap = " ".repeat(columns.name + 2);
    let months = Line::from(vec![
        Span::raw(gap),
        Span::styled(months.trim_end().to_string(), theme.dim()),
    ]);
    let mut heading = vec![
        Span::raw(" "),
        Span::styled(cut("Name", columns.name), theme.title()),
        Span::raw(" "),
    ];
    let selected = view.selected().1;
    for (column, number) in shown.clone().zip(number_row(sessions, shown.start).chars()) {
        let style = if column == selected {
            theme.selected()
        } else {
            theme.dim()
        };
        heading.push(Span::styled(number.to_string(), style));
    }
    if columns.rate {
        heading.push(Span::styled(
            format!("{:>RATE_WIDTH$}", "Rate"),
            theme.title(),
        ));
    }
    vec![months, Line::from(heading)]
}

fn student_line(
    view: &TermView,
    index: usize,
    student: &GridStudent,
    columns: Columns,
    theme: Theme,
) -> Line<'static> {
    let (selected_row, selected_column) = view.selected();
    let on_row = index == selected_row;
    let name_style = if on_row {
        theme.selected()
    } else {
        Style::new()
    };
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(cut(&student.name, columns.name), name_style),
        Span::raw(" "),
    ];
    for column in view.sessions_shown() {
        let cell = student
            .cells
            .get(column)
            .copied()
            .unwrap_or(GridCell::NotListed);
        let mut style = cell_style(cell, theme);
        if on_row && column == selected_column {
            style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        spans.push(Span::styled(cell.symbol().to_string(), style));
    }
    if columns.rate {
        let (rate, style) = match student.rate {
            Some(rate) => (format!("{rate}%"), Style::new()),
            None => ("—".to_string(), theme.dim()),
        };
        spans.push(Span::styled(format!("{rate:>RATE_WIDTH$}"), style));
    }
    Line::from(spans)
}

fn cell_style(cell: GridCell, theme: Theme) -> Style {
    match cell {
        GridCell::Marked(Mark::Present) => theme.present(),
        GridCell::Marked(Mark::Late) => theme.late(),
        GridCell::Marked(Mark::Absent) => theme.absent(),
        GridCell::Marked(Mark::Excused) => theme.excused(),
        GridCell::Unmarked | GridCell::NotListed => theme.dim(),
    }
}

/// The selected session (number, date, open or not, label), then the
/// selected student's mark in it, each cut to `width`.
fn footer_lines(view: &TermView, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let (_, column) = view.selected();
    let Some(session) = view.selected_session() else {
        return Vec::new();
    };
    let mut about = format!(
        " Session {} · {}",
        column + 1,
        session.started_at.format("%a %d %b %Y %H:%M")
    );
    if session.open {
        about.push_str(" · open now");
    }
    if let Some(label) = &session.label {
        about.push_str(&format!(" · {label}"));
    }
    let mut lines = vec![Line::styled(cut(&about, width), theme.title())];
    if let (Some(student), Some(cell)) = (view.selected_student(), view.selected_cell()) {
        let who = format!(" {} ({}): ", student.name, student.student_no);
        let what = cell.describe();
        let who = cut(&who, who.width().min(width.saturating_sub(what.width())));
        lines.push(Line::from(vec![
            Span::raw(who),
            Span::styled(what, cell_style(cell, theme)),
        ]));
    }
    lines
}

/// The keys at the bottom left of the box and, where they fit too, which
/// sessions and students are shown at the bottom right.
fn bottom_titles<'a>(
    block: Block<'a>,
    view: &TermView,
    close: char,
    width: u16,
    theme: Theme,
) -> Block<'a> {
    let keys = format!(" ↑↓ jk students · ←→ hl sessions · Esc {close} close ");
    let sessions = range(view.sessions_shown(), view.grid().sessions.len());
    let students = range(view.rows_shown(), view.grid().students.len());
    let wide = format!(" sessions {sessions} · students {students} ");
    let narrow = format!(" sessions {sessions} ");
    let room = usize::from(width).saturating_sub(keys.width() + 1);
    let block = block.title_bottom(Span::styled(keys, theme.dim()));
    match [wide, narrow]
        .into_iter()
        .find(|shown| shown.width() <= room)
    {
        Some(shown) => block.title_bottom(Line::styled(shown, theme.dim()).right_aligned()),
        None => block,
    }
}

/// `9–60 of 60`, 1-based; `0 of 0` for none.
fn range(shown: std::ops::Range<usize>, of: usize) -> String {
    if shown.is_empty() {
        format!("0 of {of}")
    } else {
        format!("{}–{} of {of}", shown.start + 1, shown.end)
    }
}
