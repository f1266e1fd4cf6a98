//! Limited-memory BFGS for smooth convex objectives (logistic regression's).
//!
//! Own code: the objective is small and fixed, the solver is ~80 lines, and a crate (argmin,
//! linfa) would bring ndarray and a generic framework for one call.

/// Objective and gradient at `x` (writes the gradient, returns the value).
pub(crate) trait Objective {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64;
}

pub(crate) struct Options {
    pub max_iter: usize,
    /// Stop when the largest gradient component is below this.
    pub gradient_tol: f64,
    /// History pairs kept.
    pub memory: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_iter: 1000,
            gradient_tol: 1e-7,
            memory: 10,
        }
    }
}

pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

pub(crate) fn minimize(f: &impl Objective, mut x: Vec<f64>, opts: &Options) -> Minimum {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut fx = f.eval(&x, &mut g);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    let (mut x_new, mut g_new) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..opts.max_iter {
        if max_abs(&g) <= opts.gradient_tol {
            return Minimum { x, converged: true };
        }
        // Two-loop recursion: d = -H g.
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &d);
            d.iter_mut().zip(y).for_each(|(di, yi)| *di -= a * yi);
            alphas.push(a);
        }
        let gamma = history
            .back()
            .map_or(1.0 / max_abs(&g).max(1.0), |(s, y, _)| {
                dot(s, y) / dot(y, y)
            });
        d.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &d);
            d.iter_mut().zip(s).for_each(|(di, si)| *di += (a - b) * si);
        }
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history.clear();
            d = g.iter().map(|v| -v).collect();
            slope = dot(&g, &d);
        }
        // Backtracking line search with the Armijo condition.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            for i in 0..n {
                x_new[i] = x[i] + step * d[i];
            }
            let f_new = f.eval(&x_new, &mut g_new);
            if f_new <= fx + 1e-4 * step * slope {
                accepted = Some(f_new);
                break;
            }
            step *= 0.5;
        }
        let Some(f_new) = accepted else {
            // No decrease is possible in floating point: at the minimum.
            return Minimum { x, converged: true };
        };
        let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if history.len() == opts.memory {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        let decrease = fx - f_new;
        fx = f_new;
        if decrease.abs() <= 1e-15 * fx.abs().max(1.0) && max_abs(&g) <= opts.gradient_tol * 1e3 {
            return Minimum { x, converged: true };
        }
    }
    Minimum {
        x,
        converged: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's function: minimum 0 at (1, 1), a classic hard valley.
    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn eval(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        }
    }

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let m = minimize(&Rosenbrock, vec![-1.2, 1.0], &Options::default());
        assert!(m.converged);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{:?}",
            m.x
        );
    }
}
