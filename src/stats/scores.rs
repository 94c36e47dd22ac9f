//! Scoring rules of probabilistic predictions: the AUC (Mann–Whitney),
//! Brier score, log-loss and accuracy. Used by cross-validation in
//! `training` and by `eval`.

use crate::stats::clip_prob;

/// Area under the ROC curve (Mann–Whitney, ties counted as one half).
/// `None` when either class is absent.
pub(crate) fn auc(scores: &[f64], y: &[bool]) -> Option<f64> {
    let n_pos = y.iter().filter(|&&v| v).count();
    let n_neg = y.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (mid-)ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            if y[o] {
                rank_sum += mid;
            }
        }
        i = j + 1;
    }
    let np = n_pos as f64;
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * n_neg as f64))
}

/// Share of correct labels when predicting a responder at p >= 0.5.
pub(crate) fn accuracy(p: &[f64], y: &[bool]) -> f64 {
    let n = p.len().max(1) as f64;
    p.iter()
        .zip(y)
        .filter(|(&pi, &yi)| (pi >= 0.5) == yi)
        .count() as f64
        / n
}

/// Brier score: the mean squared difference between probability and outcome
/// (scikit-learn's `brier_score_loss`). NaN for no rows.
pub(crate) fn brier(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            let d = pi - f64::from(u8::from(yi));
            d * d
        })
        .sum();
    s / p.len() as f64
}

/// Scaled Brier score, `1 - brier / (prevalence × (1 - prevalence))`: 1 is
/// perfect, 0 is no better than predicting the prevalence for everyone.
/// `None` when one class is absent (the denominator is 0).
pub(crate) fn scaled_brier(p: &[f64], y: &[bool]) -> Option<f64> {
    let prev = prevalence(y);
    let denom = prev * (1.0 - prev);
    (denom > 0.0).then(|| 1.0 - brier(p, y) / denom)
}

/// Share of responders (NaN for no rows).
pub(crate) fn prevalence(y: &[bool]) -> f64 {
    y.iter().filter(|&&v| v).count() as f64 / y.len() as f64
}

/// Mean log-loss (cross-entropy) with probabilities clipped as
/// scikit-learn's `log_loss`: `-ln clip(p)` for a responder and
/// `-ln clip(1 - p)` for a non-responder. NaN for no rows.
pub(crate) fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            if yi {
                -clip_prob(pi).ln()
            } else {
                -clip_prob(1.0 - pi).ln()
            }
        })
        .sum();
    s / p.len() as f64
}

/// AUC with DeLong's standard error (DeLong, DeLong & Clarke-Pearson 1988),
/// computed from mid-ranks in O(n log n) (Sun & Xu 2014).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DeLong {
    /// The AUC.
    pub(crate) auc: f64,
    /// Its standard error.
    pub(crate) se: f64,
}

impl DeLong {
    /// The normal-approximation 95 % interval, clipped to [0, 1].
    pub(crate) fn ci95(&self) -> (f64, f64) {
        let h = crate::stats::Z95 * self.se;
        ((self.auc - h).max(0.0), (self.auc + h).min(1.0))
    }
}

/// Mid-ranks (1-based, ties share their mean rank) of `v`.
fn midranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            r[o] = mid;
        }
        i = j + 1;
    }
    r
}

/// DeLong AUC and standard error; `None` unless each class has at least two
/// patients.
pub(crate) fn delong(scores: &[f64], y: &[bool]) -> Option<DeLong> {
    let pos: Vec<f64> = scores
        .iter()
        .zip(y)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(y)
        .filter(|p| !*p.1)
        .map(|p| *p.0)
        .collect();
    let (m, n) = (pos.len(), neg.len());
    if m < 2 || n < 2 {
        return None;
    }
    let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
    let rz = midranks(&all);
    let rx = midranks(&pos);
    let ry = midranks(&neg);
    let (mf, nf) = (m as f64, n as f64);
    // Structural components: v10[i] = P(neg < pos_i) + ½ P(tie), v01[j] likewise.
    let v10: Vec<f64> = (0..m).map(|i| (rz[i] - rx[i]) / nf).collect();
    let v01: Vec<f64> = (0..n).map(|j| 1.0 - (rz[m + j] - ry[j]) / mf).collect();
    let auc = v10.iter().sum::<f64>() / mf;
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1) as f64
    };
    let se = (var(&v10) / mf + var(&v01) / nf).sqrt();
    Some(DeLong { auc, se })
}
