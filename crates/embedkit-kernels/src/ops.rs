//! Element-wise and row-wise kernels on `f32` slices, dispatched on [`crate::isa::current`].
//!
//! Each kernel has one generic body (in `body`) compiled twice: once plainly and once inside
//! an `avx2,fma` leaf function. Work on large matrices is split across the kernels' threads (`team`) by rows.

use crate::isa::{self, Isa};
use crate::math::{self, MulAdd};
use crate::team;

/// Below this many elements a kernel runs on the calling thread: spreading it costs more.
const PARALLEL_MIN_ELEMS: usize = 1 << 15;

/// Activation functions found in model configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU (PyTorch `approximate='none'`, HF `gelu`).
    GeluErf,
    /// Tanh-approximated GELU (HF `gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `max(0, x)`.
    Relu,
    /// `x · sigmoid(x)`.
    Silu,
    /// Hyperbolic tangent (sentence-transformers Dense default).
    Tanh,
    /// No-op.
    Identity,
}

/// The kernels' generic bodies, also inlined by other modules' SIMD leaf functions (attention).
pub(crate) mod body {
    use super::*;

    #[inline(always)]
    pub fn activate<M: MulAdd>(x: &mut [f32], act: Activation) {
        match act {
            Activation::GeluErf => x.iter_mut().for_each(|v| *v = math::gelu_erf::<M>(*v)),
            Activation::GeluTanh => x.iter_mut().for_each(|v| *v = math::gelu_tanh::<M>(*v)),
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Silu => x.iter_mut().for_each(|v| *v = math::silu::<M>(*v)),
            Activation::Tanh => x.iter_mut().for_each(|v| *v = math::tanh::<M>(*v)),
            Activation::Identity => {}
        }
    }

    /// The largest value (NaNs ignored; −∞ for none).
    #[inline(always)]
    pub fn max(a: &[f32]) -> f32 {
        max_of(a, |v| v)
    }

    /// The largest `f(v)` (NaNs ignored; −∞ for none), in eight independent lanes: one
    /// running maximum is a chain of dependent compares.
    #[inline(always)]
    pub fn max_of(a: &[f32], f: impl Fn(f32) -> f32) -> f32 {
        let mut lanes = [f32::NEG_INFINITY; 8];
        let chunks = a.chunks_exact(8);
        let tail = chunks
            .remainder()
            .iter()
            .fold(f32::NEG_INFINITY, |m, v| m.max(f(*v)));
        for c in chunks {
            for (lane, v) in lanes.iter_mut().zip(c) {
                *lane = lane.max(f(*v));
            }
        }
        lanes.iter().fold(tail, |m, v| m.max(*v))
    }

    #[inline(always)]
    pub fn sum(a: &[f32]) -> f32 {
        let mut acc = [0.0_f32; 16];
        let chunks = a.chunks_exact(16);
        let tail = chunks.remainder();
        for c in chunks {
            for i in 0..16 {
                acc[i] += c[i];
            }
        }
        acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
    }

    #[inline(always)]
    pub fn dot<M: MulAdd>(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0_f32; 16];
        let ca = a.chunks_exact(16);
        let cb = b.chunks_exact(16);
        let (ta, tb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..16 {
                acc[i] = M::mul_add(x[i], y[i], acc[i]);
            }
        }
        let mut s = acc.iter().sum::<f32>();
        for (x, y) in ta.iter().zip(tb) {
            s = M::mul_add(*x, *y, s);
        }
        s
    }

    #[inline(always)]
    pub fn axpy<M: MulAdd>(alpha: f32, x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = M::mul_add(alpha, *xi, *yi);
        }
    }

    #[inline(always)]
    pub fn softmax<M: MulAdd>(x: &mut [f32]) {
        let max = max(x);
        x.iter_mut().for_each(|v| *v = math::exp::<M>(*v - max));
        let inv = 1.0 / sum(x);
        x.iter_mut().for_each(|v| *v *= inv);
    }

    #[inline(always)]
    pub fn layer_norm<M: MulAdd>(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let n = x.len() as f32;
        let mean = sum(x) / n;
        let mut var = [0.0_f32; 16];
        let chunks = x.chunks_exact(16);
        let mut tail = 0.0;
        for v in chunks.remainder() {
            tail += (v - mean) * (v - mean);
        }
        for c in chunks {
            for i in 0..16 {
                let d = c[i] - mean;
                var[i] = M::mul_add(d, d, var[i]);
            }
        }
        let var = (var.iter().sum::<f32>() + tail) / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in x.iter_mut().zip(gamma).zip(beta) {
            *v = M::mul_add((*v - mean) * inv, *g, *b);
        }
    }

    #[inline(always)]
    pub fn rms_norm<M: MulAdd>(x: &mut [f32], gamma: &[f32], eps: f32) {
        let ms = dot::<M>(x, x) / x.len() as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for (v, g) in x.iter_mut().zip(gamma) {
            *v = (*v * inv) * g;
        }
    }
}

/// Declares a module of the portable bodies compiled with the target features `$features`.
macro_rules! compiled_bodies {
    ($name:ident, $features:literal, $doc:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            #![doc = $doc]
            use super::{body, Activation};
            use crate::math::Fused;

            // SAFETY (all functions): callers reach these only after `isa::current()` (or an
            // `Isa::runs_*` guard) confirmed the features at run time.
            #[target_feature(enable = $features)]
            pub unsafe fn activate(x: &mut [f32], act: Activation) {
                body::activate::<Fused>(x, act)
            }
            #[target_feature(enable = $features)]
            pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
                body::dot::<Fused>(a, b)
            }
            #[target_feature(enable = $features)]
            pub unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
                body::axpy::<Fused>(alpha, x, y)
            }
            #[target_feature(enable = $features)]
            pub unsafe fn softmax(x: &mut [f32]) {
                body::softmax::<Fused>(x)
            }
            #[target_feature(enable = $features)]
            pub unsafe fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
                body::layer_norm::<Fused>(x, gamma, beta, eps)
            }
            #[target_feature(enable = $features)]
            pub unsafe fn rms_norm(x: &mut [f32], gamma: &[f32], eps: f32) {
                body::rms_norm::<Fused>(x, gamma, eps)
            }
        }
    };
}

compiled_bodies!(
    avx2,
    "avx2,fma",
    "The same bodies compiled with AVX2 + FMA enabled."
);
compiled_bodies!(
    avx512,
    "avx512f,avx512bw,avx512vl,avx2,fma",
    "The same bodies compiled with AVX-512 enabled (16-float vectors)."
);

/// Calls `$f` from the module of the process's instruction set, the portable body otherwise.
macro_rules! dispatch {
    ($f:ident($($arg:expr),*)) => {
        match isa::current() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx512` is only chosen after runtime detection of its features.
            Isa::Avx512 => unsafe { avx512::$f($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2Fma` is only chosen after runtime detection of avx2 and fma.
            Isa::Avx2Fma => unsafe { avx2::$f($($arg),*) },
            _ => body::$f::<math::Separate>($($arg),*),
        }
    };
}

/// [`activate_in_place`]'s AVX-512 body, for the AVX-512 GEMM's fused activations.
///
/// # Safety
///
/// The CPU supports AVX-512 (F, BW, VL), AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn activate_avx512(x: &mut [f32], act: Activation) {
    // SAFETY: forwarded contract.
    unsafe { avx512::activate(x, act) }
}

/// [`activate_in_place`] on a given instruction set (one the CPU lacks runs the portable body),
/// so that a product computed on one path is also activated on it.
pub(crate) fn activate_on(isa: Isa, x: &mut [f32], act: Activation) {
    let one = |c: &mut [f32]| match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the guard just checked that the CPU has AVX-512.
        _ if isa.runs_avx512() => unsafe { avx512::activate(c, act) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the guard just checked that the CPU has AVX2 and FMA.
        _ if isa.runs_avx2() => unsafe { avx2::activate(c, act) },
        _ => body::activate::<math::Separate>(c, act),
    };
    if x.len() >= PARALLEL_MIN_ELEMS {
        team::for_each_chunk_mut(x, PARALLEL_MIN_ELEMS / 4, &one);
    } else {
        one(x)
    }
}

/// Applies `act` to every element.
pub fn activate_in_place(x: &mut [f32], act: Activation) {
    activate_on(isa::current(), x, act)
}

/// `Σ a[i]·b[i]` over the shorter length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dispatch!(dot(a, b))
}

/// Asks the CPU to start loading `data` into cache (a hint: never faults, changes nothing).
/// Graph searches use it on the vectors they will score next, so the memory latency of
/// one random row overlaps the arithmetic of another (what hnswlib does too).
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..std::mem::size_of_val(data)).step_by(64) {
        // SAFETY: PREFETCHT0 is part of SSE (baseline x86-64) and is only a hint: it cannot
        // fault or write, and the address (one per 64-byte line) is inside `data`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                data.as_ptr().cast::<i8>().add(offset),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// `y += alpha · x`.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    dispatch!(axpy(alpha, x, y))
}

/// Numerically stable softmax of one row.
pub fn softmax_in_place(x: &mut [f32]) {
    dispatch!(softmax(x))
}

/// Layer norm of every `gamma.len()`-wide row of `x` (biased variance, as PyTorch).
pub fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let width = gamma.len();
    let rows_per_task = (PARALLEL_MIN_ELEMS / width.max(1)).max(1);
    team::for_each_chunk_mut(x, rows_per_task * width, &|block| {
        for row in block.chunks_exact_mut(width) {
            dispatch!(layer_norm(row, gamma, beta, eps))
        }
    });
}

/// RMS norm of one row, on the calling thread (for many small rows inside a parallel loop).
pub fn rms_norm_row(x: &mut [f32], gamma: &[f32], eps: f32) {
    dispatch!(rms_norm(x, gamma, eps))
}

/// RMS norm of every `gamma.len()`-wide row of `x`: `x / sqrt(mean(x²) + eps) · gamma`.
pub fn rms_norm_rows(x: &mut [f32], gamma: &[f32], eps: f32) {
    let width = gamma.len();
    let rows_per_task = (PARALLEL_MIN_ELEMS / width.max(1)).max(1);
    team::for_each_chunk_mut(x, rows_per_task * width, &|block| {
        for row in block.chunks_exact_mut(width) {
            dispatch!(rms_norm(row, gamma, eps))
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_norm_matches_hand_computed_values() {
        // mean 2.5, biased var 1.25 -> normalized [-1.3416, -0.4472, 0.4472, 1.3416]
        let mut x = [1.0, 2.0, 3.0, 4.0];
        layer_norm_rows(&mut x, &[1.0, 2.0, 1.0, 1.0], &[0.0, 0.0, 0.5, 0.0], 0.0);
        let want = [-1.341_640_8, -0.894_427_2, 0.947_213_6, 1.341_640_8];
        for (g, w) in x.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{x:?}");
        }
    }

    #[test]
    fn dot_handles_lengths_that_are_not_a_multiple_of_16() {
        let a: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let want: f32 = a.iter().map(|v| v * v).sum();
        assert_eq!(dot(&a, &a), want);
    }

    #[test]
    fn softmax_is_shift_invariant_and_sums_to_one() {
        let mut a = [1000.0, 1001.0, 999.0];
        let mut b = [0.0, 1.0, -1.0];
        softmax_in_place(&mut a);
        softmax_in_place(&mut b);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-7);
        }
        assert!((b.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn max_finds_the_peak_in_a_lane_or_the_tail() {
        for peak in [0, 7, 13, 23, 24, 29] {
            let mut x: Vec<f32> = (0..30).map(|i| (i % 7) as f32 * 0.5).collect();
            x[peak] = 9.0;
            assert_eq!(body::max(&x), 9.0, "peak {peak}");
            x[peak] = f32::NAN;
            assert_eq!(body::max(&x), 3.0, "NaN at {peak} is ignored");
        }
        assert_eq!(body::max(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn softmax_matches_f64_with_the_maximum_in_a_lane_or_the_tail() {
        // 30 values: three 8-lane chunks and a tail of 6.
        for peak in [13, 27] {
            let mut x: Vec<f32> = (0..30).map(|i| 80.0 + (i % 7) as f32 * 0.5).collect();
            x[peak] = 95.0;
            let max = f64::from(x[peak]);
            let e: Vec<f64> = x.iter().map(|&v| (f64::from(v) - max).exp()).collect();
            let total: f64 = e.iter().sum();
            softmax_in_place(&mut x);
            for (got, e) in x.iter().zip(&e) {
                assert!((f64::from(*got) - e / total).abs() < 1e-6, "peak {peak}");
            }
        }
    }
}
