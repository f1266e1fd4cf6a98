//! Acceptance 1: the tiny random-weight torchvision models, fed the reference's own
//! preprocessed tensor, give torchvision's pooled features and logits (max abs diff ≤ 1e-4);
//! the spatial mean of every stage is compared first, so a failure names the stage.

mod common;

use common::{fixtures, max_abs_diff, reference};
use embedkit_vision::layers::FeatureMap;
use embedkit_vision::ImageModel;

const TOL: f32 = 1e-4;

fn check(model: &str, stages: &[&str], name: &str) {
    let m = ImageModel::load(&fixtures().join(model), None).unwrap();
    assert_eq!(m.network().name(), name);
    let (shape, x) = reference("images", "preprocessed.npy");
    assert_eq!(shape, vec![3, 3, 224, 224]);
    let x = FeatureMap::from_nchw(&x, 3, 3, 224, 224).unwrap();
    let out = m.network().forward_traced(x).unwrap();
    let got: Vec<&str> = out.stages.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(got, stages);
    for (stage, means) in &out.stages {
        let (_, want) = reference(model, &format!("stage_means_{stage}.npy"));
        let d = max_abs_diff(means, &want);
        assert!(
            d <= TOL,
            "{model}: stage {stage} diverges (max abs diff {d})"
        );
    }
    let (_, pooled) = reference(model, "pooled.npy");
    let dp = max_abs_diff(&out.embedding, &pooled);
    assert!(dp <= TOL, "{model}: pooled max abs diff {dp}");
    let (_, logits) = reference(model, "logits.npy");
    let dl = max_abs_diff(&out.logits, &logits);
    assert!(dl <= TOL, "{model}: logits max abs diff {dl}");
    eprintln!("{model}: max abs diff pooled {dp:e}, logits {dl:e}");
}

const RESNET_STAGES: [&str; 5] = ["stem", "layer1", "layer2", "layer3", "layer4"];

#[test]
fn tiny_resnet_basic_matches_torchvision() {
    check(
        "tiny-resnet",
        &RESNET_STAGES,
        "resnet(basic, blocks [1, 1, 1, 1], width 64)",
    );
}

#[test]
fn tiny_resnet_bottleneck_matches_torchvision() {
    check(
        "tiny-resnet-bottleneck",
        &RESNET_STAGES,
        "resnet(bottleneck, blocks [1, 1, 1, 1], width 16)",
    );
}

#[test]
fn tiny_vgg_matches_torchvision() {
    check(
        "tiny-vgg",
        &["pool0", "pool1", "pool2", "pool3", "pool4"],
        "vgg11",
    );
}

#[test]
fn arch_hint_is_checked_against_the_weights() {
    let dir = fixtures().join("tiny-vgg");
    assert!(ImageModel::load(&dir, Some("vgg")).is_ok());
    assert!(ImageModel::load(&dir, Some("vgg11")).is_ok());
    let err = ImageModel::load(&dir, Some("resnet50"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--arch resnet50 does not match") && err.contains("vgg11"),
        "{err}"
    );
    let err = ImageModel::load(&dir, Some("vgg16_bn"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match"), "{err}");
    let err = ImageModel::load(&dir, Some("alexnet"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown --arch"), "{err}");
}

#[test]
fn a_state_dict_of_another_network_is_refused_clearly() {
    let err = ImageModel::load(&fixtures().join("tiny-bge"), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not hold a ResNet, VGG or MobileNetV2"),
        "{err}"
    );
}
