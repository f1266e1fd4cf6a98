//! Admission control: what bounds the server's memory under any load.
//!
//! A request to a route that runs a model or the store first takes one of
//! `--max-concurrent-requests` slots ([`middleware::admit`], 429 when none is free), before a
//! byte of its body is read; its body is then read under `--max-body-mb` (413). What the
//! request holds from then on is taken from budgets shared by every request ([`Budgets`]):
//! its body and answer bytes, its tokens (estimated from the text before tokenizing, then
//! counted) and its image pixels (read from the image headers before any image is decoded).
//! What does not fit in its own request limit is a 400 (tokens, as OpenAI answers) or 413
//! (bytes, pixels); what does not fit beside the other requests now is a 429 with
//! `Retry-After`. Every refusal is counted in `/metrics` by [`Reason`].

mod budget;
pub mod middleware;

pub use budget::{Budget, Reservation, Shortfall};

use crate::config::ServerConfig;
use crate::metrics::{Metrics, Reason};
use crate::openai::{ApiError, ErrorKind};
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Memory per byte of body or answer held: a body and its parsed form while it is parsed
/// (an answer is held at 20 bytes per value, its vectors and their JSON text together).
pub const MEMORY_PER_BODY_BYTE: u64 = 2;
/// Memory per token held: while a text is tokenized, the tokenizer's working memory, about
/// 100 bytes per byte of text (a token is estimated at one byte of text until it is counted);
/// afterwards 8 bytes per token.
pub const MEMORY_PER_TOKEN: u64 = 100;
/// Memory per pixel held: a decoded image takes at most 11 bytes per pixel (16-bit RGBA and
/// its 8-bit RGB copy), the model's input 12 (three `f32`s).
pub const MEMORY_PER_PIXEL: u64 = 12;
/// Memory per admitted request besides its bytes, tokens and pixels: its task, connection
/// state and headers.
pub const MEMORY_PER_REQUEST: u64 = 32 << 10;

/// The budgets every admitted request takes from.
pub struct Budgets {
    requests: Arc<Budget>,
    body_bytes: Arc<Budget>,
    tokens: Arc<Budget>,
    pixels: Arc<Budget>,
    metrics: Arc<Metrics>,
}

impl Budgets {
    /// The budgets of `config`; refusals are counted in `metrics`.
    pub fn new(config: &ServerConfig, metrics: Arc<Metrics>) -> Self {
        let budget = |limit: u64| Arc::new(Budget::new(limit));
        Self {
            requests: budget(config.max_concurrent_requests as u64),
            body_bytes: budget(config.max_inflight_body_bytes),
            tokens: budget(config.max_inflight_tokens),
            pixels: budget(config.max_inflight_pixels),
            metrics,
        }
    }

    /// The most memory admitted requests can hold at once, by the budgets: what the server
    /// needs beyond its models, their forward passes and the runtime.
    pub fn memory_bound(&self) -> u64 {
        [
            (&self.requests, MEMORY_PER_REQUEST),
            (&self.body_bytes, MEMORY_PER_BODY_BYTE),
            (&self.tokens, MEMORY_PER_TOKEN),
            (&self.pixels, MEMORY_PER_PIXEL),
        ]
        .iter()
        .map(|(b, per)| b.limit().saturating_mul(*per))
        .fold(0, u64::saturating_add)
    }

    /// The `/metrics` gauges: what admitted requests hold now, and the limits.
    pub fn render(&self, s: &mut String) {
        let all = [
            ("requests", &self.requests),
            ("body_bytes", &self.body_bytes),
            ("tokens", &self.tokens),
            ("pixels", &self.pixels),
        ];
        s.push_str("# HELP embedkit_inflight What admitted requests hold now, by resource.\n");
        s.push_str("# TYPE embedkit_inflight gauge\n");
        for (name, b) in all {
            let _ = writeln!(s, "embedkit_inflight{{resource=\"{name}\"}} {}", b.used());
        }
        s.push_str(
            "# HELP embedkit_inflight_limit The most admitted requests may hold, by resource.\n",
        );
        s.push_str("# TYPE embedkit_inflight_limit gauge\n");
        for (name, b) in all {
            let _ = writeln!(
                s,
                "embedkit_inflight_limit{{resource=\"{name}\"}} {}",
                b.limit()
            );
        }
    }
}

/// One admitted request: its slot and the bytes it holds until its answer is written; the
/// handler takes tokens and pixels through it. Cloned into the request's extensions and into
/// the answer's body, the last clone gives everything back.
#[derive(Clone)]
pub struct Admission {
    budgets: Arc<Budgets>,
    held: Arc<Mutex<Held>>,
}

struct Held {
    _slot: Reservation,
    body_bytes: Reservation,
}

impl Admission {
    /// Takes a request slot, or refuses with 429.
    pub fn begin(budgets: &Arc<Budgets>) -> Result<Self, ApiError> {
        let slot = Reservation::take(&budgets.requests, 1).map_err(|_| {
            budgets.metrics.rejected(Reason::Concurrency);
            ApiError::new(
                ErrorKind::Overloaded,
                format!(
                    "the server is at capacity ({} requests in flight), retry shortly",
                    budgets.requests.limit()
                ),
            )
        })?;
        let body_bytes =
            Reservation::take(&budgets.body_bytes, 0).expect("an empty reservation always fits");
        Ok(Self {
            budgets: budgets.clone(),
            held: Arc::new(Mutex::new(Held {
                _slot: slot,
                body_bytes,
            })),
        })
    }

    /// Counts a refusal for `reason` that the caller answers itself.
    pub fn reject(&self, reason: Reason) {
        self.budgets.metrics.rejected(reason);
    }

    /// Holds `n` more bytes of body or answer until the answer is written.
    pub fn hold_bytes(&self, n: u64) -> Result<(), ApiError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.body_bytes
            .grow(n)
            .map_err(|s| self.refuse(s, Resource::BodyBytes, held.body_bytes.amount() + n))
    }

    /// An empty reservation of tokens, to grow as texts are tokenized.
    pub fn no_tokens(&self) -> Reservation {
        Reservation::take(&self.budgets.tokens, 0).expect("an empty reservation always fits")
    }

    /// Grows `r`, a reservation of [`no_tokens`](Self::no_tokens), by `n` tokens.
    pub fn grow_tokens(&self, r: &mut Reservation, n: u64) -> Result<(), ApiError> {
        let want = r.amount() + n;
        r.grow(n)
            .map_err(|s| self.refuse(s, Resource::Tokens, want))
    }

    /// Takes `n` pixels.
    pub fn pixels(&self, n: u64) -> Result<Reservation, ApiError> {
        Reservation::take(&self.budgets.pixels, n).map_err(|s| self.refuse(s, Resource::Pixels, n))
    }

    /// The error for a reservation of `want` units of `resource` that failed, counted.
    fn refuse(&self, shortfall: Shortfall, resource: Resource, want: u64) -> ApiError {
        let (reason, unit, flag, limit) = match resource {
            Resource::BodyBytes => (
                Reason::InflightBodyBytes,
                "bytes of body and answer",
                "--max-inflight-body-mb",
                self.budgets.body_bytes.limit(),
            ),
            Resource::Tokens => (
                Reason::InflightTokens,
                "tokens",
                "--max-inflight-tokens",
                self.budgets.tokens.limit(),
            ),
            Resource::Pixels => (
                Reason::InflightPixels,
                "image pixels",
                "--max-inflight-pixels",
                self.budgets.pixels.limit(),
            ),
        };
        self.reject(reason);
        match shortfall {
            Shortfall::Busy => ApiError::new(
                ErrorKind::Overloaded,
                format!(
                    "the server holds its limit of {limit} {unit} for the requests in flight, retry shortly"
                ),
            ),
            Shortfall::NeverFits => ApiError::new(
                ErrorKind::TooLarge,
                format!(
                    "this request needs {want} {unit}, more than the server holds for all requests at once ({limit}, {flag})"
                ),
            ),
        }
    }
}

enum Resource {
    BodyBytes,
    Tokens,
    Pixels,
}
