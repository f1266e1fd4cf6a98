//! InferSent (Conneau et al. 2017, "Supervised Learning of Universal Sentence Representations
//! from Natural Language Inference Data"): a bidirectional LSTM over a sentence's word vectors,
//! max-pooled over time, as the reference code (`models.py`, class `InferSent`) encodes.
//!
//! A model folder holds what the reference loads:
//!
//! * the weights, `torch.save(model.state_dict())` (zip or legacy format): `model.pkl`, or
//!   the one `infersent*.pkl` file (`infersent1.pkl`, `infersent2.pkl`);
//! * the word vectors, `vectors.txt` (GloVe text, or word2vec / fastText `.vec` text with its
//!   `N D` header);
//! * optionally `infersent.json`: `{"version": 1 | 2, "weights": FILE, "word_vectors": FILE,
//!   "enc_lstm_dim": H, "tokenize": true | false}`. Without a version, the weights' file name
//!   gives it (`infersent1.pkl`, `infersent2.pkl`).
//!
//! A text becomes `[bos] + words + [eos]` (`<s>`, `</s>` for version 1; `<p>`, `</p>` for
//! version 2), its words split by NLTK's tokenizer ([`tokenize`]; version 2 rewrites `n't`)
//! or, with `"tokenize": false`, at whitespace; nothing is lowercased. Words without a vector,
//! the boundary tokens included, are dropped. A text left with no word at all (only possible
//! when the word vectors lack both boundary tokens) is an error: the reference would fall back
//! to `[eos]`, whose vector is then missing too. The sentence vector is the maximum over time
//! of the 2·H LSTM outputs.
//!
//! The reference pads a batch to its longest sentence; version 1 (`max_pad`) lets those zero
//! paddings into the maximum, so a shorter sentence's vector depends on which sentences share
//! its batch. Here every sentence is pooled over its own words only: the reference's vector
//! for that sentence alone (or with sentences no longer than it), the same for any batch.
//! Version 2 masks the padding (`-1e9`), so its batches agree with this anyway.

mod lstm;
pub mod tokenize;

use crate::error::{Error, Result};
use embedkit_core::pth::Checkpoint;
use embedkit_core::{vector, EmbedOptions, Prompt};
use embedkit_words::WordVectors;
use lstm::{BiLstmMax, DirectionWeights};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Prefix of InferSent model specs: `infersent:DIR`.
pub const PREFIX: &str = "infersent:";

/// The optional `infersent.json` of a model folder.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    version: Option<u8>,
    weights: Option<String>,
    word_vectors: Option<String>,
    enc_lstm_dim: Option<usize>,
    tokenize: Option<bool>,
}

/// A loaded InferSent encoder: its BiLSTM and its word vectors.
#[derive(Debug)]
pub struct InferSent {
    lstm: BiLstmMax,
    vectors: WordVectors,
    version: u8,
    tokenize: bool,
    bos: Option<usize>,
    eos: Option<usize>,
}

impl InferSent {
    /// Loads the model folder `dir` (see the module documentation).
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::MissingFolder(dir.to_path_buf()));
        }
        let config_path = dir.join("infersent.json");
        let config: Config = match std::fs::read(&config_path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| Error::config(&config_path, e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => return Err(Error::io(&config_path, e)),
        };
        let weights = match &config.weights {
            Some(name) => dir.join(name),
            None => find_weights(dir)?,
        };
        let version = match config.version {
            Some(v @ (1 | 2)) => v,
            Some(v) => {
                return Err(Error::config(
                    &config_path,
                    format!("version must be 1 or 2, got {v}"),
                ))
            }
            None => version_from_name(&weights).ok_or_else(|| {
                Error::config(
                    &config_path,
                    format!(
                        "cannot tell the InferSent version from {}: give \"version\": 1 or 2",
                        weights.display()
                    ),
                )
            })?,
        };
        let lstm = read_lstm(&weights)?;
        if let Some(h) = config.enc_lstm_dim {
            if h != lstm.hidden() {
                return Err(Error::config(
                    &config_path,
                    format!("enc_lstm_dim is {h} but the weights have {}", lstm.hidden()),
                ));
            }
        }
        let vectors_path = dir.join(config.word_vectors.as_deref().unwrap_or("vectors.txt"));
        if !vectors_path.is_file() {
            return Err(Error::MissingFile {
                path: vectors_path,
                why: "InferSent's word vectors",
            });
        }
        let vectors = embedkit_words::format::load(&vectors_path, None)
            .map_err(|e| Error::weights(&vectors_path, e))?;
        if vectors.dim() != lstm.input_dim() {
            return Err(Error::weights(
                &vectors_path,
                format!(
                    "word vectors have {} dimensions but the LSTM reads {}",
                    vectors.dim(),
                    lstm.input_dim()
                ),
            ));
        }
        let (bos, eos) = boundary_tokens(version);
        Ok(Self {
            bos: vectors.index_of(bos),
            eos: vectors.index_of(eos),
            lstm,
            vectors,
            version,
            tokenize: config.tokenize.unwrap_or(true),
        })
    }

    /// 1 (GloVe, `<s>` … `</s>`) or 2 (fastText, `<p>` … `</p>`).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Width of the sentence vectors: 2 · `enc_lstm_dim`.
    pub fn dimensions(&self) -> usize {
        2 * self.lstm.hidden()
    }

    /// The words of `text` before the vocabulary is consulted, boundary tokens excluded.
    pub fn words(&self, text: &str) -> Vec<String> {
        match (self.tokenize, self.version) {
            (false, _) => text.split_whitespace().map(str::to_string).collect(),
            (true, 1) => tokenize::word_tokenize(text),
            (true, _) => tokenize::moses_like(text),
        }
    }

    /// The words the LSTM reads for `text`, in order: the boundary tokens and the words that
    /// have a vector.
    pub fn input_words(&self, text: &str) -> Result<Vec<&str>> {
        Ok(self
            .rows(text)?
            .into_iter()
            .map(|r| self.vectors.words()[r].as_str())
            .collect())
    }

    /// The rows of the word vectors the LSTM reads for `text` (see
    /// [`input_words`](Self::input_words)).
    fn rows(&self, text: &str) -> Result<Vec<usize>> {
        let mut rows: Vec<usize> = self.bos.into_iter().collect();
        rows.extend(
            self.words(text)
                .iter()
                .filter_map(|w| self.vectors.index_of(w)),
        );
        rows.extend(self.eos);
        if rows.is_empty() {
            let (_, eos) = boundary_tokens(self.version);
            return Err(Error::InvalidInput(format!(
                "no word of {text:?} has a vector, and the word vectors have none for {eos}"
            )));
        }
        Ok(rows)
    }

    /// Embeds `texts`, `options.batch_size` sentences per pass, calling `progress(n)` after
    /// each pass; rows come back in input order. Texts carry no named prompts; a literal
    /// prompt (`Prompt::Text`) is put in front of each text.
    pub fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let full = self.dimensions();
        if let Some(d) = options.dimensions {
            if d == 0 || d > full {
                return Err(Error::InvalidInput(format!(
                    "dimensions must be between 1 and {full} for this model, got {d}"
                )));
            }
        }
        if options.batch_size == 0 {
            return Err(Error::InvalidInput("batch size must be at least 1".into()));
        }
        let prompt = match &options.prompt {
            Prompt::Default | Prompt::None => "",
            Prompt::Text(t) => t.as_str(),
            Prompt::Named(n) => {
                return Err(Error::InvalidInput(format!(
                    "InferSent models have no named prompts ({n:?}); give the text with --prompt"
                )))
            }
        };
        let rows = texts
            .iter()
            .map(|t| self.rows(&format!("{prompt}{t}")))
            .collect::<Result<Vec<_>>>()?;
        // Longest first, so each pass's sentences stop at about the same step.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(rows[i].len()));
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(options.batch_size) {
            let lengths: Vec<usize> = chunk.iter().map(|&i| rows[i].len()).collect();
            let mut x = Vec::with_capacity(lengths.iter().sum::<usize>() * self.lstm.input_dim());
            for &i in chunk {
                for &r in &rows[i] {
                    x.extend_from_slice(self.vectors.row(r));
                }
            }
            for (mut v, &i) in self.lstm.max_pooled(&x, &lengths).into_iter().zip(chunk) {
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(Error::NonFinite);
                }
                if options.normalize {
                    vector::normalize(&mut v);
                }
                if let Some(d) = options.dimensions {
                    vector::truncate_and_normalize(&mut v, d);
                }
                out[i] = v;
            }
            progress(chunk.len());
        }
        Ok(out)
    }
}

fn boundary_tokens(version: u8) -> (&'static str, &'static str) {
    if version == 1 {
        ("<s>", "</s>")
    } else {
        ("<p>", "</p>")
    }
}

/// `model.pkl`, else the only `infersent*.pkl` of `dir`.
fn find_weights(dir: &Path) -> Result<PathBuf> {
    let plain = dir.join("model.pkl");
    if plain.is_file() {
        return Ok(plain);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("infersent") && n.ends_with(".pkl"))
        })
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::MissingFile {
            path: plain,
            why: "InferSent's weights (model.pkl or infersent*.pkl)",
        }),
        _ => {
            found.sort();
            Err(Error::config(
                dir.join("infersent.json"),
                format!(
                    "several weight files ({}): name one with \"weights\"",
                    found
                        .iter()
                        .filter_map(|p| p.file_name()?.to_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }
}

/// 1 or 2 from a file named `infersent1…` or `infersent2…`.
fn version_from_name(path: &Path) -> Option<u8> {
    let name = path.file_name()?.to_str()?;
    match name.strip_prefix("infersent")?.chars().next()? {
        '1' => Some(1),
        '2' => Some(2),
        _ => None,
    }
}

/// The BiLSTM of a `state_dict()` checkpoint (keys `enc_lstm.weight_ih_l0` …
/// `enc_lstm.bias_hh_l0_reverse`).
fn read_lstm(path: &Path) -> Result<BiLstmMax> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: String| Error::weights(path, m);
    let checkpoint =
        Checkpoint::parse(std::io::Cursor::new(&bytes)).map_err(|e| bad(e.to_string()))?;
    let mut tensors: HashMap<String, (Vec<usize>, Vec<f32>)> = checkpoint
        .read_f32(&bytes)
        .map_err(|e| bad(e.to_string()))?
        .into_iter()
        .map(|t| (t.name, (t.shape, t.data)))
        .collect();
    let mut take = |name: String, dims: usize| {
        let key = format!("enc_lstm.{name}");
        match tensors.remove(&key) {
            Some((shape, data)) if shape.len() == dims => Ok((shape, data)),
            Some((shape, _)) => Err(bad(format!("{key} has shape {shape:?}"))),
            None => Err(bad(format!(
                "no tensor {key} (not an InferSent state dict?)"
            ))),
        }
    };
    let mut direction = |suffix: &str| -> Result<(Vec<usize>, Vec<usize>, DirectionWeights)> {
        let (ih_shape, weight_ih) = take(format!("weight_ih_l0{suffix}"), 2)?;
        let (hh_shape, weight_hh) = take(format!("weight_hh_l0{suffix}"), 2)?;
        let (_, bias_ih) = take(format!("bias_ih_l0{suffix}"), 1)?;
        let (_, bias_hh) = take(format!("bias_hh_l0{suffix}"), 1)?;
        let weights = DirectionWeights {
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        };
        Ok((ih_shape, hh_shape, weights))
    };
    let (ih, hh, forward) = direction("")?;
    let (ih_r, hh_r, backward) = direction("_reverse")?;
    // weight_hh is [4H, H]; weight_ih [4H, E].
    let hidden = hh[1];
    let input_dim = ih[1];
    if hidden == 0 || input_dim == 0 || hh[0] != 4 * hidden || ih[0] != 4 * hidden {
        return Err(bad(format!(
            "weight_ih_l0 {ih:?} and weight_hh_l0 {hh:?} are not an LSTM's [4H, E] and [4H, H]"
        )));
    }
    if ih_r != ih || hh_r != hh {
        return Err(bad("the reverse direction's shapes differ".into()));
    }
    BiLstmMax::new(forward, backward, input_dim, hidden).map_err(bad)
}

/// InferSent through the seam: no prompts, cosine similarity, its tokenizer's word counts.
impl embedkit_core::Embedder for InferSent {
    fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, embedkit_core::EmbedError> {
        Ok(InferSent::embed_with_progress(
            self, texts, options, progress,
        )?)
    }

    fn dimensions(&self) -> Option<usize> {
        Some(InferSent::dimensions(self))
    }

    fn normalizes(&self) -> bool {
        false
    }

    /// An LSTM reads any number of words; chunks longer than this retrieve poorly anyway.
    fn max_input_tokens(&self) -> Result<usize, embedkit_core::EmbedError> {
        Ok(8192)
    }

    /// The tokenizer's words, boundary tokens excluded, whether they have a vector or not.
    fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, embedkit_core::EmbedError> {
        Ok(pieces.iter().map(|p| self.words(p).len()).collect())
    }
}
