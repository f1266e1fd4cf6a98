//! Static models through every door: `embedkit distill` makes one from the tiny BERT
//! fixture; `info` names it; `embed` gives the same vectors as model2vec's own encoder on a
//! folder model2vec distilled from the same model (reference/tiny-model2vec); `serve` answers
//! `/v1/embeddings` with the same bits as `embed`; bad options are one clear error.

mod common;

use common::{embedkit, fixture, ok, vectors, Server};
use serde_json::{json, Value};

fn embed_lines(model: &str, texts: &[&str]) -> Vec<Vec<f32>> {
    let mut args = vec!["embed", "--model", model];
    args.extend(texts);
    ok(&embedkit(&args))
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            serde_json::from_value(v["embedding"].clone()).unwrap()
        })
        .collect()
}

#[test]
fn distill_then_info_embed_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("static");
    let out_s = out.to_str().unwrap();
    let teacher = fixture("tiny-minilm-mean");
    let printed = ok(&embedkit(&[
        "--quiet",
        "distill",
        "--model",
        teacher.to_str().unwrap(),
        "--output",
        out_s,
        "--dims",
        "16",
        "--float32",
    ]));
    assert!(
        printed.starts_with(&format!(
            "wrote {out_s}: 29525 tokens × 16 dimensions (float32) in "
        )),
        "{printed}"
    );

    let info: Value =
        serde_json::from_str(&ok(&embedkit(&["info", "--model", out_s, "--json"]))).unwrap();
    assert_eq!(info["architecture"], "model2vec");
    assert_eq!(info["dimensions"], 16);
    assert_eq!(info["normalize"], true);

    // model2vec's vectors for the same texts from its own distillation of the same model.
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("reference/tiny-model2vec/encode.json")).unwrap(),
    )
    .unwrap();
    let texts: Vec<String> = serde_json::from_value(reference["texts"].clone()).unwrap();
    let texts: Vec<&str> = texts.iter().take(12).map(String::as_str).collect();
    let want: Vec<Vec<f32>> = serde_json::from_value(reference["distilled_f32"].clone()).unwrap();
    let got = embed_lines(out_s, &texts);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let worst = g
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 3e-5, "text {i}: {worst}");
    }

    let server = Server::start(&[
        "--model",
        out_s,
        "--served-model-name",
        "static",
        "--allow-empty",
    ]);
    let (status, body) = server.post(
        "/v1/embeddings",
        None,
        &json!({"model": "static", "input": texts}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        vectors(&body),
        got,
        "the server's vectors are embed's, to the bit"
    );

    let bad = embedkit(&[
        "distill",
        "--model",
        teacher.to_str().unwrap(),
        "--output",
        out_s,
        "--sif",
        "2",
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("SIF coefficient must be between 0 and 1"),
        "{err}"
    );
}
