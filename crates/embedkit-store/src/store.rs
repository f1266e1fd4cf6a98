//! The embedded backend: one SQLite file (WAL journal) holding collections, documents,
//! chunks with their vectors, and an FTS5 index of the chunk texts for keyword search.
//!
//! Every write is one transaction, so a killed process leaves either the whole batch or
//! none of it; readers see a consistent snapshot (WAL) while a writer works.

use crate::codec;
use crate::collection::{Collection, Distance};
use crate::error::{Error, Result};
use crate::filter::Filter;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::time::Duration;

const SCHEMA_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS embedkit_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections(name TEXT PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    hash TEXT NOT NULL,
    metadata TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    PRIMARY KEY(collection, id));
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(collection, doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2');
";

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
    conn: Connection,
    pub(crate) ann: crate::ann::Indexes,
}

impl Store {
    /// Opens (creating if needed) the store at `url`: a file path or `sqlite://PATH`.
    pub fn open(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(Error::UnsupportedUrl(format!(
                "{url}: this build has only the embedded backend"
            )));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() || url.contains("://") && !url.starts_with("sqlite://") {
            return Err(Error::UnsupportedUrl(url.to_string()));
        }
        Self::open_path(Path::new(path))
    }

    fn open_path(path: &Path) -> Result<Self> {
        let corrupt = |e: rusqlite::Error| Error::Corrupt {
            path: path.display().to_string(),
            why: e.to_string(),
        };
        if path.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is a directory; give a file path for the store",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(corrupt)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // journal_mode is the first statement that reads the file: garbage fails here.
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(corrupt)?;
        // FULL: a committed batch survives power loss too, not only a killed process.
        conn.execute_batch("PRAGMA synchronous=FULL;")
            .map_err(corrupt)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(corrupt)?;
        let ours: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'embedkit_meta'",
                [],
                |r| r.get(0),
            )
            .map_err(corrupt)?;
        if tables > 0 && ours == 0 {
            return Err(Error::Corrupt {
                path: path.display().to_string(),
                why: "an SQLite database without embedkit's tables".into(),
            });
        }
        conn.execute_batch(SCHEMA).map_err(corrupt)?;
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM embedkit_meta WHERE key = 'schema'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(corrupt)?;
        match version.as_deref() {
            None => {
                conn.execute(
                    "INSERT INTO embedkit_meta(key, value) VALUES('schema', ?1)",
                    [SCHEMA_VERSION],
                )?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(Error::Corrupt {
                    path: path.display().to_string(),
                    why: format!("schema version {v}, this build reads {SCHEMA_VERSION}"),
                })
            }
        }
        Ok(Self {
            conn,
            ann: Default::default(),
        })
    }

    /// Creates `spec`'s collection, or checks that the existing one has the same settings.
    pub fn create_collection(&self, spec: &Collection) -> Result<()> {
        Collection::check_name(&spec.name)?;
        let tx = self.write_tx()?;
        if let Some(existing) = collection_in(&tx, &spec.name)? {
            return existing.check_same(spec);
        }
        tx.execute(
            "INSERT INTO collections(name, spec) VALUES(?1, ?2)",
            params![
                spec.name,
                serde_json::to_string(spec).expect("plain struct")
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The collection called `name`.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        match collection_in(&self.conn, name)? {
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
        let mut stmt = self
            .conn
            .prepare("SELECT spec FROM collections ORDER BY name")?;
        let specs = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        specs.iter().map(|s| parse_spec(s)).collect()
    }

    /// Drops a collection with all its documents.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        self.collection(name)?;
        let tx = self.write_tx()?;
        tx.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE collection = ?1)",
            [name],
        )?;
        tx.execute("DELETE FROM chunks WHERE collection = ?1", [name])?;
        tx.execute("DELETE FROM documents WHERE collection = ?1", [name])?;
        tx.execute("DELETE FROM collections WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(())
    }

    /// Stored hashes of the documents among `ids` that exist.
    pub fn hashes(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash FROM documents WHERE collection = ?1 AND id = ?2")?;
        let mut out = HashMap::new();
        for id in ids {
            if let Some(h) = stmt
                .query_row(params![collection, id], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.insert(id.to_string(), h);
            }
        }
        Ok(out)
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
        let tx = self.write_tx()?;
        for d in docs {
            delete_document(&tx, collection, &d.id)?;
            tx.execute(
                "INSERT INTO documents(collection, id, hash, metadata, chunks) VALUES(?1, ?2, ?3, ?4, ?5)",
                params![collection, d.id, d.hash, d.metadata.to_string(), d.chunks.len()],
            )?;
            let mut chunk_stmt = tx.prepare_cached(
                "INSERT INTO chunks(collection, doc_id, chunk, text, vector) VALUES(?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut fts_stmt =
                tx.prepare_cached("INSERT INTO chunks_fts(rowid, text) VALUES(?1, ?2)")?;
            for (i, c) in d.chunks.iter().enumerate() {
                let mut v = c.vector.clone();
                if spec.normalized {
                    embedkit_core::vector::normalize(&mut v);
                }
                chunk_stmt.execute(params![
                    collection,
                    d.id,
                    i,
                    c.text,
                    codec::encode(&v, spec.storage)
                ])?;
                fts_stmt.execute(params![tx.last_insert_rowid(), c.text])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes documents by id; returns how many existed.
    pub fn delete(&self, collection: &str, ids: &[&str]) -> Result<usize> {
        self.collection(collection)?;
        let tx = self.write_tx()?;
        let mut n = 0;
        for id in ids {
            n += delete_document(&tx, collection, id)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Deletes the documents whose metadata matches `filter` (all, for an empty filter);
    /// returns how many.
    pub fn delete_where(&self, collection: &str, filter: &Filter) -> Result<usize> {
        self.collection(collection)?;
        let tx = self.write_tx()?;
        let ids: Vec<String> = documents_matching(&tx, collection, filter)?
            .into_keys()
            .collect();
        for id in &ids {
            delete_document(&tx, collection, id)?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    /// Document and chunk counts.
    pub fn counts(&self, collection: &str) -> Result<Counts> {
        self.collection(collection)?;
        let tx = self.conn.unchecked_transaction()?;
        let count = |sql: &str| -> Result<usize> {
            Ok(tx.query_row(sql, [collection], |r| r.get::<_, i64>(0))? as usize)
        };
        Ok(Counts {
            documents: count("SELECT count(*) FROM documents WHERE collection = ?1")?,
            chunks: count("SELECT count(*) FROM chunks WHERE collection = ?1")?,
        })
    }

    /// Ids of all documents with their chunk counts, checked against the chunks actually
    /// stored, in one snapshot (what a consistency check needs).
    pub fn document_chunks(&self, collection: &str) -> Result<Vec<(String, usize, usize)>> {
        let tx = self.conn.unchecked_transaction()?;
        let mut stmt = tx.prepare(
            "SELECT d.id, d.chunks, (SELECT count(*) FROM chunks c WHERE c.collection = d.collection AND c.doc_id = d.id)
             FROM documents d WHERE d.collection = ?1 ORDER BY d.id",
        )?;
        let rows = stmt
            .query_map([collection], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, i64>(2)? as usize,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Nearest chunks to `query`, best first: approximate (HNSW, see [`crate::ann`]) for a
    /// large collection without a filter, exact otherwise.
    pub fn search_vector(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        self.nearest(collection, query, k, filter, true)
    }

    /// Exact nearest chunks to `query` (every stored vector scored), best first.
    pub fn search_vector_exact(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        self.nearest(collection, query, k, filter, false)
    }

    fn nearest(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        filter: &Filter,
        approximate: bool,
    ) -> Result<Vec<Hit>> {
        let spec = self.collection(collection)?;
        spec.check_vector(query)?;
        let mut q = query.to_vec();
        if spec.normalized {
            embedkit_core::vector::normalize(&mut q);
        }
        let tx = self.conn.unchecked_transaction()?;
        if approximate {
            if let Some(ranked) = self.ann.search(&tx, &spec, &q, k, filter) {
                return hits(&tx, &ranked);
            }
        }
        let allowed = if filter.0.is_empty() {
            None
        } else {
            Some(documents_matching(&tx, collection, filter)?)
        };
        let mut stmt =
            tx.prepare_cached("SELECT id, doc_id, vector FROM chunks WHERE collection = ?1")?;
        let mut rows = stmt.query([collection])?;
        let mut heap = BinaryHeap::new();
        let mut v = Vec::with_capacity(spec.dimensions);
        while let Some(row) = rows.next()? {
            if let Some(allowed) = &allowed {
                if !allowed.contains_key(row.get_ref(1)?.as_str().unwrap_or_default()) {
                    continue;
                }
            }
            let blob = row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
            if !codec::decode_into(blob, spec.dimensions, spec.storage, &mut v) {
                return Err(Error::InvalidInput(format!(
                    "damaged store: a vector of {} bytes in collection {collection:?}",
                    blob.len()
                )));
            }
            let score = score(spec.distance, &q, &v);
            push_top(&mut heap, k, Scored(score, row.get::<_, i64>(0)?));
        }
        drop(rows);
        let ranked: Vec<(i64, f32)> = heap
            .into_sorted_vec()
            .into_iter()
            .map(|s| (s.1, s.0))
            .collect();
        hits(&tx, &ranked)
    }

    /// Keyword search (BM25 over chunk texts), best first. The score is the negated BM25
    /// rank SQLite computes, so larger is better.
    pub fn search_text(
        &self,
        collection: &str,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        self.collection(collection)?;
        // Each word becomes a quoted FTS5 string, OR-ed: no query syntax reaches the engine.
        let terms: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| format!("\"{w}\""))
            .collect();
        if terms.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let tx = self.conn.unchecked_transaction()?;
        let allowed = if filter.0.is_empty() {
            None
        } else {
            Some(documents_matching(&tx, collection, filter)?)
        };
        let mut stmt = tx.prepare_cached(
            "SELECT c.id, c.doc_id, bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
             WHERE chunks_fts MATCH ?1 AND c.collection = ?2 ORDER BY bm25(chunks_fts)",
        )?;
        let mut rows = stmt.query(params![terms.join(" OR "), collection])?;
        let mut ranked = Vec::new();
        while let Some(row) = rows.next()? {
            if let Some(allowed) = &allowed {
                if !allowed.contains_key(row.get_ref(1)?.as_str().unwrap_or_default()) {
                    continue;
                }
            }
            ranked.push((row.get::<_, i64>(0)?, -row.get::<_, f64>(2)? as f32));
            if ranked.len() == k {
                break;
            }
        }
        drop(rows);
        hits(&tx, &ranked)
    }

    fn write_tx(&self) -> Result<rusqlite::Transaction<'_>> {
        // IMMEDIATE takes the write lock up front, so two writers queue instead of failing
        // with a busy snapshot halfway through.
        Ok(rusqlite::Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        )?)
    }
}

fn parse_spec(s: &str) -> Result<Collection> {
    serde_json::from_str(s)
        .map_err(|e| Error::InvalidInput(format!("damaged collection record {s:?}: {e}")))
}

fn collection_in(conn: &Connection, name: &str) -> Result<Option<Collection>> {
    conn.query_row(
        "SELECT spec FROM collections WHERE name = ?1",
        [name],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .map(|s| parse_spec(&s))
    .transpose()
}

fn delete_document(conn: &Connection, collection: &str, id: &str) -> Result<usize> {
    conn.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE collection = ?1 AND doc_id = ?2)",
        params![collection, id],
    )?;
    conn.execute(
        "DELETE FROM chunks WHERE collection = ?1 AND doc_id = ?2",
        params![collection, id],
    )?;
    Ok(conn.execute(
        "DELETE FROM documents WHERE collection = ?1 AND id = ?2",
        params![collection, id],
    )?)
}

/// Ids (with metadata) of the documents that satisfy `filter`.
fn documents_matching(
    conn: &Connection,
    collection: &str,
    filter: &Filter,
) -> Result<HashMap<String, ()>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, metadata FROM documents WHERE collection = ?1")?;
    let mut rows = stmt.query([collection])?;
    let mut out = HashMap::new();
    while let Some(row) = rows.next()? {
        let meta: serde_json::Value =
            serde_json::from_str(row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?)
                .unwrap_or_default();
        if filter.matches(&meta) {
            out.insert(row.get(0)?, ());
        }
    }
    Ok(out)
}

/// Full hits for ranked chunk row ids.
fn hits(conn: &Connection, ranked: &[(i64, f32)]) -> Result<Vec<Hit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.doc_id, c.chunk, c.text, d.metadata FROM chunks c
         JOIN documents d ON d.collection = c.collection AND d.id = c.doc_id WHERE c.id = ?1",
    )?;
    ranked
        .iter()
        .map(|&(row, score)| {
            stmt.query_row([row], |r| {
                Ok(Hit {
                    id: r.get(0)?,
                    chunk: r.get::<_, i64>(1)? as usize,
                    score,
                    text: r.get(2)?,
                    metadata: serde_json::from_str(r.get_ref(3)?.as_str()?)
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .map_err(Error::from)
        })
        .collect()
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
