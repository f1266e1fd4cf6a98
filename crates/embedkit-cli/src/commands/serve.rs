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

/// The names of one `--served-model-name`: comma-separated aliases, each trimmed. Empty ones
/// are kept so that the server rejects them with the rest of the name checks.
fn aliases(names: &str) -> Vec<String> {
    names.split(',').map(|n| n.trim().to_string()).collect()
}

/// glibc's malloc serves allocations under its mmap threshold from its heaps, and raises the
/// threshold (up to 32 MiB) each time a larger block is freed: after a few forward passes and
/// request bodies, freed buffers of megabytes stay in the process, and its memory grows past
/// what the admission budgets bound (in the overload test: 417 MiB at its peak instead of
/// 254). A fixed threshold keeps buffers of 1 MiB and more mapped and unmapped as they come
/// and go. The threshold is read from `GLIBC_TUNABLES` when the process starts, so `serve`
/// starts itself once more with it set (the same process id), unless it is set already.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_threshold() {
    use std::os::unix::process::CommandExt;
    const TUNABLE: &str = "glibc.malloc.mmap_threshold";
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains(TUNABLE) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let setting = format!("{TUNABLE}=1048576");
    let tunables = if current.is_empty() {
        setting
    } else {
        format!("{current}:{setting}")
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .exec();
    // Only reached when the exec failed: serve as this process is.
    tracing::warn!("cannot restart with a fixed malloc threshold: {error}");
}

pub fn run(a: ServeArgs) -> Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fix_malloc_threshold();
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
            served_names: match a.served_model_name.get(i) {
                Some(names) => aliases(names),
                None => vec![default_served_name(spec)],
            },
        })
        .collect();
    // An empty key (e.g. EMBEDKIT_API_KEY= in the environment) means no key; a blank one
    // could never match, since the presented key is trimmed.
    let api_key = a.api_key.filter(|k| !k.is_empty());
    if api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        bail!("--api-key is blank: give a key, or none to serve without one");
    }
    let config = ServerConfig {
        models,
        host: a.host,
        port: a.port,
        api_key,
        max_batch_tokens: a.max_batch_tokens,
        max_client_batch: a.max_client_batch,
        max_request_tokens: a.max_request_tokens,
        max_request_pixels: a.max_request_pixels,
        max_concurrent_requests: a.max_concurrent_requests,
        max_body_bytes: a.max_body_mb.saturating_mul(1 << 20),
        max_inflight_tokens: a.max_inflight_tokens,
        max_inflight_pixels: a.max_inflight_pixels,
        max_inflight_body_bytes: a.max_inflight_body_mb.saturating_mul(1 << 20),
        allow_empty: a.allow_empty,
        cors_allow_origin: a.cors_allow_origin,
        upstream: embedkit_models::RemoteOptions {
            base_url: a.upstream_base_url,
            api_key_env: Some(a.upstream_api_key_env),
        },
        cache_entries: a.cache_entries,
        precision: a.precision,
        store: a.store,
    };
    embedkit_server::run(config)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::aliases;

    #[test]
    fn served_model_names_split_on_commas() {
        assert_eq!(
            aliases("text-embedding-3-large, text-embedding-3-small"),
            ["text-embedding-3-large", "text-embedding-3-small"]
        );
        assert_eq!(aliases("one"), ["one"]);
        assert_eq!(aliases("a,,b"), ["a", "", "b"]);
    }
}
