//! Evidence for treatment selection: does following the recommendation
//! beat one-size-fits-all? Doubly robust (AIPW) scores from outcome
//! predictions and propensities, the value of the recommendation policy and
//! of every single arm with influence-function intervals, each arm's
//! average effect against a control, the calibration test of the predicted
//! advantage, and RATE (AUTOC, Qini, TOC). Used by `evaluate`, `report`
//! and `score --dr-scores`.

pub(crate) mod blp;
pub(crate) mod estimate;
pub(crate) mod policy_tree;
pub(crate) mod propensity;
pub(crate) mod rate;
pub(crate) mod scores;

#[cfg(test)]
mod fixture_tests;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::stats::argmax;
use blp::{calibration_test, CalibrationTest};
use estimate::{mean_se, Interval};
use rate::{rate, Rate};

/// Below this propensity a patient counts as poorly overlapped.
pub(crate) const OVERLAP_THRESHOLD: f64 = 0.05;

/// What the analysis needs, per patient `i` and arm `a`.
#[derive(Debug, Clone)]
pub(crate) struct EffectInputs {
    /// Arm names, in bundle order.
    pub(crate) arms: Vec<String>,
    /// Index of the control arm.
    pub(crate) control: usize,
    /// Arm received.
    pub(crate) received: Vec<usize>,
    /// Outcome.
    pub(crate) y: Vec<bool>,
    /// Predicted response probability under each arm, `mu[a][i]`.
    pub(crate) mu: Vec<Vec<f64>>,
    /// Propensity of each arm, `e[a][i]`.
    pub(crate) e: Vec<Vec<f64>>,
    /// Recommended arm.
    pub(crate) recommended: Vec<usize>,
    /// Group index per patient and the number of groups (`--group-col`).
    pub(crate) clusters: Option<(Vec<usize>, usize)>,
}

/// A named list written as a JSON object, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Named<T>(pub(crate) Vec<(String, T)>);

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Overlap of the propensities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct OverlapReport {
    /// Smallest propensity of any patient for any arm.
    pub(crate) min_propensity: f64,
    /// Share of patients with any propensity below 0.05.
    pub(crate) share_below_0_05: f64,
    /// Their number.
    pub(crate) n_below_0_05: usize,
}

/// The gain over the best single arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GainVsBest {
    /// The single arm with the highest estimated response rate.
    pub(crate) best_single: String,
    /// The gain, its SE and interval.
    #[serde(flatten)]
    pub(crate) gain: Interval,
}

/// Policy values: response rates if everyone followed a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Policy {
    /// Everyone gets their recommended arm.
    pub(crate) recommended: Interval,
    /// Everyone gets one arm.
    pub(crate) arms: Named<Interval>,
    /// Recommended minus the best single arm (per-patient differences).
    pub(crate) gain_vs_best_single: GainVsBest,
    /// Recommended minus equal random allocation to the arms.
    pub(crate) gain_vs_random: Interval,
}

/// One arm against control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Contrast {
    /// The arm.
    pub(crate) arm: String,
    /// The control.
    pub(crate) control: String,
    /// Average effect (response-rate difference) of the arm over control.
    pub(crate) ate: Interval,
    /// The calibration test of the predicted advantage (`null` when the
    /// predicted advantage is constant or averages 0).
    pub(crate) calibration_test: Option<CalibrationTest>,
    /// RATE of prioritising patients by the predicted advantage.
    pub(crate) rate: Rate,
    /// One plain sentence on the test.
    pub(crate) verdict: String,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Effects {
    /// The control arm.
    pub(crate) control: String,
    /// `randomised` or `estimated`.
    pub(crate) propensity: &'static str,
    /// How the propensities were formed.
    pub(crate) propensity_method: String,
    /// Patients analysed.
    pub(crate) n: usize,
    /// Overlap of the propensities.
    pub(crate) overlap: OverlapReport,
    /// Policy values.
    pub(crate) policy: Policy,
    /// Each non-control arm against control.
    pub(crate) contrasts: Vec<Contrast>,
    /// With three or more arms: RATE of the predicted best-vs-control gain.
    pub(crate) rate_multi_arm: Option<Rate>,
    /// How the policy values' and average effects' SEs and intervals were
    /// formed: `influence function` or `bootstrap (…)`.
    pub(crate) intervals: String,
    /// Plain sentences, the verdict first.
    pub(crate) summary: Vec<String>,
    /// Cautions.
    pub(crate) warnings: Vec<String>,
}

/// The analysis of `inp`; `propensity` and `method` describe how `inp.e`
/// was formed; `seed` seeds the RATE bootstrap.
pub(crate) fn analyse(
    inp: &EffectInputs,
    propensity: &'static str,
    method: String,
    replicates: usize,
    seed: u64,
) -> Effects {
    let n = inp.y.len();
    let k = inp.arms.len();
    let cl = inp.clusters.as_ref().map(|(v, g)| (v.as_slice(), *g));
    let gamma = scores::aipw(&inp.received, &inp.y, &inp.mu, &inp.e);
    let value_of = |pick: &dyn Fn(usize) -> f64| mean_se(&(0..n).map(pick).collect::<Vec<_>>(), cl);
    let recommended = value_of(&|i| gamma[inp.recommended[i]][i]);
    let arm_values: Vec<Interval> = (0..k).map(|a| value_of(&|i| gamma[a][i])).collect();
    let best = argmax(&arm_values.iter().map(|v| v.estimate).collect::<Vec<_>>());
    let gain_best = value_of(&|i| gamma[inp.recommended[i]][i] - gamma[best][i]);
    let gain_random = value_of(&|i| {
        gamma[inp.recommended[i]][i] - (0..k).map(|a| gamma[a][i]).sum::<f64>() / k as f64
    });
    let c = inp.control;
    let contrasts: Vec<Contrast> = (0..k)
        .filter(|&a| a != c)
        .map(|a| {
            let d: Vec<f64> = (0..n).map(|i| gamma[a][i] - gamma[c][i]).collect();
            let tau: Vec<f64> = (0..n).map(|i| inp.mu[a][i] - inp.mu[c][i]).collect();
            let test = calibration_test(&d, &tau, cl);
            let verdict = match &test {
                Some(t) => t.verdict(),
                None => "the predicted advantage is the same for every patient (or averages 0): nothing to test".into(),
            };
            Contrast {
                arm: inp.arms[a].clone(),
                control: inp.arms[c].clone(),
                ate: mean_se(&d, cl),
                rate: rate(&d, &tau, cl, replicates, seed.wrapping_add(a as u64)),
                calibration_test: test,
                verdict,
            }
        })
        .collect();
    let rate_multi_arm = (k > 2).then(|| {
        let (prio, d): (Vec<f64>, Vec<f64>) = (0..n)
            .map(|i| {
                let b = (0..k)
                    .filter(|&a| a != c)
                    .fold(None, |acc: Option<usize>, a| match acc {
                        Some(x) if inp.mu[x][i] - inp.mu[c][i] >= inp.mu[a][i] - inp.mu[c][i] => {
                            Some(x)
                        }
                        _ => Some(a),
                    })
                    .unwrap_or(c);
                (inp.mu[b][i] - inp.mu[c][i], gamma[b][i] - gamma[c][i])
            })
            .unzip();
        rate(&d, &prio, cl, replicates, seed.wrapping_add(k as u64))
    });
    let overlap = overlap(&inp.e);
    let mut warnings = Vec::new();
    if let Some((_, g)) = &inp.clusters {
        if *g < 20 {
            warnings.push(format!(
                "only {g} groups: cluster-robust standard errors rest on the number of groups and are unreliable with fewer than about 20 (Cameron & Miller 2015); read the per-group results instead"
            ));
        }
    }
    if overlap.share_below_0_05 > 0.0 {
        warnings.push(format!(
            "poor overlap: {} of {n} patients ({:.1}%) have a propensity below {OVERLAP_THRESHOLD} for some arm (smallest {:.4}); their scores are weighted by up to {:.0}, so intervals widen and estimates rest on few patients",
            overlap.n_below_0_05,
            100.0 * overlap.share_below_0_05,
            overlap.min_propensity,
            1.0 / overlap.min_propensity
        ));
    }
    let policy = Policy {
        recommended,
        arms: Named(inp.arms.iter().cloned().zip(arm_values).collect()),
        gain_vs_best_single: GainVsBest {
            best_single: inp.arms[best].clone(),
            gain: gain_best,
        },
        gain_vs_random: gain_random,
    };
    let summary = summarise(&policy, &contrasts, n);
    Effects {
        intervals: "influence function (normal 95% interval)".into(),
        control: inp.arms[c].clone(),
        propensity,
        propensity_method: method,
        n,
        overlap,
        policy,
        contrasts,
        rate_multi_arm,
        summary,
        warnings,
    }
}

/// Replaces the SEs and intervals of the policy values and average effects
/// by a bootstrap of the patients (of whole groups with clusters), the
/// chosen best single arm held fixed; the plain sentences follow.
pub(crate) fn use_bootstrap(
    effects: &mut Effects,
    inp: &EffectInputs,
    replicates: usize,
    seed: u64,
) {
    let n = inp.y.len();
    let k = inp.arms.len();
    let cl = inp.clusters.as_ref().map(|(v, g)| (v.as_slice(), *g));
    let gamma = scores::aipw(&inp.received, &inp.y, &inp.mu, &inp.e);
    let best = inp
        .arms
        .iter()
        .position(|a| *a == effects.policy.gain_vs_best_single.best_single)
        .unwrap_or(0);
    let rec: Vec<f64> = (0..n).map(|i| gamma[inp.recommended[i]][i]).collect();
    let mut series = vec![rec.clone()];
    series.extend(gamma.iter().cloned());
    series.push((0..n).map(|i| rec[i] - gamma[best][i]).collect());
    series.push(
        (0..n)
            .map(|i| rec[i] - (0..k).map(|a| gamma[a][i]).sum::<f64>() / k as f64)
            .collect(),
    );
    let c = inp.control;
    series.extend(
        (0..k)
            .filter(|&a| a != c)
            .map(|a| (0..n).map(|i| gamma[a][i] - gamma[c][i]).collect()),
    );
    let b = estimate::bootstrap_means(&series, cl, replicates, seed);
    let p = &mut effects.policy;
    p.recommended = b[0];
    for (a, v) in p.arms.0.iter_mut().enumerate() {
        v.1 = b[1 + a];
    }
    p.gain_vs_best_single.gain = b[1 + k];
    p.gain_vs_random = b[2 + k];
    for (ct, v) in effects.contrasts.iter_mut().zip(&b[3 + k..]) {
        ct.ate = *v;
    }
    effects.intervals = format!(
        "bootstrap: {replicates} resamples of the {} (SE = SD of the replicates, percentile 95% interval)",
        if cl.is_some() { "groups" } else { "patients" }
    );
    effects.summary = summarise(&effects.policy, &effects.contrasts, n);
}

/// Minimum propensity and the patients with any propensity below 0.05.
pub(crate) fn overlap(e: &[Vec<f64>]) -> OverlapReport {
    let n = e.first().map_or(0, Vec::len);
    let below = (0..n)
        .filter(|&i| e.iter().any(|ea| ea[i] < OVERLAP_THRESHOLD))
        .count();
    OverlapReport {
        min_propensity: e.iter().flatten().copied().fold(f64::INFINITY, f64::min),
        share_below_0_05: below as f64 / n.max(1) as f64,
        n_below_0_05: below,
    }
}

/// Plain sentences: the verdict on the recommendation first.
fn summarise(policy: &Policy, contrasts: &[Contrast], n: usize) -> Vec<String> {
    let g = &policy.gain_vs_best_single;
    let mut out = vec![if g.gain.ci_high < 0.0 {
        format!(
            "Following the recommendation is worse than giving everyone {}: gain {} in response rate (AIPW, 95% CI), {n} patients; do not use these recommendations.",
            g.best_single,
            g.gain.show(3)
        )
    } else if g.gain.above_zero() {
        format!(
            "Following the recommendation beats giving everyone {}: gain {} in response rate (AIPW, 95% CI), {n} patients.",
            g.best_single,
            g.gain.show(3)
        )
    } else {
        format!(
            "No evidence that following the recommendation beats giving everyone {}: gain {} in response rate, an interval that includes 0 ({n} patients{}).",
            g.best_single,
            g.gain.show(3),
            if n < 1000 { "; trials of this size rarely can show it" } else { "" }
        )
    }];
    for c in contrasts {
        out.push(format!("{} vs {}: {}.", c.arm, c.control, c.verdict));
    }
    out
}
