//! Drawing the App: header, counts, roster table, banner, status line, and
//! whatever is over the roster (`modal_view.rs`). Pure function of `App`;
//! nothing here changes state.

use super::app::{App, RecorderInfo};
use super::banner::{self, Tone};
use super::modal::Modal;
use super::modal_view;
use super::term_view;
use super::term_window::GridSize;
use super::theme::Theme;
use crate::domain::{Mark, MarkSource, RosterRow};
use crate::sync::{Link, SyncStatus};
use crate::text::sanitize_for_terminal as clean;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use unicode_width::UnicodeWidthStr;

const BANNER_HEIGHT: u16 = 3;

/// Lines the roster table takes apart from its rows: borders and header.
const TABLE_CHROME: u16 = 3;

pub fn render(app: &App, theme: Theme, frame: &mut Frame) {
    let [header, counts, table, banner, status] = layout(frame.area());
    render_header(app, theme, frame, header);
    render_counts(app, theme, frame, counts);
    render_roster(app, theme, frame, table);
    render_banner(app, theme, frame, banner);
    render_status(app, theme, frame, status);
    match app.modal() {
        Some(Modal::ConfirmQuit) => {
            let leaving = modal_view::Leaving {
                service: app.recorder().service,
                keyboard_reader: app.wedge_typed().is_some(),
            };
            modal_view::render_confirm_quit(theme, frame, &leaving);
        }
        Some(Modal::Term(view)) => {
            let area = term_area(frame.area());
            term_view::render(view, app.keys().term, theme, frame, area);
        }
        Some(modal) => modal_view::render(modal, app.now(), app.keys(), app.sync(), theme, frame),
        None => {}
    }
}

fn layout(area: Rect) -> [Rect; 5] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(TABLE_CHROME + 1),
        Constraint::Length(BANNER_HEIGHT),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the term view goes: over the header, the counts and the roster,
/// leaving the banner and the status line in sight.
fn term_area(area: Rect) -> Rect {
    let [header, _, table, _, _] = layout(area);
    header.union(table)
}

/// The room for the term view's grid in a terminal of this size.
pub fn term_size(area: Rect) -> GridSize {
    term_view::grid_size(term_area(area))
}

/// How many roster rows fit in a terminal of this size.
pub fn page_rows(area: Rect) -> usize {
    let [_, _, table, _, _] = layout(area);
    table.height.saturating_sub(TABLE_CHROME) as usize
}

fn render_header(app: &App, theme: Theme, frame: &mut Frame, area: Rect) {
    let session = app.session();
    let left = Line::from(vec![
        Span::styled(" taproll ", theme.title()),
        Span::raw("· "),
        Span::styled(clean(&session.course.name), theme.title()),
        Span::styled(
            format!(
                " · session {} · started {}",
                session.id,
                session.started_at.format("%a %d %b %H:%M")
            ),
            theme.dim(),
        ),
    ]);
    frame.render_widget(Paragraph::new(left), area);
    let clock = Line::from(format!("{} ", app.now().format("%H:%M:%S")));
    frame.render_widget(Paragraph::new(clock).alignment(Alignment::Right), area);
}

fn render_counts(app: &App, theme: Theme, frame: &mut Frame, area: Rect) {
    let c = app.roster().counts();
    let line = Line::from(vec![
        Span::raw(" "),
        Span::styled(format!("Present {}", c.present), theme.present()),
        Span::raw("   "),
        Span::styled(format!("Late {}", c.late), theme.late()),
        Span::raw("   "),
        Span::styled(format!("Absent {}", c.absent), theme.absent()),
        Span::raw("   "),
        Span::raw(format!("Excused {}", c.excused)),
        Span::styled(format!("   Unmarked {}", c.unmarked), theme.dim()),
        Span::styled(format!("   of {}", app.roster().rows().len()), theme.dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn render_roster(app: &App, theme: Theme, frame: &mut Frame, area: Rect) {
    let roster = app.roster();
    let visible = roster.visible_rows();
    let title = if roster.filter().is_empty() && !app.filtering() {
        " Roster ".to_string()
    } else {
        format!(
            " Roster · filter: {} ({} of {}) ",
            clean(roster.filter()),
            visible.len(),
            roster.rows().len()
        )
    };
    let block = Block::new().borders(Borders::ALL).title(title);
    let columns = Columns::fitting(area.width.saturating_sub(2));
    let header =
        Row::new(columns.pick(["Name", "Student ID", "Status", "Time"])).style(theme.title());
    let page = area.height.saturating_sub(TABLE_CHROME) as usize;
    let rows = visible
        .iter()
        .enumerate()
        .skip(roster.offset())
        .take(page)
        .map(|(index, row)| {
            let style = if index == roster.selected() {
                theme.selected()
            } else {
                Style::new()
            };
            let risk = app.risk_of(&row.student.student_no);
            Row::new(columns.pick(roster_cells(row, risk.is_some(), theme))).style(style)
        });
    let widths = columns.pick([
        Constraint::Fill(1),
        Constraint::Length(ID_WIDTH),
        Constraint::Length(STATUS_WIDTH),
        Constraint::Length(TIME_WIDTH),
    ]);
    let table = Table::new(rows, widths).header(header).block(block);
    frame.render_widget(table, area);
    if visible.is_empty() {
        let empty = if roster.rows().is_empty() {
            "No students on this course's roster yet."
        } else {
            "No student matches the filter."
        };
        let inner = Rect {
            y: area.y + 2,
            height: 1,
            ..area.inner(ratatui::layout::Margin::new(2, 0))
        };
        if area.height > TABLE_CHROME {
            frame.render_widget(Paragraph::new(empty).style(theme.dim()), inner);
        }
    }
}

const MIN_NAME_WIDTH: u16 = 16;
const ID_WIDTH: u16 = 12;
/// "excused manual"
const STATUS_WIDTH: u16 = 14;
const TIME_WIDTH: u16 = 8;

/// Which roster columns are shown: on a narrow terminal the time, then the
/// student id, make way so that names stay readable.
struct Columns {
    id: bool,
    time: bool,
}

impl Columns {
    fn fitting(width: u16) -> Self {
        // Each shown column after the first takes one space of spacing too.
        let all = MIN_NAME_WIDTH + ID_WIDTH + STATUS_WIDTH + TIME_WIDTH + 3;
        let without_time = MIN_NAME_WIDTH + ID_WIDTH + STATUS_WIDTH + 2;
        Self {
            id: width >= without_time,
            time: width >= all,
        }
    }

    /// The shown ones of the name, id, status and time columns.
    fn pick<T>(&self, [name, id, status, time]: [T; 4]) -> Vec<T> {
        let mut shown = vec![name];
        if self.id {
            shown.push(id);
        }
        shown.push(status);
        if self.time {
            shown.push(time);
        }
        shown
    }
}

/// `at_risk`: a `!` before the name (`[risk]`; why, in the status line).
fn roster_cells(row: &RosterRow, at_risk: bool, theme: Theme) -> [Cell<'static>; 4] {
    let (status, style) = match row.mark {
        Some(Mark::Present) => ("present", theme.present()),
        Some(Mark::Late) => ("late", theme.late()),
        Some(Mark::Excused) => ("excused", Style::new()),
        Some(Mark::Absent) => ("absent", theme.absent()),
        None => ("—", theme.dim()),
    };
    // Where the mark came from: a card, by hand, or taproll at the end.
    let source = match row.source {
        Some(MarkSource::Card) => " card",
        Some(MarkSource::Manual) => " manual",
        Some(MarkSource::Auto) => " auto",
        None => "",
    };
    let time = row
        .marked_at
        .map(|at| at.format("%H:%M:%S").to_string())
        .unwrap_or_default();
    let status = Line::from(vec![
        Span::styled(status, style),
        Span::styled(source, theme.dim()),
    ]);
    let mut name = Vec::new();
    if at_risk {
        name.push(Span::styled("! ", theme.late()));
    }
    name.push(Span::raw(clean(&row.student.name)));
    [
        Cell::from(Line::from(name)),
        Cell::from(clean(&row.student.student_no)),
        Cell::from(status),
        Cell::from(time),
    ]
}

fn render_banner(app: &App, theme: Theme, frame: &mut Frame, area: Rect) {
    let banner = banner::describe(app.banner(), !app.readers().is_empty());
    let style = match banner.tone {
        Tone::Idle => theme.banner_idle(),
        Tone::Ok => theme.banner_ok(),
        Tone::Warn => theme.banner_warn(),
        Tone::Error => theme.banner_error(),
    };
    let width = usize::from(area.width.saturating_sub(2));
    let lines = vec![
        Line::default(),
        Line::from(fit(&banner.headline, width)),
        Line::from(fit(&banner.detail, width)),
    ];
    let paragraph = Paragraph::new(lines)
        .alignment(Alignment::Center)
        .style(style);
    frame.render_widget(paragraph, area);
}

fn render_status(app: &App, theme: Theme, frame: &mut Frame, area: Rect) {
    if app.filtering() {
        let line = Line::from(vec![
            Span::styled(" / ", theme.title()),
            Span::raw(clean(app.roster().filter())),
            Span::styled("█", theme.dim()),
            Span::styled("   Enter keep · Esc clear", theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let (reader, reader_style, reader_healthy) = reader_status(app, theme);
    let mut spans = vec![Span::raw(" "), Span::styled(reader, reader_style)];
    let reader_span = spans.len() - 1;
    if app.roster().enrolling() {
        let name = app
            .roster()
            .selected_row()
            .map(|r| clean(&r.student.name))
            .unwrap_or_default();
        spans.push(Span::styled(
            format!(" │ ENROL: tap {name}'s card ({} ends)", app.keys().enrol),
            theme.title(),
        ));
    }
    if let Some(typed) = app.wedge_typed().filter(|t| !t.is_empty()) {
        // Masked as it is typed: a card number is as good as the card.
        spans.push(Span::styled(
            format!(" │ card: {}█", crate::reader::wedge::masked_typed(typed)),
            theme.title(),
        ));
    }
    if let Some(problem) = app.store_problem() {
        spans.push(Span::styled(
            format!(" │ {}", clean(problem)),
            theme.problem(),
        ));
    }
    // After what must be seen (the reader, enrolling, a failed write), cut
    // to the room left; before the push and the database, which give way.
    if let Some(why) = app
        .roster()
        .selected_row()
        .and_then(|row| app.risk_of(&row.student.student_no))
    {
        let risk = format!(" │ ! risk: {why}");
        // A working reader's name gives way first: pcsc-lite names an
        // ACR122U "ACS ACR122U PICC Interface 00 00", and its start, in
        // green, says enough. A reader problem is never cut.
        let used: usize = spans.iter().map(Span::width).sum();
        let over = (used + risk.width()).saturating_sub(usize::from(area.width));
        if reader_healthy && over > 0 {
            let name = spans[reader_span].content.to_string();
            let room = name.width().saturating_sub(over).max(MIN_READER_WIDTH);
            spans[reader_span] = Span::styled(cut_end(&name, room), reader_style);
        }
        let used: usize = spans.iter().map(Span::width).sum();
        let room = usize::from(area.width).saturating_sub(used);
        spans.push(Span::styled(cut_end(&risk, room), theme.late()));
    }
    let sync = app.sync();
    let before: usize = spans.iter().map(Span::width).sum();
    let mut summary = format!(" │ {}", clean(&sync.summary()));
    if before + summary.width() > usize::from(area.width) {
        summary = format!(" │ {}", clean(&short_summary(sync, app.keys().sync)));
    }
    spans.push(Span::styled(
        summary,
        if sync.is_trouble() {
            theme.problem()
        } else {
            theme.dim()
        },
    ));
    if let Some(recorder) = recorder_status(app.recorder()) {
        spans.push(Span::styled(format!(" │ {recorder}"), theme.dim()));
    }
    spans.push(Span::styled(
        // The path last: on a narrow screen it is what gets cut.
        format!(" │ db {}", shorten_path(&clean(app.db_label()), 28)),
        theme.dim(),
    ));
    let status = Line::from(spans);
    // The key hint only where it fits; the status itself matters more.
    // Over a dialog, q may be typed into it: the hint says how to close it
    // (and over the term view, where ? and / do nothing).
    let room = usize::from(area.width).saturating_sub(status.width() + 1);
    let closes = |modal: &Modal| modal.is_dialog() || matches!(modal, Modal::Term(_));
    let hints = if app.modal().is_some_and(closes) {
        ["Esc close ", "Esc "]
    } else {
        ["? help  / filter  q quit ", "? help "]
    };
    let hint = hints.into_iter().find(|hint| hint.chars().count() <= room);
    if let Some(hint) = hint {
        let keys = Line::from(Span::styled(hint, theme.dim()));
        frame.render_widget(Paragraph::new(keys).alignment(Alignment::Right), area);
    }
    frame.render_widget(Paragraph::new(status), area);
}

/// The sync words where the whole of them does not fit: the server's error
/// or the reason for a stop makes way, and the sync view's key says where
/// to read it.
fn short_summary(status: &SyncStatus, key: char) -> String {
    let parked = match status.counts.parked {
        0 => String::new(),
        parked => format!(" · parked {parked}"),
    };
    match &status.link {
        Link::Offline { since, .. } => format!(
            "offline since {} · queued {}{parked} ({key}: why)",
            since.format("%H:%M"),
            status.counts.waiting
        ),
        Link::Stopped { .. } => format!("sync stopped{parked} ({key}: why)"),
        Link::Off | Link::Starting | Link::Online => status.summary(),
    }
}

/// What is worth a word about the recorder: that it is the service (it
/// goes on when the roster is left), other views watching, the clock when
/// it is not known to be right. Nothing in the usual case: a recorder of
/// this roster's own, asked about when leaving.
fn recorder_status(recorder: &RecorderInfo) -> Option<String> {
    let mut words = Vec::new();
    if recorder.service {
        words.push("rec: service".to_string());
    }
    if recorder.views > 1 {
        words.push(format!("{} views", recorder.views));
    }
    if !recorder.clock.is_empty() {
        words.push(recorder.clock.clone());
    }
    (!words.is_empty()).then(|| words.join(" · "))
}

/// The columns a working reader's name keeps when it gives way to the
/// reasons a student is at risk: `● ACS ACR122U…`.
const MIN_READER_WIDTH: usize = 14;

/// What the status line says of the reader, its style, and whether it is
/// the names of working readers (which may be cut) rather than a problem.
fn reader_status(app: &App, theme: Theme) -> (String, Style, bool) {
    if app.recorder().gone.is_some() {
        return (
            "⚠ NOT RECORDING: the recorder is gone".to_string(),
            theme.problem(),
            false,
        );
    }
    if let Some(problem) = app.reader_problem() {
        return (format!("⚠ {}", clean(problem)), theme.problem(), false);
    }
    if app.scenario_finished() {
        return ("● scenario finished".to_string(), theme.dim(), false);
    }
    match app.readers() {
        [] => ("○ no reader".to_string(), theme.problem(), false),
        readers => (
            format!("● {}", clean(&readers.join(", "))),
            theme.present(),
            true,
        ),
    }
}

/// The text, or its start and end with `…` between them where it is too
/// wide: a folder's start and a file's name both stay readable.
/// `text` cut at the end to `width` columns, with `…` when cut.
fn cut_end(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if text.width() <= width {
        return text.to_string();
    }
    let mut used = 0;
    let mut cut: String = text
        .chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used < width
        })
        .collect();
    if width > 0 {
        cut.push('…');
    }
    cut
}

fn fit(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if text.width() <= width || width < 2 {
        return text.to_string();
    }
    // Takes characters while they fit in `room` columns.
    let take = |chars: &mut dyn Iterator<Item = char>, room: usize| {
        let mut used = 0;
        let mut taken = Vec::new();
        for c in chars {
            used += c.width().unwrap_or(0);
            if used > room {
                break;
            }
            taken.push(c);
        }
        taken
    };
    let head = take(&mut text.chars(), (width - 1) / 2);
    let head_width: usize = head.iter().map(|c| c.width().unwrap_or(0)).sum();
    let mut tail = take(&mut text.chars().rev(), width - 1 - head_width);
    tail.reverse();
    format!("{}…{}", String::from_iter(head), String::from_iter(tail))
}

/// `/home/pi/.local/share/taproll/taproll.db` -> `…/taproll/taproll.db`.
fn shorten_path(path: &str, max: usize) -> String {
    let count = path.chars().count();
    if count <= max {
        return path.to_string();
    }
    let tail: String = path.chars().skip(count - (max - 1)).collect();
    format!("…{tail}")
}
