//! The serving engine: each model runs on its own thread, fed by a queue. The thread takes
//! every job waiting (up to a token budget), sorts all their sequences by length, runs them in
//! forward passes of at most `max_batch_tokens` tokens, and answers each job on its oneshot.
//! One forward pass therefore serves many requests, and one huge request is split.

use crate::metrics::Metrics;
use embedkit_models::tokenize::Encoded;
use embedkit_models::{SentenceEmbedder, Sequence};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Vectors of one job, in its input order, or the error that stopped its batch.
pub type JobResult = Result<Vec<Vec<f32>>, String>;

struct Job {
    inputs: Vec<Encoded>,
    prompt_tokens: usize,
    enqueued: Instant,
    reply: oneshot::Sender<JobResult>,
}

impl Job {
    fn tokens(&self) -> usize {
        self.inputs.iter().map(|e| e.ids.len()).sum()
    }
}

/// Handle to a model's worker thread.
#[derive(Clone)]
pub struct Worker {
    tx: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread that owns `model`.
    pub fn spawn(
        name: &str,
        model: Arc<SentenceEmbedder>,
        max_batch_tokens: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("embedkit-{name}"))
            .spawn(move || run(rx, &model, max_batch_tokens.max(1), &metrics))
            .expect("spawning a thread");
        Self { tx }
    }

    /// Queues tokenized inputs; the receiver yields their model-pipeline vectors.
    pub fn submit(
        &self,
        inputs: Vec<Encoded>,
        prompt_tokens: usize,
    ) -> oneshot::Receiver<JobResult> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            inputs,
            prompt_tokens,
            enqueued: Instant::now(),
            reply,
        };
        if let Err(mpsc::SendError(job)) = self.tx.send(job) {
            let _ = job.reply.send(Err("the model worker has stopped".into()));
        }
        rx
    }
}

fn run(
    rx: mpsc::Receiver<Job>,
    model: &SentenceEmbedder,
    max_batch_tokens: usize,
    metrics: &Metrics,
) {
    while let Ok(first) = rx.recv() {
        let mut tokens = first.tokens();
        let mut jobs = vec![first];
        while tokens < max_batch_tokens {
            match rx.try_recv() {
                Ok(job) => {
                    tokens += job.tokens();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        for job in &jobs {
            metrics.queued(started - job.enqueued);
        }
        let results = run_jobs(&jobs, model, max_batch_tokens, metrics);
        for (job, result) in jobs.into_iter().zip(results) {
            // The client may have gone away; nothing to do then.
            let _ = job.reply.send(result);
        }
    }
}

/// Runs every sequence of `jobs`, longest first, in passes of at most `max_batch_tokens`.
fn run_jobs(
    jobs: &[Job],
    model: &SentenceEmbedder,
    max_batch_tokens: usize,
    metrics: &Metrics,
) -> Vec<JobResult> {
    let mut slots: Vec<(usize, usize)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(j, job)| (0..job.inputs.len()).map(move |i| (j, i)))
        .collect();
    slots.sort_by_key(|&(j, i)| std::cmp::Reverse(jobs[j].inputs[i].ids.len()));

    let mut out: Vec<Vec<Vec<f32>>> = jobs
        .iter()
        .map(|j| vec![Vec::new(); j.inputs.len()])
        .collect();
    let mut failed: Vec<Option<String>> = vec![None; jobs.len()];
    let mut start = 0;
    while start < slots.len() {
        // Longest first: the first sequence of a pass is its longest, so the budget check is
        // simple; a single sequence over the budget still runs alone.
        let mut end = start;
        let mut budget = 0;
        while end < slots.len() {
            let (j, i) = slots[end];
            let len = jobs[j].inputs[i].ids.len();
            if end > start && budget + len > max_batch_tokens {
                break;
            }
            budget += len;
            end += 1;
        }
        let pass = &slots[start..end];
        let batch: Vec<Sequence> = pass
            .iter()
            .map(|&(j, i)| Sequence {
                encoded: &jobs[j].inputs[i],
                prompt_tokens: jobs[j].prompt_tokens,
            })
            .collect();
        let t = Instant::now();
        match model.forward(&batch) {
            Ok(vectors) => {
                metrics.batch(t.elapsed(), batch.len(), budget);
                for (v, &(j, i)) in vectors.into_iter().zip(pass) {
                    out[j][i] = v;
                }
            }
            Err(e) => {
                for &(j, _) in pass {
                    failed[j] = Some(e.to_string());
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
