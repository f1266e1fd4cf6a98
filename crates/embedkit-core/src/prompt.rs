//! Which prompt goes in front of a text: the one place where embedkit decides it.
//!
//! Every caller (the CLI, the store, the server's `/v1/embeddings` `input_type` and
//! `/v1/collections`, the applications) asks [`Prompts::choose`], so a query embedded through
//! any of them is the same vector.

use crate::embedder::EmbedError;
use std::collections::BTreeMap;

/// Which prompt to put in front of each text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Prompt {
    /// The model's `default_prompt_name`, if it has one.
    #[default]
    Default,
    /// No prompt.
    None,
    /// A prompt from `config_sentence_transformers.json` by name (e.g. `query`).
    Named(String),
    /// Literal text.
    Text(String),
}

impl Prompt {
    /// The query format of instruction-tuned embedders, as the Qwen3-Embedding model card
    /// writes it: `Instruct: {task}\nQuery:` directly followed by the query.
    pub fn instruction(task: &str) -> Self {
        Self::Text(format!("Instruct: {task}\nQuery:"))
    }
}

/// What a text is, for retrieval models that embed the two sides differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRole {
    /// A search query (BGE's instruction, Qwen3's `query` prompt).
    Query,
    /// A passage to be searched.
    Document,
}

impl InputRole {
    /// The prompt names sentence-transformers looks for, in its order: `encode_query` uses
    /// `query`; `encode_document` uses `document`, else `passage`, else `corpus`.
    pub fn prompt_names(self) -> &'static [&'static str] {
        match self {
            Self::Query => &["query"],
            Self::Document => &["document", "passage", "corpus"],
        }
    }
}

/// A model's prompts, as `config_sentence_transformers.json` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompts {
    /// Named prompts (`query`, `document`, ...).
    pub named: BTreeMap<String, String>,
    /// The prompt used when none is asked for.
    pub default_name: Option<String>,
}

impl Prompts {
    /// The prompt for a text: an explicit choice (prompt name, literal text, instruction)
    /// wins; else the model's prompt for `role` when it defines one; else the model's
    /// default. This is what sentence-transformers' `encode_query` / `encode_document` do.
    ///
    /// ```
    /// use embedkit_core::{InputRole, Prompt, Prompts};
    /// let mut p = Prompts::default();
    /// p.named.insert("query".into(), "Represent this sentence for searching: ".into());
    /// assert_eq!(p.choose(None, Some(InputRole::Query)), Prompt::Named("query".into()));
    /// assert_eq!(p.choose(None, Some(InputRole::Document)), Prompt::Default);
    /// assert_eq!(p.choose(Some(Prompt::None), Some(InputRole::Query)), Prompt::None);
    /// ```
    pub fn choose(&self, explicit: Option<Prompt>, role: Option<InputRole>) -> Prompt {
        if let Some(p) = explicit {
            return p;
        }
        role.and_then(|r| {
            r.prompt_names()
                .iter()
                .find(|n| self.named.contains_key(**n))
        })
        .map_or(Prompt::Default, |n| Prompt::Named((*n).to_string()))
    }

    /// The text that `prompt` stands for (empty for none); an unknown name is an error that
    /// lists the known ones.
    pub fn text(&self, prompt: &Prompt) -> Result<String, EmbedError> {
        let named = |name: &str| {
            self.named.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = self.named.keys().map(String::as_str).collect();
                EmbedError::invalid(format!(
                    "prompt name {name:?} is not defined by this model (known: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            })
        };
        match prompt {
            Prompt::None => Ok(String::new()),
            Prompt::Text(t) => Ok(t.clone()),
            Prompt::Named(n) => named(n),
            Prompt::Default => match &self.default_name {
                Some(n) => named(n),
                None => Ok(String::new()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts(names: &[&str], default: Option<&str>) -> Prompts {
        Prompts {
            named: names
                .iter()
                .map(|n| (n.to_string(), format!("{n}: ")))
                .collect(),
            default_name: default.map(str::to_string),
        }
    }

    #[test]
    fn roles_take_the_model_prompt_or_its_default() {
        let p = prompts(&["query", "passage"], Some("passage"));
        assert_eq!(
            p.choose(None, Some(InputRole::Query)),
            Prompt::Named("query".into())
        );
        // sentence-transformers' encode_document falls back to "passage" and "corpus".
        assert_eq!(
            p.choose(None, Some(InputRole::Document)),
            Prompt::Named("passage".into())
        );
        assert_eq!(p.choose(None, None), Prompt::Default);
        assert_eq!(p.text(&Prompt::Default).unwrap(), "passage: ");
        let only_default = prompts(&["clustering"], Some("clustering"));
        assert_eq!(
            only_default.choose(None, Some(InputRole::Query)),
            Prompt::Default
        );
        assert_eq!(only_default.text(&Prompt::Default).unwrap(), "clustering: ");
        let both = prompts(&["document", "passage"], None);
        assert_eq!(
            both.choose(None, Some(InputRole::Document)),
            Prompt::Named("document".into())
        );
    }

    #[test]
    fn explicit_choices_win_and_unknown_names_list_the_known_ones() {
        let p = prompts(&["query"], None);
        let text = Prompt::Text("为这个句子生成表示：".into());
        assert_eq!(p.choose(Some(text.clone()), Some(InputRole::Query)), text);
        assert_eq!(p.text(&text).unwrap(), "为这个句子生成表示：");
        assert_eq!(p.text(&Prompt::None).unwrap(), "");
        assert_eq!(p.text(&Prompt::Default).unwrap(), "");
        let e = p.text(&Prompt::Named("passage".into())).unwrap_err();
        assert!(e.is_invalid_input());
        assert!(e.to_string().contains("known: query"), "{e}");
        let e = Prompts::default()
            .text(&Prompt::Named("query".into()))
            .unwrap_err();
        assert!(e.to_string().contains("known: none"), "{e}");
    }
}
