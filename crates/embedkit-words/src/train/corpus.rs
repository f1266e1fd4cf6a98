//! Streaming corpus reading: a file is never loaded whole. Tokens are separated by ASCII
//! whitespace; a newline ends a sentence, and so does every `MAX_SENTENCE` tokens (as
//! gensim's `LineSentence`), so one-line corpora such as text8 still train in pieces.

use crate::error::{Result, WordsError};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// Longest sentence handed to the trainer, in tokens.
pub const MAX_SENTENCE: usize = 10_000;

pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| WordsError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// Byte ranges splitting the file into `n` parts; a token belongs to the part where it starts.
pub(crate) fn split(path: &Path, n: usize) -> Result<Vec<(u64, u64)>> {
    let len = open(path)?.metadata()?.len();
    let n = n.max(1) as u64;
    Ok((0..n).map(|i| (len * i / n, len * (i + 1) / n)).collect())
}

/// Runs `work(byte range, thread index)` on `n` threads, one share of the corpus each (as
/// [`split`] cuts it), and returns the first error any of them met.
pub(crate) fn in_parallel(
    path: &Path,
    n: usize,
    work: impl Fn((u64, u64), u64) -> Result<()> + Sync,
) -> Result<()> {
    let ranges = split(path, n)?;
    std::thread::scope(|s| {
        let handles: Vec<_> = ranges
            .iter()
            .enumerate()
            .map(|(t, &range)| {
                let work = &work;
                s.spawn(move || work(range, t as u64))
            })
            .collect();
        // The scope joins any thread left when one fails.
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("training thread panicked"))
    })
}

/// Calls `f(token)` for every token starting in `[start, end)`, and `f(&[])` at each end of
/// sentence (line end, or every `MAX_SENTENCE` tokens).
pub(crate) fn scan(path: &Path, range: (u64, u64), f: impl FnMut(&[u8])) -> Result<()> {
    scan_sentences(path, range, MAX_SENTENCE, f)
}

/// [`scan`] with sentences cut only at line ends, however long: GloVe's `cooccur` counts
/// across a whole line.
pub(crate) fn scan_lines(path: &Path, range: (u64, u64), f: impl FnMut(&[u8])) -> Result<()> {
    scan_sentences(path, range, usize::MAX, f)
}

fn scan_sentences(
    path: &Path,
    (start, end): (u64, u64),
    max_sentence: usize,
    mut f: impl FnMut(&[u8]),
) -> Result<()> {
    let mut file = open(path)?;
    // Start one byte early to know whether `start` is inside a token that began before.
    let begin = start.saturating_sub(1);
    file.seek(SeekFrom::Start(begin))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut pos = begin;
    let mut skipping = start > 0;
    if skipping {
        // The byte before `start` decides: whitespace means `start` begins a new token.
        let b = r.fill_buf()?.first().copied();
        if b.is_none_or(|b| b.is_ascii_whitespace()) {
            skipping = false;
        }
        if b.is_some() {
            r.consume(1);
            pos += 1;
        }
    }
    let mut tok: Vec<u8> = Vec::with_capacity(64);
    let mut in_sentence = 0usize;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        let mut stop = false;
        for (k, &b) in buf.iter().enumerate() {
            let here = pos + k as u64;
            if b.is_ascii_whitespace() {
                skipping = false;
                if !tok.is_empty() {
                    f(&tok);
                    tok.clear();
                    in_sentence += 1;
                    if in_sentence == max_sentence {
                        f(&[]);
                        in_sentence = 0;
                    }
                }
                if b == b'\n' && in_sentence > 0 {
                    f(&[]);
                    in_sentence = 0;
                }
                if here + 1 >= end {
                    stop = true;
                    break;
                }
            } else if !skipping {
                if tok.is_empty() && here >= end {
                    stop = true;
                    break;
                }
                tok.push(b);
            }
        }
        if stop {
            tok.clear();
            break;
        }
        pos += n as u64;
        r.consume(n);
    }
    if !tok.is_empty() {
        f(&tok);
        in_sentence += 1;
    }
    if in_sentence > 0 {
        f(&[]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str, parts: usize) -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.txt");
        std::fs::write(&p, text).unwrap();
        let mut sentences = Vec::new();
        for range in split(&p, parts).unwrap() {
            let mut cur = Vec::new();
            scan(&p, range, |t| {
                if t.is_empty() {
                    sentences.push(std::mem::take(&mut cur));
                } else {
                    cur.push(String::from_utf8(t.to_vec()).unwrap());
                }
            })
            .unwrap();
        }
        sentences
    }

    #[test]
    fn every_token_is_read_once_whatever_the_split() {
        let text = "the quick  brown fox\njumps over\n\n the lazy dog\n";
        let all: Vec<String> = text.split_ascii_whitespace().map(String::from).collect();
        assert_eq!(
            tokens(text, 1),
            vec![
                vec!["the", "quick", "brown", "fox"],
                vec!["jumps", "over"],
                vec!["the", "lazy", "dog"]
            ]
        );
        for parts in 2..=text.len() {
            let got: Vec<String> = tokens(text, parts).into_iter().flatten().collect();
            assert_eq!(got, all, "{parts} parts");
        }
    }

    #[test]
    fn long_lines_are_cut_into_sentences() {
        let text = "w ".repeat(MAX_SENTENCE * 2 + 3);
        let s = tokens(&text, 1);
        assert_eq!(
            s.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![MAX_SENTENCE, MAX_SENTENCE, 3]
        );
    }
}
