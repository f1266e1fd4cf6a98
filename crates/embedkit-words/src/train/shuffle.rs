//! Shuffling the co-occurrence records under a memory bound, as GloVe's `shuffle` tool does:
//! records fill a buffer of at most `memory` bytes; a full buffer is shuffled and written to
//! a temporary file; then the files are merged by reading an equal share of every file into
//! the buffer, shuffling it and appending it to the output, until all files are used up.
//! Training then streams the shuffled file, so no step holds all pairs in memory.

use super::cooccur::{write_record, ChunkReader, Cooc, RECORD};
use super::math::Lcg;
use crate::error::Result;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Collects records and writes them, shuffled, to one file.
pub(crate) struct Shuffler {
    buf: Vec<Cooc>,
    cap: usize,
    tmp: PathBuf,
    chunks: Vec<PathBuf>,
    rng: Lcg,
    records: u64,
}

impl Shuffler {
    /// A shuffler holding at most `memory` bytes of records, spilling into `tmp`.
    pub(crate) fn new(memory: usize, tmp: &Path, seed: u64) -> Self {
        let cap = (memory / RECORD).max(1024);
        Self {
            buf: Vec::with_capacity(cap),
            cap,
            tmp: tmp.to_path_buf(),
            chunks: Vec::new(),
            rng: Lcg(seed),
            records: 0,
        }
    }

    pub(crate) fn push(&mut self, c: Cooc) -> Result<()> {
        self.buf.push(c);
        self.records += 1;
        if self.buf.len() == self.cap {
            let p = self.tmp.join(format!("shuffle-{}.bin", self.chunks.len()));
            self.write_shuffled(&p)?;
            self.chunks.push(p);
        }
        Ok(())
    }

    /// Shuffles and writes the buffer to a new file at `path`, leaving the buffer empty.
    fn write_shuffled(&mut self, path: &Path) -> Result<()> {
        let mut w = BufWriter::new(File::create(path)?);
        self.shuffle_buffer();
        for c in &self.buf {
            write_record(&mut w, c)?;
        }
        w.flush()?;
        self.buf.clear();
        Ok(())
    }

    /// Fisher-Yates over the buffer.
    fn shuffle_buffer(&mut self) {
        for k in (1..self.buf.len()).rev() {
            let r = (self.rng.next() >> 16) as usize % (k + 1);
            self.buf.swap(k, r);
        }
    }

    /// Writes every record pushed, shuffled, to `out`; returns how many there are.
    pub(crate) fn finish(mut self, out: &Path) -> Result<u64> {
        if self.chunks.is_empty() {
            self.write_shuffled(out)?;
            return Ok(self.records);
        }
        if !self.buf.is_empty() {
            let p = self.tmp.join(format!("shuffle-{}.bin", self.chunks.len()));
            self.write_shuffled(&p)?;
            self.chunks.push(p);
        }
        let mut readers = self
            .chunks
            .iter()
            .map(|p| {
                Ok(ChunkReader(BufReader::with_capacity(
                    1 << 16,
                    File::open(p)?,
                )))
            })
            .collect::<Result<Vec<_>>>()?;
        let share = (self.cap / readers.len()).max(1);
        let mut w = BufWriter::new(File::create(out)?);
        loop {
            for r in &mut readers {
                for _ in 0..share {
                    match r.next()? {
                        Some(c) => self.buf.push(c),
                        None => break,
                    }
                }
            }
            if self.buf.is_empty() {
                break;
            }
            self.shuffle_buffer();
            for c in &self.buf {
                write_record(&mut w, c)?;
            }
            self.buf.clear();
        }
        w.flush()?;
        for p in &self.chunks {
            let _ = std::fs::remove_file(p);
        }
        Ok(self.records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(p: &Path) -> Vec<Cooc> {
        let mut r = ChunkReader(BufReader::new(File::open(p).unwrap()));
        std::iter::from_fn(|| r.next().unwrap()).collect()
    }

    #[test]
    fn spilled_shuffle_keeps_every_record_once_and_mixes_them() {
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<Cooc> = (0..10_240u32)
            .map(|k| Cooc {
                i: k,
                j: k / 3,
                x: f64::from(k) / 7.0,
            })
            .collect();
        // 1024 records of buffer: ten full chunks to merge.
        let mut s = Shuffler::new(1024 * RECORD, dir.path(), 3);
        for c in &input {
            s.push(*c).unwrap();
        }
        assert_eq!(s.chunks.len(), 10);
        let out = dir.path().join("out.bin");
        assert_eq!(s.finish(&out).unwrap(), 10_240);
        let got = read_all(&out);
        // The temporary chunks are gone; only the output is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut sorted = got.clone();
        sorted.sort_by_key(|c| c.i);
        assert_eq!(sorted, input);
        // Mixed across the whole range: each tenth of the output draws from every chunk.
        for part in got.chunks(1000) {
            let mut sources: Vec<u32> = part.iter().map(|c| c.i / 1024).collect();
            sources.sort_unstable();
            sources.dedup();
            assert_eq!(sources.len(), 10, "{sources:?}");
        }
        // Not the input order in any stretch.
        let in_place = got.iter().zip(&input).filter(|(a, b)| a == b).count();
        assert!(in_place < 50, "{in_place} records kept their place");
    }

    #[test]
    fn small_input_is_shuffled_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Shuffler::new(1 << 20, dir.path(), 1);
        for k in 0..100u32 {
            s.push(Cooc { i: k, j: 0, x: 1.0 }).unwrap();
        }
        let out = dir.path().join("out.bin");
        assert_eq!(s.finish(&out).unwrap(), 100);
        let got: Vec<u32> = read_all(&out).iter().map(|c| c.i).collect();
        assert_ne!(got, (0..100).collect::<Vec<_>>());
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    }
}
