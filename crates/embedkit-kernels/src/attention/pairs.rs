//! Attention for bf16 layers on AVX512-BF16: the two products of a head (`Q·Kᵀ` and
//! `P·V`) multiply bf16 pairs with `vdpbf16ps`, two steps per instruction where an f32 FMA
//! does one; the softmax and every sum stay f32. q, k, v and the softmax weights are rounded
//! to bf16 (nearest even) first, as bf16 layers round their inputs.
//!
//! What it costs: nothing measurable with bf16 layers (all-MiniLM-L6-v2, worst cosine with
//! f32 over the fixture sentences 0.99997 with and without it); on top of int8's 8-bit
//! activations it cost 1e-4 of cosine, too much of what they leave, so int8 attention stays
//! f32. What it gains: attention is ~10% of a run on sentences and a quarter on 128-token
//! documents; with it, 2-4% and 4-7% more texts/s.
//!
//! The structure follows `head_wide` (8 queries × 16 keys of scores in registers, then 8
//! registers of output rows), on pair layouts built per task:
//! * Kᵀ in pairs: `kt[p · padded + j]` holds key `j`'s values `2p` and `2p + 1`, so one
//!   64-byte line gives 16 keys' pair for the broadcast pair of a query.
//! * V in key pairs: line `(jp, z)` holds, for columns `16z .. 16z + 16`, the values of keys
//!   `2jp` and `2jp + 1` side by side, matched with a broadcast pair of weights.
//! * Q and the weights P are plain bf16 rows: two neighbours are one 32-bit pair.

use super::{normalize_block, visible, HeadTask, KEY_TILE};
use std::arch::x86_64::*;

/// Queries per block: one register each per tile of 16 keys.
const ROWS: usize = 8;
/// Registers of output accumulated at once in the weighted sum.
const SUMS: usize = 8;

/// A thread's pair buffers, kept between tasks (as the f32 kernels' `Buffers`).
#[derive(Default)]
pub(super) struct PairBuffers {
    q: Vec<u16>,
    kt: Vec<u32>,
    v: Vec<[u16; 32]>,
    scores: Vec<f32>,
    p: Vec<u16>,
}

/// Whether this process runs attention in pairs when asked: on the AVX-512 path, with
/// AVX512-BF16 (what the bf16 pair engines need too).
pub(super) fn available() -> bool {
    crate::gemm::bf16dot::engine().is_some()
}

/// Rounds `src` to bf16 into `dst` (same length, a multiple of 16).
///
/// # Safety
///
/// The CPU supports AVX-512 F and BF16.
#[inline(always)]
unsafe fn round_into(src: &[f32], dst: &mut [u16]) {
    for (s, d) in src.chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
        // SAFETY: 16 floats read, 16 bf16 written.
        unsafe {
            let r = _mm512_cvtneps_pbh(_mm512_loadu_ps(s.as_ptr()));
            _mm256_storeu_si256(
                d.as_mut_ptr().cast(),
                std::mem::transmute::<__m256bh, __m256i>(r),
            );
        }
    }
}

/// The 32-bit pair at pair index `index` of a bf16 row.
#[inline(always)]
fn pair(row: &[u16], index: usize) -> i32 {
    (u32::from(row[2 * index]) | u32::from(row[2 * index + 1]) << 16) as i32
}

/// Attention of one head over one sequence into `out` (`len × D`), in pairs.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL and BF16 ([`available`]); `D` is 32 or 64.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub(super) unsafe fn head<const D: usize>(
    task: &HeadTask<'_>,
    out: &mut [f32],
    buf: &mut PairBuffers,
) {
    const { assert!(D.is_multiple_of(32) && (SUMS * 16).is_multiple_of(D) && KEY_TILE == 16) };
    let (lanes, per_sum) = (D / 16, SUMS * 16 / D);
    let len = task.rows.len();
    let padded = len.next_multiple_of(KEY_TILE);
    let PairBuffers {
        q,
        kt,
        v,
        scores,
        p,
    } = buf;
    // Q rows and Kᵀ pairs.
    q.resize(len * D, 0);
    kt.clear();
    kt.resize(D / 2 * padded, 0);
    let mut key = [0_u16; D];
    for j in 0..len {
        // SAFETY: rows of D floats (a multiple of 16); the caller's CPU features.
        unsafe {
            round_into(&task.row(j, task.q_col)[..D], &mut q[j * D..(j + 1) * D]);
            round_into(&task.row(j, task.k_col)[..D], &mut key);
        }
        for t in 0..D / 2 {
            kt[t * padded + j] = pair(&key, t) as u32;
        }
    }
    // V in key pairs: [a0..a15 | b0..b15] from one rounding, interleaved to a0 b0 a1 b1 ...
    let interleave = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4,
        19, 3, 18, 2, 17, 1, 16, 0,
    );
    v.clear();
    v.resize(padded / 2 * lanes, [0; 32]);
    let zeros = [0.0_f32; D];
    for jp in 0..padded / 2 {
        let (j0, j1) = (2 * jp, 2 * jp + 1);
        if j0 >= len {
            break;
        }
        let a = &task.row(j0, task.v_col)[..D];
        let b = if j1 < len {
            &task.row(j1, task.v_col)[..D]
        } else {
            &zeros[..]
        };
        for z in 0..lanes {
            // SAFETY: 16 floats of each row at 16z; one 64-byte line written.
            unsafe {
                let both = _mm512_cvtne2ps_pbh(
                    _mm512_loadu_ps(b.as_ptr().add(16 * z)),
                    _mm512_loadu_ps(a.as_ptr().add(16 * z)),
                );
                let line = _mm512_permutexvar_epi16(
                    interleave,
                    std::mem::transmute::<__m512bh, __m512i>(both),
                );
                _mm512_storeu_si512(v[jp * lanes + z].as_mut_ptr().cast(), line);
            }
        }
    }
    scores.clear();
    scores.resize(ROWS * padded, 0.0);
    p.clear();
    p.resize(ROWS * padded, 0);
    for (qb, out_block) in out.chunks_mut(ROWS * D).enumerate() {
        let first = qb * ROWS;
        let count = out_block.len() / D;
        // Rows past the last query repeat it; their weights are zeroed by normalize_block.
        let rows: [&[u16]; ROWS] = std::array::from_fn(|r| {
            let i = first + r.min(count - 1);
            &q[i * D..(i + 1) * D]
        });
        let reach = visible(task, first + count - 1);
        for tile in (0..reach).step_by(KEY_TILE) {
            let mut acc = [_mm512_setzero_ps(); ROWS];
            for t in 0..D / 2 {
                // SAFETY: 16 pairs at `kt[t · padded + tile]` (tile + 16 ≤ padded).
                let k: __m512bh = unsafe {
                    std::mem::transmute(_mm512_loadu_si512(
                        kt.as_ptr().add(t * padded + tile).cast(),
                    ))
                };
                for (acc, row) in acc.iter_mut().zip(&rows) {
                    let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair(row, t)));
                    *acc = _mm512_dpbf16_ps(*acc, x, k);
                }
            }
            for (r, acc) in acc.into_iter().enumerate() {
                // SAFETY: 16 writable floats of row r at `tile`.
                unsafe { _mm512_storeu_ps(scores.as_mut_ptr().add(r * padded + tile), acc) };
            }
        }
        normalize_block::<crate::math::Fused>(task, scores, padded, first, count, reach);
        let width = reach.next_multiple_of(KEY_TILE);
        for r in 0..ROWS {
            // SAFETY: `width` (a multiple of 16, ≤ padded) floats and bf16 in row r.
            unsafe {
                round_into(
                    &scores[r * padded..][..width],
                    &mut p[r * padded..][..width],
                );
            }
        }
        for (g, out_rows) in out_block.chunks_mut(per_sum * D).enumerate() {
            let first_row = g * per_sum;
            // Register `r · lanes + z` holds floats 16z .. 16z + 16 of row r.
            let mut acc = [_mm512_setzero_ps(); SUMS];
            for jp in 0..reach.div_ceil(2) {
                for r in 0..per_sum {
                    let weights = &p[(first_row + r) * padded..];
                    let w: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair(weights, jp)));
                    for z in 0..lanes {
                        // SAFETY: line (jp, z) of the pairs of V.
                        let x: __m512bh = unsafe {
                            std::mem::transmute(_mm512_loadu_si512(
                                v[jp * lanes + z].as_ptr().cast(),
                            ))
                        };
                        acc[r * lanes + z] = _mm512_dpbf16_ps(acc[r * lanes + z], w, x);
                    }
                }
            }
            for (r, o) in out_rows.chunks_exact_mut(D).enumerate() {
                for z in 0..lanes {
                    // SAFETY: `o` is D = 16 · lanes writable floats.
                    unsafe { _mm512_storeu_ps(o.as_mut_ptr().add(16 * z), acc[r * lanes + z]) };
                }
            }
        }
    }
}
