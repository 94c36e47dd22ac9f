//! The text report of `evaluate`: discrimination, calibration,
//! classification and decision-curve tables per arm, and the
//! treatment-selection section.

use crate::bundle::Bundle;
use crate::eval::recommendation::{BootEstimate, RecommendationReport};
use crate::eval::{Evaluation, GroupEvaluation, LabelledData};
use crate::report::table::header;
use crate::report::{render_table, Cell};

fn num(v: Option<f64>, d: usize) -> Cell {
    Cell::Num(v.unwrap_or(f64::NAN), d)
}

fn interval(lo: Option<f64>, hi: Option<f64>, d: usize) -> Cell {
    match (lo, hi) {
        (Some(l), Some(h)) if l.is_finite() && h.is_finite() => {
            Cell::Text(format!("[{l:.d$}, {h:.d$}]"))
        }
        _ => Cell::Text("NA".into()),
    }
}

/// The evaluation as readable tables.
pub(crate) fn render_text(
    model: &str,
    bundle: &Bundle,
    data: &LabelledData,
    ev: &Evaluation,
) -> String {
    let groups: Vec<&GroupEvaluation> = ev.arms.iter().chain(&ev.overall).collect();
    let files: Vec<&str> = data.ds.files.iter().map(|f| f.name.as_str()).collect();
    let mut out = format!(
        "model {model} on {}: {} patients; responder if {}\n",
        files.join(" + "),
        ev.n_rows,
        bundle.target.description
    );
    out.push_str(&format!(
        "left out: {} with a missing outcome, {} with a missing therapy, {} with a therapy the model has no arm for\n",
        ev.n_missing_target, ev.n_missing_therapy, ev.n_unknown_therapy
    ));
    if let Some(m) = &ev.apparent_performance {
        out.push_str(&format!(
            "*** {} — optimistic, not validation ***\n",
            m.to_uppercase()
        ));
    } else if ev.predictions == "cross-fitted" {
        out.push_str(
            "predictions: cross-fitted (each patient scored by models that did not see them)\n",
        );
    } else if let Some(o) = ev.overlap {
        out.push_str(&format!(
            "none of the {} evaluated patients was in training\n",
            o.evaluated
        ));
    }
    out.push_str(&discrimination(&groups));
    out.push_str(&calibration(&groups));
    out.push_str(&classification(&groups));
    out.push_str(&decision_curve(&groups));
    out.push_str(&optimism(&groups));
    out
}

/// Harrell's bootstrap optimism correction, per arm and index.
fn optimism(groups: &[&GroupEvaluation]) -> String {
    let with: Vec<_> = groups
        .iter()
        .filter_map(|g| g.optimism.as_ref().map(|o| (g, o)))
        .collect();
    let Some((_, first)) = with.first() else {
        return String::new();
    };
    let mut rows = Vec::new();
    for (g, o) in &with {
        for (name, c) in [
            ("AUC", o.auc),
            ("Brier", o.brier),
            ("calibration intercept", o.calibration_intercept),
            ("calibration slope", o.calibration_slope),
        ] {
            rows.push(vec![
                Cell::Text(g.arm.clone()),
                Cell::Text(name.into()),
                Cell::Num(c.apparent, 3),
                Cell::Num(c.optimism, 3),
                Cell::Num(c.corrected, 3),
            ]);
        }
    }
    format!(
        "\nInternal validation (Harrell's bootstrap optimism correction, {} samples; whole pipeline refitted on each)\n{}",
        first.replicates,
        render_table(
            &header(&["arm", "index", "apparent", "optimism", "corrected"]),
            &rows
        )
    )
}

/// Discrimination and accuracy: AUC with its intervals, Brier, log-loss.
fn discrimination(groups: &[&GroupEvaluation]) -> String {
    let mut out = String::new();
    let boot = groups
        .iter()
        .find_map(|g| g.bootstrap.as_ref().map(|b| b.replicates))
        .unwrap_or(0);

    out.push_str(&format!(
        "\nDiscrimination and accuracy (AUC interval: stratified bootstrap, {boot} replicates; DeLong)\n"
    ));
    let rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|g| {
            let a = g.auc.as_ref();
            vec![
                Cell::Text(g.arm.clone()),
                Cell::Int(g.n),
                Cell::Int(g.responders),
                num(a.map(|a| a.estimate), 3),
                interval(a.and_then(|a| a.ci_low), a.and_then(|a| a.ci_high), 3),
                interval(
                    a.and_then(|a| a.delong_ci_low),
                    a.and_then(|a| a.delong_ci_high),
                    3,
                ),
                Cell::Num(g.brier, 4),
                num(g.brier_scaled, 3),
                Cell::Num(g.log_loss, 4),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &header(&[
            "arm",
            "n",
            "responders",
            "AUC",
            "95% CI bootstrap",
            "95% CI DeLong",
            "Brier",
            "scaled Brier",
            "log-loss",
        ]),
        &rows,
    ));

    out
}

/// Calibration: intercept and slope of the logistic recalibration, O/E.
fn calibration(groups: &[&GroupEvaluation]) -> String {
    let mut out = String::new();
    out.push_str(
        "\nCalibration (logistic recalibration on logit(p); ideal: intercept 0, slope 1, O/E 1;\nICI/E90/Emax: mean/90th percentile/largest |p - loess curve|, ideal 0)\n",
    );
    let rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|g| {
            let c = &g.calibration;
            vec![
                Cell::Text(g.arm.clone()),
                Cell::Num(g.mean_predicted, 3),
                Cell::Num(g.prevalence, 3),
                num(g.observed_expected, 3),
                num(c.in_the_large.map(|e| e.estimate), 3),
                interval(
                    c.in_the_large.map(|e| e.ci_low),
                    c.in_the_large.map(|e| e.ci_high),
                    3,
                ),
                num(c.slope.map(|e| e.estimate), 3),
                interval(c.slope.map(|e| e.ci_low), c.slope.map(|e| e.ci_high), 3),
                num(g.calibration_smooth.as_ref().map(|s| s.ici), 3),
                num(g.calibration_smooth.as_ref().map(|s| s.e90), 3),
                num(g.calibration_smooth.as_ref().map(|s| s.emax), 3),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &header(&[
            "arm",
            "mean p",
            "observed",
            "O/E",
            "intercept (CITL)",
            "95% CI",
            "slope",
            "95% CI",
            "ICI",
            "E90",
            "Emax",
        ]),
        &rows,
    ));

    out
}

/// Classification at the threshold and the Youden-optimal threshold.
fn classification(groups: &[&GroupEvaluation]) -> String {
    let mut out = String::new();
    out.push_str("\nClassification (responder predicted when p >= threshold)\n");
    let rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|g| {
            let c = &g.threshold.confusion;
            let y = g.youden.as_ref();
            vec![
                Cell::Text(g.arm.clone()),
                Cell::Num(c.threshold, 3),
                Cell::Text(g.threshold.source.clone()),
                num(c.sensitivity, 3),
                num(c.specificity, 3),
                num(c.ppv, 3),
                num(c.npv, 3),
                num(y.map(|y| y.threshold), 3),
                num(y.map(|y| y.sensitivity), 3),
                num(y.map(|y| y.specificity), 3),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &header(&[
            "arm",
            "threshold",
            "source",
            "sensitivity",
            "specificity",
            "PPV",
            "NPV",
            "Youden threshold",
            "sensitivity",
            "specificity",
        ]),
        &rows,
    ));

    out
}

/// Net benefit of the model and of treating all, per threshold.
fn decision_curve(groups: &[&GroupEvaluation]) -> String {
    let mut out = String::new();
    out.push_str(
        "\nDecision curve: net benefit of the model [bootstrap 95% CI] / of treating all (treating none = 0)\n",
    );
    let mut h = vec!["threshold".to_string()];
    for g in groups {
        h.push(g.arm.clone());
        h.push("95% CI".into());
        h.push(format!("{} all", g.arm));
    }
    let n_t = groups.first().map_or(0, |g| g.decision_curve.len());
    let rows: Vec<Vec<Cell>> = (0..n_t)
        .map(|t| {
            let mut r = vec![Cell::Num(groups[0].decision_curve[t].threshold, 2)];
            for g in groups {
                let d = &g.decision_curve[t];
                r.push(Cell::Num(d.model, 4));
                r.push(interval(d.model_ci_low, d.model_ci_high, 4));
                r.push(Cell::Num(d.treat_all, 4));
            }
            r
        })
        .collect();
    out.push_str(&render_table(&h, &rows));
    out
}

fn pct(e: &BootEstimate) -> String {
    match (e.value, e.lo, e.hi) {
        (Some(v), Some(lo), Some(hi)) => {
            format!("{:.1}% [{:.1}, {:.1}]", 100.0 * v, 100.0 * lo, 100.0 * hi)
        }
        (Some(v), _, _) => format!("{:.1}%", 100.0 * v),
        _ => "NA".into(),
    }
}

/// The treatment-selection section of the text report.
pub(crate) fn render_selection(s: &RecommendationReport) -> String {
    let mut out = format!(
        "\ntreatment selection ({} patients, {} predictions; recommendation = arm with the highest probability)\n",
        s.n, s.predictions
    );
    let header: Vec<String> = [
        "recommended",
        "n",
        "received it",
        "response if received",
        "if not",
        "difference",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows: Vec<Vec<Cell>> = s
        .follow
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.recommended.clone()),
                Cell::Int(r.n),
                Cell::Int(r.n_followed),
                Cell::Text(pct(&r.followed_rate)),
                Cell::Text(pct(&r.not_followed_rate)),
                Cell::Text(pct(&r.difference)),
            ]
        })
        .collect();
    out.push_str(&render_table(&header, &rows));
    match &s.effects {
        Some(e) => out.push_str(&crate::report::effects::render_effects(e)),
        None => {
            out.push_str(&format!("{}\n", s.verdict));
            if let Some(q) = &s.qini {
                out.push_str(&format!(
                    "Qini coefficient ({} vs {}, targeting by predicted uplift): {:.4}\n",
                    q.treatment, q.control, q.coefficient
                ));
            }
        }
    }
    if let Some(t) = &s.truth {
        out.push_str(&format!(
            "against the truth file: recommended = truly best for {:.1}% of {} patients; {} with a true advantage >= 0.10: {}; mean regret {:.4}\n",
            100.0 * t.correct_share,
            t.n,
            t.n_clear,
            t.correct_share_clear
                .map_or("NA".into(), |c| format!("{:.1}% correct", 100.0 * c)),
            t.mean_regret
        ));
    }
    out
}
