//! fastText's `.bin` model format, version 12 (what fastText 0.9 and gensim's
//! `save_facebook_model` write). All numbers little-endian:
//!
//! * `i32 magic = 793712314`, `i32 version = 12`;
//! * args: 12 × `i32` (dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket,
//!   minn, maxn, lr_update_rate) and `f64 t`;
//! * dictionary: `i32 size, i32 nwords, i32 nlabels, i64 ntokens, i64 pruneidx_size`, then
//!   per entry the UTF-8 bytes, `\0`, `i64 count`, `i8 type` (0 word, 1 label), then
//!   `pruneidx_size` pairs of `i32`;
//! * `u8 quant = 0`, input matrix (`i64 rows, i64 cols`, f32 data): `nwords` word rows then
//!   `bucket` n-gram rows;
//! * `u8 qout = 0`, output matrix in the same form.

use crate::error::{malformed, Result, WordsError};
use crate::vectors::{Subwords, WordVectors};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

const FORMAT: &str = "fastText .bin";
/// The first four bytes of every fastText model.
pub const MAGIC: i32 = 793_712_314;

/// The two files of a trained fastText model, named as fastText's `-output PREFIX` names
/// them: `PREFIX.bin` (the whole model) and `PREFIX.vec` (the word vectors as word2vec
/// text). `output` may be the prefix or either file: `v`, `v.bin` and `v.vec` all give
/// `v.bin` and `v.vec`. The extension is replaced (`v.txt` gives `v.bin` too), after a
/// `.bin` or `.vec` one is dropped (`v.1.vec` gives `v.bin`).
pub fn output_paths(output: &Path) -> (PathBuf, PathBuf) {
    let prefix = match output.extension().and_then(|e| e.to_str()) {
        Some("bin" | "vec") => output.with_extension(""),
        _ => output.to_path_buf(),
    };
    (prefix.with_extension("bin"), prefix.with_extension("vec"))
}
const VERSION: i32 = 12;
const EOS: &str = "</s>";

/// fastText's loss functions, by their number in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Hierarchical softmax (1).
    HierarchicalSoftmax,
    /// Negative sampling (2).
    NegativeSampling,
    /// Full softmax (3).
    Softmax,
    /// One-vs-all (4).
    OneVsAll,
}

/// fastText's model kinds, by their number in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// CBOW (1).
    Cbow,
    /// Skip-gram (2).
    SkipGram,
    /// Supervised classifier (3).
    Supervised,
}

/// The training arguments stored in a model.
#[derive(Debug, Clone, PartialEq)]
pub struct FastTextArgs {
    /// Vector dimension.
    pub dim: usize,
    /// Context window.
    pub ws: usize,
    /// Epochs.
    pub epoch: usize,
    /// Minimum word count.
    pub min_count: usize,
    /// Negative samples.
    pub neg: usize,
    /// Word n-gram length (supervised).
    pub word_ngrams: usize,
    /// Loss.
    pub loss: Loss,
    /// Model kind.
    pub model: ModelKind,
    /// Hash buckets for n-grams.
    pub bucket: usize,
    /// Shortest character n-gram.
    pub minn: usize,
    /// Longest character n-gram.
    pub maxn: usize,
    /// Learning-rate update rate.
    pub lr_update_rate: usize,
    /// Subsampling threshold.
    pub t: f64,
}

/// One dictionary entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The word or label.
    pub word: String,
    /// Occurrences in the training data.
    pub count: i64,
    /// True for `__label__` entries.
    pub is_label: bool,
}

/// A whole fastText model: what is needed to query it, write it back, or predict.
#[derive(Debug, Clone)]
pub struct FastTextModel {
    /// Training arguments.
    pub args: FastTextArgs,
    /// Words (first) then labels.
    pub entries: Vec<Entry>,
    /// Total tokens seen in training.
    pub ntokens: i64,
    /// `(bucket, row)` pairs of a pruned model; `None` when not pruned.
    pub pruneidx: Option<Vec<(i32, i32)>>,
    /// Input matrix, `input_rows × dim`: word rows then n-gram rows.
    pub input: Vec<f32>,
    /// Output matrix, `output_rows × dim`.
    pub output: Vec<f32>,
}

impl FastTextModel {
    /// Number of word entries.
    pub fn nwords(&self) -> usize {
        self.entries.iter().filter(|e| !e.is_label).count()
    }

    /// Rows of the input matrix.
    pub fn input_rows(&self) -> usize {
        self.input.len() / self.args.dim
    }

    /// Input-matrix rows whose mean is `word`'s vector (its own row first when known).
    pub fn subword_rows(&self, word: &str, index: Option<usize>) -> Vec<usize> {
        let sw = self.subword_table_view();
        let mut rows: Vec<usize> = index.into_iter().collect();
        if word != EOS {
            rows.extend(sw.ngram_rows(word));
        }
        rows
    }

    fn subword_table_view(&self) -> Subwords {
        Subwords {
            minn: self.args.minn,
            maxn: self.args.maxn,
            bucket: self.args.bucket,
            input: Vec::new(),
            nwords: self.nwords(),
            pruned: self
                .pruneidx
                .as_ref()
                .map(|p| p.iter().copied().collect::<HashMap<_, _>>()),
        }
    }

    /// The word vectors (each word the mean of its row and its n-gram rows, as fastText's
    /// `getWordVector`), keeping the n-gram table for unseen words.
    pub fn into_word_vectors(self) -> Result<WordVectors> {
        let dim = self.args.dim;
        let nwords = self.nwords();
        let mut sw = self.subword_table_view();
        sw.input = self.input;
        let mut data = Vec::with_capacity(nwords * dim);
        let mut words = Vec::with_capacity(nwords);
        for (i, e) in self.entries.into_iter().filter(|e| !e.is_label).enumerate() {
            let mut rows = vec![i];
            if e.word != EOS {
                rows.extend(sw.ngram_rows(&e.word));
            }
            data.extend(sw.mean_of_rows(&rows, dim));
            words.push(e.word);
        }
        Ok(WordVectors::new(words, dim, data)?.with_subwords(sw))
    }

    /// Reads a model.
    pub fn read(mut r: impl BufRead) -> Result<Self> {
        let magic = read_i32(&mut r, "magic number")?;
        if magic != MAGIC {
            return Err(malformed(FORMAT, format!("bad magic number {magic}")));
        }
        let version = read_i32(&mut r, "version")?;
        if version != VERSION {
            return Err(malformed(
                FORMAT,
                format!("version {version} is not supported (only {VERSION})"),
            ));
        }
        let mut a = [0i32; 12];
        for (k, v) in a.iter_mut().enumerate() {
            *v = read_i32(&mut r, "arguments")?;
            if *v < 0 {
                return Err(malformed(FORMAT, format!("negative argument #{k}: {v}")));
            }
        }
        let t = read_f64(&mut r, "arguments")?;
        let loss = match a[6] {
            1 => Loss::HierarchicalSoftmax,
            2 => Loss::NegativeSampling,
            3 => Loss::Softmax,
            4 => Loss::OneVsAll,
            x => return Err(malformed(FORMAT, format!("unknown loss {x}"))),
        };
        let model = match a[7] {
            1 => ModelKind::Cbow,
            2 => ModelKind::SkipGram,
            3 => ModelKind::Supervised,
            x => return Err(malformed(FORMAT, format!("unknown model kind {x}"))),
        };
        let args = FastTextArgs {
            dim: a[0] as usize,
            ws: a[1] as usize,
            epoch: a[2] as usize,
            min_count: a[3] as usize,
            neg: a[4] as usize,
            word_ngrams: a[5] as usize,
            loss,
            model,
            bucket: a[8] as usize,
            minn: a[9] as usize,
            maxn: a[10] as usize,
            lr_update_rate: a[11] as usize,
            t,
        };
        if args.dim == 0 {
            return Err(malformed(FORMAT, "dimension is 0"));
        }
        let size = read_i32(&mut r, "dictionary")?;
        let nwords = read_i32(&mut r, "dictionary")?;
        let nlabels = read_i32(&mut r, "dictionary")?;
        let ntokens = read_i64(&mut r, "dictionary")?;
        let prune_size = read_i64(&mut r, "dictionary")?;
        if size < 0 || nwords < 0 || nlabels < 0 || nwords as i64 + nlabels as i64 != size as i64 {
            return Err(malformed(
                FORMAT,
                format!(
                    "dictionary counts disagree: size {size}, words {nwords}, labels {nlabels}"
                ),
            ));
        }
        let mut entries = Vec::with_capacity((size as usize).min(1 << 20));
        let mut buf = Vec::new();
        for i in 0..size as usize {
            buf.clear();
            r.read_until(0, &mut buf)?;
            if buf.pop() != Some(0) {
                return Err(truncated(&format!("dictionary entry {}", i + 1)));
            }
            let word = String::from_utf8(std::mem::take(&mut buf)).map_err(|_| {
                malformed(
                    FORMAT,
                    format!("dictionary entry {} is not valid UTF-8", i + 1),
                )
            })?;
            let count = read_i64(&mut r, "dictionary")?;
            let kind = read_u8(&mut r, "dictionary")?;
            let is_label = match kind {
                0 => false,
                1 => true,
                x => return Err(malformed(FORMAT, format!("entry {word:?} has type {x}"))),
            };
            if is_label != (i >= nwords as usize) {
                return Err(malformed(
                    FORMAT,
                    "labels must follow the words in the dictionary",
                ));
            }
            entries.push(Entry {
                word,
                count,
                is_label,
            });
        }
        let pruneidx = if prune_size >= 0 {
            let mut p = Vec::with_capacity((prune_size as usize).min(1 << 20));
            for _ in 0..prune_size {
                let bucket = read_i32(&mut r, "prune index")?;
                let row = read_i32(&mut r, "prune index")?;
                // Each kept bucket names one of the `prune_size` n-gram rows that follow the
                // word rows; another row would be read past the input matrix.
                if row < 0 || row as i64 >= prune_size {
                    return Err(malformed(
                        FORMAT,
                        format!("prune index maps bucket {bucket} to row {row} of {prune_size}"),
                    ));
                }
                p.push((bucket, row));
            }
            Some(p)
        } else {
            None
        };
        if read_u8(&mut r, "input matrix")? != 0 {
            return Err(malformed(
                FORMAT,
                "quantized models (.ftz) are not supported",
            ));
        }
        let in_rows = match &pruneidx {
            None => nwords as usize + args.bucket,
            Some(p) => nwords as usize + p.len(),
        };
        let input = read_matrix(&mut r, "input", args.dim, Some(in_rows))?;
        if read_u8(&mut r, "output matrix")? != 0 {
            return Err(malformed(
                FORMAT,
                "quantized output matrices are not supported",
            ));
        }
        let output = read_matrix(&mut r, "output", args.dim, None)?;
        Ok(Self {
            args,
            entries,
            ntokens,
            pruneidx,
            input,
            output,
        })
    }

    /// Writes the model (version 12, unquantized).
    pub fn write(&self, mut w: impl Write) -> Result<()> {
        let a = &self.args;
        let loss = match a.loss {
            Loss::HierarchicalSoftmax => 1,
            Loss::NegativeSampling => 2,
            Loss::Softmax => 3,
            Loss::OneVsAll => 4,
        };
        let model = match a.model {
            ModelKind::Cbow => 1,
            ModelKind::SkipGram => 2,
            ModelKind::Supervised => 3,
        };
        let ints = [
            MAGIC,
            VERSION,
            a.dim as i32,
            a.ws as i32,
            a.epoch as i32,
            a.min_count as i32,
            a.neg as i32,
            a.word_ngrams as i32,
            loss,
            model,
            a.bucket as i32,
            a.minn as i32,
            a.maxn as i32,
            a.lr_update_rate as i32,
        ];
        for v in ints {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(&a.t.to_le_bytes())?;
        let nwords = self.nwords() as i32;
        let size = self.entries.len() as i32;
        for v in [size, nwords, size - nwords] {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(&self.ntokens.to_le_bytes())?;
        let prune = self.pruneidx.as_ref().map_or(-1, |p| p.len() as i64);
        w.write_all(&prune.to_le_bytes())?;
        for e in &self.entries {
            w.write_all(e.word.as_bytes())?;
            w.write_all(&[0])?;
            w.write_all(&e.count.to_le_bytes())?;
            w.write_all(&[e.is_label as u8])?;
        }
        for &(a, b) in self.pruneidx.iter().flatten() {
            w.write_all(&a.to_le_bytes())?;
            w.write_all(&b.to_le_bytes())?;
        }
        for m in [&self.input, &self.output] {
            w.write_all(&[0])?;
            w.write_all(&((m.len() / a.dim) as i64).to_le_bytes())?;
            w.write_all(&(a.dim as i64).to_le_bytes())?;
            for v in m.iter() {
                w.write_all(&v.to_le_bytes())?;
            }
        }
        w.flush()?;
        Ok(())
    }
}

fn truncated(what: &str) -> WordsError {
    malformed(FORMAT, format!("file ends in the {what} (truncated)"))
}

fn read_bytes<const N: usize>(r: &mut impl BufRead, what: &str) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => truncated(what),
        _ => WordsError::Io(e),
    })?;
    Ok(b)
}

fn read_i32(r: &mut impl BufRead, what: &str) -> Result<i32> {
    Ok(i32::from_le_bytes(read_bytes(r, what)?))
}

fn read_i64(r: &mut impl BufRead, what: &str) -> Result<i64> {
    Ok(i64::from_le_bytes(read_bytes(r, what)?))
}

fn read_f64(r: &mut impl BufRead, what: &str) -> Result<f64> {
    Ok(f64::from_le_bytes(read_bytes(r, what)?))
}

fn read_u8(r: &mut impl BufRead, what: &str) -> Result<u8> {
    Ok(read_bytes::<1>(r, what)?[0])
}

/// Reads `i64 rows, i64 cols` and the data, growing the buffer as data arrives so that a
/// corrupt row count fails as a truncated file instead of a huge allocation.
fn read_matrix(
    r: &mut impl BufRead,
    name: &str,
    dim: usize,
    rows_expected: Option<usize>,
) -> Result<Vec<f32>> {
    let what = format!("{name} matrix");
    let rows = read_i64(r, &what)?;
    let cols = read_i64(r, &what)?;
    if cols != dim as i64 {
        return Err(malformed(
            FORMAT,
            format!("{what} has {cols} columns, the model dimension is {dim}"),
        ));
    }
    if rows < 0 || rows_expected.is_some_and(|e| e as i64 != rows) {
        return Err(malformed(
            FORMAT,
            format!(
                "{what} has {rows} rows, expected {}",
                rows_expected.unwrap_or(0)
            ),
        ));
    }
    let n = (rows as usize)
        .checked_mul(dim)
        .ok_or_else(|| malformed(FORMAT, format!("{what} is too large")))?;
    let mut data = Vec::with_capacity(n.min(1 << 22));
    let mut chunk = vec![0u8; 4 << 16];
    let mut left = n;
    while left > 0 {
        let k = left.min(1 << 16);
        let bytes = &mut chunk[..k * 4];
        r.read_exact(bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => truncated(&what),
            _ => WordsError::Io(e),
        })?;
        for c in bytes.chunks_exact(4) {
            let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if !v.is_finite() {
                return Err(malformed(FORMAT, format!("non-finite value in the {what}")));
            }
            data.push(v);
        }
        left -= k;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::output_paths;
    use std::path::{Path, PathBuf};

    #[test]
    fn outputs_are_the_prefix_with_bin_and_vec() {
        let both = |p: &str| -> (PathBuf, PathBuf) {
            (format!("{p}.bin").into(), format!("{p}.vec").into())
        };
        for given in ["out/v", "out/v.bin", "out/v.vec", "out/v.txt"] {
            assert_eq!(output_paths(Path::new(given)), both("out/v"), "{given}");
        }
        assert_eq!(output_paths(Path::new("v.1.vec")), both("v"));
        assert_eq!(output_paths(Path::new("v.1.txt")), both("v.1"));
    }
}
