//! Shared state of the HTTP handlers: the served models and the admission limits.

use crate::config::ServerConfig;
use crate::engine::{TextBatcher, Worker};
use crate::images::{ImageBatcher, ServedImageModel};
use crate::metrics::Metrics;
use crate::proxy::RemoteModel;
use crate::store_api::{EngineEmbedder, StoreService};
use crate::StartError;
use embedkit_models::{EmbedOptions, Model, OpenAiEmbedder, SentenceEmbedder, REMOTE_PREFIX};
use embedkit_store::StoreModel;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// One served model.
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
    /// Whether every model has run once (the `/health` answer).
    pub ready: Arc<AtomicBool>,
    /// Counters and timings.
    pub metrics: Arc<Metrics>,
    /// Admission control: a request holds a permit while it is queued or running.
    pub permits: Arc<Semaphore>,
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
        for spec in &config.models {
            if models.contains_key(&spec.served_name)
                || remotes.contains_key(&spec.served_name)
                || images.contains_key(&spec.served_name)
            {
                return Err(StartError::Config(format!(
                    "two models are served as {:?}",
                    spec.served_name
                )));
            }
            if let Some(name) = spec.spec.strip_prefix(REMOTE_PREFIX) {
                let client = OpenAiEmbedder::from_options(name, &config.upstream);
                if config.store.is_some() {
                    let model = Model::Remote(OpenAiEmbedder::from_options(name, &config.upstream));
                    store_models.push((
                        spec.served_name.clone(),
                        Arc::new(StoreModel::new(&spec.spec, Arc::new(model))),
                    ));
                }
                remotes.insert(
                    spec.served_name.clone(),
                    Arc::new(RemoteModel::new(client, config.cache_entries, created)),
                );
                continue;
            }
            let path = std::path::Path::new(&spec.spec);
            if embedkit_vision::ImageModel::recognizes(path) {
                let model = embedkit_vision::ImageModel::load(path, None).map_err(|e| {
                    StartError::Config(format!("cannot load image model {}: {e}", spec.spec))
                })?;
                let model = Arc::new(model);
                let worker = Worker::spawn(
                    &spec.served_name,
                    ImageBatcher(model.clone()),
                    metrics.clone(),
                );
                images.insert(
                    spec.served_name.clone(),
                    ServedImageModel {
                        model,
                        worker,
                        created,
                    },
                );
                continue;
            }
            let model =
                SentenceEmbedder::load_with(&spec.spec, config.precision).map_err(|source| {
                    StartError::Model {
                        spec: spec.spec.clone(),
                        source,
                    }
                })?;
            let model = Arc::new(model);
            let worker = Worker::spawn(
                &spec.served_name,
                TextBatcher {
                    model: model.clone(),
                    max_batch_tokens: config.max_batch_tokens,
                },
                metrics.clone(),
            );
            // The store embeds through the same queue as /v1/embeddings: one batcher, one
            // token budget for every route.
            let through_engine = EngineEmbedder::new(model.clone(), worker.clone());
            store_models.push((
                spec.served_name.clone(),
                Arc::new(StoreModel::new(&spec.spec, Arc::new(through_engine))),
            ));
            models.insert(
                spec.served_name.clone(),
                ServedModel {
                    model,
                    worker,
                    created,
                },
            );
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
            ready: Arc::new(AtomicBool::new(false)),
            metrics,
            permits: Arc::new(Semaphore::new(config.max_concurrent_requests.max(1))),
            limits: Arc::new(config.clone()),
        })
    }

    /// Runs each model once (first-touch of weights, thread pools), then reports ready.
    pub fn warm_up_in_background(&self) {
        let state = self.clone();
        std::thread::spawn(move || {
            for m in state.models.values() {
                if let Err(e) = m.model.embed(&["warm-up"], &EmbedOptions::default()) {
                    tracing::error!("warm-up failed: {e}");
                    return;
                }
            }
            for m in state.images.values() {
                let side = m.model.preprocess().crop;
                if let Err(e) = m.model.run(&[vec![0.0; side * side * 3]]) {
                    tracing::error!("warm-up failed: {e}");
                    return;
                }
            }
            state.ready.store(true, Ordering::SeqCst);
            tracing::info!("ready");
        });
    }
}
