//! InferSent's word tokenization: NLTK's `NLTKWordTokenizer` (the improved Treebank
//! tokenizer behind `nltk.word_tokenize`), rule for rule, and version 2's Moses-like
//! rewrite of `n't`.
//!
//! `word_tokenize` first cuts a text into sentences with NLTK's punkt model and tokenizes each;
//! this tokenizes the whole text as one sentence (`word_tokenize(text, preserve_line=True)`).
//! The only difference: a period that ends a sentence inside the text stays on its word
//! (`York.` in "in New York. Please"), where punkt would have split it off. The last period
//! of a text is split off either way.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// A rule: a pattern and its replacement (`$1`, `$0`: captures).
struct Rule(Regex, &'static str);

fn rules(list: &[(&str, &'static str)]) -> Vec<Rule> {
    list.iter()
        // The patterns are constants of this file: a bad one is caught by the tests.
        .map(|&(p, r)| Rule(Regex::new(p).expect("valid pattern"), r))
        .collect()
}

fn apply(rules: &[Rule], mut text: String) -> String {
    for Rule(re, with) in rules {
        text = re.replace_all(&text, *with).into_owned();
    }
    text
}

static STARTING_QUOTES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    rules(&[
        ("([«“‘„]|[`]+)", " $1 "),
        ("^\"", "``"),
        ("(``)", " $1 "),
        (r#"([ (\[{<])("|'{2})"#, "$1 `` "),
    ])
});

/// NLTK's `(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b`: a quote before a one-letter word is split
/// off unless the letter is a clitic. The `regex` crate has no look-ahead; since `(\w)\b` is a
/// single word character, the look-ahead only ever rejects m, t, s, d and n (any case).
static QUOTE_BEFORE_LETTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(')(\w)\b").expect("valid pattern"));

static PUNCTUATION: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    rules(&[
        (r#"([^.])(\.)([\])}>"'»”’ ]*)\s*$"#, "$1 $2 $3 "),
        (r"([:,])([^\d])", " $1 $2"),
        (r"([:,])$", " $1 "),
        (r"\.{2,}", " $0 "),
        (r"[;@#$%&]", " $0 "),
        (r#"([^.])(\.)([\])}>"']*)\s*$"#, "$1 $2$3 "),
        (r"[?!]", " $0 "),
        (r"([^'])' ", "$1 ' "),
        (r"[*]", " $0 "),
        // Parentheses and brackets, then double dashes.
        (r"[\]\[(){}<>]", " $0 "),
        (r"--", " -- "),
    ])
});

static ENDING_QUOTES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    rules(&[
        ("([»”’])", " $1 "),
        ("''", " '' "),
        ("\"", " '' "),
        (r"\s+", " "),
        ("([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "),
        ("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "),
    ])
});

/// Robert MacIntyre's contractions, as NLTK lists them. NLTK's `wanna` rule ends with the
/// look-ahead `(?=\s)`; here the space is captured and written back.
static CONTRACTIONS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    rules(&[
        (r"(?i)\b(can)(not)\b", " $1 $2 "),
        (r"(?i)\b(d)('ye)\b", " $1 $2 "),
        (r"(?i)\b(gim)(me)\b", " $1 $2 "),
        (r"(?i)\b(gon)(na)\b", " $1 $2 "),
        (r"(?i)\b(got)(ta)\b", " $1 $2 "),
        (r"(?i)\b(lem)(me)\b", " $1 $2 "),
        (r"(?i)\b(more)('n)\b", " $1 $2 "),
        (r"(?i)\b(wan)(na)(\s)", " $1 $2 $3"),
        (r"(?i) ('t)(is)\b", " $1 $2 "),
        (r"(?i) ('t)(was)\b", " $1 $2 "),
    ])
});

/// `NLTKWordTokenizer().tokenize(text)`.
pub fn word_tokenize(text: &str) -> Vec<String> {
    let mut text = apply(&STARTING_QUOTES, text.to_string());
    text = QUOTE_BEFORE_LETTER
        .replace_all(&text, |c: &Captures| {
            let letter = &c[2];
            if matches!(
                letter,
                "m" | "t" | "s" | "d" | "n" | "M" | "T" | "S" | "D" | "N"
            ) {
                c[0].to_string()
            } else {
                format!("{} {}", &c[1], letter)
            }
        })
        .into_owned();
    text = apply(&PUNCTUATION, text);
    text = apply(&ENDING_QUOTES, format!(" {text} "));
    text = apply(&CONTRACTIONS, text);
    text.split_whitespace().map(str::to_string).collect()
}

/// InferSent version 2's tokenization (`moses_tok`): NLTK's tokens, joined by spaces, with
/// `" n't "` rewritten as `"n 't "` (so "do n't" becomes "don 't"), split again.
pub fn moses_like(text: &str) -> Vec<String> {
    word_tokenize(text)
        .join(" ")
        .replace(" n't ", "n 't ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nltk_docstring_example() {
        // NLTKWordTokenizer's own doctest.
        let s = "Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.";
        let want = "Good muffins cost $ 3.88 ( roughly 3,36 euros ) in New York. Please buy me two of them. Thanks .";
        assert_eq!(word_tokenize(s).join(" "), want);
    }

    #[test]
    fn moses_rewrites_nt() {
        assert_eq!(word_tokenize("I don't know").join(" "), "I do n't know");
        assert_eq!(moses_like("I don't know").join(" "), "I don 't know");
    }
}
