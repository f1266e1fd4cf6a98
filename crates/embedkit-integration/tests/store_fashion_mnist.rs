//! Image retrieval on real data: 300 Fashion-MNIST test images (testdata/data/fashion-mnist-300,
//! 20 reference + 10 query images per class), MobileNetV2 embeddings through an image
//! collection, k-NN (k=5) majority vote. The same split through torchvision + scikit-learn
//! (bench/fashion_mnist_reference.py) gives the accuracy this test compares with.

mod common;
#[path = "../examples/common/fashion_mnist.rs"]
mod fashion_mnist;

use common::{fresh_store, root, store_urls};
use embedkit_store::{read_images, Filter, Storage};
use std::path::PathBuf;

/// bench/fashion_mnist_reference.py -k 5 on this split: 78 of 100 queries right.
const REFERENCE_ACCURACY: f64 = 0.78;

#[test]
#[ignore = "needs models/mobilenet_v2: run scripts/fetch-models.sh"]
fn fashion_mnist_knn_through_the_store_matches_torchvision_and_scikit_learn() {
    let images =
        fashion_mnist::read(&root().join("testdata/data/fashion-mnist-300"), "t10k").unwrap();
    let out = tempfile::tempdir().unwrap();
    let (ref_dir, query_dir) = fashion_mnist::write_split(&images, out.path(), 20, 10).unwrap();
    let model = common::image_model(&root().join("models/mobilenet_v2"));
    for url in store_urls() {
        let (_dir, store) = fresh_store(&url);
        store
            .create_collection(&model.collection("fashion", None, Storage::F32).unwrap())
            .unwrap();
        let reference = read_images(std::slice::from_ref(&ref_dir), true).unwrap();
        assert_eq!(reference.len(), 200);
        store
            .add_images("fashion", &reference, &model, 32, |_| {})
            .unwrap();
        let queries: Vec<PathBuf> = read_images(std::slice::from_ref(&query_dir), false)
            .unwrap()
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert_eq!(queries.len(), 100);
        let hits = store
            .search_images("fashion", &model, &queries, 5, &Filter::default(), 32)
            .unwrap();
        let correct = queries
            .iter()
            .zip(&hits)
            .filter(|(q, h)| fashion_mnist::vote(h) == Some(fashion_mnist::label_of(q)))
            .count();
        let accuracy = correct as f64 / queries.len() as f64;
        // Chance is 0.10. With k = 5 a vote is often tied (2-2-1): ours goes to the
        // best-ranked label, scikit-learn's to the alphabetically first, so a few of the 100
        // queries may differ (0.75 here against 0.78; on the 250-query benchmark split with
        // k = 10 ours is the higher, 0.836 against 0.828).
        assert!(
            (accuracy - REFERENCE_ACCURACY).abs() <= 0.05,
            "{url}: accuracy {accuracy}, reference {REFERENCE_ACCURACY}"
        );
    }
}
