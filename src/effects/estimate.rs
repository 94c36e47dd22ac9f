//! Means of per-patient scores with influence-function standard errors: the
//! AIPW estimator of grf's `average_treatment_effect(method = "AIPW")`
//! (`r-package/grf/R/average_treatment_effect.R`), with grf's
//! cluster-robust form when patients come in groups.

use serde::Serialize;

use crate::stats::Z95;

/// An estimate with its standard error and normal 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Interval {
    /// The point estimate.
    pub(crate) estimate: f64,
    /// Its standard error.
    pub(crate) se: f64,
    /// `estimate − 1.96 · se`.
    pub(crate) ci_low: f64,
    /// `estimate + 1.96 · se`.
    pub(crate) ci_high: f64,
}

impl Interval {
    /// From an estimate and its standard error.
    pub(crate) fn new(estimate: f64, se: f64) -> Interval {
        Interval {
            estimate,
            se,
            ci_low: estimate - Z95 * se,
            ci_high: estimate + Z95 * se,
        }
    }

    /// True when the interval lies wholly above 0.
    pub(crate) fn above_zero(&self) -> bool {
        self.ci_low > 0.0
    }

    /// `estimate [low, high]` with `d` decimals.
    pub(crate) fn show(&self, d: usize) -> String {
        format!(
            "{:.d$} [{:.d$}, {:.d$}]",
            self.estimate, self.ci_low, self.ci_high
        )
    }
}

/// The mean of `g` and its standard error: `sqrt(Σ (gᵢ − V)² / (n (n − 1)))`
/// for independent patients; with `clusters` (a group index per patient,
/// `0..G`), `sqrt(Σ_g (Σ_{i∈g} (gᵢ − V))² / n² · G/(G − 1))` as grf's
/// `.sigma2.hat`. A standard error that cannot be formed (n < 2, G < 2) is NaN.
pub(crate) fn mean_se(g: &[f64], clusters: Option<(&[usize], usize)>) -> Interval {
    let n = g.len();
    let v = g.iter().sum::<f64>() / n.max(1) as f64;
    let se = match clusters {
        None if n >= 2 => {
            (g.iter().map(|x| (x - v).powi(2)).sum::<f64>() / (n * (n - 1)) as f64).sqrt()
        }
        Some((of, groups)) if groups >= 2 => {
            let mut sums = vec![0.0; groups];
            for (x, &c) in g.iter().zip(of) {
                sums[c] += x - v;
            }
            let k = groups as f64;
            (sums.iter().map(|s| s * s).sum::<f64>() / (n as f64).powi(2) * k / (k - 1.0)).sqrt()
        }
        _ => f64::NAN,
    };
    Interval::new(v, se)
}
