//! Colours, or none: with `NO_COLOR` set every style falls back to bold and
//! reverse video, which still reads on any terminal.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    fn pick(self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }

    pub fn present(self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }

    pub fn late(self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new())
    }

    pub fn absent(self) -> Style {
        self.pick(Style::new().fg(Color::Red), Style::new())
    }

    pub fn excused(self) -> Style {
        self.pick(Style::new().fg(Color::Cyan), Style::new())
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Banner styles: big, bold, full-width colour blocks.
    pub fn banner_ok(self) -> Style {
        self.banner(Color::Green, Color::Black)
    }

    pub fn banner_warn(self) -> Style {
        self.banner(Color::Yellow, Color::Black)
    }

    pub fn banner_error(self) -> Style {
        self.banner(Color::Red, Color::White)
    }

    pub fn banner_idle(self) -> Style {
        self.pick(Style::new().fg(Color::Gray), Style::new())
    }

    fn banner(self, bg: Color, fg: Color) -> Style {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        self.pick(bold.bg(bg).fg(fg), bold.add_modifier(Modifier::REVERSED))
    }

    pub fn problem(self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
}
