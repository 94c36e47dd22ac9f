//! Propensities: the probability of each arm given the patient. For a
//! randomised trial, the allocation (the observed arm shares, or the
//! design's `--allocation`); for observational data, a cross-fitted
//! multinomial logistic model of the received arm on the features.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

pub(crate) use crate::models::multinomial::Multinomial;

/// Folds of the cross-fitted propensity model.
pub(crate) const PROPENSITY_FOLDS: usize = 5;
/// Candidate L2 penalties `λ` (`λ‖W‖²/2` added to the summed log-loss on
/// standardised inputs; intercepts free; `λ = 1` is scikit-learn's default
/// `C = 1`). The one with the smallest cross-validated log-loss is used: a
/// randomised trial with many features then gets nearly constant
/// propensities instead of noise-fitted extremes.
pub(crate) const PENALTIES: [f64; 5] = [1.0, 10.0, 100.0, 1000.0, 10000.0];

/// The observed share of each of `k` arms.
pub(crate) fn shares(received: &[usize], k: usize) -> Vec<f64> {
    let mut c = vec![0usize; k];
    for &a in received {
        c[a] += 1;
    }
    c.iter()
        .map(|&v| v as f64 / received.len().max(1) as f64)
        .collect()
}

/// Fold of each patient: arms dealt to `folds` folds, seeded.
fn deal(received: &[usize], k: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut fold = vec![0usize; received.len()];
    let mut next = 0;
    for a in 0..k {
        let mut idx: Vec<usize> = (0..received.len()).filter(|&i| received[i] == a).collect();
        idx.shuffle(&mut rng);
        for i in idx {
            fold[i] = next % folds;
            next += 1;
        }
    }
    fold
}

/// Out-of-fold propensities with penalty `l2` for the fold split `fold`.
fn out_of_fold(
    x: &Array2<f64>,
    received: &[usize],
    k: usize,
    fold: &[usize],
    folds: usize,
    l2: f64,
) -> Vec<Vec<f64>> {
    let n = received.len();
    let parts: Vec<(Vec<usize>, Vec<Vec<f64>>)> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
            let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
            if test.is_empty() {
                return (test, Vec::new());
            }
            let xt = x.select(ndarray::Axis(0), &train);
            let rt: Vec<usize> = train.iter().map(|&i| received[i]).collect();
            let model = Multinomial::fit(xt.view(), &rt, k, l2);
            let pred = model.predict(x.select(ndarray::Axis(0), &test).view());
            (test, pred)
        })
        .collect();
    let mut e = vec![vec![0.0; n]; k];
    for (test, pred) in parts {
        for (j, &i) in test.iter().enumerate() {
            for a in 0..k {
                e[a][i] = pred[a][j];
            }
        }
    }
    e
}

/// Cross-fitted propensities and the penalty used: the penalty is chosen
/// among [`PENALTIES`] by the out-of-fold log-loss on one fold split;
/// then each fold's patients (another split) are predicted by a model
/// fitted on the other folds. Folds are stratified by arm and seeded; with
/// `groups` (each patient's `--group-col` group) they keep every group
/// whole (grouped K-fold), so no group is predicted by a model that saw it.
pub(crate) fn cross_fitted(
    x: &Array2<f64>,
    received: &[usize],
    k: usize,
    seed: u64,
    groups: Option<&[usize]>,
) -> (Vec<Vec<f64>>, f64) {
    let n = received.len();
    let mut folds = PROPENSITY_FOLDS.min(n.max(2));
    // Fewer than two groups cannot be cross-fitted by group.
    let groups = groups.filter(|g| g.iter().any(|&x| x != g[0]));
    let mut split = |salt: u64| match groups {
        Some(g) => {
            let (fold, k) = crate::stats::folds::grouped_folds(g, PROPENSITY_FOLDS, seed ^ salt);
            folds = k;
            fold
        }
        None => deal(received, k, folds, seed ^ salt),
    };
    let tune = split(0x7e57_7e57);
    let fold = split(0x0e5c_0e5c);
    let loss = |l2: f64| -> f64 {
        let e = out_of_fold(x, received, k, &tune, folds, l2);
        (0..n)
            .map(|i| -e[received[i]][i].max(1e-300).ln())
            .sum::<f64>()
    };
    let losses: Vec<f64> = PENALTIES.iter().map(|&l| loss(l)).collect();
    // The strongest penalty within 1e-9 (relative) of the best loss.
    let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
    let l2 = PENALTIES
        .iter()
        .zip(&losses)
        .filter(|(_, &v)| v <= best + 1e-9 * best.abs())
        .map(|(&l, _)| l)
        .fold(0.0, f64::max);
    (out_of_fold(x, received, k, &fold, folds, l2), l2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With groups, no patient's propensity comes from a model that saw
    /// their group: when the arm is set by the group (sites 0–1 give arm 0,
    /// sites 2–3 arm 1) and the inputs are the site indicators, ungrouped
    /// folds predict each patient's arm almost surely, grouped folds cannot.
    #[test]
    fn grouped_cross_fitting_keeps_groups_out_of_their_own_model() {
        let n = 120;
        let groups: Vec<usize> = (0..n).map(|i| i % 4).collect();
        let received: Vec<usize> = groups.iter().map(|&g| usize::from(g >= 2)).collect();
        let x = Array2::from_shape_fn((n, 4), |(i, j)| f64::from(u8::from(groups[i] == j)));
        let mean_own =
            |e: &[Vec<f64>]| -> f64 { (0..n).map(|i| e[received[i]][i]).sum::<f64>() / n as f64 };
        let (plain, _) = cross_fitted(&x, &received, 2, 5, None);
        let (grouped, _) = cross_fitted(&x, &received, 2, 5, Some(&groups));
        assert!(mean_own(&plain) > 0.8, "{}", mean_own(&plain));
        assert!(mean_own(&grouped) < 0.6, "{}", mean_own(&grouped));
        assert_eq!(
            cross_fitted(&x, &received, 2, 5, Some(&groups)).0,
            grouped,
            "seeded"
        );
    }
}
