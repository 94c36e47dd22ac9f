//! Means of per-patient scores with influence-function standard errors: the
//! AIPW estimator of grf's `average_treatment_effect(method = "AIPW")`
//! (`r-package/grf/R/average_treatment_effect.R`), with grf's
//! cluster-robust form when patients come in groups.

use serde::Serialize;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::stats::{mean_sd, quantile_sorted, Z95};

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

/// Bootstrap intervals of the means of every series in `series` (each one
/// value per patient), from `replicates` resamples with replacement of the
/// patients, or of whole groups with `clusters`, all series on the same
/// resamples (seeded): the SE is the SD of the replicate means, the
/// interval their 2.5th and 97.5th percentiles.
pub(crate) fn bootstrap_means(
    series: &[Vec<f64>],
    clusters: Option<(&[usize], usize)>,
    replicates: usize,
    seed: u64,
) -> Vec<Interval> {
    let n = series.first().map_or(0, Vec::len);
    let members: Vec<Vec<usize>> = match clusters {
        Some((of, g)) => {
            let mut m = vec![Vec::new(); g];
            for (i, &c) in of.iter().enumerate() {
                m[c].push(i);
            }
            m.retain(|v| !v.is_empty());
            m
        }
        None => (0..n).map(|i| vec![i]).collect(),
    };
    if members.len() < 2 {
        // One patient or one group: a resample is always the same sample.
        return series
            .iter()
            .map(|v| Interval::new(v.iter().sum::<f64>() / n.max(1) as f64, f64::NAN))
            .collect();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x0b00_7b00);
    let mut reps = vec![Vec::with_capacity(replicates); series.len()];
    let mut sums = vec![0.0; series.len()];
    for _ in 0..replicates {
        sums.iter_mut().for_each(|v| *v = 0.0);
        let mut count = 0usize;
        for _ in 0..members.len() {
            for &i in &members[rng.gen_range(0..members.len())] {
                for (s, v) in sums.iter_mut().zip(series) {
                    *s += v[i];
                }
                count += 1;
            }
        }
        for (r, s) in reps.iter_mut().zip(&sums) {
            r.push(s / count.max(1) as f64);
        }
    }
    series
        .iter()
        .zip(reps)
        .map(|(v, mut r)| {
            let estimate = v.iter().sum::<f64>() / n.max(1) as f64;
            r.sort_by(f64::total_cmp);
            Interval {
                estimate,
                se: mean_sd(&r).1,
                ci_low: quantile_sorted(&r, 0.025),
                ci_high: quantile_sorted(&r, 0.975),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_se_of_a_mean_is_near_the_influence_se() {
        let v: Vec<f64> = (0..400)
            .map(|i| f64::from((i * 37) % 101) / 100.0)
            .collect();
        let inf = mean_se(&v, None);
        let b = bootstrap_means(std::slice::from_ref(&v), None, 2000, 3)[0];
        assert_eq!(b.estimate, inf.estimate);
        assert!((b.se / inf.se - 1.0).abs() < 0.08, "{} vs {}", b.se, inf.se);
        assert!((b.ci_low - inf.ci_low).abs() < 0.01 && (b.ci_high - inf.ci_high).abs() < 0.01);
        // Groups: whole groups are drawn.
        let of: Vec<usize> = (0..400).map(|i| i % 8).collect();
        let g = bootstrap_means(std::slice::from_ref(&v), Some((&of, 8)), 500, 3)[0];
        assert!(g.se > 0.0 && g.ci_low < g.estimate && g.estimate < g.ci_high);
        // One group: no interval, not a zero-width one.
        let one = vec![0; 400];
        let g = bootstrap_means(std::slice::from_ref(&v), Some((&one, 1)), 50, 3)[0];
        assert!(g.se.is_nan() && g.ci_low.is_nan());
    }
}
