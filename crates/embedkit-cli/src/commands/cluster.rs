//! `embedkit cluster`: k-means++ (k given, or chosen by silhouette), each cluster's most
//! central members, purity when the items have labels.

use super::vectors::item_vectors;
use crate::args::cluster::ClusterArgs;
use anyhow::{bail, Result};
use embedkit_apps::cluster::{
    central_members, choose_k, kmeans, purity, silhouette, KMeansOptions,
};
use embedkit_apps::data::{labels_of, read_items};
use embedkit_apps::store::read_collection;
use embedkit_apps::{vectors_for, StoredVectors};
use std::io::Write;

pub fn run(a: ClusterArgs, quiet: bool) -> Result<()> {
    let (items, vectors) = match (&a.store, &a.input) {
        (Some(url), _) => {
            let store = embedkit_store::Store::open(url)?;
            let collection = a.collection.as_deref().unwrap_or("default");
            let items = read_collection(&store, collection)?;
            let vectors = vectors_for(&StoredVectors::new(collection), &items)?;
            (items, vectors)
        }
        (None, Some(path)) => {
            let mut items = read_items(path)?;
            let (vectors, _) = item_vectors(&a.source, &mut items, quiet)?;
            (items, vectors)
        }
        (None, None) => bail!("give --input FILE, or --store URL --collection NAME"),
    };
    let base = KMeansOptions {
        seed: a.seed,
        ..Default::default()
    };
    let mut out = std::io::stdout().lock();
    let clustering = match a.k {
        Some(k) => kmeans(&vectors, &KMeansOptions { k, ..base })?,
        None => {
            let choice = choose_k(&vectors, 2..=a.k_max, &base)?;
            let scores: Vec<String> = choice
                .scores
                .iter()
                .map(|(k, s)| format!("k={k}: {s:.3}"))
                .collect();
            writeln!(out, "silhouette by k: {}", scores.join(", "))?;
            choice.clustering
        }
    };
    let k = clustering.centroids.len();
    write!(out, "{} items, k = {k}, seed {}", items.len(), a.seed)?;
    if k >= 2 && k < items.len() {
        write!(
            out,
            ", silhouette {:.3}",
            silhouette(&vectors, &clustering.assignments)?
        )?;
    }
    if let Some(labels) = labels_of(&items) {
        write!(
            out,
            ", purity {:.3}",
            purity(&clustering.assignments, &labels)?
        )?;
    }
    writeln!(out)?;
    for (c, members) in central_members(&vectors, &clustering, a.central)
        .iter()
        .enumerate()
    {
        let size = clustering.assignments.iter().filter(|&&x| x == c).count();
        writeln!(out, "cluster {c} ({size} items):")?;
        for &m in members {
            let item = &items[m];
            let text: String = item.display().chars().take(70).collect();
            if text == item.id {
                writeln!(out, "  {text}")?;
            } else {
                writeln!(out, "  {}  {text}", item.id)?;
            }
        }
    }
    if let Some(path) = &a.output {
        let mut lines = String::new();
        for (item, c) in items.iter().zip(&clustering.assignments) {
            lines.push_str(&serde_json::json!({"id": item.id, "cluster": c}).to_string());
            lines.push('\n');
        }
        std::fs::write(path, lines)?;
    }
    Ok(())
}
