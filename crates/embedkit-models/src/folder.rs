//! What a sentence-transformers / Hugging Face model folder says, resolved the way
//! sentence-transformers resolves it.
//!
//! Two layouts exist side by side on the hub: the legacy one (ST ≤ 5: `sentence_transformers.
//! models.X` module types, boolean `pooling_mode_*` keys, `max_seq_length` in
//! `sentence_bert_config.json`) and ST 6's (`sentence_transformers.base.modules...` types,
//! `"pooling_mode": "cls"`, `max_seq_length` stored as `model_max_length` in
//! `tokenizer_config.json`). Module types are matched by their last path component, so both
//! load. A plain transformers folder (no `modules.json`) gets mean pooling and says so.

use crate::error::{Error, Result};
use crate::pooling::{Pooling, PoolingMode};
use embedkit_core::Similarity;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The resolved description of a model folder: everything except weights and tokenizer.
#[derive(Debug, Clone)]
pub struct ModelFolder {
    /// The folder itself.
    pub root: PathBuf,
    /// Folder of the Transformer module (holds config.json, tokenizer.json, weights).
    pub transformer_dir: PathBuf,
    /// Token limit per input, special tokens and prompt included.
    pub max_seq_length: usize,
    /// Lowercase texts before tokenizing (`sentence_bert_config.json`).
    pub do_lower_case: bool,
    /// How token vectors become one vector.
    pub pooling: Pooling,
    /// `Dense` modules after pooling, in order (their folders).
    pub dense_dirs: Vec<PathBuf>,
    /// Whether the pipeline ends with a `Normalize` module.
    pub normalize: bool,
    /// Named prompts from `config_sentence_transformers.json`.
    pub prompts: BTreeMap<String, String>,
    /// Prompt applied when the caller names none.
    pub default_prompt_name: Option<String>,
    /// The model's similarity function.
    pub similarity: Similarity,
    /// The parsed `config.json` of the transformer.
    pub hf_config: Value,
    /// `padding_side` of `tokenizer_config.json` (`left` for Qwen3-Embedding). embedkit packs
    /// batches without padding, so it only matters to tools that pad.
    pub padding_side: String,
    /// Facts about defaults that were guessed rather than read (shown by `embedkit info`).
    pub notes: Vec<String>,
    /// A static model (Model2Vec's `config.json`, or a sentence-transformers
    /// `StaticEmbedding` module): a token table instead of a transformer, see
    /// [`crate::static_embedding`].
    pub static_embedding: bool,
}

/// Model2Vec's default token limit, when its `config.json` names none.
const MODEL2VEC_MAX_LENGTH: usize = 512;

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, Default)]
struct SbertConfig {
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
    modality_config: Option<Value>,
}

#[derive(Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: BTreeMap<String, String>,
    default_prompt_name: Option<String>,
    similarity_fn_name: Option<String>,
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::config(path, e))
}

fn read_json_if_exists<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    if path.is_file() {
        read_json(path)
    } else {
        Ok(T::default())
    }
}

/// The last component of a dotted Python class path.
fn module_class(kind: &str) -> &str {
    kind.rsplit('.').next().unwrap_or(kind)
}

impl ModelFolder {
    /// Reads the folder's configuration files.
    pub fn read(root: &Path) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::MissingFolder(root.to_path_buf()));
        }
        let mut notes = Vec::new();
        let modules_path = root.join("modules.json");
        let modules: Vec<ModuleEntry> = if modules_path.is_file() {
            read_json(&modules_path)?
        } else {
            notes.push(
                "no modules.json: a plain transformers folder, using mean pooling without normalization"
                    .to_string(),
            );
            Vec::new()
        };

        let mut transformer_dir = root.to_path_buf();
        let mut pooling = None;
        let mut dense_dirs = Vec::new();
        let mut normalize = false;
        let mut static_module = false;
        for m in &modules {
            let dir = root.join(&m.path);
            match module_class(&m.kind) {
                "Transformer" => transformer_dir = dir,
                "StaticEmbedding" => {
                    transformer_dir = dir;
                    static_module = true;
                }
                "Pooling" => pooling = Some(read_pooling(&dir.join("config.json"))?),
                "Dense" => dense_dirs.push(dir),
                "Normalize" => normalize = true,
                other => {
                    return Err(Error::config(
                        &modules_path,
                        format!("module type {other} is not supported"),
                    ))
                }
            }
        }

        let config_path = transformer_dir.join("config.json");
        let hf_config: Value = if config_path.is_file() {
            read_json(&config_path)?
        } else if static_module {
            // sentence-transformers' StaticEmbedding folder: a table and a tokenizer only.
            Value::Null
        } else {
            return Err(Error::MissingFile {
                path: config_path,
                why: "it describes the transformer architecture",
            });
        };
        let model2vec = hf_config.get("model_type").and_then(Value::as_str) == Some("model2vec");
        if model2vec && modules.is_empty() {
            // The note about a plain transformers folder does not apply.
            notes.clear();
        }
        if model2vec {
            // Model2Vec's own reading: its config decides normalization, whatever the
            // modules say.
            normalize = hf_config
                .get("normalize")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        let sbert: SbertConfig =
            read_json_if_exists(&transformer_dir.join("sentence_bert_config.json"))?;
        if let Some(mc) = &sbert.modality_config {
            if mc.get("message").is_some() && mc.get("text").is_none() {
                return Err(Error::config(
                    transformer_dir.join("sentence_bert_config.json"),
                    "the chat-template (\"message\") modality is not supported; use a text modality",
                ));
            }
        }
        let tokenizer_config: Value =
            read_json_if_exists::<Option<Value>>(&transformer_dir.join("tokenizer_config.json"))?
                .unwrap_or(Value::Null);
        let static_embedding = static_module || model2vec;
        let max_seq_length = if static_embedding {
            // `"max_length": null` turns truncation off; no key means Model2Vec's default.
            match hf_config.get("max_length") {
                Some(Value::Null) => usize::MAX,
                Some(n) => n.as_u64().filter(|&n| n >= 2).ok_or_else(|| {
                    Error::config(
                        &config_path,
                        "max_length must be a number of tokens (≥ 2) or null",
                    )
                })? as usize,
                None => MODEL2VEC_MAX_LENGTH,
            }
        } else {
            resolve_max_seq_length(&sbert, &tokenizer_config, &hf_config)
        };

        let hidden = hf_config
            .get("hidden_size")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let pooling = match pooling {
            Some(p) => p,
            None => {
                if !modules.is_empty() && !static_module {
                    notes.push("modules.json has no Pooling module: using mean pooling".into());
                }
                Pooling {
                    modes: vec![PoolingMode::Mean],
                    dimension: hidden,
                    include_prompt: true,
                }
            }
        };

        let st: StConfig = read_json_if_exists(&root.join("config_sentence_transformers.json"))?;
        let similarity = match &st.similarity_fn_name {
            Some(name) => name
                .parse()
                .map_err(|e| Error::config(root.join("config_sentence_transformers.json"), e))?,
            None => Similarity::Cosine,
        };
        if let Some(name) = &st.default_prompt_name {
            if !st.prompts.contains_key(name) {
                return Err(Error::config(
                    root.join("config_sentence_transformers.json"),
                    format!("default_prompt_name {name:?} is not among the prompts"),
                ));
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            transformer_dir,
            max_seq_length,
            do_lower_case: sbert.do_lower_case,
            pooling,
            dense_dirs,
            normalize,
            prompts: st.prompts,
            default_prompt_name: st.default_prompt_name,
            similarity,
            hf_config,
            padding_side: tokenizer_config
                .get("padding_side")
                .and_then(Value::as_str)
                .unwrap_or("right")
                .to_string(),
            notes,
            static_embedding,
        })
    }
}

/// sentence-transformers' order: `sentence_bert_config.json`, then the tokenizer's
/// `model_max_length` (where ST 6 writes it), capped by the position table.
fn resolve_max_seq_length(sbert: &SbertConfig, tokenizer: &Value, hf: &Value) -> usize {
    if let Some(n) = sbert.max_seq_length {
        return n;
    }
    let positions = hf
        .get("max_position_embeddings")
        .and_then(Value::as_u64)
        .map(|p| {
            // RoBERTa-style tables reserve padding_idx + 1 rows before the first position.
            let offset = match hf.get("model_type").and_then(Value::as_str) {
                Some("mpnet" | "roberta" | "xlm-roberta" | "camembert") => 2,
                _ => 0,
            };
            p.saturating_sub(offset) as usize
        });
    let tokenizer_max = tokenizer
        .get("model_max_length")
        .and_then(Value::as_f64)
        .filter(|n| *n >= 1.0 && *n < 1e9)
        .map(|n| n as usize);
    match (tokenizer_max, positions) {
        (Some(t), Some(p)) => t.min(p),
        (Some(t), None) => t,
        (None, Some(p)) => p,
        (None, None) => 512,
    }
}

fn read_pooling(path: &Path) -> Result<Pooling> {
    let v: Value = read_json(path)?;
    let dimension = v
        .get("embedding_dimension")
        .or_else(|| v.get("word_embedding_dimension"))
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::config(path, "no embedding_dimension / word_embedding_dimension"))?
        as usize;
    let include_prompt = v
        .get("include_prompt")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut modes = Vec::new();
    match v.get("pooling_mode") {
        Some(Value::String(s)) => modes.push(
            parse_mode(s)
                .ok_or_else(|| Error::config(path, format!("unknown pooling_mode {s:?}")))?,
        ),
        Some(Value::Array(list)) => {
            for item in list {
                let s = item.as_str().unwrap_or_default();
                modes.push(
                    parse_mode(s).ok_or_else(|| {
                        Error::config(path, format!("unknown pooling_mode {s:?}"))
                    })?,
                );
            }
        }
        _ => {
            // Legacy booleans, concatenated in sentence-transformers' fixed order.
            for (key, mode) in [
                ("pooling_mode_cls_token", PoolingMode::Cls),
                ("pooling_mode_max_tokens", PoolingMode::Max),
                ("pooling_mode_mean_tokens", PoolingMode::Mean),
                (
                    "pooling_mode_mean_sqrt_len_tokens",
                    PoolingMode::MeanSqrtLen,
                ),
                (
                    "pooling_mode_weightedmean_tokens",
                    PoolingMode::WeightedMean,
                ),
                ("pooling_mode_lasttoken", PoolingMode::LastToken),
            ] {
                if v.get(key).and_then(Value::as_bool) == Some(true) {
                    modes.push(mode);
                }
            }
        }
    }
    if modes.is_empty() {
        return Err(Error::config(path, "no pooling mode is enabled"));
    }
    Ok(Pooling {
        modes,
        dimension,
        include_prompt,
    })
}

fn parse_mode(s: &str) -> Option<PoolingMode> {
    Some(match s {
        "cls" | "cls_token" => PoolingMode::Cls,
        "mean" | "mean_tokens" => PoolingMode::Mean,
        "max" | "max_tokens" => PoolingMode::Max,
        "mean_sqrt_len_tokens" | "mean_sqrt_len" => PoolingMode::MeanSqrtLen,
        "weightedmean" | "weightedmean_tokens" => PoolingMode::WeightedMean,
        "lasttoken" | "last_token" => PoolingMode::LastToken,
        _ => return None,
    })
}
