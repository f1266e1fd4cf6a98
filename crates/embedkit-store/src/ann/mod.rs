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
//! * once a collection has an index, the triggers also log which rows each change touched
//!   (`ann_changes`), so catching up reads only those rows, not the whole collection; an
//!   index older than the log (or of a collection not logged yet) is compared with every
//!   row instead;
//! * a sidecar file that is missing, damaged, of another version or of another database is
//!   ignored and rebuilt; any failure here falls back to exact search, never to an error;
//! * dropping a collection deletes its sidecar file.
//!
//! Searches with a metadata filter, and collections under [`AnnSettings::min_chunks`], are
//! exact: a filter may keep only a few documents, which a graph walk would mostly miss.
//!
//! Each index also chooses its route: when its graph, tried on a sample of its
//! own rows, finds fewer than 9 in 10 of the true neighbours at the configured `ef_search`
//! (vectors without neighbourhood structure, such as isotropic noise) and the quantized scan
//! finds more, searches scan every row's 8-bit codes and rescore the best 100 with their
//! `f32` vectors instead ([`quantized`]); on such data that is both faster and more accurate
//! than walking the graph further.
//!
//! Not for: the PostgreSQL backend (pgvector has its own HNSW).

mod file;
pub mod hnsw;
pub mod quantized;

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

/// A collection's change log is cut back to its newest index once it is this long.
const LOG_KEPT: i64 = 10_000;

const SETUP: &str = "
CREATE TABLE IF NOT EXISTS ann_generation(collection TEXT PRIMARY KEY, generation INTEGER NOT NULL);
INSERT OR IGNORE INTO ann_generation(collection, generation) SELECT DISTINCT collection, 1 FROM chunks;
CREATE TABLE IF NOT EXISTS ann_logged(collection TEXT PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ann_changes(
    collection TEXT NOT NULL,
    generation INTEGER NOT NULL,
    row INTEGER NOT NULL,
    PRIMARY KEY(collection, generation)) WITHOUT ROWID;
DROP TRIGGER IF EXISTS ann_chunks_insert;
DROP TRIGGER IF EXISTS ann_chunks_delete;
DROP TRIGGER IF EXISTS ann_chunks_update;
CREATE TRIGGER IF NOT EXISTS ann_log_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO ann_generation(collection, generation) VALUES(NEW.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
    INSERT INTO ann_changes(collection, generation, row)
        SELECT collection, generation, NEW.id FROM ann_generation
        WHERE collection = NEW.collection
          AND EXISTS (SELECT 1 FROM ann_logged WHERE collection = NEW.collection);
END;
CREATE TRIGGER IF NOT EXISTS ann_log_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO ann_generation(collection, generation) VALUES(OLD.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
    INSERT INTO ann_changes(collection, generation, row)
        SELECT collection, generation, OLD.id FROM ann_generation
        WHERE collection = OLD.collection
          AND EXISTS (SELECT 1 FROM ann_logged WHERE collection = OLD.collection);
END;
CREATE TRIGGER IF NOT EXISTS ann_log_update AFTER UPDATE ON chunks BEGIN
    INSERT INTO ann_generation(collection, generation) VALUES(OLD.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
    INSERT INTO ann_changes(collection, generation, row)
        SELECT collection, generation, OLD.id FROM ann_generation
        WHERE collection = OLD.collection
          AND EXISTS (SELECT 1 FROM ann_logged WHERE collection = OLD.collection);
    INSERT INTO ann_generation(collection, generation) VALUES(NEW.collection, 1)
        ON CONFLICT(collection) DO UPDATE SET generation = generation + 1;
    INSERT INTO ann_changes(collection, generation, row)
        SELECT collection, generation, NEW.id FROM ann_generation
        WHERE collection = NEW.collection
          AND EXISTS (SELECT 1 FROM ann_logged WHERE collection = NEW.collection);
END;
INSERT OR IGNORE INTO embedkit_meta(key, value) VALUES('ann_store_id', hex(randomblob(8)));
";

/// How a collection's approximate searches are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Through the HNSW graph.
    Graph,
    /// By the quantized scan ([`Hnsw::search_scan`]): for vectors the graph cannot find
    /// its way through (isotropic noise, where it would have to visit most nodes).
    Scan,
}

/// A route with the index size and `ef_search` it was chosen at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Routed {
    pub route: Route,
    pub nodes: usize,
    pub ef: usize,
}

/// The graph answers a collection's searches when, on a sample of its own rows, it finds at
/// least this share of the true 10 nearest neighbours at the configured `ef_search`.
const MIN_GRAPH_RECALL: f64 = 0.9;

/// Rows sampled as queries to choose the route (each costs one exact scan).
const ROUTE_SAMPLES: usize = 32;

/// The route is chosen again once the index has grown by this share.
const REROUTE_GROWTH: f64 = 0.25;

/// Chooses how `saved` is searched, unless the choice made for it still holds; true when it
/// chose (the sidecar then has an outdated route).
fn route_if_due(saved: &mut Saved) -> bool {
    let (nodes, ef) = (saved.index.len(), saved.index.params().ef_search);
    let due = saved
        .route
        .is_none_or(|r| r.ef != ef || nodes as f64 > r.nodes as f64 * (1.0 + REROUTE_GROWTH));
    if !due {
        return false;
    }
    let recall = saved.index.sampled_recall(10, ROUTE_SAMPLES);
    // The scan only where it does better (its codes could, in principle, fail too).
    let route = if recall.graph < MIN_GRAPH_RECALL && recall.scan > recall.graph {
        Route::Scan
    } else {
        Route::Graph
    };
    tracing::debug!(
        ?recall,
        ?route,
        nodes,
        ef,
        "approximate search route chosen"
    );
    saved.route = Some(Routed { route, nodes, ef });
    true
}

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
        // Its change log too (a collection created again under the name logs from its own
        // first index on).
        if let Some(db) = db.to_str() {
            let _ = drop_log(db, collection);
        }
        // A file that cannot be deleted costs only disk space: should the name be used
        // again, it is checked against the rows like any stale index.
        let _ = std::fs::remove_file(index_path(db, collection));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Nearest chunk rows to `q` (already normalized for cosine) as (row id, score), best
    /// first, through the collection's index; `None` means "search the rows in the
    /// database": a filter, a small collection, an in-memory store, or anything failing.
    ///
    /// With `exact`, the answer is the exact one, from scoring every row the index holds: it
    /// is used only when the index is already in memory and current (an exact search never
    /// waits for an index to be built), and is then many times faster than reading the rows
    /// from the database.
    pub(crate) fn search(
        &self,
        conn: &Connection,
        spec: &Collection,
        q: &[f32],
        k: usize,
        filter: &Filter,
        exact: bool,
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
            if exact {
                return None;
            }
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
                    let Some(s) =
                        catch_up(conn, spec, start, settings.params, store_id, generation)
                    else {
                        tracing::warn!(
                            collection = %spec.name,
                            "the approximate index could not be brought up to date; searching every row"
                        );
                        return None;
                    };
                    let mut s = s;
                    s.index.set_ef_search(settings.params.ef_search);
                    let _ = route_if_due(&mut s);
                    // A sidecar that cannot be written only costs a rebuild next time.
                    let sidecar = index_path(Path::new(&path), &spec.name);
                    if let Err(e) = file::write(&sidecar, &s) {
                        tracing::warn!(
                            file = %sidecar.display(),
                            "the approximate index could not be saved ({e}); it is rebuilt when the store is next opened"
                        );
                    }
                    // Bookkeeping for the next catch-up, when due; failing costs only speed.
                    let since: Option<i64> = conn
                        .query_row(
                            "SELECT since FROM ann_logged WHERE collection = ?1",
                            [&spec.name],
                            |r| r.get(0),
                        )
                        .optional()
                        .ok()?;
                    if since.is_none_or(|since| generation - since > LOG_KEPT) {
                        let _ = keep_log(&path, &spec.name, generation);
                    }
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
        let found = if exact {
            saved.index.search_exact(q, k)
        } else {
            saved.index.set_ef_search(settings.params.ef_search);
            if route_if_due(saved) {
                // Chosen again for another ef_search: saved, so the next process need not.
                let _ = file::write(&index_path(Path::new(&path), &spec.name), saved);
            }
            match saved.route.map(|r| r.route) {
                Some(Route::Scan) => saved.index.search_scan(q, k, hnsw::SCAN_RERANK),
                _ => saved.index.search(q, k),
            }
        };
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
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ann_log_%'",
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

/// Another connection to the store file `db`, for the index's bookkeeping writes: they
/// wait briefly for a writer at work, then give up (to be done another time).
fn bookkeeper(db: &str) -> rusqlite::Result<Connection> {
    let c = Connection::open(db)?;
    c.busy_timeout(Duration::from_millis(200))?;
    Ok(c)
}

/// Starts logging `collection`'s changes if it is not logged yet, and cuts its log back
/// to `generation` (the index just saved) once it is long.
fn keep_log(db: &str, collection: &str, generation: i64) -> rusqlite::Result<()> {
    let mut c = bookkeeper(db)?;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Complete from the newest change on: every later change commits after this.
    tx.execute(
        "INSERT OR IGNORE INTO ann_logged(collection, since)
         SELECT ?1, coalesce((SELECT generation FROM ann_generation WHERE collection = ?1), 0)",
        [collection],
    )?;
    let since: i64 = tx.query_row(
        "SELECT since FROM ann_logged WHERE collection = ?1",
        [collection],
        |r| r.get(0),
    )?;
    if generation - since > LOG_KEPT {
        tx.execute(
            "DELETE FROM ann_changes WHERE collection = ?1 AND generation <= ?2",
            rusqlite::params![collection, generation],
        )?;
        tx.execute(
            "UPDATE ann_logged SET since = ?2 WHERE collection = ?1",
            rusqlite::params![collection, generation],
        )?;
    }
    tx.commit()
}

/// Stops logging a dropped collection's changes and deletes its log.
fn drop_log(db: &str, collection: &str) -> rusqlite::Result<()> {
    let c = bookkeeper(db)?;
    c.busy_timeout(Duration::from_secs(30))?;
    c.execute_batch("BEGIN IMMEDIATE")?;
    let done = c
        .execute("DELETE FROM ann_logged WHERE collection = ?1", [collection])
        .and_then(|_| {
            c.execute(
                "DELETE FROM ann_changes WHERE collection = ?1",
                [collection],
            )
        });
    c.execute_batch(if done.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    done.map(|_| ())
}

/// The rows changed after `from` up to `to` (generations), or `None` when the log does not
/// cover all of them.
fn changes(conn: &Connection, collection: &str, from: i64, to: i64) -> Option<Vec<i64>> {
    let since: i64 = conn
        .query_row(
            "SELECT since FROM ann_logged WHERE collection = ?1",
            [collection],
            |r| r.get(0),
        )
        .optional()
        .ok()??;
    if since > from || from > to {
        return None;
    }
    let mut stmt = conn
        .prepare(
            "SELECT DISTINCT row FROM ann_changes
             WHERE collection = ?1 AND generation > ?2 AND generation <= ?3",
        )
        .ok()?;
    let rows = stmt
        .query_map(rusqlite::params![collection, from, to], |r| r.get(0))
        .ok()?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .ok()?;
    Some(rows)
}

/// The node of each chunk row the index still holds (deleted nodes left out).
fn live_nodes(saved: &Saved) -> HashMap<i64, usize> {
    saved
        .rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !saved.index.is_deleted(*i))
        .map(|(i, &r)| (r, i))
        .collect()
}

/// Brings `start` (or, without one, an empty index) up to the collection's rows as they are
/// in `conn`'s snapshot: through the change log when it covers `start`, else by [`update`].
fn catch_up(
    conn: &Connection,
    spec: &Collection,
    start: Option<Saved>,
    params: Params,
    store_id: u64,
    generation: i64,
) -> Option<Saved> {
    let Some(mut saved) = start else {
        return update(conn, spec, None, params, store_id, generation);
    };
    let Some(changed) = changes(conn, &spec.name, saved.generation, generation) else {
        return update(conn, spec, Some(saved), params, store_id, generation);
    };
    // Every changed row leaves the graph; those still in the collection come back in with
    // their current vectors.
    let live = live_nodes(&saved);
    for row in &changed {
        if let Some(&node) = live.get(row) {
            saved.index.delete(node);
        }
    }
    let mut stmt = conn
        .prepare_cached("SELECT vector FROM chunks WHERE id = ?1 AND collection = ?2")
        .ok()?;
    #[cfg(test)]
    tests::ROWS_READ.with(|n| n.set(n.get() + changed.len()));
    let mut blobs: Vec<(i64, Vec<u8>)> = Vec::new();
    for &row in &changed {
        if let Some(blob) = stmt
            .query_row(rusqlite::params![row, spec.name], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .ok()?
        {
            blobs.push((row, blob));
        }
    }
    let new: Vec<(i64, u64, &[u8])> = blobs
        .iter()
        .map(|(row, blob)| (*row, file::hash(blob), blob.as_slice()))
        .collect();
    add(conn, spec, saved, new, params, store_id, generation)
}

/// Brings `start` (or, without one, an empty index) up to the collection's rows as they are
/// in `conn`'s snapshot, comparing every row: new rows inserted, vanished or rewritten rows
/// marked deleted.
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
    #[cfg(test)]
    tests::ROWS_READ.with(|n| n.set(n.get() + spans.len()));
    let db: Vec<(i64, u64, &[u8])> = Vec::from_iter(
        spans
            .iter()
            .map(|&(id, h, at, len)| (id, h, &blobs[at..at + len])),
    );
    let mut saved = match start {
        Some(s) => s,
        None => empty(spec, params, store_id, generation),
    };
    let mut known = live_nodes(&saved);
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
    add(conn, spec, saved, new, params, store_id, generation)
}

fn empty(spec: &Collection, params: Params, store_id: u64, generation: i64) -> Saved {
    Saved {
        store_id,
        generation,
        rows: Vec::new(),
        hashes: Vec::new(),
        index: Hnsw::new(spec.dimensions, metric(spec.distance), params),
        route: None,
    }
}

/// Adds `new` rows (id, blob hash, blob) to `saved`, now at `generation`; or rebuilds the
/// index from every row once too much of it is deleted.
fn add(
    conn: &Connection,
    spec: &Collection,
    mut saved: Saved,
    new: Vec<(i64, u64, &[u8])>,
    params: Params,
    store_id: u64,
    generation: i64,
) -> Option<Saved> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Storage, Store, StoredChunk, StoredDocument};
    use std::cell::Cell;

    thread_local! {
        /// Chunk rows read to bring indexes up to date, on this thread.
        pub(super) static ROWS_READ: Cell<usize> = const { Cell::new(0) };
    }

    const DIM: usize = 16;

    fn spec() -> Collection {
        Collection {
            name: "c".into(),
            model: "random".into(),
            dimensions: DIM,
            normalized: true,
            distance: Distance::Cosine,
            storage: Storage::F32,
            modality: Default::default(),
        }
    }

    /// Documents `ids` with one chunk each, its vector drawn from `seed` and the id.
    fn docs(ids: std::ops::Range<usize>, seed: u64) -> Vec<StoredDocument> {
        ids.map(|i| {
            let mut s = (seed << 32 ^ i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let vector = (0..DIM)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            StoredDocument {
                id: format!("d{i}"),
                hash: String::new(),
                metadata: serde_json::json!({}),
                chunks: vec![StoredChunk {
                    text: String::new(),
                    vector,
                }],
            }
        })
        .collect()
    }

    fn read_rows() -> usize {
        ROWS_READ.with(|n| n.replace(0))
    }

    /// Searches through `indexes` (so they catch up), then checks that the index holds
    /// exactly the collection's rows, each with its stored vector.
    fn search_and_check(indexes: &Indexes, db: &Path) {
        let conn = Connection::open(db).unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let q = docs(0..1, 99).remove(0).chunks.remove(0).vector;
        assert_eq!(
            indexes
                .search(&tx, &spec(), &q, 5, &Filter::default(), false)
                .map(|r| r.len()),
            Some(5)
        );
        let state = indexes.lock();
        let Some(Cached::Index(saved)) = state.cache.get("c") else {
            panic!("no index")
        };
        let mut indexed: Vec<(i64, Vec<f32>)> = (0..saved.rows.len())
            .filter(|&n| !saved.index.is_deleted(n))
            .map(|n| (saved.rows[n], saved.index.vector(n).to_vec()))
            .collect();
        indexed.sort_by_key(|r| r.0);
        let mut stmt = tx
            .prepare("SELECT id, vector FROM chunks WHERE collection = 'c' ORDER BY id")
            .unwrap();
        let stored: Vec<(i64, Vec<f32>)> = stmt
            .query_map([], |r| {
                let mut v = Vec::new();
                assert!(codec::decode_into(
                    &r.get::<_, Vec<u8>>(1)?,
                    DIM,
                    Storage::F32,
                    &mut v
                ));
                Ok((r.get(0)?, v))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexed, stored);
    }

    #[test]
    fn catching_up_reads_only_the_changed_rows_and_keeps_the_index_exact() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kb.db");
        let store = Store::open(db.to_str().unwrap()).unwrap();
        store.create_collection(&spec()).unwrap();
        store.upsert("c", &docs(0..600, 1)).unwrap();
        let settings = AnnSettings {
            min_chunks: 100,
            ..Default::default()
        };
        let first = Indexes::default();
        first.configure(settings);
        read_rows();
        // Built from every row; from now on the collection's changes are logged.
        search_and_check(&first, &db);
        assert_eq!(read_rows(), 600);

        // New documents, rewritten ones, deleted ones, and a deleted last row whose id the
        // next insert takes again (SQLite reuses the largest row id).
        store.upsert("c", &docs(600..640, 1)).unwrap();
        store.delete("c", &["d639"]).unwrap();
        store.upsert("c", &docs(700..701, 3)).unwrap();
        store.upsert("c", &docs(100..120, 2)).unwrap();
        let gone: Vec<String> = (200..230).map(|i| format!("d{i}")).collect();
        let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
        store.delete("c", &gone).unwrap();
        search_and_check(&first, &db);
        // 40 new rows (d700 took d639's), 20 rewritten (old row and new row each), 30
        // deleted.
        assert_eq!(read_rows(), 40 + 2 * 20 + 30);

        // Another process loads the saved index and catches it up the same way.
        store.upsert("c", &docs(0..10, 4)).unwrap();
        let second = Indexes::default();
        second.configure(settings);
        search_and_check(&second, &db);
        assert_eq!(read_rows(), 2 * 10);

        // A long log is cut back to the newest index; an index older than what is left
        // compares every row instead, and is exact too.
        for round in 0..6 {
            store.upsert("c", &docs(0..1000, 10 + round)).unwrap();
        }
        search_and_check(&second, &db);
        assert!(read_rows() <= 1000 + 6 * 2 * 1000);
        store.upsert("c", &docs(0..5, 20)).unwrap();
        search_and_check(&first, &db);
        assert!(read_rows() >= 1000);
    }

    /// The route of the index `indexes` holds for "c", after a search brought it up to date.
    fn route_after_search(indexes: &Indexes, db: &Path) -> Option<Routed> {
        let conn = Connection::open(db).unwrap();
        let q = docs(0..1, 99).remove(0).chunks.remove(0).vector;
        indexes
            .search(&conn, &spec(), &q, 5, &Filter::default(), false)
            .unwrap();
        match indexes.lock().cache.get("c") {
            Some(Cached::Index(saved)) => saved.route,
            _ => panic!("no index"),
        }
    }

    #[test]
    fn the_route_is_saved_and_chosen_again_after_growth_or_a_new_ef() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kb.db");
        let store = Store::open(db.to_str().unwrap()).unwrap();
        store.create_collection(&spec()).unwrap();
        store.upsert("c", &docs(0..600, 1)).unwrap();
        let mut settings = AnnSettings {
            min_chunks: 100,
            ..Default::default()
        };
        let indexes = Indexes::default();
        indexes.configure(settings);
        // 16-dimensional points: the graph finds their neighbours.
        let chosen = Routed {
            route: Route::Graph,
            nodes: 600,
            ef: 96,
        };
        assert_eq!(route_after_search(&indexes, &db), Some(chosen));
        let saved = file::read(&index_path(&db, "c")).unwrap();
        assert_eq!(saved.route, Some(chosen));
        // Grown by less than a quarter: kept; by more: chosen again.
        store.upsert("c", &docs(600..700, 1)).unwrap();
        assert_eq!(route_after_search(&indexes, &db), Some(chosen));
        store.upsert("c", &docs(700..800, 1)).unwrap();
        assert_eq!(route_after_search(&indexes, &db).unwrap().nodes, 800);
        // Another ef_search: chosen again (here the graph still wins, as k = 10 searches
        // keep at least 10 candidates; tests/ann.rs has a collection routed to the scan).
        settings.params.ef_search = 12;
        indexes.configure(settings);
        let again = route_after_search(&indexes, &db).unwrap();
        assert_eq!(
            (again.route, again.nodes, again.ef),
            (Route::Graph, 800, 12)
        );
        // Saved too, though no write brought the index up to date.
        let saved = file::read(&index_path(&db, "c")).unwrap();
        assert_eq!(saved.route, Some(again));
    }
}
