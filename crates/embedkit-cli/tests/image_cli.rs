//! `embedkit image embed` / `classify` end to end on the tiny torchvision fixtures.

mod common;

use common::{embedkit, fixture, root};

fn images() -> Vec<String> {
    ["chelsea", "coffee", "astronaut"]
        .iter()
        .map(|n| fixture(&format!("images/{n}.png")).display().to_string())
        .collect()
}

fn reference(model: &str, file: &str) -> Vec<f32> {
    let f = std::fs::File::open(fixture(&format!("reference/{model}/{file}"))).unwrap();
    embedkit_core::npy::read_f32(f).unwrap().data
}

#[test]
fn embed_prints_json_lines_in_argument_order() {
    let model = fixture("tiny-resnet").display().to_string();
    let imgs = images();
    // Reversed order, batch size 2: rows must still follow the arguments.
    let mut args = vec!["image", "embed", "-m", &model, "--batch-size", "2"];
    args.extend(imgs.iter().rev().map(String::as_str));
    let out = embedkit(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pooled = reference("tiny-resnet", "pooled.npy");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        assert_eq!(line["image"], imgs[2 - i]);
        let v: Vec<f32> = serde_json::from_value(line["embedding"].clone()).unwrap();
        let r = 2 - i; // reference row of this image
        let c = embedkit_core::vector::cosine(&v, &pooled[r * 512..(r + 1) * 512]);
        assert!(c >= 0.999, "row {i}: cosine {c}");
    }
}

#[test]
fn embed_writes_normalized_npy() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("e.npy");
    let model = fixture("tiny-vgg").display().to_string();
    let imgs = images();
    let mut args = vec![
        "image",
        "embed",
        "-m",
        &model,
        "--normalize",
        "-o",
        npy.to_str().unwrap(),
    ];
    args.extend(imgs.iter().map(String::as_str));
    let out = embedkit(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = embedkit_core::npy::read_f32(std::fs::File::open(&npy).unwrap()).unwrap();
    assert_eq!(a.shape, vec![3, 128]);
    let pooled = reference("tiny-vgg", "pooled.npy");
    for (row, want) in a.data.chunks(128).zip(pooled.chunks(128)) {
        assert!((embedkit_core::vector::norm(row) - 1.0).abs() < 1e-5);
        assert!(embedkit_core::vector::cosine(row, want) >= 0.999);
    }
}

#[test]
fn classify_json_ranks_the_reference_logits() {
    let model = fixture("tiny-resnet").display().to_string();
    let imgs = images();
    let mut args = vec!["image", "classify", "-m", &model, "-k", "3", "--json"];
    args.extend(imgs.iter().map(String::as_str));
    let out = embedkit(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let logits = reference("tiny-resnet", "logits.npy");
    let names: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(
            root().join("crates/embedkit-vision/resources/imagenet_classes.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (i, entry) in v.as_array().unwrap().iter().enumerate() {
        assert_eq!(entry["image"], imgs[i]);
        let top = entry["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let row = &logits[i * 1000..(i + 1) * 1000];
        let best = (0..1000)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        assert_eq!(top[0]["label"], names[best]);
        let s: Vec<f64> = top.iter().map(|t| t["score"].as_f64().unwrap()).collect();
        assert!(s[0] >= s[1] && s[1] >= s[2] && s[0] <= 1.0);
    }
}

#[test]
fn bad_inputs_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let model = fixture("tiny-vgg").display().to_string();
    let good = images().remove(0);
    let out = embedkit(&[
        "image",
        "embed",
        "-m",
        &model,
        &good,
        text.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.png") && err.contains("not an image"),
        "{err}"
    );

    let out = embedkit(&["image", "embed", "-m", &model, "--arch", "resnet50", &good]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match"), "{err}");

    let out = embedkit(&["image", "embed", "-m", "/nonexistent/weights.pth", &good]);
    assert_eq!(out.status.code(), Some(1));
}
