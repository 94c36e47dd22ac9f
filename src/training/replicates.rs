//! Bootstrap-of-the-learner replicates (`train --replicates B`): each arm's
//! algorithm refitted on B resamples of the training patients, so that
//! `score --intervals` can put a 95 % interval on every patient's effect
//! (p under an arm − p under control) from the spread of the replicates'
//! predictions (Efron & Tibshirani 1993, ch. 6: the bootstrap standard error
//! of a statistic; here the statistic is the fitted learner's prediction at
//! a patient's features).
//!
//! The resamples are drawn within each arm (so every replicate keeps the
//! arm sizes), each arm's pipeline is kept as fitted on all its patients,
//! and only the model is refitted; `auto` arms refit the algorithm `auto`
//! chose, without re-tuning.

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::bundle::{s_learner_inputs, Arm, Design, Strategy};
use crate::error::{Error, Result};
use crate::models::FittedModel;
use crate::training::cohort::Cohort;
use crate::training::TrainSpec;

/// Draws of a resample with both classes before giving up.
const MAX_DRAWS: usize = 1_000;

/// Resample positions `0..n` with replacement, redrawn until the labels
/// `y` at them hold both classes; `None` after [`MAX_DRAWS`] draws.
fn resample(rng: &mut Xoshiro256PlusPlus, y: &[bool]) -> Option<Vec<usize>> {
    let n = y.len();
    for _ in 0..MAX_DRAWS {
        let idx: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
        let pos = idx.iter().filter(|&&i| y[i]).count();
        if pos > 0 && pos < n {
            return Some(idx);
        }
    }
    None
}

/// The seeded stream of replicate `b`.
fn replicate_rng(seed: u64, b: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(
        seed ^ 0x7e91_1ca7_e5ee_d000 ^ (b as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

fn no_resample(label: &str) -> Error {
    Error::Fit(format!(
        "arm `{label}`: no bootstrap resample with both responders and non-responders in {MAX_DRAWS} draws; the arm is too small for --replicates"
    ))
}

/// Adds `how.replicates` bootstrap replicates (none when 0) to the arms
/// just fitted with `how.strategy`.
pub(crate) fn add(c: &Cohort, arms: &mut [Arm], how: &TrainSpec) -> Result<()> {
    match how.strategy {
        _ if how.replicates == 0 => Ok(()),
        // The DR- and X-learner's outcome models are a T-learner's; their
        // final stages have replicates of their own (dr_learner).
        // A causal forest's intervals come from its little bags.
        Strategy::CausalForest | Strategy::AutoEffect => Ok(()),
        Strategy::TLearner | Strategy::DrLearner | Strategy::XLearner => {
            t_learner_replicates(c, arms, how.replicates, how.seed)
        }
        Strategy::SLearner => s_learner_replicates(c, arms, how.replicates, how.seed),
    }
}

/// Fits `replicates` bootstrap replicates of every arm of a T-learner
/// (`arms[a]` fitted on `c.arms[a]`) and stores them in the arms.
pub(crate) fn t_learner_replicates(
    c: &Cohort,
    arms: &mut [Arm],
    replicates: usize,
    seed: u64,
) -> Result<()> {
    for (a, (arm, data)) in arms.iter_mut().zip(&c.arms).enumerate() {
        let (x, _) = arm.model_inputs(&c.frame, &data.rows)?;
        let arm_seed = crate::training::arm_seed(seed, a);
        let fitted: Result<Vec<FittedModel>> = (0..replicates)
            .into_par_iter()
            .map(|b| {
                let mut rng = replicate_rng(arm_seed, b);
                let idx = resample(&mut rng, &data.y).ok_or_else(|| no_resample(&data.label()))?;
                let xb = x.select(Axis(0), &idx);
                let yb: Vec<bool> = idx.iter().map(|&i| data.y[i]).collect();
                arm.algorithm
                    .fit(xb.view(), &yb, arm_seed.wrapping_add(b as u64 + 1))
                    .map_err(crate::training::strategy::in_arm(&data.label()))
            })
            .collect();
        arm.replicates = fitted?;
    }
    Ok(())
}

/// Fits `replicates` bootstrap replicates of an S-learner's one model
/// (resampling within each arm) and stores them in every arm.
pub(crate) fn s_learner_replicates(
    c: &Cohort,
    arms: &mut [Arm],
    replicates: usize,
    seed: u64,
) -> Result<()> {
    let Some(first) = arms.first() else {
        return Ok(());
    };
    let k = c.arms.len();
    // Pooled inputs: every arm's rows in arm order, with the arm indicators.
    let mut blocks: Vec<Array2<f64>> = Vec::with_capacity(k);
    let mut offsets = Vec::with_capacity(k);
    let mut y_all = Vec::new();
    for (a, data) in c.arms.iter().enumerate() {
        let (x, _) = first.pipeline.transform(&c.frame, &data.rows)?;
        offsets.push(y_all.len());
        y_all.extend_from_slice(&data.y);
        blocks.push(s_learner_inputs(x.view(), &vec![a; data.rows.len()], k));
    }
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    let xs = ndarray::concatenate(Axis(0), &views)
        .map_err(|e| Error::Fit(format!("internal: S-learner inputs: {e}")))?;
    let algorithm = first.algorithm.clone();
    let fitted: Result<Vec<FittedModel>> = (0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut rng = replicate_rng(seed, b);
            let mut idx = Vec::with_capacity(y_all.len());
            for (a, data) in c.arms.iter().enumerate() {
                let part = resample(&mut rng, &data.y).ok_or_else(|| no_resample(&data.label()))?;
                idx.extend(part.into_iter().map(|i| offsets[a] + i));
            }
            let xb = xs.select(Axis(0), &idx);
            let yb: Vec<bool> = idx.iter().map(|&i| y_all[i]).collect();
            algorithm.fit(xb.view(), &yb, seed.wrapping_add(b as u64 + 1))
        })
        .collect();
    let fitted = fitted?;
    for arm in arms.iter_mut() {
        debug_assert!(matches!(arm.design, Design::SLearner { .. }));
        arm.replicates = fitted.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_keep_both_classes_and_are_seeded() {
        let y = [true, false, false, false, false, false, false, false];
        let a = resample(&mut replicate_rng(3, 0), &y).unwrap();
        let b = resample(&mut replicate_rng(3, 0), &y).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), y.len());
        assert!(a.iter().any(|&i| y[i]) && a.iter().any(|&i| !y[i]));
        assert_ne!(a, resample(&mut replicate_rng(3, 1), &y).unwrap());
        assert!(resample(&mut replicate_rng(3, 0), &[true, true]).is_none());
    }
}
