//! The few vector operations the applications share.

use crate::error::{invalid, Result};

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

pub(crate) fn unit(v: &[f32]) -> Vec<f32> {
    let mut u = v.to_vec();
    embedkit_core::vector::normalize(&mut u);
    u
}

/// Checks that `rows` form a non-empty matrix of finite numbers; returns its width.
pub(crate) fn check_matrix(rows: &[Vec<f32>], what: &str) -> Result<usize> {
    let Some(first) = rows.first() else {
        return Err(invalid(format!("{what}: no vectors")));
    };
    let dim = first.len();
    if dim == 0 {
        return Err(invalid(format!("{what}: vectors have no dimensions")));
    }
    for (i, r) in rows.iter().enumerate() {
        if r.len() != dim {
            return Err(invalid(format!(
                "{what}: vector {i} has {} dimensions, the first has {dim}",
                r.len()
            )));
        }
        if let Some(j) = r.iter().position(|x| !x.is_finite()) {
            return Err(invalid(format!(
                "{what}: vector {i} has a non-finite value ({}) at dimension {j}",
                r[j]
            )));
        }
    }
    Ok(dim)
}
