//! bf16 products on the AMX tile unit (Sapphire Rapids and later Xeons):
//! `C (+)= bf16(A) · Bᵀ + bias`, with B stored as bf16 and every sum kept in f32.
//!
//! One `tdpbf16ps` multiplies a 16 × 32 tile of A by a 32 × 16 tile of B into a 16 × 16 f32
//! tile of C: 8,192 multiply-adds per instruction, against 16 for an AVX-512 FMA. A task
//! owns a 32-column block of C (two 16-column panels of B) and walks its rows 32 at a time,
//! keeping 2 × 2 C tiles in tile registers over the whole of k; only the finished tiles go
//! through memory, where the bias, the activation or the residual are applied.
//!
//! The instructions have no stable Rust intrinsics, so they are written with `asm!`. The
//! tile registers are invisible to the compiler (it never allocates them), which is what
//! lets the configuration, loads, products and stores live in separate `asm!` blocks.
//!
//! Layouts (each line one tile row of 64 bytes):
//! * B: per 16-column panel, one line per pair of k steps, holding each column's two values
//!   side by side (the pair order `tdpbf16ps` reads); k padded to a multiple of 32 and the
//!   panels to an even count with zeros.
//! * A: rounded to bf16 per call, row-major, k padded like B and the rows to a multiple of 32
//!   with zeros.

use super::driver::{checked_c, Epilogue, SharedC};
use super::{Bf16, Dest};
use crate::ops::Activation;
use std::arch::asm;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

/// k steps in one tile row of A (32 bf16 = 64 bytes).
const TILE_K: usize = 32;
/// Rows (and columns) of C one task step covers: 2 × 2 tiles of 16.
const BLOCK: usize = 32;
/// Rows of A a task multiplies by its B block before moving on (768 KB of bf16 at k = 1536:
/// they stay in a 2 MB L2 while every row block reuses the task's B block).
const ROWS_PER_TASK: usize = 256;

/// 64 bytes: one tile row (32 bf16 values).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u16; 32]);

const ZERO_LINE: Line = Line([0; 32]);

/// Whether this process may run AMX bf16 code: the CPU has AMX-TILE, AMX-BF16 and
/// AVX512-BF16 (used to round A), and Linux granted the process the tile state (it must be
/// asked for, once, with `arch_prctl`, or the first tile instruction faults).
pub(crate) fn ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        // CPUID never faults; where leaf 7 is missing its bits mean nothing, but such a CPU
        // has no AVX-512 either, which the first test below rules out.
        let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
        let (amx_bf16, amx_tile) = ((leaf7.edx >> 22) & 1 == 1, (leaf7.edx >> 24) & 1 == 1);
        crate::isa::cpu_has_avx512()
            && std::arch::is_x86_feature_detected!("avx512bf16")
            && amx_bf16
            && amx_tile
            && request_tile_state()
    })
}

/// Asks Linux for permission to use the AMX tile data (`ARCH_REQ_XCOMP_PERM` with
/// `XFEATURE_XTILEDATA`); true when granted. A raw system call: it is the only one this crate
/// makes, not worth a dependency.
#[cfg(target_os = "linux")]
fn request_tile_state() -> bool {
    const SYS_ARCH_PRCTL: usize = 158;
    const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
    const XFEATURE_XTILEDATA: usize = 18;
    let result: isize;
    // SAFETY: arch_prctl with these arguments only changes this process's permitted XSAVE
    // state; the syscall instruction clobbers rcx and r11, declared below.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL as isize => result,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result == 0
}

#[cfg(not(target_os = "linux"))]
fn request_tile_state() -> bool {
    false
}

/// A weight packed in bf16 for the tile unit.
#[derive(Clone)]
pub(crate) struct PackedAmx {
    lines: Vec<Line>,
    n: usize,
    k: usize,
}

impl std::fmt::Debug for PackedAmx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedAmx")
            .field("n", &self.n)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// k padded to whole tiles.
fn padded_k(k: usize) -> usize {
    k.div_ceil(TILE_K) * TILE_K
}

impl PackedAmx {
    /// Rounds (to nearest even) and packs a row-major `[n, k]` weight.
    pub(crate) fn new(weight: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not n x k");
        let pairs = padded_k(k) / 2;
        let panels = n.div_ceil(BLOCK) * 2;
        let mut lines = vec![ZERO_LINE; panels * pairs];
        for j in 0..n {
            let (panel, col) = (j / 16, j % 16);
            for (p, &w) in weight[j * k..(j + 1) * k].iter().enumerate() {
                lines[panel * pairs + p / 2].0[col * 2 + p % 2] = Bf16::from_f32(w).0;
            }
        }
        Self { lines, n, k }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.lines.len() * 64
    }

    /// The stored (bf16-rounded) weight, row-major `[n, k]` (to re-pack fused layers).
    pub(crate) fn to_row_major(&self) -> Vec<f32> {
        let pairs = padded_k(self.k) / 2;
        let mut out = vec![0.0; self.n * self.k];
        for j in 0..self.n {
            let (panel, col) = (j / 16, j % 16);
            for p in 0..self.k {
                let bits = self.lines[panel * pairs + p / 2].0[col * 2 + p % 2];
                out[j * self.k + p] = Bf16(bits).to_f32();
            }
        }
        out
    }
}

/// `C (+)= bf16(A) · Bᵀ + bias` on the tile unit. Panics if a length does not match or if
/// [`ready`] is false (callers pack [`PackedAmx`] weights only when it is true).
pub(crate) fn matmul(a: &[f32], m: usize, b: &PackedAmx, bias: Option<&[f32]>, c: Dest<'_>) {
    assert!(ready(), "AMX bf16 product on a process without AMX");
    let (n, k) = (b.n, b.k);
    let Some((shared, epilogue)) = checked_c(a, m, (n, k), bias, c) else {
        return;
    };
    let col_blocks = n.div_ceil(BLOCK);
    let row_chunks = m.div_ceil(ROWS_PER_TASK);
    let multiply = |a_bf16: &mut Vec<Line>| {
        round_a(a, m, k, a_bf16);
        let a_bf16 = &*a_bf16;
        let task = |index: usize| {
            let (chunk, block) = (index / col_blocks, index % col_blocks);
            let rows = chunk * ROWS_PER_TASK..((chunk + 1) * ROWS_PER_TASK).min(m);
            // SAFETY: `ready()` holds (asserted); the task's rectangle (these rows, columns
            // `block · 32 ..`) is its own: tasks differ in row chunk or column block.
            unsafe { rectangle(a_bf16, b, shared, rows, block, epilogue) };
        };
        crate::team::run(row_chunks * col_blocks, &task);
    };
    ROUNDED_A.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => multiply(&mut buf),
        // Only if a task multiplies on its own: never blocks.
        Err(_) => multiply(&mut Vec::new()),
    });
}

thread_local! {
    /// The rounded A of this thread's last product, kept between calls: a fresh buffer per
    /// product (megabytes for a batch) cost a zero fill and page faults every time.
    static ROUNDED_A: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Fills `lines` with A rounded to bf16, rows padded to a multiple of [`BLOCK`] and k to
/// whole tiles (zeros).
fn round_a(a: &[f32], m: usize, k: usize, lines: &mut Vec<Line>) {
    let row_lines = padded_k(k) / TILE_K;
    lines.resize(m.div_ceil(BLOCK) * BLOCK * row_lines, ZERO_LINE);
    if k == 0 {
        return;
    }
    let pieces: Vec<Mutex<&mut [Line]>> = lines
        .chunks_mut(BLOCK * row_lines)
        .map(Mutex::new)
        .collect();
    crate::team::run(pieces.len(), &|block| {
        let mut piece = pieces[block].lock().unwrap_or_else(|e| e.into_inner());
        let first = block * BLOCK;
        for (r, dst) in piece.chunks_exact_mut(row_lines).enumerate() {
            let row = first + r;
            if row < m {
                // SAFETY: `ready()` (checked by the caller) includes AVX512-BF16.
                unsafe { round_row(&a[row * k..(row + 1) * k], dst) };
            } else {
                dst.fill(ZERO_LINE);
            }
        }
    });
}

/// Rounds one row of A to bf16 (to nearest even, as [`Bf16::from_f32`]) into `dst`'s lines.
///
/// # Safety
///
/// The CPU supports AVX512-BF16.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
unsafe fn round_row(row: &[f32], dst: &mut [Line]) {
    use std::arch::x86_64::*;
    let out = dst.as_mut_ptr().cast::<u16>();
    let mut chunks = row.chunks_exact(16);
    for (i, chunk) in chunks.by_ref().enumerate() {
        // SAFETY: 16 floats read; 16 bf16 written at i · 16 < the row's padded length.
        unsafe {
            let rounded = _mm512_cvtneps_pbh(_mm512_loadu_ps(chunk.as_ptr()));
            _mm256_storeu_si256(
                out.add(i * 16).cast(),
                std::mem::transmute::<__m256bh, __m256i>(rounded),
            );
        }
    }
    let done = row.len() - chunks.remainder().len();
    for (i, &v) in chunks.remainder().iter().enumerate() {
        // SAFETY: done + i < row.len() ≤ the padded length.
        unsafe { out.add(done + i).write(Bf16::from_f32(v).0) };
    }
    // The k padding (the buffer is reused: it may hold an earlier product's values).
    for i in row.len()..dst.len() * TILE_K {
        // SAFETY: i < the padded length, `dst.len()` lines of 32 values.
        unsafe { out.add(i).write(0) };
    }
}

/// The tile configuration: palette 1, eight tiles of 16 rows × 64 bytes (tmm0-3: C,
/// tmm4-5: A, tmm6-7: B).
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

static CONFIG: TileConfig = {
    let mut cfg = [0_u8; 64];
    cfg[0] = 1;
    let mut t = 0;
    while t < 8 {
        // colsb[t] (u16, little-endian) at 16 + 2t, rows[t] at 48 + t.
        cfg[16 + 2 * t] = 64;
        cfg[48 + t] = 16;
        t += 1;
    }
    TileConfig(cfg)
};

/// Computes C's rows `rows` × columns `block · 32 .. block · 32 + 32` (clipped to n).
///
/// # Safety
///
/// [`ready`] is true; `c` points to an `m × n` C (`ldc = n`), initialized when
/// `epilogue.accumulate`; `a` is [`round_a`]'s output for that `m` and `b.k`; nobody else
/// touches the rectangle.
unsafe fn rectangle(
    a: &[Line],
    b: &PackedAmx,
    c: SharedC,
    rows: Range<usize>,
    block: usize,
    epilogue: Epilogue,
) {
    let row_lines = padded_k(b.k) / TILE_K;
    let pairs = padded_k(b.k) / 2;
    let a_stride = row_lines * 64;
    let b0 = b.lines[2 * block * pairs..].as_ptr();
    let b1 = b.lines[(2 * block + 1) * pairs..].as_ptr();
    let j0 = block * BLOCK;
    let width = BLOCK.min(b.n - j0);
    // SAFETY: palette 1 with 8 valid tiles is supported wherever `ready()` holds.
    unsafe {
        asm!("ldtilecfg [{}]", in(reg) &CONFIG.0, options(nostack, readonly, preserves_flags))
    };
    let mut tile = TileF32([0.0; BLOCK * BLOCK]);
    for i0 in rows.clone().step_by(BLOCK) {
        let a0 = a[i0 * row_lines..].as_ptr();
        let a1 = a[(i0 + 16) * row_lines..].as_ptr();
        // SAFETY: the A rows i0 .. i0 + 32 exist (padded to whole blocks) with `row_lines`
        // lines each; B panels hold `pairs` lines; each step reads tile `kt` of each.
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem, preserves_flags)
            );
            for kt in 0..row_lines {
                asm!(
                    "tileloadd tmm4, [{a0} + {sa}*1]",
                    "tileloadd tmm5, [{a1} + {sa}*1]",
                    "tileloadd tmm6, [{b0} + {sb}*1]",
                    "tileloadd tmm7, [{b1} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    a0 = in(reg) a0.add(kt),
                    a1 = in(reg) a1.add(kt),
                    b0 = in(reg) b0.add(kt * 16),
                    b1 = in(reg) b1.add(kt * 16),
                    sa = in(reg) a_stride,
                    sb = in(reg) 64_usize,
                    options(nostack, readonly, preserves_flags)
                );
            }
            // C tiles into `tile`: 32 rows of 32 floats.
            let out = tile.0.as_mut_ptr();
            asm!(
                "tilestored [{c00} + {sc}*1], tmm0",
                "tilestored [{c01} + {sc}*1], tmm1",
                "tilestored [{c10} + {sc}*1], tmm2",
                "tilestored [{c11} + {sc}*1], tmm3",
                c00 = in(reg) out,
                c01 = in(reg) out.add(16),
                c10 = in(reg) out.add(16 * BLOCK),
                c11 = in(reg) out.add(16 * BLOCK + 16),
                sc = in(reg) BLOCK * 4,
                options(nostack, preserves_flags)
            );
        }
        let height = BLOCK.min(rows.end - i0);
        // SAFETY: rows i0 .. i0 + height < m and columns j0 .. j0 + width ≤ n are this task's
        // (caller); `ready()` includes AVX-512.
        unsafe {
            store_block(
                &tile,
                height,
                epilogue.bias.map(|bias| &bias[j0..j0 + width]),
                epilogue.activation,
                epilogue.accumulate,
                c.ptr.add(i0 * c.ldc + j0),
                c.ldc,
                width,
            )
        };
    }
    // Back to the initial tile state, so that context switches need not save 8 KB of tiles.
    // SAFETY: always valid after ldtilecfg.
    unsafe { asm!("tilerelease", options(nostack, nomem, preserves_flags)) };
}

/// A 32 × 32 block of C as the tile stores leave it (row stride 128 bytes).
#[repr(C, align(64))]
struct TileF32([f32; BLOCK * BLOCK]);

/// Writes (or adds, when `accumulate`) the first `height` rows × `width` columns of `tile`
/// to C at `dst` (row stride `ldc`), after adding `bias` (`width` values) and applying `act`.
/// Compiled for AVX-512 so that these loops run 16 floats at a time: done one float at a
/// time, this epilogue cost more than the tile products themselves.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL, AVX2 and FMA; `dst` points to `height` rows of
/// `width` writable floats (initialized when `accumulate`) that nobody else touches.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn store_block(
    tile: &TileF32,
    height: usize,
    bias: Option<&[f32]>,
    act: Option<Activation>,
    accumulate: bool,
    dst: *mut f32,
    ldc: usize,
    width: usize,
) {
    for r in 0..height {
        let mut row = [0.0_f32; BLOCK];
        let row = &mut row[..width];
        row.copy_from_slice(&tile.0[r * BLOCK..r * BLOCK + width]);
        if let Some(bias) = bias {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        if let Some(act) = act {
            crate::ops::body::activate::<crate::math::Fused>(row, act);
        }
        // SAFETY: row r of the destination holds `width` writable floats, initialized when
        // `accumulate` (caller); a possibly uninitialized row is only written through a
        // pointer, never viewed as a slice.
        unsafe {
            let out = dst.add(r * ldc);
            if accumulate {
                for (o, v) in std::slice::from_raw_parts_mut(out, width)
                    .iter_mut()
                    .zip(&*row)
                {
                    *o += v;
                }
            } else {
                std::ptr::copy_nonoverlapping(row.as_ptr(), out, width);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::tests::values;
    use std::mem::MaybeUninit;

    #[test]
    fn packing_round_trips_the_rounded_weight() {
        for &(n, k) in &[(1, 1), (17, 385), (32, 64), (40, 600), (3, 0)] {
            let w = values(n * k, 11);
            let want = Bf16::round_all(&w);
            assert_eq!(PackedAmx::new(&w, n, k).to_row_major(), want, "n={n} k={k}");
        }
    }

    #[test]
    fn block_epilogue_adds_bias_activates_and_stores_or_accumulates() {
        if !crate::isa::cpu_has_avx512() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        let tile = TileF32(std::array::from_fn(|i| (i as f32 - 500.0) / 100.0));
        let bias = values(BLOCK, 31);
        let (height, width, ldc) = (7, 21, 25);
        for accumulate in [false, true] {
            for act in [None, Some(Activation::GeluErf)] {
                let c0 = values(height * ldc, 32);
                let mut c = c0.clone();
                // SAFETY: AVX-512 detected; C holds `height` rows of `ldc ≥ width` floats.
                unsafe {
                    store_block(
                        &tile,
                        height,
                        Some(&bias[..width]),
                        act,
                        accumulate,
                        c.as_mut_ptr(),
                        ldc,
                        width,
                    )
                };
                for r in 0..height {
                    for j in 0..ldc {
                        let mut want =
                            [tile.0[r * BLOCK + j.min(BLOCK - 1)] + bias[j.min(BLOCK - 1)]];
                        if let Some(act) = act {
                            crate::ops::body::activate::<crate::math::Separate>(&mut want, act);
                        }
                        let want = match (j < width, accumulate) {
                            (false, _) => c0[r * ldc + j],
                            (true, true) => c0[r * ldc + j] + want[0],
                            (true, false) => want[0],
                        };
                        let got = c[r * ldc + j];
                        assert!(
                            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                            "({r}, {j}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tile_products_match_the_rounded_operands() {
        if !ready() {
            eprintln!("skipped: this CPU (or kernel) offers no AMX bf16");
            return;
        }
        for &(m, n, k) in &[
            (1, 1, 1),
            (1, 384, 384),
            (7, 17, 385),
            (33, 40, 64),
            (64, 1536, 384),
            (300, 96, 1536),
            (3, 5, 0),
        ] {
            let a = values(m * k, 21);
            let w = values(n * k, 22);
            let bias = values(n, 23);
            let c0 = values(m * n, 24);
            let b = PackedAmx::new(&w, n, k);
            let wq = b.to_row_major();
            let aq = Bf16::round_all(&a);
            let want = |i: usize, j: usize| -> f64 {
                (0..k)
                    .map(|p| f64::from(aq[i * k + p]) * f64::from(wq[j * k + p]))
                    .sum::<f64>()
                    + f64::from(bias[j])
            };
            let mut acc = c0.clone();
            matmul(&a, m, &b, Some(&bias), Dest::Accumulate(&mut acc));
            let mut fresh = vec![MaybeUninit::new(f32::NAN); m * n];
            matmul(&a, m, &b, Some(&bias), Dest::Overwrite(&mut fresh));
            let mut gelu = vec![MaybeUninit::new(f32::NAN); m * n];
            matmul(
                &a,
                m,
                &b,
                Some(&bias),
                Dest::Activated(&mut gelu, Activation::GeluErf),
            );
            for i in 0..m {
                for j in 0..n {
                    let (w, at) = (want(i, j), i * n + j);
                    let tol = 1e-4 * (1.0 + (k as f64).sqrt());
                    // SAFETY: initialized to NaN above, then overwritten.
                    let (fresh, gelu) =
                        unsafe { (fresh[at].assume_init(), gelu[at].assume_init()) };
                    assert!(
                        (f64::from(fresh) - w).abs() < tol,
                        "{m}x{n}x{k} ({i},{j}): {fresh} vs {w}"
                    );
                    let w_acc = w + f64::from(c0[at]);
                    assert!(
                        (f64::from(acc[at]) - w_acc).abs() < tol,
                        "acc {m}x{n}x{k} ({i},{j})"
                    );
                    let mut g = [fresh];
                    crate::ops::activate_in_place(&mut g, Activation::GeluErf);
                    assert!((gelu - g[0]).abs() < 1e-5, "gelu {m}x{n}x{k} ({i},{j})");
                }
            }
        }
    }
}
