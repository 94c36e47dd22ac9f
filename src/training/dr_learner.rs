//! DR-learner (Kennedy 2023, "Towards optimal doubly robust estimation of
//! heterogeneous causal effects", Electron. J. Statist. 17:3008; the
//! `DRLearner` of EconML and `BaseDRLearner` of CausalML).
//!
//! 1. Outcome models μ_a: the T-learner's per-arm models, with each
//!    training patient's cross-fitted prediction under every arm (their own
//!    arm from the fold model that left them out, the others from models
//!    that never saw them); or, with `--outcome-models s-learner`, the
//!    S-learner's one model and its out-of-fold predictions under every
//!    arm. "The T-learner's effect" τ_T below is then the S-learner's.
//! 2. Propensities e_a: a cross-fitted multinomial logistic model of the
//!    arm received on the control arm's pipeline outputs, clipped to
//!    [`PROPENSITY_FLOOR`, 1 − floor].
//! 3. For each arm a ≠ control c, the doubly robust pseudo-outcome
//!    φ = μ_a − μ_c + 1{A = a}(Y − μ_a)/e_a − 1{A = c}(Y − μ_c)/e_c,
//!    whose conditional mean given the features is the effect τ_a(x).
//! 4. The final stage: a lasso regression of φ − τ_T on the control arm's
//!    pipeline outputs z, where τ_T = μ_a − μ_c is the T-learner's
//!    cross-fitted effect; the effect is τ(x) = τ_T(x) + γ₀ + γ·z. This is
//!    a DR-learner whose second-stage model class is "the T-learner's
//!    effect plus a linear correction": the penalty shrinks towards the
//!    T-learner rather than towards a constant effect, and the correction
//!    is fitted to doubly robust pseudo-outcomes, so a bias of the outcome
//!    models that is linear in the features is removed. (With τ_T itself
//!    as an input, a coefficient of −10 on it was chosen on one simulated
//!    cohort and amplified every difference between the fold and final
//!    outcome models: it is left out.) The penalty is chosen among
//!    [`ALPHAS`] by the cross-validated mean squared error against
//!    φ (the DR loss). The out-of-fold effects become the bundle's
//!    cross-fitted predictions (p_a = p_c + τ_a).
//!
//! `--replicates B` refits the final stage on B bootstrap resamples of the
//! patients (its pseudo-outcomes held fixed); `score --intervals` adds
//! replicate b of the correction to the T-learner effect of replicate b of
//! the outcome models (`training::replicates`). The two bootstraps are
//! drawn separately, so a correction that offsets an outcome model's error
//! does not move with it in a replicate: the interval then counts that
//! error in full and is conservative (on `simulate`'s cohorts the
//! correction kept no feature; with the default outcome models, the lasso
//! with `adaptive=cv`, coverage of the true effects was 93.9–98.0 % at
//! mean widths 0.37–0.43, `bench/effect_intervals.txt`).

use ndarray::{Array1, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::bundle::{Arm, ArmEffect, ArmForest, CrossFitted, EffectModel, Linear, XStage};
use crate::effects::propensity;
use crate::error::{Error, Result};
use crate::models::causal_forest::{CausalForest, ForestParams, Residuals, MIN_CLUSTERS};
use crate::models::coordinate_descent::{elastic_net_from, Design};
use crate::stats::folds::{grouped_folds, split, stratified_folds};
use crate::training::cohort::Cohort;

/// Candidate lasso penalties of the final stage (scikit-learn's `alpha`:
/// the loss is ‖φ − Zw‖²/(2n) + α‖w‖₁ on standardised inputs).
pub(crate) const ALPHAS: [f64; 8] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];
/// Folds choosing the final stage's penalty.
pub(crate) const FINAL_FOLDS: usize = 5;
/// Propensities are clipped to [floor, 1 − floor] in the pseudo-outcome.
pub(crate) const PROPENSITY_FLOOR: f64 = 0.02;

/// Which final stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// DR-learner: doubly robust pseudo-outcomes.
    Dr,
    /// X-learner: imputed effects in each arm, mixed by the arm share.
    X,
    /// Causal forest: one honest forest per arm on the orthogonalised
    /// outcome of the arm's and the control's patients.
    Forest,
}

/// The outcome models' fitted arms (a T- or S-learner) and cross-fitted
/// predictions, and the run's settings.
pub(crate) struct DrInputs<'a> {
    /// DR- or X-learner.
    pub(crate) kind: Kind,
    /// The cohort.
    pub(crate) cohort: &'a Cohort,
    /// The outcome models (per arm, or an S-learner's copies).
    pub(crate) arms: &'a [Arm],
    /// Every training patient's cross-fitted prediction under every arm.
    pub(crate) cross: &'a CrossFitted,
    /// The control arm.
    pub(crate) control: usize,
    /// The seed.
    pub(crate) seed: u64,
    /// Bootstrap replicates of the final stage.
    pub(crate) replicates: usize,
    /// Whether they resample the `--group-col` groups (cluster bootstrap).
    pub(crate) resample_groups: bool,
    /// Trees of each causal forest.
    pub(crate) forest_trees: usize,
    /// Whether each forest corrects the T-learner's effect.
    pub(crate) forest_offset: bool,
}

/// The training patients in the order of the cross-fitted predictions
/// (sorted by row) as (row, arm received, outcome), the control arm's
/// pipeline outputs for them, and their cross-fitted propensities.
struct Prepared {
    patients: Vec<(usize, usize, bool)>,
    /// Each patient's `--group-col` group, when given.
    groups: Option<Vec<usize>>,
    received: Vec<usize>,
    z: ndarray::Array2<f64>,
    e: Vec<Vec<f64>>,
    propensity_l2: f64,
}

fn prepare(inp: &DrInputs) -> Result<Prepared> {
    let c = inp.cohort;
    let mut patients: Vec<(usize, usize, bool)> = Vec::new();
    for (a, arm) in c.arms.iter().enumerate() {
        for (&r, &y) in arm.rows.iter().zip(&arm.y) {
            patients.push((r, a, y));
        }
    }
    patients.sort_by_key(|t| t.0);
    let rows: Vec<usize> = patients.iter().map(|t| t.0).collect();
    let received: Vec<usize> = patients.iter().map(|t| t.1).collect();
    if received != inp.cross.received {
        return Err(Error::Fit(
            "internal: DR-learner patients out of order".into(),
        ));
    }
    let (z, _) = inp.arms[inp.control].pipeline.transform(&c.frame, &rows)?;
    let groups: Option<Vec<usize>> = c
        .groups
        .as_ref()
        .map(|(_, of)| rows.iter().map(|&r| of[r]).collect());
    let (e, propensity_l2) =
        propensity::cross_fitted(&z, &received, inp.arms.len(), inp.seed, groups.as_deref());
    Ok(Prepared {
        patients,
        groups,
        received,
        z,
        e,
        propensity_l2,
    })
}

/// Each candidate's per-patient DR losses, and each patient's group.
pub(crate) type DrLosses = (Vec<Vec<f64>>, Option<Vec<usize>>);

/// Each patient's cross-validated DR loss for each candidate's
/// cross-fitted predictions (their mean is the DR loss): the mean over arms
/// other than the control of
/// (φ_a − τ̂_a)², with φ the doubly robust pseudo-outcome of the shared
/// cross-fitted outcome and propensity models and τ̂_a = p_a − p_c (the
/// DR-loss of Kennedy 2023 §4 and EconML's `score`, used for model
/// selection by Saito & Yasui 2020 and Mahajan et al. 2024), and each
/// patient's `--group-col` group when given.
pub(crate) fn dr_losses(inp: &DrInputs, candidates: &[&CrossFitted]) -> Result<DrLosses> {
    let p = prepare(inp)?;
    let cc = inp.control;
    let k = inp.arms.len();
    let mu = &inp.cross.p;
    let phis: Vec<Vec<f64>> = (0..k)
        .map(|a| match a == cc {
            true => Vec::new(),
            false => pseudo_outcomes(&p.patients, mu, &p.e, a, cc),
        })
        .collect();
    let others = (k - 1).max(1) as f64;
    let per_patient = candidates
        .iter()
        .map(|cand| {
            let mut per = vec![0.0; p.patients.len()];
            for a in (0..k).filter(|&a| a != cc) {
                for (i, phi) in phis[a].iter().enumerate() {
                    let d = phi - (cand.p[a][i] - cand.p[cc][i]);
                    per[i] += d * d / others;
                }
            }
            per
        })
        .collect();
    Ok((per_patient, p.groups))
}

/// Fits the final stage and returns it with the cross-fitted predictions
/// of the DR-learner (the control's outcome model plus each arm's
/// out-of-fold effect).
pub(crate) fn fit(inp: &DrInputs) -> Result<(EffectModel, CrossFitted)> {
    let prep = prepare(inp)?;
    let Prepared {
        patients,
        groups,
        received,
        z,
        e,
        propensity_l2,
    } = &prep;
    let (e, propensity_l2) = (e.as_slice(), *propensity_l2);
    let groups = groups.as_deref();
    let k = inp.arms.len();
    let mu = &inp.cross.p;
    let cc = inp.control;
    let mut effects = Vec::new();
    let mut forests = Vec::new();
    let mut cross = inp.cross.clone();
    let reps = Replicates {
        n: inp.replicates,
        groups: groups.filter(|_| inp.resample_groups),
    };
    if inp.kind == Kind::Forest && reps.groups.is_some() {
        check_forest_clusters(inp.cohort, cc, "--group-col groups")?;
    }
    for a in (0..k).filter(|&a| a != cc) {
        let seed = crate::training::arm_seed(inp.seed, a);
        // Both final stages correct the T-learner's cross-fitted effect
        // τ_T = μ_a − μ_c (see the module docs).
        let tau_t: Vec<f64> = (0..patients.len()).map(|i| mu[a][i] - mu[cc][i]).collect();
        let (effect, oof) = match inp.kind {
            Kind::Forest => {
                let data = (z.view(), patients.as_slice(), reps.groups);
                let (forest, tau) = forest_stage(data, mu, e, (a, cc), inp)?;
                forests.push(forest);
                // The forest's effect is its own, or a correction of τ_T.
                for (i, t) in tau.iter().enumerate() {
                    let base = if inp.forest_offset { tau_t[i] } else { 0.0 };
                    cross.p[a][i] = (mu[cc][i] + base + t).clamp(0.0, 1.0);
                }
                continue;
            }
            Kind::Dr => dr_stage(&prep, mu, (a, cc), groups, seed, reps)?,
            Kind::X => x_stages(z.view(), patients, groups, (mu, e), (a, cc), seed, reps)?,
        };
        for (i, t) in oof.iter().enumerate() {
            cross.p[a][i] = (mu[cc][i] + tau_t[i] + t).clamp(0.0, 1.0);
        }
        effects.push(effect);
    }
    // The X-learner mixes its stages by each patient's propensity.
    let propensity = (inp.kind == Kind::X).then(|| {
        crate::models::multinomial::Multinomial::fit(z.view(), received, k, propensity_l2)
    });
    let model = EffectModel {
        control: cc,
        propensity_l2,
        propensity_floor: PROPENSITY_FLOOR,
        propensity,
        arms: effects,
        forests,
    };
    Ok((model, cross))
}

/// The DR-learner's final stage for arm `a` against control `cc`: the
/// lasso of φ − τ_T on z, and every patient's out-of-fold correction.
fn dr_stage(
    p: &Prepared,
    mu: &[Vec<f64>],
    (a, cc): (usize, usize),
    groups: Option<&[usize]>,
    seed: u64,
    replicates: Replicates,
) -> Result<(ArmEffect, Vec<f64>)> {
    let n = p.patients.len();
    let phi = pseudo_outcomes(&p.patients, mu, &p.e, a, cc);
    let target: Vec<f64> = (0..n).map(|i| phi[i] - (mu[a][i] - mu[cc][i])).collect();
    let all: Vec<usize> = (0..n).collect();
    let is_a: Vec<bool> = p.received.iter().map(|&r| r == a).collect();
    let st = stage(p.z.view(), &target, &all, (&is_a, groups), seed, replicates)?;
    let effect = ArmEffect {
        arm: a,
        alpha: st.alpha,
        cv_loss: st.cv_loss,
        model: st.model,
        replicates: st.replicates,
        x_learner: None,
    };
    Ok((effect, st.oof))
}

/// One fitted final stage on a subset of the patients.
struct Stage {
    alpha: f64,
    cv_loss: Vec<f64>,
    model: Linear,
    replicates: Vec<Linear>,
    /// Out-of-fold correction of every patient: the subset's from the fold
    /// that left them out, the others' from `model` (which never saw them).
    oof: Vec<f64>,
}

/// How a final stage's bootstrap replicates are drawn.
#[derive(Clone, Copy)]
struct Replicates<'a> {
    /// How many (0 = none).
    n: usize,
    /// Each patient's group, for a cluster bootstrap; patients otherwise.
    groups: Option<&'a [usize]>,
}

/// A lasso of `target` on `z` over the patients `subset` (folds stratified
/// by `strata`, or keeping each of `groups` whole when given; penalty by
/// cross-validated squared error), and its bootstrap refits over the
/// subset (`replicates`: resampling patients, or their groups).
fn stage(
    z: ArrayView2<f64>,
    target: &[f64],
    subset: &[usize],
    (strata, groups): (&[bool], Option<&[usize]>),
    seed: u64,
    replicates: Replicates,
) -> Result<Stage> {
    let zs = z.select(Axis(0), subset);
    let ts: Vec<f64> = subset.iter().map(|&i| target[i]).collect();
    let grouped = groups.and_then(|g| {
        let gs: Vec<usize> = subset.iter().map(|&i| g[i]).collect();
        let (fold, k) = grouped_folds(&gs, FINAL_FOLDS, seed ^ 0xd7_1ea7);
        // Every fold must leave patients to fit on (a subset from one
        // group, or a group holding nearly all of it, cannot be split).
        let usable = k >= 2 && (0..k).all(|f| fold.iter().filter(|&&x| x != f).count() >= 2);
        usable.then_some(fold)
    });
    let folds = grouped.unwrap_or_else(|| {
        let st: Vec<bool> = subset.iter().map(|&i| strata[i]).collect();
        stratified_folds(&st, FINAL_FOLDS, seed ^ 0xd7_1ea7)
    });
    let (alpha, cv_loss, sub_oof) = choose_alpha(zs.view(), &ts, &folds)?;
    let model = lasso(zs.view(), &ts, alpha)?;
    let of_group = replicates.groups.map(|g| {
        let of: Vec<usize> = subset.iter().map(|&i| g[i]).collect();
        crate::training::replicates::GroupIndex::new(&of)
    });
    let replicates = (0..replicates.n)
        .into_par_iter()
        .map(|b| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ 0xb007_5742_u64.wrapping_mul(b as u64 + 1),
            );
            let n = ts.len();
            let idx: Vec<usize> = match &of_group {
                Some(groups) => groups.resample(&mut rng, 2).ok_or_else(|| {
                        Error::Fit(
                            "no cluster-bootstrap resample of the final stage with 2 patients in 1000 draws".into(),
                        )
                    })?,
                None => (0..n).map(|_| rng.gen_range(0..n)).collect(),
            };
            let zb = zs.select(Axis(0), &idx);
            let pb: Vec<f64> = idx.iter().map(|&i| ts[i]).collect();
            lasso(zb.view(), &pb, alpha)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut oof = model.predict(z);
    for (j, &i) in subset.iter().enumerate() {
        oof[i] = sub_oof[j];
    }
    Ok(Stage {
        alpha,
        cv_loss,
        model,
        replicates,
        oof,
    })
}

/// The X-learner's two stages for arm `a` against control `cc` (Künzel et
/// al. 2019, with the T-learner's effect as offset): on the arm's patients
/// the imputed effect D¹ = y − μ_c, less τ_T, is y − μ_a (the arm model's
/// residual); on the control's, D⁰ = μ_a − y, less τ_T, is μ_c − y. Each
/// is regressed on z; the correction is g·c⁰ + (1 − g)·c¹ with g(x) =
/// e_a / (e_a + e_c) from the propensities (Künzel et al. 2019, §3: g is
/// "an estimate of the propensity score"); the out-of-fold corrections use
/// the cross-fitted propensities `e`. The stored `model` mixes with the
/// arm's share of the pair (the constant g of a randomised trial).
fn x_stages(
    z: ArrayView2<f64>,
    patients: &[(usize, usize, bool)],
    groups: Option<&[usize]>,
    (mu, e): (&[Vec<f64>], &[Vec<f64>]),
    (a, cc): (usize, usize),
    seed: u64,
    replicates: Replicates,
) -> Result<(ArmEffect, Vec<f64>)> {
    let y = |i: usize| if patients[i].2 { 1.0 } else { 0.0 };
    let n = patients.len();
    let target: Vec<f64> = (0..n)
        .map(|i| match patients[i].1 {
            arm if arm == a => y(i) - mu[a][i],
            arm if arm == cc => mu[cc][i] - y(i),
            _ => 0.0,
        })
        .collect();
    let treated: Vec<usize> = (0..n).filter(|&i| patients[i].1 == a).collect();
    let control: Vec<usize> = (0..n).filter(|&i| patients[i].1 == cc).collect();
    let labels: Vec<bool> = patients.iter().map(|p| p.2).collect();
    let s1 = stage(z, &target, &treated, (&labels, groups), seed, replicates)?;
    let s0 = stage(
        z,
        &target,
        &control,
        (&labels, groups),
        seed ^ 0x0c0c_0c0c,
        replicates,
    )?;
    let g = treated.len() as f64 / (treated.len() + control.len()) as f64;
    let mix = |c0: &Linear, c1: &Linear| Linear {
        intercept: g * c0.intercept + (1.0 - g) * c1.intercept,
        weights: c0
            .weights
            .iter()
            .zip(&c1.weights)
            .map(|(w0, w1)| g * w0 + (1.0 - g) * w1)
            .collect(),
    };
    let oof = s0
        .oof
        .iter()
        .zip(&s1.oof)
        .enumerate()
        .map(|(i, (c0, c1))| {
            let gi = crate::bundle::x_weight(e[a][i], e[cc][i], PROPENSITY_FLOOR);
            gi * c0 + (1.0 - gi) * c1
        })
        .collect();
    let stages = crate::bundle::XStages {
        treated: s1.model.clone(),
        control: s0.model.clone(),
        replicates: s0
            .replicates
            .iter()
            .cloned()
            .zip(s1.replicates.iter().cloned())
            .collect(),
    };
    let effect = ArmEffect {
        arm: a,
        alpha: s1.alpha,
        cv_loss: s1.cv_loss,
        model: mix(&s0.model, &s1.model),
        replicates: s0
            .replicates
            .iter()
            .zip(&s1.replicates)
            .map(|(c0, c1)| mix(c0, c1))
            .collect(),
        x_learner: Some(XStage {
            g,
            control_alpha: s0.alpha,
            control_cv_loss: s0.cv_loss,
            stages: Some(stages),
        }),
    };
    Ok((effect, oof))
}

/// Fewest split patients in a causal forest's child (grf's default is 5;
/// 20 measured better here: `models::causal_forest` tests and
/// bench/effect_intervals.py).
pub(crate) const FOREST_MIN_NODE: usize = 20;

/// Refuses causal forests whose little bags would draw whole groups from
/// a pair of arms (each arm against `control`) with patients in fewer than
/// [`MIN_CLUSTERS`] groups; `what` names the groups (``groups of `site` ``).
pub(crate) fn check_forest_clusters(cohort: &Cohort, control: usize, what: &str) -> Result<()> {
    let Some((_, of)) = &cohort.groups else {
        return Ok(());
    };
    let groups_of = |a: usize| cohort.arms[a].rows.iter().map(|&r| of[r]);
    for a in (0..cohort.arms.len()).filter(|&a| a != control) {
        let mut g: Vec<usize> = groups_of(a).chain(groups_of(control)).collect();
        g.sort_unstable();
        g.dedup();
        if g.len() < MIN_CLUSTERS {
            return Err(Error::Fit(format!(
                "the causal forest of arm {} against its control draws its little bags from whole {what}, and their patients are in {} groups; it needs at least {MIN_CLUSTERS}: give --resample-unit patients",
                cohort.arms[a].label(),
                g.len()
            )));
        }
    }
    Ok(())
}

/// Inputs of every training patient, the patients as (row, arm received,
/// outcome), and their groups when the little bags draw whole groups.
type PairData<'a> = (
    ArrayView2<'a, f64>,
    &'a [(usize, usize, bool)],
    Option<&'a [usize]>,
);

/// The causal forest of arm `a` against control `cc` on their patients:
/// W = 1{received a}, ê = e_a / (e_a + e_c) (clipped), m̂ = ê μ_a + (1 − ê)
/// μ_c from the cross-fitted models, and the forest on Ỹ = y − m̂, W̃ = W − ê
/// (Athey et al. 2019's orthogonalisation, as grf's `causal_forest` with
/// `Y.hat` and `W.hat`). With `forest_offset` the outcome residual is also
/// less τ_T·W̃ (τ_T = μ_a − μ_c), so the forest estimates τ − τ_T: the
/// R-learner loss (Nie & Wager 2021) with the T-learner's effect as offset,
/// as the DR- and X-learner's lasso. Returns the forest and every patient's
/// effect (or correction): the pair's out-of-bag, the others' from the
/// whole forest.
fn forest_stage(
    (z, patients, groups): PairData,
    mu: &[Vec<f64>],
    e: &[Vec<f64>],
    (a, cc): (usize, usize),
    inp: &DrInputs,
) -> Result<(ArmForest, Vec<f64>)> {
    let pair: Vec<usize> = (0..patients.len())
        .filter(|&i| patients[i].1 == a || patients[i].1 == cc)
        .collect();
    let (mut yr, mut wr) = (
        Vec::with_capacity(pair.len()),
        Vec::with_capacity(pair.len()),
    );
    for &i in &pair {
        let eh = (e[a][i] / (e[a][i] + e[cc][i]).max(1e-12))
            .clamp(PROPENSITY_FLOOR, 1.0 - PROPENSITY_FLOOR);
        let m = eh * mu[a][i] + (1.0 - eh) * mu[cc][i];
        let w = if patients[i].1 == a { 1.0 } else { 0.0 };
        let tau_t = if inp.forest_offset {
            mu[a][i] - mu[cc][i]
        } else {
            0.0
        };
        yr.push(if patients[i].2 { 1.0 } else { 0.0 } - m - tau_t * (w - eh));
        wr.push(w - eh);
    }
    let zp = z.select(Axis(0), &pair);
    // With a cluster bootstrap the little bags draw whole groups.
    let clusters: Option<Vec<usize>> = groups.map(|g| pair.iter().map(|&i| g[i]).collect());
    let data = Residuals {
        z: zp.view(),
        y: &yr,
        w: &wr,
        clusters: clusters.as_deref(),
    };
    let params = ForestParams {
        trees: inp.forest_trees,
        mtry: 0,
        min_node: FOREST_MIN_NODE,
    };
    let seed = crate::training::arm_seed(inp.seed, a) ^ 0xcf;
    let (forest, oob, _) = CausalForest::fit_screened(&data, params, seed);
    let mut tau: Vec<f64> = forest.predict(z).into_iter().map(|(t, _)| t).collect();
    // Out-of-bag where some group left the patient out (with ≥ 20 groups,
    // all but about 1 in a million); else the whole forest's estimate.
    for (j, &i) in pair.iter().enumerate() {
        if oob[j].is_finite() {
            tau[i] = oob[j];
        }
    }
    let forest = ArmForest {
        arm: a,
        forest,
        t_learner_offset: inp.forest_offset,
    };
    Ok((forest, tau))
}

/// Each patient's doubly robust pseudo-outcome for arm `a` against the
/// control `cc` (Kennedy 2023, eq. 3; propensities clipped to
/// [`PROPENSITY_FLOOR`, 1 − floor]). `patients` are (row, arm received,
/// outcome); `mu[a][i]` the cross-fitted outcome predictions; `e[a][i]`
/// the cross-fitted propensities.
fn pseudo_outcomes(
    patients: &[(usize, usize, bool)],
    mu: &[Vec<f64>],
    e: &[Vec<f64>],
    a: usize,
    cc: usize,
) -> Vec<f64> {
    let clip = |v: f64| v.clamp(PROPENSITY_FLOOR, 1.0 - PROPENSITY_FLOOR);
    patients
        .iter()
        .enumerate()
        .map(|(i, &(_, arm, y))| {
            let y = if y { 1.0 } else { 0.0 };
            let mut v = mu[a][i] - mu[cc][i];
            if arm == a {
                v += (y - mu[a][i]) / clip(e[a][i]);
            } else if arm == cc {
                v -= (y - mu[cc][i]) / clip(e[cc][i]);
            }
            v
        })
        .collect()
}

/// The penalty among [`ALPHAS`] with the least cross-validated DR loss
/// (ties to the larger penalty), the loss of each, and the out-of-fold
/// predictions at the chosen one. Each fold fits the penalties from the
/// largest down, each started at the previous one's weights (a warm start
/// along the path, as scikit-learn's `LassoCV` and glmnet do); the model
/// kept is refitted from zeros at the chosen penalty (see [`stage`]).
fn choose_alpha(
    z: ArrayView2<f64>,
    phi: &[f64],
    folds: &[usize],
) -> Result<(f64, Vec<f64>, Vec<f64>)> {
    let n = phi.len();
    // Per fold: its test rows and their predictions at each penalty.
    let per_fold: Vec<(Vec<usize>, Vec<Vec<f64>>)> = (0..FINAL_FOLDS)
        .into_par_iter()
        .map(|f| {
            let (train, test) = split(folds, f);
            if test.is_empty() {
                return Ok((test, Vec::new()));
            }
            let zt = Design::column_major(z.select(Axis(0), &train).view());
            let zs = z.select(Axis(0), &test);
            let pt: Vec<f64> = train.iter().map(|&i| phi[i]).collect();
            let mut preds = vec![Vec::new(); ALPHAS.len()];
            let mut start: Option<Linear> = None;
            for (j, &alpha) in ALPHAS.iter().enumerate().rev() {
                let m = lasso_from(&zt, &pt, alpha, start.as_ref())?;
                preds[j] = m.predict(zs.view());
                start = Some(m);
            }
            Ok((test, preds))
        })
        .collect::<Result<_>>()?;
    let per_alpha: Vec<Vec<f64>> = (0..ALPHAS.len())
        .map(|j| {
            let mut oof = vec![0.0; n];
            for (test, preds) in per_fold.iter().filter(|(t, _)| !t.is_empty()) {
                for (&i, &p) in test.iter().zip(&preds[j]) {
                    oof[i] = p;
                }
            }
            oof
        })
        .collect();
    let losses: Vec<f64> = per_alpha
        .iter()
        .map(|oof| {
            oof.iter()
                .zip(phi)
                .map(|(p, y)| (p - y) * (p - y))
                .sum::<f64>()
                / n as f64
        })
        .collect();
    let mut best = 0;
    for (j, l) in losses.iter().enumerate() {
        if *l <= losses[best] {
            best = j;
        }
    }
    Ok((ALPHAS[best], losses, per_alpha[best].clone()))
}

/// A lasso regression of `y` on `z` (linfa-elasticnet's algorithm, `l1_ratio` 1).
fn lasso(z: ArrayView2<f64>, y: &[f64], alpha: f64) -> Result<Linear> {
    lasso_from(&Design::column_major(z), y, alpha, None)
}

/// [`lasso`] on prepared inputs, started at the weights of `start` (a warm
/// start).
fn lasso_from(z: &Design, y: &[f64], alpha: f64, start: Option<&Linear>) -> Result<Linear> {
    if y.len() < 2 || y.iter().any(|v| !v.is_finite()) {
        return Err(Error::Fit(format!(
            "DR-learner final stage: {} patients or a pseudo-outcome that is not a number",
            y.len()
        )));
    }
    let target: Array1<f64> = y.iter().copied().collect();
    let start = start.map(|m| ndarray::ArrayView1::from(&m.weights[..]));
    let m = elastic_net_from(z, target.view(), alpha, 1.0, 1e-5, 2000, start)
        .ok_or_else(|| Error::Fit("DR-learner final stage: no patients".into()))?;
    let model = Linear {
        intercept: m.intercept,
        weights: m.weights.to_vec(),
    };
    if !model.is_finite() {
        return Err(Error::Fit(
            "DR-learner final stage: the lasso did not converge to finite weights".into(),
        ));
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grouped folds that cannot be used (one group in the subset, or a
    /// group with nearly every patient) fall back to stratified folds
    /// instead of fitting a fold on nothing.
    #[test]
    fn one_group_falls_back_to_stratified_folds() {
        let n = 60;
        let z =
            ndarray::Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let target: Vec<f64> = (0..n)
            .map(|i| 0.1 * z[[i, 0]] + (i % 3) as f64 * 0.01)
            .collect();
        let subset: Vec<usize> = (0..n).collect();
        let strata: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let one = vec![3usize; n];
        let mut lopsided = vec![0usize; n];
        lopsided[0] = 1;
        let none = Replicates { n: 0, groups: None };
        let plain = stage(z.view(), &target, &subset, (&strata, None), 9, none).unwrap();
        for groups in [&one, &lopsided] {
            let st = stage(z.view(), &target, &subset, (&strata, Some(groups)), 9, none).unwrap();
            assert_eq!(st.alpha, plain.alpha);
            assert_eq!(st.oof, plain.oof);
        }
    }

    #[test]
    fn pseudo_outcomes_follow_the_aipw_formula() {
        // Patients: received a=1 (y=1), control 0 (y=0), other arm 2 (y=1).
        let patients = [(0, 1, true), (1, 0, false), (2, 2, true)];
        let mu = vec![vec![0.3, 0.4, 0.5], vec![0.6, 0.7, 0.8], vec![0.1; 3]];
        let e = vec![vec![0.5, 0.25, 0.3], vec![0.25, 0.5, 0.01], vec![0.25; 3]];
        let phi = pseudo_outcomes(&patients, &mu, &e, 1, 0);
        assert!((phi[0] - (0.6 - 0.3 + (1.0 - 0.6) / 0.25)).abs() < 1e-12);
        assert!((phi[1] - (0.7 - 0.4 - (0.0 - 0.4) / 0.25)).abs() < 1e-12);
        assert!((phi[2] - (0.8 - 0.5)).abs() < 1e-12);
        // A propensity below the floor is clipped.
        let e = vec![vec![0.5, 0.001, 0.3], vec![0.001, 0.5, 0.01], vec![0.25; 3]];
        let phi = pseudo_outcomes(&patients, &mu, &e, 1, 0);
        assert!((phi[0] - (0.3 + 0.4 / PROPENSITY_FLOOR)).abs() < 1e-9);
    }

    #[test]
    fn lasso_recovers_a_linear_effect() {
        // φ = 0.2 + 0.3 z0 + noise-free; z1 irrelevant.
        let n = 400;
        let z = ndarray::Array2::from_shape_fn((n, 2), |(i, j)| {
            ((i * (7 + 5 * j)) % 41) as f64 / 20.0 - 1.0
        });
        let phi: Vec<f64> = (0..n).map(|i| 0.2 + 0.3 * z[[i, 0]]).collect();
        let m = lasso(z.view(), &phi, 0.001).unwrap();
        assert!((m.weights[0] - 0.3).abs() < 0.01, "{m:?}");
        assert!(m.weights[1].abs() < 0.01, "{m:?}");
        let folds: Vec<usize> = (0..n).map(|i| i % FINAL_FOLDS).collect();
        let (alpha, losses, oof) = choose_alpha(z.view(), &phi, &folds).unwrap();
        assert_eq!(alpha, ALPHAS[0], "{losses:?}");
        assert!(oof.iter().zip(&phi).all(|(a, b)| (a - b).abs() < 0.02));
    }
}
