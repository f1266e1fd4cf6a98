//! Models whose output holds NaN or infinity, through the binary: `embed`, `image embed`,
//! `image classify`, `index add` and `search` stop with one `error:` line and exit status 1,
//! print no vector (no JSON `null`) and write no output file; inputs the model still embeds
//! get the unpoisoned fixture's vectors. The poisoned models are copies of the fixtures made
//! at test time with one tensor rewritten.

mod common;

use common::{embedkit, fixture, ok, poisoned_copy};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The row of `word` in a BERT vocab.txt (one token per line).
fn token_id(model: &Path, word: &str) -> usize {
    std::fs::read_to_string(model.join("vocab.txt"))
        .unwrap()
        .lines()
        .position(|l| l == word)
        .unwrap_or_else(|| panic!("{word:?} is not in the vocabulary"))
}

/// tiny-bge whose word embedding of "poison" is NaN and of "infinity" is +inf.
fn poisoned_bge(dir: &Path) -> PathBuf {
    let src = fixture("tiny-bge");
    let (nan, inf) = (token_id(&src, "poison"), token_id(&src, "infinity"));
    let dst = dir.join("poisoned-bge");
    poisoned_copy(&src, &dst, |name, values| {
        if name == "embeddings.word_embeddings.weight" {
            values[nan * 32..(nan + 1) * 32].fill(f32::NAN);
            values[inf * 32..(inf + 1) * 32].fill(f32::INFINITY);
        }
    });
    dst
}

/// tiny-resnet with `poison` applied to the tensor `tensor`.
fn poisoned_resnet(dir: &Path, name: &str, tensor: &str, value: f32) -> PathBuf {
    let dst = dir.join(name);
    poisoned_copy(&fixture("tiny-resnet"), &dst, |n, values| {
        if n == tensor {
            values[7] = value;
        }
    });
    dst
}

/// Exit status 1, one `error:` line naming a non-finite value and `needle`, nothing on
/// stdout, no panic.
fn fails_non_finite(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("non-finite value (NaN or infinity)"), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn vectors(stdout: &str) -> Vec<Vec<f32>> {
    stdout
        .lines()
        .map(|l| {
            let line: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::from_value(line["embedding"].clone()).unwrap()
        })
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn text_commands_stop_with_an_error_on_nan_and_infinity() {
    let dir = tempfile::tempdir().unwrap();
    let model = poisoned_bge(dir.path());
    let m = path(&model);

    // Clean texts: the fixture's own vectors.
    let clean = ok(&embedkit(&["embed", "-m", m, "the robot is warm"]));
    let original = fixture("tiny-bge");
    let want = ok(&embedkit(&[
        "embed",
        "-m",
        path(&original),
        "the robot is warm",
    ]));
    assert_eq!(vectors(&clean), vectors(&want));

    for texts in [
        &["a poison pill"][..],
        &["the robot is warm", "to infinity"],
        &["poison", "--dimensions", "8"],
    ] {
        let args = [&["embed", "-m", m][..], texts].concat();
        fails_non_finite(&embedkit(&args), "");
    }
    // No output file is written.
    let npy = dir.path().join("out.npy");
    let out = embedkit(&["embed", "-m", m, "clean", "poison", "-o", path(&npy)]);
    fails_non_finite(&out, "");
    assert!(!npy.exists());

    // The store: a document the model cannot embed, and a query it cannot embed.
    let db = dir.path().join("kb.db");
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("ok.txt"), "the robot is warm").unwrap();
    let add = |file: &Path| {
        embedkit(&[
            "--quiet",
            "index",
            "add",
            "--store",
            path(&db),
            "-c",
            "kb",
            "-m",
            m,
            path(file),
        ])
    };
    ok(&add(&docs.join("ok.txt")));
    std::fs::write(docs.join("bad.txt"), "a drop of poison in the well").unwrap();
    fails_non_finite(&add(&docs.join("bad.txt")), "");
    let search =
        |query: &str| embedkit(&["search", "--store", path(&db), "-c", "kb", query, "--json"]);
    fails_non_finite(&search("where is the poison"), "");
    let hits: serde_json::Value = serde_json::from_str(&ok(&search("a warm robot"))).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
}

#[test]
fn image_commands_stop_with_an_error_on_nan_and_infinity() {
    let dir = tempfile::tempdir().unwrap();
    let image = fixture("images/chelsea.png");
    let img = path(&image);

    // NaN in the last convolution: every embedding is NaN.
    let nan = poisoned_resnet(dir.path(), "nan", "layer4.0.conv2.weight", f32::NAN);
    let out = embedkit(&["image", "embed", "-m", path(&nan), img]);
    fails_non_finite(&out, "in its embeddings");
    let out = embedkit(&["image", "classify", "-m", path(&nan), img]);
    fails_non_finite(&out, "in its embeddings");
    let npy = dir.path().join("out.npy");
    let out = embedkit(&["image", "embed", "-m", path(&nan), img, "-o", path(&npy)]);
    fails_non_finite(&out, "in its embeddings");
    assert!(!npy.exists());
    let db = dir.path().join("pics.db");
    let out = embedkit(&[
        "--quiet",
        "index",
        "add",
        "--store",
        path(&db),
        "-c",
        "pics",
        "-m",
        path(&nan),
        img,
    ]);
    fails_non_finite(&out, "in its embeddings");

    // Infinity in the classifier head only: the embeddings (before the head) are the
    // fixture's own, and classifying fails on the class scores.
    let head = poisoned_resnet(dir.path(), "head", "fc.bias", f32::INFINITY);
    let out = embedkit(&["image", "classify", "-m", path(&head), img]);
    fails_non_finite(&out, "in its class scores");
    let got = ok(&embedkit(&["image", "embed", "-m", path(&head), img]));
    let original = fixture("tiny-resnet");
    let want = ok(&embedkit(&["image", "embed", "-m", path(&original), img]));
    assert_eq!(vectors(&got), vectors(&want));
}
