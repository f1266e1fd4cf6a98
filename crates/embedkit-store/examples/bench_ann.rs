//! Builds embedkit's HNSW index over a matrix of vectors and sweeps `ef_search`, printing
//! build time, recall@k against a given exact answer, and queries per second on 1 and 2
//! threads, one JSON object per line. Run by `scripts/bench-ann.sh`, which runs hnswlib the
//! same way on the same files.
//!
//! ```text
//! bench_ann DATA.npy QUERIES.npy TRUTH.npy M EF_CONSTRUCTION EF,EF,... [l2|dot]
//! ```
//! DATA and QUERIES are f32 matrices, TRUTH an i64 matrix of the exact neighbours' rows.

use embedkit_store::ann::hnsw::{Hnsw, Metric, Params};
use rayon::prelude::*;
use std::time::Instant;

fn read_f32(path: &str) -> (Vec<f32>, usize) {
    let a = embedkit_core::npy::read_f32(std::fs::File::open(path).expect(path)).expect(path);
    (a.data, a.shape[1])
}

/// Best of three passes over all queries, in queries per second.
fn qps(pass: impl Fn() -> usize, queries: usize) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(pass());
            queries as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
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
    println!(
        "{{\"tool\":\"embedkit\",\"n\":{n},\"build_s\":{build:.2},\"threads\":{}}}",
        rayon::current_num_threads()
    );
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    for ef in efs {
        let found: Vec<Vec<(u32, f32)>> = queries
            .chunks_exact(dim)
            .map(|q| index.search_ef(q, k, ef))
            .collect();
        let hits: usize = found
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let t = &truth.data[i * k..(i + 1) * k];
                f.iter()
                    .filter(|(node, _)| t.contains(&(*node as i64)))
                    .count()
            })
            .sum();
        let recall = hits as f64 / (nq * k) as f64;
        let one = qps(
            || {
                queries
                    .chunks_exact(dim)
                    .map(|q| index.search_ef(q, k, ef).len())
                    .sum()
            },
            nq,
        );
        let par = two.install(|| {
            qps(
                || {
                    queries
                        .par_chunks_exact(dim)
                        .map(|q| index.search_ef(q, k, ef).len())
                        .sum()
                },
                nq,
            )
        });
        println!(
            "{{\"tool\":\"embedkit\",\"ef\":{ef},\"recall\":{recall:.4},\"qps1\":{one:.0},\"qps2\":{par:.0}}}"
        );
    }
}
