//! Drawing what is over the roster (`modal.rs`): the dialogs, the help and
//! the quit question, as boxes. The filter line is drawn in the status line
//! (`view.rs`), the sync view in `sync_view.rs`, the term view in
//! `term_view.rs`.

use super::dialog::{AssignDialog, MarkDialog, StudentDialog, UnclaimedDialog};
use super::layout::popup;
use super::modal::Modal;
use super::sync_view;
use super::theme::Theme;
use crate::domain::{Student, Timestamp};
use crate::keymap::Keymap;
use crate::report::Totals;
use crate::sync::SyncStatus;
use crate::text::sanitize_for_terminal as clean;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// `sync`: the push's status now (the sync view follows it live).
pub fn render(
    modal: &Modal,
    now: Timestamp,
    keys: &Keymap,
    sync: &SyncStatus,
    theme: Theme,
    frame: &mut Frame,
) {
    let (title, lines) = match modal {
        // Drawn by `view.rs`, in the roster's place.
        Modal::Filter | Modal::Term(_) => return,
        Modal::Help => return render_help(keys, theme, frame),
        Modal::Sync => return sync_view::render(sync, now, theme, frame),
        Modal::ConfirmQuit => return render_confirm_quit(theme, frame, &Leaving::default()),
        Modal::Mark(dialog) => (" Mark by hand ", mark_lines(dialog, theme)),
        Modal::Assign(dialog) => (" Unknown card ", assign_lines(dialog, theme)),
        Modal::Unclaimed(dialog) => (" Unclaimed taps ", unclaimed_lines(dialog, theme)),
        Modal::ConfirmEnd => (" End the session? ", confirm_end_lines(theme)),
        Modal::Summary { summary, export_to } => (
            " Session ended ",
            summary_lines(summary, export_to.as_deref(), theme),
        ),
        Modal::Resume { until } => (" Open session found ", resume_lines(*until - now, theme)),
        Modal::RemoveCards(student) => (" Lost card ", remove_cards_lines(student, theme)),
        Modal::Student(dialog) => (
            if dialog.existing.is_some() {
                " Edit student "
            } else {
                " Add a student "
            },
            student_lines(dialog, theme),
        ),
    };
    let height = (lines.len() as u16).saturating_add(2);
    let area = popup(frame.area(), 60, height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        area,
    );
}

fn key(text: &str, theme: Theme) -> Span<'static> {
    Span::styled(text.to_string(), theme.title())
}

/// One line of a list to choose from, marked when selected.
fn choice(text: String, selected: bool, theme: Theme) -> Line<'static> {
    if selected {
        Line::styled(format!(" ▶ {text}"), theme.selected())
    } else {
        Line::from(format!("   {text}"))
    }
}

fn mark_lines(dialog: &MarkDialog, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!(
        " {} ({})",
        clean(&dialog.student.name),
        clean(&dialog.student.student_no)
    ))];
    lines.push(Line::default());
    match dialog.chosen {
        None => {
            lines.push(Line::from(vec![
                Span::raw(" "),
                key("p", theme),
                Span::raw(" present   "),
                key("l", theme),
                Span::raw(" late   "),
                key("e", theme),
                Span::raw(" excused   "),
                key("a", theme),
                Span::raw(" absent"),
            ]));
            lines.push(Line::styled(" Esc: cancel", theme.dim()));
        }
        Some(mark) => {
            lines.push(Line::from(format!(" Mark: {}", mark.as_str())));
            lines.push(Line::from(vec![
                Span::raw(" Note (optional): "),
                Span::raw(clean(&dialog.note)),
                Span::styled("█", theme.dim()),
            ]));
            lines.push(Line::styled(" Enter: save · Esc: cancel", theme.dim()));
        }
    }
    lines
}

fn assign_lines(dialog: &AssignDialog, theme: Theme) -> Vec<Line<'static>> {
    let tap = &dialog.tap;
    let mut lines = vec![Line::from(format!(
        " Card {} tapped {} at {}",
        tap.uid.masked(),
        tap.at.format("%H:%M:%S"),
        clean(&tap.reader)
    ))];
    if let Some((student, holder)) = &dialog.confirm_move {
        lines.push(Line::default());
        lines.push(Line::from(format!(
            " This card belongs to {} ({}).",
            clean(&holder.name),
            clean(&holder.student_no)
        )));
        lines.push(Line::from(format!(" Move it to {}?", clean(&student.name))));
        lines.push(Line::from(vec![
            Span::raw(" "),
            key("y", theme),
            Span::raw(" move it   any other key: no"),
        ]));
        return lines;
    }
    lines.push(Line::from(vec![
        Span::raw(" Whose is it? "),
        Span::raw(clean(&dialog.query)),
        Span::styled("█", theme.dim()),
    ]));
    let matches = dialog.matches();
    if matches.is_empty() {
        lines.push(Line::styled(
            "   no student without a card matches",
            theme.dim(),
        ));
    }
    // Show a window of eight around the selection.
    let first = dialog.selected.saturating_sub(7);
    for (index, student) in matches.iter().enumerate().skip(first).take(8) {
        let text = format!(
            "{:<32} {}",
            clean(&student.name),
            clean(&student.student_no)
        );
        lines.push(choice(text, index == dialog.selected, theme));
    }
    lines.push(Line::styled(
        " type to search · ↑ ↓ · Enter: give the card · Esc: later (U)",
        theme.dim(),
    ));
    lines
}

fn unclaimed_lines(dialog: &UnclaimedDialog, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let first = dialog.selected.saturating_sub(9);
    for (index, tap) in dialog.taps.iter().enumerate().skip(first).take(10) {
        let text = format!(
            "{}  {}  {}",
            tap.at.format("%H:%M:%S"),
            tap.uid.masked(),
            clean(&tap.reader)
        );
        lines.push(choice(text, index == dialog.selected, theme));
    }
    lines.push(Line::styled(
        " ↑ ↓ choose · Enter: give this card to a student",
        theme.dim(),
    ));
    lines.push(Line::styled(" Esc: close", theme.dim()));
    lines
}

fn confirm_end_lines(theme: Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(" Students without a mark will be marked absent."),
        Line::styled(
            " Marks can still be changed by hand afterwards.",
            theme.dim(),
        ),
        Line::default(),
        Line::from(vec![
            Span::raw(" "),
            key("y", theme),
            Span::raw(" end the session   any other key: keep going"),
        ]),
    ]
}

fn summary_lines(summary: &Totals, export_to: Option<&str>, theme: Theme) -> Vec<Line<'static>> {
    let row = |label: &str, count: usize| Line::from(format!("   {label:<10} {count:>4}"));
    let mut lines = vec![
        row("Present", summary.present),
        row("Late", summary.late),
        row("Absent", summary.absent),
        row("Excused", summary.excused),
        Line::default(),
        row("Unclaimed", summary.unclaimed_cards),
        row("Duplicate", summary.duplicates),
        Line::styled(
            "   (cards nobody holds yet; students counted twice)",
            theme.dim(),
        ),
        Line::default(),
    ];
    if let Some(folder) = export_to {
        lines.push(Line::from(vec![
            Span::raw(" "),
            key("s", theme),
            Span::raw(" save the report to "),
            Span::raw(clean(folder)),
        ]));
    }
    lines.push(Line::from(vec![
        Span::raw(" "),
        key("Enter", theme),
        Span::raw(" quit taproll   any other key: back to the roster"),
    ]));
    lines
}

fn resume_lines(left: chrono::Duration, theme: Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(" This course's last session was not ended (a crash or a"),
        Line::from(" dropped connection?). Its taps are all kept, and taps"),
        Line::from(" are recorded into it while you choose."),
        Line::default(),
        Line::from(vec![key(" Enter", theme), Span::raw("  continue it")]),
        Line::from(vec![
            key(" n", theme),
            Span::raw("      end it and start a new one; the taps since"),
        ]),
        Line::from("        this question move to the new one"),
        Line::default(),
        Line::styled(
            format!(
                " Goes on with it by itself in {} s.",
                left.num_seconds().max(0)
            ),
            theme.dim(),
        ),
    ]
}

fn remove_cards_lines(student: &Student, theme: Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(format!(
            " Take every card from {} ({})?",
            clean(&student.name),
            clean(&student.student_no)
        )),
        Line::styled(
            " A lost card then counts as unknown if it turns up.",
            theme.dim(),
        ),
        Line::default(),
        Line::from(vec![
            Span::raw(" "),
            key("y", theme),
            Span::raw(" take the cards   any other key: keep them"),
        ]),
    ]
}

fn student_lines(dialog: &StudentDialog, theme: Theme) -> Vec<Line<'static>> {
    let field = |label: &str, value: &str, focused: bool| {
        Line::from(vec![
            Span::raw(format!(" {label:<12}")),
            Span::raw(clean(value)),
            Span::styled(if focused { "█" } else { "" }, theme.dim()),
        ])
    };
    vec![
        field("Student id", &dialog.student_no, !dialog.on_name),
        field("Name", &dialog.name, dialog.on_name),
        Line::default(),
        Line::styled(" Tab: other field · Enter: save · Esc: cancel", theme.dim()),
    ]
}

fn render_help(keys: &Keymap, theme: Theme, frame: &mut Frame) {
    let movement = [
        ("↑↓ jk PgUp PgDn".to_string(), "move; g G: first / last"),
        ("Esc  Ctrl-C".to_string(), "clear the filter; quit"),
    ];
    // The command keys come from the keymap, so the help is never wrong.
    let commands = keys
        .bindings()
        .map(|(command, key)| (key.to_string(), command.describe().1));
    let mut lines: Vec<Line> = movement
        .into_iter()
        .chain(commands)
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<16}"), theme.title()),
                Span::raw(what),
            ])
        })
        .collect();
    // One line, right under the keys, so that the help leaves the banner
    // in sight at 80x24.
    lines.push(Line::styled(
        " Taps are recorded while this is open. Any key closes it.",
        theme.dim(),
    ));
    let area = popup(frame.area(), 60, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(" Keys ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// What leaving means for this roster: the quit question says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leaving {
    /// The recorder is the service: q leaves it recording.
    pub service: bool,
    /// The cards are typed into this roster (a keyboard-wedge reader): with
    /// no roster open, nothing reads them.
    pub keyboard_reader: bool,
}

pub fn render_confirm_quit(theme: Theme, frame: &mut Frame, leaving: &Leaving) {
    let (stop, leave) = match (leaving.service, leaving.keyboard_reader) {
        (true, _) => (
            " stop the recording service (until the next boot)",
            " leave it recording (q): cards still count",
        ),
        (false, false) => (
            " stop recording and quit (q)",
            " leave it recording: cards still count",
        ),
        (false, true) => (
            " stop recording and quit (q)",
            " leave it running: cards typed here count only with a roster open",
        ),
    };
    let lines = vec![
        Line::from(" Leave taproll?"),
        Line::styled(
            " The session stays open; `taproll run` comes back to it.",
            theme.dim(),
        ),
        Line::default(),
        Line::from(vec![Span::styled(" s", theme.title()), Span::raw(stop)]),
        Line::from(vec![Span::styled(" l", theme.title()), Span::raw(leave)]),
        Line::from(vec![
            Span::styled(" n", theme.title()),
            Span::raw(" stay here"),
        ]),
    ];
    let area = popup(frame.area(), 72, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered()), area);
}
