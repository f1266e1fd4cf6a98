//! Fashion-MNIST for the image-retrieval benchmark and its test: IDX files in, a balanced
//! split written as PNG folders (one per class) out, and the k-NN vote over store hits.
#![allow(dead_code)] // each user takes the parts it needs

use embedkit_store::Hit;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Class names in label order, as folder names (no '/', unlike "T-shirt/top").
pub const CLASSES: [&str; 10] = [
    "tshirt-top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
];

/// 28×28 grayscale images with their labels.
pub struct Images {
    pub pixels: Vec<[u8; 784]>,
    pub labels: Vec<u8>,
}

fn read_idx(path: &Path, kind: u8, dims: usize) -> Result<(Vec<usize>, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |why: &str| format!("{}: not an IDX file ({why})", path.display());
    if bytes.len() < 4 + 4 * dims || bytes[..2] != [0, 0] || bytes[2] != kind {
        return Err(bad("header"));
    }
    if bytes[3] as usize != dims {
        return Err(bad("dimensions"));
    }
    let shape: Vec<usize> = (0..dims)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let data = bytes[4 + 4 * dims..].to_vec();
    if data.len() != shape.iter().product::<usize>() {
        return Err(bad("size"));
    }
    Ok((shape, data))
}

/// Reads `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte` (uncompressed).
pub fn read(dir: &Path, prefix: &str) -> Result<Images, String> {
    let (shape, data) = read_idx(&dir.join(format!("{prefix}-images-idx3-ubyte")), 8, 3)?;
    if shape[1..] != [28, 28] {
        return Err(format!("images of {shape:?}, expected N x 28 x 28"));
    }
    let (n, labels) = read_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte")), 8, 1)?;
    if n[0] != shape[0] || labels.iter().any(|&l| l as usize >= CLASSES.len()) {
        return Err("labels do not match the images".into());
    }
    let pixels = data
        .chunks_exact(784)
        .map(|c| c.try_into().expect("784 bytes"))
        .collect();
    Ok(Images { pixels, labels })
}

/// Writes a balanced split as PNGs: the first `reference` images of each class (in file
/// order) to `out/reference/CLASS/NNNNN.png`, the next `queries` to `out/queries/...`
/// (NNNNN is the index in the IDX file). Returns the two folders.
pub fn write_split(
    images: &Images,
    out: &Path,
    reference: usize,
    queries: usize,
) -> Result<(PathBuf, PathBuf), String> {
    let (ref_dir, query_dir) = (out.join("reference"), out.join("queries"));
    let mut taken = [0usize; 10];
    for (i, (px, &label)) in images.pixels.iter().zip(&images.labels).enumerate() {
        let c = label as usize;
        let side = match taken[c] {
            t if t < reference => &ref_dir,
            t if t < reference + queries => &query_dir,
            _ => continue,
        };
        taken[c] += 1;
        let dir = side.join(CLASSES[c]);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join(format!("{i:05}.png"));
        image::GrayImage::from_raw(28, 28, px.to_vec())
            .expect("28 x 28 bytes")
            .save(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?;
    }
    if taken.iter().any(|&t| t < reference + queries) {
        return Err(format!("too few images of some class: {taken:?}"));
    }
    Ok((ref_dir, query_dir))
}

/// The majority label among `hits` (metadata "label"); a tie goes to the label of the
/// best-ranked hit among the tied ones.
pub fn vote(hits: &[Hit]) -> Option<String> {
    let labels: Vec<&str> = hits
        .iter()
        .filter_map(|h| h.metadata["label"].as_str())
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in &labels {
        *counts.entry(l).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    labels
        .into_iter()
        .find(|l| counts[l] == best)
        .map(str::to_string)
}

/// The class folder an image file sits in (its true label).
pub fn label_of(path: &Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
