//! `POST /v1/embeddings` request body, as the OpenAI API defines it, plus embedkit extras.

use serde::Deserialize;

/// The `input` field: text(s) or tiktoken token ids (what the SDKs send by default).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One text as token ids.
    Tokens(Vec<u32>),
    /// Several texts as token ids.
    TokenLists(Vec<Vec<u32>>),
}

/// `encoding_format`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// JSON numbers.
    #[default]
    Float,
    /// Base64 of little-endian f32 bytes.
    Base64,
}

/// embedkit extra: which side of retrieval the input is (picks the model's prompt).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// A search query (the model's `query` prompt).
    Query,
    /// A document (the `document` prompt if the model has one).
    Document,
}

/// The request body. Unknown fields are ignored, as OpenAI does.
#[derive(Debug, Clone, Deserialize)]
pub struct EmbeddingRequest {
    /// What to embed.
    pub input: Input,
    /// Served model name.
    pub model: String,
    /// Output encoding.
    #[serde(default)]
    pub encoding_format: EncodingFormat,
    /// Matryoshka truncation + re-normalization.
    #[serde(default)]
    pub dimensions: Option<usize>,
    /// Accepted and ignored.
    #[serde(default)]
    pub user: Option<String>,
    /// embedkit extra: a named prompt of the model.
    #[serde(default)]
    pub prompt_name: Option<String>,
    /// embedkit extra: query or document.
    #[serde(default)]
    pub input_type: Option<InputType>,
    /// embedkit extra: force L2 normalization.
    #[serde(default)]
    pub normalize: bool,
    /// embedkit extra: `false` rejects inputs longer than the model's limit.
    #[serde(default = "default_truncate")]
    pub truncate: bool,
}

fn default_truncate() -> bool {
    true
}
