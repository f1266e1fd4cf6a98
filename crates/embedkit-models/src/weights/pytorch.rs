//! The tensors of a PyTorch checkpoint (`pytorch_model.bin`, zip or legacy format), read
//! through the restricted unpickler of [`embedkit_core::pth`]. Contiguous tensors (all of
//! a `state_dict` saved by transformers) are read from the file like safetensors ones, in
//! the dtype they are stored in; views with other strides are gathered here, one tensor at
//! a time.

use super::{read_at, Data, Dtype, Entry};
use crate::error::{Error, Result};
use embedkit_core::pth::{self, Checkpoint, Storage};
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

/// Parses `file` (at `path`); the entries point into file number `index` of the weight set.
pub(super) fn entries(
    path: &Path,
    file: &File,
    index: usize,
) -> Result<(pth::Format, HashMap<String, Entry>)> {
    let bad = |e: pth::Error| Error::weights(path, e);
    let checkpoint = Checkpoint::parse(file).map_err(bad)?;
    let mut entries = HashMap::new();
    for record in &checkpoint.tensors {
        let dtype = match record.dtype {
            pth::Dtype::F32 => Dtype::F32,
            pth::Dtype::F64 => Dtype::F64,
            pth::Dtype::F16 => Dtype::F16,
            pth::Dtype::BF16 => Dtype::BF16,
            // Integer buffers (position ids, `num_batches_tracked`) are never weights.
            pth::Dtype::Other(_) => continue,
        };
        let size = record.dtype.size();
        let storage = checkpoint.storage(record).map_err(bad)?;
        let elements = usize::try_from(storage.len()).unwrap_or(usize::MAX) / size;
        let (first, end) = record.element_span(elements).map_err(bad)?;
        let data = match storage {
            Storage::InFile { start, .. } if record.is_contiguous() => Data::InFile {
                begin: start + (first * size) as u64,
                end: start + (end * size) as u64,
            },
            Storage::InFile { start, .. } => {
                let mut raw = vec![0u8; (end - first) * size];
                read_at(file, &mut raw, start + (first * size) as u64)
                    .map_err(|e| Error::io(path, e))?;
                Data::Memory(record.gather(&raw).map_err(bad)?)
            }
            Storage::Inflated(bytes) => {
                Data::Memory(record.gather(&bytes[first * size..]).map_err(bad)?)
            }
        };
        let entry = Entry {
            dtype,
            shape: record.shape.clone(),
            file: index,
            data,
        };
        entries.insert(record.name.clone(), entry);
    }
    Ok((checkpoint.format, entries))
}
