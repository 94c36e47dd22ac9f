//! Stratified bootstrap of the AUC and of the ROC curve: responders and
//! non-responders are resampled separately (with replacement), so every
//! replicate keeps the observed class sizes. Seeded and deterministic.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::eval::metrics::{auc, roc_curve};

/// Points of the false-positive-rate grid on which the ROC band is given.
pub const ROC_GRID: usize = 101;

/// The bootstrap distribution of the AUC and the pointwise ROC band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapAuc {
    /// Replicates drawn.
    pub replicates: usize,
    /// 2.5th percentile of the replicate AUCs.
    pub ci_low: f64,
    /// 97.5th percentile of the replicate AUCs.
    pub ci_high: f64,
    /// The false-positive-rate grid 0, 0.01, …, 1.
    #[serde(skip)]
    pub fpr: Vec<f64>,
    /// Pointwise 2.5th percentile of the true-positive rate on the grid.
    #[serde(skip)]
    pub tpr_low: Vec<f64>,
    /// Pointwise 97.5th percentile of the true-positive rate on the grid.
    #[serde(skip)]
    pub tpr_high: Vec<f64>,
}

/// Quantile `q` of sorted values with linear interpolation (NumPy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// True-positive rate of an ROC curve at each grid false-positive rate:
/// the highest TPR reached without exceeding that FPR.
fn tpr_on_grid(p: &[f64], y: &[bool], grid: &[f64]) -> Option<Vec<f64>> {
    let roc = roc_curve(p, y)?;
    let mut out = Vec::with_capacity(grid.len());
    let mut k = 0;
    let mut best = 0.0f64;
    for &f in grid {
        while k < roc.len() && roc[k].fpr <= f + 1e-12 {
            best = best.max(roc[k].tpr);
            k += 1;
        }
        out.push(best);
    }
    Some(out)
}

/// Stratified bootstrap of AUC with `replicates` draws seeded by `seed`.
/// `None` when a class is absent or `replicates` is 0.
pub fn bootstrap_auc(p: &[f64], y: &[bool], replicates: usize, seed: u64) -> Option<BootstrapAuc> {
    let pos: Vec<f64> = p.iter().zip(y).filter(|t| *t.1).map(|t| *t.0).collect();
    let neg: Vec<f64> = p.iter().zip(y).filter(|t| !*t.1).map(|t| *t.0).collect();
    if pos.is_empty() || neg.is_empty() || replicates == 0 {
        return None;
    }
    let grid: Vec<f64> = (0..ROC_GRID)
        .map(|i| i as f64 / (ROC_GRID - 1) as f64)
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let labels: Vec<bool> = std::iter::repeat_n(true, pos.len())
        .chain(std::iter::repeat_n(false, neg.len()))
        .collect();
    let mut aucs = Vec::with_capacity(replicates);
    let mut tprs: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); grid.len()];
    let mut sample = Vec::with_capacity(labels.len());
    for _ in 0..replicates {
        sample.clear();
        sample.extend((0..pos.len()).map(|_| pos[rng.gen_range(0..pos.len())]));
        sample.extend((0..neg.len()).map(|_| neg[rng.gen_range(0..neg.len())]));
        aucs.push(auc(&sample, &labels)?);
        let t = tpr_on_grid(&sample, &labels, &grid)?;
        for (col, v) in tprs.iter_mut().zip(t) {
            col.push(v);
        }
    }
    aucs.sort_by(f64::total_cmp);
    let mut tpr_low = Vec::with_capacity(grid.len());
    let mut tpr_high = Vec::with_capacity(grid.len());
    for mut col in tprs {
        col.sort_by(f64::total_cmp);
        tpr_low.push(quantile_sorted(&col, 0.025));
        tpr_high.push(quantile_sorted(&col, 0.975));
    }
    Some(BootstrapAuc {
        replicates,
        ci_low: quantile_sorted(&aucs, 0.025),
        ci_high: quantile_sorted(&aucs, 0.975),
        fpr: grid,
        tpr_low,
        tpr_high,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert!((quantile_sorted(&v, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_auc() {
        let p: Vec<f64> = (0..80).map(|i| ((i * 37) % 80) as f64 / 80.0).collect();
        let y: Vec<bool> = (0..80).map(|i| (i * 37) % 80 > 30 || i % 9 == 0).collect();
        let a = auc(&p, &y).unwrap();
        let b = bootstrap_auc(&p, &y, 500, 7).unwrap();
        assert_eq!(b, bootstrap_auc(&p, &y, 500, 7).unwrap());
        assert_ne!(b.ci_low, bootstrap_auc(&p, &y, 500, 8).unwrap().ci_low);
        assert!(b.ci_low < a && a < b.ci_high, "{a} {b:?}");
        assert_eq!(b.fpr.len(), ROC_GRID);
        assert!(b.tpr_low.iter().zip(&b.tpr_high).all(|(l, h)| l <= h));
        assert_eq!(b.tpr_high[ROC_GRID - 1], 1.0);
        assert!(bootstrap_auc(&p, &[true; 80], 10, 1).is_none());
    }
}
