//! A similarity heat map for a handful of texts: an n × n grid coloured by similarity, each
//! cell with its value, texts numbered on the axes and listed in full beside the grid.

use super::draw::{plot_error, shorten, Format, Texts};
use super::font::FAMILY;
use super::Drawn;
use crate::error::{invalid, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Most texts a readable heat map holds.
pub const MAX_TEXTS: usize = 40;

/// Writes the heat map of `matrix` (square, one row per text) to `path` (`.png` / `.svg`).
pub fn heatmap(matrix: &[Vec<f32>], texts: &[String], title: &str, path: &Path) -> Result<Drawn> {
    let n = texts.len();
    if n == 0 || n > MAX_TEXTS {
        return Err(invalid(format!(
            "a heat map takes 1 to {MAX_TEXTS} texts, got {n}"
        )));
    }
    if matrix.len() != n || matrix.iter().any(|r| r.len() != n) {
        return Err(invalid(
            "the similarity matrix must be square, one row per text",
        ));
    }
    if matrix.iter().flatten().any(|v| !v.is_finite()) {
        return Err(invalid("the similarity matrix has a non-finite value"));
    }
    let format = Format::of(path)?;
    let mut writer = Texts::new(format);
    let cell = 64u32;
    let grid = cell * n as u32 + 80;
    let size = (grid + 520, grid.max(60 + 22 * n as u32) + 70);
    match format {
        Format::Svg => draw(
            SVGBackend::new(path, size).into_drawing_area(),
            matrix,
            texts,
            title,
            &mut writer,
        )?,
        Format::Png => draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            matrix,
            texts,
            title,
            &mut writer,
        )?,
    }
    Ok(Drawn {
        missing_glyphs: writer.missing,
    })
}

/// White (lowest) to dark blue (highest) over the matrix's own range.
fn shade(v: f32, lo: f32, hi: f32) -> RGBColor {
    let t = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mix = |a: f32, b: f32| (a + (b - a) * t) as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    matrix: &[Vec<f32>],
    texts: &[String],
    title: &str,
    writer: &mut Texts,
) -> Result<()> {
    let n = texts.len();
    root.fill(&WHITE).map_err(plot_error)?;
    let root = root
        .titled(&writer.get(title), (FAMILY, 22))
        .map_err(plot_error)?;
    let (width, _) = root.dim_in_pixel();
    let (grid_area, list_area) = root.split_horizontally(width.saturating_sub(500));
    let mut chart = ChartBuilder::on(&grid_area)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        // A segmented range covers its last value too: 0..n-1 gives n cells.
        .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(n)
        .y_labels(n)
        .x_label_formatter(&|seg| match seg {
            SegmentValue::CenterOf(j) if *j < n => format!("[{j}]"),
            _ => String::new(),
        })
        .y_label_formatter(&|seg| match seg {
            SegmentValue::CenterOf(i) if *i < n => format!("[{}]", n - 1 - i),
            _ => String::new(),
        })
        .label_style((FAMILY, 13))
        .draw()
        .map_err(plot_error)?;
    let lo = matrix
        .iter()
        .flatten()
        .cloned()
        .fold(f32::INFINITY, f32::min);
    let hi = matrix
        .iter()
        .flatten()
        .cloned()
        .fold(f32::NEG_INFINITY, f32::max);
    let cells = (0..n).flat_map(|i| (0..n).map(move |j| (i, j)));
    // Row i is drawn from the top: segment n-1-i.
    chart
        .draw_series(cells.clone().map(|(i, j)| {
            Rectangle::new(
                [
                    (SegmentValue::Exact(j), SegmentValue::Exact(n - 1 - i)),
                    (SegmentValue::Exact(j + 1), SegmentValue::Exact(n - i)),
                ],
                shade(matrix[i][j], lo, hi).filled(),
            )
        }))
        .map_err(plot_error)?;
    let mid = (lo + hi) / 2.0;
    chart
        .draw_series(cells.map(|(i, j)| {
            let v = matrix[i][j];
            let ink = if v > mid { WHITE } else { BLACK };
            Text::new(
                format!("{v:.2}"),
                (SegmentValue::CenterOf(j), SegmentValue::CenterOf(n - 1 - i)),
                (FAMILY, 14)
                    .into_font()
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )
        }))
        .map_err(plot_error)?;
    for (k, text) in texts.iter().enumerate() {
        let line = writer.get(&format!("[{k}] {}", shorten(text, 48)));
        list_area
            .draw(&Text::new(
                line,
                (8, 20 + 22 * k as i32),
                (FAMILY, 15).into_font().color(&BLACK),
            ))
            .map_err(plot_error)?;
    }
    root.present().map_err(plot_error)
}
