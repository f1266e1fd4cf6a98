//! Token-id inputs: the OpenAI SDKs and LangChain send tiktoken ids, not text. They are
//! decoded with the encoding the client used (tiktoken's choice for the requested model name,
//! `cl100k_base` for names tiktoken does not know, as LangChain does) and the text is then
//! tokenized again for the served model. Foreign ids are never fed to a model.

use crate::openai::ApiError;

/// Decodes tiktoken ids sent for `model` back to text.
pub fn decode(model: &str, ids: &[u32]) -> Result<String, ApiError> {
    let bpe =
        tiktoken_rs::bpe_for_model(model).unwrap_or_else(|_| tiktoken_rs::cl100k_base_singleton());
    let bytes = bpe.decode_bytes(ids).map_err(|e| {
        ApiError::invalid(
            Some("input"),
            format!("token id {} is not in the tiktoken vocabulary", e.token),
        )
    })?;
    // A chunk boundary can split a multi-byte character; keep what is there.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_cl100k_ids_for_unknown_model_names() {
        let ids = tiktoken_rs::cl100k_base_singleton().encode_ordinary("hello 世界");
        assert_eq!(decode("all-MiniLM-L6-v2", &ids).unwrap(), "hello 世界");
    }

    #[test]
    fn rejects_ids_outside_the_vocabulary() {
        assert!(decode("all-MiniLM-L6-v2", &[u32::MAX]).is_err());
    }
}
