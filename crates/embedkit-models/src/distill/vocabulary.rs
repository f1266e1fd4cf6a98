//! The vocabulary of a distilled static model, chosen and renumbered as Model2Vec does: every
//! token of the model's tokenizer except BERT's `[unusedN]` placeholders and the added tokens
//! that play no part without a post-processor (`[CLS]`, `[SEP]`, `[MASK]`, `<|endoftext|>`...;
//! the unknown and padding tokens stay), in id order, renumbered from 0. The pruned
//! `tokenizer.json` keeps the model's normalizer and pre-tokenizer and loses its
//! post-processor, padding and truncation (a static model adds no special tokens).

use crate::error::{Error, Result};
use crate::tokenize::TextTokenizer;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The kept tokens and the pruned tokenizer.
pub struct Vocabulary {
    /// Ids, in the original tokenizer, of the kept tokens, in order (new id = position).
    pub kept: Vec<u32>,
    /// Words added after them (ids follow the kept tokens'), as the model reads them.
    pub added: Vec<String>,
    /// The `tokenizer.json` for the kept tokens.
    pub tokenizer: Value,
}

/// `[unused` digits `]` at the start, as Model2Vec's default `token_remove_pattern`
/// (`re.match(r"\[unused\d+\]")`).
fn is_unused(token: &str) -> bool {
    token
        .strip_prefix("[unused")
        .and_then(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0).then(|| rest[digits..].starts_with(']'))
        })
        .unwrap_or(false)
}

/// Reads `tokenizer.json` and chooses the vocabulary.
pub fn prune(path: &Path) -> Result<Vocabulary> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut json: Value = serde_json::from_str(&text).map_err(|e| Error::config(path, e))?;
    let bad = |m: String| Error::config(path, m);

    let model = json
        .get("model")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no tokenizer model".into()))?;
    let kind = model
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // token → id for map vocabularies; for Unigram the position in the list is the id.
    let mut tokens: BTreeMap<u32, String> = BTreeMap::new();
    match kind.as_str() {
        "WordPiece" | "BPE" | "WordLevel" => {
            let vocab = model
                .get("vocab")
                .and_then(Value::as_object)
                .ok_or_else(|| bad(format!("{kind} model without a vocab map")))?;
            for (token, id) in vocab {
                let id = id
                    .as_u64()
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| bad(format!("vocab id of {token:?} is not a number")))?;
                tokens.insert(id, token.clone());
            }
        }
        "Unigram" => {
            let vocab = model
                .get("vocab")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("Unigram model without a vocab list".into()))?;
            for (id, entry) in vocab.iter().enumerate() {
                let token = entry
                    .get(0)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("Unigram vocab entry {id} has no piece")))?;
                tokens.insert(id as u32, token.to_string());
            }
        }
        other => {
            return Err(bad(format!(
                "tokenizer model {other:?} cannot be distilled (WordPiece, BPE, WordLevel and Unigram can)"
            )))
        }
    }
    let unk = match model.get("unk_token").and_then(Value::as_str) {
        Some(t) => Some(t.to_string()),
        None => model
            .get("unk_id")
            .and_then(Value::as_u64)
            .and_then(|id| tokens.get(&(id as u32)).cloned()),
    };
    let pad = json
        .pointer("/padding/pad_token")
        .and_then(Value::as_str)
        .map(str::to_string);
    let keep_added: HashSet<Option<&str>> = [unk.as_deref(), pad.as_deref()].into();
    let mut added_removed = HashSet::new();
    let mut added_kept = Vec::new();
    for entry in json
        .get("added_tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(content)) = (
            entry.get("id").and_then(Value::as_u64),
            entry.get("content").and_then(Value::as_str),
        ) else {
            return Err(bad("an added token without id or content".into()));
        };
        if keep_added.contains(&Some(content)) {
            tokens
                .entry(id as u32)
                .or_insert_with(|| content.to_string());
            added_kept.push(entry.clone());
        } else {
            added_removed.insert(id as u32);
        }
    }
    let kept: Vec<u32> = tokens
        .iter()
        .filter(|(id, token)| !added_removed.contains(id) && !is_unused(token))
        .map(|(&id, _)| id)
        .collect();
    let new_id = |old: u32| kept.binary_search(&old).ok();

    let model = json
        .get_mut("model")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad("no tokenizer model".into()))?;
    if kind == "Unigram" {
        let vocab = model["vocab"].as_array().cloned().unwrap_or_default();
        let unk_id = model.get("unk_id").and_then(Value::as_u64);
        model["vocab"] = Value::Array(kept.iter().map(|&id| vocab[id as usize].clone()).collect());
        if let Some(old) = unk_id {
            model["unk_id"] = new_id(old as u32).map_or(Value::Null, Value::from);
        }
    } else {
        let vocab: Map<String, Value> = kept
            .iter()
            .enumerate()
            .map(|(new, old)| (tokens[old].clone(), Value::from(new)))
            .collect();
        model["vocab"] = Value::Object(vocab);
    }
    let added: Vec<Value> = added_kept
        .into_iter()
        .filter_map(|mut entry| {
            let old = entry.get("id").and_then(Value::as_u64)? as u32;
            entry["id"] = Value::from(new_id(old)?);
            Some(entry)
        })
        .collect();
    json["added_tokens"] = Value::Array(added);
    json["post_processor"] = Value::Null;
    json["padding"] = Value::Null;
    json["truncation"] = Value::Null;
    Ok(Vocabulary {
        kept,
        added: Vec::new(),
        tokenizer: json,
    })
}

/// Adds `words` to a WordPiece or WordLevel vocabulary as Model2Vec's `vocabulary=` does:
/// each word normalized and pre-tokenized by `tokenizer`; one piece becomes a new token
/// unless the original vocabulary has it; several pieces ("new york") become one added token
/// of the normalized text, matched in texts before the model splits them.
pub fn extend(vocab: &mut Vocabulary, words: &[String], tokenizer: &TextTokenizer) -> Result<()> {
    if words.is_empty() {
        return Ok(());
    }
    let kind = vocab.tokenizer["model"]["type"]
        .as_str()
        .unwrap_or_default();
    if !matches!(kind, "WordPiece" | "WordLevel") {
        return Err(Error::InvalidInput(format!(
            "extra vocabulary works with WordPiece (BERT-style) and WordLevel tokenizers, not {kind}"
        )));
    }
    let mut seen: HashSet<String> = tokenizer.vocabulary().into_iter().collect();
    let (mut singles, mut multi) = (Vec::new(), Vec::new());
    for word in words {
        let pieces = tokenizer.pre_tokenize(word)?;
        match pieces.len() {
            0 => {}
            1 => {
                let piece = pieces.into_iter().next().unwrap_or_default();
                if !is_unused(&piece) && seen.insert(piece.clone()) {
                    singles.push(piece);
                }
            }
            _ => {
                let text = tokenizer.normalize(word)?.trim().to_string();
                if !multi.contains(&text) {
                    multi.push(text);
                }
            }
        }
    }
    let first = vocab.kept.len();
    let map = vocab.tokenizer["model"]["vocab"]
        .as_object_mut()
        .ok_or_else(|| Error::InvalidInput("the pruned tokenizer lost its vocabulary".into()))?;
    for (i, piece) in singles.iter().enumerate() {
        map.insert(piece.clone(), Value::from(first + i));
    }
    let added = vocab.tokenizer["added_tokens"]
        .as_array_mut()
        .ok_or_else(|| Error::InvalidInput("the pruned tokenizer lost its added tokens".into()))?;
    for (i, text) in multi.iter().enumerate() {
        added.push(serde_json::json!({
            "id": first + singles.len() + i, "content": text, "single_word": false,
            "lstrip": true, "rstrip": true, "normalized": true, "special": false
        }));
    }
    vocab.added = singles.into_iter().chain(multi).collect();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_placeholders_match_as_the_default_pattern() {
        assert!(is_unused("[unused0]") && is_unused("[unused993]") && is_unused("[unused12]x"));
        assert!(!is_unused("[unused]") && !is_unused("unused1") && !is_unused("[UNUSED1]"));
    }

    #[test]
    fn special_tokens_and_placeholders_go_and_ids_close_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        let json = serde_json::json!({
            "added_tokens": [
                {"id": 0, "content": "[PAD]", "special": true},
                {"id": 1, "content": "[UNK]", "special": true},
                {"id": 2, "content": "[CLS]", "special": true}
            ],
            "padding": {"pad_token": "[PAD]", "pad_id": 0},
            "post_processor": {"type": "TemplateProcessing"},
            "model": {"type": "WordPiece", "unk_token": "[UNK]",
                      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[unused0]": 3, "a": 4, "##b": 5}}
        });
        std::fs::write(&path, json.to_string()).unwrap();
        let v = prune(&path).unwrap();
        assert_eq!(v.kept, vec![0, 1, 4, 5]);
        assert_eq!(
            v.tokenizer["model"]["vocab"],
            serde_json::json!({"[PAD]": 0, "[UNK]": 1, "a": 2, "##b": 3})
        );
        let added: Vec<&str> = v.tokenizer["added_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["content"].as_str().unwrap())
            .collect();
        assert_eq!(added, ["[PAD]", "[UNK]"]);
        assert!(v.tokenizer["post_processor"].is_null() && v.tokenizer["padding"].is_null());
    }
}
