//! A text's vector as the mean of its words' vectors (word2vec, GloVe or fastText files).
//!
//! Tokens are the runs of letters and digits of the lowercased text ("Senator Greig's bid."
//! → `senator`, `greig`, `s`, `bid`). Splitting at whitespace alone, as the corpus readers of
//! the trainers do, would keep punctuation on the words ("bid." or "\"the"), which published
//! vectors never have as words: GloVe and word2vec were trained on tokenized text where
//! punctuation stands apart. Lowercasing fits the uncased vectors most people use (GloVe 6B,
//! fastText's); the rule is the one the store's keyword search uses for words.
//!
//! Every token counts as often as it occurs. A token the vocabulary lacks is skipped, except
//! that a fastText `.bin` model gives it a vector from its character n-grams. A text none of
//! whose tokens has a vector is an error naming the item, not a zero vector: a zero vector
//! has no direction, so every cosine with it would be meaningless (0 or NaN), and an item
//! silently ranked by noise is worse than being told.

use super::VectorSource;
use crate::data::Item;
use crate::error::{invalid, Error, Result};
use embedkit_words::WordVectors;
use std::path::{Path, PathBuf};

/// How the name of averaged word vectors starts, `words:PATH` (see [`AveragedWords::name`]).
pub const WORDS_PREFIX: &str = "words:";

/// Texts embedded as the mean vector of their words.
pub struct AveragedWords {
    vectors: WordVectors,
    id: String,
}

impl AveragedWords {
    /// Loads a word-vector file (word2vec text or binary, GloVe text, fastText `.vec` or
    /// `.bin`; the format is detected).
    pub fn load(path: &Path) -> Result<Self> {
        let vectors = embedkit_words::format::load(path, None).map_err(|error| Error::Words {
            context: format!("cannot read word vectors {}", path.display()),
            error,
        })?;
        if vectors.is_empty() {
            return Err(invalid(format!(
                "{}: the word-vector file holds no words",
                path.display()
            )));
        }
        Ok(Self::new(vectors, path.display().to_string()))
    }

    /// The name that records averaged word vectors of the file at `path` where a model's
    /// name would be (a saved classifier's embedding model, a plot's title): `words:PATH`.
    pub fn name(path: &Path) -> String {
        format!("{WORDS_PREFIX}{}", path.display())
    }

    /// The word-vector file a [`name`](Self::name) records, or `None` for any other name
    /// (a model's).
    pub fn path_in(name: &str) -> Option<PathBuf> {
        name.strip_prefix(WORDS_PREFIX).map(PathBuf::from)
    }

    /// Averages `vectors`; `id` names them in saved classifiers.
    pub fn new(vectors: WordVectors, id: impl Into<String>) -> Self {
        Self {
            vectors,
            id: id.into(),
        }
    }

    /// The mean vector of `text`'s words, or `None` when none of them has a vector.
    pub fn average(&self, text: &str) -> Option<Vec<f32>> {
        let dim = self.vectors.dim();
        let mut sum = vec![0.0f64; dim];
        let mut n = 0usize;
        for token in tokens(text) {
            // Unknown words are skipped (a fastText model gives them n-gram vectors).
            let Ok(v) = self.vectors.vector(&token) else {
                continue;
            };
            for (s, x) in sum.iter_mut().zip(&v) {
                *s += f64::from(*x);
            }
            n += 1;
        }
        (n > 0).then(|| sum.iter().map(|s| (s / n as f64) as f32).collect())
    }
}

/// The lowercased runs of letters and digits of `text`, in order.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

impl VectorSource for AveragedWords {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> Option<usize> {
        Some(self.vectors.dim())
    }

    fn vectors(&self, items: &[Item]) -> Result<Vec<Vec<f32>>> {
        items
            .iter()
            .map(|item| {
                let text = item.text.as_deref().ok_or_else(|| {
                    invalid(format!("item {} has no text to average words of", item.id))
                })?;
                self.average(text).ok_or_else(|| {
                    let shown: String = text.chars().take(60).collect();
                    let more = if text.chars().count() > 60 { "…" } else { "" };
                    if tokens(text).next().is_none() {
                        invalid(format!("item {} has no words: {shown:?}{more}", item.id))
                    } else {
                        invalid(format!(
                            "item {}: none of its words is in {} ({shown:?}{more})",
                            item.id, self.id
                        ))
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_word_vectors_give_back_their_file() {
        let name = AveragedWords::name(Path::new("vectors/glove.txt"));
        assert_eq!(name, "words:vectors/glove.txt");
        assert_eq!(
            AveragedWords::path_in(&name),
            Some(PathBuf::from("vectors/glove.txt"))
        );
        assert_eq!(
            AveragedWords::path_in("sentence-transformers/all-MiniLM-L6-v2"),
            None
        );
    }
    use crate::data::items_from_texts;

    fn vectors() -> AveragedWords {
        let words = ["the", "cat", "sat", "北京"].map(String::from).to_vec();
        let data = vec![1.0, 0.0, 0.0, 2.0, 4.0, 4.0, -1.0, 1.0];
        AveragedWords::new(WordVectors::new(words, 2, data).unwrap(), "toy")
    }

    #[test]
    fn tokens_are_lowercased_runs_of_letters_and_digits() {
        let t: Vec<String> = tokens("The cat's \"mat\"--2001, Café 北京!").collect();
        assert_eq!(t, ["the", "cat", "s", "mat", "2001", "café", "北京"]);
    }

    #[test]
    fn averages_known_words_counting_repeats_and_skipping_unknown_ones() {
        let v = vectors();
        // the, cat, the (zzz unknown): ((1,0) + (0,2) + (1,0)) / 3.
        let got = v.average("The CAT, zzz the.").unwrap();
        assert_eq!(got, vec![2.0 / 3.0, 2.0 / 3.0]);
        assert_eq!(v.average("北京").unwrap(), vec![-1.0, 1.0]);
        assert_eq!(v.average("zzz qqq"), None);
    }

    #[test]
    fn a_text_without_known_words_is_an_error_naming_the_item() {
        let v = vectors();
        let got = v.vectors(&items_from_texts(&["the cat", "sat"])).unwrap();
        assert_eq!(got, vec![vec![0.5, 1.0], vec![4.0, 4.0]]);
        let err = v
            .vectors(&items_from_texts(&["the cat", "zzz qqq"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("item 2") && err.contains("none of its words"),
            "{err}"
        );
        let err = v
            .vectors(&items_from_texts(&["the", " ... "]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("item 2 has no words"), "{err}");
    }
}
