//! Where a store keeps its data. [`crate::Store`] checks its input (collection exists,
//! vector widths, metadata shape, query words) and hands the storage work to one backend:
//! the embedded SQLite file or a PostgreSQL database with pgvector.

use crate::ann::AnnSettings;
use crate::collection::Collection;
use crate::error::Result;
use crate::filter::Filter;
use crate::keywords::Keywords;
use crate::store::{Counts, Hit, StoredDocument};
use std::collections::HashMap;

pub(crate) mod postgres;
pub(crate) mod sqlite;

/// The storage operations behind [`crate::Store`]; each write is one transaction.
pub(crate) trait Backend: Send {
    /// Creates `spec`'s collection (its name already checked), or checks that the
    /// existing one has the same settings.
    fn create_collection(&self, spec: &Collection) -> Result<()>;
    /// The collection called `name`, if there is one.
    fn collection(&self, name: &str) -> Result<Option<Collection>>;
    /// All collections, by name.
    fn collections(&self) -> Result<Vec<Collection>>;
    /// Drops an existing collection with all its documents.
    fn drop_collection(&self, name: &str) -> Result<()>;
    /// Stored hashes of the documents among `ids` that exist.
    fn hashes(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, String>>;
    /// Inserts or replaces checked `docs` (right widths, object metadata): all or none.
    fn upsert(&self, spec: &Collection, docs: &[StoredDocument]) -> Result<()>;
    /// Deletes documents by id; returns how many existed.
    fn delete(&self, collection: &str, ids: &[&str]) -> Result<usize>;
    /// Deletes the documents whose metadata matches `filter`; returns how many.
    fn delete_where(&self, collection: &str, filter: &Filter) -> Result<usize>;
    /// Document and chunk counts.
    fn counts(&self, collection: &str) -> Result<Counts>;
    /// Every document's id, recorded chunk count and stored chunk count, in one snapshot.
    fn document_chunks(&self, collection: &str) -> Result<Vec<(String, usize, usize)>>;
    /// Every document of `spec`'s collection with its chunks and their vectors (decoded
    /// from the collection's storage), by id and then chunk, in one snapshot.
    fn documents(&self, spec: &Collection) -> Result<Vec<StoredDocument>>;
    /// The `k` nearest chunks to `q` (the collection's width, normalized when the
    /// collection is), best first; `exact` scores every vector instead of using an index.
    fn search_vector(
        &self,
        spec: &Collection,
        q: &[f32],
        k: usize,
        filter: &Filter,
        exact: bool,
    ) -> Result<Vec<Hit>>;
    /// Settings of the backend's own approximate index; a backend whose index lives in
    /// the database (pgvector) keeps the database's settings.
    fn set_ann(&self, _settings: AnnSettings) {}
    /// The `k` (at least 1) chunks that best match any of `words` (not empty), best first.
    fn search_text(
        &self,
        collection: &str,
        words: &Keywords,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>>;
}
