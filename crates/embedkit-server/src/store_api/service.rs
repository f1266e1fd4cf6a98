//! Store connections and the models that embed for the store.

use crate::openai::{ApiError, ErrorKind};
use embedkit_store::{Collection, Store, StoreModel};
use std::sync::{Arc, Mutex};

/// Idle connections kept for reuse; more are opened under load and closed afterwards.
const IDLE_CONNECTIONS: usize = 16;

/// The store the server answers from, and the served models as the store sees them.
pub struct StoreService {
    url: String,
    /// A `Store` is one connection and is used by one thread at a time: each request takes
    /// one from here (or opens one), so readers run side by side and writers queue in the
    /// database, not in the server.
    idle: Mutex<Vec<Store>>,
    /// The served models, in the order they were given.
    models: Vec<StoreServedModel>,
}

/// A served model as the store sees it: the names it answers to and the model.
#[derive(Clone)]
pub struct StoreServedModel {
    /// Every name of the model (at least one; the first is reported when none is asked for).
    pub names: Vec<String>,
    /// The model.
    pub model: Arc<StoreModel>,
}

impl StoreServedModel {
    fn answers_to(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn first_name(&self) -> String {
        self.names.first().cloned().unwrap_or_default()
    }
}

impl StoreService {
    /// Opens the store at `url` (failing now, not at the first request, on a bad URL or
    /// file) for the given served models.
    pub fn open(url: &str, models: Vec<StoreServedModel>) -> Result<Self, embedkit_store::Error> {
        let first = Store::open(url)?;
        Ok(Self {
            url: url.to_string(),
            idle: Mutex::new(vec![first]),
            models,
        })
    }

    /// Runs `f` with a connection on the blocking thread pool (the store and the models
    /// are synchronous).
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Self, &Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let service = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = service.take()?;
            let out = f(&service, &store);
            service.give_back(store);
            out
        })
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
    }

    fn take(&self) -> Result<Store, ApiError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(s) => Ok(s),
            None => Ok(Store::open(&self.url)?),
        }
    }

    fn give_back(&self, store: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(store);
        }
    }

    /// The served model that built `collection`, with the name to report: `asked` when the
    /// request named the model (it must be one of that model's names), else its first name.
    pub fn model_for(
        &self,
        collection: &Collection,
        asked: Option<&str>,
    ) -> Result<(String, Arc<StoreModel>), ApiError> {
        let served = self
            .models
            .iter()
            .find(|s| s.model.check(collection).is_ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::ModelNotFound,
                    format!(
                        "collection {:?} was built with model {}, which this server does not serve (serving: {})",
                        collection.name,
                        collection.model,
                        self.served_names()
                    ),
                )
            })?;
        match asked {
            None => Ok((served.first_name(), served.model.clone())),
            Some(n) if served.answers_to(n) => Ok((n.to_string(), served.model.clone())),
            Some(n) => Err(ApiError::invalid(
                Some("model"),
                format!(
                    "collection {:?} was built with {} ({}), not {n}",
                    collection.name,
                    served.names.join(" / "),
                    collection.model
                ),
            )),
        }
    }

    /// The served model called `name` (any of its names), or the only one when no name is
    /// given; with the name to report.
    pub fn model_named(&self, name: Option<&str>) -> Result<(String, Arc<StoreModel>), ApiError> {
        let found = match name {
            Some(n) => self
                .models
                .iter()
                .find(|s| s.answers_to(n))
                .map(|s| (n.to_string(), s.model.clone())),
            None if self.models.len() == 1 => self
                .models
                .first()
                .map(|s| (s.first_name(), s.model.clone())),
            None => {
                return Err(ApiError::invalid(
                    Some("model"),
                    format!(
                        "this server serves several models ({}); name the one for the new collection in \"model\"",
                        self.served_names()
                    ),
                ))
            }
        };
        found.ok_or_else(|| {
            ApiError::new(
                ErrorKind::ModelNotFound,
                format!(
                    "the model {:?} is not served here (serving: {})",
                    name.unwrap_or_default(),
                    self.served_names()
                ),
            )
        })
    }

    fn served_names(&self) -> String {
        let models: Vec<String> = self.models.iter().map(|s| s.names.join(" / ")).collect();
        models.join(", ")
    }
}
