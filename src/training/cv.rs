//! The cross-validation loop every command shares: stratified folds, the
//! pipeline and model refitted on each fold's training rows, the held-out
//! rows predicted. `train --cv`, `compare`, `auto`'s inner and outer loops
//! and the S-learner all run their folds through [`for_each_fold`].

use rayon::prelude::*;

use crate::bundle::CvMetrics;
use crate::error::Result;
use crate::features::{Frame, Pipeline};
use crate::models::{AlgorithmParams, FittedModel};
use crate::stats::folds::{split, stratified_folds};
use crate::stats::mean_sd;
use crate::stats::scores::{auc, delong};

/// The seed of fold `f`'s fits, from the seed of the folds.
pub(crate) fn fold_seed(seed: u64, f: usize) -> u64 {
    seed.wrapping_add(f as u64 + 1)
}

/// Stratified K-fold assignment of `n` labelled positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folds {
    fold: Vec<usize>,
    k: usize,
}

/// One fold: positions (indices into the labelled rows) to fit on and to
/// predict.
pub(crate) struct Fold {
    /// The fold's index.
    pub(crate) index: usize,
    /// Positions of the training part.
    pub(crate) train: Vec<usize>,
    /// Positions of the held-out part.
    pub(crate) test: Vec<usize>,
}

impl Folds {
    /// `k` stratified folds of the labels `y`, shuffled with `seed`.
    pub(crate) fn stratified(y: &[bool], k: usize, seed: u64) -> Folds {
        Folds {
            fold: stratified_folds(y, k, seed),
            k,
        }
    }

    /// Grouped folds: positions with the same `groups` value stay together
    /// (`k` ≥ the number of groups: leave-one-group-out).
    pub(crate) fn grouped(groups: &[usize], k: usize, seed: u64) -> Folds {
        let (fold, k) = crate::stats::folds::grouped_folds(groups, k, seed);
        Folds { fold, k }
    }

    /// Number of folds.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// Fold `f`.
    pub(crate) fn fold(&self, f: usize) -> Fold {
        let (train, test) = split(&self.fold, f);
        Fold {
            index: f,
            train,
            test,
        }
    }
}

/// THE loop: `fit_predict` fits on each fold's training positions and
/// predicts its held-out positions; folds run in parallel and `on_fold` is
/// called after each. Results come back in fold order with their fold.
pub(crate) fn for_each_fold<T: Send>(
    folds: &Folds,
    on_fold: &(dyn Fn() + Sync),
    fit_predict: impl Fn(&Fold) -> Result<T> + Sync,
) -> Result<Vec<(Fold, T)>> {
    (0..folds.k())
        .into_par_iter()
        .map(|f| {
            let fold = folds.fold(f);
            let out = fit_predict(&fold)?;
            on_fold();
            Ok((fold, out))
        })
        .collect()
}

/// Fits pipeline + model on frame rows `train` (labels `y_train`).
pub(crate) fn fit_rows(
    frame: &Frame,
    train: &[usize],
    y_train: &[bool],
    algorithm: &AlgorithmParams,
    seed: u64,
) -> Result<(Pipeline, FittedModel)> {
    let pipeline = Pipeline::fit(frame, train)?;
    let (x, _) = pipeline.transform(frame, train)?;
    let model = algorithm.fit_masked(x.view(), y_train, &pipeline.dosage_inputs(), seed)?;
    Ok((pipeline, model))
}

/// Fits pipeline + model on frame rows `train`, predicts frame rows `test`.
pub(crate) fn fit_predict(
    frame: &Frame,
    train: &[usize],
    y_train: &[bool],
    test: &[usize],
    algorithm: &AlgorithmParams,
    seed: u64,
) -> Result<Vec<f64>> {
    let (pipeline, model) = fit_rows(frame, train, y_train, algorithm, seed)?;
    let (x_test, _) = pipeline.transform(frame, test)?;
    Ok(model.predict_proba(x_test.view())?.to_vec())
}

/// `values` at `positions`.
pub(crate) fn pick<T: Copy>(values: &[T], positions: &[usize]) -> Vec<T> {
    positions.iter().map(|&i| values[i]).collect()
}

/// Fold AUCs, their mean and sample SD, and the AUC of the pooled
/// out-of-fold predictions `oof` (one per row, labels `y`) with its DeLong
/// 95 % interval.
///
/// A held-out fold with one class has no AUC (NaN in `fold_auc`): it is
/// left out of `fold_auc` and of the mean, while `folds` still counts it.
pub(crate) fn cv_metrics(fold_auc: Vec<f64>, oof: &[f64], y: &[bool]) -> CvMetrics {
    let folds = fold_auc.len();
    let fold_auc: Vec<f64> = fold_auc.into_iter().filter(|v| v.is_finite()).collect();
    let auc_pooled = auc(oof, y).unwrap_or(f64::NAN);
    // No held-out fold with both classes (an arm far too small for its
    // folds, flagged weak): the mean is the pooled AUC, so the bundle
    // holds no NaN.
    let (auc_mean, auc_sd) = if fold_auc.is_empty() {
        (auc_pooled, 0.0)
    } else {
        mean_sd(&fold_auc)
    };
    CvMetrics {
        folds,
        fold_auc,
        auc_mean,
        auc_sd,
        auc_pooled,
        auc_pooled_ci: delong(oof, y).map(|d| {
            let (lo, hi) = d.ci95();
            [lo, hi]
        }),
    }
}

/// K-fold cross-validation of `algorithm` over frame `rows` with labels `y`
/// (one per row) on `folds` (stratified, or grouped). Returns the metrics and the out-of-fold
/// probability of every row.
pub(crate) fn cross_validate(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    folds: &Folds,
    algorithm: &AlgorithmParams,
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(CvMetrics, Vec<f64>)> {
    let k = folds.k();
    let per_fold = for_each_fold(folds, on_fold, |fold| {
        fit_predict(
            frame,
            &pick(rows, &fold.train),
            &pick(y, &fold.train),
            &pick(rows, &fold.test),
            algorithm,
            fold_seed(seed, fold.index),
        )
    })?;
    let mut oof = vec![f64::NAN; rows.len()];
    let mut fold_auc = Vec::with_capacity(k);
    for (fold, p) in per_fold {
        fold_auc.push(auc(&p, &pick(y, &fold.test)).unwrap_or(f64::NAN));
        for (&i, &pi) in fold.test.iter().zip(&p) {
            oof[i] = pi;
        }
    }
    Ok((cv_metrics(fold_auc, &oof, y), oof))
}
