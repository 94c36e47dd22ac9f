//! Stratified bootstrap of the AUC and of the ROC curve: responders and
//! non-responders are resampled separately (with replacement), so every
//! replicate keeps the observed class sizes. Seeded and deterministic.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::stats::quantile_sorted;

/// Points of the false-positive-rate grid on which the ROC band is given.
pub(crate) const ROC_GRID: usize = 101;

/// The bootstrap distribution of the AUC and the pointwise ROC band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BootstrapAuc {
    /// Replicates drawn.
    pub(crate) replicates: usize,
    /// 2.5th percentile of the replicate AUCs.
    pub(crate) ci_low: f64,
    /// 97.5th percentile of the replicate AUCs.
    pub(crate) ci_high: f64,
    /// The false-positive-rate grid 0, 0.01, …, 1.
    #[serde(skip)]
    pub(crate) fpr: Vec<f64>,
    /// Pointwise 2.5th percentile of the true-positive rate on the grid.
    #[serde(skip)]
    pub(crate) tpr_low: Vec<f64>,
    /// Pointwise 97.5th percentile of the true-positive rate on the grid.
    #[serde(skip)]
    pub(crate) tpr_high: Vec<f64>,
}

/// Patients sorted by descending prediction, cut into blocks of tied
/// predictions: what every replicate walks, so no replicate sorts.
struct Blocks {
    /// `(is_responder, original index within its class)` in score order.
    members: Vec<(bool, usize)>,
    /// End (exclusive) of each tie block in `members`.
    ends: Vec<usize>,
}

impl Blocks {
    fn new(pos: &[f64], neg: &[f64]) -> Blocks {
        let mut members: Vec<(bool, usize)> = (0..pos.len())
            .map(|i| (true, i))
            .chain((0..neg.len()).map(|j| (false, j)))
            .collect();
        let score = |m: &(bool, usize)| if m.0 { pos[m.1] } else { neg[m.1] };
        members.sort_by(|a, b| score(b).total_cmp(&score(a)));
        let mut ends = Vec::new();
        for k in 1..=members.len() {
            if k == members.len() || score(&members[k]) != score(&members[k - 1]) {
                ends.push(k);
            }
        }
        Blocks { members, ends }
    }

    /// AUC (trapezoid under the empirical ROC, which equals Mann–Whitney
    /// with ties counted ½) and the TPR on `grid`, for patients drawn
    /// `count_pos[i]` / `count_neg[j]` times.
    fn replicate(&self, count_pos: &[u32], count_neg: &[u32], grid: &[f64]) -> (f64, Vec<f64>) {
        let n1: f64 = count_pos.iter().map(|&c| f64::from(c)).sum();
        let n0: f64 = count_neg.iter().map(|&c| f64::from(c)).sum();
        let (mut tp, mut fp) = (0.0f64, 0.0f64);
        let mut area = 0.0;
        let mut tpr = vec![0.0; grid.len()];
        let mut g = 0;
        let mut start = 0;
        for &end in &self.ends {
            let (mut dtp, mut dfp) = (0.0, 0.0);
            for &(is_pos, i) in &self.members[start..end] {
                if is_pos {
                    dtp += f64::from(count_pos[i]);
                } else {
                    dfp += f64::from(count_neg[i]);
                }
            }
            start = end;
            if dtp == 0.0 && dfp == 0.0 {
                continue;
            }
            area += dfp * (2.0 * tp + dtp) / 2.0;
            // Grid points passed before this block's FPR keep the old TPR.
            let new_fpr = (fp + dfp) / n0;
            while g < grid.len() && grid[g] + 1e-12 < new_fpr {
                tpr[g] = tp / n1;
                g += 1;
            }
            tp += dtp;
            fp += dfp;
        }
        for t in tpr.iter_mut().skip(g) {
            *t = tp / n1;
        }
        (area / (n1 * n0), tpr)
    }
}

/// Stratified bootstrap of AUC with `replicates` draws seeded by `seed`.
/// `None` when a class is absent or `replicates` is 0.
pub(crate) fn bootstrap_auc(
    p: &[f64],
    y: &[bool],
    replicates: usize,
    seed: u64,
) -> Option<BootstrapAuc> {
    let pos: Vec<f64> = p.iter().zip(y).filter(|t| *t.1).map(|t| *t.0).collect();
    let neg: Vec<f64> = p.iter().zip(y).filter(|t| !*t.1).map(|t| *t.0).collect();
    if pos.is_empty() || neg.is_empty() || replicates == 0 {
        return None;
    }
    let grid: Vec<f64> = (0..ROC_GRID)
        .map(|i| i as f64 / (ROC_GRID - 1) as f64)
        .collect();
    let blocks = Blocks::new(&pos, &neg);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut aucs = Vec::with_capacity(replicates);
    let mut tprs: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); grid.len()];
    let mut count_pos = vec![0u32; pos.len()];
    let mut count_neg = vec![0u32; neg.len()];
    for _ in 0..replicates {
        count_pos.fill(0);
        count_neg.fill(0);
        for _ in 0..pos.len() {
            count_pos[rng.gen_range(0..pos.len())] += 1;
        }
        for _ in 0..neg.len() {
            count_neg[rng.gen_range(0..neg.len())] += 1;
        }
        let (a, t) = blocks.replicate(&count_pos, &count_neg, &grid);
        aucs.push(a);
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
    fn bootstrap_is_seeded_and_brackets_the_auc() {
        let p: Vec<f64> = (0..80).map(|i| ((i * 37) % 80) as f64 / 80.0).collect();
        let y: Vec<bool> = (0..80).map(|i| (i * 37) % 80 > 30 || i % 9 == 0).collect();
        let a = crate::eval::metrics::auc(&p, &y).unwrap();
        let b = bootstrap_auc(&p, &y, 500, 7).unwrap();
        assert_eq!(b, bootstrap_auc(&p, &y, 500, 7).unwrap());
        assert_ne!(b.ci_low, bootstrap_auc(&p, &y, 500, 8).unwrap().ci_low);
        assert!(b.ci_low < a && a < b.ci_high, "{a} {b:?}");
        assert_eq!(b.fpr.len(), ROC_GRID);
        assert!(b.tpr_low.iter().zip(&b.tpr_high).all(|(l, h)| l <= h));
        assert_eq!(b.tpr_high[ROC_GRID - 1], 1.0);
        assert!(bootstrap_auc(&p, &[true; 80], 10, 1).is_none());
    }

    #[test]
    fn a_replicate_of_everyone_once_is_the_plain_auc_and_roc() {
        use crate::eval::metrics::{auc, roc_curve};
        let p = [0.1, 0.4, 0.35, 0.8, 0.4, 0.7, 0.4, 0.9, 0.1];
        let y = [false, false, true, true, true, false, false, true, true];
        let pos: Vec<f64> = p.iter().zip(&y).filter(|t| *t.1).map(|t| *t.0).collect();
        let neg: Vec<f64> = p.iter().zip(&y).filter(|t| !*t.1).map(|t| *t.0).collect();
        let grid: Vec<f64> = (0..ROC_GRID).map(|i| i as f64 / 100.0).collect();
        let b = Blocks::new(&pos, &neg);
        let (a, tpr) = b.replicate(&vec![1; pos.len()], &vec![1; neg.len()], &grid);
        assert!((a - auc(&p, &y).unwrap()).abs() < 1e-15);
        let roc = roc_curve(&p, &y).unwrap();
        for (f, t) in grid.iter().zip(&tpr) {
            let want = roc
                .iter()
                .filter(|r| r.fpr <= f + 1e-12)
                .map(|r| r.tpr)
                .fold(0.0, f64::max);
            assert_eq!(*t, want, "fpr {f}");
        }
        // Weights count as repeated patients.
        let (a2, _) = b.replicate(&[2, 0, 1, 1, 0], &[1, 3, 0, 1], &grid);
        let mut pp = vec![];
        let mut yy = vec![];
        for (i, &c) in [2, 0, 1, 1, 0].iter().enumerate() {
            for _ in 0..c {
                pp.push(pos[i]);
                yy.push(true);
            }
        }
        for (j, &c) in [1, 3, 0, 1].iter().enumerate() {
            for _ in 0..c {
                pp.push(neg[j]);
                yy.push(false);
            }
        }
        assert!((a2 - auc(&pp, &yy).unwrap()).abs() < 1e-15);
    }
}
