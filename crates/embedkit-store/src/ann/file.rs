//! The sidecar file an index is kept in between runs: little-endian, versioned, with a
//! checksum over everything, so a damaged or foreign file is recognized and ignored.
//!
//! Layout: magic `EKHNSW02`, then u64 fields (store id, generation, dim, metric, M, ef_construction,
//! ef_search, n, entry node + 1 or 0, entry level, route: 0 none / 1 graph / 2 scan, the
//! node count and ef_search the route was chosen at), then per node the chunk row id (i64),
//! blob hash (u64), layer (u8), deleted flag (u8); the vectors (f32); the bottom-layer
//! links (u32); each node's upper-layer links (u32); last a u64 checksum.

use super::hnsw::{Hnsw, Metric, Params, Parts};
use super::{Route, Routed};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"EKHNSW02";

/// An index with what it covers.
pub(crate) struct Saved {
    /// Random id of the database the index belongs to (a recreated store file gets a new one).
    pub store_id: u64,
    /// The collection's change counter when the index last matched the database.
    pub generation: i64,
    /// Chunk row id of each node.
    pub rows: Vec<i64>,
    /// Hash of each node's stored vector blob (a reused row id with new contents differs).
    pub hashes: Vec<u64>,
    /// The graph.
    pub index: Hnsw,
    /// How searches are answered, once chosen.
    pub route: Option<Routed>,
}

/// A fast 64-bit hash (not cryptographic: it only tells apart damaged or changed bytes).
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ x).wrapping_mul(0x5173_6a2c_8a6f_3f2d);
    }
    for &b in tail {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(0x5173_6a2c_8a6f_3f2d);
    }
    h ^ (h >> 29)
}

/// Writes `saved` to `path` atomically (a temporary file renamed over it).
pub(crate) fn write(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let p = saved.index.to_parts();
    let n = p.levels.len();
    let mut out = Vec::with_capacity(64 + n * (18 + 4 * p.dim + 4 * (1 + 2 * p.params.m)));
    out.extend_from_slice(MAGIC);
    let (entry_node, entry_level) = p.entry.map_or((0, 0), |(e, l)| (e as u64 + 1, l as u64));
    let (route, routed_nodes, routed_ef) = saved.route.map_or((0, 0, 0), |r| {
        let kind = match r.route {
            Route::Graph => 1,
            Route::Scan => 2,
        };
        (kind, r.nodes as u64, r.ef as u64)
    });
    for x in [
        saved.store_id,
        saved.generation as u64,
        p.dim as u64,
        match p.metric {
            Metric::Dot => 0,
            Metric::L2 => 1,
        },
        p.params.m as u64,
        p.params.ef_construction as u64,
        p.params.ef_search as u64,
        n as u64,
        entry_node,
        entry_level,
        route,
        routed_nodes,
        routed_ef,
    ] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    for i in 0..n {
        out.extend_from_slice(&saved.rows[i].to_le_bytes());
        out.extend_from_slice(&saved.hashes[i].to_le_bytes());
        out.push(p.levels[i]);
        out.push(p.deleted[i] as u8);
    }
    out.extend(p.vectors.iter().flat_map(|x| x.to_le_bytes()));
    out.extend(p.links0.iter().flat_map(|x| x.to_le_bytes()));
    for u in &p.upper {
        out.extend(u.iter().flat_map(|x| x.to_le_bytes()));
    }
    out.extend_from_slice(&hash(&out).to_le_bytes());
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&out)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Reads an index back; `None` when the file is missing, damaged or of another version.
pub(crate) fn read(path: &Path) -> Option<Saved> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < MAGIC.len() + 8 * 14 || &bytes[..8] != MAGIC {
        return None;
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if hash(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Reader(&body[8..]);
    let store_id = r.u64()?;
    let generation = r.u64()? as i64;
    let dim = r.u64()? as usize;
    let metric = match r.u64()? {
        0 => Metric::Dot,
        1 => Metric::L2,
        _ => return None,
    };
    let params = Params {
        m: r.u64()? as usize,
        ef_construction: r.u64()? as usize,
        ef_search: r.u64()? as usize,
    };
    let n = r.u64()? as usize;
    let entry_node = r.u64()?;
    let entry_level = r.u64()? as usize;
    let route = match r.u64()? {
        0 => None,
        1 => Some(Route::Graph),
        2 => Some(Route::Scan),
        _ => return None,
    };
    let (routed_nodes, routed_ef) = (r.u64()? as usize, r.u64()? as usize);
    let route = route.map(|route| Routed {
        route,
        nodes: routed_nodes,
        ef: routed_ef,
    });
    // Sizes are checked against what is left before anything is allocated.
    if dim == 0 || n.checked_mul(18 + 4 * dim)? > r.0.len() || params.m > 128 {
        return None;
    }
    let (mut rows, mut hashes, mut levels, mut deleted) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for _ in 0..n {
        rows.push(r.u64()? as i64);
        hashes.push(r.u64()?);
        levels.push(r.u8()?);
        deleted.push(match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        });
    }
    let vectors = r.f32s(n * dim)?;
    let links0 = r.u32s(n.checked_mul(1 + 2 * params.m)?)?;
    let mut upper = Vec::with_capacity(n);
    for &l in &levels {
        upper.push(r.u32s((l as usize).checked_mul(1 + params.m)?)?);
    }
    if !r.0.is_empty() {
        return None;
    }
    let entry = (entry_node > 0).then(|| ((entry_node - 1) as u32, entry_level));
    let index = Hnsw::from_parts(Parts {
        dim,
        metric,
        params,
        vectors,
        levels,
        links0,
        upper,
        entry,
        deleted,
    })?;
    Some(Saved {
        store_id,
        generation,
        rows,
        hashes,
        index,
        route,
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32s(&mut self, n: usize) -> Option<Vec<u32>> {
        let b = self.take(n.checked_mul(4)?)?;
        Some(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    }
    fn f32s(&mut self, n: usize) -> Option<Vec<f32>> {
        Some(self.u32s(n)?.into_iter().map(f32::from_bits).collect())
    }
}
