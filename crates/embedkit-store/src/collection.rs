//! What a collection is fixed to when it is created: the model, the vector width, whether the
//! vectors are unit length, how they are compared and how they are stored.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How query and stored vectors are compared. Scores are always "larger is closer": cosine
/// similarity, inner product, or the negated Euclidean distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distance {
    /// Cosine similarity (vectors are stored unit length, so it is an inner product).
    Cosine,
    /// Inner product.
    Dot,
    /// Negated Euclidean distance.
    L2,
}

impl Distance {
    /// The one used for a model's own similarity function.
    pub fn for_similarity(s: embedkit_core::Similarity) -> Result<Self> {
        use embedkit_core::Similarity as S;
        match s {
            S::Cosine => Ok(Self::Cosine),
            S::Dot => Ok(Self::Dot),
            S::Euclidean => Ok(Self::L2),
            S::Manhattan => Err(Error::InvalidInput(
                "the store has no Manhattan-distance search; pass --distance cosine, dot or l2"
                    .into(),
            )),
        }
    }
}

impl fmt::Display for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cosine => "cosine",
            Self::Dot => "dot",
            Self::L2 => "l2",
        })
    }
}

impl FromStr for Distance {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cosine" => Ok(Self::Cosine),
            "dot" | "ip" => Ok(Self::Dot),
            "l2" | "euclidean" => Ok(Self::L2),
            _ => Err(Error::InvalidInput(format!(
                "unknown distance {s:?} (expected cosine, dot or l2)"
            ))),
        }
    }
}

/// How vector components are kept on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// 4 bytes per component, exact.
    F32,
    /// 2 bytes per component (IEEE half precision).
    F16,
    /// 1 byte per component plus one f32 scale per vector (symmetric quantization).
    Int8,
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Int8 => "int8",
        })
    }
}

impl FromStr for Storage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            "int8" | "i8" => Ok(Self::Int8),
            _ => Err(Error::InvalidInput(format!(
                "unknown vector storage {s:?} (expected f32, f16 or int8)"
            ))),
        }
    }
}

/// What a collection's documents are, which decides how queries are embedded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Texts, embedded by a sentence model ([`crate::StoreModel`]).
    #[default]
    Text,
    /// Images, embedded by an image network ([`crate::ImageStoreModel`]).
    Image,
}

impl Modality {
    fn is_text(&self) -> bool {
        *self == Self::Text
    }
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Image => "image",
        })
    }
}

/// A collection's fixed settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// Its name.
    pub name: String,
    /// The model spec its vectors come from (queries must use the same).
    pub model: String,
    /// Vector width.
    pub dimensions: usize,
    /// Whether vectors are L2-normalized before storing (always for cosine).
    pub normalized: bool,
    /// How vectors are compared.
    pub distance: Distance,
    /// How vectors are stored.
    pub storage: Storage,
    /// Texts or images. Absent in the stored settings of text collections (and of stores
    /// written before images existed), which read back as text.
    #[serde(default, skip_serializing_if = "Modality::is_text")]
    pub modality: Modality,
}

impl Collection {
    /// Fails unless `name` is a usable collection name.
    pub fn check_name(name: &str) -> Result<()> {
        let ok = !name.is_empty()
            && name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "bad collection name {name:?}: use 1-128 letters, digits, '_', '-' or '.'"
            )))
        }
    }

    /// Fails, naming the first difference, unless `other` asks for the same settings.
    pub fn check_same(&self, other: &Collection) -> Result<()> {
        let differ = |field, a: String, b: String| {
            if a == b {
                Ok(())
            } else {
                Err(Error::CollectionMismatch {
                    name: self.name.clone(),
                    field,
                    existing: a,
                    requested: b,
                })
            }
        };
        differ(
            "modality",
            self.modality.to_string(),
            other.modality.to_string(),
        )?;
        differ("model", self.model.clone(), other.model.clone())?;
        differ(
            "dimensions",
            self.dimensions.to_string(),
            other.dimensions.to_string(),
        )?;
        differ(
            "normalization",
            self.normalized.to_string(),
            other.normalized.to_string(),
        )?;
        differ(
            "distance",
            self.distance.to_string(),
            other.distance.to_string(),
        )?;
        differ(
            "storage",
            self.storage.to_string(),
            other.storage.to_string(),
        )
    }

    /// Fails unless the collection holds `wanted` (text queries against images, or the
    /// reverse, are mistakes worth naming).
    pub fn check_modality(&self, wanted: Modality) -> Result<()> {
        if self.modality == wanted {
            Ok(())
        } else {
            Err(Error::Modality {
                name: self.name.clone(),
                model: self.model.clone(),
                holds: self.modality,
                asked: wanted,
            })
        }
    }

    /// Fails unless `v` has the collection's width.
    pub fn check_vector(&self, v: &[f32]) -> Result<()> {
        if v.len() == self.dimensions {
            Ok(())
        } else {
            Err(Error::Dimensions {
                collection: self.name.clone(),
                expected: self.dimensions,
                got: v.len(),
            })
        }
    }
}
