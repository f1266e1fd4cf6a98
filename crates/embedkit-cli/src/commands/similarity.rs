//! `embedkit similarity`: the model's similarity matrix.
//!
//! Texts are listed with a number and the matrix uses the numbers as labels, so that
//! columns stay aligned whatever the script (CJK characters are two columns wide).

use crate::args::SimilarityArgs;
use anyhow::Result;
use std::io::Write;

pub fn run(a: SimilarityArgs, quiet: bool) -> Result<()> {
    let model = super::load_model(&a.model)?;
    let vectors = super::embed_texts(
        &model,
        &a.texts,
        &super::embed_options(&a.model, &model),
        quiet,
    )?;
    let sim = model.similarity();
    let matrix = sim.matrix(&vectors, &vectors);
    if let Some(path) = &a.plot {
        let title = format!("{} similarity ({})", sim, a.model.model);
        let drawn = embedkit_apps::plot::heatmap(&matrix, &a.texts, &title, path)?;
        if drawn.missing_glyphs > 0 {
            eprintln!(
                "note: {}: {} characters are not in the PNG font and show as □ (the SVG has them)",
                path.display(),
                drawn.missing_glyphs
            );
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({ "similarity": sim.to_string(), "texts": a.texts, "matrix": matrix }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "similarity: {sim}")?;
    for (i, t) in a.texts.iter().enumerate() {
        writeln!(out, "[{i}] {t}")?;
    }
    write!(out, "{:>6}", "")?;
    for j in 0..a.texts.len() {
        write!(out, " {:>8}", format!("[{j}]"))?;
    }
    writeln!(out)?;
    for (i, row) in matrix.iter().enumerate() {
        write!(out, "{:>6}", format!("[{i}]"))?;
        for v in row {
            write!(out, " {v:>8.4}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
