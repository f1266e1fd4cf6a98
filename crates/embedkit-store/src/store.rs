//! The store's front: the public API, which checks its input and hands the storage to a
//! backend chosen by the URL (see [`crate::backend`]), plus what both backends share:
//! hits, scores and rank fusion.

use crate::ann::AnnSettings;
use crate::backend::postgres::Postgres;
use crate::backend::sqlite::Sqlite;
use crate::backend::Backend;
use crate::collection::{Collection, Distance};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::keywords::Keywords;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

/// One chunk of a document, ready to store.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    /// Its text.
    pub text: String,
    /// Its embedding.
    pub vector: Vec<f32>,
}

/// A whole document, ready to store (replacing any document with the same id).
#[derive(Debug, Clone)]
pub struct StoredDocument {
    /// Caller's id, unique within the collection.
    pub id: String,
    /// Hash of what produced the chunks (to skip unchanged documents on re-ingest).
    pub hash: String,
    /// JSON object of metadata.
    pub metadata: serde_json::Value,
    /// Its chunks, in order.
    pub chunks: Vec<StoredChunk>,
}

/// One search result: a chunk of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// Document id.
    pub id: String,
    /// Chunk number within the document, from 0.
    pub chunk: usize,
    /// Larger is better; its meaning depends on the search (similarity, BM25, fused rank).
    pub score: f32,
    /// The chunk's text.
    pub text: String,
    /// The document's metadata.
    pub metadata: serde_json::Value,
}

/// Document and chunk counts of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Documents.
    pub documents: usize,
    /// Chunks (= vectors).
    pub chunks: usize,
}

/// An open store.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl Store {
    /// Opens (creating if needed) the store at `url`: a file path or `sqlite://PATH` for
    /// the embedded store, or `postgres://USER@HOST:PORT/DB[?schema=NAME]` for PostgreSQL
    /// with pgvector (the store's tables live in schema `NAME`, default `embedkit`).
    pub fn open(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Box::new(Postgres::open(url)?),
            });
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() || url.contains("://") && !url.starts_with("sqlite://") {
            return Err(Error::UnsupportedUrl(url.to_string()));
        }
        Ok(Self {
            backend: Box::new(Sqlite::open(Path::new(path))?),
        })
    }

    /// Creates `spec`'s collection, or checks that the existing one has the same settings.
    pub fn create_collection(&self, spec: &Collection) -> Result<()> {
        Collection::check_name(&spec.name)?;
        self.backend.create_collection(spec)
    }

    /// The collection called `name` if it exists (`None` if not; other failures are errors).
    pub fn find_collection(&self, name: &str) -> Result<Option<Collection>> {
        self.backend.collection(name)
    }

    /// The collection called `name`, created first with the settings `new` gives when it
    /// does not exist yet (`new` is called only then). Says whether it was created.
    pub fn open_or_create_collection(
        &self,
        name: &str,
        new: impl FnOnce() -> Result<Collection>,
    ) -> Result<(Collection, bool)> {
        if let Some(c) = self.find_collection(name)? {
            return Ok((c, false));
        }
        let spec = new()?;
        if spec.name != name {
            return Err(Error::InvalidInput(format!(
                "the settings made for collection {name:?} name {:?}",
                spec.name
            )));
        }
        self.create_collection(&spec)?;
        Ok((spec, true))
    }

    /// The collection called `name`.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        match self.backend.collection(name)? {
            Some(c) => Ok(c),
            None => Err(Error::UnknownCollection {
                name: name.to_string(),
                existing: {
                    let names: Vec<String> =
                        self.collections()?.into_iter().map(|c| c.name).collect();
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                },
            }),
        }
    }

    /// All collections, by name.
    pub fn collections(&self) -> Result<Vec<Collection>> {
        self.backend.collections()
    }

    /// Drops a collection with all its documents.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        self.collection(name)?;
        self.backend.drop_collection(name)
    }

    /// Stored hashes of the documents among `ids` that exist.
    pub fn hashes(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, String>> {
        self.backend.hashes(collection, ids)
    }

    /// Inserts or replaces `docs` in one transaction: all of them are stored, or none.
    pub fn upsert(&self, collection: &str, docs: &[StoredDocument]) -> Result<()> {
        let spec = self.collection(collection)?;
        for d in docs {
            if !d.metadata.is_object() {
                return Err(Error::InvalidInput(format!(
                    "metadata of document {:?} must be a JSON object",
                    d.id
                )));
            }
            for c in &d.chunks {
                spec.check_vector(&c.vector)?;
            }
        }
        self.backend.upsert(&spec, docs)
    }

    /// Deletes documents by id; returns how many existed.
    pub fn delete(&self, collection: &str, ids: &[&str]) -> Result<usize> {
        self.collection(collection)?;
        self.backend.delete(collection, ids)
    }

    /// Deletes the documents whose metadata matches `filter` (all, for an empty filter);
    /// returns how many.
    pub fn delete_where(&self, collection: &str, filter: &Filter) -> Result<usize> {
        self.collection(collection)?;
        self.backend.delete_where(collection, filter)
    }

    /// Document and chunk counts.
    pub fn counts(&self, collection: &str) -> Result<Counts> {
        self.collection(collection)?;
        self.backend.counts(collection)
    }

    /// Ids of all documents with their chunk counts, checked against the chunks actually
    /// stored, in one snapshot (what a consistency check needs).
    pub fn document_chunks(&self, collection: &str) -> Result<Vec<(String, usize, usize)>> {
        self.backend.document_chunks(collection)
    }

    /// Every document with its chunks and their vectors (as stored: f16 and int8 collections
    /// give back their rounded values), ordered by id. For applications that work on all the
    /// vectors of a collection (recommendation, clustering); it reads the whole collection.
    pub fn documents(&self, collection: &str) -> Result<Vec<StoredDocument>> {
        let spec = self.collection(collection)?;
        self.backend.documents(&spec)
    }

    /// Nearest chunks to `query`, best first: through the collection's approximate
    /// (HNSW) index where it has one and no filter is given, exactly otherwise.
    pub fn search_vector(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        self.nearest(collection, query, k, filter, false)
    }

    /// Exact nearest chunks to `query` (every stored vector scored), best first.
    pub fn search_vector_exact(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        self.nearest(collection, query, k, filter, true)
    }

    /// Changes when the embedded store searches through its HNSW index and how the index
    /// is built and searched (pgvector's index has settings of its own, in the database).
    pub fn set_ann(&self, settings: AnnSettings) {
        self.backend.set_ann(settings);
    }

    fn nearest(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: &Filter,
        exact: bool,
    ) -> Result<Vec<Hit>> {
        let spec = self.collection(collection)?;
        spec.check_vector(query)?;
        let mut q = query.to_vec();
        if spec.normalized {
            embedkit_core::vector::normalize(&mut q);
        }
        self.backend.search_vector(&spec, &q, k, filter, exact)
    }

    /// Keyword search (BM25 over chunk texts), best first; larger scores are better.
    /// Every run of letters and digits in `query` is a word; a chunk matches any of them.
    pub fn search_text(
        &self,
        collection: &str,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        self.collection(collection)?;
        let words = Keywords::parse(query);
        if words.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        self.backend.search_text(collection, &words, k, filter)
    }
}

/// Similarity of a (normalized, for cosine) query and a stored vector; larger is closer.
pub(crate) fn score(distance: Distance, q: &[f32], v: &[f32]) -> f32 {
    match distance {
        Distance::Cosine | Distance::Dot => embedkit_kernels::ops::dot(q, v),
        Distance::L2 => -q
            .iter()
            .zip(v)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt(),
    }
}

/// A score with its row; ordered so the heap's top is the worst kept (min-heap by score).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored(pub f32, pub i64);

impl PartialEq for Scored {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scored {
    // Reversed score (higher score = "smaller"), ties by row id, so `into_sorted_vec` is
    // best first and the heap's top is the worst.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

pub(crate) fn push_top(heap: &mut BinaryHeap<Scored>, k: usize, s: Scored) {
    if k == 0 {
        return;
    }
    if heap.len() < k {
        heap.push(s);
    } else if heap.peek().is_some_and(|worst| s < *worst) {
        heap.pop();
        heap.push(s);
    }
}

/// Reciprocal rank fusion: each list adds `1 / (60 + rank)` per item (rank from 1), the
/// constant of Cormack et al. (2009). Returns the fused list, best first, `k` long.
pub fn fuse(lists: &[Vec<Hit>], k: usize) -> Vec<Hit> {
    let mut fused: Vec<(Hit, f32)> = Vec::new();
    let mut seen: HashMap<(String, usize), usize> = HashMap::new();
    for list in lists {
        for (rank, h) in list.iter().enumerate() {
            let add = 1.0 / (60.0 + rank as f32 + 1.0);
            match seen.get(&(h.id.clone(), h.chunk)) {
                Some(&i) => fused[i].1 += add,
                None => {
                    seen.insert((h.id.clone(), h.chunk), fused.len());
                    fused.push((h.clone(), add));
                }
            }
        }
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused
        .into_iter()
        .take(k)
        .map(|(mut h, s)| {
            h.score = s;
            h
        })
        .collect()
}
