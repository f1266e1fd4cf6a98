//! Reading tensors from `model.safetensors`, with the key prefixes different exports use
//! (`bert.`, `model.`, ...).
//!
//! The file is not memory-mapped: each tensor is read straight into the buffer the model
//! keeps, so loading never holds the file's pages and a converted copy at the same time
//! (mapping and copying peaks at twice the weights, 4.8 GB for a 0.6B-parameter fp32 model).
//! The format is small enough to parse here: an 8-byte little-endian header length, a JSON
//! header `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the data.

use crate::error::{Error, Result};
use embedkit_kernels::linear::{Bf16, BoundedInput, Linear, WeightFormat};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest header accepted (the format's own limit is 100 MB).
const MAX_HEADER_BYTES: u64 = 100 << 20;

/// Element types embedkit loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Dtype {
    F32,
    F16,
    BF16,
    #[serde(other)]
    Other,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::Other => 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

/// How a model keeps its large weights (linear layers and token embedding tables) in memory.
/// Every product still accumulates in f32; small tensors (norms, biases) are always f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// As stored: bf16 tensors stay bf16 (never widened into a second, f32 copy), f32 and f16
    /// ones become f32.
    #[default]
    Auto,
    /// Everything in f32 (bf16 files take twice their size in memory).
    F32,
    /// Everything in bf16, rounded to nearest even: half the memory of f32 for f32 models.
    Bf16,
    /// Dynamic int8: linear layers' weights in 8 bits, activations quantized per token at run
    /// time, integer products; token tables in bf16. On CPUs with AVX512-VNNI and
    /// AVX512-BF16, the encoder blocks' layers with bounded inputs take 8-bit activations
    /// and the feed-forward's second layer bf16 pairs (see `arch::block`); elsewhere 16-bit
    /// activations. Approximate (cosine ≥ 0.999 with f32 on all-MiniLM-L6-v2).
    Int8,
}

impl Precision {
    /// The name `--precision` takes.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Precision::Auto),
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "int8" => Ok(Precision::Int8),
            other => Err(Error::InvalidInput(format!(
                "unknown precision {other:?} (expected auto, f32, bf16 or int8)"
            ))),
        }
    }
}

/// A `[rows, width]` lookup table (token embeddings) in the precision the model keeps it.
pub enum Table {
    /// f32 values, row-major.
    F32(Vec<f32>),
    /// bf16 values, row-major.
    Bf16(Vec<Bf16>),
}

impl Table {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            Table::F32(v) => v.len() * 4,
            Table::Bf16(v) => v.len() * 2,
        }
    }

    fn len(&self) -> usize {
        match self {
            Table::F32(v) => v.len(),
            Table::Bf16(v) => v.len(),
        }
    }

    /// Adds row `index` (of `width` values) to `out`, or fails on an id the table lacks (a
    /// tokenizer that does not belong to the weights).
    pub fn add_row(&self, width: usize, index: usize, out: &mut [f32], what: &str) -> Result<()> {
        let range = index * width..(index + 1) * width;
        if range.end > self.len() {
            return Err(Error::InvalidInput(format!(
                "{what} id {index} is outside the model's table of {} rows (tokenizer and weights do not match)",
                self.len() / width.max(1)
            )));
        }
        match self {
            Table::F32(v) => out.iter_mut().zip(&v[range]).for_each(|(o, r)| *o += r),
            Table::Bf16(v) => out
                .iter_mut()
                .zip(&v[range])
                .for_each(|(o, r)| *o += r.to_f32()),
        }
        Ok(())
    }
}

/// An open safetensors file with its parsed header.
pub struct WeightFile {
    path: PathBuf,
    file: File,
    data_start: u64,
    entries: HashMap<String, Entry>,
    prefixes: &'static [&'static str],
    precision: Precision,
}

/// A tensor widened to `f32`, with its shape.
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
}

impl WeightFile {
    /// Opens `path` and validates its header against the file size. `prefixes` are tried in
    /// order in front of every requested name (include `""` for unprefixed keys).
    pub fn open(path: &Path, prefixes: &'static [&'static str]) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let bad = |m: String| Error::weights(path, m);
        let mut len = [0u8; 8];
        file.read_exact(&mut len)
            .map_err(|_| bad("file is shorter than a safetensors header".into()))?;
        let header_len = u64::from_le_bytes(len);
        if header_len > MAX_HEADER_BYTES || 8 + header_len > size {
            return Err(bad(format!(
                "header of {header_len} bytes does not fit the file of {size} bytes"
            )));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)
            .map_err(|e| Error::io(path, e))?;
        let raw: HashMap<String, serde_json::Value> = serde_json::from_slice(&header)
            .map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
        let data_start = 8 + header_len;
        let mut entries = HashMap::new();
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let entry: Entry =
                serde_json::from_value(value).map_err(|e| bad(format!("tensor {name}: {e}")))?;
            let (begin, end) = entry.data_offsets;
            if begin > end || data_start + end > size {
                return Err(bad(format!(
                    "tensor {name} lies beyond the end of the file (truncated download?)"
                )));
            }
            let count: usize = entry.shape.iter().product();
            if entry.dtype != Dtype::Other && (count * entry.dtype.size()) as u64 != end - begin {
                return Err(bad(format!(
                    "tensor {name}: shape and byte length disagree"
                )));
            }
            entries.insert(name, entry);
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            data_start,
            entries,
            prefixes,
            precision: Precision::Auto,
        })
    }

    /// Keeps the large weights in `precision` (default [`Precision::Auto`]).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The format a linear layer's weight is kept in.
    fn format_of(&self, name: &str) -> WeightFormat {
        match self.precision {
            Precision::F32 => WeightFormat::F32,
            Precision::Bf16 => WeightFormat::Bf16,
            Precision::Int8 => WeightFormat::Int8,
            Precision::Auto => match self.find(name).map(|e| e.dtype) {
                Some(Dtype::BF16) => WeightFormat::Bf16,
                _ => WeightFormat::F32,
            },
        }
    }

    fn find(&self, name: &str) -> Option<&Entry> {
        self.prefixes
            .iter()
            .find_map(|p| self.entries.get(&format!("{p}{name}")))
    }

    /// Whether a tensor exists under any prefix.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Loads a tensor as `f32`, checking its shape.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let entry = self
            .find(name)
            .ok_or_else(|| Error::weights(&self.path, format!("tensor {name} is missing")))?;
        if entry.shape != shape {
            return Err(Error::weights(
                &self.path,
                format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    entry.shape
                ),
            ));
        }
        let (begin, end) = entry.data_offsets;
        let mut bytes = vec![0u8; (end - begin) as usize];
        read_at(&self.file, &mut bytes, self.data_start + begin)
            .map_err(|e| Error::io(&self.path, e))?;
        let data: Vec<f32> = match entry.dtype {
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
            Dtype::Other => {
                return Err(Error::weights(
                    &self.path,
                    format!("tensor {name} has a dtype other than F32, F16 or BF16"),
                ))
            }
        };
        Ok(Tensor {
            shape: entry.shape.clone(),
            data,
        })
    }

    /// A BF16 tensor's values as stored, without an f32 copy (`None` for other dtypes).
    fn raw_bf16(&self, name: &str, shape: &[usize]) -> Result<Option<Vec<Bf16>>> {
        match self.find(name) {
            Some(entry) if entry.dtype == Dtype::BF16 && entry.shape == shape => {
                let (begin, end) = entry.data_offsets;
                let mut bytes = vec![0u8; (end - begin) as usize];
                read_at(&self.file, &mut bytes, self.data_start + begin)
                    .map_err(|e| Error::io(&self.path, e))?;
                Ok(Some(
                    bytes
                        .chunks_exact(2)
                        .map(|b| Bf16(u16::from_le_bytes([b[0], b[1]])))
                        .collect(),
                ))
            }
            _ => Ok(None),
        }
    }

    /// Loads a vector of `len` values.
    pub fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        Ok(self.get(name, &[len])?.data)
    }

    /// Loads a `[rows, cols]` matrix.
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Vec<f32>> {
        Ok(self.get(name, &[rows, cols])?.data)
    }

    /// Loads a `[rows, width]` embedding table in the file's [`Precision`].
    pub fn table(&self, name: &str, rows: usize, width: usize) -> Result<Table> {
        // A lookup has no product to run in int8: int8 models keep their tables in bf16.
        let format = match self.format_of(name) {
            WeightFormat::Int8 => WeightFormat::Bf16,
            other => other,
        };
        if format == WeightFormat::Bf16 {
            if let Some(values) = self.raw_bf16(name, &[rows, width])? {
                return Ok(Table::Bf16(values));
            }
        }
        let values = self.matrix(name, rows, width)?;
        Ok(if format == WeightFormat::F32 {
            Table::F32(values)
        } else {
            // Exact for bf16 files; the f32 copy is one tensor's, and only for this call.
            Table::Bf16(values.into_iter().map(Bf16::from_f32).collect())
        })
    }

    /// Loads a PyTorch `nn.Linear` (`{name}.weight` `[out, in]`, optional `{name}.bias`) in the
    /// file's [`Precision`].
    pub fn linear(&self, name: &str, out_features: usize, in_features: usize) -> Result<Linear> {
        let format = self.format_of(&format!("{name}.weight"));
        self.linear_as(name, out_features, in_features, format)
    }

    /// [`WeightFile::linear`] in `format` whatever the file's precision.
    pub fn linear_as(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        format: WeightFormat,
    ) -> Result<Linear> {
        let (weight, bias) = self.linear_parts(name, out_features, in_features)?;
        Linear::with_format(weight, bias, out_features, in_features, format)
            .map_err(|e| Error::weights(&self.path, format!("{name}: {e:?}")))
    }

    /// Loads the linear layers `names` (each `[out_each, in_features]`), which all read the
    /// output of a LayerNorm with weight and bias `norm`, as one layer with their outputs
    /// side by side (a fused QKV projection), in the file's [`Precision`]. With
    /// [`Precision::Int8`] it may take 8-bit activations, smoothed by the norm's `|γ| + |β|`
    /// separately for each of `parts` (output widths, in order; see
    /// [`Linear::with_bounded_input`]).
    pub fn linear_after_norm(
        &self,
        names: &[String],
        (out_each, in_features): (usize, usize),
        norm: &(Vec<f32>, Vec<f32>),
        parts: &[usize],
    ) -> Result<Linear> {
        let first = names.first().map_or("", String::as_str);
        let format = self.format_of(&format!("{first}.weight"));
        let mut weight = Vec::with_capacity(names.len() * out_each * in_features);
        let mut biases = Vec::new();
        for name in names {
            let (w, b) = self.linear_parts(name, out_each, in_features)?;
            weight.extend(w);
            biases.push(b);
        }
        let bias = if biases.iter().any(Option::is_some) {
            Some(
                biases
                    .into_iter()
                    .flat_map(|b| b.unwrap_or_else(|| vec![0.0; out_each]))
                    .collect(),
            )
        } else {
            None
        };
        let magnitude: Vec<f32> = norm
            .0
            .iter()
            .zip(&norm.1)
            .map(|(g, b)| g.abs() + b.abs())
            .collect();
        let shape = (names.len() * out_each, in_features);
        let input = BoundedInput::Normalized {
            magnitude: &magnitude,
            parts,
        };
        Linear::with_bounded_input(weight, bias, shape, format, input)
            .map_err(|e| Error::weights(&self.path, format!("{}: {e:?}", names.join(", "))))
    }

    /// Loads the linear layer that reads attention's output (weighted means of V's rows), in
    /// the file's [`Precision`]: with [`Precision::Int8`] it may take 8-bit activations (see
    /// [`Linear::with_bounded_input`]).
    pub fn linear_after_attention(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
    ) -> Result<Linear> {
        let format = self.format_of(&format!("{name}.weight"));
        let (weight, bias) = self.linear_parts(name, out_features, in_features)?;
        let shape = (out_features, in_features);
        Linear::with_bounded_input(weight, bias, shape, format, BoundedInput::Averaged)
            .map_err(|e| Error::weights(&self.path, format!("{name}: {e:?}")))
    }

    /// A linear layer's weight (as f32) and bias.
    fn linear_parts(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let weight = self.matrix(&format!("{name}.weight"), out_features, in_features)?;
        let bias_name = format!("{name}.bias");
        let bias = if self.contains(&bias_name) {
            Some(self.vector(&bias_name, out_features)?)
        } else {
            None
        };
        Ok((weight, bias))
    }

    /// The precision large weights are kept in.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Loads a LayerNorm's `weight` and `bias`.
    pub fn layer_norm(&self, name: &str, width: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((
            self.vector(&format!("{name}.weight"), width)?,
            self.vector(&format!("{name}.bias"), width)?,
        ))
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, header: &str, data: &[u8]) {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn reads_f32_and_bf16_tensors_with_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let mut data: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        data.extend(half::bf16::from_f32(0.25).to_le_bytes());
        let header = r#"{"__metadata__": {"format": "pt"}, "bert.a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "BF16", "shape": [1, 1], "data_offsets": [8, 10]}}"#;
        write(&p, header, &data);
        let w = WeightFile::open(&p, &["", "bert."]).unwrap();
        assert_eq!(w.vector("a", 2).unwrap(), vec![1.5, -2.0]);
        assert_eq!(w.matrix("b", 1, 1).unwrap(), vec![0.25]);
        assert!(w.vector("a", 3).is_err(), "shape is checked");
        assert!(w.vector("c", 1).is_err());
    }

    #[test]
    fn rejects_truncated_and_inconsistent_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let header = r#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#;
        write(&p, header, &[0u8; 8]);
        let err = WeightFile::open(&p, &[""]).err().unwrap().to_string();
        assert!(err.contains("beyond the end"), "{err}");
        let header = r#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}"#;
        write(&p, header, &[0u8; 16]);
        assert!(WeightFile::open(&p, &[""]).is_err());
        std::fs::write(&p, b"\xff\xff\xff\xff\xff\xff\xff\x7f{}").unwrap();
        assert!(WeightFile::open(&p, &[""]).is_err());
        std::fs::write(&p, b"abc").unwrap();
        assert!(WeightFile::open(&p, &[""]).is_err());
    }
}
