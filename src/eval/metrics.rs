//! Discrimination metrics.

/// Area under the ROC curve (Mann–Whitney, ties counted as one half).
/// `None` when either class is absent.
pub fn auc(scores: &[f64], y: &[bool]) -> Option<f64> {
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

/// Brier score: mean squared difference between probability and outcome.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    let n = p.len().max(1) as f64;
    p.iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            let d = pi - f64::from(u8::from(yi));
            d * d
        })
        .sum::<f64>()
        / n
}

/// Log-loss with probabilities clipped to [1e-15, 1 − 1e-15] (as scikit-learn).
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let n = p.len().max(1) as f64;
    -p.iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            let q = pi.clamp(1e-15, 1.0 - 1e-15);
            if yi {
                q.ln()
            } else {
                (1.0 - q).ln()
            }
        })
        .sum::<f64>()
        / n
}

/// Share of correct labels when predicting a responder at p >= 0.5.
pub fn accuracy(p: &[f64], y: &[bool]) -> f64 {
    let n = p.len().max(1) as f64;
    p.iter()
        .zip(y)
        .filter(|(&pi, &yi)| (pi >= 0.5) == yi)
        .count() as f64
        / n
}

/// Mean and sample standard deviation (0 for fewer than two values).
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, 0.0);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt())
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
            -((0.9f64).ln() + (0.8f64).ln() + (0.4f64).ln() + (1.0 - 1e-15f64).ln()) / 4.0;
        assert!((log_loss(&p, &y) - expected).abs() < 1e-15);
        assert_eq!(accuracy(&p, &y), 0.75);
    }

    #[test]
    fn mean_sd_sample() {
        let (m, s) = mean_sd(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 1.0).abs() < 1e-12);
    }
}
