//! Choosing an algorithm by inner cross-validation (`train --algorithm
//! auto`), and the nested cross-validation that estimates how well the whole
//! choose-then-fit procedure does on patients it has not seen.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::cv::{cross_validate, fit_predict, CvMetrics};
use crate::eval::metrics::auc;
use crate::features::Frame;
use crate::models::{AlgorithmParams, RawParams};
use crate::stats::folds::{fold_sets, stratified_folds};
use crate::stats::mean_sd;

/// Inner folds used to compare candidates.
pub const INNER_FOLDS: usize = 3;

/// The documented `auto` grid: sparse and dense linear models, a forest and
/// boosting, each at a few settings of its main parameter.
pub fn auto_grid() -> Vec<AlgorithmParams> {
    let specs: &[(&str, &[&str])] = &[
        ("logistic", &["c=0.01"]),
        ("logistic", &["c=0.1"]),
        ("logistic", &["c=1"]),
        ("elastic-net", &["alpha=0.01", "l1_ratio=1"]),
        ("elastic-net", &["alpha=0.02", "l1_ratio=1"]),
        ("elastic-net", &["alpha=0.03", "l1_ratio=1"]),
        ("elastic-net", &["alpha=0.05", "l1_ratio=1"]),
        ("elastic-net", &["alpha=0.05", "l1_ratio=0.5"]),
        ("forest", &[]),
        (
            "boosting",
            &["trees=200", "learning_rate=0.05", "max_depth=2"],
        ),
    ];
    specs
        .iter()
        .map(|(name, kv)| {
            let items: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
            let raw = RawParams::parse(&items).expect("grid entries are valid");
            AlgorithmParams::from_cli(name, &raw).expect("grid entries are valid")
        })
        .collect()
}

/// One candidate's inner-CV result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// The candidate.
    pub algorithm: AlgorithmParams,
    /// Mean inner-fold AUC (NaN-free: a failed candidate is left out).
    pub inner_auc: f64,
}

/// What `auto` chose for one arm, and the nested estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Inner folds used for choosing.
    pub inner_folds: usize,
    /// Every candidate's inner AUC on all of the arm's rows.
    pub candidates: Vec<CandidateScore>,
    /// The candidate chosen in each outer fold of the nested CV.
    pub outer_choices: Vec<String>,
}

/// Mean AUC of `algorithm` over `k` stratified folds of `rows`.
pub fn cv_auc(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    k: usize,
    algorithm: &AlgorithmParams,
    seed: u64,
) -> Result<f64> {
    let (metrics, _) = cross_validate(frame, rows, y, k, algorithm, seed, || {})?;
    // A fold without both classes has no AUC: count the candidate as chance.
    Ok(if metrics.auc_mean.is_finite() {
        metrics.auc_mean
    } else {
        0.5
    })
}

/// Scores every candidate by inner CV on `rows`; returns the scores (failed
/// candidates are dropped) and the index of the best among them.
pub fn choose(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    candidates: &[AlgorithmParams],
    seed: u64,
) -> Result<(Vec<CandidateScore>, usize)> {
    let results: Vec<Result<f64>> = candidates
        .par_iter()
        .map(|c| cv_auc(frame, rows, y, INNER_FOLDS, c, seed))
        .collect();
    let mut scores = Vec::new();
    let mut failures = Vec::new();
    for (c, r) in candidates.iter().zip(results) {
        match r {
            Ok(a) => scores.push(CandidateScore {
                algorithm: c.clone(),
                inner_auc: a,
            }),
            Err(e) => failures.push(format!("{} ({}): {e}", c.name(), c.describe())),
        }
    }
    if scores.is_empty() {
        return Err(Error::Fit(format!(
            "every candidate failed: {}",
            failures.join("; ")
        )));
    }
    // Highest AUC; ties go to the earlier (simpler) candidate.
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if s.inner_auc > scores[best].inner_auc {
            best = i;
        }
    }
    Ok((scores, best))
}

/// Nested CV: in each of `k` outer folds, choose by inner CV on the outer
/// training rows, fit the choice, and score the held-out rows. Returns the
/// metrics, each outer fold's choice and the out-of-fold probabilities.
pub fn nested_cv(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    k: usize,
    candidates: &[AlgorithmParams],
    seed: u64,
    on_fold: impl Fn() + Sync,
) -> Result<(CvMetrics, Vec<String>, Vec<f64>)> {
    let folds = stratified_folds(y, k, seed);
    type FoldResult = (f64, Vec<(usize, f64)>, String);
    let per_fold: Result<Vec<FoldResult>> = (0..k)
        .into_par_iter()
        .map(|f| {
            let s = fold_sets(&folds, f, rows, y);
            let fold_seed = seed.wrapping_add(1000 + f as u64);
            let (scores, best) = choose(frame, &s.train, &s.y_train, candidates, fold_seed)?;
            let chosen = &scores[best].algorithm;
            let p = fit_predict(frame, &s.train, &s.y_train, &s.test, chosen, fold_seed)?;
            on_fold();
            let label = format!("{} ({})", chosen.name(), chosen.describe());
            Ok((
                auc(&p, &s.y_test).unwrap_or(f64::NAN),
                s.test_positions.into_iter().zip(p).collect(),
                label,
            ))
        })
        .collect();
    let per_fold = per_fold?;
    let mut oof = vec![0.0; rows.len()];
    let mut fold_auc = Vec::with_capacity(k);
    let mut choices = Vec::with_capacity(k);
    for (a, preds, label) in per_fold {
        fold_auc.push(a);
        choices.push(label);
        for (i, p) in preds {
            oof[i] = p;
        }
    }
    let (auc_mean, auc_sd) = mean_sd(&fold_auc);
    Ok((
        CvMetrics {
            folds: k,
            fold_auc,
            auc_mean,
            auc_sd,
            auc_pooled: auc(&oof, y).unwrap_or(f64::NAN),
        },
        choices,
        oof,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_valid_and_named() {
        let g = auto_grid();
        assert_eq!(g.len(), 10);
        assert_eq!(g[0].name(), "logistic");
        assert!(g.iter().any(|a| a.name() == "elastic-net"));
    }
}
