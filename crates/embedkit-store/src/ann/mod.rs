//! Approximate nearest-neighbour search for large collections of the embedded store: our own
//! HNSW graph ([`hnsw`]), kept in memory per collection and in a sidecar file next to the
//! database (`<store>.hnsw-<hex of the collection name>`).
//!
//! The index is written here rather than taken from a crate because it is the product: it
//! has to read the store's rows, skip deleted ones, extend itself when rows are added, and
//! compare vectors through embedkit-kernels' SIMD inner product.
//!
//! The database stays the source of truth; the index is a cache of it:
//! * triggers on the chunks table count changes per collection (`ann_generation`); an index
//!   is used only when its stamp (store id + change count) matches, otherwise it is brought
//!   up to date first: rows not in it are inserted, rows gone or changed are marked deleted
//!   (and the graph rebuilt once a third of it is deleted);
//! * a sidecar file that is missing, damaged, of another version or of another database is
//!   ignored and rebuilt; any failure here falls back to exact search, never to an error;
//! * dropping a collection deletes its sidecar file.
//!
//! Searches with a metadata filter, and collections under [`AnnSettings::min_chunks`], are
//! exact: a filter may keep only a few documents, which a graph walk would mostly miss.
//!
//! Not for: the PostgreSQL backend (pgvector has its own HNSW).

mod file;
pub mod hnsw;

use crate::codec;
use crate::collection::{Collection, Distance};
use crate::filter::Filter;
use file::Saved;
use hnsw::{Hnsw, Metric, Params};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// When and how the store uses approximate search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnSettings {
    /// Collections with fewer chunks are searched exactly.
    pub min_chunks: usize,
    /// Graph settings (M and ef_construction apply to indexes built from now on).
    pub params: Params,
}

impl Default for AnnSettings {
    fn default() -> Self {
        Self {
            min_chunks: 5000,
            params: Params::default(),
        }
    }
}

/// Rebuild from scratch once this share of the nodes is deleted.
const MAX_DELETED_SHARE: f64 = 1.0 / 3.0;

const SETUP: &str = "
CREATE TABLE IF NOT EXISTS ann_generation(collection TEXT PRIMARY KEY, generation INTEGER NOT NULL);
INSERT OR IGNORE INTO ann_generation(collection, generation) SELECT DISTINCT collection, 1 FROM chunks;
CREATE TRIGGER IF NOT EXISTS ann_chunks_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO ann_generation(collection, generation) VALUES(NEW.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER IF NOT EXISTS ann_chunks_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO ann_generation(collection, generation) VALUES(OLD.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER IF NOT EXISTS ann_chunks_update AFTER UPDATE ON chunks BEGIN
    INSERT INTO ann_generation(collection, generation) VALUES(OLD.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
    INSERT INTO ann_generation(collection, generation) VALUES(NEW.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
END;
INSERT OR IGNORE INTO embedkit_meta(key, value) VALUES('ann_store_id', hex(randomblob(8)));
";

/// What is known about one collection.
enum Cached {
    /// Too small for an index at this change count.
    Small(i64),
    /// An index (possibly stale: its generation says).
    Index(Box<Saved>),
}

/// The store's approximate-search state: settings and the indexes loaded so far.
#[derive(Default)]
pub(crate) struct Indexes {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    settings: AnnSettings,
    store_id: Option<u64>,
    cache: HashMap<String, Cached>,
}

impl Indexes {
    /// Changes when approximate search is used and how indexes are built and searched.
    pub(crate) fn configure(&self, settings: AnnSettings) {
        let mut state = self.lock();
        state.settings = settings;
        // "Too small" was judged by the old threshold.
        state.cache.retain(|_, c| matches!(c, Cached::Index(_)));
        for c in state.cache.values_mut() {
            if let Cached::Index(s) = c {
                s.index.set_ef_search(settings.params.ef_search);
            }
        }
    }
}

impl Indexes {
    /// Forgets the index of a dropped collection and deletes its sidecar file next to the
    /// store file `db`. The collection's change counter stays: a collection created again
    /// under the name counts on from it, so no older index can pass for a current one.
    pub(crate) fn forget(&self, db: &Path, collection: &str) {
        self.lock().cache.remove(collection);
        // A file that cannot be deleted costs only disk space: should the name be used
        // again, it is checked against the rows like any stale index.
        let _ = std::fs::remove_file(index_path(db, collection));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Nearest chunk rows to `q` (already normalized for cosine) as (row id, score), best
    /// first, through the collection's index; `None` means "search exactly": a filter, a
    /// small collection, an in-memory store, or anything failing.
    pub(crate) fn search(
        &self,
        conn: &Connection,
        spec: &Collection,
        q: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Option<Vec<(i64, f32)>> {
        if !filter.0.is_empty() || k == 0 {
            return None;
        }
        let path = conn.path().filter(|p| !p.is_empty())?.to_string();
        let mut state = self.lock();
        if state.store_id.is_none() {
            state.store_id = Some(setup(&path)?);
        }
        let store_id = state.store_id?;
        let settings = state.settings;
        let generation: i64 = conn
            .query_row(
                "SELECT generation FROM ann_generation WHERE collection = ?1",
                [&spec.name],
                |r| r.get(0),
            )
            .optional()
            .ok()?
            .unwrap_or(0);
        let fresh = match state.cache.get(&spec.name) {
            Some(Cached::Small(g)) if *g == generation => return None,
            Some(Cached::Index(s)) => s.generation == generation,
            _ => false,
        };
        if !fresh {
            let chunks: i64 = conn
                .query_row(
                    "SELECT count(*) FROM chunks WHERE collection = ?1",
                    [&spec.name],
                    |r| r.get(0),
                )
                .ok()?;
            if (chunks as usize) < settings.min_chunks {
                state
                    .cache
                    .insert(spec.name.clone(), Cached::Small(generation));
                return None;
            }
            let start = match state.cache.remove(&spec.name) {
                Some(Cached::Index(s)) => Some(*s),
                _ => file::read(&index_path(Path::new(&path), &spec.name)),
            };
            let start = start.filter(|s| {
                s.store_id == store_id
                    && s.index.dim() == spec.dimensions
                    && s.index.params().m == settings.params.m
                    && s.index.params().ef_construction == settings.params.ef_construction
                    && metric(spec.distance) == s.index.metric()
            });
            let saved = match start {
                Some(s) if s.generation == generation => s,
                start => {
                    let s = update(conn, spec, start, settings.params, store_id, generation)?;
                    // A sidecar that cannot be written only costs a rebuild next time.
                    let _ = file::write(&index_path(Path::new(&path), &spec.name), &s);
                    s
                }
            };
            state
                .cache
                .insert(spec.name.clone(), Cached::Index(Box::new(saved)));
        }
        let Some(Cached::Index(saved)) = state.cache.get_mut(&spec.name) else {
            return None;
        };
        saved.index.set_ef_search(settings.params.ef_search);
        let found = saved.index.search(q, k);
        let mut ranked: Vec<(i64, f32)> = found
            .into_iter()
            .map(|(node, _)| {
                let v = saved.index.vector(node as usize);
                (
                    saved.rows[node as usize],
                    crate::store::score(spec.distance, q, v),
                )
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Some(ranked)
    }
}

/// Creates the change counters and the store id if the database lacks them, and returns
/// the id. Runs once per open store, on a connection of its own: the caller's transaction
/// has not read yet, so it then sees them.
fn setup(path: &str) -> Option<u64> {
    let other = Connection::open(path).ok()?;
    other.busy_timeout(Duration::from_secs(30)).ok()?;
    let read = || {
        other
            .query_row(
                "SELECT value FROM embedkit_meta WHERE key = 'ann_store_id'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .ok()
            .flatten()
            .and_then(|s| u64::from_str_radix(&s, 16).ok())
    };
    let triggers: i64 = other
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ann_chunks_%'",
            [],
            |r| r.get(0),
        )
        .ok()?;
    if triggers == 3 {
        if let Some(id) = read() {
            return Some(id);
        }
    }
    other
        .execute_batch(&format!("BEGIN IMMEDIATE; {SETUP} COMMIT;"))
        .ok()?;
    read()
}

/// The sidecar file that holds the index of `collection` in the store file `db`.
pub fn index_path(db: &Path, collection: &str) -> PathBuf {
    let hex: String = collection.bytes().map(|b| format!("{b:02x}")).collect();
    let mut name = db.as_os_str().to_owned();
    name.push(format!(".hnsw-{hex}"));
    PathBuf::from(name)
}

fn metric(d: Distance) -> Metric {
    match d {
        Distance::Cosine | Distance::Dot => Metric::Dot,
        Distance::L2 => Metric::L2,
    }
}

/// Brings `start` (or, without one, an empty index) up to the collection's rows as they are
/// in `conn`'s snapshot: new rows inserted, vanished or rewritten rows marked deleted.
fn update(
    conn: &Connection,
    spec: &Collection,
    start: Option<Saved>,
    params: Params,
    store_id: u64,
    generation: i64,
) -> Option<Saved> {
    let mut stmt = conn
        .prepare("SELECT id, vector FROM chunks WHERE collection = ?1 ORDER BY id")
        .ok()?;
    let mut rows = stmt.query([&spec.name]).ok()?;
    // Blobs are copied out of the row cursor into one buffer, then decoded.
    let mut blobs: Vec<u8> = Vec::new();
    let mut spans = Vec::new();
    while let Some(row) = rows.next().ok()? {
        let id: i64 = row.get(0).ok()?;
        let blob = row.get_ref(1).ok()?.as_blob().ok()?;
        spans.push((id, file::hash(blob), blobs.len(), blob.len()));
        blobs.extend_from_slice(blob);
    }
    drop(rows);
    let db: Vec<(i64, u64, &[u8])> = Vec::from_iter(
        spans
            .iter()
            .map(|&(id, h, at, len)| (id, h, &blobs[at..at + len])),
    );
    let mut saved = match start {
        Some(s) => s,
        None => Saved {
            store_id,
            generation,
            rows: Vec::new(),
            hashes: Vec::new(),
            index: Hnsw::new(spec.dimensions, metric(spec.distance), params),
        },
    };
    let mut known: HashMap<i64, usize> = saved
        .rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !saved.index.is_deleted(*i))
        .map(|(i, &r)| (r, i))
        .collect();
    let mut new = Vec::new();
    for &(id, h, blob) in &db {
        match known.remove(&id) {
            Some(node) if saved.hashes[node] == h => {}
            Some(node) => {
                saved.index.delete(node);
                new.push((id, h, blob));
            }
            None => new.push((id, h, blob)),
        }
    }
    for (_, node) in known {
        saved.index.delete(node);
    }
    let deleted = saved.index.len() - saved.index.live();
    if deleted as f64 > MAX_DELETED_SHARE * (saved.index.len() + new.len()) as f64 {
        return update(conn, spec, None, params, store_id, generation);
    }
    let mut vectors = Vec::with_capacity(new.len() * spec.dimensions);
    let mut v = Vec::with_capacity(spec.dimensions);
    for &(id, h, blob) in &new {
        if !codec::decode_into(blob, spec.dimensions, spec.storage, &mut v)
            || v.iter().any(|x| !x.is_finite())
        {
            return None;
        }
        vectors.extend_from_slice(&v);
        saved.rows.push(id);
        saved.hashes.push(h);
    }
    saved.index.add(&vectors);
    saved.generation = generation;
    saved.store_id = store_id;
    Some(saved)
}
