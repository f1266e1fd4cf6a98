//! The font bitmaps are drawn with, and what it can show.

use crate::error::{invalid, Result};
use ab_glyph::{Font, FontRef};
use plotters::style::FontStyle;
use std::sync::{Mutex, OnceLock};

/// DejaVu Sans (Bitstream Vera license, see `fonts/DejaVu-LICENSE`), subset to Latin, Greek,
/// Cyrillic, punctuation and symbols to stay small (116 KB).
static BUNDLED: &[u8] = include_bytes!("../../fonts/DejaVuSans-subset.ttf");

/// The family every plot asks for.
pub(crate) const FAMILY: &str = "sans-serif";

fn current() -> &'static Mutex<FontRef<'static>> {
    static FONT: OnceLock<Mutex<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        register(BUNDLED).expect("the bundled font is valid");
        Mutex::new(FontRef::try_from_slice(BUNDLED).expect("the bundled font is valid"))
    })
}

fn register(bytes: &'static [u8]) -> Result<()> {
    plotters::style::register_font(FAMILY, FontStyle::Normal, bytes)
        .map_err(|_| invalid("not a TrueType / OpenType font"))
}

/// Draws PNG text with this TrueType / OpenType font from now on (e.g. one with CJK glyphs:
/// Noto Sans CJK, WenQuanYi). The bytes are kept for the life of the process.
pub fn use_font(bytes: Vec<u8>) -> Result<()> {
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let font =
        FontRef::try_from_slice(bytes).map_err(|_| invalid("not a TrueType / OpenType font"))?;
    let mut guard = current().lock().unwrap_or_else(|e| e.into_inner());
    register(bytes)?;
    *guard = font;
    Ok(())
}

/// Makes sure a font is registered before plotters measures text.
pub(crate) fn ensure() {
    current();
}

/// `text` with every character the font lacks replaced by `□`, and how many were replaced.
pub(crate) fn drawable(text: &str) -> (String, usize) {
    let font = current().lock().unwrap_or_else(|e| e.into_inner());
    let mut missing = 0;
    let out = text
        .chars()
        .map(|c| {
            if c.is_whitespace() || font.glyph_id(c).0 != 0 {
                c
            } else {
                missing += 1;
                '□'
            }
        })
        .collect();
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_is_replaced_in_bitmaps_and_latin_greek_cyrillic_are_kept() {
        assert_eq!(drawable("café αβ мир"), ("café αβ мир".to_string(), 0));
        assert_eq!(drawable("苹果 apple"), ("□□ apple".to_string(), 2));
    }
}
