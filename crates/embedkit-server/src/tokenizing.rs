//! Tokenizing a request's texts within the in-flight token budget.
//!
//! The tokenizer's own working memory follows the length of the text, not the tokens the
//! model keeps: a text is normalized and split whole before it is cut to the model's limit,
//! about 100 bytes of memory per byte of text. So each text is first cut to
//! [`MAX_BYTES_PER_TOKEN`] bytes per token of the model's limit (only a text whose kept
//! tokens average more than that many bytes, such as long runs of spaces, comes out
//! differently), and each chunk of texts takes its estimated tokens (its bytes, plus the
//! prompt and special tokens) from the budget before it is tokenized, and keeps only its
//! real tokens afterwards.

use crate::admission::{Admission, Reservation};
use crate::metrics::Reason;
use crate::openai::{ApiError, ErrorKind};
use embedkit_models::tokenize::Encoded;
use std::sync::Arc;

/// Bytes of text kept per token of the model's limit: ordinary text holds 2 to 6 bytes per
/// token, so the cut never reaches the tokens the model keeps.
pub const MAX_BYTES_PER_TOKEN: usize = 64;

/// Estimated tokens tokenized in one call: enough for the tokenizer's threads, little
/// memory (about 100 bytes each while they are tokenized).
const CHUNK_TOKENS: u64 = 16 << 10;

/// Special tokens an input may gain ([CLS], [SEP], ...), for the estimate.
const SPECIAL_TOKENS: u64 = 4;

/// Cuts `text` to what a model of `max_tokens` tokens can read (see the module's notes), on
/// a character boundary; returns whether it was cut.
pub fn cut(text: &mut String, max_tokens: usize) -> bool {
    let limit = max_tokens.saturating_mul(MAX_BYTES_PER_TOKEN);
    if text.len() <= limit {
        return false;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

/// The tokens an input of `bytes` bytes of text is taken to need before it is tokenized.
pub fn estimate(bytes: usize) -> u64 {
    bytes as u64 + SPECIAL_TOKENS
}

/// Texts tokenized, and the tokens they hold in the budget.
pub struct Tokenized {
    /// One entry per input, in order.
    pub inputs: Vec<Encoded>,
    /// Their tokens.
    pub tokens: usize,
    /// The budget they hold until the request is answered.
    pub reservation: Reservation,
}

/// Tokenizes `items` in chunks on the blocking pool, each chunk's estimated tokens
/// (`estimate_of`) taken from the budget first (429 when other requests hold it, 413 when
/// one chunk could never fit), its real tokens kept after. Stops with `too_many(tokens)`
/// (counted as [`Reason::RequestTokens`]) as soon as the request is over `max_tokens`.
pub async fn tokenize<T, F>(
    admission: &Admission,
    items: Vec<T>,
    estimate_of: impl Fn(&T) -> u64,
    max_tokens: usize,
    too_many: impl Fn(usize) -> ApiError,
    tokenize_chunk: F,
) -> Result<Tokenized, ApiError>
where
    T: Send + 'static,
    F: Fn(Vec<T>) -> Result<Vec<Encoded>, ApiError> + Send + Sync + 'static,
{
    let tokenize_chunk = Arc::new(tokenize_chunk);
    let mut reservation = admission.no_tokens();
    let mut inputs = Vec::with_capacity(items.len());
    let mut tokens = 0;
    let mut rest = items.into_iter().peekable();
    while rest.peek().is_some() {
        let mut chunk = Vec::new();
        let mut estimated = 0;
        while let Some(item) =
            rest.next_if(|item| chunk.is_empty() || estimated + estimate_of(item) <= CHUNK_TOKENS)
        {
            estimated += estimate_of(&item);
            chunk.push(item);
        }
        let before = reservation.amount();
        admission.grow_tokens(&mut reservation, estimated)?;
        let f = tokenize_chunk.clone();
        let encoded = tokio::task::spawn_blocking(move || f(chunk))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))??;
        let chunk_tokens: usize = encoded.iter().map(|e| e.ids.len()).sum();
        tokens += chunk_tokens;
        if tokens > max_tokens {
            admission.reject(Reason::RequestTokens);
            return Err(too_many(tokens));
        }
        // The estimate is an upper bound for ordinary text; where it was not, the real
        // tokens are taken too.
        let real = chunk_tokens as u64;
        if real > estimated {
            admission.grow_tokens(&mut reservation, real - estimated)?;
        } else {
            reservation.shrink_to(before + real);
        }
        inputs.extend(encoded);
    }
    Ok(Tokenized {
        inputs,
        tokens,
        reservation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_character_boundaries() {
        let mut short = "a".repeat(64);
        assert!(!cut(&mut short, 1));
        assert_eq!(short.len(), 64);
        // 22 three-byte characters: 66 bytes, cut at 63 (the boundary under 64).
        let mut chinese = "办".repeat(22);
        assert!(cut(&mut chinese, 1));
        assert_eq!(chinese, "办".repeat(21));
    }
}
