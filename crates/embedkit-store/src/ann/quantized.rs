//! An 8-bit copy of an index's rows (one scale per row, see `embedkit_kernels::int8`), for
//! the quantized scan: on vectors without neighbourhood structure a graph search has to
//! visit much of the collection anyway, and streaming every row's codes (a quarter of the
//! `f32` bytes) then rescoring the best few hundred with their `f32` rows is faster at the
//! same recall. Kept in memory only: it is rebuilt from the rows in milliseconds.

use embedkit_kernels::int8;

/// Codes and scales of rows `0..len()`, in node order.
pub struct Quantized {
    dim: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// A query prepared for scoring against the codes.
pub struct QuantizedQuery {
    codes: Vec<i8>,
    scale: f32,
}

impl Quantized {
    /// No rows yet, of width `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            codes: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// Appends `rows` (each `dim` wide, concatenated).
    pub fn push(&mut self, rows: &[f32]) {
        let first = self.codes.len();
        self.codes.resize(first + rows.len(), 0);
        for (row, out) in rows
            .chunks_exact(self.dim)
            .zip(self.codes[first..].chunks_exact_mut(self.dim))
        {
            self.scales.push(int8::quantize(row, out));
        }
    }

    /// `q` quantized the same way, for [`Quantized::dot`].
    pub fn query(&self, q: &[f32]) -> QuantizedQuery {
        let mut codes = vec![0; self.dim];
        let scale = int8::quantize(q, &mut codes);
        QuantizedQuery { codes, scale }
    }

    /// Row `i`'s codes.
    #[inline]
    pub fn row(&self, i: usize) -> &[i8] {
        &self.codes[i * self.dim..(i + 1) * self.dim]
    }

    /// Row `i`'s approximate inner product with the query.
    #[inline]
    pub fn dot(&self, q: &QuantizedQuery, i: usize) -> f32 {
        q.scale * self.scales[i] * int8::dot(&q.codes, self.row(i)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approximate_inner_products_are_within_the_quantization_error() {
        let dim = 64;
        let rows: Vec<f32> = (0..dim * 3)
            .map(|i| ((i * 7919 % 211) as f32 - 105.0) / 97.0)
            .collect();
        let mut codes = Quantized::new(dim);
        codes.push(&rows[..dim]);
        codes.push(&rows[dim..]);
        let q: Vec<f32> = (0..dim).map(|i| (i as f32 - 30.0) / 17.0).collect();
        let prepared = codes.query(&q);
        for (i, row) in rows.chunks_exact(dim).enumerate() {
            let exact: f32 = row.iter().zip(&q).map(|(a, b)| a * b).sum();
            // Half a step per code, on each side.
            let max_row = row.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
            let max_q = q.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
            let bound = (max_row / 254.0) * q.iter().map(|v| v.abs()).sum::<f32>()
                + (max_q / 254.0) * row.iter().map(|v| v.abs()).sum::<f32>()
                + dim as f32 * (max_row / 254.0) * (max_q / 254.0);
            let got = codes.dot(&prepared, i);
            assert!((got - exact).abs() <= bound, "row {i}: {got} vs {exact}");
        }
    }
}
