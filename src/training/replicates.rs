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
//!
//! With `--group-col` (and `--resample-unit groups`, its default) the
//! replicates are a cluster bootstrap instead: replicate b draws as many
//! groups as there are, with replacement, and every arm takes all its
//! patients of each drawn group as often as it was drawn (Davison & Hinkley
//! 1997, §3.8, resampling the clusters only; Field & Welsh 2007). One draw
//! serves every arm, so a site's shared deviation moves all arms' models
//! together, as it does between real samples of sites.

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::bundle::{Arm, Design, Strategy};
use crate::error::{Error, Result};
use crate::models::{AlgorithmParams, FittedModel};
use crate::training::cohort::Cohort;
use crate::training::strategy::fit_s_learner_model;
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

/// A cluster-bootstrap draw of `g` groups with replacement: how often each
/// group was drawn.
fn draw_groups(rng: &mut Xoshiro256PlusPlus, g: usize) -> Vec<usize> {
    let mut counts = vec![0; g];
    for _ in 0..g {
        counts[rng.gen_range(0..g)] += 1;
    }
    counts
}

/// The positions of `of` (each position's group) in a draw with `counts`,
/// each repeated as often as its group was drawn, in position order.
fn expand(counts: &[usize], of: &[usize]) -> Vec<usize> {
    let mut idx = Vec::new();
    for (i, &g) in of.iter().enumerate() {
        idx.extend(std::iter::repeat_n(i, counts[g]));
    }
    idx
}

/// Positions' groups for cluster-bootstrap resamples, numbered densely
/// once (not at every replicate).
pub(crate) struct GroupIndex {
    /// Each position's group, in `0..groups`.
    dense: Vec<usize>,
    groups: usize,
}

impl GroupIndex {
    /// The groups of positions whose groups are `of` (any group indices).
    pub(crate) fn new(of: &[usize]) -> GroupIndex {
        let mut distinct: Vec<usize> = of.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let dense = of
            .iter()
            .map(|g| distinct.binary_search(g).unwrap_or(0))
            .collect();
        GroupIndex {
            dense,
            groups: distinct.len(),
        }
    }

    /// A cluster-bootstrap resample: the groups drawn with replacement,
    /// each drawn group's positions as often as it was drawn, redrawn until
    /// it holds at least `min` positions; `None` after [`MAX_DRAWS`] draws.
    pub(crate) fn resample(&self, rng: &mut Xoshiro256PlusPlus, min: usize) -> Option<Vec<usize>> {
        (0..MAX_DRAWS)
            .map(|_| expand(&draw_groups(rng, self.groups), &self.dense))
            .find(|idx| idx.len() >= min)
    }
}

/// A cluster bootstrap's draws: each replicate's group counts (one draw
/// for every arm), and each arm's group of each of its rows. Only the
/// counts are kept (replicates × groups), so memory does not grow with
/// replicates × patients; [`GroupDraws::arm`] expands one when it is fitted.
struct GroupDraws {
    counts: Vec<Vec<usize>>,
    of: Vec<Vec<usize>>,
}

impl GroupDraws {
    /// Replicate b's positions into arm a's rows.
    fn arm(&self, b: usize, a: usize) -> Vec<usize> {
        expand(&self.counts[b], &self.of[a])
    }
}

/// Replicate b's cluster-bootstrap draw of the cohort's groups, redrawn
/// until every arm holds both classes (checked from each group's class
/// counts in the arm).
fn joint_group_draws(c: &Cohort, replicates: usize, seed: u64) -> Result<GroupDraws> {
    let Some((labels, of_row)) = &c.groups else {
        return Err(Error::Fit(
            "internal: a cluster bootstrap without groups".into(),
        ));
    };
    let g = labels.len();
    let of: Vec<Vec<usize>> = c
        .arms
        .iter()
        .map(|d| d.rows.iter().map(|&r| of_row[r]).collect())
        .collect();
    // (responders, non-responders) of each group in each arm.
    let classes: Vec<Vec<(usize, usize)>> = c
        .arms
        .iter()
        .zip(&of)
        .map(|(d, o)| {
            let mut n = vec![(0, 0); g];
            for (&grp, &y) in o.iter().zip(&d.y) {
                if y {
                    n[grp].0 += 1;
                } else {
                    n[grp].1 += 1;
                }
            }
            n
        })
        .collect();
    let both = |counts: &[usize], n: &[(usize, usize)]| {
        let (mut pos, mut neg) = (0, 0);
        for (k, &(p, q)) in counts.iter().zip(n) {
            pos += k * p;
            neg += k * q;
        }
        pos > 0 && neg > 0
    };
    let counts = (0..replicates)
        .map(|b| {
            let mut rng = replicate_rng(seed ^ 0x6c05_7e12, b);
            let mut failed = 0;
            for _ in 0..MAX_DRAWS {
                let counts = draw_groups(&mut rng, g);
                match (0..classes.len()).find(|&a| !both(&counts, &classes[a])) {
                    None => return Ok(counts),
                    Some(a) => failed = a,
                }
            }
            Err(Error::Fit(format!(
                "arm `{}`: no cluster-bootstrap resample of the {g} groups with responders and non-responders in every arm in {MAX_DRAWS} draws; use --resample-unit patients",
                c.arms[failed].label(),
            )))
        })
        .collect::<Result<_>>()?;
    Ok(GroupDraws { counts, of })
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
        // The DR- and X-learner's final stages have replicates of their
        // own (dr_learner); these are their outcome models'.
        // A causal forest's intervals come from its little bags.
        // One that corrects the outcome models' effect adds their
        // replicates to them.
        Strategy::CausalForest if !how.forest_offset => Ok(()),
        Strategy::AutoEffect => Ok(()),
        _ if how.resample_groups && c.groups.is_none() => Err(Error::Fit(
            "internal: --resample-unit groups without --group-col".into(),
        )),
        // Per-arm or one shared model, as the arms were fitted.
        _ => match arms.first().map(|a| a.design) {
            Some(Design::SLearner { .. }) => {
                s_learner_replicates(c, arms, how.replicates, how.seed, how.resample_groups)
            }
            _ => t_learner_replicates(c, arms, how.replicates, how.seed, how.resample_groups),
        },
    }
}

/// Fits `replicates` bootstrap replicates of every arm of a T-learner
/// (`arms[a]` fitted on `c.arms[a]`) and stores them in the arms; with
/// `by_group`, a cluster bootstrap of the cohort's groups.
pub(crate) fn t_learner_replicates(
    c: &Cohort,
    arms: &mut [Arm],
    replicates: usize,
    seed: u64,
    by_group: bool,
) -> Result<()> {
    let draws = match by_group {
        true => Some(joint_group_draws(c, replicates, seed)?),
        false => None,
    };
    for (a, (arm, data)) in arms.iter_mut().zip(&c.arms).enumerate() {
        let (x, _) = arm.model_inputs(&c.frame, &data.rows)?;
        let dosage = arm.dosage_inputs();
        let algorithm = replicate_algorithm(&arm.algorithm, &arm.model);
        let arm_seed = crate::training::arm_seed(seed, a);
        let fitted: Result<Vec<FittedModel>> = (0..replicates)
            .into_par_iter()
            .map(|b| {
                let idx = match &draws {
                    Some(d) => d.arm(b, a),
                    None => resample(&mut replicate_rng(arm_seed, b), &data.y)
                        .ok_or_else(|| no_resample(&data.label()))?,
                };
                let xb = x.select(Axis(0), &idx);
                let yb: Vec<bool> = idx.iter().map(|&i| data.y[i]).collect();
                algorithm
                    .fit_masked(xb.view(), &yb, &dosage, arm_seed.wrapping_add(b as u64 + 1))
                    .map_err(crate::training::strategy::in_arm(&data.label()))
            })
            .collect();
        arm.replicates = fitted?;
    }
    Ok(())
}

/// Fits `replicates` bootstrap replicates of an S-learner's one model
/// (resampling within each arm, or the cohort's groups with `by_group`)
/// and stores them in every arm.
pub(crate) fn s_learner_replicates(
    c: &Cohort,
    arms: &mut [Arm],
    replicates: usize,
    seed: u64,
    by_group: bool,
) -> Result<()> {
    let Some(first) = arms.first() else {
        return Ok(());
    };
    // Each arm's deviation penalty, as the model was fitted with.
    let r: Vec<f64> = arms.iter().map(|a| a.design.deviation_penalty()).collect();
    // Pooled pipeline outputs: every arm's rows in arm order, and each
    // row's arm.
    let mut blocks: Vec<Array2<f64>> = Vec::with_capacity(r.len());
    let mut offsets = Vec::with_capacity(r.len());
    let mut y_all = Vec::new();
    let mut arm_all = Vec::new();
    for (a, data) in c.arms.iter().enumerate() {
        let (x, _) = first.pipeline.transform(&c.frame, &data.rows)?;
        offsets.push(y_all.len());
        y_all.extend_from_slice(&data.y);
        arm_all.extend(std::iter::repeat_n(a, data.rows.len()));
        blocks.push(x);
    }
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    let xs = ndarray::concatenate(Axis(0), &views)
        .map_err(|e| Error::Fit(format!("internal: S-learner inputs: {e}")))?;
    let algorithm = replicate_algorithm(&first.algorithm, &first.model);
    let dosage = first.dosage_inputs();
    let draws = match by_group {
        true => Some(joint_group_draws(c, replicates, seed)?),
        false => None,
    };
    let fitted: Result<Vec<FittedModel>> = (0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut rng = replicate_rng(seed, b);
            let mut idx = Vec::with_capacity(y_all.len());
            for (a, data) in c.arms.iter().enumerate() {
                let part = match &draws {
                    Some(d) => d.arm(b, a),
                    None => {
                        resample(&mut rng, &data.y).ok_or_else(|| no_resample(&data.label()))?
                    }
                };
                idx.extend(part.into_iter().map(|i| offsets[a] + i));
            }
            let xb = xs.select(Axis(0), &idx);
            let yb: Vec<bool> = idx.iter().map(|&i| y_all[i]).collect();
            let arm_b: Vec<usize> = idx.iter().map(|&i| arm_all[i]).collect();
            let rows = (xb.view(), arm_b.as_slice(), r.as_slice());
            fit_s_learner_model(
                &algorithm,
                rows,
                &yb,
                &dosage,
                seed.wrapping_add(b as u64 + 1),
            )
        })
        .collect();
    let fitted = fitted?;
    for arm in arms.iter_mut() {
        debug_assert!(matches!(arm.design, Design::SLearner { .. }));
        arm.replicates = fitted.clone();
    }
    Ok(())
}

/// The algorithm a bootstrap replicate refits: the arm's own, except that
/// a lasso keeps the penalty and relaxation (or adaptive μ) its model chose by internal
/// cross-validation (the inputs it keeps are chosen afresh in every
/// replicate).
fn replicate_algorithm(algorithm: &AlgorithmParams, model: &FittedModel) -> AlgorithmParams {
    match (algorithm, model) {
        (AlgorithmParams::Lasso(p), FittedModel::Lasso(m)) => AlgorithmParams::Lasso(p.fixed_at(m)),
        _ => algorithm.clone(),
    }
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

    /// A cluster-bootstrap resample takes every position of a drawn group
    /// as often as the group was drawn, and draws as many groups as there
    /// are.
    #[test]
    fn group_resamples_keep_groups_whole() {
        let of = [10, 10, 10, 4, 4, 7, 7, 7, 7, 2];
        let index = GroupIndex::new(&of);
        for b in 0..50 {
            let idx = index.resample(&mut replicate_rng(5, b), 2).unwrap();
            let mut per_group = std::collections::BTreeMap::<usize, Vec<usize>>::new();
            for &i in &idx {
                per_group.entry(of[i]).or_default().push(i);
            }
            let mut drawn = 0;
            for (g, members) in per_group {
                let size = of.iter().filter(|&&x| x == g).count();
                assert_eq!(members.len() % size, 0, "group {g} split in replicate {b}");
                drawn += members.len() / size;
                for i in (0..of.len()).filter(|&i| of[i] == g) {
                    assert_eq!(
                        members.iter().filter(|&&m| m == i).count(),
                        members.len() / size
                    );
                }
            }
            assert_eq!(drawn, 4);
        }
        // One group: the resample is always the whole set.
        let one = GroupIndex::new(&[3, 3, 3])
            .resample(&mut replicate_rng(5, 0), 1)
            .unwrap();
        assert_eq!(one, vec![0, 1, 2]);
    }
}
