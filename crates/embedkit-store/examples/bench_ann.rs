//! Builds embedkit's HNSW index over a matrix of vectors and sweeps `ef_search`, printing
//! build time, recall@k against a given exact answer, and queries per second on 1 and 2
//! threads, one JSON object per line; then the same for the exact scan over the index's rows
//! (`"ef": "exact"`). Run by `scripts/bench-ann.sh`, which runs hnswlib the
//! same way on the same files.
//!
//! ```text
//! bench_ann DATA.npy QUERIES.npy TRUTH.npy M EF_CONSTRUCTION EF,EF,... [l2|dot]
//! ```
//! DATA and QUERIES are f32 matrices, TRUTH an i64 matrix of the exact neighbours' rows.

use embedkit_store::ann::hnsw::{Hnsw, Metric, Params};
use embedkit_store::ann::quantized::Quantized;
use rayon::prelude::*;
use std::time::Instant;

/// One way of answering a query: the graph at some `ef`, or the exact scan.
type Search<'a> = dyn Fn(&[f32]) -> Vec<(u32, f32)> + Sync + 'a;

fn read_f32(path: &str) -> (Vec<f32>, usize) {
    let a = embedkit_core::npy::read_f32(std::fs::File::open(path).expect(path)).expect(path);
    (a.data, a.shape[1])
}

/// Best of three passes over all queries, in queries per second; a pass slower than five
/// seconds is not repeated (the same rule as the hnswlib side).
fn qps(pass: impl Fn() -> usize, queries: usize) -> f64 {
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(pass());
        let took = t.elapsed().as_secs_f64();
        best = best.max(queries as f64 / took);
        if took > 5.0 {
            break;
        }
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        eprintln!(
            "usage: bench_ann DATA.npy QUERIES.npy TRUTH.npy M EF_CONSTRUCTION EF,EF,... [l2|dot]"
        );
        std::process::exit(2);
    }
    let (data, dim) = read_f32(&args[1]);
    let (queries, qdim) = read_f32(&args[2]);
    assert_eq!(dim, qdim, "queries of the data's width");
    let truth =
        embedkit_core::npy::read_i64(std::fs::File::open(&args[3]).expect("truth")).expect("truth");
    let k = truth.shape[1];
    let m: usize = args[4].parse().expect("M");
    let ef_construction: usize = args[5].parse().expect("ef_construction");
    let efs: Vec<usize> = args[6].split(',').map(|e| e.parse().expect("ef")).collect();
    let metric = match args.get(7).map(String::as_str) {
        Some("l2") => Metric::L2,
        _ => Metric::Dot,
    };
    let n = data.len() / dim;
    let nq = queries.len() / dim;

    let t = Instant::now();
    let mut index = Hnsw::new(
        dim,
        metric,
        Params {
            m,
            ef_construction,
            ef_search: 10,
        },
    );
    index.add(&data);
    let build = t.elapsed().as_secs_f64();
    // What the quantized scan needs of its own: every row's codes (the index makes them too).
    let t = Instant::now();
    let mut codes = Quantized::new(dim);
    codes.push(&data);
    std::hint::black_box(&codes);
    let scan_build = t.elapsed().as_secs_f64();
    // What the store would decide: the graph's and the scan's recall on 32 of its own rows at
    // the store's default ef_search (graph under 0.9 and scan better: the quantized scan).
    let store_ef = Params::default().ef_search;
    index.set_ef_search(store_ef);
    let sampled = index.sampled_recall(k, 32);
    println!(
        "{{\"tool\":\"embedkit\",\"n\":{n},\"build_s\":{build:.2},\"scan_build_s\":{scan_build:.2},\"sampled_recall_ef{store_ef}\":{:.3},\"sampled_recall_scan\":{:.3},\"threads\":{}}}",
        sampled.graph,
        sampled.scan,
        rayon::current_num_threads()
    );
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let report = |label: String, search: &Search| {
        let hits: usize = queries
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, q)| {
                let t = &truth.data[i * k..(i + 1) * k];
                search(q)
                    .iter()
                    .filter(|(node, _)| t.contains(&(*node as i64)))
                    .count()
            })
            .sum();
        let recall = hits as f64 / (nq * k) as f64;
        let one = qps(
            || queries.chunks_exact(dim).map(|q| search(q).len()).sum(),
            nq,
        );
        let par = two.install(|| {
            qps(
                || queries.par_chunks_exact(dim).map(|q| search(q).len()).sum(),
                nq,
            )
        });
        println!(
            "{{\"tool\":\"embedkit\",\"ef\":{label},\"recall\":{recall:.4},\"qps1\":{one:.0},\"qps2\":{par:.0}}}"
        );
    };
    for ef in efs {
        report(ef.to_string(), &|q| index.search_ef(q, k, ef));
    }
    report("\"exact\"".into(), &|q| index.search_exact(q, k));
    for rerank in [20, 50, 100] {
        report(format!("\"int8 scan, rescore {rerank}\""), &|q| {
            index.search_scan(q, k, rerank)
        });
    }
}
