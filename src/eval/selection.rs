//! The effects layer applied to a bundle and a labelled file: outcome
//! predictions under every arm, propensities (randomised or estimated),
//! the control arm, groups (`--group-col`), and the per-group results.

use serde::Serialize;

use crate::bundle::Bundle;
use crate::effects::estimate::{mean_se, Interval};
use crate::effects::propensity::{cross_fitted, shares, PROPENSITY_FOLDS};
use crate::effects::scores::aipw;
use crate::effects::{analyse, EffectInputs, Effects};
use crate::error::{Error, Result};
use crate::eval::calibration::recalibrate;
use crate::eval::LabelledData;
use crate::features::Pipeline;
use crate::stats::argmax;
use crate::stats::scores::auc;

/// How propensities are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PropensityChoice {
    /// A randomised trial: the arm shares (or --allocation).
    Randomised,
    /// Observational data: a cross-fitted multinomial logistic model of the
    /// therapy on the features.
    Estimate,
}

/// The flags of the effects analysis.
#[derive(Debug, Clone)]
pub(crate) struct EffectOptions {
    /// Randomised or estimated propensities.
    pub(crate) propensity: PropensityChoice,
    /// The design's allocation ratios (`--allocation`), by arm name.
    pub(crate) allocation: Option<Vec<(String, f64)>>,
    /// The control arm (`--control`).
    pub(crate) control: Option<String>,
    /// The group column (`--group-col`).
    pub(crate) group_col: Option<String>,
    /// Bootstrap replicates for the policy values and average effects
    /// (`None`: influence-function intervals).
    pub(crate) bootstrap: Option<usize>,
    /// Seed of the bootstrap and of the propensity folds.
    pub(crate) seed: u64,
}

impl EffectOptions {
    /// `propensity` and `seed`; no allocation, the default control, no
    /// groups, influence-function intervals.
    pub(crate) fn new(propensity: PropensityChoice, seed: u64) -> EffectOptions {
        EffectOptions {
            propensity,
            allocation: None,
            control: None,
            group_col: None,
            bootstrap: None,
            seed,
        }
    }
}

/// The `effects` object of `evaluate --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EffectsOutput {
    /// Where the outcome predictions came from (`model`, `cross-fitted`).
    pub(crate) outcome_predictions: String,
    /// The analysis.
    #[serde(flatten)]
    pub(crate) effects: Effects,
    /// Per group (`--group-col`; empty without).
    pub(crate) groups: Vec<GroupResult>,
    /// The spread of the per-group results.
    pub(crate) group_spread: Option<GroupSpread>,
}

/// One group's results (`--group-col`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GroupResult {
    /// The group's value in the column.
    pub(crate) group: String,
    /// Patients.
    pub(crate) n: usize,
    /// Responders.
    pub(crate) responders: usize,
    /// AUC of the probability under the received arm (`null`: one class).
    pub(crate) auc: Option<f64>,
    /// Calibration slope (`null` when it cannot be estimated).
    pub(crate) calibration_slope: Option<f64>,
    /// Recommendation minus the best single arm overall, in this group.
    pub(crate) policy_gain: Interval,
}

/// The spread of the per-group results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GroupSpread {
    /// Smallest and largest group AUC.
    pub(crate) auc_range: Option<[f64; 2]>,
    /// Smallest and largest calibration slope.
    pub(crate) calibration_slope_range: Option<[f64; 2]>,
    /// Smallest and largest policy gain.
    pub(crate) policy_gain_range: [f64; 2],
}

/// The control arm of `bundle`'s effects: `--control`, else the control
/// an effect model (DR-, X-learner, causal forest) was trained against,
/// else as [`control_index`].
pub(crate) fn bundle_control(
    bundle: &crate::bundle::Bundle,
    control: Option<&str>,
) -> Result<usize> {
    match (control, &bundle.effect) {
        (None, Some(effect)) => Ok(effect.control),
        (control, _) => control_index(&bundle.arm_names(), control),
    }
}

/// The control arm: `--control`, else an arm named like a control
/// (control, placebo, sham, TAU, usual care, waitlist), else the first.
pub(crate) fn control_index(arms: &[String], control: Option<&str>) -> Result<usize> {
    if let Some(c) = control {
        return arms.iter().position(|a| a == c).ok_or_else(|| {
            Error::usage(format!(
                "--control `{c}` is not an arm of the model; the arms are: {}",
                arms.iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        });
    }
    const NAMES: [&str; 9] = [
        "control",
        "cont",
        "ctrl",
        "placebo",
        "sham",
        "tau",
        "usual",
        "waitlist",
        "wait-list",
    ];
    Ok(arms
        .iter()
        .position(|a| {
            let l = a.to_lowercase();
            NAMES.iter().any(|n| {
                l == *n
                    || l.starts_with(&format!("{n}_"))
                    || l.contains(&format!("{n} "))
                    || l.ends_with(&format!(" {n}"))
            })
        })
        .unwrap_or(0))
}

/// Propensities `e[a][i]` under `--allocation`: every named arm, shares
/// summing to 1 (normalised when they are ratios such as 2,1,1).
fn allocation(arms: &[String], alloc: &[(String, f64)], n: usize) -> Result<Vec<Vec<f64>>> {
    let mut e = Vec::with_capacity(arms.len());
    let total: f64 = alloc.iter().map(|(_, v)| v).sum();
    for a in arms {
        let v = alloc
            .iter()
            .find(|(name, _)| name == a)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::usage(format!("--allocation gives no share for arm `{a}`")))?;
        e.push(vec![v / total; n]);
    }
    if let Some((name, _)) = alloc.iter().find(|(name, _)| !arms.contains(name)) {
        return Err(Error::usage(format!(
            "--allocation names `{name}`, which is not an arm of the model"
        )));
    }
    Ok(e)
}

/// The propensities `e[a][i]`, `randomised`/`estimated`, and how they were formed.
pub(crate) fn propensities(
    data: &LabelledData,
    rows: &[usize],
    received: &[usize],
    arms: &[String],
    opts: &EffectOptions,
) -> Result<(Vec<Vec<f64>>, &'static str, String)> {
    let (k, n) = (arms.len(), rows.len());
    Ok(match (opts.propensity, &opts.allocation) {
        (PropensityChoice::Randomised, Some(alloc)) => (
            allocation(arms, alloc, n)?,
            "randomised",
            "the design's allocation (--allocation)".to_string(),
        ),
        (PropensityChoice::Randomised, None) => {
            let s = shares(received, k);
            (
                s.iter().map(|&v| vec![v; n]).collect(),
                "randomised",
                "the observed arm shares, as in a trial randomised in these ratios".to_string(),
            )
        }
        (PropensityChoice::Estimate, _) => {
            let mut count = vec![0usize; k];
            for &a in received {
                count[a] += 1;
            }
            if let Some(a) = (0..k).find(|&a| count[a] < PROPENSITY_FOLDS) {
                return Err(Error::data(
                    crate::error::Location::file(&data.ds.data.file),
                    format!(
                        "--propensity estimate cross-fits over {PROPENSITY_FOLDS} folds and needs at least {PROPENSITY_FOLDS} patients on every arm; arm `{}` has {}",
                        arms[a], count[a]
                    ),
                ));
            }
            let pipeline = Pipeline::fit(&data.frame, rows)?;
            let (x, _) = pipeline.transform(&data.frame, rows)?;
            let (e, l2) = cross_fitted(&x, received, k, opts.seed, None);
            (
                e,
                "estimated",
                format!(
                    "cross-fitted multinomial logistic regression of the therapy on the {} standardised model inputs ({PROPENSITY_FOLDS} folds; L2 penalty {l2} chosen by cross-validated log-loss)",
                    x.ncols()
                ),
            )
        }
    })
}

/// The effects analysis of `rows` of `data` (patients with an outcome and
/// an arm), whose probabilities under each arm are `p[a][j]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn effects_of(
    bundle: &Bundle,
    data: &LabelledData,
    rows: &[usize],
    p: &[Vec<f64>],
    received: &[usize],
    y: &[bool],
    opts: &EffectOptions,
    notes: &mut crate::notes::Notes,
) -> Result<Option<EffectsOutput>> {
    let arms = bundle.arm_names();
    let k = arms.len();
    let n = rows.len();
    let missing: Vec<&String> = (0..k)
        .filter(|&a| !received.contains(&a))
        .map(|a| &arms[a])
        .collect();
    if !missing.is_empty() {
        notes.warn(format!(
            "evidence for treatment selection needs patients who received every arm; none here received {}: the section is left out",
            crate::error::quote_all(missing)
        ));
        return Ok(None);
    }
    let control = control_index(&arms, opts.control.as_deref())?;
    let (e, kind, method) = propensities(data, rows, received, &arms, opts)?;
    if let Some(a) = (0..k).find(|&a| e[a].iter().any(|&v| v <= 0.0)) {
        return Err(Error::data(
            crate::error::Location::file(&data.ds.data.file),
            format!("arm `{}` has a propensity of 0 for some patients: no patient like them received it, so its effect cannot be estimated", arms[a]),
        ));
    }
    let (clusters, labels) = match &opts.group_col {
        Some(col) => {
            let (labels, of) = data.ds.groups(col, rows, "evaluated")?;
            (Some((of, labels.len())), labels)
        }
        None => (None, Vec::new()),
    };
    let recommended: Vec<usize> = (0..n)
        .map(|i| argmax(&p.iter().map(|pa| pa[i]).collect::<Vec<_>>()))
        .collect();
    let inp = EffectInputs {
        arms: arms.clone(),
        control,
        received: received.to_vec(),
        y: y.to_vec(),
        mu: p.to_vec(),
        e,
        recommended,
        clusters,
    };
    let mut effects = analyse(
        &inp,
        kind,
        method,
        crate::effects::rate::RATE_REPLICATES,
        opts.seed,
    );
    if let Some(b) = opts.bootstrap {
        crate::effects::use_bootstrap(&mut effects, &inp, b, opts.seed);
    }
    let (results, spread) = match &inp.clusters {
        Some((of, _)) => per_group(&inp, of, &labels, &effects),
        None => (Vec::new(), None),
    };
    Ok(Some(EffectsOutput {
        outcome_predictions: String::new(),
        effects,
        groups: results,
        group_spread: spread,
    }))
}

/// AUC, calibration slope and policy gain of each group.
fn per_group(
    inp: &EffectInputs,
    of: &[usize],
    labels: &[String],
    effects: &Effects,
) -> (Vec<GroupResult>, Option<GroupSpread>) {
    let gamma = aipw(&inp.received, &inp.y, &inp.mu, &inp.e);
    let best = inp
        .arms
        .iter()
        .position(|a| *a == effects.policy.gain_vs_best_single.best_single)
        .unwrap_or(0);
    let results: Vec<GroupResult> = labels
        .iter()
        .enumerate()
        .map(|(g, label)| {
            let idx: Vec<usize> = (0..of.len()).filter(|&i| of[i] == g).collect();
            let p: Vec<f64> = idx.iter().map(|&i| inp.mu[inp.received[i]][i]).collect();
            let y: Vec<bool> = idx.iter().map(|&i| inp.y[i]).collect();
            let gain: Vec<f64> = idx
                .iter()
                .map(|&i| gamma[inp.recommended[i]][i] - gamma[best][i])
                .collect();
            GroupResult {
                group: label.clone(),
                n: idx.len(),
                responders: y.iter().filter(|&&v| v).count(),
                auc: auc(&p, &y),
                calibration_slope: recalibrate(&p, &y).slope.map(|s| s.estimate),
                policy_gain: mean_se(&gain, None),
            }
        })
        .collect();
    let range = |v: Vec<f64>| -> Option<[f64; 2]> {
        (!v.is_empty()).then(|| {
            [
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ]
        })
    };
    let spread = GroupSpread {
        auc_range: range(results.iter().filter_map(|r| r.auc).collect()),
        calibration_slope_range: range(
            results.iter().filter_map(|r| r.calibration_slope).collect(),
        ),
        policy_gain_range: range(results.iter().map(|r| r.policy_gain.estimate).collect())
            .unwrap_or([f64::NAN; 2]),
    };
    (results, Some(spread))
}

/// Every scored patient's doubly robust scores (`score --dr-scores`).
#[derive(Debug, Clone)]
pub(crate) struct DrScores {
    /// ID, therapy and outcome column names.
    pub(crate) columns: [String; 3],
    /// Arm names.
    pub(crate) arms: Vec<String>,
    /// Per patient: ID, arm received, outcome.
    pub(crate) patients: Vec<(String, String, bool)>,
    /// `p[a][j]`, `e[a][j]`, `gamma[a][j]`.
    pub(crate) p: Vec<Vec<f64>>,
    /// Propensities.
    pub(crate) e: Vec<Vec<f64>>,
    /// AIPW scores.
    pub(crate) gamma: Vec<Vec<f64>>,
}

/// The doubly robust scores of every patient of `data` with an outcome and
/// an arm. Predictions are the bundle's cross-fitted ones when every
/// patient is a training patient with one, else the model's (a note when
/// some were in training). Returns the scores and notes.
pub(crate) fn dr_scores(
    bundle: &Bundle,
    model: &str,
    data: &LabelledData,
    opts: &EffectOptions,
) -> Result<(DrScores, Vec<String>)> {
    use crate::eval::apply::{cross_fitted_rows, overlap, predict_all};
    let arms = bundle.arm_names();
    if arms.len() < 2 || bundle.therapy_column.is_none() {
        return Err(Error::usage(
            "--dr-scores needs a model with two or more therapy arms",
        ));
    }
    let rows: Vec<usize> = (0..data.y.len())
        .filter(|&i| data.y[i].is_some() && data.arm_of[i].is_some())
        .collect();
    if rows.is_empty() {
        return Err(Error::data(
            crate::error::Location::file(&data.ds.data.file),
            "no patient has both an outcome and one of the model's arms: --dr-scores needs them",
        ));
    }
    let received: Vec<usize> = rows.iter().filter_map(|&i| data.arm_of[i]).collect();
    let y: Vec<bool> = rows.iter().map(|&i| data.y[i] == Some(true)).collect();
    let mut notes = Vec::new();
    let seen = overlap(bundle, data, &rows).map_or(0, |o| o.in_training);
    let p = if seen == rows.len() && bundle.cross_fitted.is_some() {
        notes.push(format!(
            "dr-scores: all {} patients were in training: their cross-fitted predictions are used",
            rows.len()
        ));
        cross_fitted_rows(bundle, model, data, &rows)?
    } else {
        if seen > 0 {
            notes.push(format!(
                "dr-scores: {seen} of {} patients were in training and are scored by models that saw them: their scores are optimistic",
                rows.len()
            ));
        }
        predict_all(bundle, &data.frame, &rows)?.0
    };
    let (e, _, method) = propensities(data, &rows, &received, &arms, opts)?;
    notes.push(format!("dr-scores: propensities from {method}"));
    let gamma = aipw(&received, &y, &p, &e);
    let patients = rows
        .iter()
        .zip(&received)
        .zip(&y)
        .map(|((&i, &a), &yi)| (data.ds.id(i).to_string(), arms[a].clone(), yi))
        .collect();
    let columns = [
        data.ds.id_name().to_string(),
        bundle.therapy_column.clone().unwrap_or_default(),
        data.target_column.clone(),
    ];
    Ok((
        DrScores {
            columns,
            arms,
            patients,
            p,
            e,
            gamma,
        },
        notes,
    ))
}
