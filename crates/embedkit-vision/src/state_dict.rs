//! A PyTorch `state_dict` in memory: tensor names to `f32` values, read from safetensors or
//! from a PyTorch checkpoint (`.pth` / `.pt`, see [`crate::pth`]).
//!
//! Vision models are small (ResNet-152 is 240 MB in fp32), so the whole dict is loaded at
//! once; the architecture is then inferred from its names and shapes and the tensors are
//! taken out one by one while the layers are built.

use crate::error::{Error, Result};
use crate::pth;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One tensor widened to `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
}

/// Named tensors with the file they came from (for error messages).
#[derive(Debug)]
pub struct StateDict {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl StateDict {
    /// Loads `path`: safetensors, or a PyTorch checkpoint (zip or legacy format), told apart
    /// by their first bytes (not the extension: both are saved as `.pth` / `.bin`). Integer tensors (`num_batches_tracked`) are skipped. Keys of a
    /// checkpoint saved from `nn.DataParallel` (`module.` prefix) are accepted too.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let tensors = if pth::is_checkpoint(&bytes) {
            pth::read(&bytes).map_err(|e| Error::weights(path, e))?
        } else {
            read_safetensors(&bytes).map_err(|e| Error::weights(path, e))?
        };
        let tensors = tensors
            .into_iter()
            .map(|(k, v)| match k.strip_prefix("module.") {
                Some(rest) => (rest.to_string(), v),
                None => (k, v),
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// The file the tensors came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shape of `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// All tensor names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Takes `name` out of the dict, checking its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::weights(&self.path, format!("tensor {name} is missing")))?;
        if t.shape != shape {
            return Err(Error::weights(
                &self.path,
                format!("tensor {name} has shape {:?}, expected {shape:?}", t.shape),
            ));
        }
        Ok(t.data)
    }

    /// The 4-D shape of a convolution weight `name` (`[out, in/groups, kh, kw]`).
    pub fn conv_shape(&self, name: &str) -> Result<[usize; 4]> {
        match self.shape(name) {
            Some(&[o, i, h, w]) => Ok([o, i, h, w]),
            Some(s) => Err(Error::arch(format!(
                "{name} has shape {s:?}; a convolution weight has 4 dimensions"
            ))),
            None => Err(Error::arch(format!("{name} is missing"))),
        }
    }

    /// The `[out, in]` shape of a linear weight `name`.
    pub fn linear_shape(&self, name: &str) -> Result<[usize; 2]> {
        match self.shape(name) {
            Some(&[o, i]) => Ok([o, i]),
            Some(s) => Err(Error::arch(format!(
                "{name} has shape {s:?}; a linear weight has 2 dimensions"
            ))),
            None => Err(Error::arch(format!("{name} is missing"))),
        }
    }
}

/// Reads every floating-point tensor of a safetensors file.
fn read_safetensors(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    use safetensors::Dtype;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a safetensors file or a PyTorch checkpoint: {e}"))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            _ => continue, // num_batches_tracked (int64) and other non-weights
        };
        out.insert(
            name,
            Tensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(out)
}
