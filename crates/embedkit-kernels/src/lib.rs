//! CPU kernels behind every embedkit model: matrix products, layer/RMS norms, activations,
//! softmax and dot products on `f32` slices.
//!
//! This is the only crate allowed to use `unsafe` (SIMD leaf functions selected at runtime, and
//! the raw-pointer rows of [`shared`]).
//! It knows nothing about models, tokenizers or files.
//!
//! * [`isa`] picks the instruction set once per process (`EMBEDKIT_ISA=scalar|avx2|avx512`
//!   forces one, so tests can cover every path on any machine).
//! * [`linear`] runs `y = x · Wᵀ + b` over packed token rows with our own products (`gemm`
//!   module: weights packed once at load; f32 microkernels for AVX-512, AVX2 and portable
//!   code, int8 weights with 16-bit activations, or with 8-bit ones on AVX512-VNNI +
//!   AVX512-BF16, bf16 pairs on AVX512-BF16 or AMX; threads from `team`).
//! * [`attention`] runs scaled dot-product attention per (sequence, head) over packed rows
//!   (in f32, or in bf16 pairs for bf16 layers on AVX512-BF16).
//! * [`ops`] holds the element-wise and row-wise kernels.
//! * [`int8`] quantizes rows to 8-bit codes and takes their inner products (memory-bound scans).
//! * [`conv`] holds the convolutions and pools of image networks (NHWC, im2col + the GEMM).
//! * [`shared`] holds [`shared::SharedRows`], the matrix that word-vector training threads
//!   update at once without locks (Hogwild), through raw pointers only.
//!
//! ```
//! use embedkit_kernels::ops;
//! let mut row = [1.0_f32, 2.0, 3.0];
//! ops::softmax_in_place(&mut row);
//! assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```
#![deny(missing_docs)]

pub mod attention;
pub mod conv;
mod gemm;
pub mod int8;
pub mod isa;
pub mod linear;
pub mod math;
pub mod ops;
mod scratch;
pub mod shared;
mod team;
