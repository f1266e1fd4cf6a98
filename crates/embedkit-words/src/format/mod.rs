//! Word-vector file formats: detection, reading and writing.

pub mod fasttext;
pub mod word2vec;

use crate::error::{Result, WordsError};
use crate::vectors::WordVectors;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;

/// A word-vector file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `N D` header then `word v1 .. vD` lines (also fastText's `.vec`).
    Word2VecText,
    /// `N D` header then `word` + space + D little-endian f32 per record.
    Word2VecBinary,
    /// `word v1 .. vD` lines, no header.
    GloveText,
    /// A fastText model (`.bin`, version 12).
    FastTextBin,
}

impl Format {
    /// The format vectors are written in to `path` when none is chosen: word2vec binary for
    /// a `.bin` name, else word2vec text (as the original tool's `-binary` is usually paired
    /// with a `.bin` name).
    pub fn for_output(path: &Path) -> Self {
        if path.extension().is_some_and(|e| e == "bin") {
            Self::Word2VecBinary
        } else {
            Self::Word2VecText
        }
    }
}

impl std::str::FromStr for Format {
    type Err = WordsError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "word2vec" | "text" | "vec" | "word2vec-text" => Self::Word2VecText,
            "binary" | "word2vec-binary" => Self::Word2VecBinary,
            "glove" => Self::GloveText,
            "fasttext" | "bin" | "fasttext-bin" => Self::FastTextBin,
            _ => {
                return Err(WordsError::Invalid(format!(
                    "unknown format {s:?} (word2vec, binary, glove, fasttext)"
                )))
            }
        })
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| WordsError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// Guesses the format from the first bytes: the fastText magic number; else an `N D` header
/// (word2vec; text when the next line is a word and D numbers, else binary); else GloVe.
pub fn detect(head: &[u8]) -> Format {
    if head.len() >= 4
        && i32::from_le_bytes([head[0], head[1], head[2], head[3]]) == fasttext::MAGIC
    {
        return Format::FastTextBin;
    }
    let mut lines = head.splitn(2, |&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let header = std::str::from_utf8(first).ok().and_then(|s| {
        let mut p = s.split_ascii_whitespace();
        match (p.next(), p.next(), p.next()) {
            (Some(n), Some(d), None) => Some((n.parse::<usize>().ok()?, d.parse::<usize>().ok()?)),
            _ => None,
        }
    });
    let Some((_, dim)) = header else {
        return Format::GloveText;
    };
    let rest = lines.next().unwrap_or_default();
    let second = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let is_text = std::str::from_utf8(second).is_ok_and(|s| {
        let mut p = s.split_ascii_whitespace();
        p.next().is_some() && {
            let vals: Vec<&str> = p.collect();
            vals.len() == dim && vals.iter().all(|v| v.parse::<f32>().is_ok())
        }
    });
    // A file with a header and nothing else is empty either way.
    if is_text || rest.is_empty() {
        Format::Word2VecText
    } else {
        Format::Word2VecBinary
    }
}

/// Detects the format of the file at `path`.
pub fn detect_file(path: &Path) -> Result<Format> {
    let mut head = Vec::new();
    open(path)?.take(1 << 20).read_to_end(&mut head)?;
    Ok(detect(&head))
}

/// Loads word vectors, detecting the format unless given.
pub fn load(path: &Path, format: Option<Format>) -> Result<WordVectors> {
    let format = match format {
        Some(f) => f,
        None => detect_file(path)?,
    };
    let r = BufReader::with_capacity(1 << 20, open(path)?);
    match format {
        Format::Word2VecText => word2vec::read_text(r, true),
        Format::GloveText => word2vec::read_text(r, false),
        Format::Word2VecBinary => word2vec::read_binary(r),
        Format::FastTextBin => fasttext::FastTextModel::read(r)?.into_word_vectors(),
    }
}

/// Loads a whole fastText model (for writing back or predicting).
pub fn load_fasttext(path: &Path) -> Result<fasttext::FastTextModel> {
    fasttext::FastTextModel::read(BufReader::with_capacity(1 << 20, open(path)?))
}

/// Writes word vectors in a vector-only format (`FastTextBin` needs a whole model: use
/// [`fasttext::FastTextModel::write`]).
pub fn save(vectors: &WordVectors, path: &Path, format: Format) -> Result<()> {
    let f = File::create(path).map_err(|source| WordsError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let w = BufWriter::new(f);
    match format {
        Format::Word2VecText => word2vec::write_text(vectors, w, true),
        Format::GloveText => word2vec::write_text(vectors, w, false),
        Format::Word2VecBinary => word2vec::write_binary(vectors, w),
        Format::FastTextBin => Err(WordsError::Invalid(
            "a fastText .bin needs a whole model, not only vectors".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_named_bin_is_binary_and_anything_else_text() {
        assert_eq!(
            Format::for_output(Path::new("out/v.bin")),
            Format::Word2VecBinary
        );
        for name in ["v.txt", "v.vec", "v", "v.bin.txt", "bin"] {
            assert_eq!(Format::for_output(Path::new(name)), Format::Word2VecText);
        }
    }
}
