//! An 8-bit copy of an index's rows (one scale per row, see `embedkit_kernels::int8`): graph
//! searches walk by it and the quantized scan streams it, reading a quarter of the `f32`
//! bytes; both rescore what they found with the `f32` rows. Kept in memory only: it is
//! rebuilt from the rows in a fraction of a second.
//!
//! Rows are quantized after subtracting the mean of the first rows added (the centre), so
//! the 256 levels span how rows differ rather than what they share: vectors far from the
//! origin (all near 1000, or all non-negative) keep their precision. Inner products come
//! out right because `q·x = q·c + q·(x − c)`, and `q·c` is computed once per query in f32.

use embedkit_kernels::int8;

/// Codes and scales of rows `0..len()`, in node order.
pub struct Quantized {
    dim: usize,
    /// Subtracted from every row before quantizing; set by the first rows added.
    centre: Vec<f32>,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// A query prepared for scoring against the codes.
pub struct QuantizedQuery {
    codes: Vec<i8>,
    scale: f32,
    /// `q·centre`.
    offset: f32,
}

impl Quantized {
    /// No rows yet, of width `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            centre: Vec::new(),
            codes: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// Appends `rows` (each `dim` wide, concatenated).
    pub fn push(&mut self, rows: &[f32]) {
        if self.dim == 0 || rows.len() < self.dim {
            return;
        }
        if self.centre.is_empty() {
            let n = (rows.len() / self.dim) as f64;
            let mut sum = vec![0.0_f64; self.dim];
            for row in rows.chunks_exact(self.dim) {
                sum.iter_mut().zip(row).for_each(|(s, v)| *s += *v as f64);
            }
            self.centre = sum.iter().map(|s| (s / n) as f32).collect();
        }
        let first = self.codes.len();
        self.codes.resize(first + rows.len(), 0);
        let mut shifted = vec![0.0_f32; self.dim];
        for (row, out) in rows
            .chunks_exact(self.dim)
            .zip(self.codes[first..].chunks_exact_mut(self.dim))
        {
            for ((s, v), c) in shifted.iter_mut().zip(row).zip(&self.centre) {
                *s = v - c;
            }
            self.scales.push(int8::quantize(&shifted, out));
        }
    }

    /// `q` prepared for [`Quantized::dot`].
    pub fn query(&self, q: &[f32]) -> QuantizedQuery {
        let mut codes = vec![0; self.dim];
        let scale = int8::quantize(q, &mut codes);
        let offset = embedkit_kernels::ops::dot(q, &self.centre);
        QuantizedQuery {
            codes,
            scale,
            offset,
        }
    }

    /// Row `i`'s codes.
    #[inline]
    pub fn row(&self, i: usize) -> &[i8] {
        &self.codes[i * self.dim..(i + 1) * self.dim]
    }

    /// Row `i`'s approximate inner product with the query.
    #[inline]
    pub fn dot(&self, q: &QuantizedQuery, i: usize) -> f32 {
        q.offset + q.scale * self.scales[i] * int8::dot(&q.codes, self.row(i)) as f32
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

    #[test]
    fn rows_far_from_the_origin_keep_their_precision() {
        // Every value near 1000, the rows differing by under 1: without the centre every
        // code would be 127 and all rows would score alike.
        let dim = 32;
        let rows: Vec<f32> = (0..dim * 50)
            .map(|i| 1000.0 + ((i * 7919 % 101) as f32 - 50.0) / 100.0)
            .collect();
        let mut codes = Quantized::new(dim);
        codes.push(&rows);
        let q: Vec<f32> = (0..dim)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
            .collect();
        let prepared = codes.query(&q);
        let exact: Vec<f32> = rows
            .chunks_exact(dim)
            .map(|r| r.iter().zip(&q).map(|(a, b)| a * b).sum())
            .collect();
        let best = |scores: &[f32]| {
            (0..scores.len())
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap()
        };
        let approx: Vec<f32> = (0..50).map(|i| codes.dot(&prepared, i)).collect();
        assert_eq!(best(&approx), best(&exact));
        for (a, e) in approx.iter().zip(&exact) {
            assert!((a - e).abs() < 0.05, "{a} vs {e}");
        }
        // A width of zero holds nothing and panics nowhere.
        let mut empty = Quantized::new(0);
        empty.push(&[]);
    }
}
