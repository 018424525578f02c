//! Where boxes go on the screen, shared by the roster's and the overlays'
//! drawing.

use ratatui::layout::{Constraint, Rect};

/// A box of this size centred in `area`, cut to fit.
pub fn popup(area: Rect, width: u16, height: u16) -> Rect {
    area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    )
}
