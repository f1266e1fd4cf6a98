//! Damaged checkpoints and images never crash the readers: seeded random truncations and
//! byte changes of PyTorch checkpoints (zip and legacy pickle formats, read by the restricted
//! unpickler) and of PNG / JPEG / GIF / BMP images either decode or fail with an error, never
//! panic. The seed is fixed, so a failure reruns the same inputs; a longer run:
//! `EMBEDKIT_MUTATION_ROUNDS=100000 cargo test -p embedkit-vision --test mutated_files`.

#[path = "../../../tests/support/mutation.rs"]
mod mutation;

use embedkit_vision::{decode, pth};
use mutation::{rounds, Rng};
use std::path::PathBuf;

fn testdata(path: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata")
            .join(path),
    )
    .unwrap()
}

#[test]
fn mutated_checkpoints_are_errors_not_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for file in [
        "fixtures/pth/small_zip.pth",
        "fixtures/pth/small_legacy.pth",
    ] {
        let seed = testdata(file);
        assert!(pth::read(&seed).is_ok(), "{file} itself reads");
        let (mut read, mut refused) = (0, 0);
        let n = rounds(2000);
        for _ in 0..n {
            match pth::read(&rng.mutate_bytes(&seed, &[])) {
                Ok(_) => read += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!("{file}: {n} inputs, {read} read, {refused} refused");
        assert!(refused > 0);
    }
}

#[test]
fn mutated_images_are_errors_not_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for file in [
        "data/images/chelsea.png",
        "data/images/rocket.jpg",
        "data/images/camera.png",
    ] {
        let seed = testdata(file);
        let (mut decoded, mut refused) = (0, 0);
        let n = rounds(40);
        for _ in 0..n {
            match decode::decode(&rng.mutate_bytes(&seed, &[]), file) {
                Ok(_) => decoded += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!("{file}: {n} inputs, {decoded} decoded, {refused} refused");
    }
    // Small inputs of every kind the decoder sniffs, and random bytes.
    let (n, mut refused) = (rounds(2000), 0);
    for _ in 0..n {
        let n = rng.below(64);
        let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        let magic: &[u8] = match rng.below(5) {
            0 => b"\x89PNG\r\n\x1a\n",
            1 => b"\xff\xd8\xff",
            2 => b"GIF89a",
            3 => b"BM",
            _ => b"RIFF\0\0\0\0WEBP",
        };
        b.splice(0..0, magic.iter().copied());
        refused += usize::from(decode::decode(&b, "random").is_err());
    }
    eprintln!(
        "magic + random bytes: {n} inputs, {} decoded, {refused} refused",
        n - refused
    );
}
