//! [`SharedRows`]: an `f32` matrix that several threads read and update at once without locks
//! (Hogwild), for the word-vector trainers.
//!
//! ```
//! use embedkit_kernels::shared::SharedRows;
//! let m = SharedRows::new(vec![1.0, 2.0, 3.0, 4.0], 2);
//! std::thread::scope(|s| {
//!     s.spawn(|| m.row(0).add(1.0, &[10.0, 10.0]));
//!     s.spawn(|| m.row(1).add(2.0, &[1.0, 1.0]));
//! });
//! assert_eq!(m.into_vec(), [11.0, 12.0, 5.0, 6.0]);
//! ```

use std::cell::UnsafeCell;
use std::marker::PhantomData;

use crate::isa::{self, Isa};
use crate::math::{self, MulAdd};

/// A row-major `rows × dim` `f32` matrix that training threads share and update without any
/// synchronization: Hogwild (Recht et al. 2011), as word2vec.c, GloVe's glove.c, fastText
/// and gensim train. Updates are sparse (a few rows of a large matrix per step) and tiny, so
/// two threads rarely touch one row at once, and when they do, a read that sees half of
/// another thread's update or a write that overwrites one is just a little noise in SGD.
/// Torn and lost updates are accepted: they are the algorithm, not a bug. With one thread
/// every operation happens in program order and a run is reproducible bit for bit.
///
/// # Why no references
///
/// The matrix never hands out `&[f32]` or `&mut [f32]` to its elements while it is shared:
/// a `&mut` row in one thread while another thread holds a reference to the same row is
/// undefined behaviour in Rust (the compiler may assume a `&mut` is unique and a `&` is
/// immutable, and reorder or cache accesses accordingly), even on hardware where the racing
/// loads and stores themselves are harmless. Instead [`SharedRows::row`] gives a [`Row`], a
/// raw pointer to the row's first element, and every operation on it ([`Row::dot`],
/// [`Row::dot_row`], [`Row::add`], [`Row::add_to`], [`Row::step`], [`Row::read_into`],
/// [`Row::write`], [`Row::get`], [`Row::set`], [`update_elements`]) reads
/// and writes the elements through raw pointers (`ptr::read` / `ptr::write` inside loops the
/// compiler vectorizes, compiled for AVX2 and AVX-512 like [`crate::ops`]). The storage is
/// `UnsafeCell<f32>`, so writing through a pointer obtained from `&self` is allowed.
///
/// The racing element accesses are plain (non-atomic) loads and stores, as in the C
/// originals: relaxed `AtomicU32` loads and stores would make them data-race free in the
/// abstract memory model too, but the compiler vectorizes no atomic access and word2vec
/// skip-gram ran 3× slower per CPU-second that way. On x86-64 and AArch64 an aligned `f32`
/// load or store is a single access, so a racing reader sees either the old or the new
/// value of each element.
///
/// Rows are only reachable while the matrix is borrowed; [`SharedRows::into_vec`] takes it
/// by value once every thread is done, so the trained values are read back without a copy.
pub struct SharedRows {
    data: Box<[UnsafeCell<f32>]>,
    dim: usize,
}

// SAFETY: shared access from several threads only goes through `Row`, whose operations
// read and write elements through raw pointers (never references), inside the buffer,
// which is neither moved nor freed while it is borrowed. The only effect of two threads
// racing on one element is the Hogwild noise documented above: an `f32` has no invalid bit
// pattern and no invariant ties elements together.
unsafe impl Sync for SharedRows {}

impl SharedRows {
    /// Takes a row-major matrix of `dim`-wide rows (without copying it).
    ///
    /// # Panics
    ///
    /// If `dim` is 0 or does not divide `data.len()`.
    pub fn new(data: Vec<f32>, dim: usize) -> Self {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "{} values are not rows of {dim}",
            data.len()
        );
        let data: Box<[f32]> = data.into_boxed_slice();
        // SAFETY: `UnsafeCell<f32>` is `repr(transparent)` over `f32`: same size, alignment
        // and layout, so the allocation is a valid `[UnsafeCell<f32>]` of the same length
        // and is freed with the same layout.
        let data = unsafe { Box::from_raw(Box::into_raw(data) as *mut [UnsafeCell<f32>]) };
        Self { data, dim }
    }

    /// Row width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Row `i`, which the calling thread may read and update while others do too.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Self::rows`].
    #[inline]
    pub fn row(&self, i: usize) -> Row<'_> {
        let cells = &self.data[i * self.dim..(i + 1) * self.dim];
        Row {
            // `raw_get` turns the cell pointer into an element pointer without creating a
            // reference to the element; the slice of cells above is a reference to
            // `UnsafeCell`s, which asserts nothing about their contents.
            ptr: UnsafeCell::raw_get(cells.as_ptr()),
            len: self.dim,
            _matrix: PhantomData,
        }
    }

    /// The matrix, row-major, once no thread uses it any more.
    pub fn into_vec(self) -> Vec<f32> {
        // SAFETY: the reverse of the cast in `new` (same layout); `self` is owned, so no
        // `Row` points into the buffer any more.
        unsafe { Box::from_raw(Box::into_raw(self.data) as *mut [f32]) }.into_vec()
    }
}

impl std::fmt::Debug for SharedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRows")
            .field("rows", &self.rows())
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

/// One row of a [`SharedRows`]: a raw pointer and a length, valid while the matrix is
/// borrowed. Its operations take and fill ordinary slices, which must be the row's length
/// (they panic otherwise); the row's own elements are only accessed through the pointer.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    ptr: *mut f32,
    len: usize,
    _matrix: PhantomData<&'a SharedRows>,
}

impl std::fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Row").field("len", &self.len).finish()
    }
}

/// Calls `raw::$f` compiled for the process's instruction set (see [`crate::ops`]).
macro_rules! dispatch_raw {
    ($f:ident($($arg:expr),*)) => {
        match isa::current() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx512` is only chosen after runtime detection of its features; the
            // pointer contract is the caller's.
            Isa::Avx512 => unsafe { avx512::$f($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2Fma` is only chosen after runtime detection of avx2 and fma; the
            // pointer contract is the caller's.
            Isa::Avx2Fma => unsafe { avx2::$f($($arg),*) },
            // SAFETY: the pointer contract is the caller's.
            _ => unsafe { raw::$f::<math::Separate>($($arg),*) },
        }
    };
}

impl Row<'_> {
    /// Row width.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the row has no elements (never: a [`SharedRows`] has `dim > 0`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn check(&self, other: usize) {
        assert_eq!(other, self.len, "slice length differs from the row's");
    }

    /// `Σ row[i]·x[i]`, summed as [`crate::ops::dot`] does (same result bit for bit).
    #[inline]
    pub fn dot(&self, x: &[f32]) -> f32 {
        self.check(x.len());
        // SAFETY: `self.ptr` is valid for `len` elements (see `SharedRows::row`) and only
        // accessed through raw pointers; `x` has `len` elements and, being a reference, is
        // not part of a `SharedRows`.
        dispatch_raw!(dot(self.ptr, x.as_ptr(), self.len))
    }

    /// `Σ row[i]·other[i]`, summed as [`crate::ops::dot`] does; `other` may be a row of the
    /// same or another matrix.
    #[inline]
    pub fn dot_row(&self, other: &Row<'_>) -> f32 {
        self.check(other.len);
        // SAFETY: both pointers are valid for `len` elements and are only read.
        dispatch_raw!(dot(self.ptr, other.ptr, self.len))
    }

    /// `row += alpha · x`, as [`crate::ops::axpy`] (same result bit for bit).
    #[inline]
    pub fn add(&self, alpha: f32, x: &[f32]) {
        self.check(x.len());
        // SAFETY: as in `dot`.
        dispatch_raw!(axpy_into(alpha, x, self.ptr))
    }

    /// `y += alpha · row`, as [`crate::ops::axpy`] (same result bit for bit).
    #[inline]
    pub fn add_to(&self, alpha: f32, y: &mut [f32]) {
        self.check(y.len());
        // SAFETY: as in `dot`.
        dispatch_raw!(axpy_from(alpha, self.ptr, y))
    }

    /// The output-layer step of the word2vec and fastText trainers in one pass:
    /// `grad += g · row`, then `row += g · hidden` (with the row's value from before the
    /// step, exactly as the two [`crate::ops::axpy`] calls in that order).
    #[inline]
    pub fn step(&self, g: f32, hidden: &[f32], grad: &mut [f32]) {
        self.check(hidden.len());
        self.check(grad.len());
        // SAFETY: as in `dot`; `grad` is a `&mut`, so it does not overlap `hidden`.
        dispatch_raw!(step(g, self.ptr, hidden, grad))
    }

    /// Copies the row into `out`.
    #[inline]
    pub fn read_into(&self, out: &mut [f32]) {
        self.check(out.len());
        // SAFETY: `self.ptr` is valid for `len` reads, `out` for `len` writes, and they do
        // not overlap (`out` is a reference, the row is never behind one). An element read
        // while another thread writes it is the Hogwild race of `SharedRows`.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr, out.as_mut_ptr(), self.len) }
    }

    /// The row as a new vector.
    pub fn to_vec(&self) -> Vec<f32> {
        let mut v = vec![0.0; self.len];
        self.read_into(&mut v);
        v
    }

    /// Overwrites the row with `values`.
    #[inline]
    pub fn write(&self, values: &[f32]) {
        self.check(values.len());
        // SAFETY: as in `read_into`, in the other direction.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), self.ptr, self.len) }
    }

    /// Element `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Self::len`].
    #[inline]
    pub fn get(&self, i: usize) -> f32 {
        assert!(i < self.len, "element {i} of a row of {}", self.len);
        // SAFETY: in bounds; a raw read (see `SharedRows`).
        unsafe { self.ptr.add(i).read() }
    }

    /// Sets element `i` to `value`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Self::len`].
    #[inline]
    pub fn set(&self, i: usize, value: f32) {
        assert!(i < self.len, "element {i} of a row of {}", self.len);
        // SAFETY: in bounds; a raw write (see `SharedRows`).
        unsafe { self.ptr.add(i).write(value) }
    }

    /// Elements `range` of the row, as a row of their own.
    ///
    /// # Panics
    ///
    /// If `range` is not within the row.
    #[inline]
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "elements {range:?} of a row of {}",
            self.len
        );
        Row {
            // SAFETY: `range.start <= len`: in the row, or one past its end.
            ptr: unsafe { self.ptr.add(range.start) },
            len: range.end - range.start,
            _matrix: PhantomData,
        }
    }

    /// Asks the CPU to start loading the row into cache (see [`crate::ops::prefetch`]).
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        for offset in (0..self.len * std::mem::size_of::<f32>()).step_by(64) {
            // SAFETY: PREFETCHT0 is baseline x86-64 and only a hint (it neither faults nor
            // writes); the address is inside the row.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    self.ptr.cast::<i8>().add(offset),
                )
            };
        }
    }
}

/// Replaces element `i` of every row by `f` of the rows' elements `i`, for each `i` in turn
/// (`f` gets the `N` old values, returns the `N` new ones): an element-wise update of several
/// rows at once, such as GloVe's AdaGrad step on its four rows. Each element is read and
/// written through raw pointers; `f` is inlined into the loop, which the compiler vectorizes
/// where it can. Rows may belong to one matrix or several; with one thread the result is that
/// of the same loop over slices.
///
/// # Panics
///
/// If the rows' lengths differ.
#[inline]
pub fn update_elements<const N: usize>(
    rows: [Row<'_>; N],
    mut f: impl FnMut([f32; N]) -> [f32; N],
) {
    let len = rows.first().map_or(0, |r| r.len);
    assert!(
        rows.iter().all(|r| r.len == len),
        "rows of different lengths"
    );
    let ptrs = rows.map(|r| r.ptr);
    for i in 0..len {
        // SAFETY: `i < len`, and every row pointer is valid for `len` elements; the elements
        // are only accessed through raw pointers (see `SharedRows`).
        let old = ptrs.map(|p| unsafe { p.add(i).read() });
        let new = f(old);
        for (p, v) in ptrs.iter().zip(new) {
            // SAFETY: as above.
            unsafe { p.add(i).write(v) }
        }
    }
}

/// The row operations on a raw row pointer and ordinary slices, generic over how
/// `a * b + c` is evaluated and compiled once per instruction set below. Each performs the
/// same arithmetic in the same order as its slice counterpart in `ops::body`.
///
/// # Safety (every function)
///
/// `row` is valid for reads and writes of as many elements as the slices have (the callers
/// check the lengths); other threads may access the row at the same time (the Hogwild race
/// of [`super::SharedRows`]). The slices, being references, are not part of a `SharedRows`.
mod raw {
    use super::MulAdd;

    /// `Σ a[i]·b[i]` over `n` elements (`b` may be a slice's pointer: both are only read).
    #[inline(always)]
    pub unsafe fn dot<M: MulAdd>(a: *const f32, b: *const f32, n: usize) -> f32 {
        let mut acc = [0.0_f32; 16];
        let full = n - n % 16;
        let mut i = 0;
        while i < full {
            for (l, acc) in acc.iter_mut().enumerate() {
                // SAFETY: i + l < full <= n.
                let (x, y) = unsafe { (a.add(i + l).read(), b.add(i + l).read()) };
                *acc = M::mul_add(x, y, *acc);
            }
            i += 16;
        }
        let mut s = acc.iter().sum::<f32>();
        for j in full..n {
            // SAFETY: j < n.
            let (x, y) = unsafe { (a.add(j).read(), b.add(j).read()) };
            s = M::mul_add(x, y, s);
        }
        s
    }

    /// `row += alpha · x`.
    #[inline(always)]
    pub unsafe fn axpy_into<M: MulAdd>(alpha: f32, x: &[f32], row: *mut f32) {
        for (i, v) in x.iter().enumerate() {
            // SAFETY: i < n.
            unsafe {
                let r = row.add(i);
                r.write(M::mul_add(alpha, *v, r.read()));
            }
        }
    }

    /// `y += alpha · row`.
    #[inline(always)]
    pub unsafe fn axpy_from<M: MulAdd>(alpha: f32, row: *const f32, y: &mut [f32]) {
        for (i, v) in y.iter_mut().enumerate() {
            // SAFETY: i < n.
            let r = unsafe { row.add(i).read() };
            *v = M::mul_add(alpha, r, *v);
        }
    }

    /// `grad += g · row; row += g · hidden`, element by element.
    #[inline(always)]
    pub unsafe fn step<M: MulAdd>(g: f32, row: *mut f32, hidden: &[f32], grad: &mut [f32]) {
        let n = grad.len().min(hidden.len());
        let (hidden, grad) = (&hidden[..n], &mut grad[..n]);
        for (i, (d, h)) in grad.iter_mut().zip(hidden).enumerate() {
            // SAFETY: i < n.
            unsafe {
                let r = row.add(i);
                let old = r.read();
                *d = M::mul_add(g, old, *d);
                r.write(M::mul_add(g, *h, old));
            }
        }
    }
}

/// Declares a module of the `raw` bodies compiled with the target features `$features`.
macro_rules! compiled_raw {
    ($name:ident, $features:literal, $doc:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            #![doc = $doc]
            use super::raw;
            use crate::math::Fused;

            // SAFETY (all functions): callers reach these only after `isa::current()`
            // confirmed the features at run time, and keep `raw`'s pointer contract.
            #[target_feature(enable = $features)]
            pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
                unsafe { raw::dot::<Fused>(a, b, n) }
            }
            #[target_feature(enable = $features)]
            pub unsafe fn axpy_into(alpha: f32, x: &[f32], row: *mut f32) {
                unsafe { raw::axpy_into::<Fused>(alpha, x, row) }
            }
            #[target_feature(enable = $features)]
            pub unsafe fn axpy_from(alpha: f32, row: *const f32, y: &mut [f32]) {
                unsafe { raw::axpy_from::<Fused>(alpha, row, y) }
            }
            #[target_feature(enable = $features)]
            pub unsafe fn step(g: f32, row: *mut f32, hidden: &[f32], grad: &mut [f32]) {
                unsafe { raw::step::<Fused>(g, row, hidden, grad) }
            }
        }
    };
}

compiled_raw!(
    avx2,
    "avx2,fma",
    "The row operations compiled with AVX2 + FMA enabled."
);
compiled_raw!(
    avx512,
    "avx512f,avx512bw,avx512vl,avx2,fma",
    "The row operations compiled with AVX-512 enabled (16-float vectors)."
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 * 0.37 + seed).sin() * 0.5)
            .collect()
    }

    /// Every operation equals its slice kernel bit for bit (lengths around the 16-wide
    /// blocks), on whatever instruction set this process runs.
    #[test]
    fn operations_match_the_slice_kernels_exactly() {
        for dim in [1, 7, 16, 17, 100, 300] {
            let init = values(3 * dim, 1.0);
            let x = values(dim, 2.0);
            let m = SharedRows::new(init.clone(), dim);
            let row = m.row(1);
            let want_row = init[dim..2 * dim].to_vec();
            assert_eq!(row.to_vec(), want_row);
            assert_eq!(row.dot(&x).to_bits(), ops::dot(&want_row, &x).to_bits());

            let mut y = values(dim, 3.0);
            let mut want_y = y.clone();
            row.add_to(0.25, &mut y);
            ops::axpy(0.25, &want_row, &mut want_y);
            assert_eq!(y, want_y);

            let mut grad = values(dim, 4.0);
            let (mut want_grad, mut want) = (grad.clone(), want_row.clone());
            row.step(-0.125, &x, &mut grad);
            ops::axpy(-0.125, &want, &mut want_grad);
            ops::axpy(-0.125, &x, &mut want);
            assert_eq!(grad, want_grad);
            assert_eq!(row.to_vec(), want);

            row.add(1.5, &x);
            ops::axpy(1.5, &x, &mut want);
            assert_eq!(row.to_vec(), want);

            let other = m.row(0);
            assert_eq!(
                row.dot_row(&other).to_bits(),
                ops::dot(&want, &init[..dim]).to_bits()
            );
            let half = dim / 2;
            assert_eq!(row.slice(half..dim).to_vec(), want[half..]);

            m.row(2).write(&x);
            assert_eq!(m.row(2).get(dim - 1), x[dim - 1]);
            let mut back = init.clone();
            back[dim..2 * dim].copy_from_slice(&want);
            back[2 * dim..].copy_from_slice(&x);
            assert_eq!(m.into_vec(), back);
        }
    }

    /// Threads adding into shared rows at once: with disjoint rows nothing is lost.
    #[test]
    fn threads_update_disjoint_rows() {
        let m = SharedRows::new(vec![0.0; 8 * 33], 33);
        std::thread::scope(|s| {
            for t in 0..4 {
                let m = &m;
                s.spawn(move || {
                    for _ in 0..100 {
                        m.row(2 * t).add(1.0, &[1.0; 33]);
                        m.row(2 * t + 1).add(2.0, &[1.0; 33]);
                    }
                });
            }
        });
        let v = m.into_vec();
        for (r, row) in v.chunks(33).enumerate() {
            let want = if r % 2 == 0 { 100.0 } else { 200.0 };
            assert!(row.iter().all(|&x| x == want), "row {r}");
        }
    }

    /// `update_elements` sees each element's old values and writes the new ones to every row.
    #[test]
    fn update_elements_runs_the_function_on_every_element() {
        let a = SharedRows::new((0..10).map(|i| i as f32).collect(), 5);
        let b = SharedRows::new(vec![1.0; 10], 5);
        update_elements([a.row(1).slice(1..4), b.row(0).slice(2..5)], |[x, y]| {
            [x + y, x * 10.0]
        });
        a.row(0).set(4, -1.0);
        assert_eq!(
            a.into_vec(),
            [0.0, 1.0, 2.0, 3.0, -1.0, 5.0, 7.0, 8.0, 9.0, 9.0]
        );
        assert_eq!(
            b.into_vec(),
            [1.0, 1.0, 60.0, 70.0, 80.0, 1.0, 1.0, 1.0, 1.0, 1.0]
        );
    }

    #[test]
    #[should_panic(expected = "slice length")]
    fn a_slice_of_another_length_panics() {
        SharedRows::new(vec![0.0; 4], 2).row(0).dot(&[1.0]);
    }
}
