//! Shared state of the HTTP handlers: the served models and the admission limits.

use crate::admission::Budgets;
use crate::config::ModelSpec;
use crate::config::ServerConfig;
use crate::engine::{TextBatcher, Worker};
use crate::images::{ImageBatcher, ServedImageModel};
use crate::metrics::Metrics;
use crate::proxy::RemoteModel;
use crate::rerank::{RerankBatcher, ServedReranker};
use crate::store_api::{EngineEmbedder, StoreServedModel, StoreService};
use crate::StartError;
use embedkit_models::{
    CrossEncoder, EmbedOptions, Model, OpenAiEmbedder, SentenceEmbedder, REMOTE_PREFIX,
};
use embedkit_store::StoreModel;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One served model (cloned under each of its names; the clones share the model and queue).
#[derive(Clone)]
pub struct ServedModel {
    /// The model.
    pub model: Arc<SentenceEmbedder>,
    /// Its worker thread.
    pub worker: Worker<TextBatcher>,
    /// Unix time it was loaded.
    pub created: u64,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Served name → local model.
    pub models: Arc<BTreeMap<String, ServedModel>>,
    /// Served name → image model (inputs are `data:image/...` URIs).
    pub images: Arc<BTreeMap<String, ServedImageModel>>,
    /// Served name → remote model (`openai:NAME`), proxied with a cache.
    pub remotes: Arc<BTreeMap<String, Arc<RemoteModel>>>,
    /// Served name → reranker (cross-encoder), for `/v1/rerank` and `/rerank`.
    pub rerankers: Arc<BTreeMap<String, ServedReranker>>,
    /// Whether every model has run once (the `/health` answer).
    pub ready: Arc<AtomicBool>,
    /// Counters and timings.
    pub metrics: Arc<Metrics>,
    /// Admission control: the slots, bytes, tokens and pixels admitted requests hold.
    pub budgets: Arc<Budgets>,
    /// Limits from the configuration.
    pub limits: Arc<ServerConfig>,
    /// The vector store, when one is configured.
    pub store: Option<Arc<StoreService>>,
}

impl AppState {
    /// Loads every configured model and starts its worker.
    pub fn load(config: &ServerConfig) -> Result<Self, StartError> {
        if config.models.is_empty() {
            return Err(StartError::Config(
                "no model to serve (give --model)".into(),
            ));
        }
        check_limits(config)?;
        let metrics = Arc::new(Metrics::default());
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut models = BTreeMap::new();
        let mut remotes = BTreeMap::new();
        // The same models as the store sees them: the spec is what collections record.
        let mut store_models = Vec::new();
        let mut images = BTreeMap::new();
        let mut rerankers = BTreeMap::new();
        // Every name is checked before any model loads: a typo fails at once.
        let mut taken = BTreeSet::new();
        for spec in &config.models {
            check_names(spec, &mut taken)?;
        }
        for spec in &config.models {
            let names = &spec.served_names;
            // Thread names use the first name.
            let first = names.first().map(String::as_str).unwrap_or_default();
            if let Some(name) = spec.spec.strip_prefix(REMOTE_PREFIX) {
                let client = OpenAiEmbedder::from_options(name, &config.upstream);
                if config.store.is_some() {
                    let model = Model::Remote(OpenAiEmbedder::from_options(name, &config.upstream));
                    store_models.push(StoreServedModel {
                        names: names.clone(),
                        model: Arc::new(StoreModel::new(&spec.spec, Arc::new(model))),
                    });
                }
                let remote = Arc::new(RemoteModel::new(client, config.cache_entries, created));
                for n in names {
                    remotes.insert(n.clone(), remote.clone());
                }
                continue;
            }
            let path = std::path::Path::new(&spec.spec);
            if embedkit_vision::ImageModel::recognizes(path) {
                let model = embedkit_vision::ImageModel::load(path, None).map_err(|e| {
                    StartError::Config(format!("cannot load image model {}: {e}", spec.spec))
                })?;
                let model = Arc::new(model);
                let worker = Worker::spawn(first, ImageBatcher(model.clone()), metrics.clone());
                let served = ServedImageModel {
                    model,
                    worker,
                    created,
                };
                for n in names {
                    images.insert(n.clone(), served.clone());
                }
                continue;
            }
            let load_error = |source| StartError::Model {
                spec: spec.spec.clone(),
                source,
            };
            let dir = embedkit_models::hub::resolve(&spec.spec).map_err(load_error)?;
            // A sequence classifier is a reranker (as text-embeddings-inference decides from
            // the same config.json): it scores pairs at /v1/rerank and /rerank.
            if CrossEncoder::recognizes(&dir) {
                let model = Arc::new(
                    CrossEncoder::from_folder_with(&dir, config.precision).map_err(load_error)?,
                );
                let worker = Worker::spawn(
                    first,
                    RerankBatcher {
                        model: model.clone(),
                        max_batch_tokens: config.max_batch_tokens,
                    },
                    metrics.clone(),
                );
                let served = ServedReranker {
                    model,
                    worker,
                    created,
                };
                for n in names {
                    rerankers.insert(n.clone(), served.clone());
                }
                continue;
            }
            let model =
                SentenceEmbedder::from_folder_with(&dir, config.precision).map_err(load_error)?;
            let model = Arc::new(model);
            let worker = Worker::spawn(
                first,
                TextBatcher {
                    model: model.clone(),
                    max_batch_tokens: config.max_batch_tokens,
                },
                metrics.clone(),
            );
            // The store embeds through the same queue as /v1/embeddings: one batcher, one
            // token budget for every route.
            let through_engine = EngineEmbedder::new(model.clone(), worker.clone());
            store_models.push(StoreServedModel {
                names: names.clone(),
                model: Arc::new(StoreModel::new(&spec.spec, Arc::new(through_engine))),
            });
            // Every alias shares the one model and its queue.
            let served = ServedModel {
                model,
                worker,
                created,
            };
            for n in names {
                models.insert(n.clone(), served.clone());
            }
        }
        let store = match &config.store {
            Some(url) => Some(Arc::new(StoreService::open(url, store_models).map_err(
                |source| StartError::Store {
                    url: url.clone(),
                    source,
                },
            )?)),
            None => None,
        };
        Ok(Self {
            store,
            models: Arc::new(models),
            images: Arc::new(images),
            remotes: Arc::new(remotes),
            rerankers: Arc::new(rerankers),
            ready: Arc::new(AtomicBool::new(false)),
            budgets: Arc::new(Budgets::new(config, metrics.clone())),
            metrics,
            limits: Arc::new(config.clone()),
        })
    }

    /// Runs each model once (first-touch of weights, thread pools), then reports ready.
    pub fn warm_up_in_background(&self) {
        let state = self.clone();
        std::thread::spawn(move || {
            let mut warmed: Vec<&Arc<SentenceEmbedder>> = Vec::new();
            for (name, m) in state.models.iter() {
                // Aliases share a model: run it once.
                if warmed.iter().any(|w| Arc::ptr_eq(w, &m.model)) {
                    continue;
                }
                warmed.push(&m.model);
                match m.model.embed(&["warm-up"], &EmbedOptions::default()) {
                    Ok(_) => {}
                    // The model ran (the weights are touched, which is what warming is for),
                    // and other inputs may still give numbers: serve, and let each request
                    // that meets NaN answer 500.
                    Err(e @ embedkit_models::Error::NonFinite) => {
                        tracing::error!("warm-up of {name}: {e}");
                    }
                    Err(e) => {
                        tracing::error!("warm-up failed: {e}");
                        return;
                    }
                }
            }
            let mut warmed: Vec<&Arc<embedkit_vision::ImageModel>> = Vec::new();
            for (name, m) in state.images.iter() {
                if warmed.iter().any(|w| Arc::ptr_eq(w, &m.model)) {
                    continue;
                }
                warmed.push(&m.model);
                let side = m.model.preprocess().crop;
                match m.model.run(&[vec![0.0; side * side * 3]]) {
                    Ok(_) => {}
                    // As for text models: it ran; requests answer 500 where they meet NaN.
                    Err(e @ embedkit_vision::Error::NonFinite(_)) => {
                        tracing::error!("warm-up of {name}: {e}");
                    }
                    Err(e) => {
                        tracing::error!("warm-up failed: {e}");
                        return;
                    }
                }
            }
            let mut warmed: Vec<&Arc<CrossEncoder>> = Vec::new();
            for (name, m) in state.rerankers.iter() {
                if warmed.iter().any(|w| Arc::ptr_eq(w, &m.model)) {
                    continue;
                }
                warmed.push(&m.model);
                match m.model.logits(&[("warm-up", "warm-up")], 1) {
                    Ok(_) => {}
                    // As for text models: it ran; requests answer 500 where they meet NaN.
                    Err(e @ embedkit_models::Error::NonFinite) => {
                        tracing::error!("warm-up of {name}: {e}");
                    }
                    Err(e) => {
                        tracing::error!("warm-up failed: {e}");
                        return;
                    }
                }
            }
            state.ready.store(true, Ordering::SeqCst);
            tracing::info!("ready");
        });
    }
}

/// Refuses limits that would refuse every request.
fn check_limits(config: &ServerConfig) -> Result<(), StartError> {
    for (value, flag) in [
        (
            config.max_concurrent_requests as u64,
            "--max-concurrent-requests",
        ),
        (config.max_body_bytes as u64, "--max-body-mb"),
        (config.max_request_tokens as u64, "--max-request-tokens"),
        (config.max_request_pixels, "--max-request-pixels"),
        (config.max_inflight_tokens, "--max-inflight-tokens"),
        (config.max_inflight_pixels, "--max-inflight-pixels"),
        (config.max_inflight_body_bytes, "--max-inflight-body-mb"),
    ] {
        if value == 0 {
            return Err(StartError::Config(format!(
                "{flag} is 0: no request could be admitted"
            )));
        }
    }
    Ok(())
}

/// Checks a model's served names: at least one, none empty or blank, none already taken by
/// this or an earlier model (a name must pick one model).
fn check_names(spec: &ModelSpec, taken: &mut BTreeSet<String>) -> Result<(), StartError> {
    if spec.served_names.is_empty() {
        return Err(StartError::Config(format!(
            "model {} has no served name",
            spec.spec
        )));
    }
    for name in &spec.served_names {
        if name.trim().is_empty() {
            return Err(StartError::Config(format!(
                "model {} has an empty served name ({:?}); give names like a,b",
                spec.spec,
                spec.served_names.join(",")
            )));
        }
        if !taken.insert(name.clone()) {
            return Err(StartError::Config(format!(
                "the served name {name:?} is given twice; each name must pick one model"
            )));
        }
    }
    Ok(())
}
