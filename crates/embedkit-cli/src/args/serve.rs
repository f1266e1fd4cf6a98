//! `embedkit serve`: the OpenAI-compatible HTTP API.
//!
//! Every flag can also come from an environment variable, `EMBEDKIT_` and the flag's name in
//! upper case with `_` for `-` (as text-embeddings-inference does), for containers and
//! service managers; a flag on the command line wins over its variable. The repeatable
//! flags take several values in one variable separated by `;`, not `,`: a served name's
//! commas already make aliases (`EMBEDKIT_SERVED_MODEL_NAME="a,b;c"` is `--served-model-name
//! a,b --served-model-name c`). The `;` splits values given on the command line too, where
//! a shell needs it quoted anyway.

use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Model folder or hub id; repeat to serve several models (in EMBEDKIT_MODEL: separated
    /// by ';').
    #[arg(
        long,
        short,
        required = true,
        env = "EMBEDKIT_MODEL",
        value_delimiter = ';'
    )]
    pub model: Vec<String>,
    /// Name clients put in the request's "model" field, one per --model in the same order
    /// (default: the folder name, or the hub id); several names separated by commas make
    /// aliases of one model (e.g. text-embedding-3-large,text-embedding-3-small). In
    /// EMBEDKIT_SERVED_MODEL_NAME the models' names are separated by ';'.
    #[arg(
        long,
        value_name = "NAME[,ALIAS...]",
        env = "EMBEDKIT_SERVED_MODEL_NAME",
        value_delimiter = ';'
    )]
    pub served_model_name: Vec<String>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1", env = "EMBEDKIT_HOST")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed on stdout).
    #[arg(long, default_value_t = 8080, env = "EMBEDKIT_PORT")]
    pub port: u16,
    /// Require this key as "Authorization: Bearer KEY" (without it, or with an empty one, any
    /// or no Authorization header is accepted).
    #[arg(long, env = "EMBEDKIT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Token budget of one forward pass (requests are packed up to it); the pass's working
    /// memory grows with it.
    #[arg(long, default_value_t = 4096, env = "EMBEDKIT_MAX_BATCH_TOKENS")]
    pub max_batch_tokens: usize,
    /// Most inputs in one request.
    #[arg(long, default_value_t = 2048, env = "EMBEDKIT_MAX_CLIENT_BATCH")]
    pub max_client_batch: usize,
    /// Most tokens in one request (400 above, as OpenAI answers).
    #[arg(long, default_value_t = 300_000, env = "EMBEDKIT_MAX_REQUEST_TOKENS")]
    pub max_request_tokens: usize,
    /// Most image pixels in one request: each image's decoded width x height (read from its
    /// header, before decoding) plus the model's input (224 x 224) per image (413 above).
    #[arg(long, default_value_t = 4 << 20, env = "EMBEDKIT_MAX_REQUEST_PIXELS")]
    pub max_request_pixels: u64,
    /// Requests admitted at once, counted before their bodies are read; more are answered 429.
    #[arg(long, default_value_t = 512, env = "EMBEDKIT_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: usize,
    /// Largest request body, in MiB (413 above).
    #[arg(long, default_value_t = 32, env = "EMBEDKIT_MAX_BODY_MB")]
    pub max_body_mb: usize,
    /// Tokens all admitted requests hold at once (estimated from the text's bytes while it is
    /// tokenized); more are answered 429.
    #[arg(long, default_value_t = 512 << 10, env = "EMBEDKIT_MAX_INFLIGHT_TOKENS")]
    pub max_inflight_tokens: u64,
    /// Image pixels (as --max-request-pixels counts them) all admitted requests hold at once;
    /// more are answered 429.
    #[arg(long, default_value_t = 4 << 20, env = "EMBEDKIT_MAX_INFLIGHT_PIXELS")]
    pub max_inflight_pixels: u64,
    /// MiB of request bodies and answers all admitted requests hold at once; more are
    /// answered 429.
    #[arg(long, default_value_t = 32, env = "EMBEDKIT_MAX_INFLIGHT_BODY_MB")]
    pub max_inflight_body_mb: u64,
    /// Embed empty strings instead of answering 400 (OpenAI answers 400). In
    /// EMBEDKIT_ALLOW_EMPTY: true or false (also 1/0, yes/no, on/off).
    #[arg(long, env = "EMBEDKIT_ALLOW_EMPTY", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_empty: bool,
    /// Allow browsers from this origin ("*" for any); CORS is off otherwise.
    #[arg(long, env = "EMBEDKIT_CORS_ALLOW_ORIGIN")]
    pub cors_allow_origin: Option<String>,
    /// Base URL of the API behind openai:NAME models (default: OPENAI_BASE_URL, else OpenAI's).
    #[arg(long, env = "EMBEDKIT_UPSTREAM_BASE_URL")]
    pub upstream_base_url: Option<String>,
    /// Environment variable holding the key for the upstream API.
    #[arg(
        long,
        default_value = "OPENAI_API_KEY",
        env = "EMBEDKIT_UPSTREAM_API_KEY_ENV"
    )]
    pub upstream_api_key_env: String,
    /// Vectors cached per openai:NAME model (0 disables the cache).
    #[arg(long, default_value_t = 65536, env = "EMBEDKIT_CACHE_ENTRIES")]
    pub cache_entries: usize,
    /// How local models keep their weights: auto (as stored), f32, bf16 (half the memory) or
    /// int8 (dynamic quantization, approximate).
    #[arg(long, default_value = "auto", env = "EMBEDKIT_PRECISION")]
    pub precision: embedkit_models::Precision,
    /// Vector store (file path, sqlite://PATH or postgres://...) to serve under
    /// /v1/collections: add documents, search, delete, with the served models. The same
    /// variable as `embedkit index` and `search` read.
    #[arg(long, env = "EMBEDKIT_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::args::Cli;
    use clap::CommandFactory;
    use std::collections::BTreeSet;

    /// (variable, flag) of every `serve` option, global ones included.
    fn serve_variables() -> BTreeSet<(String, String)> {
        let mut cli = Cli::command();
        cli.build();
        let serve = cli.find_subcommand("serve").unwrap();
        serve
            .get_arguments()
            .filter_map(|a| a.get_long().map(|long| (a, long)))
            .filter(|(_, long)| !matches!(*long, "help" | "quiet"))
            .map(|(a, long)| {
                let env = a
                    .get_env()
                    .unwrap_or_else(|| panic!("--{long} has no variable"));
                (env.to_string_lossy().into_owned(), format!("--{long}"))
            })
            .collect()
    }

    #[test]
    fn every_serve_flag_has_its_embedkit_variable() {
        let vars = serve_variables();
        assert!(vars.len() >= 17, "{vars:?}");
        for (var, flag) in &vars {
            let want = format!("EMBEDKIT_{}", flag[2..].to_uppercase().replace('-', "_"));
            assert_eq!(var, &want);
        }
    }

    /// The tables of docs/server.md and its Chinese version name exactly these variables and
    /// flags (rows `` | `EMBEDKIT_X` | `--x` | ... ``).
    #[test]
    fn the_server_guides_tables_list_every_variable() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for page in ["docs/server.md", "docs/zh-CN/server.md"] {
            let text = std::fs::read_to_string(root.join(page)).unwrap();
            let rows: BTreeSet<(String, String)> = text
                .lines()
                .filter_map(|l| {
                    let mut cells = l.split('|').map(str::trim).skip(1);
                    let var = cells
                        .next()?
                        .strip_prefix("`EMBEDKIT_")?
                        .strip_suffix('`')?;
                    let flag = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
                    Some((format!("EMBEDKIT_{var}"), flag.to_string()))
                })
                .collect();
            assert_eq!(rows, serve_variables(), "{page}");
        }
    }
}
