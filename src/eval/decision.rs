//! Decision-curve analysis (Vickers & Elkin 2006): the net benefit of
//! treating the patients whose predicted probability is at least a threshold
//! probability `pt`, against treating everyone and treating no one.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::stats::quantile_sorted;

/// Net benefit of the model and of the default strategies at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct NetBenefit {
    /// The threshold probability `pt`.
    pub(crate) threshold: f64,
    /// `TP/n − FP/n · pt/(1 − pt)`, treating patients with `p >= pt`.
    pub(crate) model: f64,
    /// Treat everyone: `prevalence − (1 − prevalence) · pt/(1 − pt)`.
    pub(crate) treat_all: f64,
    /// Treat no one: always 0.
    pub(crate) treat_none: f64,
    /// Net interventions avoided per 100 patients compared with treating
    /// everyone: `(model − treat_all) / (pt/(1 − pt)) · 100` (Vickers,
    /// Van Calster & Steyerberg, BMJ 2016;352:i6).
    pub(crate) interventions_avoided_per_100: f64,
    /// 2.5th percentile of the model's net benefit over bootstrap samples
    /// of the patients (`None` without `--bootstrap`).
    pub(crate) model_ci_low: Option<f64>,
    /// 97.5th percentile of the model's net benefit over bootstrap samples.
    pub(crate) model_ci_high: Option<f64>,
}

/// The thresholds 0.05, 0.10, …, 0.95.
pub(crate) fn default_thresholds() -> Vec<f64> {
    (1..20).map(|k| k as f64 / 20.0).collect()
}

/// Net benefit at each threshold in `thresholds` (each in (0, 1)).
pub(crate) fn decision_curve(p: &[f64], y: &[bool], thresholds: &[f64]) -> Vec<NetBenefit> {
    let n = p.len() as f64;
    let prev = y.iter().filter(|&&v| v).count() as f64 / n;
    thresholds
        .iter()
        .map(|&pt| {
            let w = pt / (1.0 - pt);
            let (mut tp, mut fp) = (0usize, 0usize);
            for (&pi, &yi) in p.iter().zip(y) {
                if pi >= pt {
                    if yi {
                        tp += 1;
                    } else {
                        fp += 1;
                    }
                }
            }
            let model = tp as f64 / n - fp as f64 / n * w;
            let treat_all = prev - (1.0 - prev) * w;
            NetBenefit {
                threshold: pt,
                model,
                treat_all,
                treat_none: 0.0,
                interventions_avoided_per_100: (model - treat_all) / w * 100.0,
                model_ci_low: None,
                model_ci_high: None,
            }
        })
        .collect()
}

/// Adds percentile 95 % bands of the model's net benefit to `curve`, from
/// `replicates` bootstrap samples of the patients (resampled with
/// replacement, as `dcurves`/`rmda` do; seeded). Each replicate walks the
/// patients once in order of prediction, so it costs O(n + thresholds).
pub(crate) fn add_bands(
    curve: &mut [NetBenefit],
    p: &[f64],
    y: &[bool],
    replicates: usize,
    seed: u64,
) {
    let n = p.len();
    if replicates < 2 || n == 0 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    // cut[t]: patients (in descending order) with p >= threshold t.
    let cut: Vec<usize> = curve
        .iter()
        .map(|d| order.partition_point(|&i| p[i] >= d.threshold))
        .collect();
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x0dca_0dca);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); curve.len()];
    let mut counts = vec![0u32; n];
    for _ in 0..replicates {
        counts.iter_mut().for_each(|c| *c = 0);
        for _ in 0..n {
            counts[rank[rng.gen_range(0..n)]] += 1;
        }
        let (mut tp, mut fp, mut at) = (0u64, 0u64, 0usize);
        let mut cuts: Vec<(usize, usize)> = cut.iter().copied().enumerate().collect();
        cuts.sort_by_key(|&(_, c)| c);
        for (t, c) in cuts {
            while at < c {
                let k = u64::from(counts[at]);
                if y[order[at]] {
                    tp += k;
                } else {
                    fp += k;
                }
                at += 1;
            }
            let w = curve[t].threshold / (1.0 - curve[t].threshold);
            draws[t].push(tp as f64 / n as f64 - fp as f64 / n as f64 * w);
        }
    }
    for (d, mut v) in curve.iter_mut().zip(draws) {
        v.sort_by(f64::total_cmp);
        d.model_ci_low = Some(quantile_sorted(&v, 0.025));
        d.model_ci_high = Some(quantile_sorted(&v, 0.975));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_benefit_by_hand() {
        let p = [0.9, 0.6, 0.4, 0.2];
        let y = [true, false, true, false];
        let d = decision_curve(&p, &y, &[0.5]);
        // TP = 1, FP = 1 at p >= 0.5; w = 1.
        assert!((d[0].model - (0.25 - 0.25)).abs() < 1e-15);
        assert!((d[0].treat_all - (0.5 - 0.5)).abs() < 1e-15);
        let d = decision_curve(&p, &y, &[0.25]);
        // TP = 2, FP = 1 at p >= 0.25; w = 1/3.
        assert!((d[0].model - (0.5 - 0.25 / 3.0)).abs() < 1e-15);
        // Treat all at 0.25: 0.5 - 0.5/3; the model treats one fewer
        // non-responder: 25 per 100 avoided.
        assert!((d[0].interventions_avoided_per_100 - 25.0).abs() < 1e-12);
        assert_eq!(default_thresholds().len(), 19);
        assert_eq!(default_thresholds()[0], 0.05);
        assert_eq!(default_thresholds()[18], 0.95);
    }

    #[test]
    fn bands_cover_the_estimate_and_match_a_direct_bootstrap() {
        let p: Vec<f64> = (0..200)
            .map(|i| f64::from(i % 97) / 100.0 + 0.005)
            .collect();
        let y: Vec<bool> = (0..200).map(|i| (i * 7919) % 100 < (i % 97)).collect();
        let mut d = decision_curve(&p, &y, &default_thresholds());
        add_bands(&mut d, &p, &y, 400, 3);
        for b in &d {
            let (lo, hi) = (b.model_ci_low.unwrap(), b.model_ci_high.unwrap());
            assert!(lo <= b.model + 1e-12 && b.model <= hi + 1e-12, "{b:?}");
        }
        // The same resamples drawn directly give the same band.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3 ^ 0x0dca_0dca);
        let mut at_5 = Vec::new();
        for _ in 0..400 {
            let idx: Vec<usize> = (0..200).map(|_| rng.gen_range(0..200)).collect();
            let pp: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
            let yy: Vec<bool> = idx.iter().map(|&i| y[i]).collect();
            at_5.push(decision_curve(&pp, &yy, &[0.5])[0].model);
        }
        at_5.sort_by(f64::total_cmp);
        let b = d
            .iter()
            .find(|b| (b.threshold - 0.5).abs() < 1e-12)
            .unwrap();
        assert!((b.model_ci_low.unwrap() - quantile_sorted(&at_5, 0.025)).abs() < 1e-12);
        assert!((b.model_ci_high.unwrap() - quantile_sorted(&at_5, 0.975)).abs() < 1e-12);
        let mut none = decision_curve(&p, &y, &[0.5]);
        add_bands(&mut none, &p, &y, 0, 3);
        assert!(none[0].model_ci_low.is_none());
    }
}
