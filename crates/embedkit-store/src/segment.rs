//! Chinese word segmentation for keyword search. Chinese is written without spaces, so both
//! full-text engines (SQLite FTS5's `unicode61`, PostgreSQL's `simple` parser) would take a
//! whole run of Han characters for one token, and a search for 办公室 would find nothing in
//! "我们的办公室在三楼". Runs of Han characters are therefore cut into words with jieba (the
//! same dictionary and HMM as the word-vector tokenizer) before either engine sees them;
//! everything else is left to the engines' own tokenizers.
//!
//! Documents are indexed in jieba's search mode (each word, plus the dictionary words inside
//! longer ones: 办公室 also as 办公), queries are cut in precise mode: a query word is found
//! in every document whose own segmentation has it, and also inside longer words.

use jieba_rs::Jieba;
use std::borrow::Cow;
use std::sync::OnceLock;

/// jieba's dictionary, loaded on first use (a fraction of a second), only by stores that
/// see Chinese text.
fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Han ideographs (CJK Unified Ideographs, its extensions and the compatibility block).
pub(crate) fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// Splits `text` into maximal runs that are all Han or all not Han, in order.
fn runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let han = is_han(first);
        let end = rest
            .char_indices()
            .find(|&(_, c)| is_han(c) != han)
            .map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some((han, run))
    })
}

/// The text a full-text engine indexes for `text`: each run of Han characters replaced by
/// its search-mode words, separated by spaces; unchanged when there is no Han character.
pub(crate) fn index_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_han) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (han, run) in runs(text) {
        if han {
            for token in jieba().cut_for_search(run, true) {
                out.push(' ');
                out.push_str(token.word);
            }
            out.push(' ');
        } else {
            out.push_str(run);
        }
    }
    Cow::Owned(out)
}

/// The words of one query term (a run of letters and digits): Han runs cut in precise mode,
/// the rest kept whole.
pub(crate) fn query_words(term: &str) -> Vec<String> {
    if !term.chars().any(is_han) {
        return vec![term.to_string()];
    }
    let mut words = Vec::new();
    for (han, run) in runs(term) {
        if han {
            words.extend(
                jieba()
                    .cut(run, true)
                    .into_iter()
                    .map(|t| t.word.to_string()),
            );
        } else {
            words.push(run.to_string());
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn han_runs_become_words_and_the_rest_stays() {
        assert_eq!(index_text("plain text, café"), "plain text, café");
        let indexed = index_text("我们的办公室在三楼, office 301");
        let words: Vec<&str> = indexed.split_whitespace().collect();
        assert!(
            words.contains(&"办公室") && words.contains(&"办公"),
            "{words:?}"
        );
        assert!(
            words.contains(&"我们") && words.contains(&"三楼"),
            "{words:?}"
        );
        assert!(indexed.ends_with(" , office 301"), "{indexed:?}");
        // Letters glued to Han characters are a word of their own.
        assert_eq!(
            index_text("GPT4模型")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["GPT4", "模型"]
        );
    }

    #[test]
    fn queries_are_cut_in_precise_mode() {
        assert_eq!(query_words("办公室"), ["办公室"]);
        assert_eq!(query_words("办公室在哪里"), ["办公室", "在", "哪里"]);
        assert_eq!(query_words("gpt4模型"), ["gpt4", "模型"]);
        assert_eq!(query_words("risotto"), ["risotto"]);
    }

    #[test]
    fn han_ranges() {
        assert!(is_han('中') && is_han('㐀') && is_han('𠀀'));
        assert!(!is_han('a') && !is_han('。') && !is_han('ア') && !is_han('한'));
    }
}
