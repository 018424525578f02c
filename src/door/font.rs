//! Big letters for the door display, drawn with block characters from the
//! public-domain 8×8 bitmaps of `font8x8` (ASCII and Latin-1, so "José
//! Müller" comes out whole).
//!
//! Only `▀ ▄ █` and spaces are used: they are in every terminal font,
//! the Linux console's too (code page 437), where quadrant or braille
//! characters often are not.

use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};
use unicode_width::UnicodeWidthChar;

/// How big the letters are. A terminal cell is about twice as tall as it is
/// wide, so both sizes keep the font's square pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// One cell holds two pixels, one above the other (`▀ ▄ █`): a letter
    /// is 8 columns by 4 rows.
    Big,
    /// One pixel is two cells side by side (`██`): a letter is 16 columns
    /// by 8 rows, for a large screen read from across the room.
    Huge,
}

impl Size {
    /// Rows of one line of text.
    pub fn rows(self) -> usize {
        match self {
            Size::Big => 4,
            Size::Huge => 8,
        }
    }

    /// Columns one character takes (before the last one's trailing space
    /// is trimmed).
    pub fn columns(self) -> usize {
        match self {
            Size::Big => 8,
            Size::Huge => 16,
        }
    }
}

/// An em or en dash: the door's messages use them ("Welcome — present"),
/// and Latin-1 has none. A bar one pixel short of each side, so a dash
/// between two words keeps a gap to each.
const DASH: [u8; 8] = [0x00, 0x00, 0x00, 0x7E, 0x00, 0x00, 0x00, 0x00];

/// The 8 rows of `c`'s bitmap (bit 0 is the leftmost pixel), or `None`
/// when the font has no glyph for it. Control characters have none: text
/// reaches here sanitised, and a blank would hide that something was there.
fn glyph(c: char) -> Option<[u8; 8]> {
    let code = c as usize;
    match c {
        ' '..='~' => BASIC_LEGACY.get(code).copied(),
        '\u{A0}'..='\u{FF}' => LATIN_LEGACY.get(code - 0xA0).copied(),
        '—' | '–' => Some(DASH),
        '‘' | '’' => BASIC_LEGACY.get(usize::from(b'\'')).copied(),
        '“' | '”' => BASIC_LEGACY.get(usize::from(b'"')).copied(),
        _ => None,
    }
}

/// Every character of `text` has a glyph. A view draws a name in big
/// letters only then: a placeholder in the middle of a name would show a
/// different name.
pub fn covers(text: &str) -> bool {
    text.chars().all(|c| glyph(c).is_some())
}

/// `text` in big letters: `size.rows()` strings of equal width (in
/// columns), the blank columns after the last letter trimmed so the text
/// centres on its ink. A character without a glyph still shows: as itself,
/// in the middle of its letter's box (see `covers`).
pub fn big_lines(text: &str, size: Size) -> Vec<String> {
    let mut rows = vec![String::new(); size.rows()];
    for c in text.chars() {
        match glyph(c) {
            Some(bitmap) => draw_glyph(&mut rows, bitmap, size),
            None => draw_fallback(&mut rows, c, size),
        }
    }
    trim_right(rows)
}

/// Columns `text` takes in big letters (`big_lines`' width), without
/// drawing it: the layout measures many ways of breaking a long name.
pub fn width(text: &str, size: Size) -> usize {
    let mut advance = 0;
    let mut inked_to = 0;
    for c in text.chars() {
        let ink = match glyph(c) {
            // Bit 0 is the leftmost pixel: the highest lit bit is the
            // rightmost, in any row.
            Some(bitmap) => {
                let pixels = bitmap
                    .iter()
                    .map(|row| 8 - row.leading_zeros() as usize)
                    .max();
                pixels.unwrap_or(0) * size.columns() / 8
            }
            None => {
                let (_, c_width) = stand_in(c);
                (size.columns() - c_width) / 2 + c_width
            }
        };
        if ink > 0 {
            inked_to = advance + ink;
        }
        advance += size.columns();
    }
    inked_to
}

fn draw_glyph(rows: &mut [String], bitmap: [u8; 8], size: Size) {
    let lit = |y: usize, x: usize| bitmap[y] & (1 << x) != 0;
    for (row_index, row) in rows.iter_mut().enumerate() {
        for x in 0..8 {
            match size {
                Size::Big => row.push(match (lit(2 * row_index, x), lit(2 * row_index + 1, x)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                }),
                Size::Huge => row.push_str(if lit(row_index, x) { "██" } else { "  " }),
            }
        }
    }
}

/// A character the font lacks: itself on the middle row, padded to a
/// letter's width.
fn draw_fallback(rows: &mut [String], c: char, size: Size) {
    let (c, c_width) = stand_in(c);
    let columns = size.columns();
    let left = (columns - c_width) / 2;
    let middle = rows.len() / 2 - 1;
    for (row_index, row) in rows.iter_mut().enumerate() {
        if row_index == middle {
            row.push_str(&" ".repeat(left));
            row.push(c);
            row.push_str(&" ".repeat(columns - left - c_width));
        } else {
            row.push_str(&" ".repeat(columns));
        }
    }
}

/// What shows for a character the font lacks, and its width: itself, or
/// `�` for one that takes no column of its own (a combining mark) or is of
/// unknown width, so it cannot fold into its neighbour unseen.
fn stand_in(c: char) -> (char, usize) {
    match c.width() {
        Some(w @ 1..=2) => (c, w),
        _ => ('\u{FFFD}', 1),
    }
}

/// Drops the blank columns at the end of all rows alike, so they stay of
/// one width.
fn trim_right(rows: Vec<String>) -> Vec<String> {
    let keep = rows
        .iter()
        .map(|row| columns(row.trim_end_matches(' ')))
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .map(|row| {
            let mut kept = String::new();
            let mut width = 0;
            for c in row.chars() {
                if width >= keep {
                    break;
                }
                width += c.width().unwrap_or(0);
                kept.push(c);
            }
            kept
        })
        .collect()
}

fn columns(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_is_eight_columns_by_four_rows_of_half_blocks() {
        // The font's A: rows 0x0C 0x1E 0x33 0x33 0x3F 0x33 0x33 0x00.
        assert_eq!(
            big_lines("A", Size::Big),
            vec![" ▄██▄", "██  ██", "██▀▀██", "▀▀  ▀▀"]
                .into_iter()
                .map(|row| format!("{row:<6}"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn huge_letters_are_full_blocks_twice_as_wide_and_tall() {
        let rows = big_lines("A", Size::Huge);
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[0], "    ████    ");
        assert_eq!(rows[4], "████████████");
        assert_eq!(width("A", Size::Huge), 2 * width("A", Size::Big));
    }

    #[test]
    fn rows_are_of_one_width_and_the_trailing_blank_is_trimmed() {
        for text in [
            "Tap your card",
            "José Müller",
            "Welcome — present",
            "Zoë Ng ",
        ] {
            for size in [Size::Big, Size::Huge] {
                let rows = big_lines(text, size);
                let first = columns(&rows[0]);
                assert!(rows.iter().all(|row| columns(row) == first), "{text}");
                assert!(rows.iter().any(|row| !row.ends_with(' ')), "{text}");
                assert_eq!(width(text, size), first);
                // Every character advances a whole letter; only the last
                // one's blank columns go.
                let full = text.trim_end().chars().count() * size.columns();
                assert!(first <= full && first > full - size.columns(), "{text}");
            }
        }
    }

    #[test]
    fn latin_1_names_and_the_dash_have_glyphs() {
        assert!(covers("José Müller, Zoë Ng, Ñúñez, Ægir Øst — O’Brien"));
        assert!(covers("Card not known — see the instructor"));
        // É is not E: the accent is drawn.
        assert_ne!(big_lines("É", Size::Big), big_lines("E", Size::Big));
    }

    #[test]
    fn a_character_without_a_glyph_still_shows_in_its_box() {
        assert!(!covers("李"));
        assert!(!covers("Łukasz"));
        let rows = big_lines("李", Size::Big);
        assert_eq!(rows.len(), 4);
        assert!(rows[1].contains('李'));
        let rows = big_lines("aŁb", Size::Big);
        assert!(rows[1].contains('Ł'));
        assert_eq!(width("aŁb", Size::Big), width("axb", Size::Big));
        // A combining mark cannot hide on its neighbour.
        assert!(big_lines("e\u{301}", Size::Big)[1].contains('\u{FFFD}'));
    }

    #[test]
    fn nothing_is_nothing() {
        assert_eq!(big_lines("", Size::Big), vec![""; 4]);
        assert_eq!(width("", Size::Huge), 0);
        assert_eq!(width("   ", Size::Big), 0);
    }
}
