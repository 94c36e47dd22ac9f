//! Decision-curve analysis (Vickers & Elkin 2006): the net benefit of
//! treating the patients whose predicted probability is at least a threshold
//! probability `pt`, against treating everyone and treating no one.

use serde::Serialize;

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
            }
        })
        .collect()
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
}
