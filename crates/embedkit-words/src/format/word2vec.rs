//! word2vec text (`N D` header, then `word v1 .. vD` lines; also fastText's `.vec`), GloVe
//! text (the same lines without a header) and word2vec binary (`N D` header, then
//! `word` + space + D little-endian f32 per record).
//!
//! The C tool writes a newline after each binary vector and gensim does not; the reader
//! skips whitespace before each word, so both load. Everything is read as a stream.

use crate::error::{malformed, Result, WordsError};
use crate::vectors::WordVectors;
use std::io::{BufRead, Write};

const TEXT: &str = "word2vec text";
const GLOVE: &str = "GloVe text";
const BINARY: &str = "word2vec binary";
/// Longer "words" mean the file is not what it claims to be.
const MAX_WORD_BYTES: usize = 1 << 16;
/// Values read at a time from a binary vector.
const READ_CHUNK: usize = 1 << 16;

/// Parses an `N D` header line.
fn parse_header(line: &[u8], format: &'static str) -> Result<(usize, usize)> {
    let text = std::str::from_utf8(line)
        .map_err(|_| malformed(format, "header line is not UTF-8"))?
        .trim();
    let mut parts = text.split_ascii_whitespace();
    let (Some(n), Some(d), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(
            format,
            format!("header must be `WORDS DIM`, found {text:?}"),
        ));
    };
    let parse = |s: &str, what: &str| {
        s.parse::<usize>()
            .map_err(|_| malformed(format, format!("header {what} {s:?} is not a number")))
    };
    let (n, d) = (parse(n, "word count")?, parse(d, "dimension")?);
    if d == 0 {
        return Err(malformed(format, "header dimension is 0"));
    }
    Ok((n, d))
}

fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<bool> {
    buf.clear();
    Ok(r.read_until(b'\n', buf)? > 0)
}

/// Splits a text line into the word and its values, checking UTF-8 and finiteness.
fn parse_text_line(
    line: &[u8],
    lineno: usize,
    dim: Option<usize>,
    format: &'static str,
    out: &mut Vec<f32>,
) -> Result<String> {
    let text = std::str::from_utf8(line)
        .map_err(|_| malformed(format, format!("line {lineno}: not valid UTF-8")))?;
    let mut parts = text.split_ascii_whitespace();
    let word = parts
        .next()
        .ok_or_else(|| malformed(format, format!("line {lineno}: empty line")))?;
    let start = out.len();
    for p in parts {
        let v: f32 = p.parse().map_err(|_| {
            malformed(
                format,
                format!("line {lineno} ({word}): {p:?} is not a number"),
            )
        })?;
        if !v.is_finite() {
            return Err(malformed(
                format,
                format!("line {lineno} ({word}): non-finite value {p}"),
            ));
        }
        out.push(v);
    }
    let got = out.len() - start;
    if let Some(d) = dim {
        if got != d {
            return Err(malformed(
                format,
                format!("line {lineno} ({word}): expected {d} values, found {got}"),
            ));
        }
    } else if got == 0 {
        return Err(malformed(format, format!("line {lineno}: no values")));
    }
    Ok(word.to_string())
}

/// Reads word2vec text (with header) or, with `header = false`, GloVe text.
pub fn read_text(mut r: impl BufRead, header: bool) -> Result<WordVectors> {
    let format = if header { TEXT } else { GLOVE };
    let mut buf = Vec::new();
    let mut lineno = 0;
    let (mut expected, mut dim) = (None, None);
    if header {
        if !read_line(&mut r, &mut buf)? {
            return Err(malformed(format, "empty file"));
        }
        lineno = 1;
        let (n, d) = parse_header(&buf, format)?;
        expected = Some(n);
        dim = Some(d);
    }
    let mut words = Vec::with_capacity(expected.unwrap_or(0).min(1 << 20));
    let mut data = Vec::new();
    while read_line(&mut r, &mut buf)? {
        lineno += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Some(n) = expected {
            if words.len() == n {
                return Err(malformed(
                    format,
                    format!("line {lineno}: more vectors than the {n} the header announces"),
                ));
            }
        }
        let word = parse_text_line(&buf, lineno, dim, format, &mut data)?;
        if dim.is_none() {
            dim = Some(data.len());
        }
        words.push(word);
    }
    if let Some(n) = expected {
        if words.len() != n {
            return Err(malformed(
                format,
                format!(
                    "the header announces {n} vectors but the file has {}",
                    words.len()
                ),
            ));
        }
    }
    let dim = dim.ok_or_else(|| malformed(format, "no vectors"))?;
    WordVectors::new(words, dim, data)
}

/// Reads word2vec binary.
pub fn read_binary(mut r: impl BufRead) -> Result<WordVectors> {
    let mut buf = Vec::new();
    if !read_line(&mut r, &mut buf)? {
        return Err(malformed(BINARY, "empty file"));
    }
    let (n, dim) = parse_header(&buf, BINARY)?;
    let mut words = Vec::with_capacity(n.min(1 << 20));
    // The header's counts are only claims: buffers are bounded and grow as data arrives, so
    // a damaged header fails as a truncated file instead of a huge allocation.
    let mut data: Vec<f32> =
        Vec::with_capacity(n.min(1 << 20).saturating_mul(dim).min(READ_CHUNK << 6));
    let mut bytes = vec![0u8; dim.min(READ_CHUNK) * 4];
    for i in 0..n {
        let truncated = |what: &str| {
            malformed(
                BINARY,
                format!(
                    "file ends in record {} of {n} ({what}): truncated, or a wrong header count",
                    i + 1
                ),
            )
        };
        skip_whitespace(&mut r)?;
        buf.clear();
        r.read_until(b' ', &mut buf)?;
        if buf.last() != Some(&b' ') {
            return Err(truncated("in the word"));
        }
        buf.pop();
        if buf.len() > MAX_WORD_BYTES {
            return Err(malformed(
                BINARY,
                format!("record {}: word longer than {MAX_WORD_BYTES} bytes", i + 1),
            ));
        }
        let word = String::from_utf8(std::mem::take(&mut buf))
            .map_err(|_| malformed(BINARY, format!("record {}: word is not valid UTF-8", i + 1)))?;
        let mut left = dim;
        while left > 0 {
            let chunk = &mut bytes[..left.min(READ_CHUNK) * 4];
            r.read_exact(chunk).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => truncated("in the vector"),
                _ => WordsError::Io(e),
            })?;
            for c in chunk.chunks_exact(4) {
                let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                if !v.is_finite() {
                    return Err(malformed(
                        BINARY,
                        format!("record {} ({word}): non-finite value", i + 1),
                    ));
                }
                data.push(v);
            }
            left -= chunk.len() / 4;
        }
        words.push(word);
    }
    skip_whitespace(&mut r)?;
    if !r.fill_buf()?.is_empty() {
        return Err(malformed(
            BINARY,
            format!("data after the {n} vectors the header announces"),
        ));
    }
    WordVectors::new(words, dim, data)
}

fn skip_whitespace(r: &mut impl BufRead) -> Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let k = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let done = k < buf.len();
        r.consume(k);
        if done {
            return Ok(());
        }
    }
}

/// Writes word2vec text with an `N D` header, or GloVe text without one. Values use the
/// shortest representation that reads back to the same f32.
pub fn write_text(vectors: &WordVectors, mut w: impl Write, header: bool) -> Result<()> {
    if header {
        writeln!(w, "{} {}", vectors.len(), vectors.dim())?;
    }
    for (i, word) in vectors.words().iter().enumerate() {
        w.write_all(word.as_bytes())?;
        for v in vectors.row(i) {
            write!(w, " {v}")?;
        }
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// Writes word2vec binary in the C tool's layout (a newline after each vector), which
/// gensim and the C tool both read.
pub fn write_binary(vectors: &WordVectors, mut w: impl Write) -> Result<()> {
    writeln!(w, "{} {}", vectors.len(), vectors.dim())?;
    for (i, word) in vectors.words().iter().enumerate() {
        w.write_all(word.as_bytes())?;
        w.write_all(b" ")?;
        for v in vectors.row(i) {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}
