//! Sentence-aware chunking by model tokens: sentences are packed into chunks of at most
//! `size` tokens, and each chunk starts with the last sentences of the one before, up to
//! `overlap` tokens, so a passage cut at a boundary is still whole in one chunk.
//!
//! Written here rather than taken from a crate: the crates that exist count characters or
//! their own tokens, and the point is to count the tokens of the model that embeds.

use crate::error::{Error, Result};
use std::ops::Range;

/// Chunk sizes, in model tokens (special tokens not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Most tokens per chunk.
    pub size: usize,
    /// Tokens repeated from the end of the previous chunk.
    pub overlap: usize,
}

impl ChunkOptions {
    /// Fails unless the sizes make sense.
    pub fn check(&self) -> Result<()> {
        if self.size == 0 || self.overlap >= self.size {
            return Err(Error::InvalidInput(format!(
                "chunk size must be at least 1 and overlap smaller than it (got size {}, overlap {})",
                self.size, self.overlap
            )));
        }
        Ok(())
    }
}

/// Splits `text` into sentences: after `.`, `!`, `?` followed by white space, after CJK
/// full stops, and at blank lines or Markdown line starts. Pieces keep their trailing
/// white space out; empty pieces are dropped.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let end = match c {
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace),
            '。' | '！' | '？' | '\n' => true,
            _ => false,
        };
        if end {
            let stop = i + c.len_utf8();
            let piece = text[start..stop].trim();
            if !piece.is_empty() {
                out.push(piece);
            }
            start = stop;
        }
    }
    let piece = text[start..].trim();
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

/// Byte range of `part`, a slice of `text`, within `text`.
fn range_in(text: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    start..start + part.len()
}

/// Chunks `text`; `count` gives the token count of each of a batch of pieces.
///
/// A chunk is the document's own text from its first piece to its last, so line breaks,
/// Markdown and the absence of spaces between Chinese sentences are kept as written.
pub fn chunk(
    text: &str,
    options: ChunkOptions,
    count: &dyn Fn(&[&str]) -> Result<Vec<usize>>,
) -> Result<Vec<String>> {
    options.check()?;
    // Pieces are byte ranges of `text` with their token counts; sentences longer than a
    // chunk are cut into pieces that fit.
    let mut pieces: Vec<(Range<usize>, usize)> = Vec::new();
    let sents = sentences(text);
    for (s, n) in sents.iter().zip(count(&sents)?) {
        if n <= options.size {
            pieces.push((range_in(text, s), n));
        } else {
            for (piece, n) in split_long(s, n, options.size, count)? {
                pieces.push((range_in(text, piece), n));
            }
        }
    }
    let join = |pieces: &[(Range<usize>, usize)]| -> String {
        match (pieces.first(), pieces.last()) {
            (Some(first), Some(last)) => text[first.0.start..last.0.end].to_string(),
            _ => String::new(),
        }
    };
    let mut chunks = Vec::new();
    let mut current: Vec<(Range<usize>, usize)> = Vec::new();
    let mut tokens = 0;
    for (piece, n) in pieces {
        if tokens + n > options.size && !current.is_empty() {
            chunks.push(join(&current));
            // Carry whole sentences from the end, up to the overlap.
            let mut kept = Vec::new();
            let mut kept_tokens = 0;
            for p in current.iter().rev() {
                if kept_tokens + p.1 > options.overlap || kept_tokens + p.1 + n > options.size {
                    break;
                }
                kept_tokens += p.1;
                kept.push(p.clone());
            }
            kept.reverse();
            current = kept;
            tokens = kept_tokens;
        }
        tokens += n;
        current.push((piece, n));
    }
    if !current.is_empty() {
        chunks.push(join(&current));
    }
    Ok(chunks)
}

/// Cuts one over-long sentence at word boundaries (characters for text without spaces, such
/// as Chinese) into pieces of at most `size` tokens, re-counting each candidate piece. The
/// pieces are slices of `s`.
fn split_long<'a>(
    s: &'a str,
    n: usize,
    size: usize,
    count: &dyn Fn(&[&str]) -> Result<Vec<usize>>,
) -> Result<Vec<(&'a str, usize)>> {
    let words: Vec<&str> = if s.contains(char::is_whitespace) {
        s.split_whitespace().collect()
    } else {
        s.char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect()
    };
    // `words[a..b]` as written in `s`, spacing included.
    let span = |words: &[&str]| -> &'a str {
        let (first, last) = (range_in(s, words[0]), range_in(s, words[words.len() - 1]));
        &s[first.start..last.end]
    };
    // First guess from the average tokens per word, then shrink until it fits.
    let per_piece = ((words.len() * size) / n.max(1)).max(1);
    let mut out = Vec::new();
    let mut rest = &words[..];
    while !rest.is_empty() {
        let mut take = per_piece.min(rest.len());
        loop {
            let piece = span(&rest[..take]);
            let tokens = count(&[piece])?[0];
            if tokens <= size || take == 1 {
                out.push((piece, tokens));
                break;
            }
            take = (take * size / tokens).clamp(1, take - 1);
        }
        rest = &rest[take..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pieces: &[&str]) -> Result<Vec<usize>> {
        Ok(pieces
            .iter()
            .map(|p| p.split_whitespace().count())
            .collect())
    }

    #[test]
    fn splits_sentences_in_several_scripts() {
        assert_eq!(
            sentences("Dr. Smith left. Did he? Yes!\n\n# Title\n今天下雨。明天晴天"),
            [
                "Dr.",
                "Smith left.",
                "Did he?",
                "Yes!",
                "# Title",
                "今天下雨。",
                "明天晴天"
            ]
        );
        assert_eq!(sentences("3.14 is pi"), ["3.14 is pi"]);
    }

    #[test]
    fn packs_sentences_with_overlap() {
        let text = "a b c. d e. f g h. i. j k l m.";
        let opts = ChunkOptions {
            size: 5,
            overlap: 2,
        };
        // Hand-computed: [a b c. d e.] (5), then carry "d e." (2) + "f g h." (3) = 5,
        // then carry nothing that fits with "i." under the overlap... "f g h." is 3 > 2, so
        // start fresh: "i." (1) + "j k l m." (4) = 5.
        assert_eq!(
            chunk(text, opts, &words).unwrap(),
            ["a b c. d e.", "d e. f g h.", "i. j k l m."]
        );
    }

    #[test]
    fn cuts_overlong_sentences() {
        let long = (0..23)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let chunks = chunk(
            &long,
            ChunkOptions {
                size: 10,
                overlap: 0,
            },
            &words,
        )
        .unwrap();
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.split_whitespace().count() <= 10));
        assert_eq!(chunks.join(" "), long);
    }

    #[test]
    fn chunks_keep_the_text_as_written() {
        let text = "# Title\nFirst line.\n\nSecond  paragraph.\n今天下雨。明天晴天。";
        let opts = ChunkOptions {
            size: 100,
            overlap: 0,
        };
        assert_eq!(chunk(text, opts, &words).unwrap(), [text]);
        // Word counts 2, 2, 2, 1, 1 (no spaces in the Chinese sentences).
        let opts = ChunkOptions {
            size: 4,
            overlap: 0,
        };
        assert_eq!(
            chunk(text, opts, &words).unwrap(),
            [
                "# Title\nFirst line.",
                "Second  paragraph.\n今天下雨。明天晴天。"
            ]
        );
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(chunk(
            "x",
            ChunkOptions {
                size: 4,
                overlap: 4
            },
            &words
        )
        .is_err());
    }
}
