//! The cross-validation loop: for each fold, refit the pipeline and the
//! model on the training part and predict the held-out part.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::eval::metrics::auc;
use crate::features::{Frame, Pipeline};
use crate::models::AlgorithmParams;
use crate::stats::folds::{fold_sets, stratified_folds};
use crate::stats::mean_sd;

/// Cross-validation results for one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvMetrics {
    /// Number of folds.
    pub folds: usize,
    /// AUC of each fold.
    pub fold_auc: Vec<f64>,
    /// Mean fold AUC.
    pub auc_mean: f64,
    /// Sample standard deviation of the fold AUCs.
    pub auc_sd: f64,
    /// AUC of all out-of-fold predictions pooled.
    pub auc_pooled: f64,
}

/// Fits pipeline + model on `rows` of `frame`, predicts `test` rows.
pub fn fit_predict(
    frame: &Frame,
    train: &[usize],
    y_train: &[bool],
    test: &[usize],
    algorithm: &AlgorithmParams,
    seed: u64,
) -> Result<Vec<f64>> {
    let pipeline = Pipeline::fit(frame, train);
    let (x_train, _) = pipeline.transform(frame, train)?;
    let model = algorithm.fit(x_train.view(), y_train, seed)?;
    let (x_test, _) = pipeline.transform(frame, test)?;
    Ok(model.predict_proba(x_test.view())?.to_vec())
}

/// Stratified K-fold cross-validation over `rows` of `frame` with labels
/// `y` (one per row), folds in parallel. `on_fold` is called after each
/// fold. Returns the metrics and the out-of-fold probability of every row.
pub fn cross_validate(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    k: usize,
    algorithm: &AlgorithmParams,
    seed: u64,
    on_fold: impl Fn() + Sync,
) -> Result<(CvMetrics, Vec<f64>)> {
    let folds = stratified_folds(y, k, seed);
    let per_fold: Result<Vec<(Vec<usize>, Vec<f64>)>> = (0..k)
        .into_par_iter()
        .map(|f| {
            let s = fold_sets(&folds, f, rows, y);
            let p = fit_predict(
                frame,
                &s.train,
                &s.y_train,
                &s.test,
                algorithm,
                seed.wrapping_add(f as u64 + 1),
            )?;
            on_fold();
            Ok((s.test_positions, p))
        })
        .collect();
    let mut oof = vec![f64::NAN; rows.len()];
    let mut fold_auc = Vec::with_capacity(k);
    for (te, p) in per_fold? {
        let y_test: Vec<bool> = te.iter().map(|&i| y[i]).collect();
        fold_auc.push(auc(&p, &y_test).unwrap_or(f64::NAN));
        for (&i, &pi) in te.iter().zip(&p) {
            oof[i] = pi;
        }
    }
    let (auc_mean, auc_sd) = mean_sd(&fold_auc);
    let auc_pooled = auc(&oof, y).unwrap_or(f64::NAN);
    Ok((
        CvMetrics {
            folds: k,
            fold_auc,
            auc_mean,
            auc_sd,
            auc_pooled,
        },
        oof,
    ))
}
