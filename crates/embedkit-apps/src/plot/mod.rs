//! Pictures of the vector space: 2-D projections ([`pca`], [`tsne`]), scatter plots coloured
//! by label or cluster ([`scatter`]) and similarity heat maps ([`heatmap`]), written as PNG or
//! SVG (chosen by the file extension).
//!
//! No system fonts are needed: SVG text is left to the viewer (any script shows, CJK
//! included), PNG text is drawn with a bundled DejaVu Sans subset (Latin, Greek, Cyrillic,
//! symbols) or a font given with [`use_font`]. Characters the PNG font lacks are drawn as `□`
//! and counted in the returned [`Drawn`] so that callers can say so.

mod draw;
mod font;
mod heatmap;
mod pca;
mod points;
mod scatter;
mod tsne;

pub use font::use_font;
pub use heatmap::heatmap;
pub use pca::pca;
pub use points::{colour_groups, parse_size, point_label, points, MAX_CHOSEN_K, SIZES};
pub use scatter::{scatter, Point};
pub use tsne::{tsne, TsneOptions};

/// What a drawing call wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drawn {
    /// Characters of labels that the PNG font cannot draw (0 for SVG).
    pub missing_glyphs: usize,
}
