//! Draws the door display: the course and the time small at the top, and
//! the message as large as the screen allows (`layout.rs` decides the
//! size; this file only paints). No key hints: nobody at the door has a
//! keyboard.

use super::layout::{self, Block};
use super::{Door, Tone};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{self, Paragraph};

pub fn render(door: &Door, theme: Theme, frame: &mut Frame) {
    let area = frame.area();
    let message = door.message();
    let (fill, ink) = styles(message.tone, theme);
    // Trouble fills the whole screen, so it is seen from across the room.
    frame.render_widget(widgets::Block::new().style(fill), area);

    let [header, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    render_header(door, theme, frame, header);

    // A column clear of each edge, and a row at the bottom to match the
    // header, so the message sits in the middle of the screen.
    let body = Rect {
        height: body.height.saturating_sub(1),
        ..body.inner(Margin::new(1, 0))
    };
    let parts: Vec<&str> = message
        .name
        .iter()
        .map(String::as_str)
        .chain([message.says])
        .collect();
    let blocks = layout::fit(&parts, usize::from(body.width), usize::from(body.height));
    let lines = paint(&blocks, ink);
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .min(body.height);
    let text_area = Rect {
        y: body.y + (body.height - height) / 2,
        height,
        ..body
    };
    frame.render_widget(
        Paragraph::new(lines).alignment(Alignment::Center),
        text_area,
    );
}

/// The course on the left, the time (HH:MM) on the right.
fn render_header(door: &Door, theme: Theme, frame: &mut Frame, area: Rect) {
    let clock = door.now().format("%H:%M").to_string();
    let clock_width = u16::try_from(clock.len()).unwrap_or(5);
    let [course_area, _, clock_area] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Length(clock_width + 1),
    ])
    .areas(area);
    let course = Line::styled(format!(" {}", door.course()), theme.title());
    frame.render_widget(Paragraph::new(course), course_area);
    frame.render_widget(Paragraph::new(format!("{clock} ")), clock_area);
}

/// The blocks' rows, with the blank rows between them, in `ink`: big
/// letters as they are (the blocks are the letters), normal text bold.
fn paint(blocks: &[Block], ink: Style) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        if let Some(previous) = index.checked_sub(1).and_then(|i| blocks.get(i)) {
            lines.extend((0..layout::gap_after(previous, block)).map(|_| Line::default()));
        }
        let style = if block.big {
            ink
        } else {
            ink.add_modifier(Modifier::BOLD)
        };
        lines.extend(
            block
                .rows
                .iter()
                .map(|row| Line::styled(row.clone(), style)),
        );
    }
    lines
}

/// The screen's fill and the message's ink for `tone`. Without colour
/// (`NO_COLOR`) the words carry the news, and a tap that did not count
/// still stands out: the whole screen in reverse video.
fn styles(tone: Tone, theme: Theme) -> (Style, Style) {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    match tone {
        Tone::Waiting | Tone::Noted => (Style::new(), bold),
        Tone::Counted => (Style::new(), theme.present().patch(bold)),
        Tone::Late => (Style::new(), theme.late().patch(bold)),
        Tone::Absent => (Style::new(), theme.absent().patch(bold)),
        Tone::SeeInstructor if theme.color => (theme.banner_warn(), bold),
        Tone::SeeInstructor => (Style::new(), bold),
        Tone::Loud => (theme.banner_error(), bold),
    }
}
