//! An OpenAI-compatible embedding server: `POST /v1/embeddings` answers exactly like the
//! OpenAI API, so the `openai` SDK and LangChain work by changing `base_url` only.
//!
//! * [`openai`] holds the wire types and the error envelope (the only place that knows the
//!   OpenAI schema).
//! * [`engine`] owns each model on its own thread and packs queued requests into batches by a
//!   token budget; the HTTP side never runs a model. [`images`] does the same for image
//!   models, whose inputs are `data:image/...;base64,...` URIs.
//! * [`routes`] are the axum handlers; [`auth`], [`access`] (status counts, latencies, the
//!   access log), [`metrics`] and [`token_ids`] support them.
//! * [`admission`] bounds what requests hold at once (slots, bytes, tokens, pixels), so the
//!   server's memory stays bounded under any load; [`tokenizing`] tokenizes within it.
//! * [`rerank`] serves cross-encoders (rerankers) at `/v1/rerank` (Cohere / Jina schema) and
//!   `/rerank` (text-embeddings-inference's), through the same engine.
//! * [`store_api`] puts an `embedkit_store` vector store behind `/v1/collections` (with
//!   `--store`): add documents, search, delete, with the same auth and error envelope.
//!
//! The server knows nothing about model internals: it calls `embedkit_models` and
//! `embedkit_vision`.

pub mod access;
pub mod admission;
pub mod auth;
mod config;
pub mod engine;
pub mod images;
pub mod json;
pub mod metrics;
pub mod openai;
pub mod proxy;
pub mod rerank;
pub mod routes;
mod state;
pub mod store_api;
pub mod token_ids;
pub mod tokenizing;

pub use config::{ModelSpec, ServerConfig};
pub use state::AppState;

use std::net::SocketAddr;

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A model failed to load.
    #[error("cannot load model {spec}: {source}")]
    Model {
        /// The model as given.
        spec: String,
        /// The cause.
        source: embedkit_models::Error,
    },
    /// The vector store does not open.
    #[error("cannot open store {url}: {source}")]
    Store {
        /// The URL as given.
        url: String,
        /// The cause.
        source: embedkit_store::Error,
    },
    /// Bad settings.
    #[error("{0}")]
    Config(String),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Loads the models, binds, serves until SIGINT/SIGTERM, then drains in-flight requests.
pub fn run(config: ServerConfig) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The state is made, and finally dropped, outside the async context: a PostgreSQL
    // store's client (the `postgres` crate) drives its own runtime, which cannot start, or
    // close its connections, inside this one.
    let state = {
        let _context = runtime.enter();
        AppState::load(&config)?
    };
    let served = state.clone();
    let result = runtime.block_on(async move {
        let state = served;
        let addr: SocketAddr = format!("{}:{}", config.host, config.port)
            .parse()
            .map_err(|e| StartError::Config(format!("bad --host/--port: {e}")))?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        // Announce the real port (useful with --port 0) on stdout, machine-readable.
        println!("listening on http://{bound}");
        let app = routes::router(state.clone(), &config);
        state.warm_up_in_background();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        tracing::info!("shut down after draining in-flight requests");
        Ok(())
    });
    drop(state);
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
