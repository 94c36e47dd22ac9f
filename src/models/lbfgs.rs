//! A small limited-memory BFGS minimiser for smooth convex objectives, and
//! the fused logistic-loss gradient it is used with.
//!
//! responder fits L2-penalised logistic regression with this instead of
//! linfa-logistic: the objective is the one scikit-learn's `lbfgs` solver
//! minimises (mean log-loss + ‖w‖² / (2·C·n), intercept not penalised) and
//! convergence is judged the same way (largest |gradient| ≤ `tol`), but one
//! evaluation is a single pass over the contiguous row-major matrix that
//! computes the loss and the gradient together, split into fixed blocks of rows
//! that run in parallel and are summed in block order, so results do not
//! depend on the number of threads.

use rayon::prelude::*;

/// Rows per parallel block of one loss/gradient evaluation (fixed, so the
/// order of the floating-point sums never depends on the thread count).
const BLOCK_ROWS: usize = 4096;

/// What [`minimize`] found.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    /// The minimiser.
    pub(crate) x: Vec<f64>,
    /// Iterations used.
    pub(crate) iterations: usize,
    /// Whether the gradient tolerance was reached.
    pub(crate) converged: bool,
}

/// Minimises `f` (which returns the value and writes the gradient) from `x0`
/// with L-BFGS (10 correction pairs) and a backtracking Armijo line search.
/// Stops when the largest |gradient| is ≤ `gtol`, when the relative decrease
/// of the value falls below 64 machine epsilons (as SciPy's L-BFGS-B), or
/// after `max_iter` iterations.
pub(crate) fn minimize(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: Vec<f64>,
    max_iter: usize,
    gtol: f64,
) -> Minimum {
    const M: usize = 10;
    const C1: f64 = 1e-4;
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(M);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(M);
    let mut rho_hist: Vec<f64> = Vec::with_capacity(M);
    let mut alpha = [0.0; M];
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let max_abs = |v: &[f64]| v.iter().fold(0.0f64, |m, &a| m.max(a.abs()));
    let mut iterations = 0;
    let mut converged = max_abs(&g) <= gtol;
    while !converged && iterations < max_iter {
        // Two-loop recursion: d = -H g.
        d.copy_from_slice(&g);
        let k = s_hist.len();
        for i in (0..k).rev() {
            alpha[i] = rho_hist[i] * dot(&s_hist[i], &d);
            axpy(&mut d, -alpha[i], &y_hist[i]);
        }
        if k > 0 {
            let gamma = dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1]);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let beta = rho_hist[i] * dot(&y_hist[i], &d);
            axpy(&mut d, alpha[i] - beta, &s_hist[i]);
        }
        d.iter_mut().for_each(|v| *v = -*v);
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from -g.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            for (di, gi) in d.iter_mut().zip(&g) {
                *di = -gi;
            }
            slope = -dot(&g, &g);
        }
        let mut step = if k == 0 {
            (1.0 / dot(&d, &d).sqrt()).min(1.0)
        } else {
            1.0
        };
        let mut f_new;
        let mut tries = 0;
        loop {
            for ((xn, xi), di) in x_new.iter_mut().zip(&x).zip(&d) {
                *xn = xi + step * di;
            }
            f_new = f(&x_new, &mut g_new);
            tries += 1;
            if f_new.is_finite() && f_new <= fx + C1 * step * slope {
                break;
            }
            if tries >= 50 {
                // No decrease found: the current point is as good as it gets.
                return Minimum {
                    x,
                    iterations,
                    converged: false,
                };
            }
            step *= 0.5;
        }
        iterations += 1;
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-10 * dot(&y, &y) {
            if s_hist.len() == M {
                s_hist.remove(0);
                y_hist.remove(0);
                rho_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho_hist.push(1.0 / sy);
        }
        let decrease = (fx - f_new) / fx.abs().max(f_new.abs()).max(1.0);
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        fx = f_new;
        converged = max_abs(&g) <= gtol;
        if decrease <= 64.0 * f64::EPSILON {
            break;
        }
    }
    Minimum {
        x,
        iterations,
        converged,
    }
}

/// Penalised mean logistic loss and its gradient for the row-major matrix
/// `x` (`d` columns), labels `y` and parameters `w` = (coefficients…,
/// intercept): mean log-loss + `l2` · ‖coefficients‖² / 2.
pub(crate) fn logistic_loss_grad(
    x: &[f64],
    d: usize,
    y: &[bool],
    l2: f64,
    w: &[f64],
    grad: &mut [f64],
) -> f64 {
    let n = y.len();
    let (coef, intercept) = (&w[..d], w[d]);
    if d == 0 {
        // No inputs: an intercept-only model.
        let (mut loss, mut g) = (0.0, 0.0);
        for &yi in y {
            let t = if yi { -intercept } else { intercept };
            loss += t.max(0.0) + (-t.abs()).exp().ln_1p();
            g += crate::stats::sigmoid(intercept) - f64::from(u8::from(yi));
        }
        grad[0] = g / n as f64;
        return loss / n as f64;
    }
    let partials: Vec<(f64, Vec<f64>)> = x
        .par_chunks(BLOCK_ROWS * d)
        .zip(y.par_chunks(BLOCK_ROWS))
        .map(|(xb, yb)| {
            let mut g = vec![0.0; d + 1];
            let mut loss = 0.0;
            for (row, &yi) in xb.chunks_exact(d).zip(yb) {
                let z = intercept + dot(row, coef);
                // log(1 + exp(t)) with t = z for non-responders, -z for responders.
                let t = if yi { -z } else { z };
                loss += t.max(0.0) + (-t.abs()).exp().ln_1p();
                let r = crate::stats::sigmoid(z) - f64::from(u8::from(yi));
                axpy(&mut g[..d], r, row);
                g[d] += r;
            }
            (loss, g)
        })
        .collect();
    grad.iter_mut().for_each(|v| *v = 0.0);
    let mut loss = 0.0;
    for (l, g) in &partials {
        loss += l;
        axpy(grad, 1.0, g);
    }
    let inv_n = 1.0 / n as f64;
    grad.iter_mut().for_each(|v| *v *= inv_n);
    for (gj, wj) in grad[..d].iter_mut().zip(coef) {
        *gj += l2 * wj;
    }
    loss * inv_n + 0.5 * l2 * dot(coef, coef)
}

/// Dot product with four accumulators (lets the compiler vectorise it).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `y += a · x`.
pub(crate) fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_quadratic() {
        // f = Σ (i+1) (x_i - i)²
        let m = minimize(
            |x, g| {
                let mut f = 0.0;
                for (i, (xi, gi)) in x.iter().zip(g.iter_mut()).enumerate() {
                    let c = (i + 1) as f64;
                    f += c * (xi - i as f64).powi(2);
                    *gi = 2.0 * c * (xi - i as f64);
                }
                f
            },
            vec![0.0; 6],
            100,
            1e-6,
        );
        assert!(m.converged, "{m:?}");
        for (i, xi) in m.x.iter().enumerate() {
            assert!((xi - i as f64).abs() < 1e-6, "{:?}", m.x);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let d = 3;
        let x: Vec<f64> = (0..5000 * d)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect();
        let y: Vec<bool> = (0..5000).map(|i| (i * 13) % 7 < 3).collect();
        let w = [0.3, -0.2, 0.5, 0.1];
        let mut g = vec![0.0; 4];
        let f0 = logistic_loss_grad(&x, d, &y, 0.01, &w, &mut g);
        for j in 0..4 {
            let mut wp = w;
            wp[j] += 1e-6;
            let mut wm = w;
            wm[j] -= 1e-6;
            let mut scratch = vec![0.0; 4];
            let fp = logistic_loss_grad(&x, d, &y, 0.01, &wp, &mut scratch);
            let fm = logistic_loss_grad(&x, d, &y, 0.01, &wm, &mut scratch);
            assert!(
                ((fp - fm) / 2e-6 - g[j]).abs() < 1e-7,
                "j {j}: {} vs {}",
                (fp - fm) / 2e-6,
                g[j]
            );
        }
        assert!(f0 > 0.0);
    }

    #[test]
    fn dot_handles_remainders() {
        let a: Vec<f64> = (0..7).map(f64::from).collect();
        assert_eq!(dot(&a, &a), 91.0);
    }
}
