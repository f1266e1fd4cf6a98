//! `embedkit plot`: a 2-D map of the vector space (PCA or t-SNE), coloured by label or
//! cluster, written as PNG and/or SVG.

use super::vectors::item_vectors;
use crate::args::plot::{Method, PlotArgs};
use crate::args::vectors::SourceArgs;
use anyhow::{bail, Context, Result};
use embedkit_apps::cluster::{choose_k, kmeans, KMeansOptions};
use embedkit_apps::data::{items_from_texts, read_items};
use embedkit_apps::plot::{pca, scatter, tsne, use_font, Point, TsneOptions};

fn parse_size(s: &str) -> Result<(u32, u32)> {
    let parsed = s
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
    match parsed {
        Some((w, h)) if (200..=8000).contains(&w) && (200..=8000).contains(&h) => Ok((w, h)),
        _ => bail!("--size must be WIDTHxHEIGHT, each 200 to 8000 pixels (got {s:?})"),
    }
}

pub fn run(a: PlotArgs, quiet: bool) -> Result<()> {
    let size = parse_size(&a.size)?;
    if let Some(path) = &a.font {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        use_font(bytes).with_context(|| path.display().to_string())?;
    }
    let mut items = match &a.input {
        Some(path) => read_items(path)?,
        None if a.words.is_empty() => bail!("give --input FILE or --words WORD ..."),
        None => {
            let mut items = items_from_texts(&a.words);
            items
                .iter_mut()
                .zip(&a.words)
                .for_each(|(i, w)| i.id = w.clone());
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
    let labelled = items.iter().all(|i| i.label.is_some());
    let groups: Vec<Option<String>> = if labelled && a.clusters.is_none() {
        items.iter().map(|i| i.label.clone()).collect()
    } else if items.len() < 3 {
        vec![None; items.len()]
    } else {
        let base = KMeansOptions {
            seed: a.seed,
            ..Default::default()
        };
        let clustering = match a.clusters {
            Some(k) => kmeans(&vectors, &KMeansOptions { k, ..base })?,
            None => choose_k(&vectors, 2..=8, &base)?.clustering,
        };
        clustering
            .assignments
            .iter()
            .map(|c| Some(format!("cluster {}", c + 1)))
            .collect()
    };
    let points: Vec<Point> = items
        .iter()
        .zip(&xy)
        .zip(groups)
        .map(|((item, xy), group)| Point {
            xy: *xy,
            label: if a.words.is_empty() && item.text.is_some() && item.id.parse::<usize>().is_ok()
            {
                item.display().to_string()
            } else {
                item.id.clone()
            },
            group,
        })
        .collect();
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
