//! `compare`: every chosen algorithm on identical repeated stratified
//! folds, per arm, through the shared cross-validation loop; per fold the
//! held-out AUC, Brier score, log-loss, accuracy and the fit time.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::models::AlgorithmParams;
use crate::stats::mean_sd;
use crate::stats::scores::{accuracy, auc, brier, log_loss};
use crate::training::arm_seed;
use crate::training::cohort::{ArmData, Cohort};
use crate::training::cv::{fit_rows, fold_seed, for_each_fold, pick, Folds};

/// One algorithm on one arm, summarised over every fold (stable JSON keys).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CompareRow {
    /// Therapy arm (`all` without arms).
    pub(crate) arm: String,
    /// Algorithm name.
    pub(crate) algorithm: String,
    /// Its hyper-parameters.
    pub(crate) params: String,
    /// Folds that succeeded.
    pub(crate) folds_ok: usize,
    /// Folds that failed.
    pub(crate) folds_failed: usize,
    /// Mean fold AUC.
    pub(crate) auc_mean: f64,
    /// SD of fold AUC.
    pub(crate) auc_sd: f64,
    /// Mean Brier score.
    pub(crate) brier_mean: f64,
    /// SD of the Brier score.
    pub(crate) brier_sd: f64,
    /// Mean log-loss.
    pub(crate) log_loss_mean: f64,
    /// SD of the log-loss.
    pub(crate) log_loss_sd: f64,
    /// Mean accuracy at 0.5.
    pub(crate) accuracy_mean: f64,
    /// SD of the accuracy.
    pub(crate) accuracy_sd: f64,
    /// Mean seconds to fit pipeline + model on one fold (not deterministic).
    pub(crate) fit_seconds_mean: f64,
    /// The first failure, if any.
    pub(crate) first_error: Option<String>,
}

/// One fold's held-out scores.
struct FoldScore {
    auc: f64,
    brier: f64,
    log_loss: f64,
    accuracy: f64,
    seconds: f64,
}

/// The folds of one arm in one repeat, shared by every algorithm.
struct Split<'a> {
    arm: usize,
    data: &'a ArmData,
    folds: Folds,
    seed: u64,
}

/// The folds of every (arm, repeat): seeded per arm and repeat, so every
/// algorithm is judged on exactly the same held-out patients.
fn splits(cohort: &Cohort, cv: usize, repeats: usize, seed: u64) -> Vec<Split<'_>> {
    let mut out = Vec::new();
    for (a, arm) in cohort.arms.iter().enumerate() {
        for r in 0..repeats {
            let s = arm_seed(seed, a).wrapping_add(7919 * r as u64);
            out.push(Split {
                arm: a,
                data: arm,
                folds: cohort.folds(&arm.rows, &arm.y, cv, s),
                seed: s,
            });
        }
    }
    out
}

/// Fits `algorithm` on each fold of `split` and scores the held-out rows;
/// a failed fold is an `Err` in its place.
fn score_folds(
    cohort: &Cohort,
    split: &Split,
    algorithm: &AlgorithmParams,
    on_fold: &(dyn Fn() + Sync),
) -> Vec<Result<FoldScore>> {
    let arm = split.data;
    let per_fold = for_each_fold(&split.folds, on_fold, |fold| {
        let start = Instant::now();
        let (train, y_train) = (pick(&arm.rows, &fold.train), pick(&arm.y, &fold.train));
        let fitted = fit_rows(
            &cohort.frame,
            &train,
            &y_train,
            algorithm,
            fold_seed(split.seed, fold.index),
        );
        let seconds = start.elapsed().as_secs_f64();
        Ok(fitted.and_then(|(pipeline, model)| {
            let (x, _) = pipeline.transform(&cohort.frame, &pick(&arm.rows, &fold.test))?;
            let p = model.predict_proba(x.view())?.to_vec();
            let y = pick(&arm.y, &fold.test);
            Ok(FoldScore {
                auc: auc(&p, &y).unwrap_or(f64::NAN),
                brier: brier(&p, &y),
                log_loss: log_loss(&p, &y),
                accuracy: accuracy(&p, &y),
                seconds,
            })
        }))
    });
    // The closure never fails: each fold's own error is kept in its place.
    per_fold.map_or_else(
        |e| vec![Err(e)],
        |v| v.into_iter().map(|(_, r)| r).collect(),
    )
}

/// Compares `algorithms` on every arm of `cohort` over `repeats` × `cv`
/// folds. Rows are sorted by mean AUC within each arm (failed algorithms
/// last); `on_fold` is called after each fit; `warn` receives one message
/// per algorithm and arm with failures.
pub(crate) fn compare(
    cohort: &Cohort,
    algorithms: &[AlgorithmParams],
    cv: usize,
    repeats: usize,
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> (Vec<CompareRow>, Vec<String>) {
    let splits = splits(cohort, cv, repeats, seed);
    let tasks: Vec<(usize, usize)> = (0..splits.len())
        .flat_map(|s| (0..algorithms.len()).map(move |g| (s, g)))
        .collect();
    let results: Vec<Vec<Result<FoldScore>>> = tasks
        .par_iter()
        .map(|&(s, g)| score_folds(cohort, &splits[s], &algorithms[g], on_fold))
        .collect();
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    for (a, arm) in cohort.arms.iter().enumerate() {
        let mut arm_rows: Vec<CompareRow> = algorithms
            .iter()
            .enumerate()
            .map(|(g, algo)| {
                let scores = tasks
                    .iter()
                    .zip(&results)
                    .filter(|((s, gg), _)| splits[*s].arm == a && *gg == g)
                    .flat_map(|(_, r)| r);
                let row = summarise(&arm.label(), algo, scores);
                if let Some(e) = &row.first_error {
                    warnings.push(format!(
                        "{} failed on {} of {} folds of arm {}: {e}",
                        algo.name(),
                        row.folds_failed,
                        cv * repeats,
                        arm.label()
                    ));
                }
                row
            })
            .collect();
        // Best first within each arm; failed algorithms last.
        let key = |r: &CompareRow| {
            if r.auc_mean.is_finite() {
                r.auc_mean
            } else {
                f64::NEG_INFINITY
            }
        };
        arm_rows.sort_by(|x, y| key(y).total_cmp(&key(x)));
        rows.extend(arm_rows);
    }
    (rows, warnings)
}

/// Mean ± SD of each score over the folds that succeeded.
fn summarise<'a>(
    arm: &str,
    algo: &AlgorithmParams,
    scores: impl Iterator<Item = &'a Result<FoldScore>>,
) -> CompareRow {
    let mut ok = Vec::new();
    let (mut failed, mut first_error) = (0, None);
    for r in scores {
        match r {
            Ok(s) => ok.push(s),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let stat = |f: fn(&FoldScore) -> f64| {
        let v: Vec<f64> = ok.iter().map(|s| f(s)).filter(|v| v.is_finite()).collect();
        mean_sd(&v)
    };
    let (auc_mean, auc_sd) = stat(|s| s.auc);
    let (brier_mean, brier_sd) = stat(|s| s.brier);
    let (log_loss_mean, log_loss_sd) = stat(|s| s.log_loss);
    let (accuracy_mean, accuracy_sd) = stat(|s| s.accuracy);
    CompareRow {
        arm: arm.to_string(),
        algorithm: algo.name().to_string(),
        params: algo.describe(),
        folds_ok: ok.len(),
        folds_failed: failed,
        auc_mean,
        auc_sd,
        brier_mean,
        brier_sd,
        log_loss_mean,
        log_loss_sd,
        accuracy_mean,
        accuracy_sd,
        fit_seconds_mean: stat(|s| s.seconds).0,
        first_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ReadOptions, TargetRule};
    use crate::models::RawParams;
    use crate::notes::Notes;
    use crate::training::CohortSpec;

    /// A small two-arm cohort with signal in `x` and noise in `z`.
    fn cohort(dir: &std::path::Path) -> Cohort {
        let mut text = String::from("patient_id,x,z,therapy,responder\n");
        for i in 0..160u64 {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            let x = (h % 97) as f64 / 10.0;
            let resp = x + (h % 13) as f64 / 3.0 > 7.0;
            let arm = if i % 2 == 0 { "A" } else { "B" };
            text.push_str(&format!("P{i},{x},{},{arm},{}\n", h % 7, u8::from(resp)));
        }
        let path = dir.join("c.csv");
        std::fs::write(&path, text).unwrap();
        let spec = CohortSpec {
            data: path.display().to_string(),
            genotypes: None,
            read: ReadOptions::defaults("patient_id"),
            target: "responder".into(),
            rule: TargetRule::Binary,
            therapy_col: Some("therapy".into()),
            therapy: None,
            group_col: None,
            features: Vec::new(),
            exclude: Vec::new(),
            categorical: Vec::new(),
            genetic: Default::default(),
            log_skewed: false,
        };
        Cohort::assemble(&spec, 5, "test", &mut Notes::default()).unwrap()
    }

    fn logistic(kv: &[&str]) -> AlgorithmParams {
        let items: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
        AlgorithmParams::from_cli("logistic", &RawParams::parse(&items).unwrap()).unwrap()
    }

    #[test]
    fn every_algorithm_sees_identical_folds() {
        // Two settings of one deterministic algorithm that cannot differ
        // (the fit converges long before either iteration cap): any
        // difference in their scores can only come from different folds.
        let dir = tempfile::tempdir().unwrap();
        let c = cohort(dir.path());
        let algos = [logistic(&["max_iter=100"]), logistic(&["max_iter=5000"])];
        let (rows, warnings) = compare(&c, &algos, 5, 3, 11, &|| {});
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(rows.len(), 4);
        for arm in ["A", "B"] {
            let r: Vec<&CompareRow> = rows.iter().filter(|r| r.arm == arm).collect();
            assert_eq!(r[0].folds_ok, 15);
            for (a, b) in [
                (r[0].auc_mean, r[1].auc_mean),
                (r[0].auc_sd, r[1].auc_sd),
                (r[0].brier_mean, r[1].brier_mean),
                (r[0].log_loss_mean, r[1].log_loss_mean),
                (r[0].accuracy_mean, r[1].accuracy_mean),
            ] {
                assert_eq!(a.to_bits(), b.to_bits(), "arm {arm}");
            }
        }
        // A different seed gives different folds, so different scores: the
        // check above can fail.
        let (other, _) = compare(&c, &algos[..1], 5, 3, 12, &|| {});
        assert_ne!(other[0].auc_mean.to_bits(), rows[0].auc_mean.to_bits());
    }
}
