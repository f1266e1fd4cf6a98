//! Nearest-neighbour search behind one trait, so that the store ([`super::StoreIndex`]) can
//! replace the scan.

use crate::error::Result;
use crate::linalg::{check_matrix, dot, unit};

/// An item and its similarity to a query.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scored {
    /// Position of the item.
    pub item: usize,
    /// Cosine similarity.
    pub score: f32,
}

/// Cosine search over a fixed set of items.
pub trait Neighbours {
    /// Number of items.
    fn len(&self) -> usize;
    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The unit vector of item `i`.
    fn vector(&self, i: usize) -> &[f32];
    /// Up to `k` items most similar to `query` (unit length), best first, ties by position.
    /// An approximate index may miss some of the true nearest.
    fn nearest(&self, query: &[f32], k: usize) -> Result<Vec<Scored>>;
}

/// Cosine at or above this counts as the same vector (float noise of identical inputs).
const SAME_VECTOR: f32 = 1.0 - 1e-6;

/// Whether items `a` and `b` have the same direction: copies of one another.
pub(crate) fn same_vector(index: &dyn Neighbours, a: usize, b: usize) -> bool {
    dot(index.vector(a), index.vector(b)) >= SAME_VECTOR
}

/// Every item scanned for every query.
pub struct ExactIndex {
    vectors: Vec<Vec<f32>>,
}

impl ExactIndex {
    /// Indexes `vectors` (finite, one width); they are stored at unit length.
    pub fn new(vectors: &[Vec<f32>]) -> Result<Self> {
        check_matrix(vectors, "item vectors")?;
        Ok(Self {
            vectors: vectors.iter().map(|v| unit(v)).collect(),
        })
    }
}

impl Neighbours for ExactIndex {
    fn len(&self) -> usize {
        self.vectors.len()
    }

    fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i]
    }

    fn nearest(&self, query: &[f32], k: usize) -> Result<Vec<Scored>> {
        let mut all: Vec<Scored> = self
            .vectors
            .iter()
            .enumerate()
            .map(|(item, v)| Scored {
                item,
                score: dot(query, v),
            })
            .collect();
        let order = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item));
        let k = k.min(all.len());
        if k > 0 && k < all.len() {
            all.select_nth_unstable_by(k - 1, order);
            all.truncate(k);
        }
        all.sort_by(order);
        Ok(all)
    }
}
