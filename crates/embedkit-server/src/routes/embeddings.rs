//! `POST /v1/embeddings`: validate → hold the answer's bytes → tokenize within the token
//! budget (blocking pool) → queue → finish → respond.

use crate::access::ModelLabel;
use crate::admission::Admission;
use crate::engine::TextItem;
use crate::images::{self, ServedImageModel};
use crate::json::OpenAiJson;
use crate::metrics::Reason;
use crate::openai::{
    ApiError, EmbeddingData, EmbeddingList, EmbeddingRequest, EmbeddingVector, EncodingFormat,
    ErrorKind, Input, InputType, Usage,
};
use crate::proxy::RemoteModel;
use crate::state::AppState;
use crate::token_ids;
use crate::tokenizing;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use base64::Engine as _;
use embedkit_models::{InputRole, Prepared, Prompt, SentenceEmbedder};
use std::sync::Arc;

/// Header telling how many inputs were cut to the model's maximum length.
pub const TRUNCATED_HEADER: &str = "x-embedkit-truncated-inputs";

/// Bytes an answer holds per value of its vectors while it is built and written: the `f32`
/// and its JSON text (up to 15 characters and a comma; base64 takes less).
const ANSWER_BYTES_PER_VALUE: u64 = 20;

/// Dimensions assumed for a remote model's vectors when the request names none: OpenAI's
/// largest embedding model has 3072.
const REMOTE_DIMENSIONS: usize = 3072;

pub async fn create(
    State(state): State<AppState>,
    Extension(label): Extension<ModelLabel>,
    Extension(admission): Extension<Admission>,
    OpenAiJson(mut req): OpenAiJson<EmbeddingRequest>,
) -> Result<Response, ApiError> {
    // The inputs are moved out, not copied: a request's texts are held once.
    let input = std::mem::replace(&mut req.input, Input::Texts(Vec::new()));
    if let Some(remote) = state.remotes.get(&req.model) {
        label.set(&req.model);
        return proxy(&state, &admission, remote.clone(), req, input).await;
    }
    if let Some(served) = state.images.get(&req.model) {
        label.set(&req.model);
        return embed_images(&state, &admission, served, req, input).await;
    }
    if state.rerankers.contains_key(&req.model) {
        label.set(&req.model);
        return Err(ApiError::invalid(
            Some("model"),
            format!(
                "{:?} is a reranker (cross-encoder): it scores (query, document) pairs at POST /v1/rerank and /rerank, and gives no embeddings",
                req.model
            ),
        ));
    }
    let served = state.models.get(&req.model).ok_or_else(|| {
        ApiError::new(
            ErrorKind::ModelNotFound,
            format!(
                "the model {:?} does not exist (see GET /v1/models)",
                req.model
            ),
        )
    })?;
    label.set(&req.model);
    let mut texts = input_texts(
        input,
        &req.model,
        state.limits.max_client_batch,
        state.limits.allow_empty,
    )?;
    served
        .model
        .check_dimensions(req.dimensions)
        .map_err(|e| ApiError::invalid(Some("dimensions"), e.to_string()))?;
    let prompt = choose_prompt(&served.model, &req)?;
    hold_answer(
        &admission,
        texts.len(),
        req.dimensions.unwrap_or(served.model.dimensions()),
    )?;

    let model = served.model.clone();
    let max_len = model.max_seq_length();
    let cut: Vec<bool> = texts
        .iter_mut()
        .map(|t| tokenizing::cut(t, max_len))
        .collect();
    let prompt_bytes = model
        .prompt_text(&prompt)
        .map_err(|e| ApiError::invalid(Some("prompt_name"), e.to_string()))?
        .len();
    let prompt_tokens = {
        let (model, prompt) = (model.clone(), prompt.clone());
        tokio::task::spawn_blocking(move || model.prepare(&[], &prompt))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
            .map_err(|e| ApiError::invalid(Some("input"), e.to_string()))?
            .prompt_tokens
    };
    let max_tokens = state.limits.max_request_tokens;
    let mut tokenized = tokenizing::tokenize(
        &admission,
        texts,
        |t| tokenizing::estimate(t.len() + prompt_bytes),
        max_tokens,
        |tokens| {
            ApiError::invalid(
                Some("input"),
                format!("requested at least {tokens} tokens, max {max_tokens} tokens per request"),
            )
        },
        move |chunk: Vec<String>| {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            model
                .prepare(&refs, &prompt)
                .map(|p| p.inputs)
                .map_err(|e| ApiError::invalid(Some("input"), e.to_string()))
        },
    )
    .await?;
    for (encoded, cut) in tokenized.inputs.iter_mut().zip(cut) {
        encoded.truncated |= cut;
    }
    let tokens = tokenized.tokens;
    let truncated = tokenized.inputs.iter().filter(|e| e.truncated).count();
    if truncated > 0 && !req.truncate {
        return Err(ApiError::invalid(
            Some("input"),
            format!(
                "{truncated} input(s) exceed the model's maximum of {} tokens and \"truncate\" is false",
                served.model.max_seq_length()
            ),
        ));
    }

    let prepared = Prepared {
        inputs: tokenized.inputs,
        prompt_tokens,
    };
    let vectors = served
        .worker
        .submit(TextItem::all(prepared))
        .await
        .map_err(|_| ApiError::new(ErrorKind::Internal, "the model worker dropped the request"))?
        .map_err(|e| ApiError::new(ErrorKind::Internal, e))?;
    // The tokens are gone once the model has run.
    drop(tokenized.reservation);

    let vectors = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            served
                .model
                .finish(v, req.dimensions, req.normalize)
                .map_err(|e| match e {
                    embedkit_models::Error::NonFinite => {
                        ApiError::new(ErrorKind::Model, format!("input {i}: {e}"))
                    }
                    e => ApiError::new(ErrorKind::Internal, e.to_string()),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(respond(vectors, &req, tokens, truncated))
}

/// Holds the bytes of an answer of `inputs` vectors of `dimensions` values until it is
/// written.
fn hold_answer(admission: &Admission, inputs: usize, dimensions: usize) -> Result<(), ApiError> {
    admission.hold_bytes((inputs * dimensions) as u64 * ANSWER_BYTES_PER_VALUE)
}

/// Answers from a remote model (cache first, then upstream).
async fn proxy(
    state: &AppState,
    admission: &Admission,
    remote: Arc<RemoteModel>,
    req: EmbeddingRequest,
    input: Input,
) -> Result<Response, ApiError> {
    let texts = input_texts(
        input,
        &req.model,
        state.limits.max_client_batch,
        state.limits.allow_empty,
    )?;
    if req.dimensions == Some(0) {
        return Err(ApiError::invalid(
            Some("dimensions"),
            "dimensions must be at least 1",
        ));
    }
    hold_answer(
        admission,
        texts.len(),
        req.dimensions.unwrap_or(REMOTE_DIMENSIONS),
    )?;
    let dims = req.dimensions;
    let (mut vectors, tokens) = tokio::task::spawn_blocking(move || remote.embed(&texts, dims))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("upstream: {e}")))?;
    if req.normalize {
        vectors
            .iter_mut()
            .for_each(|v| embedkit_core::vector::normalize(v));
    }
    Ok(respond(vectors, &req, tokens, 0))
}

/// Answers from an image model: every input a `data:image/...;base64,...` URI. The images'
/// sizes are read from their headers and their pixels taken from the budgets before any
/// image is decoded.
async fn embed_images(
    state: &AppState,
    admission: &Admission,
    served: &ServedImageModel,
    req: EmbeddingRequest,
    input: Input,
) -> Result<Response, ApiError> {
    if matches!(input, Input::Tokens(_) | Input::TokenLists(_)) {
        return Err(ApiError::invalid(
            Some("input"),
            format!(
                "{:?} is an image model: input must be data:image/...;base64,... URIs, not token ids",
                req.model
            ),
        ));
    }
    let uris = Arc::new(input_texts(
        input,
        &req.model,
        state.limits.max_client_batch,
        false,
    )?);
    let dims = served.model.dimensions();
    if req.dimensions.is_some_and(|d| d != dims) {
        return Err(ApiError::invalid(
            Some("dimensions"),
            format!("{:?} gives {dims}-dimensional embeddings only", req.model),
        ));
    }
    hold_answer(admission, uris.len(), dims)?;
    let model = served.model.clone();
    let pixels = {
        let (model, uris) = (model.clone(), uris.clone());
        tokio::task::spawn_blocking(move || images::pixels(&model, &uris))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
            .map_err(|e| ApiError::invalid(Some("input"), e))?
    };
    let max = state.limits.max_request_pixels;
    if pixels > max {
        admission.reject(Reason::RequestPixels);
        return Err(ApiError {
            param: Some("input"),
            ..ApiError::new(
                ErrorKind::TooLarge,
                format!(
                    "the images hold {pixels} pixels (decoded, plus the model's input per image), max {max} per request (--max-request-pixels)"
                ),
            )
        });
    }
    let held_pixels = admission.pixels(pixels)?;
    let prepared = tokio::task::spawn_blocking(move || images::prepare(&model, &uris))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|e| ApiError::invalid(Some("input"), e))?;
    let mut vectors = served
        .worker
        .submit(prepared)
        .await
        .map_err(|_| ApiError::new(ErrorKind::Internal, "the model worker dropped the request"))?
        .map_err(|e| ApiError::new(ErrorKind::Internal, e))?;
    drop(held_pixels);
    // The worker runs the network unchecked (its passes mix requests): each request checks
    // its own rows, so one request's NaN fails only that request.
    if let Some(i) = vectors
        .iter()
        .position(|v| v.iter().any(|x| !x.is_finite()))
    {
        let e = embedkit_vision::Error::NonFinite("embeddings");
        return Err(ApiError::new(ErrorKind::Model, format!("input {i}: {e}")));
    }
    if req.normalize {
        vectors
            .iter_mut()
            .for_each(|v| embedkit_core::vector::normalize(v));
    }
    // Images have no tokens: usage counts 0, as OpenAI counts nothing it did not tokenize.
    Ok(respond(vectors, &req, 0, 0))
}

/// The OpenAI response body plus the truncation header.
fn respond(
    vectors: Vec<Vec<f32>>,
    req: &EmbeddingRequest,
    tokens: usize,
    truncated: usize,
) -> Response {
    let mut data = Vec::with_capacity(vectors.len());
    for (index, v) in vectors.into_iter().enumerate() {
        let embedding = match req.encoding_format {
            EncodingFormat::Float => EmbeddingVector::Float(v),
            EncodingFormat::Base64 => {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                EmbeddingVector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        };
        data.push(EmbeddingData {
            object: "embedding",
            index,
            embedding,
        });
    }
    let body = EmbeddingList {
        object: "list",
        data,
        model: req.model.clone(),
        usage: Usage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(TRUNCATED_HEADER, HeaderValue::from(truncated));
    response
}

/// The request's inputs as texts (token ids decoded), checked against the limits.
fn input_texts(
    input: Input,
    model: &str,
    max_inputs: usize,
    allow_empty: bool,
) -> Result<Vec<String>, ApiError> {
    let empty_ids = match &input {
        Input::Tokens(ids) => ids.is_empty(),
        Input::TokenLists(lists) => lists.iter().any(Vec::is_empty),
        _ => false,
    };
    let texts = match input {
        Input::Text(t) => vec![t],
        Input::Texts(ts) => ts,
        Input::Tokens(ids) => vec![token_ids::decode(model, &ids)?],
        Input::TokenLists(lists) => lists
            .iter()
            .map(|ids| token_ids::decode(model, ids))
            .collect::<Result<_, _>>()?,
    };
    if texts.is_empty() {
        return Err(ApiError::invalid(
            Some("input"),
            "input must not be an empty array",
        ));
    }
    if texts.len() > max_inputs {
        return Err(ApiError::invalid(
            Some("input"),
            format!(
                "too many inputs: {} given, at most {max_inputs} per request",
                texts.len()
            ),
        ));
    }
    if !allow_empty && (empty_ids || texts.iter().any(String::is_empty)) {
        return Err(ApiError::invalid(
            Some("input"),
            "input must not contain empty strings (start the server with --allow-empty to embed them)",
        ));
    }
    Ok(texts)
}

/// The request's prompt: `prompt_name` if given (it must exist), else the model's prompt for
/// `input_type` by the one rule every route uses ([`Prompts::choose`]).
fn choose_prompt(model: &SentenceEmbedder, req: &EmbeddingRequest) -> Result<Prompt, ApiError> {
    let explicit = req.prompt_name.clone().map(Prompt::Named);
    if let Some(p) = &explicit {
        model
            .prompt_text(p)
            .map_err(|e| ApiError::invalid(Some("prompt_name"), e.to_string()))?;
    }
    let role = req.input_type.map(|kind| match kind {
        InputType::Query => InputRole::Query,
        InputType::Document => InputRole::Document,
    });
    Ok(model.prompts().choose(explicit, role))
}
