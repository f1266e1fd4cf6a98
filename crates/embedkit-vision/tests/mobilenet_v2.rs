//! Acceptance 3: the real torchvision MobileNetV2 (IMAGENET1K_V1), loaded straight from its
//! legacy-format `.pth` (fetched by `scripts/fetch-models.sh`), on ten photos: top-1 labels
//! equal torchvision's and pooled features have cosine ≥ 0.999 with torchvision's.

mod common;

use common::{cosine, fixtures, repo};
use embedkit_vision::ImageModel;

#[test]
#[ignore = "needs models/mobilenet_v2 (scripts/fetch-models.sh); scripts/test.sh runs it"]
fn real_mobilenet_v2_matches_torchvision_on_ten_photos() {
    let weights = repo().join("models/mobilenet_v2/mobilenet_v2-b0353104.pth");
    assert!(weights.is_file(), "run scripts/fetch-models.sh first");
    let model = ImageModel::load(&weights, Some("mobilenet_v2")).unwrap();
    assert_eq!(model.dimensions(), 1280);
    let text =
        std::fs::read_to_string(fixtures().join("reference/mobilenet_v2/reference.json")).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let names: Vec<String> = reference["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let paths: Vec<_> = names
        .iter()
        .map(|n| repo().join("testdata/data/images").join(n))
        .collect();
    let (_, pooled) = common::reference("mobilenet_v2", "pooled.npy");
    let mut row = 0;
    model
        .run_files(&paths, 4, |_, out| {
            let top = model.top_k(&out.logits, 5);
            for (emb, top) in out.embedding.chunks(1280).zip(top) {
                let name = &names[row];
                let c = cosine(emb, &pooled[row * 1280..(row + 1) * 1280]);
                let want = reference["top5"][name][0][0].as_str().unwrap();
                let want_p = reference["top5"][name][0][1].as_f64().unwrap() as f32;
                eprintln!(
                    "{name}: {} {:.6} (torchvision {want} {want_p:.6}), pooled cosine {c:.7}",
                    top[0].label, top[0].score
                );
                assert_eq!(top[0].label, want, "{name}");
                assert!(c >= 0.999, "{name}: cosine {c}");
                row += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(row, 10);
}
