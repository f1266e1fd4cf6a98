//! Sharded ingest: several machines (or processes) each take one shard of the same corpus,
//! `--shard i/n`, and write into one shared collection (PostgreSQL) concurrently. A document
//! belongs to exactly one shard, decided by its id alone, so the shards never overlap, cover
//! the corpus together, and agree across machines, runs and versions: the first eight bytes of
//! the id's SHA-256, big-endian, modulo `n`.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};

/// Shard `index` of `count` (1-based, as `--shard 2/3` reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1 to `count`.
    pub index: u64,
    /// How many shards the corpus is cut into.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidInput(format!(
                "shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/3"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Whether the document `id` is in this shard.
    pub fn contains(&self, id: &str) -> bool {
        let digest = Sha256::digest(id.as_bytes());
        let head = u64::from_be_bytes(digest[..8].try_into().expect("32-byte digest"));
        head % self.count == self.index - 1
    }

    /// The items of this shard, in their order.
    pub fn select<T>(&self, items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        items.into_iter().filter(|x| self.contains(id(x))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_ids() {
        let ids: Vec<String> = (0..3000).map(|i| format!("doc-{i}")).collect();
        let shards: Vec<Shard> = (1..=3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        let mut sizes = [0usize; 3];
        for id in &ids {
            let owners: Vec<usize> = (0..3).filter(|&s| shards[s].contains(id)).collect();
            assert_eq!(owners.len(), 1, "{id} in {owners:?}");
            sizes[owners[0]] += 1;
        }
        // Even enough: each within 10% of a third.
        assert!(
            sizes.iter().all(|&n| (900..=1100).contains(&n)),
            "{sizes:?}"
        );
        // The rule, fixed across machines and versions; the expected shards were computed
        // with Python's hashlib: int.from_bytes(sha256(id).digest()[:8], "big") % 3 + 1.
        for (id, shard) in [("doc-0", 2), ("doc-1", 2), ("a.md", 3)] {
            assert!(shards[shard - 1].contains(id), "{id}");
        }
        assert_eq!(
            "1/1"
                .parse::<Shard>()
                .unwrap()
                .select(ids.clone(), |s| s)
                .len(),
            3000
        );
    }

    #[test]
    fn bad_shards_are_refused() {
        for s in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(s.parse::<Shard>().is_err(), "{s}");
        }
        assert_eq!(
            " 2 / 3 ".trim().parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
    }
}
