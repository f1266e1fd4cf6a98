//! Fashion-MNIST retrieval through the store: a balanced split of the test set is written as
//! PNG folders, the reference images are embedded into an image collection, and each query
//! image's class is the majority label of its k nearest stored images.
//!
//! ```text
//! cargo run --example fashion_mnist -- DATA_DIR OUT_DIR MODEL [REF_PER_CLASS QUERIES_PER_CLASS K]
//! ```
//! DATA_DIR holds the uncompressed IDX files (`scripts/fetch-fashion-mnist.sh`); OUT_DIR gets
//! `reference/`, `queries/` and `store.db`. `scripts/bench-fashion-mnist.sh` runs it beside
//! `bench/fashion_mnist_reference.py` (torchvision + scikit-learn) on the same folders.

#[path = "common/fashion_mnist.rs"]
mod fashion_mnist;

use embedkit_store::{read_images, Filter, ImageStoreModel, Storage, Store};
use embedkit_vision::ImageModel;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err(
            "usage: fashion_mnist DATA_DIR OUT_DIR MODEL [REF_PER_CLASS QUERIES_PER_CLASS K]"
                .into(),
        );
    }
    let number = |i: usize, default: usize| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse().map_err(|_| format!("bad number {s:?}"))
        })
    };
    let (data, out, model_spec) = (PathBuf::from(&args[0]), PathBuf::from(&args[1]), &args[2]);
    let (per_ref, per_query, k) = (number(3, 50)?, number(4, 25)?, number(5, 10)?);

    let images = fashion_mnist::read(&data, "t10k")?;
    let (ref_dir, query_dir) = fashion_mnist::write_split(&images, &out, per_ref, per_query)?;
    println!(
        "split: {} reference + {} query images ({per_ref} + {per_query} per class, test set in file order)",
        per_ref * 10,
        per_query * 10
    );

    let store_path = out.join("store.db");
    let _ = std::fs::remove_file(&store_path);
    let store = Store::open(&store_path.display().to_string())?;
    let model = ImageStoreModel::new(
        model_spec,
        Arc::new(ImageModel::load(std::path::Path::new(model_spec), None)?),
    );
    store.create_collection(&model.collection("fashion-mnist", None, Storage::F32)?)?;

    let reference = read_images(&[ref_dir], true)?;
    let t = Instant::now();
    store.add_images("fashion-mnist", &reference, &model, 32, |_| {})?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "indexed {} images in {secs:.1} s ({:.1} images/s)",
        reference.len(),
        reference.len() as f64 / secs
    );

    let queries: Vec<PathBuf> = read_images(&[query_dir], false)?
        .into_iter()
        .map(|d| d.path)
        .collect();
    let t = Instant::now();
    let hits = store.search_images("fashion-mnist", &model, &queries, k, &Filter::default(), 32)?;
    let secs = t.elapsed().as_secs_f64();
    let correct = queries
        .iter()
        .zip(&hits)
        .filter(|(q, h)| fashion_mnist::vote(h) == Some(fashion_mnist::label_of(q)))
        .count();
    println!(
        "searched {} images in {secs:.1} s ({:.1} images/s, embedding + exact search)",
        queries.len(),
        queries.len() as f64 / secs
    );
    println!(
        "k-NN (k={k}, majority vote) accuracy: {:.4} ({correct}/{})",
        correct as f64 / queries.len() as f64,
        queries.len()
    );
    Ok(())
}
