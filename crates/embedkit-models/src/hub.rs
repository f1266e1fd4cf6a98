//! Model ids → local folders: a local path is used as it is; `org/name[@revision]` is fetched
//! from a Hugging Face-compatible hub into the standard cache, so Python tools and embedkit
//! share downloads.
//!
//! Honours the variables `huggingface_hub` reads: `HF_ENDPOINT` (mirrors such as
//! hf-mirror.com), `HF_HOME` / `HF_HUB_CACHE` (cache location), `HF_HUB_OFFLINE` (never touch
//! the network, use the cache), `HF_TOKEN` or the token file `hf auth login` saves
//! (`HF_TOKEN_PATH`, default `$HF_HOME/token`), `HF_HUB_DISABLE_PROGRESS_BARS`,
//! `HF_HUB_DOWNLOAD_TIMEOUT`; and the proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`; see [`ProxySettings`]).
//!
//! Cache layout (as `huggingface_hub`): `models--org--name/blobs/<sha256>`,
//! `snapshots/<commit>/<file>` symlinks into the blobs, `refs/<revision>` holding the commit
//! (`refs/refs/pr/1` for a pull request's revision `refs/pr/1`). A download in progress is
//! `blobs/<key>.part`, resumed where it stopped.

mod blob;
mod client;
mod proxy;

pub use client::Retry;
pub use proxy::ProxySettings;

use crate::error::{Error, Result};
use client::Client;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
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
    /// Bearer token for private repositories (sent to the endpoint's host only).
    pub token: Option<String>,
    /// Proxies, and the hosts reached without them.
    pub proxy: ProxySettings,
    /// Retries after dropped connections, timeouts, 429 and 5xx answers.
    pub retry: Retry,
    /// Draws a progress bar per file on standard error, when it is a terminal.
    pub progress: bool,
    /// Longest wait for the next bytes of an answer.
    pub read_timeout: Duration,
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

fn is_true(value: Option<String>) -> bool {
    matches!(
        value.unwrap_or_default().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl Hub {
    /// Settings from the environment, with `huggingface_hub`'s defaults.
    pub fn from_env() -> Self {
        Self::from_vars(&|name| std::env::var(name).ok())
    }

    /// Settings from the variables `var` returns (the environment for [`Hub::from_env`]).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let hf_home = get("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(get("HOME").unwrap_or_else(|| ".".into())).join(".cache")
                })
                .join("huggingface")
        });
        let cache = get("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let token_path = get("HF_TOKEN_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("token"));
        let token = get("HF_TOKEN").or_else(|| {
            std::fs::read_to_string(&token_path)
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        });
        let read_timeout = get("HF_HUB_DOWNLOAD_TIMEOUT")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(Duration::from_secs(60), Duration::from_secs_f64);
        Self {
            endpoint: get("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".into())
                .trim_end_matches('/')
                .to_string(),
            cache,
            offline: is_true(get("HF_HUB_OFFLINE")),
            token,
            proxy: ProxySettings::from_vars(var),
            retry: Retry::default(),
            progress: !is_true(get("HF_HUB_DISABLE_PROGRESS_BARS")),
            read_timeout,
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

    fn download(&self, repo: &str, revision: &str, repo_dir: &Path) -> Result<PathBuf> {
        let client = Client::new(self)?;
        let info_url = format!(
            "{}/api/models/{repo}/revision/{}",
            self.endpoint,
            encode_revision(revision)
        );
        let body = client.get_text(&info_url)?;
        let info: RepoInfo = serde_json::from_str(&body)
            .map_err(|e| Error::Hub(format!("{info_url}: unexpected answer: {e}")))?;
        if !is_safe_component(&info.sha) {
            return Err(Error::Hub(format!(
                "{info_url}: bad commit id {:?}",
                info.sha
            )));
        }
        let snapshot = repo_dir.join("snapshots").join(&info.sha);
        let blobs = repo_dir.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
        let listed: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
        if !listed.contains(&"config.json") {
            return Err(Error::Hub(format!(
                "{repo} has no config.json: not a transformers model"
            )));
        }
        let fetch = |file: &str| -> Result<()> {
            let target = snapshot.join(file);
            if target.exists() {
                return Ok(());
            }
            let url = format!("{}/{repo}/resolve/{}/{file}", self.endpoint, info.sha);
            tracing::info!("downloading {url}");
            let part = blobs.join(format!("{}.part", part_key(&info.sha, file)));
            let bar = self.progress_bar(file);
            let blob = blob::download(&client, &url, &part, &blobs, bar.as_ref())?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            link_into_snapshot(&blob, &target)
        };
        // Configs and tokenizer first: a weight index among them names the shards to fetch.
        for file in listed.iter().filter(|f| is_config_or_tokenizer(f)) {
            fetch(file)?;
        }
        for file in weight_files(&listed, &snapshot)? {
            fetch(&file)?;
        }
        let ref_file = repo_dir.join("refs").join(revision);
        let refs = ref_file.parent().unwrap_or(repo_dir);
        std::fs::create_dir_all(refs).map_err(|e| Error::io(refs, e))?;
        std::fs::write(&ref_file, &info.sha).map_err(|e| Error::io(&ref_file, e))?;
        Ok(snapshot)
    }

    fn progress_bar(&self, file: &str) -> Option<indicatif::ProgressBar> {
        if !self.progress || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        let style = indicatif::ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .ok()?;
        bar.set_style(style);
        bar.set_message(file.to_string());
        Some(bar)
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

/// `org/name` or `org/name@revision`, each part a plain name; a revision may have several
/// (a branch `release/v2`, a pull request `refs/pr/1`).
fn parse_repo_id(spec: &str) -> Option<(&str, &str)> {
    let (repo, revision) = spec.split_once('@').unwrap_or((spec, "main"));
    let (org, name) = repo.split_once('/')?;
    (is_safe_component(org)
        && is_safe_component(name)
        && revision.split('/').all(is_safe_component))
    .then_some((repo, revision))
}

/// A revision as one path segment of an API URL, as huggingface_hub sends it
/// (`quote(revision, safe="")`: `refs/pr/1` → `refs%2Fpr%2F1`).
fn encode_revision(revision: &str) -> String {
    revision
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The partial download of `file` at `commit`: the same name in every process, so a later
/// run resumes it.
fn part_key(commit: &str, file: &str) -> String {
    Sha256::digest(format!("{commit}/{file}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn file_name(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

fn folder_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Configs and tokenizer files (not ONNX/OpenVINO exports); weight indexes are JSON too.
fn is_config_or_tokenizer(file: &str) -> bool {
    if file.split('/').any(|part| !is_safe_component(part)) {
        return false;
    }
    if file.starts_with("onnx/") || file.starts_with("openvino/") {
        return false;
    }
    let name = file_name(file);
    name.ends_with(".json")
        || name == "vocab.txt"
        || name == "merges.txt"
        || name.ends_with(".jinja")
}

/// The weight files to fetch, folder by folder (the model and its `2_Dense`-style
/// modules), in transformers' order of preference: `model.safetensors`, the shards of
/// `model.safetensors.index.json` (already downloaded into `snapshot`), `pytorch_model.bin`,
/// the shards of `pytorch_model.bin.index.json`. Pickled copies beside safetensors are skipped.
fn weight_files(listed: &[&str], snapshot: &Path) -> Result<Vec<String>> {
    let mut folders: Vec<&str> = listed
        .iter()
        .filter(|f| {
            f.split('/').all(is_safe_component)
                && !f.starts_with("onnx/")
                && !f.starts_with("openvino/")
        })
        .map(|f| folder_of(f))
        .collect();
    folders.sort_unstable();
    folders.dedup();
    let mut out = Vec::new();
    for folder in folders {
        let path = |name: &str| {
            if folder.is_empty() {
                name.to_string()
            } else {
                format!("{folder}/{name}")
            }
        };
        let Some(chosen) = crate::weights::FOLDER_FILES
            .iter()
            .map(|name| path(name))
            .find(|f| listed.contains(&f.as_str()))
        else {
            continue;
        };
        if !chosen.ends_with(".index.json") {
            out.push(chosen);
            continue;
        }
        for shard in crate::weights::shard_names(&snapshot.join(&chosen))? {
            let shard = path(&shard);
            if !listed.contains(&shard.as_str()) {
                return Err(Error::Hub(format!(
                    "{chosen} names the shard {shard}, which the repository does not hold"
                )));
            }
            out.push(shard);
        }
    }
    Ok(out)
}

fn cached_snapshot(repo_dir: &Path, revision: &str) -> Option<PathBuf> {
    let commit = std::fs::read_to_string(repo_dir.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    if !is_safe_component(&commit) {
        return None;
    }
    let dir = repo_dir.join("snapshots").join(commit);
    dir.join("config.json").is_file().then_some(dir)
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
        assert_eq!(
            parse_repo_id("org/model@refs/pr/1"),
            Some(("org/model", "refs/pr/1"))
        );
        assert_eq!(parse_repo_id("./models/x"), None);
        assert_eq!(parse_repo_id("a/b/c"), None);
        assert_eq!(parse_repo_id("../etc"), None);
        assert_eq!(parse_repo_id("org/model@refs/../../x"), None);
        assert_eq!(parse_repo_id("org/model@refs//pr"), None);
    }

    #[test]
    fn revisions_are_one_url_segment() {
        assert_eq!(encode_revision("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(encode_revision("v1.5"), "v1.5");
    }

    #[test]
    fn configs_and_tokenizers_are_fetched_not_exports() {
        for f in ["config.json", "1_Pooling/config.json", "vocab.txt"] {
            assert!(is_config_or_tokenizer(f), "{f}");
        }
        for f in [
            "onnx/model.onnx",
            "onnx/config.json",
            "README.md",
            "../x.json",
        ] {
            assert!(!is_config_or_tokenizer(f), "{f}");
        }
    }

    #[test]
    fn safetensors_are_preferred_folder_by_folder() {
        let snapshot = Path::new("/nonexistent");
        let listed = [
            "config.json",
            "model.safetensors",
            "pytorch_model.bin",
            "2_Dense/config.json",
            "2_Dense/pytorch_model.bin",
            "onnx/model.onnx",
        ];
        assert_eq!(
            weight_files(&listed, snapshot).unwrap(),
            ["model.safetensors", "2_Dense/pytorch_model.bin"]
        );
    }
}
