//! The embedded backend: one SQLite file (WAL journal) holding collections, documents,
//! chunks with their vectors, and an FTS5 index of the chunk texts for keyword search.
//!
//! Every write is one transaction, so a killed process leaves either the whole batch or
//! none of it; readers see a consistent snapshot (WAL) while a writer works.

use super::Backend;
use crate::ann::{AnnSettings, Indexes};
use crate::codec;
use crate::collection::Collection;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::keywords::Keywords;
use crate::segment;
use crate::store::{push_top, score, Counts, Hit, Scored, StoredChunk, StoredDocument};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::time::Duration;

/// 2: the FTS5 index holds the chunk texts with Chinese cut into words ([`segment`]); a
/// version-1 store (raw texts) is re-indexed when opened.
const SCHEMA_VERSION: &str = "2";

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

/// Schema 1 → 2: rebuilds the keyword index from the chunk texts, Chinese cut into words, in
/// one transaction (a store opened by an older build keeps working until then).
fn reindex_keywords(conn: &Connection) -> rusqlite::Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM chunks_fts", [])?;
    {
        let mut read = tx.prepare("SELECT id, text FROM chunks")?;
        let mut write = tx.prepare("INSERT INTO chunks_fts(rowid, text) VALUES(?1, ?2)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let (id, text): (i64, String) = (row.get(0)?, row.get(1)?);
            write.execute(params![id, segment::index_text(&text)])?;
        }
    }
    tx.execute(
        "UPDATE embedkit_meta SET value = ?1 WHERE key = 'schema'",
        [SCHEMA_VERSION],
    )?;
    tx.commit()
}

/// An open SQLite store.
pub(crate) struct Sqlite {
    conn: Connection,
    ann: Indexes,
}

impl Sqlite {
    /// Opens (creating if needed) the store file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
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
            Some("1") => reindex_keywords(&conn).map_err(corrupt)?,
            Some(v) => {
                return Err(Error::Corrupt {
                    path: path.display().to_string(),
                    why: format!("schema version {v}, this build reads {SCHEMA_VERSION}"),
                })
            }
        }
        Ok(Self {
            conn,
            ann: Indexes::default(),
        })
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

impl Backend for Sqlite {
    fn create_collection(&self, spec: &Collection) -> Result<()> {
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

    fn collection(&self, name: &str) -> Result<Option<Collection>> {
        collection_in(&self.conn, name)
    }

    fn collections(&self) -> Result<Vec<Collection>> {
        let mut stmt = self
            .conn
            .prepare("SELECT spec FROM collections ORDER BY name")?;
        let specs = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        specs.iter().map(|s| parse_spec(s)).collect()
    }

    fn drop_collection(&self, name: &str) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE collection = ?1)",
            [name],
        )?;
        tx.execute("DELETE FROM chunks WHERE collection = ?1", [name])?;
        tx.execute("DELETE FROM documents WHERE collection = ?1", [name])?;
        tx.execute("DELETE FROM collections WHERE name = ?1", [name])?;
        tx.commit()?;
        if let Some(db) = self.conn.path().filter(|p| !p.is_empty()) {
            self.ann.forget(Path::new(db), name);
        }
        Ok(())
    }

    fn hashes(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, String>> {
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

    fn upsert(&self, spec: &Collection, docs: &[StoredDocument]) -> Result<()> {
        let collection = spec.name.as_str();
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
                fts_stmt.execute(params![
                    tx.last_insert_rowid(),
                    segment::index_text(&c.text)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delete(&self, collection: &str, ids: &[&str]) -> Result<usize> {
        let tx = self.write_tx()?;
        let mut n = 0;
        for id in ids {
            n += delete_document(&tx, collection, id)?;
        }
        tx.commit()?;
        Ok(n)
    }

    fn delete_where(&self, collection: &str, filter: &Filter) -> Result<usize> {
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

    fn counts(&self, collection: &str) -> Result<Counts> {
        let tx = self.conn.unchecked_transaction()?;
        let count = |sql: &str| -> Result<usize> {
            Ok(tx.query_row(sql, [collection], |r| r.get::<_, i64>(0))? as usize)
        };
        Ok(Counts {
            documents: count("SELECT count(*) FROM documents WHERE collection = ?1")?,
            chunks: count("SELECT count(*) FROM chunks WHERE collection = ?1")?,
        })
    }

    fn document_chunks(&self, collection: &str) -> Result<Vec<(String, usize, usize)>> {
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

    fn documents(&self, spec: &Collection) -> Result<Vec<StoredDocument>> {
        let tx = self.conn.unchecked_transaction()?;
        let mut stmt = tx.prepare_cached(
            "SELECT d.id, d.hash, d.metadata, c.text, c.vector FROM documents d
             JOIN chunks c ON c.collection = d.collection AND c.doc_id = d.id
             WHERE d.collection = ?1 ORDER BY d.id, c.chunk",
        )?;
        let mut rows = stmt.query([&spec.name])?;
        let mut docs: Vec<StoredDocument> = Vec::new();
        while let Some(row) = rows.next()? {
            let id = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            if docs.last().is_none_or(|d| d.id != id) {
                docs.push(StoredDocument {
                    id: id.to_string(),
                    hash: row.get(1)?,
                    metadata: serde_json::from_str(
                        row.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                    )
                    .unwrap_or(serde_json::Value::Null),
                    chunks: Vec::new(),
                });
            }
            let blob = row.get_ref(4)?.as_blob().map_err(rusqlite::Error::from)?;
            let mut vector = Vec::with_capacity(spec.dimensions);
            if !codec::decode_into(blob, spec.dimensions, spec.storage, &mut vector) {
                return Err(Error::InvalidInput(format!(
                    "damaged store: a vector of {} bytes in collection {:?}",
                    blob.len(),
                    spec.name
                )));
            }
            let doc = docs.last_mut().expect("pushed above");
            doc.chunks.push(StoredChunk {
                text: row.get(3)?,
                vector,
            });
        }
        Ok(docs)
    }

    /// Exact: every stored vector is scored.
    fn set_ann(&self, settings: AnnSettings) {
        self.ann.configure(settings);
    }

    fn search_vector(
        &self,
        spec: &Collection,
        q: &[f32],
        k: usize,
        filter: &Filter,
        exact: bool,
    ) -> Result<Vec<Hit>> {
        let collection = spec.name.as_str();
        let tx = self.conn.unchecked_transaction()?;
        if let Some(ranked) = self.ann.search(&tx, spec, q, k, filter, exact) {
            return hits(&tx, &ranked);
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
            let score = score(spec.distance, q, &v);
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

    /// BM25 by FTS5; the score is the negated rank SQLite computes, so larger is better.
    fn search_text(
        &self,
        collection: &str,
        words: &Keywords,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
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
        let mut rows = stmt.query(params![words.any_of('"', " OR "), collection])?;
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
