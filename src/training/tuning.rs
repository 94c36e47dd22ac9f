//! `--algorithm auto`: choosing an algorithm per arm by inner
//! cross-validation over a small fixed grid, and the nested
//! cross-validation that estimates how well the whole choose-then-fit
//! procedure does on patients it has not seen.

use rayon::prelude::*;

use crate::bundle::{CandidateScore, CvMetrics};
use crate::error::{Error, Result};
use crate::features::Frame;
use crate::models::{AlgorithmParams, RawParams};
use crate::stats::scores::auc;
use crate::training::cv::{cross_validate, cv_metrics, fit_predict, for_each_fold, pick, Folds};

/// Inner folds used to compare candidates.
pub(crate) const INNER_FOLDS: usize = 3;

/// The documented `auto` grid: sparse and dense linear models, a forest and
/// boosting, each at a few settings of its main parameter.
pub(crate) fn auto_grid() -> Vec<AlgorithmParams> {
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

/// Scores every candidate by inner CV on `rows`; returns the scores (failed
/// candidates are dropped) and the index of the best among them.
pub(crate) fn choose(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    candidates: &[AlgorithmParams],
    seed: u64,
) -> Result<(Vec<CandidateScore>, usize)> {
    let results: Vec<Result<f64>> = candidates
        .par_iter()
        .map(|c| {
            let folds = Folds::stratified(y, INNER_FOLDS, seed);
            let (m, _) = cross_validate(frame, rows, y, &folds, c, seed, &|| {})?;
            // A fold without both classes has no AUC: count the candidate
            // as chance.
            Ok(if m.auc_mean.is_finite() {
                m.auc_mean
            } else {
                0.5
            })
        })
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

/// Nested CV: in each outer fold of `folds`, choose by inner CV on the outer
/// training rows, fit the choice, and score the held-out rows. Returns the
/// metrics, each outer fold's choice and the out-of-fold probabilities.
pub(crate) fn nested_cv(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    folds: &Folds,
    candidates: &[AlgorithmParams],
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(CvMetrics, Vec<String>, Vec<f64>)> {
    let k = folds.k();
    let per_fold = for_each_fold(folds, on_fold, |fold| {
        let (train, y_train) = (pick(rows, &fold.train), pick(y, &fold.train));
        let fold_seed = seed.wrapping_add(1000 + fold.index as u64);
        let (scores, best) = choose(frame, &train, &y_train, candidates, fold_seed)?;
        let chosen = &scores[best].algorithm;
        let test = pick(rows, &fold.test);
        let p = fit_predict(frame, &train, &y_train, &test, chosen, fold_seed)?;
        Ok((p, format!("{} ({})", chosen.name(), chosen.describe())))
    })?;
    let mut oof = vec![0.0; rows.len()];
    let mut fold_auc = Vec::with_capacity(k);
    let mut choices = Vec::with_capacity(k);
    for (fold, (p, label)) in per_fold {
        fold_auc.push(auc(&p, &pick(y, &fold.test)).unwrap_or(f64::NAN));
        choices.push(label);
        for (&i, p) in fold.test.iter().zip(p) {
            oof[i] = p;
        }
    }
    Ok((cv_metrics(fold_auc, &oof, y), choices, oof))
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
