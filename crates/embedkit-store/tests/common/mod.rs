//! What every store test shares: the repository root, and the backends to run against.
#![allow(dead_code)]

pub use embedkit_store::testing::{fresh_store, store_urls};
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
