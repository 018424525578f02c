//! How the door's message fits a screen: which size each part takes and
//! where it breaks into lines. Pure: texts and a screen size in, rows of
//! text out; `view.rs` only paints them.
//!
//! The largest letters that fit win, because the screen is read from two
//! metres: huge on a large screen, big on most, normal text on a small
//! one (80×24 over SSH). A line breaks only between words, and normal
//! text wraps instead of being cut, so a name is always shown whole: a cut
//! name may read as somebody else's.

use super::font::{self, Size};
use unicode_width::UnicodeWidthChar;

/// The most lines one part of the message takes in big letters; a longer
/// text is shown in normal letters.
const MOST_BIG_LINES: usize = 3;

/// One part of the message (the name, or what happened), fitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The rows to paint, each centred on its own; all the rows of one
    /// line of big letters are of one width.
    pub rows: Vec<String>,
    /// Big letters (drawn with blocks) rather than normal text.
    pub big: bool,
}

/// Fits `parts`, top to bottom, into `width` × `height` cells: the largest
/// letters for which every part fits the width and all of them the height.
/// When big letters are too tall, the tallest part goes to normal text
/// first (of two of a height, the lower one: the name is what a student
/// looks for), then the next. Normal text may still be taller than `height` on
/// a tiny screen: the name comes first, so it is the part that shows.
pub fn fit(parts: &[&str], width: usize, height: usize) -> Vec<Block> {
    let huge: Vec<Block> = parts
        .iter()
        .map(|part| fit_part(part, width, Size::Huge))
        .collect();
    if rows_needed(&huge) <= height {
        return huge;
    }
    let mut blocks: Vec<Block> = parts
        .iter()
        .map(|part| fit_part(part, width, Size::Big))
        .collect();
    while rows_needed(&blocks) > height {
        let tallest = blocks
            .iter()
            .enumerate()
            .filter(|(_, block)| block.big)
            .max_by_key(|(index, block)| (block.rows.len(), *index))
            .map(|(index, _)| index);
        let Some(tallest) = tallest else { break };
        if let Some((block, part)) = blocks.get_mut(tallest).zip(parts.get(tallest)) {
            *block = Block {
                rows: wrap(part, width),
                big: false,
            };
        }
    }
    blocks
}

/// Blank rows between two parts and between two lines of big letters
/// (the font's own bottom row is blank too, but descenders reach it).
pub fn gap_after(block: &Block, next: &Block) -> usize {
    if block.big && next.big { 2 } else { 1 }
}

/// The rows `blocks` take, with the gaps between them.
pub fn rows_needed(blocks: &[Block]) -> usize {
    let rows: usize = blocks.iter().map(|block| block.rows.len()).sum();
    let gaps: usize = blocks
        .windows(2)
        .map(|pair| gap_after(&pair[0], &pair[1]))
        .sum();
    rows + gaps
}

/// `text` in the largest letters up to `largest` that fit `width` on at
/// most `MOST_BIG_LINES` lines, else in normal text.
fn fit_part(text: &str, width: usize, largest: Size) -> Block {
    let sizes: &[Size] = match largest {
        Size::Huge => &[Size::Huge, Size::Big],
        Size::Big => &[Size::Big],
    };
    if font::covers(text) {
        for &size in sizes {
            for lines in 1..=MOST_BIG_LINES {
                let Some(broken) = break_into(text, lines, size) else {
                    continue;
                };
                if broken.iter().all(|line| font::width(line, size) <= width) {
                    return Block {
                        rows: draw(&broken, size),
                        big: true,
                    };
                }
            }
        }
    }
    Block {
        rows: wrap(text, width),
        big: false,
    }
}

/// The lines in big letters, one blank row between two of them.
fn draw(lines: &[String], size: Size) -> Vec<String> {
    let mut rows = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if index > 0 {
            rows.push(String::new());
        }
        rows.extend(font::big_lines(line, size));
    }
    rows
}

/// `text` broken between words into exactly `lines` lines, the widest as
/// narrow as can be; `None` if it has fewer words. A dash that ends up at
/// the start or end of a line goes: "Welcome — present" on two lines is
/// "Welcome" over "present".
fn break_into(text: &str, lines: usize, size: Size) -> Option<Vec<String>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if lines == 1 {
        return (!words.is_empty()).then(|| vec![text.trim().to_string()]);
    }
    if words.len() < lines {
        return None;
    }
    let mut best: Option<(usize, Vec<String>)> = None;
    for ends in line_ends(words.len(), lines) {
        let mut start = 0;
        let mut broken = Vec::with_capacity(lines);
        for end in ends {
            broken.push(join_line(&words[start..end]));
            start = end;
        }
        // A dash on a line of its own says nothing.
        if broken.iter().any(|line| is_dash(line)) {
            continue;
        }
        let widest = broken
            .iter()
            .map(|line| font::width(line, size))
            .max()
            .unwrap_or(0);
        if best.as_ref().is_none_or(|(least, _)| widest < *least) {
            best = Some((widest, broken));
        }
    }
    best.map(|(_, broken)| broken)
}

/// Every way to end `lines` lines within `words` words (each line at least
/// one word): the index after each line's last word.
fn line_ends(words: usize, lines: usize) -> Vec<Vec<usize>> {
    if lines == 1 {
        return vec![vec![words]];
    }
    let mut all = Vec::new();
    // The first line ends at `first`; the others share what is left.
    for first in 1..=words - (lines - 1) {
        for rest in line_ends(words - first, lines - 1) {
            let mut ends = vec![first];
            ends.extend(rest.into_iter().map(|end| end + first));
            all.push(ends);
        }
    }
    all
}

/// One line of words, without a dash at either end (it only separated
/// this line from the next).
fn join_line(words: &[&str]) -> String {
    let mut words = words;
    while words.len() > 1 && words.first().is_some_and(|word| is_dash(word)) {
        words = &words[1..];
    }
    while words.len() > 1 && words.last().is_some_and(|word| is_dash(word)) {
        words = &words[..words.len() - 1];
    }
    words.join(" ")
}

fn is_dash(word: &str) -> bool {
    matches!(word, "—" | "–" | "-")
}

/// `text` in normal letters, wrapped at spaces to `width` columns; a word
/// longer than a line is broken inside (never cut off).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut line_width = 0;
    for word in text.split_whitespace() {
        let word_width = columns(word);
        if line_width > 0 && line_width + 1 + word_width <= width {
            line.push(' ');
            line.push_str(word);
            line_width += 1 + word_width;
            continue;
        }
        if line_width > 0 {
            lines.push(std::mem::take(&mut line));
            line_width = 0;
        }
        for c in word.chars() {
            let c_width = c.width().unwrap_or(0);
            if line_width + c_width > width {
                lines.push(std::mem::take(&mut line));
                line_width = 0;
            }
            line.push(c);
            line_width += c_width;
        }
    }
    if line_width > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

fn columns(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text a block shows, for a normal-text block.
    fn text(block: &Block) -> String {
        assert!(!block.big);
        block.rows.join(" ")
    }

    #[test]
    fn a_short_name_on_a_large_screen_is_one_line_of_huge_letters() {
        let blocks = fit(&["Ada Lovelace", "Welcome — present"], 198, 57);
        assert!(blocks.iter().all(|block| block.big));
        // Huge letters are 8 rows; "Welcome — present" is two lines of them.
        assert_eq!(blocks[0].rows.len(), 8);
        assert_eq!(blocks[1].rows.len(), 17);
        assert_eq!(
            blocks[1].rows,
            draw(&["Welcome".into(), "present".into()], Size::Huge)
        );
    }

    #[test]
    fn at_80x24_short_texts_are_big_on_two_lines() {
        let blocks = fit(&["Ada Lovelace", "Welcome — present"], 78, 22);
        assert_eq!(
            blocks[0].rows,
            draw(&["Ada".into(), "Lovelace".into()], Size::Big)
        );
        assert_eq!(
            blocks[1].rows,
            draw(&["Welcome".into(), "present".into()], Size::Big)
        );
        assert!(rows_needed(&blocks) <= 22);
    }

    #[test]
    fn what_does_not_fit_in_big_letters_is_normal_text_whole() {
        let name = "Maximiliane Wolfeschlegelsteinhausenbergerdorff von Habsburg-Lothringen";
        let blocks = fit(&[name, "Welcome — present"], 78, 22);
        assert_eq!(text(&blocks[0]), name);
        assert!(blocks[0].rows.iter().all(|row| columns(row) <= 78));
    }

    #[test]
    fn a_name_the_font_cannot_draw_is_normal_text() {
        let blocks = fit(&["李小龍", "Welcome — present"], 198, 57);
        assert_eq!(text(&blocks[0]), "李小龍");
        assert!(blocks[1].big);
    }

    #[test]
    fn too_little_height_makes_everything_smaller() {
        let parts = ["Ada Lovelace", "Welcome — present"];
        assert!(fit(&parts, 198, 57)[0].rows.len() == 8);
        let blocks = fit(&parts, 198, 12);
        assert!(blocks.iter().all(|block| block.big));
        assert_eq!(blocks[0].rows.len(), 4);
        assert!(rows_needed(&blocks) <= 12);
        let blocks = fit(&parts, 198, 5);
        assert_eq!(text(&blocks[0]), "Ada Lovelace");
        assert_eq!(text(&blocks[1]), "Welcome — present");
    }

    #[test]
    fn when_big_letters_are_too_tall_the_tallest_part_goes_to_normal_text_first() {
        // Three lines of big letters for the name, two for the message: 25
        // rows where 22 fit. The name is the taller.
        let name = "Anna Maria Bergström Lindqvist";
        let blocks = fit(&[name, "Welcome — present"], 78, 22);
        assert_eq!(text(&blocks[0]), name);
        assert_eq!(
            blocks[1].rows,
            draw(&["Welcome".into(), "present".into()], Size::Big)
        );
        // Of two of a height, the one further down goes first.
        let blocks = fit(&["Ada Lovelace", "Welcome — present"], 78, 15);
        assert!(blocks[0].big);
        assert_eq!(text(&blocks[1]), "Welcome — present");
    }

    #[test]
    fn lines_break_where_the_widest_is_narrowest_and_dashes_at_a_break_go() {
        assert_eq!(
            break_into("Card not known — see the instructor", 2, Size::Big),
            Some(vec!["Card not known".into(), "see the instructor".into()])
        );
        assert_eq!(
            break_into("Tap your card", 2, Size::Big),
            Some(vec!["Tap your".into(), "card".into()])
        );
        assert_eq!(break_into("Ng", 2, Size::Big), None);
        assert_eq!(break_into("Welcome — present", 3, Size::Big), None);
        assert_eq!(
            line_ends(4, 3),
            vec![vec![1, 2, 4], vec![1, 3, 4], vec![2, 3, 4]]
        );
    }

    #[test]
    fn wrapping_keeps_every_character() {
        assert_eq!(wrap("Tap your card", 80), vec!["Tap your card"]);
        assert_eq!(wrap("Tap your card", 8), vec!["Tap your", "card"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("李小龍", 4), vec!["李小", "龍"]);
    }
}
