//! Where the Python classes find models: the CLI's hub settings (`HF_*` variables), with the
//! sentence-transformers arguments that override them (`cache_folder`, `token`,
//! `local_files_only`).

use embedkit_models::hub::Hub;
use std::path::PathBuf;

/// The hub from the environment, with the caller's overrides.
pub fn with_overrides(cache_folder: Option<PathBuf>, token: Option<String>, offline: bool) -> Hub {
    let mut hub = Hub::from_env();
    if let Some(cache) = cache_folder {
        hub.cache = cache;
    }
    if token.is_some() {
        hub.token = token;
    }
    hub.offline |= offline;
    hub
}
