//! PyTorch's one-layer bidirectional `nn.LSTM`, followed by InferSent's max pooling over
//! time.
//!
//! Per direction, PyTorch keeps `weight_ih` (`[4H, E]`), `weight_hh` (`[4H, H]`) and two biases
//! (`[4H]`), the gates stacked in the order i, f, g, o. With `x` the input, `h` and `c` the
//! previous states (zero at the start):
//!
//! ```text
//! z  = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh
//! i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g)
//! c' = f·c + i·g;  h' = o·tanh(c')
//! ```
//!
//! The backward direction reads each sentence from its last word to its first. The input
//! products of every word of a batch are one matrix product per direction (both biases folded
//! into it); the recurrence then multiplies the states of the sentences still running by
//! `W_hhᵀ`, one product per time step.

use embedkit_kernels::linear::Linear;

/// One direction's weights: the input projection (with `b_ih + b_hh`) and the recurrent one.
#[derive(Debug)]
struct Direction {
    input: Linear,
    recurrent: Linear,
}

/// The weights of one direction as the checkpoint stores them.
#[derive(Debug)]
pub struct DirectionWeights {
    /// `weight_ih_l0`: `[4H, E]`, row-major.
    pub weight_ih: Vec<f32>,
    /// `weight_hh_l0`: `[4H, H]`, row-major.
    pub weight_hh: Vec<f32>,
    /// `bias_ih_l0`: `[4H]`.
    pub bias_ih: Vec<f32>,
    /// `bias_hh_l0`: `[4H]`.
    pub bias_hh: Vec<f32>,
}

/// A bidirectional single-layer LSTM whose outputs are max-pooled over time.
#[derive(Debug)]
pub struct BiLstmMax {
    forward: Direction,
    backward: Direction,
    input_dim: usize,
    hidden: usize,
}

impl BiLstmMax {
    /// Builds the layer from both directions' weights, checking every shape against
    /// `input_dim` (E) and `hidden` (H).
    pub fn new(
        forward: DirectionWeights,
        backward: DirectionWeights,
        input_dim: usize,
        hidden: usize,
    ) -> Result<Self, String> {
        Ok(Self {
            forward: Direction::new(forward, input_dim, hidden)?,
            backward: Direction::new(backward, input_dim, hidden)?,
            input_dim,
            hidden,
        })
    }

    /// Width of the word vectors read (E).
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Width of each direction's state (H); sentence vectors have 2·H values.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The sentence vectors of a batch: `x` holds every sentence's word vectors one after the
    /// other (`Σ lengths` rows of E values), `lengths` the words of each sentence (at least
    /// one). Each vector is `[max_t h_fwd(t), max_t h_bwd(t)]`.
    ///
    /// Each sentence runs as if alone: no padding enters its maximum (see the module
    /// documentation of `infersent` for why).
    pub fn max_pooled(&self, x: &[f32], lengths: &[usize]) -> Vec<Vec<f32>> {
        let h = self.hidden;
        let rows: usize = lengths.iter().sum();
        debug_assert_eq!(x.len(), rows * self.input_dim);
        let mut out = vec![vec![f32::NEG_INFINITY; 2 * h]; lengths.len()];
        for (d, dir) in [&self.forward, &self.backward].into_iter().enumerate() {
            let projected = dir.input.forward(x, rows);
            dir.run(&projected, lengths, d == 1, |s, state| {
                for (m, &v) in out[s][d * h..(d + 1) * h].iter_mut().zip(state) {
                    *m = m.max(v);
                }
            });
        }
        out
    }
}

impl Direction {
    fn new(w: DirectionWeights, e: usize, h: usize) -> Result<Self, String> {
        let gates = 4 * h;
        for (name, got, want) in [
            ("bias_ih", w.bias_ih.len(), gates),
            ("bias_hh", w.bias_hh.len(), gates),
        ] {
            if got != want {
                return Err(format!("{name} has {got} values, expected {want}"));
            }
        }
        let bias = w
            .bias_ih
            .iter()
            .zip(&w.bias_hh)
            .map(|(a, b)| a + b)
            .collect();
        let shape = |name: &str, e: embedkit_kernels::linear::ShapeError| {
            format!("{name}: expected {}, found {}", e.expected, e.found)
        };
        Ok(Self {
            input: Linear::new(w.weight_ih, Some(bias), gates, e)
                .map_err(|e| shape("weight_ih", e))?,
            recurrent: Linear::new(w.weight_hh, None, gates, h)
                .map_err(|e| shape("weight_hh", e))?,
        })
    }

    /// Runs the recurrence over every sentence of the batch (`projected`: the input products
    /// of all rows, `4H` values each), calling `emit(sentence, h)` with each new state.
    fn run(
        &self,
        projected: &[f32],
        lengths: &[usize],
        reverse: bool,
        mut emit: impl FnMut(usize, &[f32]),
    ) {
        let h = self.recurrent.in_features();
        let gates = 4 * h;
        let starts: Vec<usize> = lengths
            .iter()
            .scan(0, |acc, &n| {
                let s = *acc;
                *acc += n;
                Some(s)
            })
            .collect();
        let mut hidden = vec![0.0f32; lengths.len() * h];
        let mut cell = vec![0.0f32; lengths.len() * h];
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let mut active_h = Vec::new();
        let mut z = Vec::new();
        for t in 0..longest {
            let active: Vec<usize> = (0..lengths.len()).filter(|&s| lengths[s] > t).collect();
            active_h.clear();
            for &s in &active {
                active_h.extend_from_slice(&hidden[s * h..(s + 1) * h]);
            }
            self.recurrent.forward_into(&active_h, active.len(), &mut z);
            for (k, &s) in active.iter().enumerate() {
                let pos = if reverse { lengths[s] - 1 - t } else { t };
                let row = starts[s] + pos;
                let z = &mut z[k * gates..(k + 1) * gates];
                for (a, &b) in z.iter_mut().zip(&projected[row * gates..(row + 1) * gates]) {
                    *a += b;
                }
                let (hs, cs) = (
                    &mut hidden[s * h..(s + 1) * h],
                    &mut cell[s * h..(s + 1) * h],
                );
                for j in 0..h {
                    let i = sigmoid(z[j]);
                    let f = sigmoid(z[h + j]);
                    let g = z[2 * h + j].tanh();
                    let o = sigmoid(z[3 * h + j]);
                    cs[j] = f * cs[j] + i * g;
                    hs[j] = o * cs[j].tanh();
                }
                emit(s, hs);
            }
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step by hand: E = 1, H = 1, every weight known, so the gates are plain numbers.
    #[test]
    fn one_step_matches_the_equations() {
        let weights = || DirectionWeights {
            weight_ih: vec![0.5, -1.0, 2.0, 0.25],
            weight_hh: vec![0.1, 0.2, 0.3, 0.4],
            bias_ih: vec![0.0, 0.1, 0.0, -0.1],
            bias_hh: vec![0.1, 0.0, -0.2, 0.0],
        };
        let lstm = BiLstmMax::new(weights(), weights(), 1, 1).unwrap();
        let x = 0.8f32;
        let s = |v: f32| 1.0 / (1.0 + (-v).exp());
        let (i, f, g, o) = (
            s(0.5 * x + 0.1),
            s(-x + 0.1),
            (2.0 * x - 0.2).tanh(),
            s(0.25 * x - 0.1),
        );
        let c = i * g + f * 0.0;
        let h = o * c.tanh();
        let out = lstm.max_pooled(&[x], &[1]);
        assert!((out[0][0] - h).abs() < 1e-6, "{} vs {h}", out[0][0]);
        assert!((out[0][1] - h).abs() < 1e-6);
    }
}
