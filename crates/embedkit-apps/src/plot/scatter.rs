//! Scatter plots of 2-D projections: one colour per group, a legend, a label by each point.

use super::draw::{colour, plot_error, shorten, Format, Texts};
use super::font::FAMILY;
use super::Drawn;
use crate::error::{invalid, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A point to draw.
#[derive(Debug, Clone)]
pub struct Point {
    /// Position.
    pub xy: [f64; 2],
    /// Text written next to the point (shortened to 40 characters; empty for none).
    pub label: String,
    /// Colour group (label or cluster) shown in the legend.
    pub group: Option<String>,
}

/// Writes a scatter plot to `path` (`.png` or `.svg`), `size` pixels.
pub fn scatter(points: &[Point], title: &str, size: (u32, u32), path: &Path) -> Result<Drawn> {
    if points.is_empty() {
        return Err(invalid("nothing to plot"));
    }
    if points
        .iter()
        .any(|p| !p.xy[0].is_finite() || !p.xy[1].is_finite())
    {
        return Err(invalid("a projected point is not finite"));
    }
    let format = Format::of(path)?;
    let mut texts = Texts::new(format);
    match format {
        Format::Svg => draw(
            SVGBackend::new(path, size).into_drawing_area(),
            points,
            title,
            &mut texts,
        )?,
        Format::Png => draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            points,
            title,
            &mut texts,
        )?,
    }
    Ok(Drawn {
        missing_glyphs: texts.missing,
    })
}

fn padded_range(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.12).max(1e-9);
    (lo - pad)..(hi + pad)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[Point],
    title: &str,
    texts: &mut Texts,
) -> Result<()> {
    root.fill(&WHITE).map_err(plot_error)?;
    let xr = padded_range(points.iter().map(|p| p.xy[0]));
    let yr = padded_range(points.iter().map(|p| p.xy[1]));
    let mut chart = ChartBuilder::on(&root)
        .caption(texts.get(title), (FAMILY, 24))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(xr, yr)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .label_style((FAMILY, 13))
        .draw()
        .map_err(plot_error)?;

    let mut groups: Vec<Option<&str>> = Vec::new();
    for p in points {
        if !groups.contains(&p.group.as_deref()) {
            groups.push(p.group.as_deref());
        }
    }
    groups.sort();
    for (g, group) in groups.iter().enumerate() {
        let c = colour(g);
        let members = points.iter().filter(|p| p.group.as_deref() == *group);
        let series = chart
            .draw_series(members.map(|p| Circle::new((p.xy[0], p.xy[1]), 5, c.filled())))
            .map_err(plot_error)?;
        if let Some(name) = group {
            series
                .label(texts.get(&shorten(name, 30)))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
        }
    }
    let labels: Vec<(f64, f64, String)> = points
        .iter()
        .filter(|p| !p.label.is_empty())
        .map(|p| (p.xy[0], p.xy[1], texts.get(&shorten(&p.label, 40))))
        .collect();
    chart
        .draw_series(labels.into_iter().map(|(x, y, text)| {
            EmptyElement::at((x, y))
                + Text::new(text, (7, -7), (FAMILY, 14).into_font().color(&BLACK))
        }))
        .map_err(plot_error)?;
    if groups.iter().any(Option::is_some) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.5))
            .label_font((FAMILY, 15))
            .draw()
            .map_err(plot_error)?;
    }
    root.present().map_err(plot_error)
}
