//! Every metric of one group of patients (an arm, or all arms pooled), and
//! of a whole bundle on a labelled file: discrimination with confidence
//! intervals, accuracy, calibration, classification at a threshold and the
//! decision curve.

use serde::Serialize;

use crate::bundle::{Bundle, Design};
use crate::error::Result;
use crate::eval::apply::{cross_fitted_rows, overlap, predict_arm, LabelledData, Overlap};
use crate::eval::bootstrap::{bootstrap_auc, BootstrapAuc};
use crate::eval::calibration::{
    calibration_bins, default_bins, recalibrate, CalibrationBin, Recalibration,
};
use crate::eval::decision::{add_bands, decision_curve, default_thresholds, NetBenefit};
use crate::eval::metrics::{
    auc, brier, confusion, delong, log_loss, roc_curve, scaled_brier, youden, Confusion, RocPoint,
    Youden,
};
use crate::eval::smooth::{smooth_calibration, SmoothCalibration};
use crate::training::optimism::{bootstrap_optimism, Optimism};

/// Below this many patients in either class, a group is flagged as small:
/// validation guidance asks for at least 100 events and 100 non-events
/// (Vergouwe et al. 2005; Collins, Ogundimu & Altman 2016).
pub(crate) const SMALL_CLASS: usize = 100;
/// Below this many patients in either class, intervals and calibration are
/// flagged as unreliable.
pub(crate) const TINY_CLASS: usize = 10;

/// Options of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EvalOptions {
    /// Bootstrap replicates for the AUC interval (0: none).
    pub(crate) bootstrap: usize,
    /// Seed of the bootstrap.
    pub(crate) seed: u64,
}

/// The AUC with its intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AucSummary {
    /// Area under the ROC curve (Mann–Whitney; ties count one half).
    pub(crate) estimate: f64,
    /// Lower end of the 95 % stratified-bootstrap percentile interval.
    pub(crate) ci_low: Option<f64>,
    /// Upper end of the bootstrap interval.
    pub(crate) ci_high: Option<f64>,
    /// Bootstrap replicates behind the interval.
    pub(crate) bootstrap_replicates: usize,
    /// DeLong standard error (needs two patients per class).
    pub(crate) delong_se: Option<f64>,
    /// Lower end of the DeLong 95 % interval (normal, clipped to [0, 1]).
    pub(crate) delong_ci_low: Option<f64>,
    /// Upper end of the DeLong 95 % interval.
    pub(crate) delong_ci_high: Option<f64>,
}

/// Classification at the chosen threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AtThreshold {
    /// Where the threshold came from: `training prevalence` or `--threshold`.
    pub(crate) source: String,
    /// Counts and rates.
    #[serde(flatten)]
    pub(crate) confusion: Confusion,
}

/// Every metric of one group of patients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GroupEvaluation {
    /// The arm (`overall` for all arms pooled, `all` for a bundle without arms).
    pub(crate) arm: String,
    /// Labelled patients.
    pub(crate) n: usize,
    /// Responders among them.
    pub(crate) responders: usize,
    /// Non-responders among them.
    pub(crate) non_responders: usize,
    /// Observed share of responders.
    pub(crate) prevalence: f64,
    /// Mean predicted probability.
    pub(crate) mean_predicted: f64,
    /// Observed / expected responders (prevalence / mean prediction).
    pub(crate) observed_expected: Option<f64>,
    /// Discrimination; `None` when a class is absent.
    pub(crate) auc: Option<AucSummary>,
    /// Brier score.
    pub(crate) brier: f64,
    /// Scaled Brier score; `None` when a class is absent.
    pub(crate) brier_scaled: Option<f64>,
    /// Log-loss (probabilities clipped to machine epsilon).
    pub(crate) log_loss: f64,
    /// Logistic recalibration.
    pub(crate) calibration: Recalibration,
    /// Binned calibration curve.
    pub(crate) calibration_bins: Vec<CalibrationBin>,
    /// Loess calibration curve with its band, ICI, E50, E90 and E-max;
    /// `None` with fewer than 10 patients, one class or fewer than 4
    /// distinct predictions.
    pub(crate) calibration_smooth: Option<SmoothCalibration>,
    /// Classification at the threshold.
    pub(crate) threshold: AtThreshold,
    /// Youden-optimal threshold; `None` when a class is absent.
    pub(crate) youden: Option<Youden>,
    /// Net benefit at thresholds 0.05–0.95.
    pub(crate) decision_curve: Vec<NetBenefit>,
    /// True when a class has fewer than [`SMALL_CLASS`] patients.
    pub(crate) small_sample: bool,
    /// Cautions for this group.
    pub(crate) warnings: Vec<String>,
    /// Harrell's bootstrap optimism correction (`--optimism bootstrap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) optimism: Option<Optimism>,
    /// Patients per twentieth of the probability scale (`[0, 0.05)`, …,
    /// `[0.95, 1]`): the histogram under the calibration plot.
    #[serde(skip)]
    pub(crate) risk_histogram: Vec<usize>,
    /// The empirical ROC curve (for plots).
    #[serde(skip)]
    pub(crate) roc: Option<Vec<RocPoint>>,
    /// The bootstrap, with the ROC band (for plots).
    #[serde(skip)]
    pub(crate) bootstrap: Option<BootstrapAuc>,
}

/// The decision curve at 0.05–0.95 with the model's bootstrap band.
fn banded_decision_curve(p: &[f64], y: &[bool], opts: EvalOptions) -> Vec<NetBenefit> {
    let mut d = decision_curve(p, y, &default_thresholds());
    add_bands(&mut d, p, y, opts.bootstrap, opts.seed);
    d
}

/// Patients per twentieth of the probability scale.
fn risk_histogram(p: &[f64]) -> Vec<usize> {
    let mut h = vec![0usize; 20];
    for &v in p {
        h[((v * 20.0) as usize).min(19)] += 1;
    }
    h
}

/// Evaluates predictions `p` for outcomes `y` (both non-empty, same length).
pub(crate) fn evaluate_group(
    arm: &str,
    p: &[f64],
    y: &[bool],
    threshold: f64,
    threshold_source: &str,
    opts: EvalOptions,
) -> GroupEvaluation {
    let n = y.len();
    let responders = y.iter().filter(|&&v| v).count();
    let non_responders = n - responders;
    let prevalence = responders as f64 / n as f64;
    let mean_predicted = p.iter().sum::<f64>() / n as f64;
    let boot = bootstrap_auc(p, y, opts.bootstrap, opts.seed);
    let auc_summary = auc(p, y).map(|estimate| {
        let d = delong(p, y);
        AucSummary {
            estimate,
            ci_low: boot.as_ref().map(|b| b.ci_low),
            ci_high: boot.as_ref().map(|b| b.ci_high),
            bootstrap_replicates: boot.as_ref().map_or(0, |b| b.replicates),
            delong_se: d.map(|d| d.se),
            delong_ci_low: d.map(|d| d.ci95().0),
            delong_ci_high: d.map(|d| d.ci95().1),
        }
    });
    let calibration = recalibrate(p, y);
    let small = responders.min(non_responders);
    let mut warnings = Vec::new();
    if responders == 0 || non_responders == 0 {
        warnings.push(format!(
            "only {} ({n} patients, one class): AUC is undefined, and so are its intervals, the scaled Brier score, calibration and the Youden threshold; the other metrics are shown",
            if responders == 0 { "non-responders" } else { "responders" }
        ));
    } else {
        if small < TINY_CLASS {
            warnings.push(format!(
                "{responders} responders and {non_responders} non-responders: fewer than {TINY_CLASS} in a class, so intervals and calibration are unreliable"
            ));
        } else if small < SMALL_CLASS {
            warnings.push(format!(
                "{responders} responders and {non_responders} non-responders: fewer than {SMALL_CLASS} in a class, so estimates are imprecise (validation guidance asks for at least {SMALL_CLASS} of each)"
            ));
        }
        if calibration.slope.is_none() {
            warnings.push(
                "the calibration slope could not be estimated (the predictions separate the classes perfectly or are all equal)".into(),
            );
        }
    }
    GroupEvaluation {
        arm: arm.to_string(),
        n,
        responders,
        non_responders,
        prevalence,
        mean_predicted,
        observed_expected: (mean_predicted > 0.0).then(|| prevalence / mean_predicted),
        auc: auc_summary,
        brier: brier(p, y),
        brier_scaled: scaled_brier(p, y),
        log_loss: log_loss(p, y),
        calibration,
        calibration_bins: calibration_bins(p, y, default_bins(n)),
        calibration_smooth: smooth_calibration(p, y),
        threshold: AtThreshold {
            source: threshold_source.to_string(),
            confusion: confusion(p, y, threshold),
        },
        youden: youden(p, y),
        decision_curve: banded_decision_curve(p, y, opts),
        small_sample: small < SMALL_CLASS,
        warnings,
        optimism: None,
        risk_histogram: risk_histogram(p),
        roc: roc_curve(p, y),
        bootstrap: boot,
    }
}

/// The apparent-performance marker (model predictions on patients the
/// model was trained on), also added to `warnings`.
fn apparent_marker(
    cross_fitted: bool,
    overlap: Option<Overlap>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let m = overlap.filter(|_| !cross_fitted)?.marker()?;
    warnings.push(format!(
        "{m}: optimistic, not validation; evaluate on patients the model has not seen, or their cross-fitted predictions (--cross-fitted)"
    ));
    Some(m)
}

/// A bundle evaluated on a labelled file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Evaluation {
    /// Where the probabilities come from: `model` (the bundle's models on
    /// the file) or `cross-fitted` (out-of-fold, training patients only).
    pub(crate) predictions: &'static str,
    /// Evaluated patients the model was trained on (`null`: unknown, an
    /// older bundle on another file).
    pub(crate) overlap: Option<Overlap>,
    /// "apparent performance (n of N patients were in training)" when any
    /// evaluated patient was (model predictions only).
    pub(crate) apparent_performance: Option<String>,
    /// Joined patients in the file.
    pub(crate) n_rows: usize,
    /// Patients left out for a missing outcome.
    pub(crate) n_missing_target: usize,
    /// Labelled patients left out for a missing therapy.
    pub(crate) n_missing_therapy: usize,
    /// Labelled patients left out because their therapy is not an arm.
    pub(crate) n_unknown_therapy: usize,
    /// One entry per arm with patients, in bundle order.
    pub(crate) arms: Vec<GroupEvaluation>,
    /// Every evaluated patient, each with the probability under the arm
    /// they received; `None` when no arm has patients. For a bundle with one
    /// arm it is that arm's group (its warnings are not repeated).
    pub(crate) overall: Option<GroupEvaluation>,
    /// Cautions about the file as a whole.
    pub(crate) warnings: Vec<String>,
    /// The optimism correction of a one-arm bundle (`--optimism`; per arm
    /// in `arms[].optimism`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) optimism: Option<Optimism>,
}

/// The classification threshold and where it came from: `--threshold`, or
/// the training prevalence `responders / n`.
fn pick_threshold(threshold: Option<f64>, responders: usize, n: usize) -> (f64, &'static str) {
    match threshold {
        Some(t) => (t, "--threshold"),
        None => (responders as f64 / n.max(1) as f64, "training prevalence"),
    }
}

/// Every evaluated patient pooled, each with the probability under the arm
/// they received; with one arm, that arm's group (same numbers, same
/// interval, warnings not repeated).
fn overall_group(
    bundle: &Bundle,
    arms: &[GroupEvaluation],
    p: &[f64],
    y: &[bool],
    threshold: Option<f64>,
    opts: EvalOptions,
) -> Option<GroupEvaluation> {
    if bundle.arms.len() == 1 {
        return arms.first().cloned().map(|mut g| {
            g.arm = "overall".into();
            g.warnings.clear();
            g
        });
    }
    (!y.is_empty()).then(|| {
        let t = &bundle.training;
        let (t, source) = pick_threshold(threshold, t.responders, t.n);
        let seed = opts.seed.wrapping_add(bundle.arms.len() as u64);
        evaluate_group("overall", p, y, t, source, EvalOptions { seed, ..opts })
    })
}

/// P(responder) under arm `a` for `rows`: the bundle's cross-fitted
/// predictions when asked, else the model's (for an effect model, the
/// control's outcome model plus the arm's effect, as `score` reads it).
fn arm_predictions(
    bundle: &Bundle,
    cross_fitted: Option<&str>,
    data: &LabelledData,
    rows: &[usize],
    a: usize,
) -> Result<Vec<f64>> {
    Ok(match cross_fitted {
        Some(model) => cross_fitted_rows(bundle, model, data, rows)?.swap_remove(a),
        None if bundle.effect.is_some() => {
            crate::eval::apply::predict_all(bundle, &data.frame, rows)?
                .0
                .swap_remove(a)
        }
        None => predict_arm(&bundle.arms[a], &data.frame, rows)?.0,
    })
}

/// Evaluates every arm of `bundle` on the patients who received it, and all
/// of them pooled. `threshold` overrides each arm's training prevalence.
/// With `cross_fitted` (the model file's name, for messages), every
/// patient's probability is the bundle's cross-fitted one (out-of-fold),
/// so the file must hold training patients only.
pub(crate) fn evaluate_bundle(
    bundle: &Bundle,
    data: &LabelledData,
    threshold: Option<f64>,
    opts: EvalOptions,
    cross_fitted: Option<&str>,
) -> Result<Evaluation> {
    let names = bundle.arm_names();
    let mut arms = Vec::new();
    let mut warnings = Vec::new();
    let (mut all_p, mut all_y) = (Vec::new(), Vec::new());
    let mut evaluated = Vec::new();
    for (a, arm) in bundle.arms.iter().enumerate() {
        let (rows, y) = data.arm_rows(a);
        if rows.is_empty() {
            warnings.push(format!(
                "arm `{}`: no labelled patients received it in {}",
                names[a], data.ds.data.file
            ));
            continue;
        }
        let p = arm_predictions(bundle, cross_fitted, data, &rows, a)?;
        evaluated.extend_from_slice(&rows);
        let (t, source) = pick_threshold(threshold, arm.responders, arm.n);
        let seed = opts.seed.wrapping_add(a as u64);
        arms.push(evaluate_group(
            &names[a],
            &p,
            &y,
            t,
            source,
            EvalOptions { seed, ..opts },
        ));
        all_p.extend(p);
        all_y.extend(y);
    }
    let overall = overall_group(bundle, &arms, &all_p, &all_y, threshold, opts);
    // Patients the model was trained on (by ID hash; older bundles: the
    // same clinical file). Cross-fitted predictions never saw them.
    let overlap = overlap(bundle, data, &evaluated);
    let apparent_performance = apparent_marker(cross_fitted.is_some(), overlap, &mut warnings);
    let n_unknown_therapy = data.unknown_therapy.values().sum();
    if n_unknown_therapy > 0 {
        warnings.push(format!(
            "{}: {n_unknown_therapy} labelled patients received a therapy that is not an arm of the model ({}); left out",
            data.ds.data.file,
            data.unknown_therapy
                .iter()
                .map(|(t, n)| format!("`{t}` {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Evaluation {
        predictions: if cross_fitted.is_some() {
            "cross-fitted"
        } else {
            "model"
        },
        overlap,
        apparent_performance,
        n_rows: data.ds.n_rows(),
        n_missing_target: data.n_missing_target,
        n_missing_therapy: data.n_missing_therapy,
        n_unknown_therapy,
        arms,
        overall,
        warnings,
        optimism: None,
    })
}

/// Adds Harrell's bootstrap optimism correction to every arm of `ev`:
/// each arm's algorithm and pipeline refitted on `replicates` bootstrap
/// samples of the patients who received it in `data`. Per-arm models only
/// (an S-learner's one model is not refitted per arm).
pub(crate) fn add_optimism(
    bundle: &Bundle,
    data: &LabelledData,
    ev: &mut Evaluation,
    replicates: usize,
    seed: u64,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let names = bundle.arm_names();
    for (a, arm) in bundle.arms.iter().enumerate() {
        if !matches!(arm.design, Design::PerArm) {
            notes.push(
                "--optimism refits per-arm models; this bundle's one model for all arms (an S-learner, or S-learner outcome models) was not refitted"
                    .to_string(),
            );
            break;
        }
        let (rows, y) = data.arm_rows(a);
        let Some(g) = ev.arms.iter_mut().find(|g| g.arm == names[a]) else {
            continue;
        };
        g.optimism = bootstrap_optimism(
            &data.frame,
            &rows,
            &y,
            &arm.algorithm,
            replicates,
            seed.wrapping_add(a as u64),
        )?;
        match &g.optimism {
            None => notes.push(format!(
                "arm `{}`: no optimism correction (the refitted model's AUC or calibration is undefined)",
                names[a]
            )),
            Some(o) if o.used < o.replicates => notes.push(format!(
                "arm `{}`: {} of {} bootstrap samples were left out (one class, or a fit that failed)",
                names[a],
                o.replicates - o.used,
                o.replicates
            )),
            _ => {}
        }
    }
    if bundle.arms.len() == 1 {
        ev.optimism = ev.arms.first().and_then(|g| g.optimism.clone());
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: EvalOptions = EvalOptions {
        bootstrap: 100,
        seed: 3,
    };

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let cases: Vec<(Vec<f64>, Vec<bool>)> = vec![
            (vec![0.3], vec![true]),
            (vec![0.0, 1.0], vec![false, true]),
            (vec![1.0, 0.0], vec![false, true]),
            (vec![0.5; 6], vec![true, false, true, false, true, false]),
            (vec![0.0, 0.0, 1.0, 1.0], vec![true, true, true, true]),
            (vec![0.2, 0.9, 0.4], vec![false, false, false]),
        ];
        for (p, y) in cases {
            let g = evaluate_group("x", &p, &y, 0.5, "--threshold", OPTS);
            assert_eq!(g.n, p.len());
            assert!(g.brier.is_finite() && g.log_loss.is_finite(), "{p:?}");
            assert_eq!(g.decision_curve.len(), 19);
            serde_json::to_string(&g).unwrap();
        }
    }

    #[test]
    fn one_class_group_explains_itself() {
        let g = evaluate_group("x", &[0.2, 0.7, 0.9], &[true; 3], 0.5, "--threshold", OPTS);
        assert!(g.auc.is_none() && g.youden.is_none() && g.brier_scaled.is_none());
        assert!(
            g.warnings[0].contains("AUC is undefined"),
            "{:?}",
            g.warnings
        );
        assert_eq!(g.threshold.confusion.sensitivity, Some(2.0 / 3.0));
        assert_eq!(g.threshold.confusion.specificity, None);
    }

    #[test]
    fn perfect_separation_warns_about_the_slope() {
        let p = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8];
        let y = [false, false, false, true, true, true];
        let g = evaluate_group("x", &p, &y, 0.5, "--threshold", OPTS);
        assert_eq!(g.auc.as_ref().unwrap().estimate, 1.0);
        assert!(g.calibration.slope.is_none());
        assert!(g.warnings.iter().any(|w| w.contains("calibration slope")));
        assert!(g.warnings.iter().any(|w| w.contains("fewer than 10")));
        let y = g.youden.unwrap();
        assert_eq!((y.threshold, y.j), (0.6, 1.0));
    }
}
