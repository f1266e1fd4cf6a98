//! Approximate (HNSW) search through the store, checked against the store's own exact
//! search: recall, persistence, staleness after writes, damaged sidecar files.

use embedkit_store::ann::hnsw::{Hnsw, Metric, Params};
use embedkit_store::ann::index_path;
use embedkit_store::{
    AnnSettings, Collection, Distance, Filter, Hit, Storage, Store, StoredChunk, StoredDocument,
};
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const DIM: usize = 384;

/// Seeded uniform numbers in (0, 1) (an LCG: the tests need no rand crate).
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

fn gaussians(n: usize, seed: u64) -> Vec<f32> {
    let mut u = uniform(seed);
    (0..n)
        .map(|_| {
            let (a, b) = (u(), u());
            ((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()) as f32
        })
        .collect()
}

/// Latent dimensions of the random vectors. Gaussian vectors in all 384 dimensions have no
/// neighbourhood structure to speak of (every point is almost equally far from every other,
/// and any graph search degrades towards a full scan); model embeddings do. So the vectors
/// are random points of a random 24-dimensional subspace, plus a little noise in all 384.
const LATENT: usize = 24;

/// Unit-length random vectors from a fixed seed (the subspace is the same for every seed).
fn random_vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let basis = gaussians(LATENT * DIM, 12345);
    let z = gaussians(n * LATENT, seed);
    let noise = gaussians(n * DIM, seed ^ 0xABCD);
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = (0..DIM)
                .map(|d| {
                    let s: f32 = (0..LATENT)
                        .map(|l| z[i * LATENT + l] * basis[l * DIM + d])
                        .sum();
                    s + 0.3 * noise[i * DIM + d]
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect()
}

/// Unit-length Gaussian vectors in all 384 dimensions: no structure a graph could follow.
fn isotropic_vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    gaussians(n * DIM, seed)
        .chunks_exact(DIM)
        .map(|v| {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn collection(name: &str) -> Collection {
    Collection {
        name: name.into(),
        model: "random".into(),
        dimensions: DIM,
        normalized: true,
        distance: Distance::Cosine,
        storage: Storage::F32,
        modality: Default::default(),
    }
}

fn docs(vectors: &[Vec<f32>], first: usize) -> Vec<StoredDocument> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| StoredDocument {
            id: format!("d{}", first + i),
            hash: String::new(),
            metadata: json!({"half": (first + i) % 2}),
            chunks: vec![StoredChunk {
                text: format!("vector {}", first + i),
                vector: v.clone(),
            }],
        })
        .collect()
}

/// A store at `dir/kb.db` with collection "c" holding `vectors` as documents d0, d1, ...
fn filled(dir: &Path, vectors: &[Vec<f32>]) -> Store {
    let store = open(dir);
    store.create_collection(&collection("c")).unwrap();
    for (i, batch) in vectors.chunks(5000).enumerate() {
        store.upsert("c", &docs(batch, i * 5000)).unwrap();
    }
    store
}

fn open(dir: &Path) -> Store {
    Store::open(db(dir).to_str().unwrap()).unwrap()
}

fn db(dir: &Path) -> PathBuf {
    dir.join("kb.db")
}

fn ids(hits: &[Hit]) -> Vec<String> {
    hits.iter().map(|h| h.id.clone()).collect()
}

fn any() -> Filter {
    Filter::default()
}

/// Share of the exact top-k found by the approximate search, over all queries.
fn recall(store: &Store, queries: &[Vec<f32>], k: usize) -> f64 {
    let mut found = 0;
    for q in queries {
        let exact: HashSet<String> = ids(&store.search_vector_exact("c", q, k, &any()).unwrap())
            .into_iter()
            .collect();
        let approx = store.search_vector("c", q, k, &any()).unwrap();
        assert_eq!(approx.len(), k);
        found += approx.iter().filter(|h| exact.contains(&h.id)).count();
    }
    found as f64 / (queries.len() * k) as f64
}

fn small_settings() -> AnnSettings {
    AnnSettings {
        min_chunks: 500,
        ..Default::default()
    }
}

/// The store's warnings (an index that could not be built or saved) go to the output of a
/// failing test.
fn show_store_warnings() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
}

#[test]
fn recall_at_10_of_20k_random_vectors_is_at_least_095() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), &random_vectors(20_000, 1));
    let queries = random_vectors(100, 2);
    let r = recall(&store, &queries, 10);
    assert!(r >= 0.95, "recall@10 {r}");
    // It was the index that answered: its file exists.
    let sidecar = index_path(&db(dir.path()), "c");
    assert!(sidecar.exists(), "no index file {}", sidecar.display());
    // The scores are the exact ones of the chunks returned, best first.
    let exact = store
        .search_vector_exact("c", &queries[0], 10, &any())
        .unwrap();
    let approx = store.search_vector("c", &queries[0], 10, &any()).unwrap();
    for h in &approx {
        if let Some(e) = exact.iter().find(|e| e.id == h.id) {
            assert_eq!(e.score, h.score);
        }
    }
    assert!(approx.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn isotropic_vectors_are_searched_by_the_quantized_scan_at_high_recall() {
    show_store_warnings();
    let settings = AnnSettings {
        min_chunks: 500,
        params: Params {
            m: 8,
            ef_construction: 40,
            ef_search: 16,
        },
    };
    let data = isotropic_vectors(10_000, 20);
    let queries = isotropic_vectors(50, 21);
    // The graph alone, built and searched with these settings, misses most true neighbours.
    let mut graph = Hnsw::new(DIM, Metric::Dot, settings.params);
    graph.add(&data.concat());
    let graph_hits: usize = queries
        .iter()
        .map(|q| {
            let truth = graph.search_exact(q, 10);
            graph
                .search(q, 10)
                .iter()
                .filter(|f| truth.contains(f))
                .count()
        })
        .sum();
    assert!(
        graph_hits < 250,
        "graph recall {}",
        graph_hits as f64 / 500.0
    );
    // The store notices and scans the rows' 8-bit codes instead.
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), &data);
    store.set_ann(settings);
    let r = recall(&store, &queries, 10);
    assert!(r >= 0.95, "recall@10 {r}");
    assert!(index_path(&db(dir.path()), "c").exists());
    // The choice is saved with the index: a store opened on the file answers the same.
    let again = open(dir.path());
    again.set_ann(settings);
    for q in &queries[..5] {
        assert_eq!(
            store.search_vector("c", q, 10, &any()).unwrap(),
            again.search_vector("c", q, 10, &any()).unwrap()
        );
    }
}

#[test]
fn a_persisted_index_is_reloaded_with_the_same_results() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let queries = random_vectors(30, 4);
    let first: Vec<Vec<Hit>> = {
        let store = filled(dir.path(), &random_vectors(3000, 3));
        store.set_ann(small_settings());
        queries
            .iter()
            .map(|q| store.search_vector("c", q, 10, &any()).unwrap())
            .collect()
    };
    let sidecar = index_path(&db(dir.path()), "c");
    let written = std::fs::metadata(&sidecar).unwrap().modified().unwrap();
    let store = open(dir.path());
    store.set_ann(small_settings());
    for (q, before) in queries.iter().zip(&first) {
        assert_eq!(&store.search_vector("c", q, 10, &any()).unwrap(), before);
    }
    // Loaded, not rebuilt: the file was not written again.
    assert_eq!(
        std::fs::metadata(&sidecar).unwrap().modified().unwrap(),
        written
    );
}

#[test]
fn a_stale_index_is_extended_and_never_returns_deleted_documents() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let base = random_vectors(3000, 5);
    let store = filled(dir.path(), &base);
    store.set_ann(small_settings());
    let queries = random_vectors(20, 6);
    // Builds the index.
    assert!(recall(&store, &queries, 10) >= 0.95);

    // Another connection (as another process would) adds the queries themselves as
    // documents and deletes the best old match of each.
    let mut gone = Vec::new();
    for q in &queries {
        let top = store.search_vector_exact("c", q, 1, &any()).unwrap();
        gone.push(top[0].id.clone());
    }
    let writer = open(dir.path());
    writer.upsert("c", &docs(&queries, 10_000)).unwrap();
    let gone_refs: Vec<&str> = gone.iter().map(String::as_str).collect();
    writer.delete("c", &gone_refs).unwrap();
    // The row with the highest id is deleted and a new document takes its row id
    // (SQLite reuses it): the index must see the new vector, not the old one.
    writer.delete("c", &["d10019"]).unwrap();
    let reused = random_vectors(1, 7).remove(0);
    writer
        .upsert("c", &docs(std::slice::from_ref(&reused), 20_000))
        .unwrap();

    for store in [&store, &open(dir.path())] {
        store.set_ann(small_settings());
        for (i, q) in queries.iter().enumerate() {
            let hits = store.search_vector("c", q, 10, &any()).unwrap();
            assert!(hits.iter().all(|h| !gone.contains(&h.id)), "{hits:?}");
            if i != 19 {
                assert_eq!(hits[0].id, format!("d{}", 10_000 + i));
                assert!((hits[0].score - 1.0).abs() < 1e-5);
            } else {
                assert!(hits.iter().all(|h| h.id != "d10019"));
            }
        }
        let hits = store.search_vector("c", &reused, 1, &any()).unwrap();
        assert_eq!(hits[0].id, "d20000");
        assert!(recall(store, &queries, 10) >= 0.95);
    }
}

#[test]
fn dropping_a_collection_deletes_its_index_file() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), &random_vectors(1000, 12));
    store.set_ann(small_settings());
    let q = &random_vectors(1, 13)[0];
    store.search_vector("c", q, 10, &any()).unwrap();
    let sidecar = index_path(&db(dir.path()), "c");
    assert!(sidecar.exists());
    store.drop_collection("c").unwrap();
    assert!(!sidecar.exists());
    // A new collection of the same name is indexed afresh: only its own vectors are found.
    let fresh = random_vectors(600, 14);
    store.create_collection(&collection("c")).unwrap();
    store.upsert("c", &docs(&fresh, 50_000)).unwrap();
    let hits = store.search_vector("c", &fresh[7], 10, &any()).unwrap();
    assert_eq!(hits[0].id, "d50007");
    assert!(hits
        .iter()
        .all(|h| h.id[1..].parse::<usize>().unwrap() >= 50_000));
    assert!(sidecar.exists());
    // Other collections keep theirs.
    store.create_collection(&collection("other")).unwrap();
    store.upsert("other", &docs(&fresh, 0)).unwrap();
    store.search_vector("other", q, 10, &any()).unwrap();
    store.drop_collection("c").unwrap();
    assert!(!sidecar.exists());
    assert!(index_path(&db(dir.path()), "other").exists());
}

#[test]
fn a_damaged_index_file_is_ignored_and_rebuilt() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let queries = random_vectors(20, 9);
    {
        let store = filled(dir.path(), &random_vectors(2000, 8));
        store.set_ann(small_settings());
        assert!(recall(&store, &queries, 10) >= 0.95);
    }
    let sidecar = index_path(&db(dir.path()), "c");
    let good = std::fs::read(&sidecar).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let damaged: [Vec<u8>; 4] = [
        flipped,
        good[..good.len() / 3].to_vec(),
        b"not an index at all".to_vec(),
        Vec::new(),
    ];
    for bad in damaged {
        std::fs::write(&sidecar, &bad).unwrap();
        let store = open(dir.path());
        store.set_ann(small_settings());
        assert!(recall(&store, &queries, 10) >= 0.95);
        // Rewritten whole.
        let now = std::fs::read(&sidecar).unwrap();
        assert_ne!(now, bad);
        assert!(now.len() > good.len() / 2);
    }
}

#[test]
fn filters_small_collections_and_exact_requests_score_every_vector() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), &random_vectors(1000, 10));
    let q = &random_vectors(1, 11)[0];
    // Under the default threshold of 5,000 chunks: exact, no index file.
    assert_eq!(
        store.search_vector("c", q, 10, &any()).unwrap(),
        store.search_vector_exact("c", q, 10, &any()).unwrap()
    );
    assert!(!index_path(&db(dir.path()), "c").exists());
    // Over it, a filter still searches exactly: every hit matches and none is missed.
    store.set_ann(AnnSettings {
        min_chunks: 10,
        params: Params {
            ef_search: 10,
            ..Params::default()
        },
    });
    let odd = Filter::parse(&["half=1".to_string()]).unwrap();
    assert_eq!(
        store.search_vector("c", q, 10, &odd).unwrap(),
        store.search_vector_exact("c", q, 10, &odd).unwrap()
    );
    store.search_vector("c", q, 10, &any()).unwrap();
    assert!(index_path(&db(dir.path()), "c").exists());
}

#[test]
fn exact_search_through_a_loaded_index_equals_scoring_the_rows() {
    show_store_warnings();
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), &random_vectors(3000, 12));
    store.set_ann(small_settings());
    let queries = random_vectors(10, 13);
    // Loads the index; exact searches then scan its rows in memory.
    store.search_vector("c", &queries[0], 10, &any()).unwrap();
    let in_memory: Vec<Vec<Hit>> = queries
        .iter()
        .map(|q| store.search_vector_exact("c", q, 10, &any()).unwrap())
        .collect();
    // Another store on the file, whose index was never loaded, scores the database rows.
    let rows = open(dir.path());
    for (q, hits) in queries.iter().zip(&in_memory) {
        assert_eq!(hits, &rows.search_vector_exact("c", q, 10, &any()).unwrap());
    }
    // After a write the loaded index is stale: an exact search does not wait for it and
    // still sees the new document.
    let mut near = queries[0].clone();
    near[0] += 1e-3;
    store.upsert("c", &docs(&[near], 900_000)).unwrap();
    let top = store
        .search_vector_exact("c", &queries[0], 1, &any())
        .unwrap();
    assert_eq!(top[0].id, "d900000");
}
