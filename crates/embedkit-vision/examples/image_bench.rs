//! Images per second of an image model, from files (decode + preprocess + inference) and from
//! ready tensors (inference only); one JSON line for `scripts/bench-images.sh`.
//!
//!     cargo run --release -p embedkit-vision --example image_bench -- WEIGHTS BATCH IMAGE...

use embedkit_vision::ImageModel;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [weights, batch, images @ ..] = args.as_slice() else {
        return Err("usage: image_bench WEIGHTS BATCH IMAGE...".into());
    };
    let batch: usize = batch.parse()?;
    let paths: Vec<PathBuf> = images.iter().map(PathBuf::from).collect();
    let model = ImageModel::load(Path::new(weights), None)?;
    // Warm-up: one batch (page faults, thread pool start).
    model.run_files(&paths[..batch.min(paths.len())], batch, |_, _| Ok(()))?;

    let start = Instant::now();
    model.run_files(&paths, batch, |_, _| Ok(()))?;
    let files_s = start.elapsed().as_secs_f64();

    let inputs: Vec<Vec<f32>> = paths
        .iter()
        .map(|p| model.prepare_file(p))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    for chunk in inputs.chunks(batch) {
        model.run(chunk)?;
    }
    let infer_s = start.elapsed().as_secs_f64();
    println!(
        "{{\"engine\": \"embedkit\", \"arch\": \"{}\", \"images\": {}, \"batch_size\": {batch}, \
         \"images_per_s\": {:.2}, \"inference_images_per_s\": {:.2}}}",
        model.network().name(),
        paths.len(),
        paths.len() as f64 / files_s,
        paths.len() as f64 / infer_s
    );
    Ok(())
}
