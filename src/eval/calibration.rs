//! Calibration: logistic recalibration of the logit of the predictions
//! (calibration-in-the-large and calibration slope, Cox 1958; Van Calster
//! et al. 2016), fitted by Newton–Raphson (IRLS), and the binned
//! calibration curve.

use serde::Serialize;

use crate::stats::glm::logistic_fit;
use crate::stats::{logit, Z95};

/// A coefficient with its Wald standard error and 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Estimate {
    /// The maximum-likelihood estimate.
    pub(crate) estimate: f64,
    /// Standard error from the inverse Fisher information.
    pub(crate) se: f64,
    /// Lower end of the Wald 95 % interval.
    pub(crate) ci_low: f64,
    /// Upper end of the Wald 95 % interval.
    pub(crate) ci_high: f64,
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
pub(crate) struct Recalibration {
    /// Calibration-in-the-large: `a` in `logit P(y) = a + logit(p)` (slope
    /// fixed at 1). 0 is ideal; positive means the model under-predicts.
    pub(crate) in_the_large: Option<Estimate>,
    /// Calibration slope: `b` in `logit P(y) = a' + b · logit(p)`. 1 is
    /// ideal; below 1 means predictions are too extreme (overfitting).
    pub(crate) slope: Option<Estimate>,
    /// The intercept `a'` fitted together with the slope.
    pub(crate) slope_intercept: Option<f64>,
}

/// Calibration-in-the-large and calibration slope of predictions `p` for
/// outcomes `y`. Probabilities of exactly 0 or 1 are clipped before the
/// logit. Each part is `None` when its fit has no finite solution.
pub(crate) fn recalibrate(p: &[f64], y: &[bool]) -> Recalibration {
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
pub(crate) struct CalibrationBin {
    /// Patients in the bin.
    pub(crate) n: usize,
    /// Mean predicted probability.
    pub(crate) mean_predicted: f64,
    /// Observed share of responders.
    pub(crate) observed: f64,
}

/// Number of bins for `n` patients: about 20 patients a bin, 3 to 10 bins
/// (never one bin, which would draw a single dot as a "curve"; fewer only
/// with fewer than 3 patients).
pub(crate) fn default_bins(n: usize) -> usize {
    (n / 20).clamp(3.min(n.max(1)), 10)
}

/// The binned calibration curve: patients sorted by predicted probability
/// and cut into `bins` groups of (nearly) equal size.
pub(crate) fn calibration_bins(p: &[f64], y: &[bool], bins: usize) -> Vec<CalibrationBin> {
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
        assert_eq!(default_bins(7), 3);
        assert_eq!(default_bins(33), 3);
        assert_eq!(default_bins(2), 2);
        assert_eq!(default_bins(0), 1);
        assert!(calibration_bins(&[], &[], 3).is_empty());
    }
}
