//! Sharded weights: `model.safetensors.index.json` (or `pytorch_model.bin.index.json`), whose
//! `weight_map` names the shard file of every tensor, as transformers' `save_pretrained`
//! writes them for large models.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

/// The shards of an index file and the tensors each one must hold.
pub(super) struct Shards {
    /// Shard paths, each once, in name order.
    pub files: Vec<PathBuf>,
    /// Tensor name → position of its shard in `files`.
    pub owner: BTreeMap<String, usize>,
}

/// Reads the index at `path`; every shard must be a file beside it.
pub(super) fn read(path: &Path) -> Result<Shards> {
    let index = parse(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let names: BTreeSet<&str> = index.weight_map.values().map(String::as_str).collect();
    let mut files = Vec::with_capacity(names.len());
    for name in &names {
        let shard = dir.join(name);
        if !shard.is_file() {
            return Err(Error::MissingFile {
                path: shard,
                why: "the weight_map of the weight index names this shard",
            });
        }
        files.push(shard);
    }
    let position: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let owner = index
        .weight_map
        .iter()
        .map(|(tensor, shard)| (tensor.clone(), position[shard.as_str()]))
        .collect();
    Ok(Shards { files, owner })
}

/// The shard names of the index at `path`, each once (what a download fetches).
pub(super) fn names(path: &Path) -> Result<Vec<String>> {
    let index = parse(path)?;
    let names: BTreeSet<String> = index.weight_map.into_values().collect();
    Ok(names.into_iter().collect())
}

/// Parses an index whose shards are plain file names (a name that would leave the folder is
/// refused) and that maps at least one tensor.
fn parse(path: &Path) -> Result<Index> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let index: Index = serde_json::from_str(&text)
        .map_err(|e| Error::weights(path, format!("not a weight index: {e}")))?;
    if index.weight_map.is_empty() {
        return Err(Error::weights(path, "the weight_map names no tensor"));
    }
    for name in index.weight_map.values() {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(Error::weights(
                path,
                format!("shard name {name:?} is not a file name"),
            ));
        }
    }
    Ok(index)
}
