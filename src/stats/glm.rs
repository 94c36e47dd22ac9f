//! Maximum-likelihood logistic regression with an offset, by
//! Newton–Raphson (IRLS) with step halving: the recalibration fits of
//! `evaluate` (Cox 1958) and any other small logistic model.

use crate::stats::linalg::{inverse, solve};
use crate::stats::{sigmoid, softplus};

/// A fitted logistic regression: coefficients and their covariance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogisticFit {
    /// Coefficients, one per design column.
    pub(crate) beta: Vec<f64>,
    /// Covariance matrix (inverse Fisher information), row-major.
    pub(crate) cov: Vec<Vec<f64>>,
    /// Newton iterations used.
    pub(crate) iterations: usize,
}

fn deviance(eta: &[f64], y: &[bool]) -> f64 {
    2.0 * eta
        .iter()
        .zip(y)
        .map(|(&e, &yi)| if yi { softplus(-e) } else { softplus(e) })
        .sum::<f64>()
}

/// Maximum-likelihood logistic regression of `y` on the design columns `x`
/// (each of length n) with a fixed `offset`, by Newton–Raphson with step
/// halving. `None` when the maximum does not exist or is not reached: one
/// class only, (quasi-)separation, or a singular design.
pub(crate) fn logistic_fit(x: &[Vec<f64>], offset: &[f64], y: &[bool]) -> Option<LogisticFit> {
    const MAX_ITER: usize = 100;
    let n = y.len();
    let k = x.len();
    let pos = y.iter().filter(|&&v| v).count();
    if k == 0 || n == 0 || pos == 0 || pos == n || x.iter().any(|c| c.len() != n) {
        return None;
    }
    let eta_of = |beta: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| offset[i] + (0..k).map(|j| beta[j] * x[j][i]).sum::<f64>())
            .collect()
    };
    let info_grad = |eta: &[f64]| {
        let mut h = vec![vec![0.0; k]; k];
        let mut g = vec![0.0; k];
        for i in 0..n {
            let mu = sigmoid(eta[i]);
            let w = mu * (1.0 - mu);
            let r = f64::from(u8::from(y[i])) - mu;
            for a in 0..k {
                g[a] += x[a][i] * r;
                for b in 0..k {
                    h[a][b] += w * x[a][i] * x[b][i];
                }
            }
        }
        (h, g)
    };
    let mut beta = vec![0.0; k];
    let mut eta = eta_of(&beta);
    let mut dev = deviance(&eta, y);
    for iter in 1..=MAX_ITER {
        let (h, g) = info_grad(&eta);
        let step = solve(&h, &g)?;
        let mut t = 1.0;
        let (mut new_beta, mut new_eta, mut new_dev);
        loop {
            new_beta = beta
                .iter()
                .zip(&step)
                .map(|(b, s)| b + t * s)
                .collect::<Vec<_>>();
            new_eta = eta_of(&new_beta);
            new_dev = deviance(&new_eta, y);
            if new_dev <= dev * (1.0 + 1e-12) + 1e-12 || t < 1e-10 {
                break;
            }
            t /= 2.0;
        }
        let size = step.iter().fold(0.0f64, |m, s| m.max((t * s).abs()));
        beta = new_beta;
        eta = new_eta;
        dev = new_dev;
        if !dev.is_finite() || beta.iter().any(|b| !b.is_finite() || b.abs() > 1e8) {
            return None;
        }
        if size < 1e-11 * (1.0 + beta.iter().fold(0.0f64, |m, b| m.max(b.abs()))) {
            let (h, _) = info_grad(&eta);
            let cov = inverse(&h)?;
            if cov
                .iter()
                .enumerate()
                .any(|(i, r)| r[i].is_nan() || r[i] <= 0.0 || r[i] > 1e12)
            {
                return None;
            }
            return Some(LogisticFit {
                beta,
                cov,
                iterations: iter,
            });
        }
    }
    None
}
