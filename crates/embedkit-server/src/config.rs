//! Server settings (resolved from the command line by the binary).

/// One model to serve.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// Folder or hub id.
    pub spec: String,
    /// Names clients use in the `model` field, all for this one model (aliases, e.g. both of
    /// OpenAI's embedding model names); at least one, each non-empty and used by no other
    /// model. Responses echo the name the request gave.
    pub served_names: Vec<String>,
}

impl ModelSpec {
    /// A model served under one name.
    pub fn new(spec: impl Into<String>, served_name: impl Into<String>) -> Self {
        Self {
            spec: spec.into(),
            served_names: vec![served_name.into()],
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Models; each request names one by its served name.
    pub models: Vec<ModelSpec>,
    /// Address to bind (loopback by default).
    pub host: String,
    /// Port (0 picks a free one).
    pub port: u16,
    /// Required bearer token, if any.
    pub api_key: Option<String>,
    /// Token budget of one forward pass.
    pub max_batch_tokens: usize,
    /// Most inputs in one request (OpenAI: 2048).
    pub max_client_batch: usize,
    /// Most tokens in one request (OpenAI: 300k); more gets 400.
    pub max_request_tokens: usize,
    /// Most image pixels in one request: the decoded width × height of every image plus the
    /// model's input (crop × crop) per image; more gets 413.
    pub max_request_pixels: u64,
    /// Requests admitted at once; more get 429.
    pub max_concurrent_requests: usize,
    /// Largest request body in bytes; larger gets 413.
    pub max_body_bytes: usize,
    /// Tokens held by all admitted requests at once (estimated from the text before
    /// tokenizing, then counted); more gets 429.
    pub max_inflight_tokens: u64,
    /// Image pixels (as [`max_request_pixels`](Self::max_request_pixels) counts them) held by
    /// all admitted requests at once; more gets 429.
    pub max_inflight_pixels: u64,
    /// Bytes of request bodies and answers held by all admitted requests at once; more gets
    /// 429.
    pub max_inflight_body_bytes: u64,
    /// Accept empty strings (OpenAI rejects them).
    pub allow_empty: bool,
    /// CORS origin to allow (`*` for any); none means CORS is off.
    pub cors_allow_origin: Option<String>,
    /// Where `openai:NAME` models live.
    pub upstream: embedkit_models::RemoteOptions,
    /// Vectors cached per remote model.
    pub cache_entries: usize,
    /// How local models keep their weights.
    pub precision: embedkit_models::Precision,
    /// Vector store URL (file path, `sqlite://PATH`, ...) for the `/v1/collections` routes;
    /// none leaves them off.
    pub store: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            models: Vec::new(),
            host: "127.0.0.1".into(),
            port: 8080,
            api_key: None,
            max_batch_tokens: 4096,
            max_client_batch: 2048,
            max_request_tokens: 300_000,
            max_request_pixels: 4 << 20,
            max_concurrent_requests: 512,
            max_body_bytes: 32 << 20,
            max_inflight_tokens: 512 << 10,
            max_inflight_pixels: 4 << 20,
            max_inflight_body_bytes: 32 << 20,
            allow_empty: false,
            cors_allow_origin: None,
            upstream: embedkit_models::RemoteOptions::default(),
            cache_entries: 65536,
            precision: embedkit_models::Precision::Auto,
            store: None,
        }
    }
}
