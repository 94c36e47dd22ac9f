//! Calibration: logistic recalibration of the logit of the predictions
//! (calibration-in-the-large and calibration slope, Cox 1958; Van Calster
//! et al. 2016), fitted by Newton–Raphson (IRLS), and the binned
//! calibration curve.

use serde::Serialize;

use crate::eval::metrics::clip_prob;
use crate::models::logistic::sigmoid;

/// The 0.975 quantile of the standard normal distribution.
pub const Z95: f64 = 1.959963984540054;

/// A coefficient with its Wald standard error and 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The maximum-likelihood estimate.
    pub estimate: f64,
    /// Standard error from the inverse Fisher information.
    pub se: f64,
    /// Lower end of the Wald 95 % interval.
    pub ci_low: f64,
    /// Upper end of the Wald 95 % interval.
    pub ci_high: f64,
}

impl Estimate {
    fn new(estimate: f64, se: f64) -> Estimate {
        Estimate {
            estimate,
            se,
            ci_low: estimate - Z95 * se,
            ci_high: estimate + Z95 * se,
        }
    }
}

/// The logistic recalibration of one set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Recalibration {
    /// Calibration-in-the-large: `a` in `logit P(y) = a + logit(p)` (slope
    /// fixed at 1). 0 is ideal; positive means the model under-predicts.
    pub in_the_large: Option<Estimate>,
    /// Calibration slope: `b` in `logit P(y) = a' + b · logit(p)`. 1 is
    /// ideal; below 1 means predictions are too extreme (overfitting).
    pub slope: Option<Estimate>,
    /// The intercept `a'` fitted together with the slope.
    pub slope_intercept: Option<f64>,
}

/// The logit of a probability clipped to `[ε, 1 − ε]` (ε = machine epsilon).
pub fn logit(p: f64) -> f64 {
    let p = clip_prob(p);
    (p / (1.0 - p)).ln()
}

/// A fitted logistic regression: coefficients and their covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    /// Coefficients, one per design column.
    pub beta: Vec<f64>,
    /// Covariance matrix (inverse Fisher information), row-major.
    pub cov: Vec<Vec<f64>>,
    /// Newton iterations used.
    pub iterations: usize,
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn deviance(eta: &[f64], y: &[bool]) -> f64 {
    2.0 * eta
        .iter()
        .zip(y)
        .map(|(&e, &yi)| if yi { softplus(-e) } else { softplus(e) })
        .sum::<f64>()
}

/// Solves `a x = b` for a small symmetric positive-definite `a` (Gaussian
/// elimination with partial pivoting); `None` when singular.
fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let k = b.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(row, &bi)| {
            let mut r = row.clone();
            r.push(bi);
            r
        })
        .collect();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for c in 0..k {
        let piv = (c..k).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[piv][c].abs() <= 1e-13 * scale {
            return None;
        }
        m.swap(c, piv);
        let pivot_row = m[c].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (v, pv) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *v -= f * pv;
                }
            }
        }
    }
    let x: Vec<f64> = (0..k).map(|i| m[i][k] / m[i][i]).collect();
    x.iter().all(|v| v.is_finite()).then_some(x)
}

fn inverse(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let cols: Option<Vec<Vec<f64>>> = (0..k)
        .map(|j| {
            let e: Vec<f64> = (0..k).map(|i| f64::from(u8::from(i == j))).collect();
            solve(a, &e)
        })
        .collect();
    let cols = cols?;
    Some(
        (0..k)
            .map(|i| (0..k).map(|j| cols[j][i]).collect())
            .collect(),
    )
}

/// Maximum-likelihood logistic regression of `y` on the design columns `x`
/// (each of length n) with a fixed `offset`, by Newton–Raphson with step
/// halving. `None` when the maximum does not exist or is not reached: one
/// class only, (quasi-)separation, or a singular design.
pub fn logistic_fit(x: &[Vec<f64>], offset: &[f64], y: &[bool]) -> Option<LogisticFit> {
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

/// Calibration-in-the-large and calibration slope of predictions `p` for
/// outcomes `y`. Probabilities of exactly 0 or 1 are clipped before the
/// logit. Each part is `None` when its fit has no finite solution.
pub fn recalibrate(p: &[f64], y: &[bool]) -> Recalibration {
    let lp: Vec<f64> = p.iter().map(|&v| logit(v)).collect();
    let ones = vec![1.0; p.len()];
    let zeros = vec![0.0; p.len()];
    let citl = logistic_fit(std::slice::from_ref(&ones), &lp, y)
        .map(|f| Estimate::new(f.beta[0], f.cov[0][0].sqrt()));
    let slope_fit = logistic_fit(&[ones, lp], &zeros, y);
    Recalibration {
        in_the_large: citl,
        slope: slope_fit
            .as_ref()
            .map(|f| Estimate::new(f.beta[1], f.cov[1][1].sqrt())),
        slope_intercept: slope_fit.map(|f| f.beta[0]),
    }
}

/// One bin of the calibration curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Patients in the bin.
    pub n: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed share of responders.
    pub observed: f64,
}

/// Number of bins for `n` patients: about 20 patients a bin, 1 to 10 bins.
pub fn default_bins(n: usize) -> usize {
    (n / 20).clamp(1, 10)
}

/// The binned calibration curve: patients sorted by predicted probability
/// and cut into `bins` groups of (nearly) equal size.
pub fn calibration_bins(p: &[f64], y: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let n = p.len();
    let bins = bins.clamp(1, n.max(1));
    if n == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    (0..bins)
        .map(|g| {
            let part = &order[g * n / bins..(g + 1) * n / bins];
            let m = part.len() as f64;
            CalibrationBin {
                n: part.len(),
                mean_predicted: part.iter().map(|&i| p[i]).sum::<f64>() / m,
                observed: part.iter().filter(|&&i| y[i]).count() as f64 / m,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_calibrated_logits_give_zero_and_one() {
        // y generated so that the MLE is exactly known: symmetric design.
        let p = [0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 0.8, 0.8, 0.8, 0.8];
        let y = [
            true, false, false, false, false, true, true, true, true, false,
        ];
        let r = recalibrate(&p, &y);
        let citl = r.in_the_large.unwrap();
        assert!(citl.estimate.abs() < 1e-10, "{citl:?}");
        let slope = r.slope.unwrap();
        assert!((slope.estimate - 1.0).abs() < 1e-10, "{slope:?}");
        assert!(r.slope_intercept.unwrap().abs() < 1e-10);
    }

    #[test]
    fn separation_and_one_class_have_no_estimate() {
        let p = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9];
        let y = [false, false, false, true, true, true];
        assert!(recalibrate(&p, &y).slope.is_none());
        let r = recalibrate(&p, &[true; 6]);
        assert!(r.in_the_large.is_none() && r.slope.is_none());
        // Constant predictions: the slope is not identifiable.
        let r = recalibrate(&[0.3; 4], &[true, false, true, false]);
        assert!(r.slope.is_none());
        assert!(r.in_the_large.is_some());
    }

    #[test]
    fn bins_split_sorted_predictions() {
        let p = [0.9, 0.1, 0.2, 0.8];
        let y = [true, false, true, true];
        let b = calibration_bins(&p, &y, 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].n, 2);
        assert!((b[0].mean_predicted - 0.15).abs() < 1e-12);
        assert_eq!(b[0].observed, 0.5);
        assert_eq!(b[1].observed, 1.0);
        assert_eq!(default_bins(600), 10);
        assert_eq!(default_bins(7), 1);
        assert!(calibration_bins(&[], &[], 3).is_empty());
    }
}
