//! Reading tensors from `model.safetensors`, memory-mapped, with the key prefixes different
//! exports use (`bert.`, `model.`, ...).

use crate::error::{Error, Result};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};

/// A memory-mapped safetensors file.
pub struct WeightFile {
    path: PathBuf,
    map: Mmap,
    prefixes: &'static [&'static str],
}

/// A tensor widened to `f32`, with its shape.
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
}

impl WeightFile {
    /// Maps `path` and checks that its header parses. `prefixes` are tried in order in front
    /// of every requested name (include `""` for unprefixed keys).
    pub fn open(path: &Path, prefixes: &'static [&'static str]) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only and private to this process. Like every program that
        // maps model weights (candle, safetensors' Python loader), we rely on nobody
        // truncating the file while it is open; a changed file cannot cause more than wrong
        // numbers because every tensor is copied out and bounds-checked by `safetensors`.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        SafeTensors::deserialize(&map).map_err(|e| Error::weights(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            map,
            prefixes,
        })
    }

    fn view(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.map).expect("header was validated in open")
    }

    /// Whether a tensor exists under any prefix.
    pub fn contains(&self, name: &str) -> bool {
        let st = self.view();
        self.prefixes
            .iter()
            .any(|p| st.tensor(&format!("{p}{name}")).is_ok())
    }

    /// Loads a tensor as `f32`, checking its shape when `shape` is given.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let st = self.view();
        let view = self
            .prefixes
            .iter()
            .find_map(|p| st.tensor(&format!("{p}{name}")).ok())
            .ok_or_else(|| Error::weights(&self.path, format!("tensor {name} is missing")))?;
        if view.shape() != shape {
            return Err(Error::weights(
                &self.path,
                format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    view.shape()
                ),
            ));
        }
        let bytes = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::weights(
                    &self.path,
                    format!("tensor {name} has dtype {other:?}; expected F32, F16 or BF16"),
                ))
            }
        };
        Ok(Tensor {
            shape: view.shape().to_vec(),
            data,
        })
    }

    /// Loads a vector of `len` values.
    pub fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        Ok(self.get(name, &[len])?.data)
    }

    /// Loads a `[rows, cols]` matrix.
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Vec<f32>> {
        Ok(self.get(name, &[rows, cols])?.data)
    }

    /// Loads a PyTorch `nn.Linear` (`{name}.weight` `[out, in]`, optional `{name}.bias`).
    pub fn linear(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
    ) -> Result<embedkit_kernels::linear::Linear> {
        let weight = self.matrix(&format!("{name}.weight"), out_features, in_features)?;
        let bias_name = format!("{name}.bias");
        let bias = if self.contains(&bias_name) {
            Some(self.vector(&bias_name, out_features)?)
        } else {
            None
        };
        embedkit_kernels::linear::Linear::new(weight, bias, out_features, in_features)
            .map_err(|e| Error::weights(&self.path, format!("{name}: {e:?}")))
    }

    /// Loads a LayerNorm's `weight` and `bias`.
    pub fn layer_norm(&self, name: &str, width: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((
            self.vector(&format!("{name}.weight"), width)?,
            self.vector(&format!("{name}.bias"), width)?,
        ))
    }
}
