//! Making outside text safe to show in a terminal, and in any text a
//! terminal may show later (report files and pipes: `cat`, `tail`, `less -R`).

/// Replaces control characters (ESC, BEL, CR, ...) and bidirectional
/// overrides with `�`, so a name from a roster file cannot move the cursor,
/// change colours, ring the bell or make the text on screen read differently
/// from what is stored. Every text cell of a report passes here too.
pub fn sanitize_for_terminal(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// The same, line by line: newlines are kept (a carriage return is not),
/// for whole reports printed to a terminal.
pub fn sanitize_lines_for_terminal(text: &str) -> String {
    text.split('\n')
        .map(sanitize_for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A C0 or C1 control character (DEL too) or a bidirectional override or
/// isolate: what `sanitize_for_terminal` replaces.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
        assert_eq!(
            sanitize_for_terminal("Ann\u{202E}nimda"),
            "Ann\u{FFFD}nimda"
        );
        assert_eq!(
            sanitize_lines_for_terminal("a,\u{1b}[2J\nb\r\n"),
            "a,\u{FFFD}[2J\nb\u{FFFD}\n"
        );
    }
}
