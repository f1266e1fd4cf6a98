//! The similarity functions of sentence-transformers (`similarity_fn_name`).

use crate::vector;
use std::fmt;
use std::str::FromStr;

/// How two embeddings are compared. Distances are negated so that larger is always more
/// similar, exactly as sentence-transformers' `similarity` returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Similarity {
    /// Cosine of the angle.
    #[default]
    Cosine,
    /// Inner product.
    Dot,
    /// Negative L2 distance.
    Euclidean,
    /// Negative L1 distance.
    Manhattan,
}

/// An unknown similarity function name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown similarity function {0:?} (expected cosine, dot, euclidean or manhattan)")]
pub struct ParseSimilarityError(pub String);

impl FromStr for Similarity {
    type Err = ParseSimilarityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cosine" => Ok(Self::Cosine),
            "dot" | "dot_product" => Ok(Self::Dot),
            "euclidean" => Ok(Self::Euclidean),
            "manhattan" => Ok(Self::Manhattan),
            other => Err(ParseSimilarityError(other.to_string())),
        }
    }
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cosine => "cosine",
            Self::Dot => "dot",
            Self::Euclidean => "euclidean",
            Self::Manhattan => "manhattan",
        })
    }
}

impl Similarity {
    /// Score of one pair.
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        let pairs = a.iter().zip(b);
        match self {
            Self::Cosine => vector::cosine(a, b),
            Self::Dot => pairs.map(|(x, y)| x * y).sum(),
            Self::Euclidean => -pairs.map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
            Self::Manhattan => -pairs.map(|(x, y)| (x - y).abs()).sum::<f32>(),
        }
    }

    /// Scores of every row of `a` against every row of `b`.
    pub fn matrix(self, a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<Vec<f32>> {
        a.iter()
            .map(|x| b.iter().map(|y| self.score(x, y)).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_hand_computed_values() {
        let (a, b) = ([1.0, 2.0], [4.0, 6.0]);
        assert_eq!(Similarity::Dot.score(&a, &b), 16.0);
        assert_eq!(Similarity::Euclidean.score(&a, &b), -5.0);
        assert_eq!(Similarity::Manhattan.score(&a, &b), -7.0);
        assert!(
            (Similarity::Cosine.score(&a, &b) - 16.0 / (5f32.sqrt() * 52f32.sqrt())).abs() < 1e-6
        );
    }

    #[test]
    fn names_round_trip() {
        for s in ["cosine", "dot", "euclidean", "manhattan"] {
            assert_eq!(s.parse::<Similarity>().unwrap().to_string(), s);
        }
        assert!("cos".parse::<Similarity>().is_err());
    }
}
