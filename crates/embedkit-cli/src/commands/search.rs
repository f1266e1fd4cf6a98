//! `embedkit search`: a question against a vector store collection.

use super::index::{collection_model, image_collection_model, open_store};
use crate::args::search::SearchArgs;
use anyhow::Result;
use embedkit_models::{Precision, RemoteOptions};
use embedkit_store::{Filter, Modality, Rerank, SearchMode, SearchOptions};
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
    } else {
        let reranker = a
            .rerank
            .as_deref()
            .map(|spec| super::load_cross_encoder(spec, Precision::Auto))
            .transpose()?;
        let rerank = reranker.as_ref().map(|model| Rerank {
            model,
            candidates: a.rerank_candidates,
        });
        if options.mode == SearchMode::Keyword {
            // Keyword search needs no embedding model, reranked or not.
            let depth = match &rerank {
                Some(r) => r.depth(options.k)?,
                None => options.k,
            };
            let hits = store.search_text(name, query, depth, &options.filter)?;
            match &rerank {
                Some(r) => r.apply(query, hits, options.k)?,
                None => hits,
            }
        } else {
            collection.check_modality(Modality::Text)?;
            let remote = RemoteOptions {
                base_url: a.base_url.clone(),
                api_key_env: Some(a.api_key_env.clone()),
            };
            let model = collection_model(&store, name, a.model.as_deref(), &remote)?;
            match &rerank {
                Some(r) => store.search_reranked(name, &model, query, &options, r)?,
                None => store.search(name, &model, query, &options)?,
            }
        }
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
