//! `embedkit plot`: a 2-D map of the vector space (PCA or t-SNE), coloured by label or
//! cluster, written as PNG and/or SVG.

use super::vectors::item_vectors;
use crate::args::plot::{Method, PlotArgs};
use crate::args::vectors::SourceArgs;
use anyhow::{bail, Context, Result};
use embedkit_apps::data::{items_from_words, read_items};
use embedkit_apps::plot::{
    colour_groups, parse_size, pca, points, scatter, tsne, use_font, TsneOptions, SIZES,
};

pub fn run(a: PlotArgs, quiet: bool) -> Result<()> {
    let Some(size) = parse_size(&a.size) else {
        bail!(
            "--size must be WIDTHxHEIGHT, each {} to {} pixels (got {:?})",
            SIZES.start(),
            SIZES.end(),
            a.size
        );
    };
    if let Some(path) = &a.font {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        use_font(bytes).with_context(|| path.display().to_string())?;
    }
    let mut items = match &a.input {
        Some(path) => read_items(path)?,
        None if a.words.is_empty() => bail!("give --input FILE or --words WORD ..."),
        None => {
            let mut items = items_from_words(&a.words);
            // --words with --word-vectors: each word's own vector, looked up as written (a
            // word the file lacks is an error, as in `embedkit words`).
            if let Some(path) = &a.source.word_vectors {
                let vectors = embedkit_words::format::load(path, None)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                for item in &mut items {
                    item.embedding = Some(vectors.vector(&item.id)?);
                }
            }
            items
        }
    };
    let source = if a.words.is_empty() {
        a.source.clone()
    } else {
        SourceArgs {
            word_vectors: None,
            ..a.source.clone()
        }
    };
    let (vectors, model) = item_vectors(&source, &mut items, quiet)?;
    let xy = match a.method {
        Method::Pca => pca(&vectors)?,
        Method::Tsne => tsne(
            &vectors,
            &TsneOptions {
                perplexity: a.perplexity,
                ..Default::default()
            },
        )?,
    };
    let groups = colour_groups(&items, &vectors, a.clusters, a.seed)?;
    let points = points(&items, &xy, groups);
    let method = match a.method {
        Method::Pca => "PCA",
        Method::Tsne => "t-SNE",
    };
    let title = a
        .title
        .clone()
        .unwrap_or_else(|| format!("{model} ({method})"));
    for path in &a.output {
        let drawn = scatter(&points, &title, size, path)?;
        if drawn.missing_glyphs > 0 {
            eprintln!(
                "note: {}: {} characters are not in the PNG font and show as □ (the SVG has \
                 them; or give --font with a font that has them)",
                path.display(),
                drawn.missing_glyphs
            );
        }
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
