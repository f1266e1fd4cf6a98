//! Bit-reproducible vectors: for one model, precision (f32, bf16, int8) and instruction-set
//! path, a text's vector is the same bits whatever the batch size, the order of the inputs,
//! the other texts of its batch (and so their lengths) and the number of threads.
//!
//! Each setting (threads 1, 2, 3 × batch sizes 1, 7, 32 × original or seeded shuffled order)
//! is compared with `f32::to_bits` against every text embedded alone on one thread.
//!
//! The instruction set is chosen once per process (`EMBEDKIT_ISA`), so each test checks the
//! path of its own process, then runs itself again as a child process once per other path
//! this CPU has, and fails if a child fails or did not run. The real model runs every setting
//! on the process's own path and each value once on the others (see [`Plan::Diagonal`]).
//!
//! The tiny fixtures cover each architecture (BERT with mean and CLS pooling, MPNet's relative
//! positions, Qwen3's causal grouped-query attention and last-token pooling); their batches of
//! 32 texts are large enough for the products to be split over threads. all-MiniLM-L6-v2
//! adds what only real widths reach: k blocks (the feed-forward's 1536 inputs), the 32-wide
//! attention heads' tiled and bf16-pair kernels, and the 8-bit activation products.

mod common;

use common::*;
use embedkit_kernels::isa::{self, Isa};
use embedkit_models::{EmbedOptions, Precision, SentenceEmbedder};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const THREADS: [usize; 3] = [1, 2, 3];
const BATCH_SIZES: [usize; 3] = [1, 7, 32];
const PRECISIONS: [Precision; 3] = [Precision::F32, Precision::Bf16, Precision::Int8];
/// Set in the child processes: check this process's path only.
const CHILD: &str = "EMBEDKIT_REPRODUCIBLE_CHILD";
/// What a check prints once it has passed, followed by the path's name; a child's parent
/// looks for it, so a child that ran no test cannot pass.
const PASSED: &str = "bit-identical on the path";

/// The kernels' team of threads is shared by the whole process and runs a job on the calling
/// thread alone while another job holds it: the tests of this file take turns, so that each
/// setting really runs on its number of threads.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// SplitMix64: a seeded generator for the texts and the shuffle, the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 40 texts: the fixture sentences (empty, truncated, Chinese, emoji...), 26 generated
/// English, Chinese and mixed texts of 1 to `max_words` words, and two repeated texts (ties in
/// the length sort, which the shuffle reorders).
fn texts(max_words: usize) -> Vec<String> {
    let words: Vec<&str> = "vector embedding search the model of a retrieval database quickly \
                            sentence token tokenizers 机器学习 向量 数据库 检索 你好 模型 每个 \
                            问题 嵌入 ， 。"
        .split_whitespace()
        .collect();
    let mut rng = SplitMix(0x5EED_0001);
    let mut texts = sentences();
    for i in 0..26 {
        // Lengths spread over 1 to `max_words` words, in no order.
        let count = 1 + (i * 7) % max_words;
        let text: Vec<&str> = (0..count).map(|_| words[rng.below(words.len())]).collect();
        let sep = if i % 3 == 0 { "" } else { " " };
        texts.push(text.join(sep));
    }
    texts.push(texts[1].clone());
    texts.push(texts[13].clone());
    texts
}

/// A seeded permutation of `0..n`.
fn shuffled(n: usize) -> Vec<usize> {
    let mut rng = SplitMix(0x5EED_0002);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

/// The vectors of `texts`, embedded `batch_size` at a time on `threads` threads (the kernels
/// split their work over as many threads as the rayon pool they are called from has).
fn embed(
    model: &SentenceEmbedder,
    texts: &[&str],
    threads: usize,
    batch_size: usize,
) -> Vec<Vec<f32>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let options = EmbedOptions {
        batch_size,
        ..Default::default()
    };
    pool.install(|| model.embed(texts, &options).unwrap())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Checks each setting of `plan` on `model` against every text embedded alone on one thread.
fn check_model(model: &SentenceEmbedder, what: &str, plan: Plan, max_words: usize) {
    let owned = texts(max_words);
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    let alone: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| bits(&embed(model, &[t], 1, 1)[0]))
        .collect();
    // The model did run: different texts, different vectors.
    assert_ne!(alone[0], alone[1], "{what}: two texts, one vector");
    let perm = shuffled(texts.len());
    let in_perm: Vec<&str> = perm.iter().map(|&i| texts[i]).collect();
    for Setting {
        threads,
        batch_size,
        shuffle,
    } in plan.settings()
    {
        let got = if shuffle {
            let rows = embed(model, &in_perm, threads, batch_size);
            let mut back = vec![Vec::new(); texts.len()];
            for (row, &i) in rows.into_iter().zip(&perm) {
                back[i] = row;
            }
            back
        } else {
            embed(model, &texts, threads, batch_size)
        };
        let order = if shuffle { "shuffled" } else { "original" };
        assert_eq!(got.len(), texts.len(), "{what}: vector count");
        for (i, (row, want)) in got.iter().zip(&alone).enumerate() {
            let row = bits(row);
            if let Some(d) = (0..want.len()).find(|&d| row.get(d) != Some(&want[d])) {
                panic!(
                    "{what} on {}: text {i} ({:?}) with {threads} threads, batch size \
                             {batch_size}, {order} order differs from the text alone in \
                             dimension {d}: {:?} vs {}",
                    isa::describe(),
                    texts[i],
                    row.get(d).map(|&b| f32::from_bits(b)),
                    f32::from_bits(want[d]),
                );
            }
            assert_eq!(row.len(), want.len(), "{what}: text {i} length");
        }
    }
}

/// Loads the model in `dir` at every precision and checks each.
fn check_folder(dir: &Path, name: &str, plan: Plan, max_words: usize) {
    for precision in PRECISIONS {
        let model = SentenceEmbedder::from_folder_with(dir, precision).unwrap();
        check_model(
            &model,
            &format!("{name} ({})", precision.name()),
            plan,
            max_words,
        );
    }
}

/// How a batch of texts is run.
#[derive(Clone, Copy)]
struct Setting {
    threads: usize,
    batch_size: usize,
    shuffle: bool,
}

/// Which settings a check runs.
#[derive(Clone, Copy)]
enum Plan {
    /// Every combination of threads, batch size and order.
    Every,
    /// Each thread count, batch size and order once (three runs instead of eighteen): for the
    /// real model on the paths besides the process's own, where the portable kernels take
    /// eight times longer than the AVX-512 ones.
    Diagonal,
}

impl Plan {
    fn settings(self) -> Vec<Setting> {
        let mut settings = Vec::new();
        for (t, threads) in THREADS.into_iter().enumerate() {
            for (b, batch_size) in BATCH_SIZES.into_iter().enumerate() {
                for shuffle in [false, true] {
                    let diagonal = t == b && shuffle == (t % 2 == 1);
                    if matches!(self, Plan::Every) || diagonal {
                        settings.push(Setting {
                            threads,
                            batch_size,
                            shuffle,
                        });
                    }
                }
            }
        }
        settings
    }
}

/// The instruction-set paths this CPU runs, best first.
fn paths_of_this_cpu() -> Vec<Isa> {
    let mut paths = Vec::new();
    if isa::cpu_has_avx512() {
        paths.push(Isa::Avx512);
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        paths.push(Isa::Avx2Fma);
    }
    paths.push(Isa::Scalar);
    paths
}

/// Runs `check` with every setting on this process's path, then, unless this is a child, the
/// test named `test` in a child process for each other path of this CPU, where `check` runs
/// the settings of `elsewhere`.
fn on_every_path(test: &str, elsewhere: Plan, check: impl Fn(Plan)) {
    let child = std::env::var_os(CHILD).is_some();
    {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        check(if child { elsewhere } else { Plan::Every });
    }
    println!(
        "{test}: {PASSED} {} ({})",
        isa::current().name(),
        isa::describe()
    );
    if child {
        return;
    }
    for path in paths_of_this_cpu() {
        if path == isa::current() {
            continue;
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--include-ignored", "--nocapture"])
            .env("EMBEDKIT_ISA", path.name())
            .env(CHILD, "1")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let ran = stdout.contains(&format!("{test}: {PASSED} {} ", path.name()));
        assert!(
            out.status.success() && ran,
            "{test} on the {} path ({}):\n{stdout}\n{stderr}",
            path.name(),
            out.status,
        );
        // The child's own line, so the log names every path that was checked.
        for line in stdout.lines().filter(|l| l.contains(PASSED)) {
            println!("{line}");
        }
    }
}

#[test]
fn tiny_models_give_the_same_bits_whatever_the_batch_order_and_threads() {
    on_every_path(
        "tiny_models_give_the_same_bits_whatever_the_batch_order_and_threads",
        Plan::Every,
        |plan| {
            for model in ["tiny-minilm-mean", "tiny-bge", "tiny-mpnet", "tiny-qwen3"] {
                check_folder(&fixtures().join(model), model, plan, 30);
            }
        },
    );
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2 (scripts/fetch-models.sh)"]
fn minilm_gives_the_same_bits_whatever_the_batch_order_and_threads() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    on_every_path(
        "minilm_gives_the_same_bits_whatever_the_batch_order_and_threads",
        Plan::Diagonal,
        |plan| check_folder(&dir, "all-MiniLM-L6-v2", plan, 12),
    );
}
