//! Image collections: one document per image file, embedded by an image model (any
//! [`ImageEmbedder`], e.g. `embedkit-vision`'s ResNet, VGG, MobileNetV2) and searched with an
//! image. A thin layer
//! over [`Store::upsert`] and [`Store::search_vector`]: an image is a document with a single
//! chunk whose text is its id (the relative path), so keyword search finds file names too.

use crate::collection::{Collection, Distance, Modality, Storage};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::rag::{same_model, IngestProgress};
use crate::store::{Hit, Store, StoredChunk, StoredDocument};
use embedkit_core::ImageEmbedder;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File extensions read as images when folders are walked.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp"];

/// An image model together with the spec it was loaded from (what collections record).
#[derive(Clone)]
pub struct ImageStoreModel {
    /// The spec: a weights file or a folder holding one.
    pub spec: String,
    /// The loaded model, with its preprocessing.
    pub model: Arc<dyn ImageEmbedder>,
}

impl ImageStoreModel {
    /// The image model loaded from `spec`.
    pub fn new(spec: &str, model: Arc<dyn ImageEmbedder>) -> Self {
        Self {
            spec: spec.to_string(),
            model,
        }
    }

    /// The settings of a new image collection for this model (cosine unless asked).
    pub fn collection(
        &self,
        name: &str,
        distance: Option<Distance>,
        storage: Storage,
    ) -> Result<Collection> {
        let distance = distance.unwrap_or(Distance::Cosine);
        Ok(Collection {
            name: name.to_string(),
            model: self.spec.clone(),
            dimensions: self.model.dimensions(),
            // Pooled CNN features are not unit length; only cosine normalizes them.
            normalized: distance == Distance::Cosine,
            distance,
            storage,
            modality: Modality::Image,
        })
    }

    fn check(&self, spec: &Collection) -> Result<()> {
        spec.check_modality(Modality::Image)?;
        if !same_model(&spec.model, &self.spec) {
            return Err(Error::CollectionMismatch {
                name: spec.name.clone(),
                field: "model",
                existing: spec.model.clone(),
                requested: self.spec.clone(),
            });
        }
        if spec.dimensions != self.model.dimensions() {
            return Err(Error::Dimensions {
                collection: spec.name.clone(),
                expected: spec.dimensions,
                got: self.model.dimensions(),
            });
        }
        Ok(())
    }
}

/// An image to index.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDocument {
    /// Unique within the collection: the path relative to the folder given (or the path as
    /// given for a file), with `/` separators.
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// `{"path": ...}`, plus `"label"` when labels come from folder names.
    pub metadata: serde_json::Value,
}

/// Whether `path` has an image file extension.
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The images of `paths` (files, or folders walked in name order for image files). With
/// `label_from_folder`, each image's metadata gets `"label"`: the name of the folder it is in
/// (the usual layout of labelled image sets, `train/cat/001.png`).
pub fn read_images(paths: &[PathBuf], label_from_folder: bool) -> Result<Vec<ImageDocument>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files)?;
            for f in files {
                let rel = f.strip_prefix(p).unwrap_or(&f);
                let id = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(document(id, f, label_from_folder));
            }
        } else if p.is_file() {
            out.push(document(
                p.display().to_string(),
                p.clone(),
                label_from_folder,
            ));
        } else {
            return Err(Error::Io {
                path: p.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = out.iter().find(|d| !seen.insert(d.id.as_str())) {
        return Err(Error::InvalidInput(format!(
            "two images have the id {:?}; index the folders separately or into other collections",
            d.id
        )));
    }
    Ok(out)
}

fn document(id: String, path: PathBuf, label_from_folder: bool) -> ImageDocument {
    let mut metadata = serde_json::json!({ "path": path.display().to_string() });
    let label = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if let (true, Some(label)) = (label_from_folder, label) {
        metadata["label"] = label.into();
    }
    ImageDocument { id, path, metadata }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out)?;
        } else if is_image_file(&e) {
            out.push(e);
        }
    }
    Ok(())
}

/// What decides an image's vector: its bytes and its metadata.
fn content_hash(d: &ImageDocument) -> Result<String> {
    let bytes = std::fs::read(&d.path).map_err(|source| Error::Io {
        path: d.path.display().to_string(),
        source,
    })?;
    let mut h = Sha256::new();
    h.update(&bytes);
    h.update([0]);
    h.update(d.metadata.to_string().as_bytes());
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl Store {
    /// Embeds and upserts `images` into the image collection `collection`, `batch_size`
    /// images per forward pass and per transaction; images whose bytes and metadata are
    /// unchanged are skipped. Decoding of the next batch overlaps inference of the current
    /// one. Calls `on_batch` after each commit (counts as for [`Store::add_documents`]).
    pub fn add_images(
        &self,
        collection: &str,
        images: &[ImageDocument],
        model: &ImageStoreModel,
        batch_size: usize,
        mut on_batch: impl FnMut(&IngestProgress),
    ) -> Result<IngestProgress> {
        model.check(&self.collection(collection)?)?;
        if batch_size == 0 {
            return Err(Error::InvalidInput("batch size must be at least 1".into()));
        }
        let mut progress = IngestProgress::default();
        // (input index, hash) of the images to embed, in input order.
        let mut todo: Vec<(usize, String)> = Vec::new();
        for (g, group) in images.chunks(batch_size).enumerate() {
            let ids: Vec<&str> = group.iter().map(|d| d.id.as_str()).collect();
            let stored = self.hashes(collection, &ids)?;
            for (i, d) in group.iter().enumerate() {
                let hash = content_hash(d)?;
                if stored.get(&d.id) == Some(&hash) {
                    progress.skipped += 1;
                } else {
                    todo.push((g * batch_size + i, hash));
                }
            }
        }
        let paths: Vec<PathBuf> = todo.iter().map(|(i, _)| images[*i].path.clone()).collect();
        // A store failure stops the pipeline; it is kept here and returned as itself.
        let mut failed: Option<Error> = None;
        let run = model
            .model
            .embed_files(&paths, batch_size, &mut |first, vectors| {
                let batch = &todo[first..first + vectors.len()];
                let docs: Vec<StoredDocument> = batch
                    .iter()
                    .zip(vectors)
                    .map(|((i, hash), vector)| StoredDocument {
                        id: images[*i].id.clone(),
                        hash: hash.clone(),
                        metadata: images[*i].metadata.clone(),
                        chunks: vec![StoredChunk {
                            text: images[*i].id.clone(),
                            vector,
                        }],
                    })
                    .collect();
                if let Err(e) = self.upsert(collection, &docs) {
                    failed = Some(e);
                    return Err(embedkit_core::EmbedError::stopped());
                }
                progress.written += docs.len();
                progress.chunks += docs.len();
                // Every input up to the last one written is now stored (or was unchanged).
                progress.processed = batch.last().map_or(0, |(i, _)| i + 1);
                on_batch(&progress);
                Ok(())
            });
        if let Some(e) = failed {
            return Err(e);
        }
        run?;
        if progress.processed < images.len() {
            progress.processed = images.len();
            on_batch(&progress);
        }
        Ok(progress)
    }

    /// The `k` nearest images of the image collection `collection` to each of `queries`
    /// (image files, embedded `batch_size` at a time), in query order.
    pub fn search_images(
        &self,
        collection: &str,
        model: &ImageStoreModel,
        queries: &[PathBuf],
        k: usize,
        filter: &Filter,
        batch_size: usize,
    ) -> Result<Vec<Vec<Hit>>> {
        model.check(&self.collection(collection)?)?;
        let mut vectors = Vec::with_capacity(queries.len());
        model
            .model
            .embed_files(queries, batch_size.max(1), &mut |_, batch| {
                vectors.extend(batch);
                Ok(())
            })?;
        vectors
            .iter()
            .map(|q| self.search_vector(collection, q, k, filter))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_give_relative_ids_and_folder_labels() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cat")).unwrap();
        std::fs::create_dir_all(dir.path().join("狗")).unwrap();
        std::fs::write(dir.path().join("cat/1.PNG"), b"x").unwrap();
        std::fs::write(dir.path().join("狗/2.jpg"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let docs = read_images(&[dir.path().to_path_buf()], true).unwrap();
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["cat/1.PNG", "狗/2.jpg"]);
        assert_eq!(docs[0].metadata["label"], "cat");
        assert_eq!(docs[1].metadata["label"], "狗");
        assert_eq!(
            docs[1].metadata["path"],
            dir.path().join("狗/2.jpg").display().to_string()
        );
        let plain = read_images(&[dir.path().to_path_buf()], false).unwrap();
        assert!(plain[0].metadata.get("label").is_none());
        let twice = read_images(&[dir.path().to_path_buf(), dir.path().to_path_buf()], false);
        assert!(twice.unwrap_err().to_string().contains("two images"));
    }
}
