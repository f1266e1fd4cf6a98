//! Model ids → local folders: a local path is used as it is; `org/name[@revision]` is fetched
//! from a Hugging Face-compatible hub into the standard cache, so Python tools and embedkit
//! share downloads.
//!
//! Honours the variables `huggingface_hub` reads: `HF_ENDPOINT` (mirrors such as
//! hf-mirror.com), `HF_HOME` / `HF_HUB_CACHE` (cache location), `HF_HUB_OFFLINE` (never touch
//! the network, use the cache), `HF_TOKEN` (private models).
//!
//! Cache layout (as `huggingface_hub`): `models--org--name/blobs/<sha256>`,
//! `snapshots/<commit>/<file>` symlinks into the blobs, `refs/<revision>` holding the commit.

use crate::error::{Error, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where and how to reach the hub.
#[derive(Debug, Clone)]
pub struct Hub {
    /// Base URL, without a trailing slash.
    pub endpoint: String,
    /// The `hub` cache folder.
    pub cache: PathBuf,
    /// Never use the network.
    pub offline: bool,
    /// Bearer token for private repositories.
    pub token: Option<String>,
}

#[derive(Deserialize)]
struct RepoInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
}

fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name)
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str(),
        "1" | "true" | "yes" | "on"
    )
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Hub {
    /// Settings from the environment, with `huggingface_hub`'s defaults.
    pub fn from_env() -> Self {
        let cache = non_empty_env("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| non_empty_env("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
            .or_else(|| {
                non_empty_env("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("huggingface/hub"))
            })
            .unwrap_or_else(|| {
                let home = non_empty_env("HOME").unwrap_or_else(|| ".".into());
                PathBuf::from(home).join(".cache/huggingface/hub")
            });
        Self {
            endpoint: non_empty_env("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".into())
                .trim_end_matches('/')
                .to_string(),
            cache,
            offline: env_flag("HF_HUB_OFFLINE"),
            token: non_empty_env("HF_TOKEN"),
        }
    }

    /// Resolves a model spec to a local folder, downloading it if needed.
    pub fn resolve(&self, spec: &str) -> Result<PathBuf> {
        let path = Path::new(spec);
        if path.exists() {
            return Ok(path.to_path_buf());
        }
        let Some((repo, revision)) = parse_repo_id(spec) else {
            return Err(Error::MissingFolder(path.to_path_buf()));
        };
        let repo_dir = self
            .cache
            .join(format!("models--{}", repo.replace('/', "--")));
        if self.offline {
            return cached_snapshot(&repo_dir, revision).ok_or_else(|| {
                Error::Hub(format!(
                    "HF_HUB_OFFLINE is set and {repo} (revision {revision}) is not in the cache {}",
                    self.cache.display()
                ))
            });
        }
        match self.download(repo, revision, &repo_dir) {
            Ok(dir) => Ok(dir),
            Err(e) => match cached_snapshot(&repo_dir, revision) {
                Some(dir) => {
                    tracing::warn!("{e}; using the cached copy of {repo}");
                    Ok(dir)
                }
                None => Err(e),
            },
        }
    }

    fn agent(&self) -> ureq::Agent {
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(60))
            .build()
    }

    fn get(&self, agent: &ureq::Agent, url: &str) -> Result<ureq::Response> {
        let mut req = agent.get(url);
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        req.call().map_err(|e| match e {
            ureq::Error::Status(401 | 403, _) => Error::Hub(format!(
                "{url}: access denied (set HF_TOKEN for private or gated models)"
            )),
            ureq::Error::Status(404, _) => Error::Hub(format!("{url}: not found on the hub")),
            other => Error::Hub(format!("{url}: {other}")),
        })
    }

    fn download(&self, repo: &str, revision: &str, repo_dir: &Path) -> Result<PathBuf> {
        let agent = self.agent();
        let info_url = format!("{}/api/models/{repo}/revision/{revision}", self.endpoint);
        let info: RepoInfo = self
            .get(&agent, &info_url)?
            .into_string()
            .map_err(|e| Error::Hub(format!("{info_url}: {e}")))
            .and_then(|body| {
                serde_json::from_str(&body)
                    .map_err(|e| Error::Hub(format!("{info_url}: unexpected answer: {e}")))
            })?;
        if !is_safe_component(&info.sha) {
            return Err(Error::Hub(format!(
                "{info_url}: bad commit id {:?}",
                info.sha
            )));
        }
        let snapshot = repo_dir.join("snapshots").join(&info.sha);
        let blobs = repo_dir.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
        let files: Vec<&str> = info
            .siblings
            .iter()
            .map(|s| s.rfilename.as_str())
            .filter(|f| is_needed(f))
            .collect();
        if !files.contains(&"config.json") {
            return Err(Error::Hub(format!(
                "{repo} has no config.json: not a transformers model"
            )));
        }
        for file in files {
            let target = snapshot.join(file);
            if target.exists() {
                continue;
            }
            let url = format!("{}/{repo}/resolve/{}/{file}", self.endpoint, info.sha);
            tracing::info!("downloading {url}");
            let blob = fetch_blob(self.get(&agent, &url)?, &blobs)
                .map_err(|e| Error::Hub(format!("{url}: {e}")))?;
            link_into_snapshot(&blob, &target)?;
        }
        let refs = repo_dir.join("refs");
        std::fs::create_dir_all(&refs).map_err(|e| Error::io(&refs, e))?;
        std::fs::write(refs.join(revision), &info.sha).map_err(|e| Error::io(&refs, e))?;
        Ok(snapshot)
    }
}

/// Resolves with [`Hub::from_env`].
pub fn resolve(spec: &str) -> Result<PathBuf> {
    Hub::from_env().resolve(spec)
}

fn is_safe_component(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `org/name` or `org/name@revision`, each part a plain name.
fn parse_repo_id(spec: &str) -> Option<(&str, &str)> {
    let (repo, revision) = spec.split_once('@').unwrap_or((spec, "main"));
    let (org, name) = repo.split_once('/')?;
    (is_safe_component(org) && is_safe_component(name) && is_safe_component(revision))
        .then_some((repo, revision))
}

/// Files a sentence-embedding model needs: configs, tokenizer files and safetensors weights;
/// not ONNX/OpenVINO exports or pickled duplicates of the weights.
fn is_needed(file: &str) -> bool {
    if file.split('/').any(|part| !is_safe_component(part)) {
        return false;
    }
    if file.starts_with("onnx/") || file.starts_with("openvino/") {
        return false;
    }
    let name = file.rsplit('/').next().unwrap_or(file);
    name.ends_with(".json")
        || name == "vocab.txt"
        || name == "merges.txt"
        || name.ends_with(".jinja")
        || name == "model.safetensors"
}

fn cached_snapshot(repo_dir: &Path, revision: &str) -> Option<PathBuf> {
    let commit = std::fs::read_to_string(repo_dir.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    let dir = repo_dir.join("snapshots").join(commit);
    dir.join("config.json").is_file().then_some(dir)
}

/// Streams a response into `blobs/<sha256>` through a temporary file, so an interrupted
/// download never leaves a partial blob behind.
fn fetch_blob(response: ureq::Response, blobs: &Path) -> std::io::Result<PathBuf> {
    let expected_len: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    let tmp = blobs.join(format!(".incomplete-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    let mut reader = response.into_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])?;
        total += n as u64;
    }
    file.sync_all()?;
    if let Some(len) = expected_len {
        if len != total {
            let _ = std::fs::remove_file(&tmp);
            return Err(std::io::Error::other(format!(
                "download ended after {total} of {len} bytes"
            )));
        }
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let blob = blobs.join(hash);
    std::fs::rename(&tmp, &blob)?;
    Ok(blob)
}

fn link_into_snapshot(blob: &Path, target: &Path) -> Result<()> {
    let parent = target.parent().expect("snapshot files have a parent");
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    #[cfg(unix)]
    {
        // Relative link, as huggingface_hub makes: ../../blobs/<hash> (one more ../ per
        // sub-folder of the file inside the snapshot).
        let snapshots_depth = target
            .strip_prefix(
                blob.parent()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new("")),
            )
            .map(|rel| rel.components().count() - 1)
            .unwrap_or(2);
        let mut rel = PathBuf::new();
        for _ in 0..snapshots_depth {
            rel.push("..");
        }
        rel.push("blobs");
        rel.push(blob.file_name().expect("blob has a name"));
        std::os::unix::fs::symlink(&rel, target).map_err(|e| Error::io(target, e))
    }
    #[cfg(not(unix))]
    {
        std::fs::copy(blob, target)
            .map(|_| ())
            .map_err(|e| Error::io(target, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_are_recognized_and_paths_are_not() {
        assert_eq!(
            parse_repo_id("sentence-transformers/all-MiniLM-L6-v2"),
            Some(("sentence-transformers/all-MiniLM-L6-v2", "main"))
        );
        assert_eq!(
            parse_repo_id("BAAI/bge-small-en@v1.5"),
            Some(("BAAI/bge-small-en", "v1.5"))
        );
        assert_eq!(parse_repo_id("./models/x"), None);
        assert_eq!(parse_repo_id("a/b/c"), None);
        assert_eq!(parse_repo_id("../etc"), None);
    }

    #[test]
    fn only_model_files_are_downloaded() {
        for f in [
            "config.json",
            "1_Pooling/config.json",
            "model.safetensors",
            "vocab.txt",
        ] {
            assert!(is_needed(f), "{f}");
        }
        for f in [
            "pytorch_model.bin",
            "onnx/model.onnx",
            "README.md",
            "../x.json",
        ] {
            assert!(!is_needed(f), "{f}");
        }
    }
}
