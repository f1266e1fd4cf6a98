//! Damaged checkpoints and images never crash the readers: seeded random truncations and
//! byte changes of PyTorch checkpoints (zip and legacy pickle formats, read by the restricted
//! unpickler) and of PNG / JPEG / GIF / BMP images either decode or fail with an error, never
//! panic. The seed is fixed, so a failure reruns the same inputs; a longer run:
//! `EMBEDKIT_MUTATION_ROUNDS=100000 cargo test -p embedkit-vision --test mutated_files`.

use embedkit_vision::{decode, pth};
use std::path::PathBuf;

/// xorshift64*: enough randomness for mutations, identical on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        if self.below(3) == 0 {
            let cut = self.below(b.len() + 1);
            b.truncate(cut);
        }
        for _ in 0..1 + self.below(8) {
            if b.is_empty() {
                break;
            }
            let i = self.below(b.len());
            b[i] = self.next() as u8;
        }
        b
    }
}

fn rounds(default: usize) -> usize {
    std::env::var("EMBEDKIT_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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
        for _ in 0..rounds(2000) {
            match pth::read(&rng.mutate(&seed)) {
                Ok(_) => read += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!("{file}: {read} mutated copies read, {refused} refused");
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
        for _ in 0..rounds(40) {
            match decode::decode(&rng.mutate(&seed), file) {
                Ok(_) => decoded += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!("{file}: {decoded} mutated copies decoded, {refused} refused");
    }
    // Small inputs of every kind the decoder sniffs, and random bytes.
    for _ in 0..rounds(2000) {
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
        let _ = decode::decode(&b, "random");
    }
}
