//! Reading tensors from a model's weight files, with the key prefixes different exports use
//! (`bert.`, `model.`, ...), in every form transformers saves them: one `model.safetensors`,
//! safetensors shards listed by `model.safetensors.index.json`, or a PyTorch
//! `pytorch_model.bin` (zip or legacy format; sharded too). A folder holding several is read
//! as transformers reads it: safetensors first ([`WeightFile::open_folder`]).
//!
//! Files are not memory-mapped: each tensor is read straight into the buffer the model
//! keeps, so loading never holds the file's pages and a converted copy at the same time
//! (mapping and copying peaks at twice the weights, 4.8 GB for a 0.6B-parameter fp32 model).
//! Checkpoints are read the same way: only their pickled structure is parsed up front, and
//! each tensor's bytes are read from the file in the dtype stored (bf16 stays bf16).

mod pytorch;
mod safetensors;
mod sharded;

use crate::error::{Error, Result};
use embedkit_kernels::linear::{Bf16, BoundedInput, Linear, WeightFormat};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Element types embedkit loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Dtype {
    F32,
    F64,
    F16,
    BF16,
    #[serde(other)]
    Other,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F64 => 8,
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::Other => 0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
            Dtype::F16 => "f16",
            Dtype::BF16 => "bf16",
            Dtype::Other => "other",
        }
    }
}

/// Where a tensor's bytes (little-endian, row-major) are.
#[derive(Debug, Clone)]
enum Data {
    /// Bytes `begin..end` of its file.
    InFile { begin: u64, end: u64 },
    /// Gathered at open: a checkpoint view with other strides, or a compressed entry.
    Memory(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Index of its file in [`WeightFile`]'s list.
    file: usize,
    data: Data,
}

/// The file format of a set of weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoredFormat {
    /// safetensors.
    Safetensors,
    /// A PyTorch checkpoint in torch ≥ 1.6's zip format.
    PytorchZip,
    /// A PyTorch checkpoint in the legacy (pre-1.6) format.
    PytorchLegacy,
}

/// How a model's weights are stored: what `embedkit info` shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredWeights {
    /// The file named by the folder (a weight file, or a shard index).
    pub file: PathBuf,
    /// Format of the files.
    pub format: StoredFormat,
    /// Number of shards (1: a single file).
    pub shards: usize,
    /// Element types of the floating-point tensors (`f32`, `bf16`, ...), each once.
    pub dtypes: Vec<&'static str>,
}

impl std::fmt::Display for StoredWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self
            .file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let format = match self.format {
            StoredFormat::Safetensors => "safetensors",
            StoredFormat::PytorchZip => "PyTorch zip",
            StoredFormat::PytorchLegacy => "PyTorch legacy",
        };
        write!(f, "{name} ({format}")?;
        if self.shards > 1 {
            write!(f, ", {} shards", self.shards)?;
        }
        write!(f, ", {})", self.dtypes.join(" + "))
    }
}

/// Weight files of a folder, in the order transformers prefers them.
pub(crate) const FOLDER_FILES: [&str; 4] = [
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
];

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

/// An open set of weight files (one file, or the shards of an index) with their tensors.
pub struct WeightFile {
    /// The file named by the folder, for messages about the set as a whole.
    path: PathBuf,
    files: Vec<(PathBuf, File)>,
    entries: HashMap<String, Entry>,
    stored: StoredWeights,
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
    /// Opens the weights of a model folder: `model.safetensors`, else the shards of
    /// `model.safetensors.index.json`, else `pytorch_model.bin` (or its shards), as
    /// transformers prefers them. `prefixes` as in [`WeightFile::open`].
    pub fn open_folder(dir: &Path, prefixes: &'static [&'static str]) -> Result<Self> {
        match Self::find_in(dir) {
            Some(path) => Self::open(&path, prefixes),
            None => Err(Error::MissingFile {
                path: dir.join(FOLDER_FILES[0]),
                why: "no weights in the folder (model.safetensors, model.safetensors.index.json or pytorch_model.bin)",
            }),
        }
    }

    /// The weight file [`WeightFile::open_folder`] reads in `dir`, if any.
    pub fn find_in(dir: &Path) -> Option<PathBuf> {
        FOLDER_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
    }

    /// Opens `path`, validating every tensor's place against the file size: a safetensors
    /// file, a PyTorch checkpoint (told apart by their first bytes, not the name), or a
    /// shard index (`*.index.json`). `prefixes` are tried in order in front of every
    /// requested name (include `""` for unprefixed keys).
    pub fn open(path: &Path, prefixes: &'static [&'static str]) -> Result<Self> {
        let is_index = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".index.json"));
        let (files, entries, format) = if is_index {
            Self::read_shards(path)?
        } else {
            let (file, entries, format) = read_one(path, 0)?;
            (vec![(path.to_path_buf(), file)], entries, format)
        };
        let mut dtypes: Vec<&'static str> = entries
            .values()
            .filter(|e| e.dtype != Dtype::Other)
            .map(|e| e.dtype.name())
            .collect();
        dtypes.sort_unstable();
        dtypes.dedup();
        let stored = StoredWeights {
            file: path.to_path_buf(),
            format,
            shards: files.len(),
            dtypes,
        };
        Ok(Self {
            path: path.to_path_buf(),
            files,
            entries,
            stored,
            prefixes,
            precision: Precision::Auto,
        })
    }

    /// Every shard of the index at `path`, with the tensors its `weight_map` assigns them.
    #[allow(clippy::type_complexity)]
    fn read_shards(
        path: &Path,
    ) -> Result<(Vec<(PathBuf, File)>, HashMap<String, Entry>, StoredFormat)> {
        let shards = sharded::read(path)?;
        let mut files = Vec::with_capacity(shards.files.len());
        let mut held = Vec::with_capacity(shards.files.len());
        let mut format = StoredFormat::Safetensors;
        for (i, shard) in shards.files.iter().enumerate() {
            let (file, entries, shard_format) = read_one(shard, i)?;
            if i == 0 {
                format = shard_format;
            }
            files.push((shard.clone(), file));
            held.push(entries);
        }
        let mut entries = HashMap::with_capacity(shards.owner.len());
        for (name, at) in shards.owner {
            let entry = held[at].remove(&name).ok_or_else(|| {
                Error::weights(
                    path,
                    format!(
                        "the weight_map puts tensor {name} in {}, which does not hold it",
                        shards.files[at].display()
                    ),
                )
            })?;
            entries.insert(name, entry);
        }
        Ok((files, entries, format))
    }

    /// How the weights are stored (format, shards, dtypes).
    pub fn stored(&self) -> &StoredWeights {
        &self.stored
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
        let entry = self.find(name).ok_or_else(|| {
            let why = if self.stored.shards > 1 {
                " (the weight_map of the index does not name it)"
            } else {
                ""
            };
            Error::weights(&self.path, format!("tensor {name} is missing{why}"))
        })?;
        if entry.shape != shape {
            return Err(Error::weights(
                &self.path,
                format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    entry.shape
                ),
            ));
        }
        let bytes = self.bytes(entry)?;
        let data: Vec<f32> = match entry.dtype {
            Dtype::F64 => bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
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
                    format!("tensor {name} has a dtype other than F32, F64, F16 or BF16"),
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
                let bytes = self.bytes(entry)?;
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

    /// A tensor's stored bytes, read from its file.
    fn bytes(&self, entry: &Entry) -> Result<Vec<u8>> {
        match &entry.data {
            Data::Memory(bytes) => Ok(bytes.clone()),
            Data::InFile { begin, end } => {
                let (path, file) = &self.files[entry.file];
                let mut bytes = vec![0u8; (end - begin) as usize];
                read_at(file, &mut bytes, *begin).map_err(|e| Error::io(path, e))?;
                Ok(bytes)
            }
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

/// The shard files the weight index at `path` names, each once.
pub(crate) fn shard_names(path: &Path) -> Result<Vec<String>> {
    sharded::names(path)
}

/// Opens one weight file, safetensors or PyTorch checkpoint, as file number `index`.
fn read_one(path: &Path, index: usize) -> Result<(File, HashMap<String, Entry>, StoredFormat)> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 16];
    let n = read_prefix(&file, &mut head).map_err(|e| Error::io(path, e))?;
    if embedkit_core::pth::is_checkpoint(&head[..n]) {
        let (format, entries) = pytorch::entries(path, &file, index)?;
        let format = match format {
            embedkit_core::pth::Format::Zip => StoredFormat::PytorchZip,
            embedkit_core::pth::Format::Legacy => StoredFormat::PytorchLegacy,
        };
        Ok((file, entries, format))
    } else {
        let entries = safetensors::entries(path, &mut file, index)?;
        Ok((file, entries, StoredFormat::Safetensors))
    }
}

/// Reads up to `buf.len()` bytes from the start of `file` (fewer if it is shorter), leaving
/// the file's position at the start.
fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(n)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
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
