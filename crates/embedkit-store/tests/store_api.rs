//! The store without a model: hand-made vectors whose nearest neighbours are known. Every
//! test runs against each backend (see `common::store_urls`).

mod common;

use embedkit_store::{
    Collection, Distance, Error, Filter, Storage, Store, StoredChunk, StoredDocument,
};
use serde_json::json;

fn collection(name: &str, distance: Distance, storage: Storage) -> Collection {
    Collection {
        name: name.into(),
        model: "hand-made".into(),
        dimensions: 3,
        normalized: distance == Distance::Cosine,
        distance,
        storage,
        modality: Default::default(),
    }
}

fn doc(id: &str, meta: serde_json::Value, chunks: &[(&str, [f32; 3])]) -> StoredDocument {
    StoredDocument {
        id: id.into(),
        hash: format!("h-{id}"),
        metadata: meta,
        chunks: chunks
            .iter()
            .map(|(t, v)| StoredChunk {
                text: t.to_string(),
                vector: v.to_vec(),
            })
            .collect(),
    }
}

fn sample(store: &Store, name: &str, distance: Distance, storage: Storage) {
    store
        .create_collection(&collection(name, distance, storage))
        .unwrap();
    store
        .upsert(
            name,
            &[
                doc(
                    "a",
                    json!({"lang": "en", "year": 2001}),
                    &[
                        ("red apples", [1.0, 0.0, 0.0]),
                        ("green pears", [0.0, 1.0, 0.0]),
                    ],
                ),
                doc("b", json!({"lang": "de"}), &[("blue sky", [0.6, 0.8, 0.0])]),
                doc(
                    "c",
                    json!({"lang": "en"}),
                    &[("zebra crossing", [0.0, 0.0, -2.0])],
                ),
            ],
        )
        .unwrap();
}

#[test]
fn exact_search_ranks_by_each_distance_and_storage() {
    for url in common::store_urls() {
        let (_d, store) = common::fresh_store(&url);
        let q = [2.0f32, 0.2, 0.0];
        for storage in [Storage::F32, Storage::F16, Storage::Int8] {
            for distance in [Distance::Cosine, Distance::Dot, Distance::L2] {
                let name = format!("{distance}-{storage}");
                sample(&store, &name, distance, storage);
                let hits = store
                    .search_vector(&name, &q, 4, &Filter::default())
                    .unwrap();
                let order: Vec<(&str, usize)> =
                    hits.iter().map(|h| (h.id.as_str(), h.chunk)).collect();
                // Hand-computed: cosine(q, a0)=0.995, (q, b)=0.657, (q, a1)=0.0995, (q, c)=0.
                // dot: a0 2.0, b 1.36, a1 0.2, c 0. l2: a0 1.02, b 1.61, a1 2.15, c 2.83.
                assert_eq!(
                    order,
                    [("a", 0), ("b", 0), ("a", 1), ("c", 0)],
                    "{url} {name}"
                );
                let expected = match distance {
                    Distance::Cosine => 2.0 / (4.04f32).sqrt(),
                    Distance::Dot => 2.0,
                    Distance::L2 => -(1.0f32 + 0.04).sqrt(),
                };
                let tol = if storage == Storage::F32 { 1e-6 } else { 2e-2 };
                assert!(
                    (hits[0].score - expected).abs() < tol,
                    "{url} {name}: {}",
                    hits[0].score
                );
                assert_eq!(hits[0].text, "red apples");
                assert_eq!(hits[0].metadata["year"], 2001);
            }
        }
    }
}

#[test]
fn filters_select_documents_by_metadata() {
    for url in common::store_urls() {
        let (_d, store) = common::fresh_store(&url);
        sample(&store, "c", Distance::Cosine, Storage::F32);
        let en = Filter::parse(&["lang=en"]).unwrap();
        let hits = store.search_vector("c", &[0.6, 0.8, 0.0], 10, &en).unwrap();
        assert!(hits.iter().all(|h| h.id != "b"));
        assert_eq!(hits.len(), 3);
        let year = Filter::parse(&["lang=en", "year=2001"]).unwrap();
        let hits = store
            .search_vector("c", &[0.0, 0.0, 1.0], 10, &year)
            .unwrap();
        assert!(hits.iter().all(|h| h.id == "a"));
        assert_eq!(store.delete_where("c", &en).unwrap(), 2);
        assert_eq!(store.counts("c").unwrap().documents, 1);
    }
}

#[test]
fn upsert_replaces_and_delete_removes_every_chunk() {
    for url in common::store_urls() {
        let (_d, store) = common::fresh_store(&url);
        sample(&store, "c", Distance::Dot, Storage::F32);
        store
            .upsert(
                "c",
                &[doc("a", json!({}), &[("only one now", [0.0, 0.0, 1.0])])],
            )
            .unwrap();
        let counts = store.counts("c").unwrap();
        assert_eq!((counts.documents, counts.chunks), (3, 3));
        let hits = store
            .search_text("c", "apples", 5, &Filter::default())
            .unwrap();
        assert!(hits.is_empty(), "old chunk text still indexed: {hits:?}");
        assert_eq!(store.delete("c", &["a", "nope"]).unwrap(), 1);
        assert_eq!(store.counts("c").unwrap().chunks, 2);
        assert!(store
            .document_chunks("c")
            .unwrap()
            .iter()
            .all(|(_, want, have)| want == have));
    }
}

#[test]
fn keyword_search_and_fusion() {
    for url in common::store_urls() {
        let (_d, store) = common::fresh_store(&url);
        sample(&store, "c", Distance::Cosine, Storage::F32);
        let hits = store
            .search_text("c", "zebra \"crossing OR sky", 5, &Filter::default())
            .unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&"c") && ids.contains(&"b"));
        // Chunk c matches two query terms, b one (quotes and OR are plain words here).
        assert_eq!(ids[0], "c");
        let vector = store
            .search_vector("c", &[0.6, 0.8, 0.0], 3, &Filter::default())
            .unwrap();
        let fused = embedkit_store::fuse(&[vector.clone(), hits.clone()], 3);
        // b is 1st by vector and 2nd by keyword: 1/61 + 1/62 beats c's 1/61 (+ vector rank 4).
        assert_eq!(fused[0].id, "b");
        assert!((fused[0].score - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-6);
    }
}

#[test]
fn bad_input_gets_clear_errors() {
    for url in common::store_urls() {
        let (_d, store) = common::fresh_store(&url);
        sample(&store, "c", Distance::Cosine, Storage::F32);
        let e = store
            .search_vector("c", &[1.0, 2.0], 3, &Filter::default())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Dimensions {
                    expected: 3,
                    got: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = store
            .upsert(
                "c",
                &[doc("x", json!({}), &[("t", [1.0, 0.0, 0.0])]), {
                    let mut d = doc("y", json!({}), &[("t", [1.0, 0.0, 0.0])]);
                    d.chunks[0].vector.push(1.0);
                    d
                }],
            )
            .unwrap_err();
        assert!(e.to_string().contains("3-dimensional"), "{e}");
        // Nothing of the failed batch was written.
        assert_eq!(store.counts("c").unwrap().documents, 3);
        let e = store.counts("nope").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown collection \"nope\" (existing: c)"),
            "{e}"
        );
        let mut other = collection("c", Distance::Cosine, Storage::F32);
        other.dimensions = 4;
        let e = store.create_collection(&other).unwrap_err();
        assert!(e.to_string().contains("dimensions 3, not 4"), "{e}");
        assert!(matches!(Filter::parse(&["novalue"]), Err(Error::Filter(_))));
        assert!(Store::open("mysql://x").is_err());
    }
}

#[test]
fn damaged_store_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("kb.db");
    let store = Store::open(good.to_str().unwrap()).unwrap();
    sample(&store, "c", Distance::Cosine, Storage::F32);

    // A file that is not a database, and a database cut short.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 10_000]).unwrap();
    let e = Store::open(junk.to_str().unwrap()).err().unwrap();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(
        e.to_string().contains("not a readable embedkit store"),
        "{e}"
    );
    drop(store);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    match Store::open(cut.to_str().unwrap()) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(s) => {
            // SQLite may open a truncated file; reading it must fail cleanly, not panic.
            let r = s.search_vector("c", &[1.0, 0.0, 0.0], 3, &Filter::default());
            if let Err(e) = r {
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // The intact store still answers.
    let store = Store::open(good.to_str().unwrap()).unwrap();
    assert_eq!(store.counts("c").unwrap().documents, 3);
}

#[test]
fn unreachable_postgres_gets_a_clear_error() {
    // Nothing listens on port 1; the password never shows in the message.
    let e = Store::open("postgres://me:secret@127.0.0.1:1/kb")
        .err()
        .unwrap();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("cannot connect to the store at postgres://me:***@127.0.0.1:1/kb: "),
        "{msg}"
    );
    assert!(!msg.contains("secret"), "{msg}");
    eprintln!("{msg}");
    let e = Store::open("postgres://127.0.0.1:1/kb?schema=Bad-Name")
        .err()
        .unwrap();
    assert!(e.to_string().contains("bad schema \"Bad-Name\""), "{e}");
}

/// Past 10 000 chunks PostgreSQL answers from its HNSW index: its top 10 must still be the
/// exact top 10 (brute force here) for nearly every query, also under a filter that
/// rejects half the chunks (pgvector's iterative scan goes on until k pass).
#[test]
fn postgres_hnsw_search_agrees_with_brute_force() {
    let Some(url) = common::store_urls().into_iter().find(|u| u != "sqlite") else {
        return;
    };
    let (_d, store) = common::fresh_store(&url);
    let dims = 16;
    let mut c = collection("big", Distance::Cosine, Storage::F32);
    c.dimensions = dims;
    store.create_collection(&c).unwrap();
    // xorshift: reproducible pseudo-random components in [-1, 1).
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let vectors: Vec<Vec<f32>> = (0..12_000)
        .map(|_| (0..dims).map(|_| next()).collect())
        .collect();
    for (b, batch) in vectors.chunks(2_000).enumerate() {
        let docs: Vec<StoredDocument> = batch
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let n = b * 2_000 + i;
                StoredDocument {
                    id: format!("d{n}"),
                    hash: String::new(),
                    metadata: json!({"odd": n % 2 == 1}),
                    chunks: vec![StoredChunk {
                        text: format!("vector {n}"),
                        vector: v.clone(),
                    }],
                }
            })
            .collect();
        store.upsert("big", &docs).unwrap();
    }
    let odd = Filter::parse(&["odd=true"]).unwrap();
    let (mut found, mut wanted) = (0, 0);
    for _ in 0..20 {
        let q: Vec<f32> = (0..dims).map(|_| next()).collect();
        for filter in [Filter::default(), odd.clone()] {
            let mut exact: Vec<(f32, usize)> = vectors
                .iter()
                .enumerate()
                .filter(|(n, _)| filter.0.is_empty() || n % 2 == 1)
                .map(|(n, v)| (embedkit_core::vector::cosine(&q, v), n))
                .collect();
            exact.sort_by(|a, b| b.0.total_cmp(&a.0));
            let hits = store.search_vector("big", &q, 10, &filter).unwrap();
            assert_eq!(hits.len(), 10);
            for h in &hits {
                let n: usize = h.id[1..].parse().unwrap();
                assert!(
                    filter.0.is_empty() || n % 2 == 1,
                    "{} passed the filter",
                    h.id
                );
                assert!((h.score - embedkit_core::vector::cosine(&q, &vectors[n])).abs() < 1e-5);
                found += exact[..10].iter().any(|e| e.1 == n) as usize;
            }
            wanted += 10;
        }
    }
    let recall = found as f64 / wanted as f64;
    eprintln!("PostgreSQL HNSW recall@10: {recall:.3}");
    assert!(recall >= 0.95, "recall@10 {recall}");
}
