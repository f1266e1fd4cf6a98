//! Image models behind `/v1/embeddings`: inputs are `data:image/...;base64,...` URIs, decoded
//! and preprocessed on the blocking pool (like tokenization for text), then queued to the
//! model's own thread, which packs the images of every waiting request into forward passes
//! of at most [`MAX_BATCH_IMAGES`] (as the text engine packs by tokens).

use crate::engine::JobResult;
use crate::metrics::Metrics;
use base64::Engine as _;
use embedkit_vision::ImageModel;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Images per forward pass: a 224×224 batch of 32 is about 20 MB of input and keeps the
/// convolution kernels busy without holding one request's images in memory for long.
pub const MAX_BATCH_IMAGES: usize = 32;

/// One served image model.
pub struct ServedImageModel {
    /// The network with its preprocessing.
    pub model: Arc<ImageModel>,
    /// Its worker thread.
    pub worker: ImageWorker,
    /// Unix time it was loaded.
    pub created: u64,
}

struct Job {
    images: Vec<Vec<f32>>,
    enqueued: Instant,
    reply: oneshot::Sender<JobResult>,
}

/// Handle to an image model's worker thread.
#[derive(Clone)]
pub struct ImageWorker {
    tx: mpsc::Sender<Job>,
}

impl ImageWorker {
    /// Starts the thread that runs `model`.
    pub fn spawn(name: &str, model: Arc<ImageModel>, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("embedkit-{name}"))
            .spawn(move || run(rx, &model, &metrics))
            .expect("spawning a thread");
        Self { tx }
    }

    /// Queues preprocessed images; the receiver yields their embeddings in order.
    pub fn submit(&self, images: Vec<Vec<f32>>) -> oneshot::Receiver<JobResult> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            images,
            enqueued: Instant::now(),
            reply,
        };
        if let Err(mpsc::SendError(job)) = self.tx.send(job) {
            let _ = job.reply.send(Err("the model worker has stopped".into()));
        }
        rx
    }
}

fn run(rx: mpsc::Receiver<Job>, model: &ImageModel, metrics: &Metrics) {
    while let Ok(first) = rx.recv() {
        let mut count = first.images.len();
        let mut jobs = vec![first];
        while count < MAX_BATCH_IMAGES {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.images.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        for job in &jobs {
            metrics.queued(started - job.enqueued);
        }
        let results = run_jobs(&jobs, model, metrics);
        for (job, result) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Runs every image of `jobs` in passes of at most [`MAX_BATCH_IMAGES`].
fn run_jobs(jobs: &[Job], model: &ImageModel, metrics: &Metrics) -> Vec<JobResult> {
    let slots: Vec<(usize, &Vec<f32>)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(j, job)| job.images.iter().map(move |img| (j, img)))
        .collect();
    let mut out: Vec<Vec<Vec<f32>>> = jobs
        .iter()
        .map(|j| Vec::with_capacity(j.images.len()))
        .collect();
    let mut failed: Vec<Option<String>> = vec![None; jobs.len()];
    let dim = model.dimensions();
    for pass in slots.chunks(MAX_BATCH_IMAGES) {
        let batch: Vec<Vec<f32>> = pass.iter().map(|(_, img)| (*img).clone()).collect();
        let t = Instant::now();
        match model.run(&batch) {
            Ok(output) => {
                metrics.batch(t.elapsed(), batch.len(), 0);
                for (v, (j, _)) in output.embedding.chunks_exact(dim).zip(pass) {
                    out[*j].push(v.to_vec());
                }
            }
            Err(e) => {
                for (j, _) in pass {
                    failed[*j] = Some(e.to_string());
                }
            }
        }
    }
    out.into_iter()
        .zip(failed)
        .map(|(vectors, err)| match err {
            Some(e) => Err(e),
            None => Ok(vectors),
        })
        .collect()
}

/// The bytes of a `data:image/<type>[;param...];base64,<payload>` URI, or why it is not one.
pub fn decode_data_uri(uri: &str) -> Result<Vec<u8>, String> {
    let Some(rest) = uri.strip_prefix("data:") else {
        return Err(
            "this is an image model: each input must be a data:image/...;base64,... URI, not text"
                .into(),
        );
    };
    let Some((header, payload)) = rest.split_once(',') else {
        return Err("malformed data: URI (no ',' before the data)".into());
    };
    let mut parts = header.split(';');
    let media = parts.next().unwrap_or_default();
    if !media.to_ascii_lowercase().starts_with("image/") {
        return Err(format!(
            "data: URI of type {media:?}: an image (image/png, image/jpeg, ...) is needed"
        ));
    }
    if !parts.any(|p| p.eq_ignore_ascii_case("base64")) {
        return Err("data: URI without ';base64': only base64-encoded images are accepted".into());
    }
    base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|e| format!("bad base64 in data: URI: {e}"))
}

/// Decodes and preprocesses each input (a data: URI), naming the first bad one by index.
pub fn prepare(model: &ImageModel, inputs: &[String]) -> Result<Vec<Vec<f32>>, String> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, uri)| {
            let bytes = decode_data_uri(uri).map_err(|e| format!("input {i}: {e}"))?;
            let img = embedkit_vision::decode::decode(&bytes, &format!("input {i}"))
                .map_err(|e| e.to_string())?;
            Ok(model.prepare(&img))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_are_parsed_or_named_wrong() {
        assert_eq!(
            decode_data_uri("data:image/png;base64,aGVsbG8=").unwrap(),
            b"hello"
        );
        assert_eq!(
            decode_data_uri("data:image/jpeg;name=a.jpg;base64, aGk=").unwrap(),
            b"hi"
        );
        let text = decode_data_uri("a red shirt").unwrap_err();
        assert!(text.contains("not text"), "{text}");
        let kind = decode_data_uri("data:text/plain;base64,aGk=").unwrap_err();
        assert!(kind.contains("text/plain"), "{kind}");
        let plain = decode_data_uri("data:image/png,abc").unwrap_err();
        assert!(plain.contains(";base64"), "{plain}");
        let bad = decode_data_uri("data:image/png;base64,@@@").unwrap_err();
        assert!(bad.contains("bad base64"), "{bad}");
        assert!(decode_data_uri("data:image/png;base64").is_err());
    }
}
