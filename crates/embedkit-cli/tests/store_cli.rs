//! `embedkit index` and `embedkit search`: end to end through the binary, with the tiny BGE
//! fixture model (it has a `query` prompt), durability under SIGKILL, and bad input.

mod common;

use common::ok;

use embedkit_models::{EmbedOptions, Prompt, SentenceEmbedder};
use embedkit_store::Store;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn embedkit(args: &[&str]) -> Output {
    common::embedkit(&[&["--quiet"], args].concat())
}

/// Fails cleanly: non-zero exit, an error message with `needle`, no panic.
fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should have failed");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn write_jsonl(path: &Path, docs: &[(&str, &str, serde_json::Value)]) {
    let lines: Vec<String> = docs
        .iter()
        .map(|(id, text, meta)| {
            serde_json::json!({"id": id, "text": text, "metadata": meta}).to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[test]
fn index_then_search_with_the_query_prompt_filters_and_resume() {
    common::for_each_store(index_then_search);
    // A file that is not a store, whatever its name says.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "this is not a database, just text ".repeat(200)).unwrap();
    fails_with(
        &embedkit(&["search", "--store", junk.to_str().unwrap(), "x"]),
        "not a readable embedkit store",
    );
}

fn index_then_search(db: &str, dir: &Path) {
    let model = common::fixture("tiny-bge");
    let model = model.to_str().unwrap();
    let input = dir.join("docs.jsonl");
    let docs = [
        (
            "cat",
            "The cat sleeps on the warm windowsill.",
            serde_json::json!({"lang": "en"}),
        ),
        (
            "rust",
            "Rust programs are compiled ahead of time.",
            serde_json::json!({"lang": "en"}),
        ),
        (
            "tea",
            "绿茶来自中国南方。",
            serde_json::json!({"lang": "zh"}),
        ),
    ];
    write_jsonl(&input, &docs);
    let add = |extra: &[&str]| {
        let mut args = vec![
            "index", "add", "--store", db, "-c", "notes", "--model", model,
        ];
        args.extend_from_slice(extra);
        args.push(input.to_str().unwrap());
        embedkit(&args)
    };
    let first = add(&[]);
    assert_eq!(ok(&first), "committed 3\n");
    assert!(String::from_utf8_lossy(&first.stderr).contains("3 documents written"));

    let out = ok(&embedkit(&[
        "search",
        "--store",
        db,
        "-c",
        "notes",
        "--json",
        "-k",
        "3",
        "where does the cat sleep",
    ]));
    let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(hits.len(), 3);
    // Independent scores: the library embeds the query with the model's query prompt and the
    // documents with its document prompt; cosine of each pair.
    let m = SentenceEmbedder::from_folder(Path::new(model)).unwrap();
    let q = m
        .embed(
            &["where does the cat sleep"],
            &EmbedOptions {
                prompt: Prompt::Named("query".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let texts: Vec<&str> = docs.iter().map(|d| d.1).collect();
    let d = m
        .embed(
            &texts,
            &EmbedOptions {
                prompt: Prompt::Named("document".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let mut expected: Vec<(String, f32)> = docs
        .iter()
        .zip(&d)
        .map(|(doc, v)| (doc.0.to_string(), embedkit_core::vector::cosine(&q[0], v)))
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (h, (id, s)) in hits.iter().zip(&expected) {
        assert_eq!(h["id"], id.as_str());
        assert!((h["score"].as_f64().unwrap() as f32 - s).abs() < 1e-5);
        assert_eq!(h["chunk"], 0);
        assert!(h["text"].is_string() && h["metadata"]["lang"].is_string());
    }

    let out = ok(&embedkit(&[
        "search", "--store", db, "-c", "notes", "--json", "--filter", "lang=zh", "tea",
    ]));
    let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["text"], "绿茶来自中国南方。");

    let out = ok(&embedkit(&[
        "search",
        "--store",
        db,
        "-c",
        "notes",
        "--json",
        "--keyword",
        "compiled",
    ]));
    let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(hits[0]["id"], "rust");
    // Chinese keywords: the texts and the query are cut into words (jieba), so a word inside
    // a run of Chinese characters is found, alone or in a question.
    for query in ["中国", "绿茶", "中国的绿茶"] {
        let out = ok(&embedkit(&[
            "search",
            "--store",
            db,
            "-c",
            "notes",
            "--json",
            "--keyword",
            query,
        ]));
        let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(hits.len(), 1, "{query}: {hits:?}");
        assert_eq!(hits[0]["id"], "tea", "{query}");
    }
    let out = ok(&embedkit(&[
        "search", "--store", db, "-c", "notes", "--json", "--hybrid", "-k", "1", "compiled",
    ]));
    let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(hits.len(), 1);

    // Re-running skips everything; changing one document rewrites only it.
    let again = add(&[]);
    ok(&again);
    assert!(String::from_utf8_lossy(&again.stderr)
        .contains("0 documents written (0 chunks), 3 unchanged skipped"));
    let mut changed = docs.clone();
    changed[1].1 = "Rust programs are compiled.";
    write_jsonl(&input, &changed);
    let third = add(&[]);
    ok(&third);
    assert!(String::from_utf8_lossy(&third.stderr)
        .contains("1 documents written (1 chunks), 2 unchanged skipped"));

    // Bad input.
    fails_with(
        &embedkit(&["search", "--store", db, "-c", "nope", "x"]),
        "unknown collection \"nope\" (existing: notes)",
    );
    fails_with(
        &embedkit(&[
            "search", "--store", db, "-c", "notes", "--filter", "lang", "x",
        ]),
        "malformed filter \"lang\"",
    );
    let other = common::fixture("tiny-mpnet");
    fails_with(
        &embedkit(&[
            "search",
            "--store",
            db,
            "-c",
            "notes",
            "--model",
            other.to_str().unwrap(),
            "x",
        ]),
        "was created with model",
    );
    fails_with(
        &add(&["--chunk-size", "4", "--chunk-overlap", "4"]),
        "overlap smaller",
    );
    fails_with(
        &embedkit(&[
            "index",
            "add",
            "--store",
            db,
            "-c",
            "fresh",
            input.to_str().unwrap(),
        ]),
        "give --model to create it",
    );
    // Nothing was lost through all that.
    let store = Store::open(db).unwrap();
    assert_eq!(store.counts("notes").unwrap().documents, 3);
}

/// Acceptance 3: SIGKILL in the middle of a large ingest. Every document the CLI
/// acknowledged (`committed N`: the first N input documents) is there, whole; nothing is
/// half-written; a reader running alongside the writer always sees whole documents; and a
/// re-run resumes where it stopped.
#[test]
fn sigkill_mid_ingest_keeps_every_acknowledged_document() {
    common::for_each_store(sigkill_mid_ingest);
}

fn sigkill_mid_ingest(db: &str, dir: &Path) {
    let model = common::fixture("tiny-bge");
    let background =
        std::fs::read_to_string(common::root().join("testdata/data/lee_background.cor")).unwrap();
    let lines: Vec<&str> = background.lines().collect();
    let total = 4_000;
    let input = dir.join("big.jsonl");
    let docs: Vec<(String, String)> = (0..total)
        .map(|i| {
            (
                format!("doc{i:05}"),
                format!("{} ({i})", lines[i % lines.len()]),
            )
        })
        .collect();
    let body: Vec<String> = docs
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t, "metadata": {"n": id}}).to_string())
        .collect();
    std::fs::write(&input, body.join("\n")).unwrap();
    let args = [
        "index",
        "add",
        "--store",
        db,
        "-c",
        "big",
        "--model",
        model.to_str().unwrap(),
        "--batch-size",
        "16",
        input.to_str().unwrap(),
    ];

    let mut child = Command::new(env!("CARGO_BIN_EXE_embedkit"))
        .arg("--quiet")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acks = BufReader::new(child.stdout.take().unwrap()).lines();
    let ack = |line: String| -> usize { line.strip_prefix("committed ").unwrap().parse().unwrap() };
    // Wait for a few commits so the collection exists, then read alongside the writer.
    let mut acked = 0;
    for _ in 0..3 {
        acked = ack(acks.next().unwrap().unwrap());
    }
    let reader = {
        let db = db.to_string();
        std::thread::spawn(move || {
            let store = Store::open(&db).unwrap();
            let mut last = 0;
            for _ in 0..20 {
                let snapshot = store.document_chunks("big").unwrap();
                for (id, want, have) in &snapshot {
                    assert!(*want > 0 && want == have, "{id}: {have} of {want} chunks");
                }
                assert!(snapshot.len() >= last, "documents disappeared");
                last = snapshot.len();
            }
            last
        })
    };
    for _ in 0..5 {
        acked = ack(acks.next().unwrap().unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Acknowledgements already written before the kill count too.
    for line in acks {
        acked = ack(line.unwrap());
    }
    assert!(reader.join().unwrap() > 0);
    assert!(acked < total, "the ingest finished before it was killed");

    let store = Store::open(db).unwrap();
    let stored = store.document_chunks("big").unwrap();
    let present: std::collections::HashSet<&str> = stored.iter().map(|r| r.0.as_str()).collect();
    for (id, _) in &docs[..acked] {
        assert!(present.contains(id.as_str()), "acknowledged {id} missing");
    }
    for (id, want, have) in &stored {
        assert!(
            *want > 0 && want == have,
            "{id} half-written: {have} of {want} chunks"
        );
    }
    drop(store);

    // Resume: committed documents are skipped, the rest written.
    let out = embedkit(&args);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let skipped = format!("{} unchanged skipped", stored.len());
    assert!(err.contains(&skipped), "{err}");
    let store = Store::open(db).unwrap();
    assert_eq!(store.counts("big").unwrap().documents, total);
}
