//! Items from a vector-store collection, and their neighbours through the store's index.
//!
//! A collection holds documents cut into chunks, one vector per chunk. Here a document is an
//! item: its text is its chunks' texts, its vector the mean of its chunks' vectors (one chunk:
//! the chunk's vector), its label the `"label"` of its metadata.
//!
//! [`StoreIndex`] finds candidates through the store's vector search (HNSW on large SQLite
//! collections, pgvector's index on PostgreSQL), so a query no longer scans every item. The
//! candidates are then scored by cosine with the items' vectors, exactly as [`ExactIndex`]
//! scores them, so the two give the same lists whenever the index finds the true nearest.
//!
//! [`ExactIndex`]: crate::recommend::ExactIndex

use crate::data::Item;
use crate::error::{invalid, Result};
use crate::linalg::{check_matrix, dot, unit};
use crate::recommend::{Neighbours, Scored};
use embedkit_store::{Filter, Store};
use std::collections::{HashMap, HashSet};

/// The documents of `collection` as items with vectors, ordered by id.
pub fn read_collection(store: &Store, collection: &str) -> Result<Vec<Item>> {
    let docs = store.documents(collection)?;
    if docs.is_empty() {
        return Err(invalid(format!(
            "collection {collection:?} has no documents"
        )));
    }
    Ok(docs
        .into_iter()
        .map(|d| {
            let dim = d.chunks.first().map_or(0, |c| c.vector.len());
            let mut mean = vec![0.0f32; dim];
            for c in &d.chunks {
                mean.iter_mut().zip(&c.vector).for_each(|(m, x)| *m += x);
            }
            let n = d.chunks.len().max(1) as f32;
            mean.iter_mut().for_each(|m| *m /= n);
            let label = match d.metadata.get("label") {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                    Some(v.to_string())
                }
                _ => None,
            };
            let texts: Vec<String> = d.chunks.into_iter().map(|c| c.text).collect();
            Item {
                id: d.id,
                text: Some(texts.join("\n")),
                label,
                embedding: Some(mean),
            }
        })
        .collect())
}

/// Cosine search over the items of a collection, through the store's index.
pub struct StoreIndex<'a> {
    store: &'a Store,
    collection: String,
    vectors: Vec<Vec<f32>>,
    position: HashMap<String, usize>,
    chunks: usize,
}

impl<'a> StoreIndex<'a> {
    /// Searches `collection` of `store` for `items` (as [`read_collection`] gives them: each
    /// with its vector, ids unique).
    pub fn new(store: &'a Store, collection: &str, items: &[Item]) -> Result<Self> {
        let vectors: Vec<Vec<f32>> = items
            .iter()
            .map(|i| {
                i.embedding
                    .clone()
                    .ok_or_else(|| invalid(format!("item {} has no vector", i.id)))
            })
            .collect::<Result<_>>()?;
        check_matrix(&vectors, collection)?;
        let mut position = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if position.insert(item.id.clone(), i).is_some() {
                return Err(invalid(format!("item id {} occurs twice", item.id)));
            }
        }
        Ok(Self {
            store,
            collection: collection.to_string(),
            vectors: vectors.iter().map(|v| unit(v)).collect(),
            position,
            chunks: store.counts(collection)?.chunks,
        })
    }
}

impl Neighbours for StoreIndex<'_> {
    fn len(&self) -> usize {
        self.vectors.len()
    }

    fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i]
    }

    fn nearest(&self, query: &[f32], k: usize) -> Result<Vec<Scored>> {
        let k = k.min(self.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        // The store returns chunks: ask for more until they name k documents.
        let mut fetch = k;
        let found = loop {
            let hits =
                self.store
                    .search_vector(&self.collection, query, fetch, &Filter::default())?;
            let mut seen = HashSet::new();
            let found: Vec<usize> = hits
                .iter()
                // A document added since the items were read is not among them.
                .filter_map(|h| self.position.get(&h.id).copied())
                .filter(|&i| seen.insert(i))
                .collect();
            if found.len() >= k || hits.len() < fetch || fetch >= self.chunks {
                break found;
            }
            fetch = (2 * fetch).min(self.chunks);
        };
        let mut scored: Vec<Scored> = found
            .into_iter()
            .map(|item| Scored {
                item,
                score: dot(query, &self.vectors[item]),
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        scored.truncate(k);
        Ok(scored)
    }
}
