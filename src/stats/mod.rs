//! Numeric helpers shared by every layer: the logistic function and its
//! relatives, mean and standard deviation, quantiles, stratified folds,
//! small dense linear algebra and a maximum-likelihood logistic fit. Pure
//! functions of their arguments; nothing here knows about files or models.

pub(crate) mod folds;
pub(crate) mod glm;
pub(crate) mod linalg;
pub(crate) mod sample_size;
pub(crate) mod scores;

/// The 97.5 % quantile of the standard normal distribution.
pub(crate) const Z95: f64 = 1.959963984540054;

/// Smallest probability distance from 0 and 1 used before a logarithm or a
/// logit (machine epsilon, as scikit-learn ≥ 1.5 clips in `log_loss`).
pub(crate) const PROB_EPS: f64 = f64::EPSILON;

/// The logistic function `1 / (1 + exp(-z))`, computed without overflow.
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + exp(x))`, computed without overflow.
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// A probability clipped to `[PROB_EPS, 1 - PROB_EPS]`.
pub(crate) fn clip_prob(p: f64) -> f64 {
    p.clamp(PROB_EPS, 1.0 - PROB_EPS)
}

/// `ln(p / (1 - p))` of a clipped probability.
pub(crate) fn logit(p: f64) -> f64 {
    let p = clip_prob(p);
    (p / (1.0 - p)).ln()
}

/// Mean and **sample** standard deviation (n − 1); `(NaN, 0)` for no
/// values, `(v, 0)` for one.
pub(crate) fn mean_sd(v: &[f64]) -> (f64, f64) {
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

/// The `q` quantile of sorted values by linear interpolation between
/// order statistics (numpy's default, R's type 7); NaN for no values.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The `q` quantile of unsorted values (as [`quantile_sorted`]); `None`
/// for no values.
pub(crate) fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(quantile_sorted(&v, q))
}

/// Index of the largest value (the first on ties; 0 for an empty slice).
pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut b = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[b] {
            b = i;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_functions_are_stable() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-15);
        assert!((softplus(1000.0) - 1000.0).abs() < 1e-12);
        assert!(softplus(-1000.0) >= 0.0);
        assert!((logit(sigmoid(1.3)) - 1.3).abs() < 1e-12);
        assert!(logit(0.0).is_finite() && logit(1.0).is_finite());
    }

    #[test]
    fn mean_sd_is_the_sample_sd() {
        let (m, s) = mean_sd(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 1.0).abs() < 1e-12);
        assert!(mean_sd(&[]).0.is_nan());
        assert_eq!(mean_sd(&[4.0]), (4.0, 0.0));
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert!((quantile_sorted(&v, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert_eq!(quantile(vec![4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        assert_eq!(quantile(Vec::new(), 0.5), None);
        assert_eq!(argmax(&[0.1, 0.7, 0.7]), 1);
    }
}
