//! `embedkit serve`: resolves the arguments into a server configuration and runs it.

use crate::args::ServeArgs;
use anyhow::{bail, Result};
use embedkit_server::{ModelSpec, ServerConfig};
use std::path::Path;

/// The default served name: a folder's own name, the remote model's name, or the hub id.
fn default_served_name(spec: &str) -> String {
    if let Some(name) = spec.strip_prefix(embedkit_models::REMOTE_PREFIX) {
        return name.to_string();
    }
    let path = Path::new(spec);
    if path.exists() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string())
    } else {
        spec.to_string()
    }
}

pub fn run(a: ServeArgs) -> Result<()> {
    if !a.served_model_name.is_empty() && a.served_model_name.len() != a.model.len() {
        bail!(
            "give one --served-model-name per --model ({} names for {} models)",
            a.served_model_name.len(),
            a.model.len()
        );
    }
    let models = a
        .model
        .iter()
        .enumerate()
        .map(|(i, spec)| ModelSpec {
            spec: spec.clone(),
            served_name: a
                .served_model_name
                .get(i)
                .cloned()
                .unwrap_or_else(|| default_served_name(spec)),
        })
        .collect();
    let config = ServerConfig {
        models,
        host: a.host,
        port: a.port,
        api_key: a.api_key.filter(|k| !k.is_empty()),
        max_batch_tokens: a.max_batch_tokens,
        max_client_batch: a.max_client_batch,
        max_concurrent_requests: a.max_concurrent_requests,
        max_body_bytes: a.max_body_mb << 20,
        allow_empty: a.allow_empty,
        cors_allow_origin: a.cors_allow_origin,
        upstream: embedkit_models::RemoteOptions {
            base_url: a.upstream_base_url,
            api_key_env: Some(a.upstream_api_key_env),
        },
        cache_entries: a.cache_entries,
        precision: a.precision,
        store: a.store,
        ..ServerConfig::default()
    };
    embedkit_server::run(config)?;
    Ok(())
}
