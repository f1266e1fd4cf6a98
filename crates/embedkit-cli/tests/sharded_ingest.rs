//! `embedkit index add --shard I/N`: three processes each ingest one shard of the same corpus
//! into one collection at the same time (PostgreSQL, the deployment that scales out, and the
//! embedded SQLite file): every document lands exactly once, and running the three again
//! writes nothing (each document's content hash is unchanged).

mod common;

use embedkit_store::Store;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

fn ingest_in_three_shards(store: &str, input: &Path) -> Vec<String> {
    let model = common::fixture("tiny-bge");
    let children: Vec<_> = (1..=3)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_embedkit"))
                .args(["--quiet", "index", "add", "--store", store, "-c", "corpus"])
                .args(["--model", model.to_str().unwrap(), "--batch-size", "8"])
                .args(["--shard", &format!("{i}/3")])
                .arg(input)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{err}");
            err
        })
        .collect()
}

#[test]
fn three_shards_at_once_store_every_document_exactly_once() {
    common::for_each_store(|store, dir| {
        let background =
            std::fs::read_to_string(common::root().join("testdata/data/lee_background.cor"))
                .unwrap();
        let lines: Vec<&str> = background
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let total = 600;
        let ids: Vec<String> = (0..total).map(|i| format!("doc{i:04}")).collect();
        let body: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                serde_json::json!({"id": id, "text": lines[i % lines.len()], "metadata": {"i": i}})
                    .to_string()
            })
            .collect();
        let input = dir.join("corpus.jsonl");
        std::fs::write(&input, body.join("\n")).unwrap();

        let reports = ingest_in_three_shards(store, &input);
        let written: usize = reports
            .iter()
            .map(|r| {
                r.split(" documents written")
                    .next()
                    .unwrap()
                    .trim()
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        assert_eq!(written, total, "{reports:?}");
        let s = Store::open(store).unwrap();
        assert_eq!(s.counts("corpus").unwrap().documents, total);
        let stored = s.document_chunks("corpus").unwrap();
        let present: HashSet<&str> = stored.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(present.len(), total);
        assert!(ids.iter().all(|id| present.contains(id.as_str())));
        for (id, want, have) in &stored {
            assert!(*want > 0 && want == have, "{id}: {have} of {want} chunks");
        }
        drop(s);

        // Again, all three at once: nothing is written twice.
        let reports = ingest_in_three_shards(store, &input);
        for r in &reports {
            assert!(r.starts_with("0 documents written"), "{r}");
        }
        let s = Store::open(store).unwrap();
        assert_eq!(s.counts("corpus").unwrap().documents, total);
    });
}
