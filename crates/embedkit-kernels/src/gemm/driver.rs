//! Blocking, edge tiles and threading around a [`Microkernel`].
//!
//! Loop order (BLIS): for each k block → for each `MC`-row block of A (packed, stays in L2)
//! → for each `NR`-column panel of B (stays in L1) → for each `MR`-row panel of A → one
//! microkernel call. The bias is folded into the first k block and the residual is read
//! there too; later k blocks add onto C.
//!
//! Threads get rectangles of C: bands of rows when there are enough rows (every token of a
//! batch), otherwise bands of column panels as well (one short query), a few per thread so
//! that the team's threads, taking them one at a time, even out a core that is busy with
//! something else.

use super::pack::{a_panels_len, pack_a, PackedElem, PackedWeight};
use super::{Dest, Microkernel, Prefetch, MR, NR};
use crate::ops::Activation;
use crate::scratch::{grown, with_reused};
use std::cell::RefCell;
use std::ops::Range;

/// Rows of A packed at a time: `MC × KC_MAX` floats (216 KiB) stay in the 512 KiB L2.
const MC: usize = 144;
/// Below this many multiply-adds the whole product runs on the calling thread (~15 µs on one
/// core): handing work to the other threads costs a few microseconds.
const PARALLEL_MIN_FMAS: usize = 1 << 19;
/// Most row tiles per B panel for which the next panel is prefetched (see [`Prefetch`]).
/// With more, the panel is reused long enough for the hardware prefetcher to keep up, and
/// the next 24 KiB brought into L1 would compete with the current panel, which those tiles
/// keep reading; so batches keep the kernel's behaviour from before prefetching.
const PREFETCH_MAX_TILES: usize = 8;
/// Tasks per thread, so one slow core does not leave the other idle at the end.
const TASKS_PER_THREAD: usize = 4;
/// Fewest `MR`-row panels worth a task of their own before splitting columns instead.
const MIN_TASK_ROW_PANELS: usize = 4;

/// C as shared by the tasks, each of which writes a disjoint rectangle of it.
#[derive(Clone, Copy)]
pub(super) struct SharedC {
    pub(super) ptr: *mut f32,
    pub(super) ldc: usize,
}

// SAFETY: the pointer is only dereferenced inside the rectangle of the task holding the copy,
// and `run` assigns rectangles that do not overlap; `run` holds the exclusive borrow of C
// (its `Dest`) until every task has finished.
unsafe impl Send for SharedC {}
// SAFETY: as above: concurrent tasks never touch the same element.
unsafe impl Sync for SharedC {}

/// How C is cut into tasks: rectangles of `row_step` rows × `panel_step` column panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Grid {
    row_step: usize,
    panel_step: usize,
    /// Bands of rows (1: every task multiplies all of them).
    row_tasks: usize,
    panel_tasks: usize,
}

impl Grid {
    /// Cuts an `m × n` C (`panels` column panels, shared dimension `k`) for `threads`.
    pub(super) fn plan(m: usize, n: usize, k: usize, panels: usize, threads: usize) -> Self {
        let row_panels = m.div_ceil(MR);
        let (row_tasks, panel_tasks) =
            if threads <= 1 || m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN_FMAS {
                (1, 1)
            } else {
                let target = threads * TASKS_PER_THREAD;
                let row_tasks = target.min(row_panels / MIN_TASK_ROW_PANELS).max(1);
                // With every task multiplying all rows (a short query), the product streams
                // the weight from memory once: one task per thread keeps each thread's share
                // one run of panels, prefetched as it goes, where more tasks only add cold
                // starts (f32 batch-1 p50 on all-MiniLM-L6-v2: 2.42-2.48 -> 2.32-2.37 ms).
                let target = if row_tasks == 1 { threads } else { target };
                (row_tasks, target.div_ceil(row_tasks).min(panels).max(1))
            };
        // Whole MR panels per row task, so only the last task has a ragged edge.
        let row_step = (row_panels.div_ceil(row_tasks) * MR).max(MR);
        let panel_step = panels.div_ceil(panel_tasks).max(1);
        Self {
            row_step,
            panel_step,
            row_tasks: m.div_ceil(row_step),
            panel_tasks: panels.div_ceil(panel_step),
        }
    }

    /// Number of rectangles.
    pub(super) fn tasks(&self) -> usize {
        self.row_tasks * self.panel_tasks
    }

    /// Rows and column panels of rectangle `index`.
    pub(super) fn task(
        &self,
        index: usize,
        m: usize,
        panels: usize,
    ) -> (Range<usize>, Range<usize>) {
        let (r, p) = (index / self.panel_tasks, index % self.panel_tasks);
        let rows = r * self.row_step..((r + 1) * self.row_step).min(m);
        let cols = p * self.panel_step..((p + 1) * self.panel_step).min(panels);
        (rows, cols)
    }
}

thread_local! {
    /// Each thread's packed-A buffer, kept between calls (up to `MC × KC_MAX` floats).
    static A_PANELS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The calling thread's A packed once for every task (a short query: up to `MC × k`
    /// floats), kept between calls: a fresh buffer per product cost a zero fill and, for the
    /// larger ones, page faults.
    static SHARED_A: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// What every task needs to know about C besides its own rectangle.
#[derive(Clone, Copy)]
pub(super) struct Epilogue<'a> {
    pub(super) bias: Option<&'a [f32]>,
    /// C holds values to add to (otherwise it may be uninitialized and is only written
    /// until the first k block has stored each tile).
    pub(super) accumulate: bool,
    /// Applied to each finished block of C (never with `accumulate`: an activated
    /// destination is overwritten).
    pub(super) activation: Option<Activation>,
}

/// `C (+)= A · Bᵀ + bias` (then the activation, if any) with microkernel `K`, on the kernels'
/// threads.
///
/// # Safety
///
/// The CPU must support the instructions `K` was compiled for.
pub(super) unsafe fn run<K: Microkernel, E: PackedElem>(
    a: &[f32],
    m: usize,
    b: &PackedWeight<E>,
    bias: Option<&[f32]>,
    c: Dest<'_>,
) {
    let (n, k) = (b.n(), b.k());
    let Some((shared, epilogue)) = checked_c(a, m, (n, k), bias, c) else {
        return;
    };
    if k == 0 {
        // An empty product: only the epilogue remains.
        // SAFETY: C is m × n (asserted) and borrowed mutably by `c` for this whole call; the
        // caller vouches for `K`'s CPU features.
        unsafe {
            bias_only(shared, m, n, epilogue);
            if let Some(act) = epilogue.activation {
                K::activate(std::slice::from_raw_parts_mut(shared.ptr, m * n), act);
            }
        }
        return;
    }
    let panels = b.panels();
    let grid = Grid::plan(m, n, k, panels, rayon::current_num_threads());
    // A short query's C is cut by columns only, so every task would pack the same rows of A:
    // pack them once, here, when they fit one row block.
    let pack_once = grid.row_tasks == 1 && grid.tasks() > 1 && m <= MC;
    let run_tasks = |packed: Option<&[f32]>| {
        let a = AOperand { rows: a, packed };
        let task = |index: usize| {
            let (rows, cols) = grid.task(index, m, panels);
            // SAFETY: the caller vouches for `K`'s CPU features; `rows × cols` is this task's
            // own rectangle of C, which has `m × n` elements (asserted above); `packed`, if
            // any, holds rows 0..m, which are the task's rows (one row task).
            with_reused(&A_PANELS, |buf| unsafe {
                rectangle::<K, E>(a, b, shared, rows, cols, epilogue, buf)
            });
        };
        crate::team::run(grid.tasks(), &task);
    };
    if !pack_once {
        return run_tasks(None);
    }
    with_reused(&SHARED_A, |buf| {
        let buf = grown(buf, a_panels_len(m, k), 0.0);
        for (k0, depth) in b.k_blocks() {
            let dst = &mut buf[a_panels_len(m, k0)..][..a_panels_len(m, depth)];
            // SAFETY: the caller vouches for `K`'s CPU features.
            unsafe { pack_a::<K>(a, k, 0..m, k0, depth, dst) };
        }
        run_tasks(Some(buf));
    });
}

/// A as the tasks see it: its rows, and their packed panels when [`run`] packed them once for
/// every task.
#[derive(Clone, Copy)]
struct AOperand<'a> {
    rows: &'a [f32],
    /// The panels of all rows `0..m`, k block after k block (only when every task multiplies
    /// them all).
    packed: Option<&'a [f32]>,
}

/// Checks the operands' shapes (panics on a mismatch: callers check user input first) and
/// returns C as shared by the tasks with what to do to its tiles, or `None` when C is empty.
pub(super) fn checked_c<'b>(
    a: &[f32],
    m: usize,
    (n, k): (usize, usize),
    bias: Option<&'b [f32]>,
    c: Dest<'_>,
) -> Option<(SharedC, Epilogue<'b>)> {
    let (ptr, len, accumulate, activation) = match c {
        Dest::Overwrite(c) => (c.as_mut_ptr().cast::<f32>(), c.len(), false, None),
        Dest::Activated(c, act) => (c.as_mut_ptr().cast::<f32>(), c.len(), false, Some(act)),
        Dest::Accumulate(c) => (c.as_mut_ptr(), c.len(), true, None),
    };
    assert_eq!(a.len(), m * k, "gemm: A is not m x k");
    assert_eq!(len, m * n, "gemm: C is not m x n");
    if let Some(bias) = bias {
        assert_eq!(bias.len(), n, "gemm: bias is not n long");
    }
    let epilogue = Epilogue {
        bias,
        accumulate,
        activation,
    };
    (m > 0 && n > 0).then_some((SharedC { ptr, ldc: n }, epilogue))
}

/// `C = bias` (or zeros), or `C += bias`, when k = 0.
///
/// # Safety
///
/// `c` points to `m × n` floats with `ldc = n`, not accessed by anyone else during the call,
/// initialized when `epilogue.accumulate`.
unsafe fn bias_only(c: SharedC, m: usize, n: usize, epilogue: Epilogue) {
    for i in 0..m * n {
        let add = epilogue.bias.map_or(0.0, |bias| bias[i % n]);
        // SAFETY: i < m · n (caller); read only when initialized (accumulate).
        unsafe {
            let dst = c.ptr.add(i);
            dst.write(if epilogue.accumulate { *dst + add } else { add });
        }
    }
}

/// Computes C's `rows × cols` (column panels) rectangle.
///
/// # Safety
///
/// The CPU supports `K`'s instructions; `shared` points to an `m × n` C with `ldc = n`, where
/// `rows` ⊂ `0..m` and `cols` ⊂ `0..b.panels()`, and no other thread touches the rectangle.
/// If `a.packed` is set, `rows` is `0..m` with `m ≤ MC`.
unsafe fn rectangle<K: Microkernel, E: PackedElem>(
    a: AOperand,
    b: &PackedWeight<E>,
    c: SharedC,
    rows: Range<usize>,
    cols: Range<usize>,
    epilogue: Epilogue,
    a_panels: &mut Vec<f32>,
) {
    let (n, k) = (b.n(), b.k());
    let blocks: Vec<(usize, usize)> = b.k_blocks().collect();
    for (kb, &(k0, depth)) in blocks.iter().enumerate() {
        let first = k0 == 0;
        let load_c = epilogue.accumulate || !first;
        let bias = if first { epilogue.bias } else { None };
        // Applied to each tile of the last k block, once the tile is final.
        let activation = epilogue.activation.filter(|_| kb + 1 == blocks.len());
        for block_start in rows.clone().step_by(MC) {
            let block = block_start..(block_start + MC).min(rows.end);
            let last_row_block = block.end == rows.end;
            let panels_len = a_panels_len(block.len(), depth);
            let a_panels: &[f32] = match a.packed {
                Some(packed) => &packed[a_panels_len(block.len(), k0)..][..panels_len],
                None => {
                    let dst = grown(a_panels, panels_len, 0.0);
                    // SAFETY: the caller vouches for `K`'s CPU features.
                    unsafe { pack_a::<K>(a.rows, k, block.clone(), k0, depth, dst) };
                    dst
                }
            };
            let tiles = a_panels.len() / (MR * depth);
            for panel in cols.clone() {
                let j0 = panel * NR;
                let width = NR.min(n - j0);
                let mut bias_tile = [0.0; NR];
                let bias_tile = bias.map(|bias| {
                    bias_tile[..width].copy_from_slice(&bias[j0..j0 + width]);
                    &bias_tile
                });
                let b_panel = b.panel(k0, depth, panel);
                // The panel this task multiplies next, in this loop's order.
                let next = if panel + 1 < cols.end {
                    Some(b.panel(k0, depth, panel + 1))
                } else if !last_row_block {
                    Some(b.panel(k0, depth, cols.start))
                } else {
                    blocks
                        .get(kb + 1)
                        .map(|&(k1, d1)| b.panel(k1, d1, cols.start))
                };
                let ahead_lines = next
                    .filter(|_| tiles <= PREFETCH_MAX_TILES)
                    .map_or(0, |p| std::mem::size_of_val(p).div_ceil(64));
                let per_tile = ahead_lines.div_ceil(tiles);
                for (q, a_panel) in a_panels.chunks_exact(MR * depth).enumerate() {
                    let i0 = block.start + q * MR;
                    let height = MR.min(block.end - i0);
                    let ahead = match next {
                        Some(next) if q * per_tile < ahead_lines => Prefetch {
                            start: next.as_ptr().cast::<u8>().wrapping_add(q * per_tile * 64),
                            lines: per_tile.min(ahead_lines - q * per_tile),
                        },
                        _ => Prefetch::NONE,
                    };
                    // SAFETY: the tile `i0.., j0..` of `height × width` lies in this task's
                    // rectangle of C (caller); the panels hold `depth · MR` and `depth · NR`
                    // floats; the caller vouches for the CPU.
                    unsafe {
                        let c_tile = c.ptr.add(i0 * c.ldc + j0);
                        let operands = (depth, a_panel.as_ptr(), b_panel.as_ptr());
                        if height == MR && width == NR {
                            let (d, ap, bp) = operands;
                            E::tile::<K>(d, ap, bp, c_tile, c.ldc, bias_tile, load_c, ahead);
                        } else {
                            edge_tile::<K, E>(
                                operands, c_tile, c.ldc, height, width, bias_tile, load_c,
                            );
                        }
                        if let Some(act) = activation {
                            // The tile is final and still in L1.
                            for r in 0..height {
                                let row = c_tile.add(r * c.ldc);
                                K::activate(std::slice::from_raw_parts_mut(row, width), act);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A tile cut by the bottom or right edge of C: computed in full into a local buffer (the
/// padding rows and columns of the packed panels are zeros) and copied out where it fits.
///
/// # Safety
///
/// As [`Microkernel::tile`], but C need only hold the `height × width` corner of the tile.
unsafe fn edge_tile<K: Microkernel, E: PackedElem>(
    (depth, a, b): (usize, *const f32, *const E),
    c: *mut f32,
    ldc: usize,
    height: usize,
    width: usize,
    bias: Option<&[f32; NR]>,
    load_c: bool,
) {
    let mut tile = [0.0_f32; MR * NR];
    // SAFETY: `tile` is a full MR × NR tile with row stride NR (the product is only added
    // to C below); the panels are the caller's.
    unsafe {
        E::tile::<K>(
            depth,
            a,
            b,
            tile.as_mut_ptr(),
            NR,
            bias,
            false,
            Prefetch::NONE,
        )
    };
    for (r, src) in tile.chunks_exact(NR).take(height).enumerate() {
        for (col, &value) in src[..width].iter().enumerate() {
            // SAFETY: element (r, col) with r < height, col < width is inside C and ours
            // (caller); it is read only when `load_c` says it is initialized.
            unsafe {
                let dst = c.add(r * ldc + col);
                dst.write(if load_c { *dst + value } else { value });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_c_with_disjoint_rectangles() {
        for &(m, n, threads) in &[
            (1000_usize, 1152_usize, 2_usize),
            (1, 384, 2),
            (7, 17, 2),
            (60, 1536, 8),
            (5, 384, 1),
            (1024, 16, 2),
        ] {
            let panels = n.div_ceil(NR);
            let grid = Grid::plan(m, n, 384, panels, threads);
            let mut hits = vec![0u8; m * panels];
            for t in 0..grid.tasks() {
                let (rows, cols) = grid.task(t, m, panels);
                assert!(!rows.is_empty() && !cols.is_empty(), "{grid:?} task {t}");
                assert!(rows.start % MR == 0 || rows.start == 0);
                for i in rows {
                    for p in cols.clone() {
                        hits[i * panels + p] += 1;
                    }
                }
            }
            assert!(hits.iter().all(|&h| h == 1), "{m}x{n}: {grid:?}");
        }
    }

    #[test]
    fn large_problems_use_every_thread_and_small_ones_none() {
        assert!(Grid::plan(1000, 1152, 384, 72, 2).tasks() >= 2);
        assert!(Grid::plan(1, 1536, 384, 96, 2).tasks() >= 2);
        assert_eq!(Grid::plan(4, 16, 16, 1, 2).tasks(), 1);
    }

    #[test]
    fn short_queries_give_each_thread_one_run_of_panels() {
        let grid = Grid::plan(30, 1536, 384, 96, 2);
        assert_eq!(grid.tasks(), 2);
        assert_eq!(grid.task(0, 30, 96), (0..30, 0..48));
        // Batches keep several tasks per thread (balance between cores).
        assert!(Grid::plan(1000, 1536, 384, 96, 2).tasks() >= 8);
    }
}
