//! The small vector kernels of the trainers (embedkit-kernels' SIMD ones), and the original's
//! sigmoid table.

/// `a · b` (AVX2 + FMA where the CPU has them, chosen at run time).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    embedkit_kernels::ops::dot(a, b)
}

/// `y += alpha * x` (AVX2 + FMA where the CPU has them).
#[inline]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    embedkit_kernels::ops::axpy(alpha, x, y)
}

pub(crate) const MAX_EXP: f32 = 6.0;
const TABLE_SIZE: usize = 1000;

/// word2vec's precomputed sigmoid on `[-MAX_EXP, MAX_EXP]`.
pub(crate) struct Sigmoid([f32; TABLE_SIZE]);

impl Sigmoid {
    pub(crate) fn new() -> Self {
        let mut t = [0.0; TABLE_SIZE];
        for (i, v) in t.iter_mut().enumerate() {
            let x = ((i as f32 / TABLE_SIZE as f32) * 2.0 - 1.0) * MAX_EXP;
            *v = 1.0 / (1.0 + (-x).exp());
        }
        Self(t)
    }

    /// Sigmoid of `x`, for `-MAX_EXP < x < MAX_EXP`.
    #[inline]
    pub(crate) fn get(&self, x: f32) -> f32 {
        let i = ((x + MAX_EXP) * (TABLE_SIZE as f32 / MAX_EXP / 2.0)) as usize;
        self.0[i.min(TABLE_SIZE - 1)]
    }

    /// The gradient factor `(label - sigmoid(x))`, saturated outside the table as the
    /// original does.
    #[inline]
    pub(crate) fn gradient(&self, x: f32, label: f32) -> f32 {
        if x > MAX_EXP {
            label - 1.0
        } else if x < -MAX_EXP {
            label
        } else {
            label - self.get(x)
        }
    }
}

/// The original's linear congruential generator (`next = next * 25214903917 + 11`): cheap,
/// and with a fixed seed and one thread it makes a run reproducible.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    #[inline]
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(25_214_903_917).wrapping_add(11);
        self.0
    }

    /// Uniform in [0, 1) from 16 bits, as the original's `(next & 0xFFFF) / 65536`.
    #[inline]
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next() & 0xFFFF) as f32 / 65536.0
    }
}
