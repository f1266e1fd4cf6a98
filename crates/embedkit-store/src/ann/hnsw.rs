//! Hierarchical navigable small world graphs (Malkov & Yashunin, 2018, arXiv:1603.09320):
//! layered proximity graphs searched greedily from the top layer down, with the paper's
//! neighbour-selection heuristic (Algorithm 4) so links spread across directions.
//!
//! Layout, chosen for search speed: vectors are one flat `f32` array (and again as 8-bit
//! codes, which searches walk the graph by before rescoring in `f32`), the bottom layer's
//! links one flat array with a fixed stride (`[count, ids...]` per node, `2·M` slots), the
//! upper layers' links a short array per node. Links are `AtomicU32` so many threads can
//! insert at once (each node's lists are rewritten under that node's lock, as hnswlib does)
//! while searches read them without locks; relaxed loads compile to plain loads.
//!
//! Deleted nodes stay in the graph as stepping stones but are never returned.

use super::quantized::{Quantized, QuantizedQuery};
use rayon::prelude::*;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Mutex;

/// How the graph compares vectors; smaller is closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Negated inner product (cosine on unit-length vectors).
    Dot,
    /// Squared Euclidean distance.
    L2,
}

/// Build and search settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Links per node on the upper layers (twice as many on the bottom layer).
    pub m: usize,
    /// Candidate list length while inserting: larger builds slower and better graphs.
    pub ef_construction: usize,
    /// Candidate list length while searching (at least `k` is used): larger is slower and
    /// finds more of the true neighbours.
    pub ef_search: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            ef_search: 96,
        }
    }
}

/// A distance with its node; ordered by distance, then node.
#[derive(Debug, Clone, Copy)]
struct Near(f32, u32);

impl PartialEq for Near {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Near {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// `Near` ordered the other way, so a `BinaryHeap` of it pops the closest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Closest(Near);

impl PartialOrd for Closest {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Closest {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.cmp(&self.0)
    }
}

/// Rows the quantized scan rescores with their `f32` vectors, unless told otherwise.
pub const SCAN_RERANK: usize = 100;

/// What [`Hnsw::sampled_recall`] measured: the share of true neighbours each search finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampledRecall {
    /// Through the graph at `ef_search`.
    pub graph: f64,
    /// By the quantized scan.
    pub scan: f64,
}

/// How many neighbours' rows a layer search requests from memory ahead of scoring.
const PREFETCH_AHEAD: usize = 2;

/// How many rows ahead of the one being scored the exact scan requests from memory.
const SCAN_AHEAD: usize = 4;

/// Per-thread "seen" marks, reset in O(1) by bumping the epoch.
struct Visited {
    marks: Vec<u32>,
    epoch: u32,
}

impl Visited {
    fn start(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.epoch = 1;
        }
    }

    /// Marks `i`; true if it was not marked yet.
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let m = &mut self.marks[i as usize];
        if *m == self.epoch {
            false
        } else {
            *m = self.epoch;
            true
        }
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = const { RefCell::new(Visited { marks: Vec::new(), epoch: 0 }) };
}

/// The graph's entry point: the node on the highest layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    node: u32,
    level: usize,
}

/// An HNSW index over `n` vectors of one width, addressed by node number `0..n`.
pub struct Hnsw {
    dim: usize,
    metric: Metric,
    params: Params,
    vectors: Vec<f32>,
    /// Squared norms (for L2 through inner products).
    norms: Vec<f32>,
    /// The rows again in 8 bits: searches walk the graph by them, and [`Hnsw::search_scan`]
    /// streams them.
    quantized: Quantized,
    levels: Vec<u8>,
    /// `n × (1 + 2M)`: count, then ids.
    links0: Vec<AtomicU32>,
    /// Per node, `level × (1 + M)` for layers 1..=level.
    upper: Vec<Box<[AtomicU32]>>,
    locks: Vec<Mutex<()>>,
    entry: Mutex<Option<Entry>>,
    deleted: Vec<bool>,
    live: usize,
}

/// The parts of an index, as persisted.
pub(crate) struct Parts {
    pub dim: usize,
    pub metric: Metric,
    pub params: Params,
    pub vectors: Vec<f32>,
    pub levels: Vec<u8>,
    pub links0: Vec<u32>,
    pub upper: Vec<Vec<u32>>,
    pub entry: Option<(u32, usize)>,
    pub deleted: Vec<bool>,
}

/// How a link list takes one more link ([`Hnsw::room_for_a_link`]).
#[derive(Debug, Clone, Copy)]
enum Room {
    /// It has a free slot.
    Free,
    /// Its link at this index gives way.
    Replace(usize),
}

/// Highest layer a node may get (the chance of reaching it is M^-30).
const MAX_LEVEL: usize = 30;

impl Hnsw {
    /// An empty index for `dim`-wide vectors.
    pub fn new(dim: usize, metric: Metric, params: Params) -> Self {
        let params = Params {
            m: params.m.clamp(2, 128),
            ef_construction: params.ef_construction.max(1),
            ef_search: params.ef_search.max(1),
        };
        Self {
            dim,
            metric,
            params,
            vectors: Vec::new(),
            norms: Vec::new(),
            quantized: Quantized::new(dim),
            levels: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            locks: Vec::new(),
            entry: Mutex::new(None),
            deleted: Vec::new(),
            live: 0,
        }
    }

    /// Nodes, deleted ones included.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether it has no nodes.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Nodes not deleted.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Vector width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How vectors are compared.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Settings.
    pub fn params(&self) -> Params {
        self.params
    }

    /// Sets the search-time candidate list length.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    /// The vector of node `i`.
    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// Whether node `i` is deleted.
    pub fn is_deleted(&self, i: usize) -> bool {
        self.deleted[i]
    }

    /// Marks node `i` deleted: searches step through it but never return it.
    pub fn delete(&mut self, i: usize) {
        if !self.deleted[i] {
            self.deleted[i] = true;
            self.live -= 1;
        }
    }

    /// Adds `rows` (each `dim` wide, concatenated) as nodes `len()..`, inserting them into
    /// the graph on all rayon threads. Returns the first new node number.
    ///
    /// # Panics
    /// If `rows.len()` is not a multiple of the width (callers check widths).
    pub fn add(&mut self, rows: &[f32]) -> usize {
        assert_eq!(rows.len() % self.dim.max(1), 0, "rows of the index width");
        let first = self.len();
        let count = rows.len() / self.dim.max(1);
        let m = self.params.m;
        let ml = 1.0 / (m as f64).ln();
        self.vectors.extend_from_slice(rows);
        self.quantized.push(rows);
        for i in first..first + count {
            let v = &self.vectors[i * self.dim..(i + 1) * self.dim];
            self.norms.push(embedkit_kernels::ops::dot(v, v));
            let level = random_level(i as u64, ml);
            self.levels.push(level as u8);
            self.links0
                .extend((0..1 + 2 * m).map(|_| AtomicU32::new(0)));
            self.upper.push(
                (0..level * (1 + m))
                    .map(|_| AtomicU32::new(0))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
            self.locks.push(Mutex::new(()));
            self.deleted.push(false);
        }
        self.live += count;
        // The first node alone, so the parallel inserts all find an entry point.
        let mut rest = first..first + count;
        if self.entry_point().is_none() {
            if let Some(i) = rest.next() {
                self.insert(i as u32);
            }
        }
        let this = &*self;
        rest.into_par_iter().for_each(|i| this.insert(i as u32));
        if count > 1 {
            self.connect_unreachable();
        }
        first
    }

    /// Links back every node that a walk of the bottom layer from the entry point cannot
    /// reach, from the closest node it can.
    ///
    /// Why: inserting in parallel, a node's in-links can all be pruned by its neighbours'
    /// later inserts (each keeps only its best `2M`), and nothing links it again: no search
    /// could find it (32 of 3,000 clustered points with M = 3; seen on a 52-node
    /// collection). Costs a walk over all links per [`Hnsw::add`] of several rows, and one
    /// search per node to reconnect.
    fn connect_unreachable(&self) {
        let Some(entry) = self.entry_point() else {
            return;
        };
        let max = 2 * self.params.m;
        // A host whose list is full gives up a link to a node that others link to as well;
        // where none is left, its first link, which can strand that node in turn: a few
        // passes settle it (3,000 clustered points, M = 3: all reachable after one pass; a
        // grid of exact duplicates with M = 2: 1,493 of 1,500 stranded, 17 after 8 passes).
        for _ in 0..8 {
            let mut reached = self.reached_from_entry();
            if reached.iter().all(|&r| r) {
                return;
            }
            let mut in_links = vec![0_u32; self.len()];
            let mut buf = Vec::with_capacity(max + 1);
            for node in 0..self.len() as u32 {
                self.neighbours(node, 0, &mut buf);
                buf.iter().for_each(|&nb| in_links[nb as usize] += 1);
            }
            for u in 0..self.len() as u32 {
                if reached[u as usize] {
                    continue;
                }
                let score = Exact {
                    index: self,
                    q: self.vector(u as usize),
                    qn: self.norms[u as usize],
                };
                let found = self
                    .walk(&score, entry, self.params.ef_construction, false)
                    .into_sorted_vec();
                let hosts: Vec<u32> = found
                    .iter()
                    .map(|n| n.1)
                    .filter(|&n| reached[n as usize])
                    .chain([entry.node])
                    .collect();
                // The closest host with a free slot or a link it can spare, else the closest
                // giving up its first link.
                let (host, room) = hosts
                    .iter()
                    .find_map(|&h| self.room_for_a_link(h, &in_links, &mut buf).map(|r| (h, r)))
                    .unwrap_or((hosts[0], Room::Replace(0)));
                self.neighbours(host, 0, &mut buf);
                if let Room::Replace(j) = room {
                    in_links[buf[j] as usize] -= 1;
                    buf.remove(j);
                }
                buf.push(u);
                in_links[u as usize] += 1;
                self.write_links(host, 0, buf.iter().copied());
                self.mark_reachable(u, &mut reached);
            }
        }
    }

    /// Whether `host`'s bottom-layer list can take one more link: a free slot, or the slot of
    /// its farthest link whose target others link to as well (`in_links` counts them);
    /// `None` when every link is some node's only one. Leaves the list in `buf`.
    fn room_for_a_link(&self, host: u32, in_links: &[u32], buf: &mut Vec<u32>) -> Option<Room> {
        self.neighbours(host, 0, buf);
        if buf.len() < 2 * self.params.m {
            return Some(Room::Free);
        }
        (0..buf.len())
            .filter(|&j| in_links[buf[j] as usize] > 1)
            .max_by(|&a, &b| {
                self.dist_nodes(host, buf[a])
                    .total_cmp(&self.dist_nodes(host, buf[b]))
            })
            .map(Room::Replace)
    }

    /// The `k` nearest live nodes to `query`, closest first, as (node, distance).
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        self.search_ef(query, k, self.params.ef_search)
    }

    /// [`Self::search`] with an explicit candidate list length.
    ///
    /// The walk scores nodes by their 8-bit codes, which reads a quarter of the memory of
    /// the `f32` rows (a search is bound by fetching scattered rows), then the `ef` nodes
    /// found are rescored with their `f32` rows: the distances returned are exact. Measured
    /// on MiniLM embeddings, the same recall at the same `ef` at about twice the speed.
    ///
    /// When `ef` covers every live node the answer is the exact scan's: a walk would score
    /// all the nodes it can reach anyway, and a node whose in-links were all pruned while the
    /// graph was built in parallel cannot be reached at all (seen on a 52-node collection).
    pub fn search_ef(&self, query: &[f32], k: usize, ef: usize) -> Vec<(u32, f32)> {
        let Some(entry) = self.entry_point() else {
            return Vec::new();
        };
        if k == 0 || query.len() != self.dim {
            return Vec::new();
        }
        if ef.max(k) >= self.live {
            return self.search_exact(query, k);
        }
        let qn = embedkit_kernels::ops::dot(query, query);
        let score = Coded {
            index: self,
            q: self.quantized.query(query),
            qn,
        };
        let found = self.walk(&score, entry, ef.max(k), true);
        self.rescore(query, qn, found, k)
    }

    /// The `k` closest of `candidates` by their `f32` rows, as (node, exact distance).
    fn rescore(
        &self,
        query: &[f32],
        qn: f32,
        candidates: BinaryHeap<Near>,
        k: usize,
    ) -> Vec<(u32, f32)> {
        let mut rescored: Vec<Near> = candidates
            .into_iter()
            .map(|c| Near(self.dist(query, qn, c.1), c.1))
            .collect();
        rescored.sort_unstable();
        rescored.truncate(k);
        rescored.into_iter().map(|n| (n.1, n.0)).collect()
    }

    /// Greedy descent from `entry` to the bottom layer, then its best-first search: the
    /// `ef` closest nodes found (live ones only, with `live_only`).
    fn walk(
        &self,
        score: &impl Scorer,
        entry: Entry,
        ef: usize,
        live_only: bool,
    ) -> BinaryHeap<Near> {
        let mut cur = Near(score.dist(entry.node), entry.node);
        for level in (1..=entry.level).rev() {
            cur = self.greedy(score, cur, level);
        }
        self.search_layer(score, cur, ef, 0, live_only)
    }

    /// The `k` nearest live nodes by scoring every one of them: the exact answer the graph
    /// search approximates, over the same in-memory rows, so an exact query needs no second
    /// copy of the vectors. On data without low-dimensional structure (isotropic noise) the
    /// graph must visit a large share of the nodes to find the true neighbours, and this
    /// sequential scan, which streams rows at memory bandwidth, is faster at equal recall
    /// ([`Self::search_scan`], streaming a quarter of the bytes, faster still).
    pub fn search_exact(&self, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        if k == 0 || query.len() != self.dim {
            return Vec::new();
        }
        let qn = embedkit_kernels::ops::dot(query, query);
        // A max-heap of the best k so far: its top is the one to beat.
        let mut best: BinaryHeap<Near> = BinaryHeap::with_capacity(k.min(self.live) + 1);
        let n = self.len();
        for i in 0..n {
            // The rows are read in order, but requesting a few ahead keeps the memory bus
            // busy while this one is scored (the scan is bound by memory bandwidth).
            if i + SCAN_AHEAD < n {
                embedkit_kernels::ops::prefetch(self.vector(i + SCAN_AHEAD));
            }
            if self.deleted[i] {
                continue;
            }
            keep_best(&mut best, Near(self.dist(query, qn, i as u32), i as u32), k);
        }
        best.into_sorted_vec()
            .into_iter()
            .map(|n| (n.1, n.0))
            .collect()
    }

    /// The `k` nearest live nodes found by the quantized scan: every live row's 8-bit codes
    /// are scored against the query's, and the best `rerank` (at least `k`) are rescored
    /// with their `f32` rows. Approximate: a true neighbour is missed only when quantization
    /// error pushes it below `rerank` others.
    pub fn search_scan(&self, query: &[f32], k: usize, rerank: usize) -> Vec<(u32, f32)> {
        if k == 0 || query.len() != self.dim {
            return Vec::new();
        }
        let rerank = rerank.max(k);
        let qn = embedkit_kernels::ops::dot(query, query);
        let score = Coded {
            index: self,
            q: self.quantized.query(query),
            qn,
        };
        let mut best: BinaryHeap<Near> = BinaryHeap::with_capacity(rerank.min(self.live) + 1);
        for i in 0..self.len() {
            if !self.deleted[i] {
                keep_best(&mut best, Near(score.dist(i as u32), i as u32), rerank);
            }
        }
        self.rescore(query, qn, best, k)
    }

    /// Share of the true `k` nearest neighbours the graph finds at its `ef_search` (and the
    /// quantized scan rescoring [`SCAN_RERANK`]), with
    /// `samples` of its own live rows (spread evenly over the nodes) as queries, each
    /// query's own node left out of both answers; 1 for an index without live nodes.
    pub fn sampled_recall(&self, k: usize, samples: usize) -> SampledRecall {
        let n = self.len();
        let queries: Vec<usize> = (0..samples)
            .filter_map(|j| (j * n / samples.max(1)..n).find(|&i| !self.deleted[i]))
            .collect();
        let without = |found: Vec<(u32, f32)>, own: usize| -> Vec<u32> {
            found
                .into_iter()
                .map(|(node, _)| node)
                .filter(|&node| node as usize != own)
                .take(k)
                .collect()
        };
        let (mut graph, mut scan, mut total) = (0, 0, 0);
        for &i in &queries {
            let q = self.vector(i);
            let truth = without(self.search_exact(q, k + 1), i);
            let hits = |found: Vec<u32>| found.iter().filter(|n| truth.contains(n)).count();
            graph += hits(without(self.search(q, k + 1), i));
            scan += hits(without(self.search_scan(q, k + 1, SCAN_RERANK), i));
            total += truth.len();
        }
        let share = |hits: usize| {
            if total == 0 {
                1.0
            } else {
                hits as f64 / total as f64
            }
        };
        SampledRecall {
            graph: share(graph),
            scan: share(scan),
        }
    }

    fn entry_point(&self) -> Option<Entry> {
        *self.entry.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[inline]
    fn dist(&self, q: &[f32], qn: f32, i: u32) -> f32 {
        self.dist_from_dot(
            qn,
            i,
            embedkit_kernels::ops::dot(q, self.vector(i as usize)),
        )
    }

    /// The distance of a query (squared norm `qn`) to node `i`, given their inner product.
    #[inline]
    fn dist_from_dot(&self, qn: f32, i: u32, dot: f32) -> f32 {
        match self.metric {
            Metric::Dot => -dot,
            Metric::L2 => qn + self.norms[i as usize] - 2.0 * dot,
        }
    }

    #[inline]
    fn dist_nodes(&self, a: u32, b: u32) -> f32 {
        self.dist(self.vector(a as usize), self.norms[a as usize], b)
    }

    /// Node `i`'s link list on `level` (count slot first).
    #[inline]
    fn links(&self, i: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let stride = 1 + 2 * self.params.m;
            &self.links0[i as usize * stride..(i as usize + 1) * stride]
        } else {
            let stride = 1 + self.params.m;
            &self.upper[i as usize][(level - 1) * stride..level * stride]
        }
    }

    /// Copies node `i`'s neighbours on `level` into `out`.
    #[inline]
    fn neighbours(&self, i: u32, level: usize, out: &mut Vec<u32>) {
        let list = self.links(i, level);
        let n = (list[0].load(Relaxed) as usize).min(list.len() - 1);
        out.clear();
        out.extend(list[1..1 + n].iter().map(|a| a.load(Relaxed)));
    }

    /// Greedy descent on one layer: moves to a closer neighbour while there is one.
    fn greedy(&self, score: &impl Scorer, mut cur: Near, level: usize) -> Near {
        let mut buf = Vec::with_capacity(self.params.m);
        loop {
            let mut moved = false;
            self.neighbours(cur.1, level, &mut buf);
            for &nb in &buf {
                let d = score.dist(nb);
                if d < cur.0 {
                    cur = Near(d, nb);
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Best-first search of one layer (Algorithm 2): the `ef` closest nodes found, as a
    /// max-heap. With `live_only`, deleted nodes are walked through but not kept.
    fn search_layer(
        &self,
        score: &impl Scorer,
        start: Near,
        ef: usize,
        level: usize,
        live_only: bool,
    ) -> BinaryHeap<Near> {
        VISITED.with(|v| {
            let mut visited = v.borrow_mut();
            visited.start(self.len());
            let mut candidates = BinaryHeap::with_capacity(ef * 2);
            let mut found = BinaryHeap::with_capacity(ef + 1);
            visited.insert(start.1);
            candidates.push(Closest(start));
            if !(live_only && self.deleted[start.1 as usize]) {
                found.push(start);
            }
            let mut bound = if found.len() == ef {
                start.0
            } else {
                f32::INFINITY
            };
            let mut buf = Vec::with_capacity(2 * self.params.m);
            let mut fresh = Vec::with_capacity(2 * self.params.m);
            while let Some(Closest(c)) = candidates.pop() {
                if c.0 > bound {
                    break;
                }
                self.neighbours(c.1, level, &mut buf);
                fresh.clear();
                fresh.extend(buf.iter().copied().filter(|&nb| visited.insert(nb)));
                // Rows are scattered in memory: fetch two ahead of the one being scored.
                for &nb in fresh.iter().take(PREFETCH_AHEAD) {
                    score.prefetch(nb);
                }
                for (j, &nb) in fresh.iter().enumerate() {
                    if let Some(&next) = fresh.get(j + PREFETCH_AHEAD) {
                        score.prefetch(next);
                    }
                    let d = score.dist(nb);
                    if d < bound || found.len() < ef {
                        candidates.push(Closest(Near(d, nb)));
                        if !(live_only && self.deleted[nb as usize]) {
                            found.push(Near(d, nb));
                            if found.len() > ef {
                                found.pop();
                            }
                        }
                        if found.len() == ef {
                            bound = found.peek().map_or(f32::INFINITY, |w| w.0);
                        }
                    }
                }
            }
            found
        })
    }

    /// The neighbour-selection heuristic (Algorithm 4, without extending candidates or
    /// keeping pruned ones): closest first, a candidate is kept only if it is closer to the
    /// base than to every one kept so far, up to `max` of them.
    fn select(&self, mut candidates: Vec<Near>, max: usize) -> Vec<Near> {
        if candidates.len() <= max {
            return candidates;
        }
        candidates.sort_unstable();
        let mut kept: Vec<Near> = Vec::with_capacity(max);
        for c in candidates {
            if kept.len() == max {
                break;
            }
            if kept.iter().all(|r| self.dist_nodes(r.1, c.1) > c.0) {
                kept.push(c);
            }
        }
        kept
    }

    fn write_links(&self, i: u32, level: usize, ids: impl ExactSizeIterator<Item = u32>) {
        let list = self.links(i, level);
        let n = ids.len().min(list.len() - 1);
        for (slot, id) in list[1..].iter().zip(ids) {
            slot.store(id, Relaxed);
        }
        list[0].store(n as u32, Relaxed);
    }

    /// Inserts node `i` (Algorithm 1).
    fn insert(&self, i: u32) {
        let level = self.levels[i as usize] as usize;
        let q = self.vector(i as usize);
        let qn = self.norms[i as usize];
        // A node that will become the new top holds the entry lock for its whole insert,
        // so no other insert starts from a half-linked top.
        let guard = self.entry.lock().unwrap_or_else(|e| e.into_inner());
        let entry = match *guard {
            Some(e) => e,
            None => {
                let mut guard = guard;
                *guard = Some(Entry { node: i, level });
                return;
            }
        };
        let top_guard = (level > entry.level).then_some(guard);
        let score = Exact { index: self, q, qn };
        let mut cur = Near(score.dist(entry.node), entry.node);
        for l in (level + 1..=entry.level).rev() {
            cur = self.greedy(&score, cur, l);
        }
        let m = self.params.m;
        for l in (0..=level.min(entry.level)).rev() {
            let found = self
                .search_layer(&score, cur, self.params.ef_construction, l, false)
                .into_vec();
            let nearest = found.iter().min().copied().unwrap_or(cur);
            let chosen = self.select(found.into_iter().filter(|n| n.1 != i).collect(), m);
            {
                let _lock = self.locks[i as usize]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                self.write_links(i, l, chosen.iter().map(|n| n.1));
            }
            let max = if l == 0 { 2 * m } else { m };
            let mut buf = Vec::with_capacity(max + 1);
            for n in &chosen {
                let _lock = self.locks[n.1 as usize]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                self.neighbours(n.1, l, &mut buf);
                if buf.contains(&i) {
                    continue;
                }
                if buf.len() < max {
                    buf.push(i);
                    self.write_links(n.1, l, buf.iter().copied());
                } else {
                    let mut cands: Vec<Near> = buf
                        .iter()
                        .map(|&b| Near(self.dist_nodes(n.1, b), b))
                        .collect();
                    cands.push(Near(n.0, i));
                    let kept = self.select(cands, max);
                    self.write_links(n.1, l, kept.iter().map(|k| k.1));
                }
            }
            cur = nearest;
        }
        if let Some(mut g) = top_guard {
            *g = Some(Entry { node: i, level });
        }
    }

    /// Which nodes a walk of the bottom layer from the entry point reaches (the bottom
    /// layer holds every node; searches end there).
    fn reached_from_entry(&self) -> Vec<bool> {
        let mut reached = vec![false; self.len()];
        if let Some(entry) = self.entry_point() {
            self.mark_reachable(entry.node, &mut reached);
        }
        reached
    }

    /// Marks every node reachable on the bottom layer from `start` (inclusive) that is not
    /// marked yet, following links only out of newly marked nodes.
    fn mark_reachable(&self, start: u32, reached: &mut [bool]) {
        if std::mem::replace(&mut reached[start as usize], true) {
            return;
        }
        let (mut stack, mut buf) = (vec![start], Vec::new());
        while let Some(node) = stack.pop() {
            self.neighbours(node, 0, &mut buf);
            for &nb in &buf {
                if !std::mem::replace(&mut reached[nb as usize], true) {
                    stack.push(nb);
                }
            }
        }
    }

    /// Takes the index apart for writing.
    pub(crate) fn to_parts(&self) -> Parts {
        Parts {
            dim: self.dim,
            metric: self.metric,
            params: self.params,
            vectors: self.vectors.clone(),
            levels: self.levels.clone(),
            links0: self.links0.iter().map(|a| a.load(Relaxed)).collect(),
            upper: self
                .upper
                .iter()
                .map(|u| u.iter().map(|a| a.load(Relaxed)).collect())
                .collect(),
            entry: self.entry_point().map(|e| (e.node, e.level)),
            deleted: self.deleted.clone(),
        }
    }

    /// Puts an index back together, checking every size and link; `None` if anything
    /// does not fit (a damaged file).
    pub(crate) fn from_parts(p: Parts) -> Option<Self> {
        let n = p.levels.len();
        let m = p.params.m;
        if p.dim == 0
            || !(2..=128).contains(&m)
            || p.vectors.len() != n * p.dim
            || p.deleted.len() != n
            || p.upper.len() != n
            || p.links0.len() != n * (1 + 2 * m)
            || n >= u32::MAX as usize
        {
            return None;
        }
        let valid_list = |list: &[u32]| {
            let c = list[0] as usize;
            c < list.len() && list[1..1 + c].iter().all(|&id| (id as usize) < n)
        };
        if !p.links0.chunks_exact(1 + 2 * m).all(valid_list) {
            return None;
        }
        for (u, &level) in p.upper.iter().zip(&p.levels) {
            if level as usize > MAX_LEVEL
                || u.len() != level as usize * (1 + m)
                || !u.chunks_exact(1 + m).all(valid_list)
            {
                return None;
            }
        }
        let entry = match p.entry {
            None if n == 0 => None,
            Some((node, level))
                if (node as usize) < n && p.levels[node as usize] as usize == level =>
            {
                Some(Entry { node, level })
            }
            _ => return None,
        };
        if p.vectors.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let norms = p
            .vectors
            .chunks_exact(p.dim)
            .map(|v| embedkit_kernels::ops::dot(v, v))
            .collect();
        let mut quantized = Quantized::new(p.dim);
        quantized.push(&p.vectors);
        Some(Self {
            dim: p.dim,
            metric: p.metric,
            params: p.params,
            norms,
            quantized,
            live: p.deleted.iter().filter(|d| !**d).count(),
            vectors: p.vectors,
            levels: p.levels,
            links0: p.links0.into_iter().map(AtomicU32::new).collect(),
            upper: p
                .upper
                .into_iter()
                .map(|u| u.into_iter().map(AtomicU32::new).collect())
                .collect(),
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            entry: Mutex::new(entry),
            deleted: p.deleted,
        })
    }
}

/// How a graph walk scores nodes against its query; smaller is closer.
trait Scorer {
    fn dist(&self, node: u32) -> f32;
    /// Asks for the node's data ahead of [`Scorer::dist`].
    fn prefetch(&self, node: u32);
}

/// By the `f32` rows.
struct Exact<'a> {
    index: &'a Hnsw,
    q: &'a [f32],
    qn: f32,
}

impl Scorer for Exact<'_> {
    #[inline]
    fn dist(&self, node: u32) -> f32 {
        self.index.dist(self.q, self.qn, node)
    }
    #[inline]
    fn prefetch(&self, node: u32) {
        embedkit_kernels::ops::prefetch(self.index.vector(node as usize));
    }
}

/// By the 8-bit codes (approximate).
struct Coded<'a> {
    index: &'a Hnsw,
    q: QuantizedQuery,
    qn: f32,
}

impl Scorer for Coded<'_> {
    #[inline]
    fn dist(&self, node: u32) -> f32 {
        let dot = self.index.quantized.dot(&self.q, node as usize);
        self.index.dist_from_dot(self.qn, node, dot)
    }
    #[inline]
    fn prefetch(&self, node: u32) {
        embedkit_kernels::ops::prefetch(self.index.quantized.row(node as usize));
    }
}

/// Adds `near` to `best`, a max-heap of at most `k` (its top is the one to beat).
#[inline]
fn keep_best(best: &mut BinaryHeap<Near>, near: Near, k: usize) {
    if best.len() < k {
        best.push(near);
    } else if best.peek().is_some_and(|worst| near.0 < worst.0) {
        best.pop();
        best.push(near);
    }
}

/// The layer of node `i`: `floor(-ln(U) · mL)` with `U` uniform from a hash of `i`, so a
/// node's layer does not depend on the order threads insert in.
fn random_level(i: u64, ml: f64) -> usize {
    // splitmix64
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    ((-u.ln() * ml) as usize).min(MAX_LEVEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * dim)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    fn exact(data: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<u32> {
        let mut d: Vec<(f32, u32)> = data
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| {
                (
                    q.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum(),
                    i as u32,
                )
            })
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        d.into_iter().take(k).map(|x| x.1).collect()
    }

    #[test]
    fn finds_the_true_neighbours_of_low_dimensional_points() {
        let dim = 8;
        let data = points(3000, dim, 1);
        let mut index = Hnsw::new(dim, Metric::L2, Params::default());
        index.add(&data);
        let queries = points(50, dim, 2);
        let mut hit = 0;
        for q in queries.chunks_exact(dim) {
            let truth = exact(&data, dim, q, 10);
            let got: Vec<u32> = index.search(q, 10).into_iter().map(|x| x.0).collect();
            hit += got.iter().filter(|g| truth.contains(g)).count();
        }
        assert!(hit as f64 / 500.0 >= 0.98, "recall {}", hit as f64 / 500.0);
    }

    #[test]
    fn a_point_finds_itself_and_deleted_points_are_skipped() {
        let dim = 4;
        let data = points(500, dim, 3);
        let mut index = Hnsw::new(dim, Metric::L2, Params::default());
        index.add(&data);
        let q = &data[7 * dim..8 * dim];
        assert_eq!(index.search(q, 1)[0].0, 7);
        index.delete(7);
        assert!(index.search(q, 20).iter().all(|x| x.0 != 7));
        assert_eq!(index.live(), 499);
    }

    #[test]
    fn exact_search_scores_every_live_node() {
        let dim = 16;
        let data = points(2000, dim, 5);
        let mut index = Hnsw::new(dim, Metric::L2, Params::default());
        index.add(&data);
        let q = points(1, dim, 6);
        let truth = exact(&data, dim, &q, 10);
        let got: Vec<u32> = index.search_exact(&q, 10).iter().map(|x| x.0).collect();
        assert_eq!(got, truth);
        index.delete(truth[0] as usize);
        let got: Vec<u32> = index.search_exact(&q, 9).iter().map(|x| x.0).collect();
        assert_eq!(got, truth[1..]);
        assert!(index.search_exact(&q, 0).is_empty());
        assert!(
            index.search_exact(&q[..3], 5).is_empty(),
            "a query of another width"
        );
    }

    #[test]
    fn the_quantized_scan_finds_the_exact_neighbours_with_exact_scores() {
        let dim = 96;
        let data = points(4000, dim, 7);
        for metric in [Metric::L2, Metric::Dot] {
            let mut index = Hnsw::new(dim, metric, Params::default());
            index.add(&data);
            let mut hit = 0;
            for q in points(20, dim, 8).chunks_exact(dim) {
                let truth = index.search_exact(q, 10);
                let got = index.search_scan(q, 10, 50);
                hit += got.iter().filter(|g| truth.contains(g)).count();
                // Rescored with the f32 rows: a node found has its exact distance.
                for (node, d) in &got {
                    assert_eq!(*d, index.dist(q, embedkit_kernels::ops::dot(q, q), *node));
                }
                assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
            }
            assert!(hit >= 198, "{metric:?}: {hit} of 200");
            let q = &data[3 * dim..4 * dim];
            if metric == Metric::L2 {
                assert_eq!(index.search_scan(q, 1, 10)[0].0, 3);
            }
            index.delete(3);
            assert!(index.search_scan(q, 30, 10).iter().all(|x| x.0 != 3));
            assert_eq!(
                index.search_scan(q, 30, 10).len(),
                30,
                "at least k rescored"
            );
            assert!(index.search_scan(&q[..5], 3, 10).is_empty());
        }
    }

    #[test]
    fn sampled_recall_tells_a_navigable_graph_from_a_lost_one() {
        // Points on a line through 128 dimensions: the graph walks straight to them.
        let dim = 128;
        let line: Vec<f32> = points(2000, 1, 9)
            .iter()
            .flat_map(|t| (0..dim).map(move |d| t * (1.0 + d as f32 / dim as f32)))
            .collect();
        let mut index = Hnsw::new(dim, Metric::L2, Params::default());
        index.add(&line);
        assert!(index.sampled_recall(10, 16).graph >= 0.95);
        // Noise in all 128 dimensions, with a sparse graph and a short candidate list.
        let sparse = Params {
            m: 4,
            ef_construction: 8,
            ef_search: 10,
        };
        let mut index = Hnsw::new(dim, Metric::L2, sparse);
        index.add(&points(2000, dim, 10));
        let lost = index.sampled_recall(10, 16);
        assert!(lost.graph < 0.9 && lost.scan >= 0.95, "{lost:?}");
    }

    #[test]
    fn every_node_stays_reachable_after_parallel_builds() {
        // Few links and short candidate lists, and clusters of near-equal points: pruning
        // in parallel inserts drops in-links most often here.
        let dim = 4;
        for seed in 0..6 {
            let mut data = points(3000, dim, seed);
            for (i, v) in data.iter_mut().enumerate() {
                if (i / dim) % 3 == 0 {
                    *v *= 1e-3;
                }
            }
            let params = Params {
                m: 3,
                ef_construction: 8,
                ef_search: 8,
            };
            let mut h = Hnsw::new(dim, Metric::L2, params);
            for batch in data.chunks(1000 * dim) {
                h.add(batch);
            }
            let lost = h.reached_from_entry().iter().filter(|&&r| !r).count();
            assert_eq!(lost, 0, "seed {seed}: {lost} nodes unreachable");
        }
    }

    #[test]
    fn levels_follow_the_geometric_law() {
        let ml = 1.0 / 16f64.ln();
        let n = 100_000;
        let above: usize = (0..n).filter(|&i| random_level(i, ml) >= 1).count();
        // P(level >= 1) = 1/M.
        let p = above as f64 / n as f64;
        assert!((p - 1.0 / 16.0).abs() < 0.005, "{p}");
    }
}
