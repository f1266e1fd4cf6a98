//! Portable microkernel: the reference for every other path and the fallback on CPUs without
//! AVX2 + FMA (or with `EMBEDKIT_ISA=scalar`).
//!
//! It shares the packing, blocking and threading with the fast path, so it is reasonably
//! quick (the fixed-size loops below vectorize to SSE on baseline x86-64), but it only has to
//! be correct.

use super::{Bf16, Microkernel, PackedElem, Prefetch, MR, NR};

/// Plain Rust `MR × NR` kernel with separate multiply and add (no FMA on baseline targets).
/// It ignores prefetch requests: they only ever change speed.
pub(crate) struct Portable6x16;

impl Microkernel for Portable6x16 {
    unsafe fn tile(
        depth: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        _ahead: Prefetch,
    ) {
        // SAFETY: the caller guarantees `depth · MR` floats at `a`, `depth · NR` at `b`, and
        // the C rows `tile` writes.
        unsafe { tile(depth, a, b, c, ldc, bias, load_c) }
    }

    unsafe fn tile_bf16(
        depth: usize,
        a: *const f32,
        b: *const Bf16,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        _ahead: Prefetch,
    ) {
        // SAFETY: as above, with `depth · NR` bf16 values at `b`.
        unsafe { tile(depth, a, b, c, ldc, bias, load_c) }
    }
}

/// The kernel for any element type: each line of B is widened to f32 first.
///
/// # Safety
///
/// The contract of [`Microkernel::tile`], with `depth · NR` elements at `b`.
unsafe fn tile<E: PackedElem>(
    depth: usize,
    a: *const f32,
    b: *const E,
    c: *mut f32,
    ldc: usize,
    bias: Option<&[f32; NR]>,
    load_c: bool,
) {
    // SAFETY: the caller guarantees `depth · MR` floats at `a` and `depth · NR` at `b`.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, depth * MR),
            std::slice::from_raw_parts(b, depth * NR),
        )
    };
    let mut acc = [*bias.unwrap_or(&[0.0; NR]); MR];
    for (a_col, b_line) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        let b_row = E::decode_line(b_line);
        for (acc_row, &a_val) in acc.iter_mut().zip(a_col) {
            for (acc_val, &b_val) in acc_row.iter_mut().zip(&b_row) {
                *acc_val += a_val * b_val;
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        // SAFETY: the caller guarantees `NR` writable floats at `c + r · ldc`, r < MR,
        // not aliased by anything else during the call, initialized when `load_c` (so
        // they are only viewed as `f32`s then).
        unsafe {
            let c_row = c.add(r * ldc);
            if load_c {
                let c_row = std::slice::from_raw_parts_mut(c_row, NR);
                c_row.iter_mut().zip(acc_row).for_each(|(c, v)| *c += v);
            } else {
                std::ptr::copy_nonoverlapping(acc_row.as_ptr(), c_row, NR);
            }
        }
    }
}
