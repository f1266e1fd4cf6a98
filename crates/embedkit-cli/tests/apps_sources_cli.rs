//! `recommend`, `classify` and `cluster` with averaged word vectors (`--word-vectors`) and with
//! items read from a store collection (`--store`), and the errors of those paths.

mod common;

use common::{embedkit, ok, root};
use embedkit_apps::data::items_from_texts;
use embedkit_apps::recommend::{similar_items, ExactIndex};
use embedkit_apps::{vectors_for, AveragedWords};
use embedkit_store::{Collection, Distance, Modality, Storage, Store, StoredChunk, StoredDocument};
use std::path::Path;
use std::process::Output;

fn glove() -> String {
    root()
        .join("testdata/data/glove-6b-50d-lee.txt")
        .display()
        .to_string()
}

/// The first 12 Lee documents (ASCII), one per line.
fn lee12() -> Vec<String> {
    let bytes = std::fs::read(root().join("testdata/data/lee.cor")).unwrap();
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    text.lines().take(12).map(str::to_string).collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Exit code 1 and one `error: ...` message containing `want`, no panic.
fn fails_with(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: ") && err.contains(want), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn scored(json_line: &str) -> Vec<(String, f64)> {
    let v: serde_json::Value = serde_json::from_str(json_line).unwrap();
    v["recommended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn listed(json_line: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json_line).unwrap();
    v["recommended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn recommend_and_classify_with_averaged_word_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let docs = lee12();
    let items = write(dir.path(), "lee12.txt", &(docs.join("\n") + "\n"));
    let out = ok(&embedkit(&[
        "recommend",
        "--word-vectors",
        &glove(),
        "--items",
        &items,
        "--item",
        "1",
        "-k",
        "3",
        "--json",
    ]));
    // The library on the same file and vectors.
    let lib_items = items_from_texts(&docs);
    let source = AveragedWords::load(Path::new(&glove())).unwrap();
    let index = ExactIndex::new(&vectors_for(&source, &lib_items).unwrap()).unwrap();
    let want: Vec<String> = similar_items(&index, &lib_items, 0, 3)
        .unwrap()
        .iter()
        .map(|s| lib_items[s.item].id.clone())
        .collect();
    assert_eq!(listed(out.trim()), want);

    // A classifier trained on averaged word vectors predicts with the same vectors.
    let mut labelled = String::new();
    for (i, d) in docs.iter().enumerate() {
        let label = if i < 6 { "a" } else { "b" };
        labelled += &format!("__label__{label} {d}\n");
    }
    let data = write(dir.path(), "train.txt", &labelled);
    let clf = dir.path().join("clf.json").display().to_string();
    ok(&embedkit(&[
        "classify",
        "train",
        "--word-vectors",
        &glove(),
        "-i",
        &data,
        "-o",
        &clf,
    ]));
    let saved = std::fs::read_to_string(&clf).unwrap();
    assert!(saved.contains("words:"), "{saved}");
    let out = ok(&embedkit(&[
        "classify",
        "predict",
        "--classifier",
        &clf,
        &docs[0],
        &docs[11],
    ]));
    let labels: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["label"].to_string())
        .collect();
    assert_eq!(labels, ["\"a\"", "\"b\""], "{out}");
}

#[test]
fn bad_word_vector_input_gets_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let items = write(dir.path(), "items.txt", "the cat sat\nthe dog ran\n");
    let run = |extra: &[&str]| {
        let mut args = vec!["recommend", "--items", &items, "-k", "1"];
        args.extend_from_slice(extra);
        embedkit(&args)
    };
    let missing = dir.path().join("missing.vec").display().to_string();
    fails_with(
        &run(&["--word-vectors", &missing]),
        "cannot read word vectors",
    );
    // A row of another width.
    let ragged = write(dir.path(), "ragged.txt", "the 0.1 0.2 0.3\ncat 0.4 0.5\n");
    fails_with(&run(&["--word-vectors", &ragged]), "ragged.txt");
    fails_with(
        &run(&["--word-vectors", &glove(), "--dimensions", "8"]),
        "--dimensions",
    );
    // An empty text, and a text with no known word.
    let empty = write(
        dir.path(),
        "empty.jsonl",
        "{\"id\": \"a\", \"text\": \"the cat\"}\n{\"id\": \"b\", \"text\": \"  \"}\n",
    );
    let out = embedkit(&["recommend", "--word-vectors", &glove(), "--items", &empty]);
    fails_with(&out, "item b has no words");
    let unknown = write(dir.path(), "unknown.txt", "the cat\nzzqx qqzx\n");
    let out = embedkit(&["recommend", "--word-vectors", &glove(), "--items", &unknown]);
    fails_with(&out, "item 2: none of its words");
}

/// A store with the 12 documents (averaged GloVe vectors) in collection `lee`, and the same
/// items as JSONL with their vectors.
fn lee12_store(dir: &Path) -> (String, String) {
    let docs = lee12();
    let lib_items = items_from_texts(&docs);
    let source = AveragedWords::load(Path::new(&glove())).unwrap();
    let vectors = vectors_for(&source, &lib_items).unwrap();
    let url = dir.join("kb.db").display().to_string();
    let store = Store::open(&url).unwrap();
    store
        .create_collection(&Collection {
            name: "lee".into(),
            model: "words:glove".into(),
            dimensions: 50,
            normalized: true,
            distance: Distance::Cosine,
            storage: Storage::F32,
            modality: Modality::Text,
        })
        .unwrap();
    let mut jsonl = String::new();
    let mut stored = Vec::new();
    for (i, (d, v)) in docs.iter().zip(&vectors).enumerate() {
        let id = format!("d{:02}", i + 1);
        let mut u = v.clone();
        embedkit_core::vector::normalize(&mut u);
        jsonl += &serde_json::json!({"id": id, "text": d, "embedding": u}).to_string();
        jsonl.push('\n');
        stored.push(StoredDocument {
            id,
            hash: String::new(),
            metadata: serde_json::json!({}),
            chunks: vec![StoredChunk {
                text: d.clone(),
                vector: u,
            }],
        });
    }
    store.upsert("lee", &stored).unwrap();
    (url, write(dir, "lee12.jsonl", &jsonl))
}

#[test]
fn recommend_and_cluster_from_a_store_collection() {
    let dir = tempfile::tempdir().unwrap();
    let (url, jsonl) = lee12_store(dir.path());
    let log = write(
        dir.path(),
        "log.jsonl",
        "{\"user\": \"u\", \"item\": \"d01\"}\n{\"user\": \"u\", \"item\": \"d05\"}\n",
    );
    let from_store = |extra: &[&str]| {
        let mut args = vec!["recommend", "--store", &url, "--collection", "lee"];
        args.extend_from_slice(extra);
        ok(&embedkit(&args))
    };
    let from_file = |extra: &[&str]| {
        let mut args = vec!["recommend", "--items", &jsonl];
        args.extend_from_slice(extra);
        ok(&embedkit(&args))
    };
    // The same lists (ids, and scores up to float rounding: the JSON path normalizes the
    // vectors again).
    for extra in [
        &["-k", "4"][..],
        &["-k", "3", "--item", "d02"],
        &["-k", "3", "--interactions", &log, "--mmr", "0.5"],
    ] {
        let mut extra = extra.to_vec();
        extra.push("--json");
        let (a, b) = (from_store(&extra), from_file(&extra));
        assert_eq!(a.lines().count(), b.lines().count(), "{extra:?}");
        assert!(!a.is_empty());
        for (x, y) in a.lines().zip(b.lines()) {
            let (x, y) = (scored(x), scored(y));
            assert_eq!(x.len(), y.len(), "{extra:?}");
            for ((xi, xs), (yi, ys)) in x.iter().zip(&y) {
                assert_eq!(xi, yi, "{extra:?}");
                assert!((xs - ys).abs() < 1e-5, "{extra:?}: {xs} vs {ys}");
            }
        }
    }
    let store_clusters = ok(&embedkit(&[
        "cluster", "--store", &url, "-c", "lee", "-k", "3", "--seed", "2",
    ]));
    let file_clusters = ok(&embedkit(&[
        "cluster", "-i", &jsonl, "-k", "3", "--seed", "2",
    ]));
    assert_eq!(store_clusters, file_clusters);
    assert!(
        store_clusters.contains("12 items, k = 3"),
        "{store_clusters}"
    );

    // Bad input: a collection that is not there, a model beside --store.
    fails_with(
        &embedkit(&["recommend", "--store", &url, "--collection", "nope"]),
        "nope",
    );
    let out = embedkit(&["recommend", "--store", &url, "-m", "some-model"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}
