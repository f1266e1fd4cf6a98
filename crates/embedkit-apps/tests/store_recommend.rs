//! Recommendation through the vector store's index gives the lists of the brute-force scan:
//! the 50 Lee documents (averaged GloVe vectors) plus copies, stored in a collection, on the
//! embedded store with its HNSW index forced on (it normally starts at 5,000 chunks) and on
//! PostgreSQL + pgvector when `EMBEDKIT_TEST_POSTGRES_URL` names a server.

mod common;

use embedkit_apps::data::{items_from_texts, Item};
use embedkit_apps::recommend::{
    mmr, recommend_for_user, similar_items, ExactIndex, Neighbours, Scored, UserOptions,
};
use embedkit_apps::store::{read_collection, StoreIndex};
use embedkit_apps::{vectors_for, AveragedWords};
use embedkit_store::testing::TestSchema;
use embedkit_store::{
    AnnSettings, Collection, Distance, Modality, Storage, Store, StoredChunk, StoredDocument,
};

/// The Lee documents, a copy of document 3 (same text) and a copy of document 8 under
/// other words with the same vector, stored as one-chunk documents.
fn lee_with_copies() -> (Vec<Item>, Vec<Vec<f32>>) {
    let mut docs = common::lee_documents();
    docs.push(docs[2].clone());
    let mut items = items_from_texts(&docs);
    let glove = AveragedWords::load(&common::data("glove-6b-50d-lee.txt")).unwrap();
    let mut vectors = vectors_for(&glove, &items).unwrap();
    items.push(Item {
        id: "51".into(),
        text: Some("a copy of document 8 by vector".into()),
        ..Default::default()
    });
    vectors.push(vectors[7].iter().map(|x| 3.0 * x).collect());
    // Ids that sort as the items are numbered: the store lists documents by id.
    for (i, item) in items.iter_mut().enumerate() {
        item.id = format!("doc{:02}", i + 1);
    }
    (items, vectors)
}

fn fill(store: &Store, items: &[Item], vectors: &[Vec<f32>]) {
    store
        .create_collection(&Collection {
            name: "lee".into(),
            model: "glove-6b-50d-lee.txt".into(),
            dimensions: 50,
            normalized: true,
            distance: Distance::Cosine,
            storage: Storage::F32,
            modality: Modality::Text,
        })
        .unwrap();
    let docs: Vec<StoredDocument> = items
        .iter()
        .zip(vectors)
        .map(|(item, v)| {
            let mut v = v.clone();
            embedkit_core::vector::normalize(&mut v);
            StoredDocument {
                id: item.id.clone(),
                hash: String::new(),
                metadata: serde_json::json!({}),
                chunks: vec![StoredChunk {
                    text: item.text.clone().unwrap(),
                    vector: v,
                }],
            }
        })
        .collect();
    store.upsert("lee", &docs).unwrap();
}

fn ids(list: &[Scored]) -> Vec<usize> {
    list.iter().map(|s| s.item).collect()
}

fn same_lists(a: &[Scored], b: &[Scored], what: &str) {
    assert_eq!(ids(a), ids(b), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x.score - y.score).abs() < 1e-5, "{what}: {x:?} vs {y:?}");
    }
}

fn check_backend(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    // A PostgreSQL schema of its own, dropped (after the store) when the test ends.
    let mut schema = None;
    let store = match url {
        "sqlite" => {
            let store = Store::open(dir.path().join("kb.db").to_str().unwrap()).unwrap();
            store.set_ann(AnnSettings {
                min_chunks: 1,
                ..Default::default()
            });
            store
        }
        server => Store::open(&schema.insert(TestSchema::new(server, "apps")).url()).unwrap(),
    };
    let (items, vectors) = lee_with_copies();
    fill(&store, &items, &vectors);

    let stored = read_collection(&store, "lee").unwrap();
    assert_eq!(stored.len(), items.len());
    for (s, i) in stored.iter().zip(&items) {
        assert_eq!((&s.id, &s.text), (&i.id, &i.text));
    }
    let stored_vectors: Vec<Vec<f32>> = stored
        .iter()
        .map(|i| i.embedding.clone().unwrap())
        .collect();
    let exact = ExactIndex::new(&stored_vectors).unwrap();
    let through_store = StoreIndex::new(&store, "lee", &stored).unwrap();
    // The file's own vectors give the same lists too.
    let from_file = ExactIndex::new(&vectors).unwrap();

    // Item-to-item: every item, k = 5, the item and its copies never listed.
    for i in 0..items.len() {
        let want = similar_items(&exact, &stored, i, 5).unwrap();
        let got = similar_items(&through_store, &stored, i, 5).unwrap();
        same_lists(&want, &got, &format!("{url}: items like {i}"));
        same_lists(
            &want,
            &similar_items(&from_file, &items, i, 5).unwrap(),
            &format!("{url}: items like {i}, file vectors"),
        );
        assert!(got.iter().all(|s| s.item != i));
    }
    let like_3 = ids(&similar_items(&through_store, &stored, 2, 5).unwrap());
    assert!(
        !like_3.contains(&50),
        "the copy of 3 by text is listed: {like_3:?}"
    );
    let like_8 = ids(&similar_items(&through_store, &stored, 7, 5).unwrap());
    assert!(
        !like_8.contains(&51),
        "the copy of 8 by vector is listed: {like_8:?}"
    );
    // Another item's list holds at most one of document 3 and its copy.
    for i in 0..items.len() {
        let l = ids(&similar_items(&through_store, &stored, i, 10).unwrap());
        assert!(!(l.contains(&2) && l.contains(&50)), "{i}: {l:?}");
    }

    // User-to-item, plain and with MMR: user s read the 4 documents nearest to s.
    for s in 0..50 {
        let history: Vec<usize> = ids(&similar_items(&exact, &stored, s, 4).unwrap());
        for mmr_lambda in [None, Some(0.5)] {
            let o = UserOptions {
                k: 5,
                half_life: 2.0,
                mmr_lambda,
            };
            let want = recommend_for_user(&exact, &history, &o).unwrap();
            let got = recommend_for_user(&through_store, &history, &o).unwrap();
            same_lists(&want, &got, &format!("{url}: user {s}, MMR {mmr_lambda:?}"));
            assert_eq!(got.len(), 5);
            for r in &got {
                assert!(!history.contains(&r.item), "seen item offered");
                // Copies of seen items are seen too.
                for &h in &history {
                    let copy_of = |a: usize, b: usize| {
                        matches!((a, b), (2, 50) | (50, 2) | (7, 51) | (51, 7))
                    };
                    assert!(!copy_of(h, r.item), "{h} seen, its copy {} offered", r.item);
                }
            }
        }
    }
    if url == "sqlite" {
        // The searches went through the HNSW index: it is saved beside the database.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("kb.db.hnsw-")),
            "{names:?}"
        );
    }
    // MMR over candidates from the index is MMR over the brute-force candidates.
    let pool = through_store.nearest(through_store.vector(0), 20).unwrap();
    assert_eq!(
        ids(&mmr(&through_store, &pool, 5, 0.3)),
        ids(&mmr(
            &exact,
            &exact.nearest(exact.vector(0), 20).unwrap(),
            5,
            0.3
        ))
    );
}

#[test]
fn recommendations_through_the_store_index_equal_the_exact_scan() {
    check_backend("sqlite");
    match std::env::var("EMBEDKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => check_backend(&url),
        _ => eprintln!("EMBEDKIT_TEST_POSTGRES_URL is not set: PostgreSQL is not tested"),
    }
}

#[test]
fn an_empty_or_missing_collection_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("kb.db").to_str().unwrap()).unwrap();
    let err = read_collection(&store, "nope").unwrap_err().to_string();
    assert!(err.contains("nope"), "{err}");
    let (items, vectors) = lee_with_copies();
    fill(&store, &items[..0], &vectors[..0]);
    let err = read_collection(&store, "lee").unwrap_err().to_string();
    assert!(err.contains("no documents"), "{err}");
}
