//! What these tests share: the repository root, the store backends, and models loaded the
//! way the CLI and the server load them, handed to the store through the seam.
#![allow(dead_code)]

pub mod lee;

#[allow(unused_imports)] // each test binary uses its own part of this module
pub use embedkit_store::testing::{fresh_store, store_urls};
use embedkit_store::{ImageStoreModel, StoreModel};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A sentence model (folder under the repository root) as the store sees it.
pub fn text_model(dir: &Path) -> StoreModel {
    let spec = dir.to_str().unwrap();
    let model = embedkit_models::Model::load(spec, &Default::default())
        .unwrap_or_else(|e| panic!("{spec}: {e} (run scripts/fetch-models.sh)"));
    StoreModel::new(spec, Arc::new(model))
}

/// An image network (weights file or folder) as the store sees it.
pub fn image_model(dir: &Path) -> ImageStoreModel {
    let model = embedkit_vision::ImageModel::load(dir, None)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fetch-models.sh)", dir.display()));
    ImageStoreModel::new(dir.to_str().unwrap(), Arc::new(model))
}
