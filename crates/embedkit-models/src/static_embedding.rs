//! Static embeddings (Model2Vec and sentence-transformers' `StaticEmbedding`): one vector per
//! vocabulary token, no transformer. A sentence is the mean of its tokens' vectors (mean
//! pooling does that), tokenized without special tokens and with unknown tokens dropped, as
//! Model2Vec's `StaticModel.encode` does, then normalized when the model says so.
//!
//! The "encoder" here only looks rows up, so every tool that runs a [`crate::SentenceEmbedder`]
//! (embed, serve, the store, the Python package) runs these models too, at tokenizer speed.

use crate::arch::{Encoder, PackedBatch};
use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors};
use std::path::Path;
use std::sync::Arc;

/// A token table, with Model2Vec's optional per-token weights and vocabulary mapping.
pub struct StaticEmbedding {
    /// `[rows, dims]`, row-major, widened to f32 (a static model is small: 30k × 256).
    table: Vec<f32>,
    dims: usize,
    /// Token id → row (vocabulary quantization: several tokens share a row).
    mapping: Option<Vec<usize>>,
    /// Token id → factor the row is scaled by.
    weights: Option<Vec<f32>>,
}

impl StaticEmbedding {
    /// Loads `model.safetensors` of a Model2Vec folder (tensor `embeddings`, optional
    /// `weights` and `mapping`) or of a sentence-transformers `StaticEmbedding` module
    /// (`embedding.weight`), for a tokenizer of `vocab` tokens.
    pub fn load(path: &Path, vocab: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |m: String| Error::weights(path, m);
        let file = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let name = ["embeddings", "embedding.weight"]
            .into_iter()
            .find(|n| file.names().iter().any(|m| m == n))
            .ok_or_else(|| bad("no tensor embeddings (Model2Vec) or embedding.weight".into()))?;
        let tensor = file.tensor(name).map_err(|e| bad(e.to_string()))?;
        let [rows, dims] = tensor.shape()[..] else {
            return Err(bad(format!(
                "{name} has shape {:?}, expected [rows, dims]",
                tensor.shape()
            )));
        };
        if rows == 0 || dims == 0 {
            return Err(bad(format!("{name} is empty")));
        }
        let table =
            floats(tensor.dtype(), tensor.data()).map_err(|why| bad(format!("{name}: {why}")))?;
        let mapping = match file.tensor("mapping") {
            Ok(t) => {
                let rows_of =
                    integers(t.dtype(), t.data()).map_err(|why| bad(format!("mapping: {why}")))?;
                if rows_of.len() != vocab {
                    return Err(bad(format!(
                        "mapping has {} entries for a vocabulary of {vocab}",
                        rows_of.len()
                    )));
                }
                let mapping = rows_of
                    .into_iter()
                    .map(|r| usize::try_from(r).ok().filter(|&r| r < rows))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(format!("mapping points outside the {rows} rows")))?;
                Some(mapping)
            }
            Err(_) => {
                if rows != vocab {
                    return Err(bad(format!(
                        "{rows} embedding rows for a tokenizer of {vocab} tokens (and no mapping)"
                    )));
                }
                None
            }
        };
        let weights = match file.tensor("weights") {
            Ok(t) => {
                let w =
                    floats(t.dtype(), t.data()).map_err(|why| bad(format!("weights: {why}")))?;
                if w.len() != vocab {
                    return Err(bad(format!(
                        "weights has {} entries for a vocabulary of {vocab}",
                        w.len()
                    )));
                }
                Some(w)
            }
            Err(_) => None,
        };
        Ok(Self {
            table,
            dims,
            mapping,
            weights,
        })
    }

    fn row(&self, id: u32) -> Result<(&[f32], f32)> {
        let id = id as usize;
        let index = match &self.mapping {
            Some(m) => *m.get(id).ok_or_else(|| out_of_range(id))?,
            None => id,
        };
        let row = self
            .table
            .get(index * self.dims..(index + 1) * self.dims)
            .ok_or_else(|| out_of_range(id))?;
        let scale = self.weights.as_ref().map_or(1.0, |w| w[id]);
        Ok((row, scale))
    }
}

impl StaticEmbedding {
    /// The mean of the rows of `ids` (zeros for none), as mean pooling over
    /// [`Encoder::forward`]'s rows computes it, to the bit, without writing the rows out.
    pub fn mean(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let mut sum = vec![0f32; self.dims];
        for &id in ids {
            let (row, scale) = self.row(id)?;
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += v * scale);
        }
        let count = (ids.len() as f32).max(1e-9);
        sum.iter_mut().for_each(|s| *s /= count);
        Ok(sum)
    }
}

/// Shared between the pipeline's encoder slot and its static fast path.
impl Encoder for Arc<StaticEmbedding> {
    fn model_type(&self) -> &'static str {
        self.as_ref().model_type()
    }

    fn hidden_size(&self) -> usize {
        self.as_ref().hidden_size()
    }

    fn forward_traced(
        &self,
        batch: &PackedBatch,
        each_layer: &mut dyn FnMut(&[f32]),
    ) -> Result<Vec<f32>> {
        self.as_ref().forward_traced(batch, each_layer)
    }

    fn weight_bytes(&self) -> usize {
        self.as_ref().weight_bytes()
    }

    fn max_positions(&self) -> Option<usize> {
        None
    }
}

fn out_of_range(id: usize) -> Error {
    Error::InvalidInput(format!(
        "token id {id} is outside the static model's table (tokenizer and weights do not match)"
    ))
}

impl Encoder for StaticEmbedding {
    fn model_type(&self) -> &'static str {
        "model2vec"
    }

    fn hidden_size(&self) -> usize {
        self.dims
    }

    fn forward_traced(
        &self,
        batch: &PackedBatch,
        _each_layer: &mut dyn FnMut(&[f32]),
    ) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(batch.ids.len() * self.dims);
        for &id in &batch.ids {
            let (row, scale) = self.row(id)?;
            if scale == 1.0 {
                out.extend_from_slice(row);
            } else {
                out.extend(row.iter().map(|v| v * scale));
            }
        }
        Ok(out)
    }

    fn weight_bytes(&self) -> usize {
        4 * (self.table.len() + self.weights.as_ref().map_or(0, Vec::len))
            + std::mem::size_of::<usize>() * self.mapping.as_ref().map_or(0, Vec::len)
    }

    fn max_positions(&self) -> Option<usize> {
        None
    }
}

/// Little-endian values of a float tensor, widened to f32. int8 tables (Model2Vec's
/// `quantize_to="int8"`) are used as stored, as Model2Vec averages them.
fn floats(dtype: Dtype, data: &[u8]) -> std::result::Result<Vec<f32>, String> {
    Ok(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default()) as f32)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::I8 => data.iter().map(|&b| f32::from(b as i8)).collect(),
        other => return Err(format!("dtype {other:?} is not supported")),
    })
}

/// Little-endian values of an integer tensor.
fn integers(dtype: Dtype, data: &[u8]) -> std::result::Result<Vec<i64>, String> {
    Ok(match dtype {
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()))
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        other => return Err(format!("dtype {other:?} is not an integer type")),
    })
}
