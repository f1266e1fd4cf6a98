//! An image model: weights file → network + preprocessing, and the batch pipeline from image
//! files to embeddings and class scores.

use crate::arch::{Network, Output};
use crate::classes;
use crate::decode::{self, RgbImage};
use crate::error::{Error, Result};
use crate::layers::FeatureMap;
use crate::preprocess::Preprocess;
use crate::state_dict::StateDict;
use embedkit_core::{EmbedError, EmbedErrorKind, ImageEmbedder};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// A class and its softmax probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Class index.
    pub index: usize,
    /// Class name (ImageNet names for 1000-class models).
    pub label: String,
    /// Softmax probability.
    pub score: f32,
}

/// A loaded image network with its preprocessing.
#[derive(Debug)]
pub struct ImageModel {
    network: Network,
    preprocess: Preprocess,
    weights: PathBuf,
}

impl ImageModel {
    /// Loads `path`: a weights file (`.safetensors`, `.pth`, `.pt`, `.bin`) or a folder holding
    /// `model.safetensors` or exactly one such file. `arch` (e.g. `resnet50`, `vgg`) is
    /// checked against what the weights hold.
    pub fn load(path: &Path, arch: Option<&str>) -> Result<Self> {
        let weights = weights_file(path)?;
        let sd = StateDict::load(&weights)?;
        let network = Network::from_state_dict(sd, arch)?;
        Ok(Self {
            network,
            preprocess: Preprocess::default(),
            weights,
        })
    }

    /// Whether `path` looks like an image network rather than a text model: a weights file
    /// (`.safetensors`, `.pth`, `.pt`, `.bin`), or a folder holding one and no tokenizer
    /// (`tokenizer.json`, `tokenizer_config.json`, `vocab.txt`, `modules.json`: what text
    /// model folders have). Cheap: nothing is loaded, so callers that route a model spec to
    /// the right loader can ask first.
    pub fn recognizes(path: &Path) -> bool {
        if path.is_file() {
            return is_weights(path);
        }
        let text = [
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.txt",
            "modules.json",
        ];
        if !path.is_dir() || text.iter().any(|f| path.join(f).exists()) {
            return false;
        }
        std::fs::read_dir(path).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .any(|p| is_weights(&p) && p.is_file())
        })
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The weights file loaded.
    pub fn weights(&self) -> &Path {
        &self.weights
    }

    /// The preprocessing.
    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    /// Replaces the preprocessing (other resize / crop sizes).
    pub fn set_preprocess(&mut self, p: Preprocess) -> Result<()> {
        p.validate()?;
        self.preprocess = p;
        Ok(())
    }

    /// Width of the embeddings.
    pub fn dimensions(&self) -> usize {
        self.network.dimensions()
    }

    /// Runs preprocessed images (each `crop × crop × 3`, HWC) as one batch, failing with
    /// [`Error::NonFinite`] if any embedding value is NaN or infinite. The class scores are
    /// checked where they are used, by [`classify`](Self::classify): a broken classifier
    /// head does not spoil the embeddings, which come before it.
    pub fn run<I: AsRef<[f32]>>(&self, images: &[I]) -> Result<Output> {
        let output = self.forward(images)?;
        if output.embedding.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite("embeddings"));
        }
        Ok(output)
    }

    /// [`run`](Self::run) without the check of the values: for a caller that batches the
    /// images of several requests and checks each request's rows itself, so that one
    /// request's non-finite output does not fail the others in its pass.
    pub fn forward<I: AsRef<[f32]>>(&self, images: &[I]) -> Result<Output> {
        let side = self.preprocess.crop;
        if images.iter().any(|i| i.as_ref().len() != side * side * 3) {
            return Err(Error::InvalidInput(format!(
                "every preprocessed image must hold {side}x{side}x3 values"
            )));
        }
        let x = FeatureMap {
            data: images
                .iter()
                .flat_map(|i| i.as_ref().iter().copied())
                .collect(),
            n: images.len(),
            h: side,
            w: side,
            c: 3,
        };
        self.network.forward(x)
    }

    /// Decodes and preprocesses one image file.
    pub fn prepare_file(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.preprocess.apply(&decode::open(path)?))
    }

    /// Preprocesses a decoded image.
    pub fn prepare(&self, img: &RgbImage) -> Vec<f32> {
        self.preprocess.apply(img)
    }

    /// Runs image files through the network in batches of `batch_size`, in order, calling
    /// `on_batch(first_index, output)` for each. Decoding and preprocessing of the next batch
    /// (in parallel over its images) overlap inference of the current one. Stops at the first
    /// file that cannot be read, naming it.
    pub fn run_files(
        &self,
        paths: &[PathBuf],
        batch_size: usize,
        mut on_batch: impl FnMut(usize, Output) -> Result<()>,
    ) -> Result<()> {
        if batch_size == 0 {
            return Err(Error::InvalidInput("batch size must be at least 1".into()));
        }
        std::thread::scope(|scope| {
            // One prepared batch waits while another runs: bounded memory.
            let (tx, rx) = mpsc::sync_channel::<Result<Vec<Vec<f32>>>>(1);
            scope.spawn(move || {
                for chunk in paths.chunks(batch_size) {
                    let batch = chunk
                        .par_iter()
                        .map(|p| self.prepare_file(p))
                        .collect::<Result<Vec<_>>>();
                    let failed = batch.is_err();
                    if tx.send(batch).is_err() || failed {
                        return;
                    }
                }
            });
            let mut first = 0;
            for batch in rx {
                let batch = batch?;
                let n = batch.len();
                on_batch(first, self.run(&batch)?)?;
                first += n;
            }
            Ok(())
        })
    }

    /// [`top_k`](Self::top_k), failing with [`Error::NonFinite`] if any logit is NaN or
    /// infinite (the probabilities would be NaN).
    pub fn classify(&self, logits: &[f32], k: usize) -> Result<Vec<Vec<Scored>>> {
        if logits.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite("class scores"));
        }
        Ok(self.top_k(logits, k))
    }

    /// The `k` most probable classes of each row of `logits` (softmax over the row).
    pub fn top_k(&self, logits: &[f32], k: usize) -> Vec<Vec<Scored>> {
        let classes = self.network.classes();
        logits
            .chunks_exact(classes)
            .map(|row| {
                let mut p = row.to_vec();
                embedkit_kernels::ops::softmax_in_place(&mut p);
                let mut order: Vec<usize> = (0..classes).collect();
                order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
                order
                    .into_iter()
                    .take(k)
                    .map(|i| Scored {
                        index: i,
                        label: classes::label(i, classes),
                        score: p[i],
                    })
                    .collect()
            })
            .collect()
    }
}

fn is_weights(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("safetensors" | "pth" | "pt" | "bin")
    )
}

/// The weights file named by `path` (a file, or a folder with one).
fn weights_file(path: &Path) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if !path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    let st = path.join("model.safetensors");
    if st.is_file() {
        return Ok(st);
    }
    let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
    let found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_weights(p))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::weights(
            path,
            "no model.safetensors, .pth or .pt file in this folder",
        )),
        _ => Err(Error::weights(
            path,
            "several weight files in this folder; name one",
        )),
    }
}

impl From<Error> for EmbedError {
    fn from(e: Error) -> Self {
        let kind = match e {
            // An unreadable or undecodable image, or a bad request, is the caller's to fix.
            Error::Io { .. } | Error::Image { .. } | Error::InvalidInput(_) => {
                EmbedErrorKind::InvalidInput
            }
            // Non-finite outputs included: the model's fault.
            _ => EmbedErrorKind::Model,
        };
        EmbedError::with_kind(kind, e)
    }
}

/// An image network through the seam: files in, pooled features out, decoding of the next
/// batch overlapping inference of the current one ([`ImageModel::run_files`]).
impl ImageEmbedder for ImageModel {
    fn dimensions(&self) -> usize {
        ImageModel::dimensions(self)
    }

    fn embed_files(
        &self,
        paths: &[PathBuf],
        batch_size: usize,
        on_batch: &mut dyn FnMut(usize, Vec<Vec<f32>>) -> Result<(), EmbedError>,
    ) -> Result<(), EmbedError> {
        let dim = ImageModel::dimensions(self);
        // The caller's error stops the pipeline; it is kept here and returned as itself.
        let mut stopped = None;
        let run = self.run_files(paths, batch_size, |first, out| {
            let vectors = out
                .embedding
                .chunks_exact(dim)
                .map(<[f32]>::to_vec)
                .collect();
            on_batch(first, vectors).map_err(|e| {
                let message = e.to_string();
                stopped = Some(e);
                Error::InvalidInput(message)
            })
        });
        match stopped {
            Some(e) => Err(e),
            None => Ok(run?),
        }
    }
}
