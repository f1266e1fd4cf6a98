//! Distillation of a sentence-embedding model into a static one, Model2Vec's recipe: every
//! token of the vocabulary ([`vocabulary`]) goes through the transformer alone, wrapped in the
//! tokenizer's special tokens, and its token vectors are averaged; PCA ([`pca`]) reduces the
//! table; each row is scaled by its SIF weight `a / (a + p)`, with `p` the token's Zipf
//! probability estimated from its rank (the vocabulary's order); the folder written is in
//! Model2Vec's format (`model.safetensors` with `embeddings`, `tokenizer.json`,
//! `config.json`, and `modules.json` for sentence-transformers), which
//! [`crate::static_embedding`] loads.

mod pca;
mod vocabulary;

use crate::embedder::SentenceEmbedder;
use crate::error::{Error, Result};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::Path;

/// How to distill.
#[derive(Debug, Clone, PartialEq)]
pub struct DistillOptions {
    /// Width of the static vectors (PCA components); `None` keeps the model's width without
    /// PCA. Model2Vec's default is 256.
    pub dims: Option<usize>,
    /// SIF coefficient `a` (Model2Vec: 1e-4); `None` leaves rows unweighted.
    pub sif_coefficient: Option<f64>,
    /// Store the table as float16 (Model2Vec's default) instead of float32.
    pub float16: bool,
    /// Tokens per forward pass.
    pub batch_size: usize,
    /// Words to add to the vocabulary (Model2Vec's `vocabulary=`; WordPiece and WordLevel
    /// tokenizers).
    pub extra_words: Vec<String>,
}

impl Default for DistillOptions {
    fn default() -> Self {
        Self {
            dims: Some(256),
            sif_coefficient: Some(1e-4),
            float16: true,
            batch_size: 256,
            extra_words: Vec::new(),
        }
    }
}

/// What a distillation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distilled {
    /// Rows of the table (tokens kept).
    pub tokens: usize,
    /// Width of the vectors.
    pub dims: usize,
}

/// Distills `model` into a static model in `output` (created if needed), calling
/// `progress(done, total)` after each batch of tokens.
pub fn distill(
    model: &SentenceEmbedder,
    output: &Path,
    options: &DistillOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Distilled> {
    if options.batch_size == 0 || options.dims == Some(0) {
        return Err(Error::InvalidInput(
            "batch size and dimensions must be at least 1".into(),
        ));
    }
    if let Some(a) = options.sif_coefficient {
        if !(a > 0.0 && a < 1.0) {
            return Err(Error::InvalidInput(format!(
                "the SIF coefficient must be between 0 and 1 (exclusive), got {a}"
            )));
        }
    }
    let folder = model.folder();
    let mut vocab = vocabulary::prune(&folder.transformer_dir.join("tokenizer.json"))?;
    vocabulary::extend(&mut vocab, &options.extra_words, model.tokenizer())?;
    // Each token as the model reads it alone: a vocabulary entry between the special tokens,
    // an added word as the tokenizer encodes its text.
    let mut sequences = vocab
        .kept
        .iter()
        .map(|&id| model.tokenizer().wrap_single(id))
        .collect::<Result<Vec<_>>>()?;
    let added: Vec<&str> = vocab.added.iter().map(String::as_str).collect();
    sequences.extend(
        model
            .tokenizer()
            .encode_batch(&added, "")?
            .into_iter()
            .map(|e| e.ids),
    );
    let total = sequences.len();
    if total == 0 {
        return Err(Error::InvalidInput("the vocabulary is empty".into()));
    }
    let mut table = Vec::new();
    let mut done = 0;
    for chunk in sequences.chunks(options.batch_size) {
        for row in model.mean_token_states(chunk)? {
            // As Model2Vec's `nan_to_num`: a broken row must not poison the PCA.
            table.extend(row.into_iter().map(|v| if v.is_nan() { 0.0 } else { v }));
        }
        done += chunk.len();
        progress(done, total);
    }
    let width = table.len() / total;
    // Model2Vec: no wider than the model; no PCA when there are not more tokens than
    // components.
    let dims = options.dims.map(|d| d.min(width));
    let (mut table, dims) = match dims {
        Some(d) if d < total => (pca::project(&table, total, width, d), d),
        _ => (table, width),
    };
    if let Some(a) = options.sif_coefficient {
        // Zipf: p(rank r) ∝ 1 / r, ranks from 2 (Model2Vec's `np.arange(2, n + 2)`).
        let norm: f64 = (0..total).map(|i| 1.0 / (i as f64 + 2.0)).sum();
        for (i, row) in table.chunks_exact_mut(dims).enumerate() {
            let p = 1.0 / (i as f64 + 2.0) / norm;
            let w = (a / (a + p)) as f32;
            row.iter_mut().for_each(|v| *v *= w);
        }
    }
    write_folder(
        output,
        &vocab.tokenizer,
        &table,
        total,
        dims,
        options,
        &folder.root,
    )?;
    Ok(Distilled {
        tokens: total,
        dims,
    })
}

fn write_folder(
    output: &Path,
    tokenizer: &serde_json::Value,
    table: &[f32],
    rows: usize,
    dims: usize,
    options: &DistillOptions,
    source: &Path,
) -> Result<()> {
    std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let bytes: Vec<u8> = if options.float16 {
        table
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect()
    } else {
        table.iter().flat_map(|v| v.to_le_bytes()).collect()
    };
    let dtype = if options.float16 {
        Dtype::F16
    } else {
        Dtype::F32
    };
    let weights = output.join("model.safetensors");
    let view = TensorView::new(dtype, vec![rows, dims], &bytes)
        .map_err(|e| Error::weights(&weights, e.to_string()))?;
    safetensors::serialize_to_file([("embeddings", view)], None, &weights)
        .map_err(|e| Error::weights(&weights, e.to_string()))?;
    let config = serde_json::json!({
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": source.display().to_string(),
        "apply_pca": options.dims,
        "sif_coefficient": options.sif_coefficient,
        "hidden_dim": dims,
        "seq_length": 1_000_000,
        "normalize": true,
        "pooling": "mean",
        "max_length": 512,
        "embedding_dtype": if options.float16 { "float16" } else { "float32" },
    });
    let modules = serde_json::json!([
        {"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"},
        {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"}
    ]);
    for (name, value) in [
        ("tokenizer.json", tokenizer),
        ("config.json", &config),
        ("modules.json", &modules),
    ] {
        let path = output.join(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| Error::config(&path, e))?;
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
