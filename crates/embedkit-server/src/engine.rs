//! The serving engine, one for every kind of model: each model runs on its own thread, fed by
//! a queue. The thread takes every job waiting (up to the model's budget), sorts all their
//! items by cost, runs them in forward passes of at most that budget, and answers each job on
//! its oneshot. One forward pass therefore serves many requests, and one huge request is
//! split. What an item costs is the model's business ([`Batcher::cost`]): tokens for text
//! ([`TextBatcher`]), one per image for image networks (`crate::images::ImageBatcher`).

use crate::metrics::Metrics;
use embedkit_models::tokenize::Encoded;
use embedkit_models::{Prepared, SentenceEmbedder, Sequence};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Vectors of one job, in its input order, or the error that stopped its batch.
pub type JobResult = Result<Vec<Vec<f32>>, String>;

/// A model the engine can feed: what one input costs, how much one pass may hold, and the
/// pass itself.
pub trait Batcher: Send + Sync + 'static {
    /// One prepared input (tokenized text, a preprocessed image).
    type Item: Send + 'static;
    /// Whether the cost is tokens (counted in `/metrics`' `embedkit_tokens_total`).
    const COST_IS_TOKENS: bool;
    /// What `item` costs in the pass budget.
    fn cost(item: &Self::Item) -> usize;
    /// Most cost in one forward pass (a single item over it still runs, alone).
    fn budget(&self) -> usize;
    /// One forward pass; one vector per item, in order.
    fn run(&self, batch: &[&Self::Item]) -> Result<Vec<Vec<f32>>, String>;
}

/// A sentence model: items are tokenized texts, their cost is their tokens.
pub struct TextBatcher {
    /// The model.
    pub model: Arc<SentenceEmbedder>,
    /// Token budget of one forward pass.
    pub max_batch_tokens: usize,
}

/// A tokenized text and how many of its leading tokens are the prompt.
pub struct TextItem {
    /// Its tokens.
    pub encoded: Encoded,
    /// Leading prompt tokens (for pooling that excludes the prompt).
    pub prompt_tokens: usize,
}

impl TextItem {
    /// The items of texts tokenized with one prompt.
    pub fn all(prepared: Prepared) -> Vec<TextItem> {
        let prompt_tokens = prepared.prompt_tokens;
        prepared
            .inputs
            .into_iter()
            .map(|encoded| TextItem {
                encoded,
                prompt_tokens,
            })
            .collect()
    }
}

impl Batcher for TextBatcher {
    type Item = TextItem;
    const COST_IS_TOKENS: bool = true;

    fn cost(item: &TextItem) -> usize {
        item.encoded.ids.len()
    }

    fn budget(&self) -> usize {
        self.max_batch_tokens.max(1)
    }

    fn run(&self, batch: &[&TextItem]) -> Result<Vec<Vec<f32>>, String> {
        let sequences: Vec<Sequence> = batch
            .iter()
            .map(|t| Sequence {
                encoded: &t.encoded,
                prompt_tokens: t.prompt_tokens,
            })
            .collect();
        self.model.forward(&sequences).map_err(|e| e.to_string())
    }
}

struct Job<I> {
    items: Vec<I>,
    enqueued: Instant,
    reply: oneshot::Sender<JobResult>,
}

/// Handle to a model's worker thread.
pub struct Worker<B: Batcher> {
    tx: mpsc::Sender<Job<B::Item>>,
}

impl<B: Batcher> Clone for Worker<B> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<B: Batcher> Worker<B> {
    /// Starts the thread that owns `batcher`.
    pub fn spawn(name: &str, batcher: B, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel::<Job<B::Item>>();
        std::thread::Builder::new()
            .name(format!("embedkit-{name}"))
            .spawn(move || run(rx, &batcher, &metrics))
            .expect("spawning a thread");
        Self { tx }
    }

    /// Queues prepared inputs; the receiver yields their vectors in input order.
    pub fn submit(&self, items: Vec<B::Item>) -> oneshot::Receiver<JobResult> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            items,
            enqueued: Instant::now(),
            reply,
        };
        if let Err(mpsc::SendError(job)) = self.tx.send(job) {
            let _ = job.reply.send(Err("the model worker has stopped".into()));
        }
        rx
    }
}

fn run<B: Batcher>(rx: mpsc::Receiver<Job<B::Item>>, batcher: &B, metrics: &Metrics) {
    let budget = batcher.budget();
    while let Ok(first) = rx.recv() {
        let mut cost: usize = first.items.iter().map(B::cost).sum();
        let mut jobs = vec![first];
        while cost < budget {
            match rx.try_recv() {
                Ok(job) => {
                    cost += job.items.iter().map(B::cost).sum::<usize>();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        for job in &jobs {
            metrics.queued(started - job.enqueued);
        }
        let results = run_jobs(&jobs, batcher, metrics);
        for (job, result) in jobs.into_iter().zip(results) {
            // The client may have gone away; nothing to do then.
            let _ = job.reply.send(result);
        }
    }
}

/// Runs every item of `jobs`, costliest first, in passes of at most the budget.
fn run_jobs<B: Batcher>(jobs: &[Job<B::Item>], batcher: &B, metrics: &Metrics) -> Vec<JobResult> {
    let budget = batcher.budget();
    let mut slots: Vec<(usize, usize)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(j, job)| (0..job.items.len()).map(move |i| (j, i)))
        .collect();
    // Stable: equal costs (every image) keep their order.
    slots.sort_by_key(|&(j, i)| std::cmp::Reverse(B::cost(&jobs[j].items[i])));

    let mut out: Vec<Vec<Vec<f32>>> = jobs
        .iter()
        .map(|j| vec![Vec::new(); j.items.len()])
        .collect();
    let mut failed: Vec<Option<String>> = vec![None; jobs.len()];
    let mut start = 0;
    while start < slots.len() {
        // Costliest first: the first item of a pass is its costliest, so the budget check is
        // simple; a single item over the budget still runs alone.
        let mut end = start;
        let mut spent = 0;
        while end < slots.len() {
            let (j, i) = slots[end];
            let c = B::cost(&jobs[j].items[i]);
            if end > start && spent + c > budget {
                break;
            }
            spent += c;
            end += 1;
        }
        let pass = &slots[start..end];
        let batch: Vec<&B::Item> = pass.iter().map(|&(j, i)| &jobs[j].items[i]).collect();
        let t = Instant::now();
        match batcher.run(&batch) {
            Ok(vectors) => {
                let tokens = if B::COST_IS_TOKENS { spent } else { 0 };
                metrics.batch(t.elapsed(), batch.len(), tokens);
                for (v, &(j, i)) in vectors.into_iter().zip(pass) {
                    out[j][i] = v;
                }
            }
            Err(e) => {
                for &(j, _) in pass {
                    failed[j] = Some(e.clone());
                }
            }
        }
        start = end;
    }
    out.into_iter()
        .zip(failed)
        .map(|(vectors, err)| match err {
            Some(e) => Err(e),
            None => Ok(vectors),
        })
        .collect()
}
