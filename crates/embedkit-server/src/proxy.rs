//! Remote models served through this server (`--model openai:NAME`): embedkit becomes a
//! caching proxy in front of any OpenAI-compatible API. Repeated texts are answered from a
//! bounded in-memory cache and only the misses go upstream.

use embedkit_models::OpenAiEmbedder;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// One cached vector is keyed by text and requested dimensions.
type Key = (String, Option<usize>);

/// A remote model with its cache.
pub struct RemoteModel {
    /// The upstream API.
    pub client: OpenAiEmbedder,
    cache: Mutex<Cache>,
    /// Unix time it was configured.
    pub created: u64,
}

struct Cache {
    map: HashMap<Key, Vec<f32>>,
    order: VecDeque<Key>,
    capacity: usize,
}

impl Cache {
    fn insert(&mut self, key: Key, v: Vec<f32>) {
        if self.capacity == 0 || self.map.contains_key(&key) {
            return;
        }
        while self.map.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, v);
    }
}

impl RemoteModel {
    /// Wraps a client with a cache of at most `capacity` vectors (first in, first out).
    pub fn new(client: OpenAiEmbedder, capacity: usize, created: u64) -> Self {
        Self {
            client,
            cache: Mutex::new(Cache {
                map: HashMap::new(),
                order: VecDeque::new(),
                capacity,
            }),
            created,
        }
    }

    /// Embeds texts, asking upstream only for those not cached. Returns the vectors and the
    /// tokens upstream reported for the misses.
    pub fn embed(
        &self,
        texts: &[String],
        dimensions: Option<usize>,
    ) -> Result<(Vec<Vec<f32>>, usize), String> {
        let mut out: Vec<Option<Vec<f32>>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            texts
                .iter()
                .map(|t| cache.map.get(&(t.clone(), dimensions)).cloned())
                .collect()
        };
        let misses: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        let mut tokens = 0;
        if !misses.is_empty() {
            let refs: Vec<&str> = misses.iter().map(|&i| texts[i].as_str()).collect();
            let (vectors, used) = self
                .client
                .embed_with_usage(&refs, dimensions)
                .map_err(|e| e.to_string())?;
            tokens = used;
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            for (&i, v) in misses.iter().zip(vectors) {
                cache.insert((texts[i].clone(), dimensions), v.clone());
                out[i] = Some(v);
            }
        }
        Ok((
            out.into_iter().map(Option::unwrap_or_default).collect(),
            tokens,
        ))
    }
}
