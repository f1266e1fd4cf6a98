//! Bit-reproducible image vectors: for one model and instruction-set path, an image's
//! embedding and class scores are the same bits whatever the batch size, the order of the
//! images and the number of threads.
//!
//! Each setting (threads 1, 2, 3 × batch sizes 1, 7, 32 × original or reversed order of ten
//! photos, decoded and preprocessed once) is compared with `f32::to_bits` against every image
//! run alone on one thread. The images are cropped to 64 × 64 pixels to keep the test fast:
//! the first convolutions' products still hold a thousand rows per image (32 × 32 outputs),
//! enough to be split over threads, and the images of a batch share the products' row tiles.
//!
//! As in `embedkit-models`' `reproducible.rs`, each test checks the instruction-set path of
//! its own process, then runs itself again as a child process once per other path this CPU
//! has (`EMBEDKIT_ISA`).

mod common;

use common::repo;
use embedkit_kernels::isa::{self, Isa};
use embedkit_vision::preprocess::Preprocess;
use embedkit_vision::ImageModel;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const THREADS: [usize; 3] = [1, 2, 3];
const BATCH_SIZES: [usize; 3] = [1, 7, 32];
/// Set in the child processes: check this process's path only.
const CHILD: &str = "EMBEDKIT_REPRODUCIBLE_CHILD";
/// What a check prints once it has passed, followed by the path's name; a child's parent
/// looks for it, so a child that ran no test cannot pass.
const PASSED: &str = "bit-identical on the path";

/// The kernels' team of threads is shared by the whole process and runs a job on the calling
/// thread alone while another job holds it: the tests of this file take turns, so that each
/// setting really runs on its number of threads.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The ten photos of `testdata/data/images`, by name.
fn photos() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata/data/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 10, "testdata/data/images");
    paths
}

/// Each image's embedding and class scores, as bits.
type Rows = Vec<(Vec<u32>, Vec<u32>)>;

/// Runs the preprocessed `images` through `model`, `batch_size` at a time, on `threads`
/// threads (the kernels split their work over as many threads as the rayon pool they are
/// called from has).
fn run(model: &ImageModel, images: &[&[f32]], threads: usize, batch_size: usize) -> Rows {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let mut rows = Vec::new();
    for batch in images.chunks(batch_size) {
        let out = pool.install(|| model.run(batch)).unwrap();
        let dims = out.embedding.len() / batch.len();
        let classes = out.logits.len() / batch.len();
        for i in 0..batch.len() {
            rows.push((
                bits(&out.embedding[i * dims..][..dims]),
                bits(&out.logits[i * classes..][..classes]),
            ));
        }
    }
    rows
}

/// Checks each setting on the model at `weights` against every photo run alone on one
/// thread; `every` runs every setting, otherwise each thread count, batch size and order once.
fn check_model(weights: &Path, arch: Option<&str>, every: bool) {
    let mut model = ImageModel::load(weights, arch).unwrap();
    model
        .set_preprocess(Preprocess {
            resize: 72,
            crop: 64,
            ..Preprocess::default()
        })
        .unwrap();
    let what = model.network().name();
    let paths = photos();
    let prepared: Vec<Vec<f32>> = paths
        .iter()
        .map(|p| model.prepare_file(p).unwrap())
        .collect();
    let images: Vec<&[f32]> = prepared.iter().map(Vec::as_slice).collect();
    let alone: Rows = images
        .iter()
        .flat_map(|image| run(&model, &[image], 1, 1))
        .collect();
    // The model did run: different photos, different vectors.
    assert_ne!(alone[0].0, alone[1].0, "{what}: two photos, one vector");
    let reversed: Vec<&[f32]> = images.iter().rev().copied().collect();
    for (t, threads) in THREADS.into_iter().enumerate() {
        for (b, batch_size) in BATCH_SIZES.into_iter().enumerate() {
            for reverse in [false, true] {
                let diagonal = t == b && reverse == (t % 2 == 1);
                if !(every || diagonal) {
                    continue;
                }
                let mut got = if reverse {
                    run(&model, &reversed, threads, batch_size)
                } else {
                    run(&model, &images, threads, batch_size)
                };
                if reverse {
                    got.reverse();
                }
                assert_eq!(got.len(), paths.len(), "{what}: image count");
                for (i, (row, want)) in got.iter().zip(&alone).enumerate() {
                    assert!(
                        row == want,
                        "{what} on {}: {} with {threads} threads, batch size {batch_size}, \
                         {} order differs from the image alone",
                        isa::describe(),
                        paths[i].display(),
                        if reverse { "reversed" } else { "original" },
                    );
                }
            }
        }
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

/// Runs `check` on this process's path (with `true`: every setting), then, unless this is a
/// child, the test named `test` in a child process for each other path of this CPU, where
/// `check` is given `every_elsewhere`.
fn on_every_path(test: &str, every_elsewhere: bool, check: impl Fn(bool)) {
    let child = std::env::var_os(CHILD).is_some();
    {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        check(!child || every_elsewhere);
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
fn tiny_image_models_give_the_same_bits_whatever_the_batch_order_and_threads() {
    on_every_path(
        "tiny_image_models_give_the_same_bits_whatever_the_batch_order_and_threads",
        true,
        |every| {
            for model in ["tiny-resnet", "tiny-resnet-bottleneck", "tiny-vgg"] {
                check_model(&common::fixtures().join(model), None, every);
            }
        },
    );
}

#[test]
#[ignore = "needs models/mobilenet_v2 (scripts/fetch-models.sh)"]
fn mobilenet_v2_gives_the_same_bits_whatever_the_batch_order_and_threads() {
    let weights = repo().join("models/mobilenet_v2/mobilenet_v2-b0353104.pth");
    on_every_path(
        "mobilenet_v2_gives_the_same_bits_whatever_the_batch_order_and_threads",
        false,
        |every| check_model(&weights, Some("mobilenet_v2"), every),
    );
}
