//! The tensors of one safetensors file: an 8-byte little-endian header length, a JSON
//! header `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the data.

use super::{Data, Dtype, Entry};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Largest header accepted (the format's own limit is 100 MB).
const MAX_HEADER_BYTES: u64 = 100 << 20;

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

/// Reads the header of `file` (at `path`) and checks every tensor against the file size;
/// the entries point into file number `index` of the weight set.
pub(super) fn entries(
    path: &Path,
    file: &mut File,
    index: usize,
) -> Result<HashMap<String, Entry>> {
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
        let entry: HeaderEntry =
            serde_json::from_value(value).map_err(|e| bad(format!("tensor {name}: {e}")))?;
        let (begin, end) = entry.data_offsets;
        if begin > end || data_start + end > size {
            return Err(bad(format!(
                "tensor {name} lies beyond the end of the file (truncated download?)"
            )));
        }
        let count = entry
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d));
        let expected = count.and_then(|c| c.checked_mul(entry.dtype.size()));
        if entry.dtype != Dtype::Other && expected.map(|e| e as u64) != Some(end - begin) {
            return Err(bad(format!(
                "tensor {name}: shape and byte length disagree"
            )));
        }
        entries.insert(
            name,
            Entry {
                dtype: entry.dtype,
                shape: entry.shape,
                file: index,
                data: Data::InFile {
                    begin: data_start + begin,
                    end: data_start + end,
                },
            },
        );
    }
    Ok(entries)
}
