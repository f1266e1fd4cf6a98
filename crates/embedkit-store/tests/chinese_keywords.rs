//! Keyword search in Chinese, on both backends: the 800-sentence Chinese corpus of
//! testdata/data/zh_corpus.txt is indexed, and a search for each of its words must find every
//! document whose segmentation by Python's jieba (testdata/data/zh_corpus.jieba.txt, an
//! independent reference) contains that word, and nothing that does not contain it as text.
//! Without segmentation both engines take a whole run of Han characters for one token and
//! find none of these.

mod common;

use embedkit_store::{Collection, Distance, Filter, Storage, Store, StoredChunk, StoredDocument};
use std::collections::BTreeSet;

fn collection() -> Collection {
    Collection {
        name: "zh".into(),
        model: "hand-made".into(),
        dimensions: 2,
        normalized: true,
        distance: Distance::Cosine,
        storage: Storage::F32,
        modality: Default::default(),
    }
}

fn doc(id: String, text: &str) -> StoredDocument {
    StoredDocument {
        hash: format!("h-{id}"),
        id,
        metadata: serde_json::json!({}),
        chunks: vec![StoredChunk {
            text: text.to_string(),
            vector: vec![1.0, 0.0],
        }],
    }
}

fn read_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(common::root().join("testdata/data").join(name))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn found(store: &Store, query: &str) -> BTreeSet<usize> {
    store
        .search_text("zh", query, 1000, &Filter::default())
        .unwrap()
        .iter()
        .map(|h| h.id.parse().unwrap())
        .collect()
}

#[test]
fn every_document_with_a_chinese_word_is_found() {
    let texts = read_lines("zh_corpus.txt");
    let segmented: Vec<BTreeSet<String>> = read_lines("zh_corpus.jieba.txt")
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(texts.len(), segmented.len());
    // Every word of two or more characters that Python's jieba found.
    let words: BTreeSet<&String> = segmented
        .iter()
        .flatten()
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| c.is_alphanumeric()))
        .collect();
    assert!(words.len() > 100, "{} words", words.len());
    for url in common::store_urls() {
        let (_scratch, store) = common::fresh_store(&url);
        store.create_collection(&collection()).unwrap();
        let docs: Vec<StoredDocument> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| doc(i.to_string(), t))
            .collect();
        store.upsert("zh", &docs).unwrap();
        let mut hits = 0;
        for word in &words {
            let got = found(&store, word);
            let want: BTreeSet<usize> = (0..texts.len())
                .filter(|&i| segmented[i].contains(*word))
                .collect();
            let missing: Vec<&String> = want.difference(&got).map(|&i| &texts[i]).collect();
            assert!(missing.is_empty(), "{url}: {word} not found in {missing:?}");
            for &i in &got {
                assert!(
                    texts[i].contains(word.as_str()),
                    "{url}: {word} found in {:?}",
                    texts[i]
                );
            }
            hits += got.len();
        }
        eprintln!("{url}: {} words, {hits} documents found", words.len());
    }
}

#[test]
fn mixed_chinese_and_english() {
    for url in common::store_urls() {
        let (_scratch, store) = common::fresh_store(&url);
        store.create_collection(&collection()).unwrap();
        store
            .upsert(
                "zh",
                &[
                    doc("0".into(), "我们用PostgreSQL存储向量，办公室在三楼。"),
                    doc("1".into(), "The office is on the third floor."),
                    doc("2".into(), "GPT4模型很大"),
                ],
            )
            .unwrap();
        assert_eq!(found(&store, "办公室"), BTreeSet::from([0]), "{url}");
        assert_eq!(found(&store, "postgresql"), BTreeSet::from([0]), "{url}");
        assert_eq!(found(&store, "存储"), BTreeSet::from([0]), "{url}");
        // A query glued the same way as the text, and a query in both languages.
        assert_eq!(
            found(&store, "PostgreSQL存储"),
            BTreeSet::from([0]),
            "{url}"
        );
        assert_eq!(
            found(&store, "office 办公室"),
            BTreeSet::from([0, 1]),
            "{url}"
        );
        assert_eq!(found(&store, "模型"), BTreeSet::from([2]), "{url}");
        assert_eq!(found(&store, "gpt4"), BTreeSet::from([2]), "{url}");
        // A word inside a longer one is indexed too (jieba's search mode: 办公 in 办公室).
        assert_eq!(found(&store, "办公"), BTreeSet::from([0]), "{url}");
    }
}

/// A store written by a build whose keyword index held the raw texts (schema 1) is
/// re-indexed when opened, on both backends.
#[test]
fn stores_of_schema_1_are_reindexed_when_opened() {
    let texts = ["我们的办公室在三楼。", "The office is on the third floor."];
    let fill = |store: &Store| {
        store.create_collection(&collection()).unwrap();
        let docs: Vec<StoredDocument> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| doc(i.to_string(), t))
            .collect();
        store.upsert("zh", &docs).unwrap();
    };
    for url in common::store_urls() {
        if url == "sqlite" {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kb.db");
            fill(&Store::open(path.to_str().unwrap()).unwrap());
            // What schema 1 held: the raw texts in the keyword index.
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "UPDATE embedkit_meta SET value = '1' WHERE key = 'schema';
                 DELETE FROM chunks_fts;
                 INSERT INTO chunks_fts(rowid, text) SELECT id, text FROM chunks;",
            )
            .unwrap();
            let raw: i64 = conn
                .query_row(
                    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH '\"办公室\"'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(raw, 0, "the raw index cannot find the word");
            drop(conn);
            let store = Store::open(path.to_str().unwrap()).unwrap();
            assert_eq!(found(&store, "办公室"), BTreeSet::from([0]));
            assert_eq!(found(&store, "office"), BTreeSet::from([1]));
        } else {
            let schema = embedkit_store::testing::TestSchema::new(&url, "zhmig");
            let store_url = schema.url();
            fill(&Store::open(&store_url).unwrap());
            let name = store_url.rsplit("schema=").next().unwrap();
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!("SET search_path TO \"{name}\", public"))
                .unwrap();
            let id: i32 = client
                .query_one("SELECT id FROM collections", &[])
                .unwrap()
                .get(0);
            let table = format!("chunks_{id}");
            // What schema 1 had: tsv computed from the raw text, no keywords column.
            client
                .batch_execute(&format!(
                    "ALTER TABLE {table} DROP COLUMN tsv;
                     ALTER TABLE {table} DROP COLUMN keywords;
                     ALTER TABLE {table} ADD COLUMN tsv TSVECTOR
                         GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
                     UPDATE embedkit_meta SET value = '1' WHERE key = 'schema';"
                ))
                .unwrap();
            let store = Store::open(&store_url).unwrap();
            assert_eq!(found(&store, "办公室"), BTreeSet::from([0]));
            assert_eq!(found(&store, "office"), BTreeSet::from([1]));
            let version: String = client
                .query_one("SELECT value FROM embedkit_meta WHERE key = 'schema'", &[])
                .unwrap()
                .get(0);
            assert_eq!(version, "2");
        }
    }
}
