//! Retrieval on top of the store: documents in (chunked by model tokens, embedded in
//! batches, upserted, unchanged ones skipped), questions out (embedded with the model's
//! query prompt, searched by vector, keyword or both).

use crate::chunk::{self, ChunkOptions};
use crate::collection::{Collection, Distance, Modality, Storage};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::source::Document;
use crate::store::{fuse, Hit, Store, StoredChunk, StoredDocument};
use embedkit_core::{EmbedOptions, Embedder, InputRole};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A model together with the spec it was loaded from (what collections record). The store
/// sees the model only through the [`Embedder`] seam: whoever loads it (the CLI, the server)
/// hands it over.
#[derive(Clone)]
pub struct StoreModel {
    /// The spec, e.g. `models/all-MiniLM-L6-v2` or `openai:text-embedding-3-small`.
    pub spec: String,
    /// The loaded model.
    pub model: Arc<dyn Embedder>,
}

impl StoreModel {
    /// The model loaded from `spec`.
    pub fn new(spec: &str, model: Arc<dyn Embedder>) -> Self {
        Self {
            spec: spec.to_string(),
            model,
        }
    }

    /// Width of the model's vectors.
    pub fn dimensions(&self) -> Result<usize> {
        self.model.dimensions().ok_or_else(|| {
            Error::InvalidInput(format!(
                "the width of {} is not known before a call; embed one text first",
                self.spec
            ))
        })
    }

    /// The settings of a new collection for this model.
    pub fn collection(
        &self,
        name: &str,
        distance: Option<Distance>,
        storage: Storage,
    ) -> Result<Collection> {
        let distance = match distance {
            Some(d) => d,
            None => Distance::for_similarity(self.model.similarity())?,
        };
        Ok(Collection {
            name: name.to_string(),
            model: self.spec.clone(),
            dimensions: self.dimensions()?,
            normalized: distance == Distance::Cosine || self.model.normalizes(),
            distance,
            storage,
            modality: Modality::Text,
        })
    }

    /// Fails unless this is the model `spec` was built with (same spec, or the same folder
    /// by another path) and gives vectors of its width.
    pub fn check(&self, spec: &Collection) -> Result<()> {
        spec.check_modality(Modality::Text)?;
        if !same_model(&spec.model, &self.spec) {
            return Err(Error::CollectionMismatch {
                name: spec.name.clone(),
                field: "model",
                existing: spec.model.clone(),
                requested: self.spec.clone(),
            });
        }
        let dims = self.dimensions()?;
        if dims != spec.dimensions {
            return Err(Error::Dimensions {
                collection: spec.name.clone(),
                expected: spec.dimensions,
                got: dims,
            });
        }
        Ok(())
    }

    /// Embeds texts of `role` with the model's prompt for it ([`Embedder::options_for`]).
    fn embed(&self, texts: &[&str], role: InputRole, batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let options = EmbedOptions {
            batch_size,
            ..self.model.options_for(role)
        };
        Ok(self.model.embed(texts, &options)?)
    }
}

/// How documents are chunked and embedded.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Chunk size and overlap in model tokens; `None` size means the model's limit.
    pub chunk_size: Option<usize>,
    /// Tokens repeated between neighbouring chunks.
    pub chunk_overlap: usize,
    /// Chunks per transaction (and per forward pass).
    pub batch_size: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            chunk_size: None,
            chunk_overlap: 32,
            batch_size: 32,
        }
    }
}

/// Progress after each committed batch. Counts are cumulative over the input, which is
/// processed in order: once `processed` is N, the first N input documents are durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestProgress {
    /// Input documents done (stored or skipped).
    pub processed: usize,
    /// Documents written.
    pub written: usize,
    /// Unchanged documents skipped.
    pub skipped: usize,
    /// Chunks written.
    pub chunks: usize,
}

/// Which search to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// Embedding similarity.
    #[default]
    Vector,
    /// BM25 over chunk texts.
    Keyword,
    /// Both, fused by reciprocal rank.
    Hybrid,
}

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// Hits wanted.
    pub k: usize,
    /// Metadata conditions.
    pub filter: Filter,
    /// Vector, keyword or hybrid.
    pub mode: SearchMode,
    /// Score every vector even where the collection has an approximate (HNSW) index.
    pub exact: bool,
}

impl Store {
    /// Chunks, embeds and upserts `docs` into `collection` (created for `model` if new),
    /// one transaction per batch; documents whose text, metadata and chunking are unchanged
    /// are skipped. Calls `on_batch` after each commit.
    ///
    /// The whole loop, from opening a store to answering a question. Any [`Embedder`] will
    /// do: the CLI and the server hand over `embedkit_models`' sentence models; here, a toy
    /// one that counts letters.
    ///
    /// ```
    /// use embedkit_core::{EmbedError, EmbedOptions, Embedder};
    /// use embedkit_store::{Document, IngestOptions, SearchOptions, Storage, Store, StoreModel};
    /// use std::sync::Arc;
    ///
    /// struct Letters;
    /// impl Embedder for Letters {
    ///     fn embed_with_progress(
    ///         &self,
    ///         texts: &[&str],
    ///         _: &EmbedOptions,
    ///         progress: &mut dyn FnMut(usize),
    ///     ) -> Result<Vec<Vec<f32>>, EmbedError> {
    ///         progress(texts.len());
    ///         Ok(texts.iter().map(|t| {
    ///             let mut v = vec![0.0; 26];
    ///             for b in t.to_ascii_lowercase().bytes().filter(u8::is_ascii_lowercase) {
    ///                 v[(b - b'a') as usize] += 1.0;
    ///             }
    ///             v
    ///         }).collect())
    ///     }
    ///     fn dimensions(&self) -> Option<usize> { Some(26) }
    ///     fn normalizes(&self) -> bool { false }
    ///     fn max_input_tokens(&self) -> Result<usize, EmbedError> { Ok(512) }
    ///     fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, EmbedError> {
    ///         Ok(pieces.iter().map(|p| p.split_whitespace().count()).collect())
    ///     }
    /// }
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let url = dir.path().join("kb.db").display().to_string();
    /// let store = Store::open(&url)?; // a file path or sqlite://PATH
    /// let model = StoreModel::new("letters", Arc::new(Letters));
    /// store.create_collection(&model.collection("notes", None, Storage::F32)?)?;
    /// let docs = [
    ///     Document {
    ///         id: "cats".into(),
    ///         text: "Cats sleep all day. They purr when content.".into(),
    ///         metadata: serde_json::json!({"lang": "en"}),
    ///     },
    ///     Document {
    ///         id: "zoo".into(),
    ///         text: "Zzz: a buzzing bee in the zoo.".into(),
    ///         metadata: serde_json::json!({"lang": "en"}),
    ///     },
    /// ];
    /// let done = store.add_documents("notes", &docs, &model, &IngestOptions::default(), |_| {})?;
    /// assert_eq!((done.written, done.chunks), (2, 2));
    /// let options = SearchOptions { k: 2, ..Default::default() };
    /// let hits = store.search("notes", &model, "cats purr all day", &options)?;
    /// assert_eq!(hits[0].id, "cats");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_documents(
        &self,
        collection: &str,
        docs: &[Document],
        model: &StoreModel,
        options: &IngestOptions,
        mut on_batch: impl FnMut(&IngestProgress),
    ) -> Result<IngestProgress> {
        model.check(&self.collection(collection)?)?;
        let limit = model.model.max_input_tokens()?;
        let chunking = ChunkOptions {
            size: options.chunk_size.unwrap_or(limit),
            overlap: options.chunk_overlap,
        };
        chunking.check()?;
        if chunking.size > limit {
            return Err(Error::InvalidInput(format!(
                "chunk size {} is more than {} embeds whole ({limit} tokens)",
                chunking.size, model.spec
            )));
        }
        if options.batch_size == 0 {
            return Err(Error::InvalidInput("batch size must be at least 1".into()));
        }
        let count = |p: &[&str]| Ok(model.model.count_tokens(p)?);
        let mut progress = IngestProgress::default();
        let mut pending: Vec<(StoredDocument, Vec<String>)> = Vec::new();
        let mut pending_chunks = 0;
        for group in docs.chunks(options.batch_size) {
            let ids: Vec<&str> = group.iter().map(|d| d.id.as_str()).collect();
            let stored = self.hashes(collection, &ids)?;
            for d in group {
                if d.id.is_empty() {
                    return Err(Error::InvalidInput("a document has an empty id".into()));
                }
                let hash = content_hash(d, chunking);
                if stored.get(&d.id) == Some(&hash) {
                    progress.skipped += 1;
                    progress.processed += 1;
                    continue;
                }
                let texts = chunk::chunk(&d.text, chunking, &count)?;
                pending_chunks += texts.len();
                pending.push((
                    StoredDocument {
                        id: d.id.clone(),
                        hash,
                        metadata: d.metadata.clone(),
                        chunks: Vec::new(),
                    },
                    texts,
                ));
                if pending_chunks >= options.batch_size {
                    self.flush(collection, model, options, &mut pending, &mut progress)?;
                    pending_chunks = 0;
                    on_batch(&progress);
                }
            }
        }
        if !pending.is_empty() {
            self.flush(collection, model, options, &mut pending, &mut progress)?;
            on_batch(&progress);
        }
        Ok(progress)
    }

    fn flush(
        &self,
        collection: &str,
        model: &StoreModel,
        options: &IngestOptions,
        pending: &mut Vec<(StoredDocument, Vec<String>)>,
        progress: &mut IngestProgress,
    ) -> Result<()> {
        let texts: Vec<&str> = pending
            .iter()
            .flat_map(|(_, t)| t.iter().map(String::as_str))
            .collect();
        let mut vectors = model
            .embed(&texts, InputRole::Document, options.batch_size)?
            .into_iter();
        let docs: Vec<StoredDocument> = pending
            .drain(..)
            .map(|(mut d, texts)| {
                d.chunks = texts
                    .into_iter()
                    .map(|text| StoredChunk {
                        text,
                        vector: vectors.next().expect("one vector per chunk"),
                    })
                    .collect();
                d
            })
            .collect();
        self.upsert(collection, &docs)?;
        progress.written += docs.len();
        progress.processed += docs.len();
        progress.chunks += docs.iter().map(|d| d.chunks.len()).sum::<usize>();
        Ok(())
    }

    /// Answers `query`: embeds it with the collection's model and query prompt (for vector
    /// and hybrid search) and returns the best chunks.
    /// See [`Store::add_documents`] for an example.
    pub fn search(
        &self,
        collection: &str,
        model: &StoreModel,
        query: &str,
        options: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        model.check(&self.collection(collection)?)?;
        let k = options.k;
        let vector = |k| -> Result<Vec<Hit>> {
            let q = model.embed(&[query], InputRole::Query, 1)?.remove(0);
            if options.exact {
                self.search_vector_exact(collection, &q, k, &options.filter)
            } else {
                self.search_vector(collection, &q, k, &options.filter)
            }
        };
        match options.mode {
            SearchMode::Vector => vector(k),
            SearchMode::Keyword => self.search_text(collection, query, k, &options.filter),
            SearchMode::Hybrid => {
                // Fuse deeper lists than asked for, so an item ranked well by one side only
                // can still make the cut.
                let depth = (4 * k).max(50);
                let lists = [
                    vector(depth)?,
                    self.search_text(collection, query, depth, &options.filter)?,
                ];
                Ok(fuse(&lists, k))
            }
        }
    }
}

/// Whether two model specs name the same model (equal, or paths to the same place).
pub(crate) fn same_model(existing: &str, requested: &str) -> bool {
    existing == requested
        || matches!(
            (std::fs::canonicalize(existing), std::fs::canonicalize(requested)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// What decides a document's chunks and vectors: its text, metadata and chunking.
fn content_hash(d: &Document, chunking: ChunkOptions) -> String {
    let mut h = Sha256::new();
    h.update(d.text.as_bytes());
    h.update([0]);
    h.update(d.metadata.to_string().as_bytes());
    h.update([0]);
    h.update(format!("{}/{}", chunking.size, chunking.overlap).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
