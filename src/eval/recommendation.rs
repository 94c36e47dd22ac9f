//! Recommendation evaluation (treatment selection): does following the model's recommended therapy go
//! with better outcomes? On trial data (patients randomised to arms) this
//! compares patients who happened to receive their recommended therapy with
//! those who did not, estimates the response rate if everyone had followed
//! the recommendation (self-normalised inverse-probability weighting with
//! the observed arm shares as propensities, valid under randomisation), and, for two arms,
//! the Qini curve. Against simulated truth it reports how often the
//! recommendation is the truly best therapy and the mean regret.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::data::truth::Truth;
use crate::error::Result;
use crate::eval::apply::{cross_fitted_rows, overlap, predict_all, LabelledData};
use crate::eval::selection::{effects_of, EffectOptions, EffectsOutput};
use crate::notes::Notes;
use crate::stats::{argmax, quantile};

/// Where the judged probabilities come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Predictions {
    /// The bundle's models, applied to the file.
    Model,
    /// The bundle's cross-fitted predictions of its training patients.
    CrossFitted,
}

/// How recommendations are judged.
#[derive(Debug, Clone)]
pub(crate) struct JudgeOptions {
    /// Where the probabilities come from.
    pub(crate) source: Predictions,
    /// Bootstrap replicates of the intervals.
    pub(crate) bootstrap: usize,
    /// Seed of the bootstrap.
    pub(crate) seed: u64,
    /// The effects analysis (doubly robust policy values, calibration
    /// test, RATE).
    pub(crate) effects: EffectOptions,
}

impl JudgeOptions {
    /// The bundle's cross-fitted predictions or the model's; bootstrap
    /// intervals of at least 200 replicates.
    pub(crate) fn new(
        cross_fitted: bool,
        bootstrap: usize,
        seed: u64,
        effects: EffectOptions,
    ) -> JudgeOptions {
        JudgeOptions {
            source: if cross_fitted {
                Predictions::CrossFitted
            } else {
                Predictions::Model
            },
            bootstrap: bootstrap.max(200),
            seed,
            effects,
        }
    }
}

/// Judges the recommendations of a multi-arm bundle on the labelled
/// patients of `data` who received one of its arms; `None` for a bundle
/// with one arm or no therapy column, or no such patients. `model` names
/// the bundle file in errors; `truth` adds agreement with simulated truth.
pub(crate) fn judge(
    bundle: &Bundle,
    model: &str,
    data: &LabelledData,
    opts: JudgeOptions,
    truth: Option<&Truth>,
    notes: &mut Notes,
) -> Result<Option<RecommendationReport>> {
    let JudgeOptions {
        source,
        bootstrap,
        seed,
        effects,
    } = opts;
    if bundle.arms.len() < 2 || bundle.therapy_column.is_none() {
        return Ok(None);
    }
    let rows: Vec<usize> = (0..data.y.len())
        .filter(|&i| data.y[i].is_some() && data.arm_of[i].is_some())
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let received: Vec<usize> = rows.iter().map(|&i| data.arm_of[i].unwrap_or(0)).collect();
    let y: Vec<bool> = rows.iter().map(|&i| data.y[i] == Some(true)).collect();
    let p = match source {
        Predictions::CrossFitted => cross_fitted_rows(bundle, model, data, &rows)?,
        Predictions::Model => {
            if let Some(m) = overlap(bundle, data, &rows).and_then(|o| o.marker()) {
                notes.warn(format!(
                    "treatment selection: {m}; add --cross-fitted for an honest estimate"
                ));
            }
            predict_all(bundle, &data.frame, &rows)?.0
        }
    };
    let label = match source {
        Predictions::Model => "model",
        Predictions::CrossFitted => "cross-fitted",
    };
    let mut report = recommendation_report(
        &bundle.arm_names(),
        &p,
        &received,
        &y,
        bootstrap,
        seed,
        label,
    );
    report.effects =
        effects_of(bundle, data, &rows, &p, &received, &y, &effects, notes)?.map(|mut e| {
            e.outcome_predictions = label.to_string();
            e
        });
    for w in report.effects.iter().flat_map(|e| &e.effects.warnings) {
        notes.warn(w.clone());
    }
    if let Some(t) = truth {
        let rows_truth: Vec<Option<Vec<f64>>> = rows
            .iter()
            .map(|&i| t.get(data.ds.id(i)).cloned())
            .collect();
        report.truth = Some(truth_agreement(&p, &rows_truth));
    }
    Ok(Some(report))
}

/// A point estimate with a 95 % percentile bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BootEstimate {
    /// The estimate on the data as observed.
    pub(crate) value: Option<f64>,
    /// 2.5th percentile of the bootstrap replicates.
    pub(crate) lo: Option<f64>,
    /// 97.5th percentile of the bootstrap replicates.
    pub(crate) hi: Option<f64>,
}

impl BootEstimate {
    /// Whether the interval contains zero (or is undefined).
    #[cfg(test)]
    pub(crate) fn includes_zero(&self) -> bool {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => lo <= 0.0 && hi >= 0.0,
            _ => true,
        }
    }
}

/// Followed vs not followed, for patients recommended one therapy (or all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FollowRow {
    /// The recommended therapy (`all` for every patient).
    pub(crate) recommended: String,
    /// Patients recommended it.
    pub(crate) n: usize,
    /// Of them, how many received it.
    pub(crate) n_followed: usize,
    /// Response rate among those who received their recommendation.
    pub(crate) followed_rate: BootEstimate,
    /// Response rate among those who did not.
    pub(crate) not_followed_rate: BootEstimate,
    /// Followed minus not followed.
    pub(crate) difference: BootEstimate,
}

/// One point of the Qini curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct QiniPoint {
    /// Share of patients targeted, best predicted uplift first.
    pub(crate) fraction: f64,
    /// Incremental responders (per patient in the whole sample) among them.
    pub(crate) qini: f64,
    /// The same for random targeting.
    pub(crate) random: f64,
}

/// Qini curve of the uplift `p_treatment − p_control` (two arms).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Qini {
    /// The arm treated as "treatment".
    pub(crate) treatment: String,
    /// The arm treated as "control".
    pub(crate) control: String,
    /// Points at fractions 0, 0.05, …, 1.
    pub(crate) points: Vec<QiniPoint>,
    /// Area between the curve and the random line (per patient).
    pub(crate) coefficient: f64,
}

/// Agreement with simulated truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TruthAgreement {
    /// Patients with a truth row.
    pub(crate) n: usize,
    /// Share whose recommended therapy is the truly best one.
    pub(crate) correct_share: f64,
    /// Patients whose true advantage (best − second best) is ≥ 0.10.
    pub(crate) n_clear: usize,
    /// Share correct among them.
    pub(crate) correct_share_clear: Option<f64>,
    /// Mean of (true best probability − true probability of the recommendation).
    pub(crate) mean_regret: f64,
}

/// The treatment-selection report (stable JSON keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RecommendationReport {
    /// Patients with an outcome and a known arm.
    pub(crate) n: usize,
    /// The arms, in bundle order.
    pub(crate) arms: Vec<String>,
    /// Where the predictions came from (`model` or `cross-fitted`).
    pub(crate) predictions: String,
    /// Patients per recommended therapy.
    pub(crate) recommended_counts: Vec<usize>,
    /// Followed vs not, overall first, then per recommended therapy.
    pub(crate) follow: Vec<FollowRow>,
    /// Response rate if everyone received their recommendation (IPW).
    pub(crate) policy_rate: BootEstimate,
    /// Observed response rate of each arm (what "everyone gets arm a" yields).
    pub(crate) single_therapy_rates: Vec<BootEstimate>,
    /// The best single therapy by observed rate.
    pub(crate) best_single_therapy: String,
    /// Policy minus the best single therapy.
    pub(crate) benefit_vs_best_single: BootEstimate,
    /// Policy minus the mean of the single-therapy rates (random allocation).
    pub(crate) benefit_vs_random: BootEstimate,
    /// A plain statement of what the data can tell.
    pub(crate) verdict: String,
    /// Qini curve (two arms only).
    pub(crate) qini: Option<Qini>,
    /// Agreement with simulated truth (`--truth`).
    pub(crate) truth: Option<TruthAgreement>,
    /// The effects analysis (written as the top-level `effects`).
    #[serde(skip)]
    pub(crate) effects: Option<EffectsOutput>,
}

struct Stats {
    follow: Vec<(Option<f64>, Option<f64>)>, // (followed, not) overall then per arm
    policy: Option<f64>,
    single: Vec<Option<f64>>,
}

fn rate(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

/// Statistics for patients `idx` (with repeats, for the bootstrap).
fn stats(idx: &[usize], rec: &[usize], received: &[usize], y: &[bool], k: usize) -> Stats {
    let n = idx.len() as f64;
    let mut arm_n = vec![0.0; k];
    let mut arm_r = vec![0.0; k];
    // [overall, per recommended arm] × (followed n, followed r, not n, not r)
    let mut f = vec![[0.0f64; 4]; k + 1];
    for &i in idx {
        let (a, r, yi) = (received[i], rec[i], f64::from(u8::from(y[i])));
        arm_n[a] += 1.0;
        arm_r[a] += yi;
        let slot = if a == r { 0 } else { 2 };
        for g in [0, r + 1] {
            f[g][slot] += 1.0;
            f[g][slot + 1] += yi;
        }
    }
    // Self-normalised (Hajek) IPW with the observed arm shares as
    // propensities: a weighted response rate among patients who received
    // their recommendation, bounded in [0, 1].
    let (mut num, mut den) = (0.0, 0.0);
    let mut ok = true;
    for &i in idx {
        if received[i] == rec[i] {
            let pi = arm_n[received[i]] / n;
            if pi <= 0.0 {
                ok = false;
                continue;
            }
            num += f64::from(u8::from(y[i])) / pi;
            den += 1.0 / pi;
        }
    }
    // A recommended arm nobody received makes the IPW estimate undefined.
    for &i in idx {
        if arm_n[rec[i]] == 0.0 {
            ok = false;
        }
    }
    Stats {
        follow: f
            .iter()
            .map(|c| (rate(c[1], c[0]), rate(c[3], c[2])))
            .collect(),
        policy: (ok && den > 0.0).then(|| num / den),
        single: (0..k).map(|a| rate(arm_r[a], arm_n[a])).collect(),
    }
}

fn estimate(value: Option<f64>, reps: &[Option<f64>]) -> BootEstimate {
    let v: Vec<f64> = reps.iter().flatten().copied().collect();
    // An interval needs most replicates to be defined.
    let enough = v.len() * 10 >= reps.len() * 9 && !v.is_empty();
    BootEstimate {
        value,
        lo: if enough {
            quantile(v.clone(), 0.025)
        } else {
            None
        },
        hi: if enough { quantile(v, 0.975) } else { None },
    }
}

fn diff(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

/// Builds the report. `p[a][i]`: patient `i`'s probability under arm `a`;
/// `received[i]`: the arm they got; `y[i]`: their outcome. Bootstrap
/// resamples patients within each received arm (`bootstrap` replicates).
pub(crate) fn recommendation_report(
    arms: &[String],
    p: &[Vec<f64>],
    received: &[usize],
    y: &[bool],
    bootstrap: usize,
    seed: u64,
    predictions: &str,
) -> RecommendationReport {
    let k = arms.len();
    let n = y.len();
    let rec: Vec<usize> = (0..n)
        .map(|i| argmax(&p.iter().map(|pa| pa[i]).collect::<Vec<_>>()))
        .collect();
    let all: Vec<usize> = (0..n).collect();
    let observed = stats(&all, &rec, received, y, k);
    // Stratified bootstrap: resample within each received arm.
    let by_arm: Vec<Vec<usize>> = (0..k)
        .map(|a| (0..n).filter(|&i| received[i] == a).collect())
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut reps = Vec::with_capacity(bootstrap);
    let mut idx = Vec::with_capacity(n);
    for _ in 0..bootstrap {
        idx.clear();
        for group in &by_arm {
            for _ in 0..group.len() {
                idx.push(group[rng.gen_range(0..group.len())]);
            }
        }
        reps.push(stats(&idx, &rec, received, y, k));
    }
    let best_single = (0..k)
        .max_by(|&a, &b| {
            observed.single[a]
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&observed.single[b].unwrap_or(f64::NEG_INFINITY))
        })
        .unwrap_or(0);
    let mean_single = |s: &Stats| -> Option<f64> {
        let v: Option<Vec<f64>> = s.single.iter().copied().collect();
        v.map(|v| v.iter().sum::<f64>() / v.len() as f64)
    };
    let follow = follow_rows(arms, &rec, received, &observed, &reps);
    let policy_rate = estimate(
        observed.policy,
        &reps.iter().map(|s| s.policy).collect::<Vec<_>>(),
    );
    let single_therapy_rates = (0..k)
        .map(|a| {
            estimate(
                observed.single[a],
                &reps.iter().map(|s| s.single[a]).collect::<Vec<_>>(),
            )
        })
        .collect();
    let benefit_vs_best_single = estimate(
        diff(observed.policy, observed.single[best_single]),
        &reps
            .iter()
            .map(|s| diff(s.policy, s.single[best_single]))
            .collect::<Vec<_>>(),
    );
    let benefit_vs_random = estimate(
        diff(observed.policy, mean_single(&observed)),
        &reps
            .iter()
            .map(|s| diff(s.policy, mean_single(s)))
            .collect::<Vec<_>>(),
    );
    let verdict = verdict(&benefit_vs_best_single, &arms[best_single], n, k);
    RecommendationReport {
        n,
        arms: arms.to_vec(),
        predictions: predictions.to_string(),
        recommended_counts: (0..k)
            .map(|a| rec.iter().filter(|&&r| r == a).count())
            .collect(),
        follow,
        policy_rate,
        single_therapy_rates,
        best_single_therapy: arms[best_single].clone(),
        benefit_vs_best_single,
        benefit_vs_random,
        verdict,
        qini: (k == 2).then(|| qini(arms, p, received, y)),
        truth: None,
        effects: None,
    }
}

/// Followed vs not followed: all patients, then per recommended therapy.
fn follow_rows(
    arms: &[String],
    rec: &[usize],
    received: &[usize],
    observed: &Stats,
    reps: &[Stats],
) -> Vec<FollowRow> {
    let k = arms.len();
    let n = rec.len();
    let mut follow = Vec::with_capacity(k + 1);
    for g in 0..=k {
        let label = if g == 0 {
            "all".to_string()
        } else {
            arms[g - 1].clone()
        };
        let members = if g == 0 {
            n
        } else {
            rec.iter().filter(|&&r| r == g - 1).count()
        };
        let followed = if g == 0 {
            (0..n).filter(|&i| rec[i] == received[i]).count()
        } else {
            (0..n)
                .filter(|&i| rec[i] == g - 1 && received[i] == g - 1)
                .count()
        };
        let f = |s: &Stats| s.follow[g].0;
        let nf = |s: &Stats| s.follow[g].1;
        follow.push(FollowRow {
            recommended: label,
            n: members,
            n_followed: followed,
            followed_rate: estimate(f(observed), &reps.iter().map(f).collect::<Vec<_>>()),
            not_followed_rate: estimate(nf(observed), &reps.iter().map(nf).collect::<Vec<_>>()),
            difference: estimate(
                diff(f(observed), nf(observed)),
                &reps.iter().map(|s| diff(f(s), nf(s))).collect::<Vec<_>>(),
            ),
        });
    }
    follow
}

fn verdict(b: &BootEstimate, best: &str, n: usize, k: usize) -> String {
    let small = if n < 100 * k {
        format!(" With {n} patients in {k} arms the data are too small to tell reliably.")
    } else {
        String::new()
    };
    match (b.value, b.lo, b.hi) {
        (Some(v), Some(lo), Some(hi)) if lo > 0.0 => format!(
            "Following the recommendation is estimated to raise the response rate by {:.1} points over giving everyone {best} (95 % CI {:.1} to {:.1}).{small}",
            100.0 * v, 100.0 * lo, 100.0 * hi
        ),
        (Some(v), Some(lo), Some(hi)) if hi < 0.0 => format!(
            "Following the recommendation is estimated to LOWER the response rate by {:.1} points against giving everyone {best} (95 % CI {:.1} to {:.1}).{small}",
            -100.0 * v, 100.0 * lo, 100.0 * hi
        ),
        (Some(v), Some(lo), Some(hi)) => format!(
            "The estimated benefit over giving everyone {best} is {:+.1} points, but its 95 % CI ({:.1} to {:.1}) includes zero: these data cannot tell whether following the recommendation helps.{small}",
            100.0 * v, 100.0 * lo, 100.0 * hi
        ),
        _ => format!(
            "The benefit of following the recommendation cannot be estimated: some recommended therapy was never received, or an arm is empty.{small}"
        ),
    }
}

/// Qini curve for two arms: targeting patients by `p[0] − p[1]`.
pub(crate) fn qini(arms: &[String], p: &[Vec<f64>], received: &[usize], y: &[bool]) -> Qini {
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| (p[0][b] - p[1][b]).total_cmp(&(p[0][a] - p[1][a])));
    let mut prefix = Vec::with_capacity(n + 1);
    let (mut nt, mut rt, mut nc, mut rc) = (0.0, 0.0, 0.0, 0.0);
    prefix.push(0.0);
    for &i in &order {
        let yi = f64::from(u8::from(y[i]));
        if received[i] == 0 {
            nt += 1.0;
            rt += yi;
        } else {
            nc += 1.0;
            rc += yi;
        }
        let q = if nc > 0.0 { rt - rc * nt / nc } else { rt };
        prefix.push(q / n.max(1) as f64);
    }
    let total = *prefix.last().unwrap_or(&0.0);
    let points: Vec<QiniPoint> = (0..=20)
        .map(|s| {
            let fraction = s as f64 / 20.0;
            let k = (fraction * n as f64).round() as usize;
            QiniPoint {
                fraction,
                qini: prefix[k.min(n)],
                random: fraction * total,
            }
        })
        .collect();
    let coefficient = points
        .windows(2)
        .map(|w| {
            let a = w[0].qini - w[0].random;
            let b = w[1].qini - w[1].random;
            (a + b) / 2.0 * (w[1].fraction - w[0].fraction)
        })
        .sum();
    Qini {
        treatment: arms[0].clone(),
        control: arms[1].clone(),
        points,
        coefficient,
    }
}

/// Agreement of the recommendations with true probabilities
/// (`truth[a][i]` for patient `i`, `None` where no truth row exists).
pub(crate) fn truth_agreement(p: &[Vec<f64>], truth: &[Option<Vec<f64>>]) -> TruthAgreement {
    let (mut n, mut correct, mut n_clear, mut correct_clear, mut regret) = (0, 0, 0, 0, 0.0);
    for (i, t) in truth.iter().enumerate() {
        let Some(t) = t else { continue };
        let rec = argmax(&p.iter().map(|pa| pa[i]).collect::<Vec<_>>());
        let best = argmax(t);
        let mut sorted = t.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let clear = sorted.len() > 1 && sorted[0] - sorted[1] >= 0.10;
        n += 1;
        regret += t[best] - t[rec];
        if rec == best {
            correct += 1;
        }
        if clear {
            n_clear += 1;
            if rec == best {
                correct_clear += 1;
            }
        }
    }
    TruthAgreement {
        n,
        correct_share: correct as f64 / n.max(1) as f64,
        n_clear,
        correct_share_clear: (n_clear > 0).then(|| correct_clear as f64 / n_clear as f64),
        mean_regret: regret / n.max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_recommendations_beat_single_therapies() {
        // Half respond only to A, half only to B; the model knows which.
        let n = 400;
        let kind: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let received: Vec<usize> = (0..n).map(|i| (i / 2) % 2).collect();
        let y: Vec<bool> = (0..n).map(|i| kind[i] == received[i]).collect();
        let p = vec![
            kind.iter()
                .map(|&k| if k == 0 { 0.9 } else { 0.1 })
                .collect(),
            kind.iter()
                .map(|&k| if k == 1 { 0.9 } else { 0.1 })
                .collect(),
        ];
        let arms = vec!["A".to_string(), "B".to_string()];
        let r = recommendation_report(&arms, &p, &received, &y, 200, 1, "model");
        assert_eq!(r.policy_rate.value, Some(1.0));
        assert_eq!(r.single_therapy_rates[0].value, Some(0.5));
        assert!((r.benefit_vs_best_single.value.unwrap() - 0.5).abs() < 1e-12);
        assert!(r.benefit_vs_best_single.lo.unwrap() > 0.3);
        assert!(r.verdict.contains("raise"), "{}", r.verdict);
        assert_eq!(r.follow[0].followed_rate.value, Some(1.0));
        assert_eq!(r.follow[0].not_followed_rate.value, Some(0.0));
        let q = r.qini.unwrap();
        assert!(q.coefficient > 0.0);
        assert_eq!(q.points.len(), 21);
        // Truth: the model is always right, zero regret.
        let truth: Vec<Option<Vec<f64>>> = (0..n).map(|i| Some(vec![p[0][i], p[1][i]])).collect();
        let t = truth_agreement(&p, &truth);
        assert_eq!(t.correct_share, 1.0);
        assert_eq!(t.mean_regret, 0.0);
        assert_eq!(t.n_clear, n);
    }

    #[test]
    fn useless_recommendations_include_zero() {
        // Outcomes and predictions independent of each other.
        let n = 200;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let received: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let y: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.4)).collect();
        let p: Vec<Vec<f64>> = (0..2)
            .map(|_| (0..n).map(|_| rng.gen::<f64>()).collect())
            .collect();
        let arms = vec!["A".to_string(), "B".to_string()];
        let r = recommendation_report(&arms, &p, &received, &y, 300, 2, "model");
        assert!(
            r.benefit_vs_best_single.includes_zero(),
            "{:?}",
            r.benefit_vs_best_single
        );
        assert!(r.verdict.contains("cannot tell"), "{}", r.verdict);
    }
}
