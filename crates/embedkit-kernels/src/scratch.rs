//! Buffers kept per thread between kernel calls.
//!
//! Why: a batch's intermediates run to megabytes, and a fresh allocation per call cost a
//! zero fill and page faults every time (attention's outputs, rounded or packed copies of A).
//! Each kernel keeps its own buffer in a `thread_local!` and takes it through
//! [`with_reused`].

use std::cell::RefCell;
use std::thread::LocalKey;

/// Runs `f` on this thread's buffer `key`, or on a fresh one while that buffer is in use
/// (only when a task re-enters the same kernel on its own thread): never blocks, never
/// panics.
pub(crate) fn with_reused<T: Default + 'static, R>(
    key: &'static LocalKey<RefCell<T>>,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut reused) => f(&mut reused),
        Err(_) => f(&mut T::default()),
    })
}

/// The first `len` elements of a reused buffer, grown with `fill` but never shrunk.
///
/// Why: products of different widths alternate (k = 384 and 1536 in every layer of MiniLM),
/// and a buffer resized down and up again had its whole new length filled on every call
/// (megabytes per product for a batch: 2% of a bf16 run). Callers write every element of the
/// slice they use before reading it.
pub(crate) fn grown<T: Clone>(buf: &mut Vec<T>, len: usize, fill: T) -> &mut [T] {
    if buf.len() < len {
        buf.resize(len, fill);
    }
    &mut buf[..len]
}

/// `buf` cleared and refilled with `len` zeros (for kernels that rely on zero padding).
pub(crate) fn zeroed(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buf.clear();
    buf.resize(len, 0.0);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn a_nested_use_gets_a_fresh_buffer_and_growth_keeps_old_values() {
        with_reused(&BUF, |outer| {
            grown(outer, 4, 7).copy_from_slice(&[1, 2, 3, 4]);
            with_reused(&BUF, |inner| assert!(inner.is_empty()));
            assert_eq!(grown(outer, 2, 0), &[1, 2]);
            assert_eq!(grown(outer, 6, 9), &[1, 2, 3, 4, 9, 9]);
        });
        with_reused(&BUF, |again| assert_eq!(again.len(), 6));
    }
}
