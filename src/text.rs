//! Making outside text safe to show in a terminal.

/// Replaces control characters (ESC, BEL, CR, ...) with `�` so a name from a
/// roster file cannot move the cursor, change colours or ring the bell.
pub fn sanitize_for_terminal(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced_and_the_rest_kept() {
        assert_eq!(
            sanitize_for_terminal("Zoë\u{1b}[31m Ng\u{7}\r\n"),
            "Zoë\u{FFFD}[31m Ng\u{FFFD}\u{FFFD}\u{FFFD}"
        );
        assert_eq!(sanitize_for_terminal("José Ñúñez 李"), "José Ñúñez 李");
    }
}
