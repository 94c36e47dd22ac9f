//! Training: cohort assembly, the one cross-validation loop, `auto`'s
//! tuning and nested CV, the learner strategies and `compare` — what
//! writes a bundle. Imports data, features, models and the bundle format;
//! knows nothing of evaluation reports or the command line.

pub(crate) mod audit;
pub(crate) mod cohort;
pub(crate) mod compare;
pub(crate) mod cv;
pub(crate) mod dr_learner;
pub(crate) mod optimism;
pub(crate) mod replicates;
pub(crate) mod strategy;
pub(crate) mod tuning;

use crate::bundle::{format_version_for, FORMAT};
use crate::bundle::{Arm, Bundle, CrossFitted, Strategy, TargetInfo, TrainingSummary};
use crate::error::Result;
use crate::models::AlgorithmParams;
pub(crate) use cohort::{Cohort, CohortSpec};
use statrs::distribution::{ContinuousCDF, StudentsT};
use strategy::{fit_auto, fit_fixed, fit_s_learner, in_arm, t_learner_cross_fit};

/// How each arm's algorithm is chosen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Method {
    /// One algorithm with fixed hyper-parameters.
    Fixed(AlgorithmParams),
    /// `auto`: chosen per arm by inner cross-validation over a grid.
    Auto,
}

/// What `train` does with a cohort (a validated configuration).
#[derive(Debug, Clone)]
pub(crate) struct TrainSpec {
    /// The algorithm, or `auto`.
    pub(crate) method: Method,
    /// Cross-validation folds (0 = none).
    pub(crate) cv: usize,
    /// T- or S-learner.
    pub(crate) strategy: Strategy,
    /// Whether to store the cross-fitted predictions of the training patients.
    pub(crate) keep_cross_fitted: bool,
    /// The seed of every random choice.
    pub(crate) seed: u64,
    /// Bootstrap-of-the-learner replicates to store (0 = none).
    pub(crate) replicates: usize,
    /// Whether the replicates resample the cohort's groups (a cluster
    /// bootstrap, `--resample-unit groups`) rather than patients.
    pub(crate) resample_groups: bool,
    /// The DR-learner's control arm (index into the cohort's arms).
    pub(crate) control: Option<usize>,
    /// Trees of each causal forest.
    pub(crate) forest_trees: usize,
    /// Whether each causal forest corrects the T-learner's effect
    /// (`--forest-offset t-learner`) rather than estimating the effect.
    pub(crate) forest_offset: bool,
    /// Whether the DR-, X-learner or causal forest's outcome models (also as
    /// auto-effect's candidates) are an S-learner rather than a T-learner.
    pub(crate) s_learner_outcomes: bool,
    /// The replicates such a forest fits when `auto-effect` chooses it
    /// (`--replicates`, else its default for the causal forest).
    pub(crate) forest_replicates: usize,
}

impl TrainSpec {
    /// The algorithm's name as stored in the bundle (`auto` or its name).
    pub(crate) fn algorithm_name(&self) -> String {
        match &self.method {
            Method::Fixed(a) => a.name().to_string(),
            Method::Auto => "auto".into(),
        }
    }
}

/// Per-arm seed: the same arm always gets the same stream.
pub(crate) fn arm_seed(seed: u64, arm: usize) -> u64 {
    seed.wrapping_add((arm as u64) << 32)
}

/// Cross-validates and fits every arm of `cohort` and assembles the
/// bundle; `on_fold` is called after each cross-validation fold.
pub(crate) fn train(
    cohort: &Cohort,
    spec: &CohortSpec,
    how: &TrainSpec,
    on_fold: &(dyn Fn() + Sync),
) -> Result<Bundle> {
    let (arms, cross_fitted) = match (&how.method, how.strategy) {
        (Method::Fixed(alg), Strategy::SLearner) => {
            fit_s_learner(cohort, alg, how.cv, how.seed, on_fold)?
        }
        (Method::Fixed(alg), s) if s.has_effect_stage() && how.s_learner_outcomes => {
            fit_s_learner(cohort, alg, how.cv, how.seed, on_fold)?
        }
        _ => fit_t_learner(cohort, how, on_fold)?,
    };
    let (mut arms, mut cross_fitted) = (arms, cross_fitted);
    let resolved = resolve_strategy(cohort, &arms, cross_fitted.as_ref(), how)?;
    if let Some((s_arms, s_cross)) = resolved.s_learner {
        (arms, cross_fitted) = (s_arms, s_cross);
    }
    let (chosen, effect_selection) = (resolved.how, resolved.selection);
    let how = &chosen;
    replicates::add(cohort, &mut arms, how)?;
    let (effect, cross_fitted) = effect_stage(cohort, &arms, cross_fitted, how)?;
    let cross_fitted = cross_fitted.filter(|_| how.keep_cross_fitted);
    let (_, y) = cohort.labelled_rows();
    set_sample_sizes(&mut arms, &y);
    let training = summary(cohort, spec, how, &arms);
    Ok(Bundle {
        format: FORMAT.into(),
        format_version: format_version_for(&arms),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        id_column: spec.read.id.clone(),
        target: TargetInfo {
            column: spec.target.clone(),
            description: spec.rule.describe(&spec.target),
            rule: spec.rule.clone(),
        },
        therapy_column: spec.therapy_col.clone(),
        features: cohort.frame.schema(),
        genotypes: cohort.genetics.clone(),
        algorithm: how.algorithm_name(),
        strategy: how.strategy,
        cross_fitted,
        training,
        arms,
        effect,
        effect_selection,
        file: String::new(),
    })
}

/// The bundle's record of the training run.
fn summary(cohort: &Cohort, spec: &CohortSpec, how: &TrainSpec, arms: &[Arm]) -> TrainingSummary {
    let has_replicates = arms.iter().any(|a| !a.replicates.is_empty());
    let holds_rows = arms.iter().any(|a| a.model.holds_training_rows());
    let (rows, y) = cohort.labelled_rows();
    TrainingSummary {
        files: cohort.ds.files.clone(),
        n_joined: cohort.ds.n_rows(),
        n_missing_target: cohort.n_missing_target,
        n_missing_therapy: cohort.n_missing_therapy,
        n: arms.iter().map(|a| a.n).sum(),
        responders: arms.iter().map(|a| a.responders).sum(),
        seed: how.seed,
        cv_folds: how.cv,
        holds_patient_rows: holds_rows,
        missing: audit::missingness(&cohort.frame, &rows),
        leakage: audit::leakage(&cohort.frame, &rows, &y, &spec.target),
        id_hashes: Some(id_hashes(cohort, &rows, how.seed)),
        cv_groups: match (&spec.group_col, &cohort.groups) {
            (Some(col), Some((labels, _))) if how.cv >= 2 => Some(crate::bundle::CvGroups {
                column: col.clone(),
                groups: labels.clone(),
                method: if how.cv >= labels.len() {
                    "leave-one-group-out".into()
                } else {
                    "grouped K-fold".into()
                },
            }),
            _ => None,
        },
        cluster_bootstrap: match (&spec.group_col, &cohort.groups) {
            (Some(col), Some((labels, _)))
                if how.resample_groups
                    && (has_replicates || how.strategy == Strategy::CausalForest) =>
            {
                Some(crate::bundle::ClusterBootstrap {
                    column: col.clone(),
                    groups: labels.len(),
                    little_bags: how.strategy == Strategy::CausalForest,
                })
            }
            _ => None,
        },
    }
}

/// The DR- or X-learner's final stage (nothing for the other strategies), and
/// the cross-fitted predictions the bundle keeps.
fn effect_stage(
    cohort: &Cohort,
    arms: &[Arm],
    cross_fitted: Option<CrossFitted>,
    how: &TrainSpec,
) -> Result<(Option<crate::bundle::EffectModel>, Option<CrossFitted>)> {
    let kind = match how.strategy {
        Strategy::DrLearner => dr_learner::Kind::Dr,
        Strategy::XLearner => dr_learner::Kind::X,
        Strategy::CausalForest => dr_learner::Kind::Forest,
        _ => return Ok((None, cross_fitted)),
    };
    match cross_fitted {
        Some(cross) => {
            let (effect, cross) = dr_learner::fit(&dr_inputs(kind, cohort, (arms, &cross), how))?;
            Ok((Some(effect), Some(cross)))
        }
        None => Err(crate::error::Error::Fit(format!(
            "the {} needs cross-fitted outcome predictions (--cv of at least 2)",
            how.strategy.as_str()
        ))),
    }
}

/// The effect learner `kind`'s inputs: its outcome models' arms and
/// cross-fitted predictions, and `how`'s settings.
fn dr_inputs<'a>(
    kind: dr_learner::Kind,
    cohort: &'a Cohort,
    (arms, cross): (&'a [Arm], &'a CrossFitted),
    how: &TrainSpec,
) -> dr_learner::DrInputs<'a> {
    dr_learner::DrInputs {
        kind,
        cohort,
        arms,
        cross,
        control: how.control.unwrap_or(0),
        seed: how.seed,
        replicates: how.replicates,
        resample_groups: how.resample_groups,
        forest_trees: how.forest_trees,
        forest_offset: how.forest_offset,
    }
}

/// Fitted arms and their cross-fitted predictions.
type Fitted = (Vec<Arm>, Option<CrossFitted>);

/// The strategy to fit: `how`'s, or the one `auto-effect` chose.
struct Resolved {
    /// What to fit from here on.
    how: TrainSpec,
    /// `auto-effect`'s comparison.
    selection: Option<crate::bundle::EffectSelection>,
    /// The S-learner's arms and cross-fitted predictions, when it or an
    /// effect learner on its outcome models was chosen (they replace the
    /// T-learner's).
    s_learner: Option<Fitted>,
}

/// The strategy to fit: `how`'s, or the one `auto-effect` chooses, with
/// its comparison.
fn resolve_strategy(
    cohort: &Cohort,
    arms: &[Arm],
    cross: Option<&CrossFitted>,
    how: &TrainSpec,
) -> Result<Resolved> {
    if how.strategy != Strategy::AutoEffect {
        return Ok(Resolved {
            how: how.clone(),
            selection: None,
            s_learner: None,
        });
    }
    let (sel, s_alg, s_fit) = choose_effect(cohort, arms, cross, how)?;
    let strategy = effect_choice(&sel);
    // The S-learner's fit is kept when it is chosen, or is the outcome
    // models of the chosen effect learner.
    let s_chosen =
        strategy == Strategy::SLearner || (how.s_learner_outcomes && strategy.has_effect_stage());
    // A causal forest's intervals: its outcome models' replicates when it
    // corrects the T-learner's effect, its little bags otherwise.
    let replicates = match strategy {
        Strategy::CausalForest if how.forest_offset => how.forest_replicates,
        Strategy::CausalForest => 0,
        _ => how.replicates,
    };
    Ok(Resolved {
        how: TrainSpec {
            strategy,
            replicates,
            // The S-learner's one model has a fixed algorithm.
            method: if s_chosen {
                Method::Fixed(s_alg)
            } else {
                how.method.clone()
            },
            ..how.clone()
        },
        selection: Some(sel),
        s_learner: s_chosen.then_some(s_fit),
    })
}

/// `auto-effect`: the T-learner, an S-learner (the fixed algorithm, or
/// under `auto` the one chosen for the control arm, with its parameters),
/// and the DR-, X-learner and causal forest fitted on the T-learner's
/// outcome models (the S-learner's with `how.s_learner_outcomes`),
/// compared by the DR loss of their cross-fitted predictions (ties to the
/// earlier, simpler one). Returns the comparison,
/// the S-learner's algorithm and its fit.
fn choose_effect(
    cohort: &Cohort,
    arms: &[Arm],
    cross: Option<&CrossFitted>,
    how: &TrainSpec,
) -> Result<(crate::bundle::EffectSelection, AlgorithmParams, Fitted)> {
    let cross = cross.ok_or_else(|| {
        crate::error::Error::Fit(
            "auto-effect needs cross-fitted outcome predictions (--cv of at least 2)".into(),
        )
    })?;
    let control = how.control.unwrap_or(0);
    // The forest candidate draws its little bags as the forest fitted
    // after it would (replicates are 0 here).
    let candidate = TrainSpec {
        replicates: 0,
        ..how.clone()
    };
    let inputs = |kind, outcomes| dr_inputs(kind, cohort, outcomes, &candidate);
    let s_alg = match &how.method {
        Method::Fixed(a) => a.clone(),
        Method::Auto => arms[control].algorithm.clone(),
    };
    let s_fit = fit_s_learner(cohort, &s_alg, how.cv, how.seed, &|| {})
        .map_err(|e| crate::error::Error::Fit(format!("auto-effect's S-learner candidate: {e}")))?;
    let s_cross = s_fit.1.clone().ok_or_else(|| {
        crate::error::Error::Fit("the S-learner candidate has no cross-fitted predictions".into())
    })?;
    use dr_learner::Kind;
    let kinds = [
        (Strategy::DrLearner, Kind::Dr),
        (Strategy::XLearner, Kind::X),
        (Strategy::CausalForest, Kind::Forest),
    ];
    // The effect learners' outcome models: the S-learner's with the lasso
    // (as `--strategy dr-learner` by default), else the T-learner's.
    let outcomes = match how.s_learner_outcomes {
        true => (s_fit.0.as_slice(), &s_cross),
        false => (arms, cross),
    };
    let mut effects = Vec::new();
    for (strategy, kind) in kinds {
        effects.push((strategy, dr_learner::fit(&inputs(kind, outcomes))?.1));
    }
    let mut fitted = vec![
        (Strategy::TLearner, cross.clone()),
        (Strategy::SLearner, s_cross.clone()),
    ];
    fitted.extend(effects);
    let refs: Vec<&CrossFitted> = fitted.iter().map(|f| &f.1).collect();
    // Every candidate is scored against the same pseudo-outcomes, from the
    // T-learner's outcome models.
    let (per_patient, groups) = dr_learner::dr_losses(&inputs(Kind::Dr, (arms, cross)), &refs)?;
    let groups = groups.as_deref();
    let selection = crate::bundle::EffectSelection {
        loss: "cross-validated DR loss".into(),
        candidates: fitted
            .iter()
            .zip(&per_patient)
            .map(|((strategy, _), l)| crate::bundle::EffectCandidate {
                strategy: *strategy,
                loss: l.iter().sum::<f64>() / l.len().max(1) as f64,
                se_vs_t: (*strategy != Strategy::TLearner)
                    .then(|| paired_se(l, &per_patient[0], groups)),
            })
            .collect(),
        clusters: groups.map(group_count),
    };
    Ok((selection, s_alg, s_fit))
}

/// The standard error of the mean of the paired differences `a − b`:
/// patients as independent, or with `groups` (each patient's group) the
/// cluster-robust standard error of a mean, `G/(G − 1) · Σ_g (Σ_{i∈g}
/// (d_i − d̄))² / n²` for G groups (the CR1 sandwich of an intercept-only
/// regression; Cameron & Miller 2015, J Hum Resour 50:317, §II.C and
/// §VI.A), which is the independent formula when every patient is a group.
fn paired_se(a: &[f64], b: &[f64], groups: Option<&[usize]>) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len() as f64;
    if n < 2.0 {
        return f64::INFINITY;
    }
    let m = d.iter().sum::<f64>() / n;
    let Some(groups) = groups else {
        return (d.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
    };
    let mut sums = std::collections::BTreeMap::new();
    for (v, &g) in d.iter().zip(groups) {
        *sums.entry(g).or_insert(0.0) += v - m;
    }
    let g = sums.len() as f64;
    if g < 2.0 {
        return f64::INFINITY;
    }
    (g / (g - 1.0) * sums.values().map(|s: &f64| s * s).sum::<f64>() / (n * n)).sqrt()
}

/// The number of distinct groups among the patients.
fn group_count(groups: &[usize]) -> usize {
    groups
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// How many standard errors of the paired difference a candidate's DR
/// loss must lie below the T-learner's to replace it: the one-sided 5 %
/// normal quantile. The DR loss of heavy-tailed pseudo-outcomes is noisy,
/// and the T-learner is the default to depart from only on evidence.
pub(crate) const EFFECT_CHOICE_Z: f64 = 1.645;

/// How many standard errors a candidate must beat the T-learner by:
/// [`EFFECT_CHOICE_Z`] for independent patients; with G groups the
/// one-sided 5 % quantile of Student's t with G − 1 degrees of freedom
/// (Cameron & Miller 2015 §VI.C: with few clusters the cluster-robust
/// statistic is compared with T(G − 1), not the normal); never for fewer
/// than 2 groups.
pub(crate) fn effect_choice_critical(clusters: Option<usize>) -> f64 {
    match clusters {
        None => EFFECT_CHOICE_Z,
        Some(g) if g >= 2 => {
            StudentsT::new(0.0, 1.0, (g - 1) as f64).map_or(f64::INFINITY, |t| t.inverse_cdf(0.95))
        }
        Some(_) => f64::INFINITY,
    }
}

/// [`effect_choice_critical`] as printed: `1.645`, `2.353`, `∞`.
pub(crate) fn choice_bar(clusters: Option<usize>) -> String {
    match effect_choice_critical(clusters) {
        c if c.is_finite() => format!("{c:.3}"),
        _ => "∞".to_string(),
    }
}

/// `auto-effect`'s choice: the candidate with the least loss among those
/// whose loss is below the T-learner's by more than
/// [`effect_choice_critical`] standard errors of the paired difference (a
/// one-sided test at 5 %; compare the one-standard-error rule of Hastie,
/// Tibshirani & Friedman 2009 §7.10); else the T-learner.
pub(crate) fn effect_choice(sel: &crate::bundle::EffectSelection) -> Strategy {
    let crit = effect_choice_critical(sel.clusters);
    let t = sel
        .candidates
        .iter()
        .find(|c| c.strategy == Strategy::TLearner)
        .map(|c| c.loss);
    sel.candidates
        .iter()
        .filter(|c| match (t, c.se_vs_t) {
            (Some(t), Some(se)) => c.loss < t - crit * se,
            _ => c.strategy == Strategy::TLearner,
        })
        .min_by(|a, b| a.loss.total_cmp(&b.loss))
        .map_or(Strategy::TLearner, |c| c.strategy)
}

/// Each arm's minimum sample size for its cross-validated C-statistic
/// (Riley et al. 2020), from the patients its model saw.
fn set_sample_sizes(arms: &mut [Arm], y: &[bool]) {
    for arm in arms {
        // The S-learner's one model sees every patient.
        let (n, events) = match arm.design {
            crate::bundle::Design::PerArm => (arm.n, arm.responders),
            crate::bundle::Design::SLearner { .. } => (y.len(), y.iter().filter(|&&b| b).count()),
        };
        let parameters = arm.design.width(arm.pipeline.width());
        arm.sample_size = arm.cv.as_ref().and_then(|cv| {
            crate::stats::sample_size::from_c_statistic(parameters, n, events, cv.auc_pooled)
        });
    }
}

/// Salted hashes of the training patients' IDs; the salt comes from the
/// training files' hashes and the seed, so the bundle stays reproducible.
fn id_hashes(cohort: &Cohort, rows: &[usize], seed: u64) -> crate::bundle::IdHashes {
    let mut source = Vec::new();
    for f in &cohort.ds.files {
        source.extend_from_slice(f.sha256.as_bytes());
    }
    source.extend_from_slice(&seed.to_le_bytes());
    crate::bundle::IdHashes::new(rows.iter().map(|&r| cohort.ds.id(r)), &source)
}

/// A pipeline and model per arm (fixed algorithm or `auto`).
fn fit_t_learner(
    cohort: &Cohort,
    how: &TrainSpec,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(Vec<Arm>, Option<CrossFitted>)> {
    let mut fitted = Vec::with_capacity(cohort.arms.len());
    let mut oofs = Vec::with_capacity(cohort.arms.len());
    for (a, arm) in cohort.arms.iter().enumerate() {
        let seed = arm_seed(how.seed, a);
        let result = match &how.method {
            Method::Fixed(alg) => fit_fixed(cohort, arm, alg, how.cv, seed, on_fold),
            Method::Auto => fit_auto(cohort, arm, how.cv, seed, on_fold),
        };
        let (arm_fit, oof) = result.map_err(in_arm(&arm.label()))?;
        fitted.push(arm_fit);
        oofs.push(oof);
    }
    let cross = t_learner_cross_fit(cohort, &fitted, oofs)?;
    Ok((fitted, cross))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{EffectCandidate, EffectSelection};

    fn selection(s_loss: f64, s_se: f64, x_loss: f64, x_se: f64) -> EffectSelection {
        let c = |strategy, loss, se_vs_t| EffectCandidate {
            strategy,
            loss,
            se_vs_t,
        };
        EffectSelection {
            loss: "cross-validated DR loss".into(),
            candidates: vec![
                c(Strategy::TLearner, 1.30, None),
                c(Strategy::SLearner, s_loss, Some(s_se)),
                c(Strategy::XLearner, x_loss, Some(x_se)),
            ],
            clusters: None,
        }
    }

    #[test]
    fn auto_effect_departs_from_the_t_learner_only_on_evidence() {
        // Lower by 1 SE only: the T-learner stays.
        assert_eq!(
            effect_choice(&selection(1.298, 0.002, 1.301, 0.001)),
            Strategy::TLearner
        );
        // Lower by 2 SE: the S-learner.
        assert_eq!(
            effect_choice(&selection(1.296, 0.002, 1.301, 0.001)),
            Strategy::SLearner
        );
        // Of two that clear the bar, the lower loss.
        assert_eq!(
            effect_choice(&selection(1.296, 0.002, 1.290, 0.001)),
            Strategy::XLearner
        );
        // The least loss that does not clear the bar does not block one that does.
        assert_eq!(
            effect_choice(&selection(1.280, 0.02, 1.295, 0.001)),
            Strategy::XLearner
        );
        // Older bundles' candidates without a standard error are never chosen over T.
        let mut old = selection(1.2, 0.001, 1.3, 0.001);
        old.candidates[1].se_vs_t = None;
        assert_eq!(effect_choice(&old), Strategy::TLearner);
        assert!(
            (paired_se(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0], None) - (1.0f64 / 3.0).sqrt()).abs()
                < 1e-12
        );
    }

    /// With groups, the bar is Student's t with G − 1 degrees of freedom
    /// (2.353 for 4 groups, Cameron & Miller 2015): a candidate 2 standard
    /// errors below the T-learner replaces it among independent patients,
    /// not among 4 sites; 1 group never departs from the T-learner.
    #[test]
    fn auto_effect_with_groups_needs_the_t_quantile() {
        let mut sel = selection(1.296, 0.002, 1.301, 0.001);
        assert_eq!(effect_choice(&sel), Strategy::SLearner);
        sel.clusters = Some(4);
        assert!((effect_choice_critical(Some(4)) - 2.353_363).abs() < 1e-5);
        assert_eq!(effect_choice(&sel), Strategy::TLearner);
        sel.clusters = Some(200);
        assert_eq!(effect_choice(&sel), Strategy::SLearner);
        for g in [0, 1] {
            sel.clusters = Some(g);
            assert_eq!(effect_choice(&sel), Strategy::TLearner);
        }
    }

    /// The cluster-robust standard error: the independent one when every
    /// patient is a group; by hand for two groups (d = 1, 2 | 3, 6: mean 3,
    /// group sums of deviations −3 and 3, √(2 · 18 / 16) = 1.5); none for
    /// one group.
    #[test]
    fn paired_se_clusters_by_group() {
        let (a, b) = ([1.0, 2.0, 3.0, 6.0], [0.0; 4]);
        let own = paired_se(&a, &b, Some(&[0, 1, 2, 3]));
        assert!((own - paired_se(&a, &b, None)).abs() < 1e-12);
        assert!((paired_se(&a, &b, Some(&[5, 5, 9, 9])) - 1.5).abs() < 1e-12);
        assert!(paired_se(&a, &b, Some(&[2, 2, 2, 2])).is_infinite());
        assert_eq!(group_count(&[5, 5, 9, 9, 1]), 3);
    }
}
