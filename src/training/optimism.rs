//! Harrell's bootstrap optimism correction (Harrell, Lee & Mark, Stat Med
//! 1996;15:361; Efron 1983), as `rms::validate(fit, method = "boot")`:
//! the whole pipeline (imputation, encoding, scaling, model) is refitted on
//! each bootstrap sample of the patients, scored on that sample
//! ("training") and on the original patients ("test"); optimism = mean
//! (training − test); corrected = apparent − optimism. Checked against
//! `bench/validation_reference.R` (fixtures `tests/fixtures/validation/`).

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::features::Frame;
use crate::models::AlgorithmParams;
use crate::stats::glm::logistic_fit;
use crate::stats::scores::{auc, brier};
use crate::stats::{clip_prob, logit};
use crate::training::cv::{fit_rows, pick};

/// One index: apparent, optimism, corrected.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Corrected {
    /// On the patients the model was fitted on.
    pub(crate) apparent: f64,
    /// Mean over bootstrap fits of (on their sample − on the original).
    pub(crate) optimism: f64,
    /// `apparent − optimism`.
    pub(crate) corrected: f64,
}

/// The optimism-corrected indices of one arm's model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Optimism {
    /// `bootstrap` (Harrell).
    pub(crate) method: &'static str,
    /// Bootstrap samples drawn.
    pub(crate) replicates: usize,
    /// Samples whose refit was used (a sample with one class, or whose
    /// fit or recalibration failed, is left out, as rms does).
    pub(crate) used: usize,
    /// AUC (C-statistic).
    pub(crate) auc: Corrected,
    /// Brier score.
    pub(crate) brier: Corrected,
    /// Calibration intercept `a` of `logit P(y) = a + b · logit(p)`.
    pub(crate) calibration_intercept: Corrected,
    /// Calibration slope `b` of the same fit.
    pub(crate) calibration_slope: Corrected,
}

/// AUC, Brier, calibration intercept and slope of `p` for `y`; `None`
/// when the AUC or the recalibration is undefined.
fn indices(p: &[f64], y: &[bool]) -> Option<[f64; 4]> {
    let a = auc(p, y)?;
    let lp: Vec<f64> = p.iter().map(|&v| logit(clip_prob(v))).collect();
    let fit = logistic_fit(&[vec![1.0; p.len()], lp], &vec![0.0; p.len()], y)?;
    Some([a, brier(p, y), fit.beta[0], fit.beta[1]])
}

/// Fits `algorithm` on `train` (positions into `rows`/`y`) and predicts
/// `test`.
fn refit(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    train: &[usize],
    test: &[usize],
    algorithm: &AlgorithmParams,
    seed: u64,
) -> Result<Vec<f64>> {
    let (pipeline, model) = fit_rows(frame, &pick(rows, train), &pick(y, train), algorithm, seed)?;
    let (x, _) = pipeline.transform(frame, &pick(rows, test))?;
    Ok(model.predict_proba(x.view())?.to_vec())
}

/// Bootstrap optimism of `algorithm` on frame `rows` with labels `y`:
/// `replicates` samples of `rows.len()` patients drawn with replacement
/// (seeded by `seed`). `None` when the apparent indices are undefined.
pub(crate) fn bootstrap_optimism(
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    algorithm: &AlgorithmParams,
    replicates: usize,
    seed: u64,
) -> Result<Option<Optimism>> {
    let all: Vec<usize> = (0..rows.len()).collect();
    let apparent_p = refit(frame, rows, y, &all, &all, algorithm, seed)?;
    let Some(apparent) = indices(&apparent_p, y) else {
        return Ok(None);
    };
    let per_rep: Vec<Option<[f64; 4]>> = (0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (b as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let sample: Vec<usize> = (0..rows.len())
                .map(|_| rng.gen_range(0..rows.len()))
                .collect();
            let ys = pick(y, &sample);
            if ys.iter().all(|&v| v) || ys.iter().all(|&v| !v) {
                return None;
            }
            // One fit: predict the sample, then the original patients.
            let both: Vec<usize> = sample.iter().chain(&all).copied().collect();
            let p = refit(
                frame,
                rows,
                y,
                &sample,
                &both,
                algorithm,
                seed.wrapping_add(b as u64),
            )
            .ok()?;
            let (p_boot, p_orig) = p.split_at(sample.len());
            let train = indices(p_boot, &ys)?;
            let test = indices(p_orig, y)?;
            Some(std::array::from_fn(|k| train[k] - test[k]))
        })
        .collect();
    let used: Vec<[f64; 4]> = per_rep.into_iter().flatten().collect();
    if used.is_empty() {
        return Ok(None);
    }
    let corrected = |k: usize| {
        let optimism = used.iter().map(|o| o[k]).sum::<f64>() / used.len() as f64;
        Corrected {
            apparent: apparent[k],
            optimism,
            corrected: apparent[k] - optimism,
        }
    };
    Ok(Some(Optimism {
        method: "bootstrap",
        replicates,
        used: used.len(),
        auc: corrected(0),
        brier: corrected(1),
        calibration_intercept: corrected(2),
        calibration_slope: corrected(3),
    }))
}
