//! Keyword queries, prepared once for both backends' full-text engines (SQLite FTS5 and
//! PostgreSQL `tsquery`): the user's words, with none of either engine's query syntax, and
//! Chinese cut into words as the indexed text is ([`crate::segment`]).

use crate::segment;

/// The words of a keyword query: every run of letters and digits (Chinese cut into words),
/// lowercased, each once (so
/// both engines rank the same set of words), in the order first seen. No quote, backslash or
/// operator survives, so a quoted word is a plain term in either engine's query language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keywords(Vec<String>);

impl Keywords {
    pub(crate) fn parse(query: &str) -> Self {
        let mut words: Vec<String> = Vec::new();
        for term in query.split(|c: char| !c.is_alphanumeric()) {
            for w in segment::query_words(term) {
                let w = w.to_lowercase();
                if !w.is_empty() && !words.contains(&w) {
                    words.push(w);
                }
            }
        }
        Self(words)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A query for chunks with any of the words: each one in `quote`s, joined by `or`
    /// (`"a" OR "b"` for FTS5, `'a' | 'b'` for `to_tsquery`).
    pub(crate) fn any_of(&self, quote: char, or: &str) -> String {
        let quoted: Vec<String> = self
            .0
            .iter()
            .map(|w| format!("{quote}{w}{quote}"))
            .collect();
        quoted.join(or)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_letters_and_digits_reach_the_engines() {
        let k = Keywords::parse("Risotto: \"rice\" OR 'stock' & (risotto) | 绿茶, café-2!");
        assert_eq!(k.0, ["risotto", "rice", "or", "stock", "绿茶", "café", "2"]);
        assert_eq!(
            Keywords::parse("办公室在哪里？office").0,
            ["办公室", "在", "哪里", "office"]
        );
        assert_eq!(
            k.any_of('"', " OR "),
            "\"risotto\" OR \"rice\" OR \"or\" OR \"stock\" OR \"绿茶\" OR \"café\" OR \"2\""
        );
        assert_eq!(Keywords::parse("rice").any_of('\'', " | "), "'rice'");
        assert!(Keywords::parse(" -- ?! ").is_empty());
    }
}
