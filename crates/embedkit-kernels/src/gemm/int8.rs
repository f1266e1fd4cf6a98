//! Dynamic int8 products: `C (+)= dequant(quant(A) · quant(B)ᵀ) + bias`.
//!
//! Weights are quantized once to int8, symmetric, with one scale per output channel and per
//! group of [`GROUP`] input features (a quarter of f32's memory plus 1/16 for the scales).
//! Per-channel scales alone cost all-MiniLM-L6-v2 cosine 0.996 against f32; per-group
//! scales (as llama.cpp's Q8_0 blocks) keep the weights' rounding local. Activations are
//! quantized per call, per row (token), to 16-bit integers, so their rounding is negligible.
//! The products run on `vpmaddwd`: 16 exact multiply-adds of 16-bit integers per
//! instruction, twice the 8 of an f32 FMA (`vpdpwssd` with AVX-512 VNNI: 32, with the sum
//! in the same instruction), summed in 32 bits over one group (no overflow:
//! 64 · 32767 · 127 < 2³¹) and scaled into f32 accumulators after each group.
//!
//! Why 16-bit activations and `vpmaddwd` rather than 8-bit ones and `vpmaddubsw`: the
//! latter's 16-bit pair sums saturate for full-range u8 × s8 operands (which is why other
//! libraries cut weights or activations to 7 bits), and AVX2 has no instruction that avoids
//! it. With 16-bit lanes nothing saturates, at the same multiply-add rate. (AVX512-VNNI's
//! `vpdpbusd` sums u8 × s8 products into 32 bits without saturating: on CPUs that also have
//! AVX512-BF16, layers with bounded inputs use it, with 8-bit activations, in
//! [`super::u8dot`].)

use super::driver::{checked_c, Epilogue, Grid, SharedC};
use super::{Dest, MR, NR};
use crate::isa::{self, Isa};
use crate::ops::Activation;
use std::ops::Range;
use std::sync::Mutex;

/// Largest activation level.
const ACT_MAX: f32 = 32767.0;
/// Largest weight level.
const WEIGHT_MAX: f32 = 127.0;
/// Input features sharing one weight scale (per output channel).
pub(crate) const GROUP: usize = 64;
/// k-step pairs per group.
const GROUP_PAIRS: usize = GROUP / 2;

/// A weight quantized to int8 per output channel and k group, packed for the microkernel.
///
/// Layout: `NR`-column panels; in each, one 32-byte line per pair of k steps holding columns
/// 0-7 then 8-15, each column's two k values side by side (what `vpmovsxbw` + `vpmaddwd`
/// consume). An odd k is padded with a zero step.
#[derive(Clone)]
pub(crate) struct PackedInt8 {
    data: Vec<i8>,
    /// `[panel][group][NR]`: weight `(j, p)` equals `scale · q` with the scale of column `j`
    /// in group `p / GROUP` (padding columns: 0).
    scales: Vec<f32>,
    n: usize,
    k: usize,
}

impl std::fmt::Debug for PackedInt8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedInt8")
            .field("n", &self.n)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// Bytes of one packed line: `NR` columns × 2 k steps.
const LINE: usize = 2 * NR;

impl PackedInt8 {
    /// Quantizes and packs a row-major `[n, k]` weight.
    pub(crate) fn new(weight: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not n x k");
        let pairs = k.div_ceil(2);
        let groups = k.div_ceil(GROUP);
        let panels = n.div_ceil(NR);
        let mut data = vec![0_i8; panels * pairs * LINE];
        let mut scales = vec![0.0_f32; panels * groups * NR];
        for j in 0..n {
            let (panel, col) = (j / NR, j % NR);
            let (half, c) = (col / 8, col % 8);
            for g in 0..groups {
                let ks = g * GROUP..((g + 1) * GROUP).min(k);
                let row = &weight[j * k..][ks.clone()];
                let scale = row.iter().fold(0.0_f32, |m, v| m.max(v.abs())) / WEIGHT_MAX;
                scales[(panel * groups + g) * NR + col] = scale;
                let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
                for (p, &w) in ks.zip(row) {
                    let line = (panel * pairs + p / 2) * LINE;
                    data[line + half * 16 + c * 2 + p % 2] = (w * inv).round() as i8;
                }
            }
        }
        Self { data, scales, n, k }
    }

    /// Bytes held (weights and scales).
    pub(crate) fn bytes(&self) -> usize {
        self.data.len() + self.scales.len() * 4
    }

    fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }

    fn groups(&self) -> usize {
        self.k.div_ceil(GROUP)
    }

    /// Panel `panel`'s packed weights and its `[group][NR]` scales.
    fn panel(&self, panel: usize) -> (&[i8], &[f32]) {
        let len = self.k.div_ceil(2) * LINE;
        let scales = self.groups() * NR;
        (
            &self.data[panel * len..(panel + 1) * len],
            &self.scales[panel * scales..(panel + 1) * scales],
        )
    }

    /// The dequantized weight, row-major `[n, k]` (to re-pack fused layers).
    pub(crate) fn to_row_major(&self) -> Vec<f32> {
        let (pairs, groups) = (self.k.div_ceil(2), self.groups());
        let mut out = vec![0.0; self.n * self.k];
        for j in 0..self.n {
            let (panel, col) = (j / NR, j % NR);
            let (half, c) = (col / 8, col % 8);
            for p in 0..self.k {
                let q = self.data[(panel * pairs + p / 2) * LINE + half * 16 + c * 2 + p % 2];
                let scale = self.scales[(panel * groups + p / GROUP) * NR + col];
                out[j * self.k + p] = f32::from(q) * scale;
            }
        }
        out
    }
}

/// A quantized with its row scales: `MR`-row panels of `(a[2p], a[2p+1])` 16-bit pairs.
struct QuantizedA {
    panels: Vec<i32>,
    scales: Vec<f32>,
    pairs: usize,
}

/// Quantizes each row of `a` (`m × k`) to `±ACT_MAX` and packs `MR`-row panels, with the
/// vector width of `isa` (the portable code where the CPU lacks it).
fn quantize_a(a: &[f32], m: usize, k: usize, isa: Isa) -> QuantizedA {
    let pairs = k.div_ceil(2);
    let row_panels = m.div_ceil(MR);
    let mut panels = vec![0_i32; row_panels * pairs * MR];
    let mut scales = vec![0.0_f32; m];
    if pairs == 0 {
        return QuantizedA {
            panels,
            scales,
            pairs,
        };
    }
    // One task per panel, on the kernels' threads; each locks only its own (uncontended)
    // piece of the two outputs.
    let pieces: Vec<Mutex<(&mut [i32], &mut [f32])>> = panels
        .chunks_mut(pairs * MR)
        .zip(scales.chunks_mut(MR))
        .map(Mutex::new)
        .collect();
    crate::team::run(pieces.len(), &|panel| {
        let mut piece = pieces[panel].lock().unwrap_or_else(|e| e.into_inner());
        let (out, scales) = &mut *piece;
        let rows = &a[panel * MR * k..][..scales.len() * k];
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the guard checks that the CPU has AVX-512.
            _ if isa.runs_avx512() => unsafe { quantize_panel_avx512(rows, k, out, scales) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the guard checks that the CPU has AVX2 and FMA.
            _ if isa.runs_avx2() => unsafe { quantize_panel_avx2(rows, k, out, scales) },
            _ => quantize_panel(rows, k, out, scales),
        }
    });
    drop(pieces);
    QuantizedA {
        panels,
        scales,
        pairs,
    }
}

/// [`quantize_panel`] compiled with AVX2.
///
/// # Safety
///
/// The CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_panel_avx2(rows: &[f32], k: usize, out: &mut [i32], scales: &mut [f32]) {
    quantize_panel(rows, k, out, scales)
}

/// [`quantize_panel`] compiled with AVX-512.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn quantize_panel_avx512(rows: &[f32], k: usize, out: &mut [i32], scales: &mut [f32]) {
    quantize_panel(rows, k, out, scales)
}

/// Quantizes the rows of one panel (`scales.len() ≤ MR` rows of `k`, row-major in `rows`) into
/// `out`'s interleaved 16-bit pairs (`out[p · MR + r]` = levels `2p`, `2p + 1` of row `r`).
/// Written so that every per-element loop vectorizes: this runs on every call of an int8
/// product, and a scalar version took ~17% of an int8 forward pass.
#[inline(always)]
fn quantize_panel(rows: &[f32], k: usize, out: &mut [i32], scales: &mut [f32]) {
    // A row's levels, contiguous; an odd k's padding level stays 0.
    let mut levels = vec![0_i16; 2 * k.div_ceil(2)];
    for (r, (row, scale)) in rows.chunks_exact(k).zip(scales.iter_mut()).enumerate() {
        // Zero, not −∞, for a row of NaNs.
        let max = crate::ops::body::max_of(row, f32::abs).max(0.0);
        *scale = max / ACT_MAX;
        // An all-zero row, or one so small that the inverse overflows, quantizes to zeros
        // (`round_to_level` needs |x| ≤ ACT_MAX).
        let inv = ACT_MAX / max;
        let inv = if inv.is_finite() { inv } else { 0.0 };
        for (level, v) in levels.iter_mut().zip(row) {
            *level = round_to_level(v * inv);
        }
        for (p, pair) in levels.chunks_exact(2).enumerate() {
            out[p * MR + r] = i32::from(pair[0] as u16) | (i32::from(pair[1] as u16) << 16);
        }
    }
}

/// `x` rounded to the nearest integer (ties to even), for `|x| ≤ ACT_MAX`: adding 1.5 · 2²³
/// leaves that integer in the low bits of the mantissa. Unlike `x.round() as i16` (a libm
/// call and a saturating cast) this is two vector instructions.
#[inline(always)]
fn round_to_level(x: f32) -> i16 {
    const SHIFT: f32 = 12_582_912.0;
    (x + SHIFT).to_bits().wrapping_sub(SHIFT.to_bits()) as i16
}

/// `C (+)= A · Bᵀ + bias` with int8 `B`, on `isa` (an ISA the CPU lacks runs portable code).
pub(crate) fn matmul_on(
    isa: Isa,
    a: &[f32],
    m: usize,
    b: &PackedInt8,
    bias: Option<&[f32]>,
    c: Dest<'_>,
) {
    let (n, k) = (b.n, b.k);
    let Some((shared, epilogue)) = checked_c(a, m, (n, k), bias, c) else {
        return;
    };
    let quantized = quantize_a(a, m, k, isa);
    let panels = b.panels();
    let grid = Grid::plan(m, n, k, panels, rayon::current_num_threads());
    let task = |index: usize| {
        let (rows, cols) = grid.task(index, m, panels);
        // SAFETY: `rows × cols` is this task's own rectangle of the `m × n` C (the grid's
        // rectangles are disjoint), which `c` borrows mutably for this whole call.
        unsafe { rectangle(&quantized, b, shared, rows, cols, epilogue, isa) };
    };
    crate::team::run(grid.tasks(), &task);
}

/// [`matmul_on`] on the instruction set chosen for this process.
pub(crate) fn matmul(a: &[f32], m: usize, b: &PackedInt8, bias: Option<&[f32]>, c: Dest<'_>) {
    matmul_on(isa::current(), a, m, b, bias, c)
}

/// Computes C's `rows × cols` (column panels) rectangle.
///
/// # Safety
///
/// `c` points to an `m × n` C (`ldc = n`), initialized when `epilogue.accumulate`; `rows` ⊂ `0..m`
/// starts on a multiple of `MR`, `cols` ⊂ `0..b.panels()`; nobody else touches the rectangle.
unsafe fn rectangle(
    a: &QuantizedA,
    b: &PackedInt8,
    c: SharedC,
    rows: Range<usize>,
    cols: Range<usize>,
    epilogue: Epilogue,
    isa: Isa,
) {
    let n = b.n;
    #[cfg(target_arch = "x86_64")]
    let (avx512, avx2) = (isa.runs_avx512(), isa.runs_avx2());
    #[cfg(not(target_arch = "x86_64"))]
    let _ = isa;
    let Epilogue {
        bias,
        accumulate,
        activation,
    } = epilogue;
    debug_assert!(
        !(accumulate && activation.is_some()),
        "activated C is overwritten"
    );
    for panel in cols {
        let (b_panel, group_scales) = b.panel(panel);
        let j0 = panel * NR;
        let width = NR.min(n - j0);
        let mut bias_tile = [0.0_f32; NR];
        if let Some(bias) = bias {
            bias_tile[..width].copy_from_slice(&bias[j0..j0 + width]);
        }
        for i0 in rows.clone().step_by(MR) {
            let a_panel = &a.panels[(i0 / MR) * a.pairs * MR..][..a.pairs * MR];
            let out = TileOut {
                row_scales: &a.scales[i0..i0 + MR.min(rows.end - i0)],
                bias: &bias_tile,
                activation,
                accumulate,
                // SAFETY: row i0, column j0 lies in this task's rectangle (caller).
                dst: unsafe { c.ptr.add(i0 * c.ldc + j0) },
                ldc: c.ldc,
                width,
            };
            let mut acc = [[0.0_f32; NR]; MR];
            // SAFETY (each branch): its guard checked the CPU; the panels hold `pairs` steps
            // and one line of scales per group; the tile's rows × `width` lie in this task's
            // rectangle (caller), read only when initialized (`accumulate`).
            #[cfg(target_arch = "x86_64")]
            {
                let (a_ptr, b_ptr) = (a_panel.as_ptr(), b_panel.as_ptr());
                let scales = group_scales.as_ptr();
                if avx512 {
                    unsafe {
                        tile_avx512(a.pairs, a_ptr, b_ptr, scales, &mut acc);
                        finish_tile_avx512(&acc, &out);
                    }
                    continue;
                } else if avx2 {
                    unsafe {
                        tile_avx2(a.pairs, a_ptr, b_ptr, scales, &mut acc);
                        finish_tile_avx2(&acc, &out);
                    }
                    continue;
                }
            }
            tile_portable(a.pairs, a_panel, b_panel, group_scales, &mut acc);
            // SAFETY: as above (the portable code needs nothing from the CPU).
            unsafe { finish_tile::<crate::math::Separate>(&acc, &out) };
        }
    }
}

/// Where a finished int8 tile goes and what happens to it on the way.
struct TileOut<'a> {
    /// The activation scale of each row (as many as the tile has rows).
    row_scales: &'a [f32],
    bias: &'a [f32; NR],
    activation: Option<Activation>,
    accumulate: bool,
    /// Row 0, column 0 of the tile in C.
    dst: *mut f32,
    ldc: usize,
    /// Columns that exist in C (the rest of the tile is padding).
    width: usize,
}

/// Scales the integer sums of a tile into its final values (row scale, bias), applies the
/// activation to the whole tile at once (one call for up to 96 values: per 16-value row, the
/// call overhead was as large as the arithmetic) and stores or adds them to C.
///
/// # Safety
///
/// `out.dst` points to `out.row_scales.len()` rows (stride `out.ldc`) of `out.width` writable
/// floats, initialized when `out.accumulate`, that nobody else touches.
#[inline(always)]
unsafe fn finish_tile<M: crate::math::MulAdd>(acc: &[[f32; NR]; MR], out: &TileOut<'_>) {
    let height = out.row_scales.len();
    let mut values = [[0.0_f32; NR]; MR];
    for ((row, acc_row), &scale) in values.iter_mut().zip(acc).zip(out.row_scales) {
        for ((v, &sum), &b) in row.iter_mut().zip(acc_row).zip(out.bias) {
            *v = M::mul_add(sum, scale, b);
        }
    }
    if let Some(act) = out.activation {
        crate::ops::body::activate::<M>(values[..height].as_flattened_mut(), act);
    }
    for (r, row) in values.iter().enumerate().take(height) {
        // SAFETY: row r of the tile is inside C (caller).
        unsafe {
            let dst = out.dst.add(r * out.ldc);
            if out.width == NR {
                store_row(dst, row, out.accumulate);
            } else {
                store_row(dst, &row[..out.width], out.accumulate);
            }
        }
    }
}

/// [`finish_tile`] compiled with AVX-512.
///
/// # Safety
///
/// As [`finish_tile`]; the CPU supports AVX-512 F, BW, VL, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn finish_tile_avx512(acc: &[[f32; NR]; MR], out: &TileOut<'_>) {
    // SAFETY: forwarded contract.
    unsafe { finish_tile::<crate::math::Fused>(acc, out) }
}

/// [`finish_tile`] compiled with AVX2.
///
/// # Safety
///
/// As [`finish_tile`]; the CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn finish_tile_avx2(acc: &[[f32; NR]; MR], out: &TileOut<'_>) {
    // SAFETY: forwarded contract.
    unsafe { finish_tile::<crate::math::Fused>(acc, out) }
}

/// Writes (or, when `accumulate`, adds) `values` to the floats at `dst`. Separate loops per
/// case, so that a full 16-column row is a few vector instructions.
///
/// # Safety
///
/// `dst` points to `values.len()` writable floats, initialized when `accumulate`, that no
/// other thread touches during the call.
#[inline(always)]
unsafe fn store_row(dst: *mut f32, values: &[f32], accumulate: bool) {
    // SAFETY (both loops): `col < values.len()` (caller).
    if accumulate {
        for (col, &value) in values.iter().enumerate() {
            unsafe { *dst.add(col) += value };
        }
    } else {
        for (col, &value) in values.iter().enumerate() {
            unsafe { dst.add(col).write(value) };
        }
    }
}

/// Portable tile: the reference for the AVX2 one. `acc` receives `Σ_groups scale · Σ q·q`,
/// still to be multiplied by the row scales.
fn tile_portable(pairs: usize, a: &[i32], b: &[i8], scales: &[f32], acc: &mut [[f32; NR]; MR]) {
    for (g, first) in (0..pairs).step_by(GROUP_PAIRS).enumerate() {
        let mut sums = [[0_i32; NR]; MR];
        for p in first..pairs.min(first + GROUP_PAIRS) {
            let line = &b[p * LINE..][..LINE];
            for (r, sum_row) in sums.iter_mut().enumerate() {
                let packed = a[p * MR + r];
                let (lo, hi) = (i32::from(packed as i16), i32::from((packed >> 16) as i16));
                for (col, sum) in sum_row.iter_mut().enumerate() {
                    let at = (col / 8) * 16 + (col % 8) * 2;
                    *sum += lo * i32::from(line[at]) + hi * i32::from(line[at + 1]);
                }
            }
        }
        let scale = &scales[g * NR..][..NR];
        for (acc_row, sum_row) in acc.iter_mut().zip(&sums) {
            for ((a, &s), &w) in acc_row.iter_mut().zip(sum_row).zip(scale) {
                *a += s as f32 * w;
            }
        }
    }
}

/// AVX2 tile: per pair of k steps, two sign-extending loads of B and, per row, one broadcast
/// and two `vpmaddwd` (16 exact multiply-adds each) into 12 integer accumulators; after each
/// group they are converted and scaled into the f32 tile, which lives in L1 (`acc`).
///
/// # Safety
///
/// The CPU supports AVX2; `a` holds `pairs · MR` values, `b` `pairs · 32` bytes and `scales`
/// `NR` floats per group of `GROUP_PAIRS` pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(
    pairs: usize,
    mut a: *const i32,
    mut b: *const i8,
    mut scales: *const f32,
    out: &mut [[f32; NR]; MR],
) {
    use std::arch::x86_64::*;
    let mut left = pairs;
    while left > 0 {
        let steps = left.min(GROUP_PAIRS);
        left -= steps;
        let mut sums = [[_mm256_setzero_si256(); 2]; MR];
        for _ in 0..steps {
            // SAFETY: each step reads the next 32 bytes of B and MR values of A (caller).
            unsafe {
                let b_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(b.cast()));
                let b_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(b.add(16).cast()));
                for (r, sum_row) in sums.iter_mut().enumerate() {
                    let a_pair = _mm256_set1_epi32(*a.add(r));
                    sum_row[0] = _mm256_add_epi32(sum_row[0], _mm256_madd_epi16(a_pair, b_lo));
                    sum_row[1] = _mm256_add_epi32(sum_row[1], _mm256_madd_epi16(a_pair, b_hi));
                }
                a = a.add(MR);
                b = b.add(LINE);
            }
        }
        // SAFETY: one group's NR scales (caller); `out` rows are NR floats.
        unsafe {
            let (s_lo, s_hi) = (_mm256_loadu_ps(scales), _mm256_loadu_ps(scales.add(8)));
            for (row, [lo, hi]) in out.iter_mut().zip(sums) {
                let p = row.as_mut_ptr();
                let lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo), s_lo, _mm256_loadu_ps(p));
                let hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi), s_hi, _mm256_loadu_ps(p.add(8)));
                _mm256_storeu_ps(p, lo);
                _mm256_storeu_ps(p.add(8), hi);
            }
            scales = scales.add(NR);
        }
    }
}

/// AVX-512 tile: per pair of k steps, one sign-extending load of the whole 16-column line
/// of B and, per row, one broadcast and one `vpdpwssd` (32 exact multiply-adds, summed into
/// the 32-bit accumulator in the same instruction). Each row keeps two accumulators (even
/// and odd pairs) so that 12 independent chains cover the instruction's latency; after each
/// group they are converted and scaled into the f32 tile in L1 (`acc`), as on AVX2.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW and VNNI; `a` holds `pairs · MR` values, `b` `pairs · 32`
/// bytes and `scales` `NR` floats per group of `GROUP_PAIRS` pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn tile_avx512(
    pairs: usize,
    mut a: *const i32,
    mut b: *const i8,
    mut scales: *const f32,
    out: &mut [[f32; NR]; MR],
) {
    use std::arch::x86_64::*;
    let mut left = pairs;
    while left > 0 {
        let steps = left.min(GROUP_PAIRS);
        left -= steps;
        // Two arrays rather than a `[_; 2]` indexed by parity: every index is then known at
        // compile time and the 12 accumulators stay in registers.
        let mut even = [_mm512_setzero_si512(); MR];
        let mut odd = [_mm512_setzero_si512(); MR];
        let mut step = |sums: &mut [__m512i; MR]| {
            // SAFETY: each step reads the next 32 bytes of B and MR values of A (caller).
            unsafe {
                let line = _mm512_cvtepi8_epi16(_mm256_loadu_si256(b.cast()));
                for (r, sum) in sums.iter_mut().enumerate() {
                    *sum = _mm512_dpwssd_epi32(*sum, _mm512_set1_epi32(*a.add(r)), line);
                }
                a = a.add(MR);
                b = b.add(LINE);
            }
        };
        for _ in 0..steps / 2 {
            step(&mut even);
            step(&mut odd);
        }
        if steps % 2 == 1 {
            step(&mut even);
        }
        // SAFETY: one group's NR scales (caller); `out` rows are NR floats.
        unsafe {
            let s = _mm512_loadu_ps(scales);
            for ((row, even), odd) in out.iter_mut().zip(even).zip(odd) {
                let p = row.as_mut_ptr();
                let sum = _mm512_cvtepi32_ps(_mm512_add_epi32(even, odd));
                _mm512_storeu_ps(p, _mm512_fmadd_ps(sum, s, _mm512_loadu_ps(p)));
            }
            scales = scales.add(NR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::tests::values;
    use std::mem::MaybeUninit;

    /// The quantized activation `(i, p)` read back from the packed panels.
    fn quantized(q: &QuantizedA, i: usize, p: usize) -> i16 {
        let packed = q.panels[(i / MR) * q.pairs * MR + (p / 2) * MR + i % MR];
        if p.is_multiple_of(2) {
            packed as i16
        } else {
            (packed >> 16) as i16
        }
    }

    /// The product of the dequantized operands, in f64: what the kernel computes exactly
    /// (up to the final f32 rounding).
    fn reference(a: &[f32], b: &PackedInt8, m: usize, bias: &[f32], c0: &[f32]) -> Vec<f64> {
        let (n, k) = (b.n, b.k);
        let w = b.to_row_major();
        let q = quantize_a(a, m, k, Isa::Scalar);
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            // Each activation within half a level of its value.
            for p in 0..k {
                let back = f64::from(quantized(&q, i, p)) * f64::from(q.scales[i]);
                assert!((back - f64::from(a[i * k + p])).abs() <= f64::from(q.scales[i]) * 0.51);
            }
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|p| {
                        f64::from(quantized(&q, i, p))
                            * f64::from(q.scales[i])
                            * f64::from(w[j * k + p])
                    })
                    .sum();
                out[i * n + j] = s + f64::from(bias[j]) + f64::from(c0[i * n + j]);
            }
        }
        out
    }

    #[test]
    fn every_path_computes_the_dequantized_product() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (7, 17, 3),
            (13, 40, 385),
            (64, 48, 1536),
            (2, 16, 0),
        ] {
            let a = values(m * k, 1);
            let w = values(n * k, 2);
            let bias = values(n, 3);
            let c0 = values(m * n, 4);
            let b = PackedInt8::new(&w, n, k);
            let want = reference(&a, &b, m, &bias, &c0);
            for isa in [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512] {
                let mut acc = c0.clone();
                matmul_on(isa, &a, m, &b, Some(&bias), Dest::Accumulate(&mut acc));
                let mut fresh = vec![MaybeUninit::new(f32::NAN); m * n];
                matmul_on(isa, &a, m, &b, Some(&bias), Dest::Overwrite(&mut fresh));
                let mut gelu = vec![MaybeUninit::new(f32::NAN); m * n];
                let act = Activation::GeluErf;
                matmul_on(isa, &a, m, &b, Some(&bias), Dest::Activated(&mut gelu, act));
                for i in 0..m * n {
                    // SAFETY: initialized to NaN above, then overwritten.
                    let (fresh, gelu) = unsafe { (fresh[i].assume_init(), gelu[i].assume_init()) };
                    let mut want_gelu = [fresh];
                    crate::ops::body::activate::<crate::math::Separate>(&mut want_gelu, act);
                    assert!((gelu - want_gelu[0]).abs() < 1e-5, "{isa:?} gelu [{i}]");
                    let without_c0 = want[i] - f64::from(c0[i]);
                    assert!(
                        (f64::from(acc[i]) - want[i]).abs() < 1e-4,
                        "{isa:?} {m}x{n}x{k} [{i}] {} vs {}",
                        acc[i],
                        want[i]
                    );
                    assert!(
                        (f64::from(fresh) - without_c0).abs() < 1e-4,
                        "{isa:?} {m}x{n}x{k} [{i}]"
                    );
                }
            }
        }
    }

    #[test]
    fn quantized_product_is_close_to_the_exact_one() {
        let (m, n, k) = (16, 64, 384);
        let a = values(m * k, 5);
        let w = values(n * k, 6);
        let b = PackedInt8::new(&w, n, k);
        let mut c = vec![0.0; m * n];
        matmul_on(isa::current(), &a, m, &b, None, Dest::Accumulate(&mut c));
        let (mut err, mut norm) = (0.0_f64, 0.0_f64);
        for i in 0..m {
            for j in 0..n {
                let exact: f64 = (0..k).map(|p| f64::from(a[i * k + p] * w[j * k + p])).sum();
                err += (exact - f64::from(c[i * n + j])).powi(2);
                norm += exact * exact;
            }
        }
        // Per-channel int8 weights: ~0.5% relative error on random data.
        assert!(
            (err / norm).sqrt() < 0.01,
            "relative error {}",
            (err / norm).sqrt()
        );
    }

    #[test]
    fn levels_round_to_nearest_with_ties_to_even() {
        for (x, want) in [
            (0.0, 0),
            (0.49, 0),
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (-2.51, -3),
            (32766.6, 32767),
            (-32767.0, -32767),
        ] {
            assert_eq!(round_to_level(x), want, "{x}");
        }
    }

    #[test]
    fn quantization_is_the_same_on_every_path() {
        // Odd k (a padding level), a ragged last panel, an all-zero row, a row whose
        // largest magnitude is negative and one too small to scale.
        let (m, k) = (13, 385);
        let mut a = values(m * k, 7);
        a[2 * k..3 * k].fill(0.0);
        a[5 * k + 100] = -3.0;
        // A row whose inverse scale overflows f32.
        a[7 * k..8 * k].fill(0.0);
        a[7 * k + 3] = 1e-36;
        let portable = quantize_a(&a, m, k, Isa::Scalar);
        assert_eq!(portable.scales[2], 0.0);
        assert_eq!(quantized(&portable, 5, 100), -32767);
        assert_eq!(quantized(&portable, 12, 385), 0, "padding level");
        assert!((0..k).all(|p| quantized(&portable, 7, p) == 0), "tiny row");
        for isa in [Isa::Avx2Fma, Isa::Avx512] {
            // A path the CPU lacks runs the portable code: trivially equal.
            let fast = quantize_a(&a, m, k, isa);
            assert_eq!(fast.panels, portable.panels, "{isa:?}");
            assert_eq!(fast.scales, portable.scales, "{isa:?}");
        }
    }

    #[test]
    fn group_sums_cannot_overflow() {
        assert!(GROUP as i64 * ACT_MAX as i64 * WEIGHT_MAX as i64 <= i64::from(i32::MAX));
    }

    #[test]
    fn packing_round_trips_within_half_a_step() {
        let (n, k) = (19, 131);
        let w = values(n * k, 9);
        let b = PackedInt8::new(&w, n, k);
        let groups = k.div_ceil(GROUP);
        for (j, (got, want)) in b.to_row_major().chunks(k).zip(w.chunks(k)).enumerate() {
            for (p, (g, v)) in got.iter().zip(want).enumerate() {
                let scale = b.scales[((j / NR) * groups + p / GROUP) * NR + j % NR];
                assert!((g - v).abs() <= scale / 2.0 + 1e-7, "({j}, {p})");
            }
        }
        // One byte per weight (k padded to pairs, n to panels) and one scale per group.
        assert_eq!(b.bytes(), 2 * 66 * 32 + 2 * groups * NR * 4);
    }
}
