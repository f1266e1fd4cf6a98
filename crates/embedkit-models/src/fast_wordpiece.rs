//! A BERT tokenizer for ASCII text, for static models: their whole cost is tokenization, and
//! the `tokenizers` crate spends most of its time on Unicode normalization, offsets and
//! alignment bookkeeping that an ASCII sentence does not need. This produces the same ids as
//! `tokenizers` for a `BertNormalizer` + `BertPreTokenizer` + `WordPiece` tokenizer, for the
//! texts it accepts (ASCII, and none of the tokenizer's added tokens in them); every other
//! text goes to `tokenizers`. (The tests compare both on every text they can find.)

use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: vocabulary keys are short, and SipHash's per-lookup setup costs more than the
/// lookup itself here (the vocabulary is the model's, not an attacker's input).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Map = HashMap<Box<[u8]>, u32, BuildHasherDefault<Fnv>>;

/// WordPiece over ASCII, as `tokenizers` runs a BERT `tokenizer.json`.
pub struct FastWordPiece {
    /// Pieces that start a word.
    starts: Map,
    /// Pieces that continue one (stored without their `##` prefix).
    continuations: Map,
    unk: u32,
    max_word_bytes: usize,
    lowercase: bool,
    /// First bytes of the added tokens: a text holding one may contain an added token,
    /// which `tokenizers` matches before normalizing, so it takes the full path.
    added_first_bytes: Vec<u8>,
}

impl FastWordPiece {
    /// For a `tokenizer.json` of the BERT shape (normalizer, pre-tokenizer and model); `None`
    /// for any other.
    pub fn from_json(json: &Value) -> Option<Self> {
        let normalizer = json.get("normalizer")?;
        if normalizer.get("type")?.as_str()? != "BertNormalizer"
            || normalizer.get("clean_text")?.as_bool() != Some(true)
            || json.pointer("/pre_tokenizer/type")?.as_str()? != "BertPreTokenizer"
        {
            return None;
        }
        let lowercase = normalizer.get("lowercase")?.as_bool()?;
        let model = json.get("model")?;
        if model.get("type")?.as_str()? != "WordPiece" {
            return None;
        }
        let prefix = model.get("continuing_subword_prefix")?.as_str()?;
        let unk_token = model.get("unk_token")?.as_str()?;
        let max_word_bytes = model.get("max_input_chars_per_word")?.as_u64()? as usize;
        let mut starts = Map::default();
        let mut continuations = Map::default();
        let mut unk = None;
        for (token, id) in model.get("vocab")?.as_object()? {
            let id = u32::try_from(id.as_u64()?).ok()?;
            if token == unk_token {
                unk = Some(id);
            }
            // Only ASCII pieces can match ASCII words; keep the first id of a duplicate, as
            // a map built from the JSON object would.
            if !token.is_ascii() {
                continue;
            }
            match token.strip_prefix(prefix).filter(|_| !prefix.is_empty()) {
                Some(rest) => continuations.entry(rest.as_bytes().into()).or_insert(id),
                None => starts.entry(token.as_bytes().into()).or_insert(id),
            };
        }
        let added = json.get("added_tokens")?.as_array()?;
        // Added words matched after normalization ("new york" added to a distilled model)
        // can start anywhere: such tokenizers take the full path.
        if added
            .iter()
            .any(|t| t.get("normalized").and_then(Value::as_bool) == Some(true))
        {
            return None;
        }
        let mut added_first_bytes: Vec<u8> = added
            .iter()
            .filter_map(|t| t.get("content")?.as_str()?.bytes().next())
            .flat_map(|b| [b.to_ascii_lowercase(), b.to_ascii_uppercase()])
            .collect();
        added_first_bytes.sort_unstable();
        added_first_bytes.dedup();
        Some(Self {
            starts,
            continuations,
            unk: unk?,
            max_word_bytes,
            lowercase,
            added_first_bytes,
        })
    }

    /// Appends the ids of `text` (no special tokens) to `out` and returns true, or returns
    /// false (leaving `out` as it was) for a text this tokenizer does not take.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) -> bool {
        let bytes = text.as_bytes();
        if !text.is_ascii() || bytes.iter().any(|b| self.added_first_bytes.contains(b)) {
            return false;
        }
        let mut word = Vec::with_capacity(32);
        for &b in bytes {
            match b {
                // BertNormalizer's clean_text: \t \n \r become spaces, other controls go.
                b' ' | b'\t' | b'\n' | b'\r' => self.flush(&mut word, out),
                0..=0x1f | 0x7f => {}
                // BertPreTokenizer: every ASCII punctuation mark is a word of its own.
                _ if b.is_ascii_punctuation() => {
                    self.flush(&mut word, out);
                    word.push(b);
                    self.flush(&mut word, out);
                }
                _ => word.push(if self.lowercase {
                    b.to_ascii_lowercase()
                } else {
                    b
                }),
            }
        }
        self.flush(&mut word, out);
        true
    }

    /// WordPiece on one word: the longest known piece at each position, or the unknown
    /// token for the whole word if some position has none.
    fn flush(&self, word: &mut Vec<u8>, out: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        if word.len() > self.max_word_bytes {
            out.push(self.unk);
            word.clear();
            return;
        }
        let first = out.len();
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 {
                &self.starts
            } else {
                &self.continuations
            };
            let found = (start + 1..=word.len())
                .rev()
                .find_map(|end| map.get(&word[start..end]).map(|&id| (id, end)));
            match found {
                Some((id, end)) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(first);
                    out.push(self.unk);
                    break;
                }
            }
        }
        word.clear();
    }
}
