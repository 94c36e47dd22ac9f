//! Discrimination and accuracy metrics: AUC (with DeLong standard error),
//! Brier score, log-loss (from `stats::scores`, which training uses too),
//! and the confusion matrix, ROC curve and Youden threshold.

#[cfg(test)]
use crate::stats::scores::accuracy;
pub(crate) use crate::stats::scores::{auc, brier, delong, log_loss, scaled_brier};

/// Counts and rates when "predicted responder" means `p >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Confusion {
    /// The threshold.
    pub(crate) threshold: f64,
    /// Responders predicted to respond.
    pub(crate) tp: usize,
    /// Non-responders predicted to respond.
    pub(crate) fp: usize,
    /// Non-responders predicted not to respond.
    pub(crate) tn: usize,
    /// Responders predicted not to respond.
    pub(crate) r#fn: usize,
    /// TP / (TP + FN); `None` without responders.
    pub(crate) sensitivity: Option<f64>,
    /// TN / (TN + FP); `None` without non-responders.
    pub(crate) specificity: Option<f64>,
    /// TP / (TP + FP); `None` when nobody is predicted to respond.
    pub(crate) ppv: Option<f64>,
    /// TN / (TN + FN); `None` when everybody is predicted to respond.
    pub(crate) npv: Option<f64>,
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (a + b > 0).then(|| a as f64 / (a + b) as f64)
}

/// The confusion matrix at `threshold` (predicted responder: `p >= threshold`).
pub(crate) fn confusion(p: &[f64], y: &[bool], threshold: f64) -> Confusion {
    let (mut tp, mut fp, mut tn, mut fneg) = (0, 0, 0, 0);
    for (&pi, &yi) in p.iter().zip(y) {
        match (pi >= threshold, yi) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fneg += 1,
        }
    }
    Confusion {
        threshold,
        tp,
        fp,
        tn,
        r#fn: fneg,
        sensitivity: ratio(tp, fneg),
        specificity: ratio(tn, fp),
        ppv: ratio(tp, fp),
        npv: ratio(tn, fneg),
    }
}

/// The threshold maximising Youden's J = sensitivity + specificity − 1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Youden {
    /// The threshold (one of the predicted probabilities; `p >= threshold`).
    pub(crate) threshold: f64,
    /// Sensitivity there.
    pub(crate) sensitivity: f64,
    /// Specificity there.
    pub(crate) specificity: f64,
    /// J there.
    pub(crate) j: f64,
}

/// Youden-optimal threshold over every distinct predicted probability; ties
/// in J go to the highest threshold. `None` when a class is absent.
pub(crate) fn youden(p: &[f64], y: &[bool]) -> Option<Youden> {
    let roc = roc_curve(p, y)?;
    let mut best: Option<Youden> = None;
    for pt in &roc {
        let Some(t) = pt.threshold else { continue };
        let j = pt.tpr - pt.fpr;
        if best.is_none_or(|b| j > b.j) {
            best = Some(Youden {
                threshold: t,
                sensitivity: pt.tpr,
                specificity: 1.0 - pt.fpr,
                j,
            });
        }
    }
    best
}

/// One point of an ROC curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RocPoint {
    /// The threshold (`p >= threshold` is positive); `None` for the (0, 0)
    /// corner above every prediction.
    pub(crate) threshold: Option<f64>,
    /// False-positive rate, 1 − specificity.
    pub(crate) fpr: f64,
    /// True-positive rate, sensitivity.
    pub(crate) tpr: f64,
}

/// The empirical ROC curve from (0, 0) to (1, 1), one point per distinct
/// prediction, thresholds descending. `None` when a class is absent.
pub(crate) fn roc_curve(p: &[f64], y: &[bool]) -> Option<Vec<RocPoint>> {
    let n_pos = y.iter().filter(|&&v| v).count();
    let n_neg = y.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut out = vec![RocPoint {
        threshold: None,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let t = p[order[i]];
        while i < order.len() && p[order[i]] == t {
            if y[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        out.push(RocPoint {
            threshold: Some(t),
            fpr: fp as f64 / n_neg as f64,
            tpr: tp as f64 / n_pos as f64,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        assert_eq!(
            auc(&[0.1, 0.2, 0.3, 0.4], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auc(&[0.4, 0.3, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        // scikit-learn: roc_auc_score([0,0,1,1,1],[0.1,0.4,0.35,0.8,0.4]) = 0.75
        assert_eq!(
            auc(
                &[0.1, 0.4, 0.35, 0.8, 0.4],
                &[false, false, true, true, true]
            ),
            Some(0.75)
        );
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn brier_log_loss_accuracy() {
        let p = [0.9, 0.2, 0.6, 0.0];
        let y = [true, false, false, false];
        assert!((brier(&p, &y) - (0.01 + 0.04 + 0.36 + 0.0) / 4.0).abs() < 1e-15);
        // scikit-learn log_loss([1,0,0,0],[0.9,0.2,0.6,0.0]) = 0.3272...
        let expected =
            -((0.9f64).ln() + (0.8f64).ln() + (0.4f64).ln() + (1.0 - f64::EPSILON).ln()) / 4.0;
        assert!((log_loss(&p, &y) - expected).abs() < 1e-15);
        assert_eq!(accuracy(&p, &y), 0.75);
    }

    #[test]
    fn brier_log_loss_scaled_by_hand() {
        let p = [0.8, 0.3, 1.0, 0.0];
        let y = [true, false, false, false];
        assert!((brier(&p, &y) - (0.04 + 0.09 + 1.0 + 0.0) / 4.0).abs() < 1e-15);
        // p = 1 for a non-responder: clipped, so finite and large.
        let ll = log_loss(&p, &y);
        assert!(ll.is_finite() && ll > 8.0, "{ll}");
        let s = scaled_brier(&p, &y).unwrap();
        assert!((s - (1.0 - brier(&p, &y) / (0.25 * 0.75))).abs() < 1e-15);
        assert_eq!(scaled_brier(&[0.5], &[true]), None);
    }

    #[test]
    fn confusion_and_roc() {
        let p = [0.9, 0.6, 0.6, 0.2];
        let y = [true, true, false, false];
        let c = confusion(&p, &y, 0.6);
        assert_eq!((c.tp, c.fp, c.tn, c.r#fn), (2, 1, 1, 0));
        assert_eq!(c.sensitivity, Some(1.0));
        assert_eq!(c.specificity, Some(0.5));
        assert_eq!(c.ppv, Some(2.0 / 3.0));
        assert_eq!(c.npv, Some(1.0));
        assert_eq!(confusion(&p, &y, 0.95).ppv, None);
        let roc = roc_curve(&p, &y).unwrap();
        let pts: Vec<(f64, f64)> = roc.iter().map(|r| (r.fpr, r.tpr)).collect();
        assert_eq!(pts, [(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        assert!(roc_curve(&p, &[true; 4]).is_none());
        // Youden ties go to the highest threshold.
        let yd = youden(&[0.1, 0.2, 0.3, 0.4], &[false, true, false, true]).unwrap();
        assert_eq!(yd.threshold, 0.4);
        assert_eq!(yd.j, 0.5);
    }

    #[test]
    fn delong_matches_auc_and_needs_two_per_class() {
        let p = [0.1, 0.4, 0.35, 0.8, 0.4, 0.7];
        let y = [false, false, true, true, true, false];
        let d = delong(&p, &y).unwrap();
        assert!((d.auc - auc(&p, &y).unwrap()).abs() < 1e-15);
        let (lo, hi) = d.ci95();
        assert!(lo <= d.auc && d.auc <= hi && lo >= 0.0 && hi <= 1.0);
        assert!(delong(&[0.1, 0.2, 0.3], &[true, false, false]).is_none());
    }
}
