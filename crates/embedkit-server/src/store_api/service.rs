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
    /// Served name → model, in the order the models were given.
    models: Vec<(String, Arc<StoreModel>)>,
}

impl StoreService {
    /// Opens the store at `url` (failing now, not at the first request, on a bad URL or
    /// file) for the given served models.
    pub fn open(
        url: &str,
        models: Vec<(String, Arc<StoreModel>)>,
    ) -> Result<Self, embedkit_store::Error> {
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

    /// The served model (name and model) that built `collection`.
    pub fn model_for(
        &self,
        collection: &Collection,
    ) -> Result<(String, Arc<StoreModel>), ApiError> {
        self.models
            .iter()
            .find(|(_, m)| m.check(collection).is_ok())
            .cloned()
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
            })
    }

    /// The served model called `name`, or the only one when no name is given.
    pub fn model_named(&self, name: Option<&str>) -> Result<(String, Arc<StoreModel>), ApiError> {
        let found = match name {
            Some(n) => self.models.iter().find(|(served, _)| served == n),
            None if self.models.len() == 1 => self.models.first(),
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
        found.cloned().ok_or_else(|| {
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
        let names: Vec<&str> = self.models.iter().map(|(n, _)| n.as_str()).collect();
        names.join(", ")
    }
}
