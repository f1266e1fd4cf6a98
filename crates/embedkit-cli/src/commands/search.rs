//! `embedkit search`: a question against a vector store collection.

use super::index::{collection_model, image_collection_model, open_store};
use crate::args::search::SearchArgs;
use anyhow::Result;
use embedkit_models::RemoteOptions;
use embedkit_store::{Filter, Modality, SearchMode, SearchOptions};
use std::io::Write;

pub fn run(a: SearchArgs) -> Result<()> {
    let store = open_store(&a.store.store)?;
    let name = &a.store.collection;
    let query = a.query.as_deref().unwrap_or_default();
    let options = SearchOptions {
        k: a.k,
        filter: Filter::parse(&a.filter)?,
        mode: match (a.hybrid, a.keyword) {
            (true, _) => SearchMode::Hybrid,
            (_, true) => SearchMode::Keyword,
            _ => SearchMode::Vector,
        },
        exact: a.exact,
    };
    let collection = store.collection(name)?;
    let hits = if let Some(image) = &a.image {
        collection.check_modality(Modality::Image)?;
        let model = image_collection_model(&store, name, a.model.as_deref())?;
        let queries = [image.clone()];
        store
            .search_images(name, &model, &queries, options.k, &options.filter, 1)?
            .remove(0)
    } else if options.mode == SearchMode::Keyword {
        store.search_text(name, query, options.k, &options.filter)?
    } else {
        collection.check_modality(Modality::Text)?;
        let remote = RemoteOptions {
            base_url: a.base_url.clone(),
            api_key_env: Some(a.api_key_env.clone()),
        };
        let model = collection_model(&store, name, a.model.as_deref(), &remote)?;
        store.search(name, &model, query, &options)?
    };
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &hits)?;
        writeln!(out)?;
        return Ok(());
    }
    for (rank, h) in hits.iter().enumerate() {
        writeln!(out, "{}. {:.4}  {} #{}", rank + 1, h.score, h.id, h.chunk)?;
        if h.metadata.as_object().is_some_and(|m| !m.is_empty()) {
            writeln!(out, "   {}", h.metadata)?;
        }
        if collection.modality == Modality::Image {
            continue;
        }
        // The chunk as written, indented; blank lines stay blank.
        for line in h.text.lines().filter(|l| !l.trim().is_empty()) {
            writeln!(out, "   {line}")?;
        }
    }
    Ok(())
}
