//! Lock-free shared parameter matrices for Hogwild training (Recht et al. 2011), as the
//! original word2vec, GloVe and fastText do: every thread reads and writes rows without
//! locks, and an occasional lost update between threads is accepted because updates are
//! sparse and tiny. This is the only module of the crate with `unsafe`.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;

/// A row-major `rows × dim` f32 matrix shared by the training threads.
pub(crate) struct SharedMatrix {
    data: Box<[UnsafeCell<f32>]>,
    dim: usize,
}

// SAFETY: concurrent unsynchronized access from several threads is the intended Hogwild
// race: rows are plain f32 (no invariant can be broken by a torn or lost update), the
// buffer is never reallocated while shared, and a value read during a concurrent write is
// only ever used as a training input. Each thread keeps at most one live slice per row.
unsafe impl Sync for SharedMatrix {}

impl SharedMatrix {
    pub(crate) fn new(data: Vec<f32>, dim: usize) -> Self {
        Self {
            data: data.into_iter().map(UnsafeCell::new).collect(),
            dim,
        }
    }

    /// Row `i`, writable by the calling thread while other threads may use it too.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub(crate) fn row(&self, i: usize) -> &mut [f32] {
        let cells = &self.data[i * self.dim..(i + 1) * self.dim];
        // SAFETY: `cells` is in bounds (checked by the slice above) and `UnsafeCell<f32>`
        // has the layout of `f32`. Aliasing with other threads is the Hogwild race
        // documented on the `Sync` impl; callers never hold two slices of one row.
        unsafe { std::slice::from_raw_parts_mut(UnsafeCell::raw_get(cells.as_ptr()), self.dim) }
    }

    pub(crate) fn into_inner(self) -> Vec<f32> {
        self.data
            .into_vec()
            .into_iter()
            .map(UnsafeCell::into_inner)
            .collect()
    }
}
