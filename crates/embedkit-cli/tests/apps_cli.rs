//! End-to-end tests of `embedkit classify | recommend | cluster | plot` and `similarity
//! --plot`: vectors given with the items (fast, no model), the real all-MiniLM-L6-v2 for the
//! word map, and one clear error line for each kind of bad input.

mod common;

use common::{embedkit, ok, root};
use std::path::Path;
use std::process::Output;

fn minilm() -> String {
    common::minilm().display().to_string()
}

/// Exit code 1 and one `error: ...` line containing `want`, no panic.
fn fails_with(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: ") && err.contains(want), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Two labelled groups of 2-D vectors around (1, 0) and (0, 1).
fn labelled_vectors(dir: &Path) -> String {
    let mut s = String::new();
    for i in 0..10 {
        let e = i as f32 * 0.02;
        s += &format!("{{\"id\": \"a{i}\", \"label\": \"东\", \"embedding\": [1.0, {e}]}}\n");
        s += &format!("{{\"id\": \"b{i}\", \"label\": \"west\", \"embedding\": [{e}, 1.0]}}\n");
    }
    write(dir, "train.jsonl", &s)
}

#[test]
fn classify_train_eval_predict_on_stored_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let data = labelled_vectors(dir.path());
    let out = ok(&embedkit(&[
        "classify", "eval", "--input", &data, "--folds", "5",
    ]));
    assert!(out.contains("accuracy  1.000"), "{out}");
    assert!(out.contains("confusion matrix"), "{out}");
    let model = dir.path().join("clf.json").display().to_string();
    ok(&embedkit(&[
        "classify",
        "train",
        "-i",
        &data,
        "-o",
        &model,
        "--classifier",
        "knn",
        "--k",
        "3",
    ]));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(saved["embedding_model"], "stored vectors");
    assert_eq!(saved["classifier"]["dimensions"], 2);
    let items = write(
        dir.path(),
        "new.jsonl",
        "{\"embedding\": [0.9, 0.1]}\n{\"embedding\": [0.2, 0.8]}\n",
    );
    let out = ok(&embedkit(&[
        "classify",
        "predict",
        "--classifier",
        &model,
        "-i",
        &items,
    ]));
    let labels: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["label"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(labels, ["东", "west"]);
    let wrong = write(
        dir.path(),
        "wrong.jsonl",
        "{\"embedding\": [0.9, 0.1, 0.3]}\n",
    );
    fails_with(
        &embedkit(&["classify", "predict", "--classifier", &model, "-i", &wrong]),
        "2-dimensional",
    );
}

#[test]
fn bad_input_gets_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Unknown label format.
    let plain = write(dir.path(), "plain.txt", "pos\tgreat film\nneg\tdull\n");
    fails_with(
        &embedkit(&["classify", "eval", "-i", &plain, "-m", "unused"]),
        "line 1 does not start with __label__",
    );
    // One-class data.
    let one = write(
        dir.path(),
        "one.jsonl",
        "{\"label\": \"a\", \"embedding\": [1, 0]}\n{\"label\": \"a\", \"embedding\": [0, 1]}\n",
    );
    fails_with(
        &embedkit(&["classify", "train", "-i", &one, "-o", "x.json"]),
        "only one class",
    );
    // k larger than the data.
    let three = write(
        dir.path(),
        "three.jsonl",
        "{\"embedding\": [1, 0]}\n{\"embedding\": [0, 1]}\n{\"embedding\": [1, 1]}\n",
    );
    fails_with(
        &embedkit(&["cluster", "-i", &three, "-k", "10"]),
        "k = 10 but there are 3 items",
    );
    let data = labelled_vectors(dir.path());
    fails_with(
        &embedkit(&["classify", "eval", "-i", &data, "--folds", "50"]),
        "50 folds but only 20 examples",
    );
    // NaN vectors (JSON null) and a missing model.
    let nan = write(
        dir.path(),
        "nan.jsonl",
        "{\"embedding\": [1, 0]}\n{\"embedding\": [null, 1]}\n{\"embedding\": [1, 1]}\n",
    );
    fails_with(
        &embedkit(&["cluster", "-i", &nan, "-k", "2"]),
        "vector 1 has a non-finite value",
    );
    fails_with(&embedkit(&["recommend", "--items", &nan]), "non-finite");
    let texts = write(dir.path(), "t.txt", "a\nb\n");
    fails_with(&embedkit(&["recommend", "--items", &texts]), "give --model");
    fails_with(
        &embedkit(&["plot", "-i", &three, "-o", "map.jpg"]),
        ".png or .svg",
    );
}

#[test]
fn recommend_and_cluster_on_stored_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let items = write(
        dir.path(),
        "items.jsonl",
        "{\"id\": \"x\", \"text\": \"x\", \"embedding\": [1, 0]}\n\
         {\"id\": \"x-copy\", \"text\": \"x\", \"embedding\": [1, 0]}\n\
         {\"id\": \"near\", \"text\": \"near\", \"embedding\": [0.9, 0.2]}\n\
         {\"id\": \"far\", \"text\": \"far\", \"embedding\": [0, 1]}\n",
    );
    let out = ok(&embedkit(&[
        "recommend",
        "--items",
        &items,
        "--item",
        "x",
        "-k",
        "2",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ids: Vec<&str> = v["recommended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["near", "far"], "no self, no exact duplicate");
    let log = write(dir.path(), "log.jsonl", "{\"user\": \"u\", \"item\": \"far\", \"time\": 1}\n{\"user\": \"u\", \"item\": \"x\", \"time\": 2}\n");
    let out = ok(&embedkit(&[
        "recommend",
        "--items",
        &items,
        "--interactions",
        &log,
        "-k",
        "1",
        "--json",
    ]));
    assert!(out.contains("\"near\""), "{out}");
    let out = ok(&embedkit(&[
        "cluster", "-i", &items, "-k", "2", "--seed", "3",
    ]));
    assert_eq!(
        out,
        ok(&embedkit(&[
            "cluster", "-i", &items, "-k", "2", "--seed", "3"
        ]))
    );
    assert!(out.contains("k = 2"), "{out}");
}

#[test]
fn word_map_from_word_vector_files() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("w.svg");
    let wordvec = root().join("testdata/fixtures/wordvec");
    // word2vec text: known words only.
    let w2v = wordvec.join("w2v.txt");
    ok(&embedkit(&[
        "plot",
        "--word-vectors",
        w2v.to_str().unwrap(),
        "--words",
        "the",
        "said",
        "has",
        "was",
        "-o",
        svg.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let labels: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for want in ["the", "said", "has", "was"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
    // A word the file lacks: one clear error, no plot.
    let out = embedkit(&[
        "plot",
        "--word-vectors",
        w2v.to_str().unwrap(),
        "--words",
        "the",
        "zzzqqq",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zzzqqq"), "{err}");
    // fastText .bin: words it never saw get vectors from their character n-grams.
    let bin = wordvec.join("fasttext.bin");
    ok(&embedkit(&[
        "plot",
        "--word-vectors",
        bin.to_str().unwrap(),
        "--words",
        "the",
        "café",
        "zzzqqq",
        "-o",
        svg.to_str().unwrap(),
    ]));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("café"));
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn word_map_and_similarity_heat_map_with_minilm() {
    let dir = tempfile::tempdir().unwrap();
    let (png, svg) = (dir.path().join("w.png"), dir.path().join("w.svg"));
    let model = minilm();
    ok(&embedkit(&[
        "plot",
        "-m",
        &model,
        "--words",
        "apple",
        "banana",
        "mango",
        "car",
        "bus",
        "truck",
        "-o",
        png.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]));
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for want in ["apple", "truck", "cluster 1", "cluster 2"] {
        assert!(texts.contains(&want), "{want} missing from {texts:?}");
    }
    let heat = dir.path().join("h.svg");
    let out = ok(&embedkit(&[
        "similarity",
        "-m",
        &model,
        "--plot",
        heat.to_str().unwrap(),
        "苹果",
        "apple",
        "car",
    ]));
    assert!(out.contains("similarity: cosine"));
    let text = std::fs::read_to_string(&heat).unwrap();
    assert!(roxmltree::Document::parse(&text).is_ok());
    assert!(text.contains("[0] 苹果"));
}
