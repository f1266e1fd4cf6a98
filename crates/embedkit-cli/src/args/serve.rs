//! `embedkit serve`: the OpenAI-compatible HTTP API.

use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Model folder or hub id; repeat to serve several models.
    #[arg(long, short, required = true)]
    pub model: Vec<String>,
    /// Name clients put in the request's "model" field, one per --model in the same order
    /// (default: the folder name, or the hub id); several names separated by commas make
    /// aliases of one model (e.g. text-embedding-3-large,text-embedding-3-small).
    #[arg(long, value_name = "NAME[,ALIAS...]")]
    pub served_model_name: Vec<String>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed on stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Require this key as "Authorization: Bearer KEY" (without it, or with an empty one, any
    /// or no Authorization header is accepted).
    #[arg(long, env = "EMBEDKIT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Token budget of one forward pass (requests are packed up to it).
    #[arg(long, default_value_t = 16384)]
    pub max_batch_tokens: usize,
    /// Most inputs in one request.
    #[arg(long, default_value_t = 2048)]
    pub max_client_batch: usize,
    /// Requests admitted at once; more are answered 429.
    #[arg(long, default_value_t = 512)]
    pub max_concurrent_requests: usize,
    /// Largest request body, in MiB (413 above).
    #[arg(long, default_value_t = 32)]
    pub max_body_mb: usize,
    /// Embed empty strings instead of answering 400 (OpenAI answers 400).
    #[arg(long)]
    pub allow_empty: bool,
    /// Allow browsers from this origin ("*" for any); CORS is off otherwise.
    #[arg(long)]
    pub cors_allow_origin: Option<String>,
    /// Base URL of the API behind openai:NAME models (default: OPENAI_BASE_URL, else OpenAI's).
    #[arg(long)]
    pub upstream_base_url: Option<String>,
    /// Environment variable holding the key for the upstream API.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub upstream_api_key_env: String,
    /// Vectors cached per openai:NAME model (0 disables the cache).
    #[arg(long, default_value_t = 65536)]
    pub cache_entries: usize,
    /// How local models keep their weights: auto (as stored), f32, bf16 (half the memory) or
    /// int8 (dynamic quantization, approximate).
    #[arg(long, default_value = "auto")]
    pub precision: embedkit_models::Precision,
    /// Vector store (file path or sqlite://PATH) to serve under /v1/collections: add
    /// documents, search, delete, with the served models.
    #[arg(long)]
    pub store: Option<String>,
}
