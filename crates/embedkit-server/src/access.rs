//! What the server records of every request: its status in `/metrics`, its latency per served
//! model in `/metrics`, and one access log line (target `embedkit_server::access`, level
//! info): method, path, status, latency and the model when one was used.
//!
//! The model is known only once a handler has read the body (or, for collections, looked up
//! the collection's model), after this middleware has handed the request on: the middleware
//! puts an empty [`ModelLabel`] into the request, the handler fills it in, the middleware
//! reads it when the answer comes back.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The served model name a request used, set by its handler (a request extension).
#[derive(Clone, Default)]
pub struct ModelLabel(Arc<Mutex<Option<String>>>);

impl ModelLabel {
    /// Records `name`: call it only with a name the server serves (the label's values must
    /// stay bounded), once the request is known to be for it.
    pub fn set(&self, name: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.to_string());
    }

    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The middleware: times the request, then counts, measures and logs it.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let label = ModelLabel::default();
    req.extensions_mut().insert(label.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(status);
    let model = label.get();
    if let Some(m) = &model {
        state.metrics.latency(m, elapsed);
    }
    tracing::info!(
        target: "embedkit_server::access",
        %method,
        %path,
        status,
        latency_ms = %format_args!("{:.3}", elapsed.as_secs_f64() * 1e3),
        model = %model.as_deref().unwrap_or("-"),
    );
    response
}
