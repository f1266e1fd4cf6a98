//! Reranking through every door: `embedkit rerank`, `embedkit serve`'s `/v1/rerank` and
//! `/rerank`, and `embedkit search --rerank` next to the server's reranked collection search,
//! on the tiny BERT cross-encoder fixture. Each is checked against sentence-transformers'
//! `CrossEncoder` scores stored with the fixture (three queries over twelve documents in
//! Chinese, English and other scripts), and against the others; bad input is one error line.

mod common;

use common::{embedkit, fixture, for_each_store, ok, root, Server};
use serde_json::{json, Value};
use std::path::Path;

/// Queries, documents, and CrossEncoder's score of each pair (query-major).
struct Reference {
    queries: Vec<String>,
    documents: Vec<String>,
    scores: Vec<f32>,
}

impl Reference {
    fn load() -> Self {
        let path = root().join("testdata/fixtures/reference/tiny-cross-encoder/scores.json");
        let r: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        Self {
            queries: serde_json::from_value(r["queries"].clone()).unwrap(),
            documents: serde_json::from_value(r["documents"].clone()).unwrap(),
            scores: r["scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        }
    }

    fn scores(&self, q: usize) -> &[f32] {
        let n = self.documents.len();
        &self.scores[q * n..(q + 1) * n]
    }
}

fn model() -> String {
    fixture("tiny-cross-encoder").to_string_lossy().into_owned()
}

/// (index, score) pairs of a JSON array of results.
fn ranked(results: &Value, index: &str, score: &str) -> Vec<(usize, f32)> {
    results
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {results}"))
        .iter()
        .map(|r| {
            (
                r[index].as_u64().unwrap() as usize,
                r[score].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

/// Every score within 2e-5 of CrossEncoder's, best first, no document twice.
fn assert_matches_reference(got: &[(usize, f32)], want: &[f32], what: &str) {
    let mut seen = vec![false; want.len()];
    for &(i, s) in got {
        assert!(!seen[i], "{what}: {i} twice");
        seen[i] = true;
        assert!(
            (s - want[i]).abs() <= 2e-5,
            "{what}: [{i}] {s} vs {}",
            want[i]
        );
    }
    for w in got.windows(2) {
        assert!(w[0].1 >= w[1].1, "{what}: not best first: {got:?}");
    }
}

/// The same ranking: same documents in the same order, scores equal to 1e-6 (different batch
/// packing may move the last bits).
fn assert_same(a: &[(usize, f32)], b: &[(usize, f32)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0, "{what}: {a:?} vs {b:?}");
        assert!((x.1 - y.1).abs() <= 1e-6, "{what}: {x:?} vs {y:?}");
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn rerank_command_and_both_routes_agree_with_cross_encoder() {
    let r = Reference::load();
    let dir = tempfile::tempdir().unwrap();
    let docs_json = dir.path().join("docs.json");
    write(&docs_json, &serde_json::to_string(&r.documents).unwrap());
    let server = Server::start(&["--model", &model(), "--served-model-name", "rr"]);
    for (q, query) in r.queries.iter().enumerate() {
        let out = ok(&embedkit(&[
            "rerank",
            "--model",
            &model(),
            "--query",
            query,
            "--input",
            docs_json.to_str().unwrap(),
            "--json",
        ]));
        let cli: Value = serde_json::from_str(&out).unwrap();
        let cli_ranked = ranked(&cli, "index", "score");
        assert_eq!(cli_ranked.len(), r.documents.len());
        assert_matches_reference(&cli_ranked, r.scores(q), query);
        for row in cli.as_array().unwrap() {
            let i = row["index"].as_u64().unwrap() as usize;
            assert_eq!(row["document"], r.documents[i]);
        }

        let (status, v1) = server.post(
            "/v1/rerank",
            None,
            &json!({"model": "rr", "query": query, "documents": r.documents}).to_string(),
        );
        assert_eq!(status, 200, "{v1}");
        assert_same(
            &ranked(&v1["results"], "index", "relevance_score"),
            &cli_ranked,
            "/v1/rerank",
        );
        let (status, tei) = server.post(
            "/rerank",
            None,
            &json!({"query": query, "texts": r.documents}).to_string(),
        );
        assert_eq!(status, 200, "{tei}");
        assert_same(&ranked(&tei, "index", "score"), &cli_ranked, "/rerank");

        // Documents as arguments, plain output, the best three: the rank, the score to four
        // decimals, the document's number and its first line.
        let mut args: Vec<String> = vec!["rerank".into(), "-m".into(), model()];
        args.extend([
            "--query".into(),
            query.clone(),
            "--top-n".into(),
            "3".into(),
        ]);
        args.extend(r.documents.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let plain = ok(&embedkit(&refs));
        let lines: Vec<&str> = plain.lines().filter(|l| !l.starts_with("   ")).collect();
        assert_eq!(lines.len(), 3, "{plain}");
        for (n, (line, (i, score))) in lines.iter().zip(&cli_ranked).enumerate() {
            let head = format!("{}. {score:.4}  [{i}]", n + 1);
            let first = r.documents[*i]
                .lines()
                .map(str::trim_end)
                .find(|l| !l.trim().is_empty());
            let want = match first {
                Some(text) => format!("{head} {text}"),
                None => head,
            };
            assert_eq!(*line, want, "{plain}");
        }
    }
    // The other input formats read the same documents (those without line breaks, for the
    // one-per-line file).
    let one_line: Vec<&String> = r.documents.iter().filter(|d| !d.contains('\n')).collect();
    let jsonl = dir.path().join("docs.jsonl");
    write(
        &jsonl,
        &one_line
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 0 {
                    json!(d).to_string()
                } else {
                    json!({"text": d}).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let txt = dir.path().join("docs.txt");
    write(
        &txt,
        &one_line
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let query = &r.queries[1];
    let want: Vec<f32> = r
        .documents
        .iter()
        .zip(r.scores(1))
        .filter(|(d, _)| !d.contains('\n'))
        .map(|(_, s)| *s)
        .collect();
    for file in [&jsonl, &txt] {
        let out = ok(&embedkit(&[
            "rerank",
            "-m",
            &model(),
            "--query",
            query,
            "-i",
            file.to_str().unwrap(),
            "--json",
        ]));
        let got = ranked(&serde_json::from_str(&out).unwrap(), "index", "score");
        assert_eq!(got.len(), want.len(), "{}", file.display());
        assert_matches_reference(&got, &want, &file.display().to_string());
    }
}

/// The reference documents the store keeps as one chunk of the same text (not the empty one,
/// the one with surrounding whitespace, or the paragraph longer than a chunk).
const STORED: [usize; 9] = [0, 1, 2, 3, 4, 8, 9, 10, 11];

/// (position in [`STORED`], score) of `embedkit search --json` or collection search hits.
fn hits(list: &Value, r: &Reference) -> Vec<(usize, f32)> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|h| {
            let i: usize = h["id"].as_str().unwrap()[1..].parse().unwrap();
            assert_eq!(h["text"], r.documents[i]);
            let pos = STORED.iter().position(|&s| s == i).unwrap();
            (pos, h["score"].as_f64().unwrap() as f32)
        })
        .collect()
}

#[test]
fn search_rerank_agrees_with_the_servers_collection_search_and_cross_encoder() {
    let r = Reference::load();
    let bge = fixture("tiny-bge").to_string_lossy().into_owned();
    for_each_store(|store, dir| {
        let jsonl = dir.join("docs.jsonl");
        write(
            &jsonl,
            &STORED
                .iter()
                .map(|&i| json!({"id": format!("d{i}"), "text": r.documents[i]}).to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        ok(&embedkit(&[
            "index",
            "add",
            "-q",
            "--store",
            store,
            "-c",
            "c",
            "-m",
            &bge,
            jsonl.to_str().unwrap(),
        ]));
        let server = Server::start(&[
            "--model",
            &bge,
            "--model",
            &model(),
            "--served-model-name",
            "bge",
            "--served-model-name",
            "rr",
            "--store",
            store,
        ]);
        for (q, query) in r.queries.iter().enumerate() {
            let want: Vec<f32> = STORED.iter().map(|&i| r.scores(q)[i]).collect();
            for (flag, mode) in [(None, "vector"), (Some("--hybrid"), "hybrid")] {
                let mut args = vec![
                    "search", "--store", store, "-c", "c", "-k", "4", "--json", "--rerank",
                ];
                let m = model();
                args.push(&m);
                args.extend(flag);
                args.push(query);
                let cli = hits(&serde_json::from_str(&ok(&embedkit(&args))).unwrap(), &r);
                assert_eq!(cli.len(), 4);
                assert_matches_reference(&cli, &want, &format!("{store} {mode} {query}"));
                // The best four of the collection: every chunk was a candidate.
                let mut sorted = want.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                assert!(cli[3].1 >= sorted[4] - 2e-5, "{query}: {cli:?}");

                let (status, body) = server.post(
                    "/v1/collections/c/search",
                    None,
                    &json!({"query": query, "k": 4, "mode": mode, "rerank": "rr"}).to_string(),
                );
                assert_eq!(status, 200, "{body}");
                assert_same(&hits(&body["data"], &r), &cli, &format!("{mode} {query}"));
            }
        }
        // Keyword candidates (no embedding model needed), reranked: the chunks holding a
        // word of the query, by the cross-encoder's score.
        let out = ok(&embedkit(&[
            "search",
            "--store",
            store,
            "-c",
            "c",
            "--keyword",
            "--json",
            "-k",
            "3",
            "--rerank",
            &model(),
            "fox dog",
        ]));
        let got = hits(&serde_json::from_str(&out).unwrap(), &r);
        assert_eq!(got.len(), 1, "{out}");
        assert_eq!(STORED[got[0].0], 0);
        let (status, body) = server.post(
            "/v1/collections/c/search",
            None,
            &json!({"query": "fox dog", "k": 3, "mode": "keyword", "rerank": "rr"}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        assert_same(&hits(&body["data"], &r), &got, "keyword");

        // Candidates fewer than -k: one error line.
        let out = embedkit(&[
            "search",
            "--store",
            store,
            "-c",
            "c",
            "-k",
            "3",
            "--rerank",
            &model(),
            "--rerank-candidates",
            "2",
            "q",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("rerank candidates (2) must be at least k (3)"),
            "{err}"
        );
    });
}

#[test]
fn bad_rerank_input_is_one_error_line() {
    let roberta = fixture("tiny-cross-encoder-roberta")
        .to_string_lossy()
        .into_owned();
    let bge = fixture("tiny-bge").to_string_lossy().into_owned();
    let m = model();
    for (args, needle) in [
        (vec!["--query", "", "a"], "the query is empty"),
        (
            vec!["--query", "q", "--top-n", "0", "a"],
            "--top-n must be at least 1",
        ),
        (vec!["--query", "q"], "no documents to rank"),
        (
            vec!["--query", "q", "-m", &roberta, "a"],
            "one score per pair; this one has 3 labels",
        ),
        (
            vec!["--query", "q", "-m", &bge, "a"],
            "names no *ForSequenceClassification architecture",
        ),
    ] {
        let mut full = vec!["rerank"];
        if !args.contains(&"-m") {
            full.extend(["-m", &m]);
        }
        full.extend(&args);
        let out = embedkit(&full);
        assert_eq!(out.status.code(), Some(1), "{full:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{full:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{full:?}: {err}"
        );
    }
    // --rerank-candidates without --rerank is an argument error (exit 2), as is --rerank with
    // an image query.
    for args in [
        vec!["search", "--rerank-candidates", "5", "q"],
        vec!["search", "--rerank", &m, "--image", "x.png"],
    ] {
        assert_eq!(embedkit(&args).status.code(), Some(2), "{args:?}");
    }
}
