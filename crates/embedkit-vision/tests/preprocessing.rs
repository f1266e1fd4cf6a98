//! Acceptance 2: decoding + Pillow's antialiased bilinear resize + center crop reproduce
//! torchvision's `ImageClassification` preset on the fixture photos, and from the files the
//! networks give the reference embeddings.

mod common;

use common::{cosine, fixtures, max_abs_diff, reference};
use embedkit_vision::{decode, ImageModel};
use std::path::PathBuf;

/// The reference row order.
const IMAGES: [&str; 3] = ["chelsea", "coffee", "astronaut"];

fn image_paths() -> Vec<PathBuf> {
    IMAGES
        .iter()
        .map(|n| fixtures().join(format!("images/{n}.png")))
        .collect()
}

#[test]
fn resized_and_cropped_pixels_match_pillow() {
    let path = fixtures().join("reference/images/resized_cropped_uint8.npy");
    let want = embedkit_core::npy::read_u8(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(want.shape, vec![3, 224, 224, 3]);
    let model = ImageModel::load(&fixtures().join("tiny-vgg"), None).unwrap();
    let mut got = Vec::new();
    for p in image_paths() {
        got.extend(model.preprocess().resize_crop(&decode::open(&p).unwrap()));
    }
    let diffs: Vec<u8> = got
        .iter()
        .zip(&want.data)
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let within1 = diffs.iter().filter(|&&d| d <= 1).count() as f64 / diffs.len() as f64;
    let exact = diffs.iter().filter(|&&d| d == 0).count();
    let worst = *diffs.iter().max().unwrap();
    eprintln!(
        "{exact} of {} values identical, {:.4}% within ±1, worst {worst}",
        diffs.len(),
        within1 * 100.0
    );
    assert!(within1 >= 0.99 && worst <= 3);
    // The port is exact, not merely close.
    assert_eq!(exact, diffs.len());
}

#[test]
fn network_input_matches_torchvision() {
    let (_, want) = reference("images", "preprocessed.npy"); // NCHW
    let model = ImageModel::load(&fixtures().join("tiny-vgg"), None).unwrap();
    for (i, p) in image_paths().iter().enumerate() {
        let hwc = model.prepare_file(p).unwrap();
        let mut nchw = vec![0.0; hwc.len()];
        for px in 0..224 * 224 {
            for c in 0..3 {
                nchw[c * 224 * 224 + px] = hwc[px * 3 + c];
            }
        }
        let d = max_abs_diff(&nchw, &want[i * 3 * 224 * 224..(i + 1) * 3 * 224 * 224]);
        assert!(d < 1e-6, "{}: max abs diff {d}", IMAGES[i]);
    }
}

#[test]
fn end_to_end_from_files_matches_the_reference_embeddings() {
    for model_name in ["tiny-resnet", "tiny-resnet-bottleneck", "tiny-vgg"] {
        let model = ImageModel::load(&fixtures().join(model_name), None).unwrap();
        let (_, want) = reference(model_name, "pooled.npy");
        let dim = model.dimensions();
        let mut rows = Vec::new();
        // Batches of 2 exercise batch boundaries and the prefetching pipeline.
        model
            .run_files(&image_paths(), 2, |first, out| {
                assert_eq!(first, rows.len());
                rows.extend(out.embedding.chunks(dim).map(<[f32]>::to_vec));
                Ok(())
            })
            .unwrap();
        assert_eq!(rows.len(), 3);
        for (i, row) in rows.iter().enumerate() {
            let c = cosine(row, &want[i * dim..(i + 1) * dim]);
            assert!(c >= 0.999, "{model_name} {}: cosine {c}", IMAGES[i]);
        }
    }
}
