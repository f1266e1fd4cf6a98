//! What both plot kinds share: the output format, colours, and text for bitmaps.

use super::font;
use crate::error::{invalid, Error, Result};
use plotters::style::RGBColor;
use std::path::Path;

/// Output format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Png,
    Svg,
}

impl Format {
    pub(crate) fn of(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(Self::Png),
            Some("svg") => Ok(Self::Svg),
            _ => Err(invalid(format!(
                "{}: plots are written as .png or .svg",
                path.display()
            ))),
        }
    }
}

/// Text as it will be drawn: SVG keeps everything, PNG replaces what the font lacks.
pub(crate) struct Texts {
    pub format: Format,
    pub missing: usize,
}

impl Texts {
    pub(crate) fn new(format: Format) -> Self {
        font::ensure();
        Self { format, missing: 0 }
    }

    pub(crate) fn get(&mut self, text: &str) -> String {
        match self.format {
            Format::Svg => text.to_string(),
            Format::Png => {
                let (s, missing) = font::drawable(text);
                self.missing += missing;
                s
            }
        }
    }
}

/// Shortens `text` to `max` characters (not bytes: CJK-safe), marking the cut with `…`.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Tableau 10: distinct, colour-blind-friendlier hues; repeated beyond ten groups.
pub(crate) fn colour(i: usize) -> RGBColor {
    const PALETTE: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

pub(crate) fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}
