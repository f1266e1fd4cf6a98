//! Row vectors into one NumPy matrix: the rows are copied once, with the GIL released, into a
//! contiguous buffer that NumPy then owns (no second copy, no Python objects per value).

use numpy::ndarray::Array2;
use numpy::PyArray2;
use pyo3::prelude::*;

/// `rows` (each at least `width` long) as an `n × width` matrix of their first `width`
/// values, each row L2-normalized afterwards when `normalize` is set: sentence-transformers'
/// order for `truncate_dim` and `normalize_embeddings` (truncate, then normalize).
pub fn flatten(rows: Vec<Vec<f32>>, width: usize, normalize: bool) -> Array2<f32> {
    let n = rows.len();
    let mut flat = Vec::with_capacity(n * width);
    for row in rows {
        let start = flat.len();
        flat.extend_from_slice(&row[..width]);
        if normalize {
            embedkit_core::vector::normalize(&mut flat[start..]);
        }
    }
    Array2::from_shape_vec((n, width), flat).expect("n rows of width values")
}

/// An `n × width` row-major buffer as a matrix.
pub fn from_flat(flat: Vec<f32>, n: usize, width: usize) -> Array2<f32> {
    Array2::from_shape_vec((n, width), flat).expect("n rows of width values")
}

/// Hands a matrix to NumPy without copying it.
pub fn to_numpy(py: Python<'_>, m: Array2<f32>) -> Bound<'_, PyArray2<f32>> {
    PyArray2::from_owned_array(py, m)
}
