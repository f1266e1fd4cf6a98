//! Any OpenAI-compatible embeddings API as an embedkit model (`openai:MODEL`): OpenAI itself,
//! another embedkit server, or any compatible service.

use crate::error::{Error, Result};
use std::time::Duration;

/// Most inputs per request (the OpenAI API's limit).
const MAX_INPUTS_PER_REQUEST: usize = 2048;

/// A remote embedding model behind `POST {base_url}/embeddings`.
pub struct OpenAiEmbedder {
    base_url: String,
    api_key: Option<String>,
    model: String,
    agent: ureq::Agent,
}

/// Where a remote model lives and how to authenticate.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    /// API base URL (default: `OPENAI_BASE_URL`, else `https://api.openai.com/v1`).
    pub base_url: Option<String>,
    /// Name of the environment variable holding the key (default `OPENAI_API_KEY`).
    pub api_key_env: Option<String>,
}

impl OpenAiEmbedder {
    /// A client for `model` with explicit settings.
    pub fn new(model: &str, base_url: &str, api_key: Option<String>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            model: model.to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(15))
                .timeout_read(Duration::from_secs(300))
                .build(),
        }
    }

    /// A client from the spec's model name and the options / environment.
    pub fn from_options(model: &str, options: &RemoteOptions) -> Self {
        let base_url = options
            .base_url
            .clone()
            .or_else(|| {
                std::env::var("OPENAI_BASE_URL")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "https://api.openai.com/v1".into());
        let key_var = options.api_key_env.as_deref().unwrap_or("OPENAI_API_KEY");
        let api_key = std::env::var(key_var).ok().filter(|s| !s.is_empty());
        Self::new(model, &base_url, api_key)
    }

    /// The remote model's name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The API base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Embeds texts (in requests of at most 2048), asking for `dimensions` if given.
    pub fn embed(&self, texts: &[&str], dimensions: Option<usize>) -> Result<Vec<Vec<f32>>> {
        Ok(self.embed_with_usage(texts, dimensions)?.0)
    }

    /// Like [`embed`](Self::embed), also returning the token count the API reported.
    pub fn embed_with_usage(
        &self,
        texts: &[&str],
        dimensions: Option<usize>,
    ) -> Result<(Vec<Vec<f32>>, usize)> {
        let mut out = Vec::with_capacity(texts.len());
        let mut tokens = 0;
        for chunk in texts.chunks(MAX_INPUTS_PER_REQUEST) {
            let (vectors, used) = self.request(chunk, dimensions)?;
            out.extend(vectors);
            tokens += used;
        }
        Ok((out, tokens))
    }

    fn request(&self, texts: &[&str], dimensions: Option<usize>) -> Result<(Vec<Vec<f32>>, usize)> {
        let url = format!("{}/embeddings", self.base_url);
        let mut body = serde_json::json!({
            "model": self.model,
            "input": texts,
            "encoding_format": "base64",
        });
        if let Some(d) = dimensions {
            body["dimensions"] = d.into();
        }
        let mut req = self
            .agent
            .post(&url)
            .set("Content-Type", "application/json");
        if let Some(k) = &self.api_key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        let text = match req.send_string(&body.to_string()) {
            Ok(r) => r
                .into_string()
                .map_err(|e| Error::Remote(format!("{url}: {e}")))?,
            Err(ureq::Error::Status(code, r)) => {
                let detail = r.into_string().unwrap_or_default();
                let message = serde_json::from_str::<serde_json::Value>(&detail)
                    .ok()
                    .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                    .unwrap_or(detail);
                return Err(Error::Remote(format!("{url} answered {code}: {message}")));
            }
            Err(e) => return Err(Error::Remote(format!("{url}: {e}"))),
        };
        parse_response(&text, texts.len()).map_err(|m| Error::Remote(format!("{url}: {m}")))
    }
}

/// Reads `data[].embedding` (base64 or floats) in `index` order, and `usage.prompt_tokens`.
fn parse_response(
    text: &str,
    expected: usize,
) -> std::result::Result<(Vec<Vec<f32>>, usize), String> {
    use base64::Engine as _;
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
    let data = v["data"].as_array().ok_or("no data array")?;
    let mut out = vec![None; expected];
    for item in data {
        let index = item["index"].as_u64().ok_or("an item has no index")? as usize;
        let vector: Vec<f32> = match &item["embedding"] {
            serde_json::Value::String(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("bad base64: {e}"))?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            other => {
                serde_json::from_value(other.clone()).map_err(|e| format!("bad embedding: {e}"))?
            }
        };
        let slot = out.get_mut(index).ok_or("index out of range")?;
        *slot = Some(vector);
    }
    let vectors = out
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| format!("no embedding for input {i}")))
        .collect::<std::result::Result<_, _>>()?;
    let tokens = v["usage"]["prompt_tokens"].as_u64().unwrap_or(0) as usize;
    Ok((vectors, tokens))
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn parses_base64_and_float_items_in_index_order() {
        // [1.0, -2.0] little-endian f32 = AACAPwAAAMA=
        let text = r#"{"data": [{"index": 1, "embedding": [0.5]}, {"index": 0, "embedding": "AACAPwAAAMA="}], "usage": {"prompt_tokens": 7}}"#;
        let (vectors, tokens) = parse_response(text, 2).unwrap();
        assert_eq!(vectors, vec![vec![1.0, -2.0], vec![0.5]]);
        assert_eq!(tokens, 7);
        assert!(
            parse_response(text, 3).is_err(),
            "a missing item is an error"
        );
        assert!(parse_response(r#"{"data": [{"index": 5, "embedding": []}]}"#, 1).is_err());
    }
}
