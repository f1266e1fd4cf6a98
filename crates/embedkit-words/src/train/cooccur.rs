//! GloVe's co-occurrence counting: every pair of words at distance `d <= window` within a
//! line (however long, as the original counts) adds `1/d` to both `X[i][j]` and `X[j][i]`. Under a memory bound, as the original
//! `cooccur` tool does: records accumulate in a buffer; a full buffer is sorted, its
//! duplicates summed, and written to a temporary file; the sorted files are then merged
//! (k-way, summing equal pairs) into one sorted stream.

use super::corpus;
use super::Vocab;
use crate::error::Result;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// One co-occurrence: words `i`, `j` and the weighted count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cooc {
    /// Row word.
    pub i: u32,
    /// Column word.
    pub j: u32,
    /// Sum of `1/distance`.
    pub x: f64,
}

/// Bytes of one record on disk.
pub(crate) const RECORD: usize = 16;

/// Counts co-occurrences keeping at most `memory` bytes of records in memory at once (chunks
/// spill to files in `tmp`), and hands them to `sink` sorted by `(i, j)`, each pair once.
/// Returns the number of chunks spilled to disk.
pub fn count(
    path: &Path,
    vocab: &Vocab,
    window: usize,
    memory: usize,
    tmp: &Path,
    sink: &mut dyn FnMut(Cooc),
) -> Result<usize> {
    let cap = (memory / RECORD).max(1024);
    // Reserved whole (pages count only once touched) so that it never grows past `cap`.
    let mut buf: Vec<Cooc> = Vec::with_capacity(cap);
    let mut chunks: Vec<std::path::PathBuf> = Vec::new();
    let mut history: Vec<u32> = Vec::new();
    let spill = |buf: &mut Vec<Cooc>, chunks: &mut Vec<std::path::PathBuf>| -> Result<()> {
        sort_and_sum(buf);
        let p = tmp.join(format!("cooccur-{}.bin", chunks.len()));
        let mut w = BufWriter::new(File::create(&p)?);
        for c in buf.iter() {
            write_record(&mut w, c)?;
        }
        w.flush()?;
        buf.clear();
        chunks.push(p);
        Ok(())
    };
    let mut err = None;
    corpus::scan_lines(path, (0, u64::MAX), |t| {
        if err.is_some() {
            return;
        }
        if t.is_empty() {
            history.clear();
            return;
        }
        let Some(w) = vocab.id(t) else { return };
        for (d, &c) in history.iter().rev().take(window).enumerate() {
            let x = 1.0 / (d + 1) as f64;
            buf.push(Cooc { i: w, j: c, x });
            buf.push(Cooc { i: c, j: w, x });
        }
        history.push(w);
        if history.len() > 4 * window.max(1) {
            history.drain(..history.len() - window);
        }
        if buf.len() + 2 * window >= cap {
            if let Err(e) = spill(&mut buf, &mut chunks) {
                err = Some(e);
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    if chunks.is_empty() {
        sort_and_sum(&mut buf);
        buf.into_iter().for_each(sink);
        return Ok(0);
    }
    if !buf.is_empty() {
        spill(&mut buf, &mut chunks)?;
    }
    drop(buf);
    let merged = merge(&chunks, sink);
    for c in &chunks {
        let _ = std::fs::remove_file(c);
    }
    merged.map(|()| chunks.len())
}

/// Sorts by `(i, j)` and sums equal pairs, in place: the buffer is the memory budget, so
/// neither a second vector nor a stable sort's scratch buffer (half the input) may be used.
fn sort_and_sum(v: &mut Vec<Cooc>) {
    v.sort_unstable_by_key(|c| (c.i, c.j));
    v.dedup_by(|c, kept| {
        let same = c.i == kept.i && c.j == kept.j;
        if same {
            kept.x += c.x;
        }
        same
    });
}

/// Writes one record: `i`, `j` (u32) and `x` (f64), little-endian.
pub(crate) fn write_record(w: &mut impl Write, c: &Cooc) -> std::io::Result<()> {
    w.write_all(&c.i.to_le_bytes())?;
    w.write_all(&c.j.to_le_bytes())?;
    w.write_all(&c.x.to_le_bytes())
}

/// Reads the records [`write_record`] wrote.
pub(crate) struct ChunkReader<R>(pub(crate) R);

impl<R: Read> ChunkReader<R> {
    pub(crate) fn next(&mut self) -> Result<Option<Cooc>> {
        let mut b = [0u8; RECORD];
        match self.0.read_exact(&mut b) {
            Ok(()) => Ok(Some(Cooc {
                i: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                j: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                x: f64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// k-way merge of sorted chunk files, summing equal pairs.
fn merge(chunks: &[std::path::PathBuf], sink: &mut dyn FnMut(Cooc)) -> Result<()> {
    let mut readers = chunks
        .iter()
        .map(|p| {
            Ok(ChunkReader(BufReader::with_capacity(
                1 << 16,
                File::open(p)?,
            )))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut heap = BinaryHeap::new();
    for (k, r) in readers.iter_mut().enumerate() {
        if let Some(c) = r.next()? {
            heap.push(Reverse((c.i, c.j, k, c.x.to_bits())));
        }
    }
    let mut cur: Option<Cooc> = None;
    while let Some(Reverse((i, j, k, bits))) = heap.pop() {
        let x = f64::from_bits(bits);
        match &mut cur {
            Some(l) if l.i == i && l.j == j => l.x += x,
            _ => {
                if let Some(done) = cur.replace(Cooc { i, j, x }) {
                    sink(done);
                }
            }
        }
        if let Some(c) = readers[k].next()? {
            heap.push(Reverse((c.i, c.j, k, c.x.to_bits())));
        }
    }
    if let Some(done) = cur {
        sink(done);
    }
    Ok(())
}
