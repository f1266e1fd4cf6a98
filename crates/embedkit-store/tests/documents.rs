//! `Store::documents` gives back every document with its chunks and vectors, on every backend
//! and vector storage: f32 exactly, f16 and int8 as their rounding allows.

mod common;

use common::{fresh_store, store_urls};
use embedkit_store::{Collection, Distance, Storage, StoredChunk, StoredDocument};

fn doc(id: &str, chunks: &[(&str, [f32; 3])]) -> StoredDocument {
    StoredDocument {
        id: id.into(),
        hash: format!("h-{id}"),
        metadata: serde_json::json!({"label": id.to_uppercase(), "n": chunks.len()}),
        chunks: chunks
            .iter()
            .map(|(t, v)| StoredChunk {
                text: t.to_string(),
                vector: v.to_vec(),
            })
            .collect(),
    }
}

#[test]
fn documents_come_back_with_their_chunks_and_vectors() {
    let docs = [
        doc("b", &[("b0", [0.6, 0.8, 0.0]), ("b1", [0.0, -0.6, 0.8])]),
        doc("a", &[("a0", [1.0, 0.0, 0.0])]),
        doc(
            "c",
            &[
                ("c0", [0.0, 0.0, 1.0]),
                ("c1", [0.28, 0.96, 0.0]),
                ("c2", [0.0, 1.0, 0.0]),
            ],
        ),
    ];
    for url in store_urls() {
        for (storage, tol) in [
            (Storage::F32, 0.0),
            (Storage::F16, 1e-3),
            (Storage::Int8, 1e-2),
        ] {
            let (_dir, store) = fresh_store(&url);
            store
                .create_collection(&Collection {
                    name: "c".into(),
                    model: "hand-made".into(),
                    dimensions: 3,
                    normalized: true,
                    distance: Distance::Cosine,
                    storage,
                    modality: Default::default(),
                })
                .unwrap();
            assert!(store.documents("c").unwrap().is_empty());
            store.upsert("c", &docs).unwrap();
            let got = store.documents("c").unwrap();
            // By id, chunks in order.
            let ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(ids, ["a", "b", "c"], "{url} {storage}");
            for g in &got {
                let want = docs.iter().find(|d| d.id == g.id).unwrap();
                assert_eq!((&g.hash, &g.metadata), (&want.hash, &want.metadata));
                assert_eq!(g.chunks.len(), want.chunks.len());
                for (gc, wc) in g.chunks.iter().zip(&want.chunks) {
                    assert_eq!(gc.text, wc.text);
                    for (x, y) in gc.vector.iter().zip(&wc.vector) {
                        assert!((x - y).abs() <= tol, "{url} {storage}: {x} vs {y}");
                    }
                }
            }
            assert!(store.documents("missing").is_err());
        }
    }
}
