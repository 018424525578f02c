//! Drawing the sync view (`Modal::Sync`): the push to the server as the
//! sender last said, redrawn from `App::sync` every frame so it follows the
//! sender live. Read-only, like the help: any key closes it.

use super::layout::popup;
use super::theme::Theme;
use crate::domain::Timestamp;
use crate::sync::{Link, SyncStatus};
use crate::text::sanitize_for_terminal as clean;
use ratatui::Frame;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The box's width, borders included: fits an 80-column terminal.
const WIDTH: u16 = 66;
/// " Last success " — the labels' column, the leading space included.
const LABEL: usize = 14;
/// What is left of a line for the value.
const VALUE: usize = WIDTH as usize - 2 - LABEL;
/// A server's error or a stop's reason takes at most this many lines.
const REASON_LINES: usize = 3;

pub fn render(status: &SyncStatus, now: Timestamp, theme: Theme, frame: &mut Frame) {
    let lines = lines(status, now, theme);
    let area = popup(frame.area(), WIDTH, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(" Sync ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn lines(status: &SyncStatus, now: Timestamp, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let Some(server) = &status.server else {
        lines.push(field(
            "Server",
            "off: no sync.server in the config",
            theme.dim(),
        ));
        more(
            &mut lines,
            "set [sync] server to push the events (config.example.toml shows how)",
            theme.dim(),
        );
        footer(&mut lines, theme);
        return lines;
    };
    let server = wrap(&clean(server), VALUE, 2);
    for (index, part) in server.into_iter().enumerate() {
        let label = if index == 0 { "Server" } else { "" };
        lines.push(field(label, &part, Style::new()));
    }
    state_lines(&mut lines, &status.link, now, theme);
    lines.push(Line::default());
    counts_lines(&mut lines, status, now, theme);
    footer(&mut lines, theme);
    lines
}

/// The state in words, with the error or the reason, and the next try.
fn state_lines(lines: &mut Vec<Line<'static>>, link: &Link, now: Timestamp, theme: Theme) {
    match link {
        // `lines` shows the push as off without a server.
        Link::Off => lines.push(field("State", "off", theme.dim())),
        Link::Starting => lines.push(field("State", "starting: nothing tried yet", theme.dim())),
        Link::Online => lines.push(field("State", "online", theme.present())),
        Link::Offline {
            since,
            error,
            next_try,
        } => {
            let state = format!("offline since {}", when(*since, now));
            lines.push(field("State", &state, theme.problem()));
            reason(lines, error, theme);
            let next = next_try.map_or("not planned".to_string(), |at| when(at, now));
            lines.push(field("Next try", &next, Style::new()));
        }
        Link::Stopped { why } => {
            lines.push(field(
                "State",
                "stopped: nothing is sent until someone acts",
                theme.problem(),
            ));
            reason(lines, why, theme);
        }
    }
}

/// The server's words (from the network) or the reason for a stop,
/// cleaned and wrapped under the state.
fn reason(lines: &mut Vec<Line<'static>>, text: &str, theme: Theme) {
    for part in wrap(&clean(text), VALUE, REASON_LINES) {
        lines.push(field("", &part, theme.problem()));
    }
}

fn counts_lines(lines: &mut Vec<Line<'static>>, status: &SyncStatus, now: Timestamp, theme: Theme) {
    let counts = &status.counts;
    let waiting = match (counts.waiting, counts.oldest_waiting) {
        (0, _) => "none".to_string(),
        (count, Some(oldest)) => {
            format!("{}, the oldest from {}", events(count), when(oldest, now))
        }
        (count, None) => events(count),
    };
    lines.push(field("Waiting", &waiting, Style::new()));
    if counts.parked == 0 {
        lines.push(field("Parked", "none", Style::new()));
    } else {
        let parked = format!("{}, refused by the server", events(counts.parked));
        lines.push(field("Parked", &parked, theme.problem()));
        more(lines, "taproll sync --status lists them;", theme.dim());
        more(
            lines,
            "r sends them again (the server was fixed)",
            theme.dim(),
        );
    }
    lines.push(field(
        "Sent",
        &format!("{} so far", counts.sent),
        Style::new(),
    ));
    let last = status
        .last_success
        .map_or("never".to_string(), |at| when(at, now));
    lines.push(field("Last success", &last, Style::new()));
}

fn footer(lines: &mut Vec<Line<'static>>, theme: Theme) {
    lines.push(Line::default());
    lines.push(Line::styled(
        " Taps are recorded while this is open. Any key closes it.",
        theme.dim(),
    ));
}

/// ` Label         value`, the value in `style`.
fn field(label: &str, value: &str, style: Style) -> Line<'static> {
    let label = format!(" {label:<width$}", width = LABEL - 1);
    Line::from(vec![
        Span::raw(label),
        Span::styled(value.to_string(), style),
    ])
}

/// More words under the value column, wrapped to fit.
fn more(lines: &mut Vec<Line<'static>>, text: &str, style: Style) {
    for part in wrap(text, VALUE, 2) {
        lines.push(field("", &part, style));
    }
}

fn events(count: u64) -> String {
    if count == 1 {
        "1 event".to_string()
    } else {
        format!("{count} events")
    }
}

/// `09:12:05` today, `Sun 29 Nov 17:40` another day (events left from an
/// earlier class).
fn when(at: Timestamp, now: Timestamp) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%a %d %b %H:%M").to_string()
    }
}

/// The text in lines of at most `width` columns, broken at spaces (a word
/// too long for a line is cut), in at most `max` lines: the last one ends
/// with `…` when some is left out.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let room = width.saturating_sub(line.width() + usize::from(!line.is_empty()));
        if word.width() <= room {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word wider than a line (a URL) is cut where the line ends.
        for c in word.chars() {
            if line.width() + c.width().unwrap_or(0) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            while last.width() + 1 > width {
                last.pop();
            }
            last.push('…');
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_cuts_long_words_and_marks_what_is_left_out() {
        assert_eq!(wrap("the server refuses", 10, 3), ["the server", "refuses"]);
        assert_eq!(wrap("abcdefghijkl", 5, 3), ["abcde", "fghij", "kl"]);
        assert_eq!(wrap("one two three four", 5, 2), ["one", "two…"]);
        assert_eq!(wrap("", 5, 2), Vec::<String>::new());
        for line in wrap(&"word ".repeat(40), VALUE, REASON_LINES) {
            assert!(line.width() <= VALUE, "{line}");
        }
    }

    #[test]
    fn times_of_another_day_say_the_day() {
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
        let now = at("2026-11-30T09:12:34+01:00");
        assert_eq!(when(at("2026-11-30T09:05:00+01:00"), now), "09:05:00");
        assert_eq!(
            when(at("2026-11-29T17:40:00+01:00"), now),
            "Sun 29 Nov 17:40"
        );
    }
}
