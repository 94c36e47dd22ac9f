//! A multinomial logistic model of the arm received (the propensity
//! model of `effects::propensity`), serialisable so that an X-learner's
//! bundle can weigh its two stages by each patient's propensity.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::models::lbfgs::minimize;

/// A multinomial logit: per arm after the first (the base, all zero), an
/// intercept followed by one coefficient per input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Multinomial {
    k: usize,
    p: usize,
    params: Vec<f64>,
}

impl Multinomial {
    /// Fits arms `received` (indices `0..k`) on the rows of `x` by
    /// maximum likelihood with an L2 penalty `l2` on the slopes.
    pub(crate) fn fit(x: ArrayView2<f64>, received: &[usize], k: usize, l2: f64) -> Multinomial {
        let (n, p) = x.dim();
        let width = p + 1;
        let dim = (k - 1) * width;
        let objective = |w: &[f64], grad: &mut [f64]| -> f64 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut loss = 0.0;
            let mut z = vec![0.0; k];
            for i in 0..n {
                let row = x.row(i);
                z[0] = 0.0;
                for a in 1..k {
                    let b = &w[(a - 1) * width..a * width];
                    z[a] = b[0] + row.iter().zip(&b[1..]).map(|(u, v)| u * v).sum::<f64>();
                }
                let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
                let lse = m + s.ln();
                loss += lse - z[received[i]];
                for a in 1..k {
                    let r = (z[a] - lse).exp() - f64::from(u8::from(received[i] == a));
                    let g = &mut grad[(a - 1) * width..a * width];
                    g[0] += r;
                    for (gj, u) in g[1..].iter_mut().zip(row.iter()) {
                        *gj += r * u;
                    }
                }
            }
            for a in 1..k {
                for j in 1..width {
                    let idx = (a - 1) * width + j;
                    loss += 0.5 * l2 * w[idx] * w[idx];
                    grad[idx] += l2 * w[idx];
                }
            }
            loss
        };
        let m = minimize(objective, vec![0.0; dim], 1000, 1e-8 * n.max(1) as f64);
        Multinomial { k, p, params: m.x }
    }

    /// `e[a][i]` for the rows of `x`.
    #[allow(clippy::needless_range_loop)]
    pub(crate) fn predict(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        let width = self.p + 1;
        let n = x.nrows();
        let mut e = vec![vec![0.0; n]; self.k];
        let mut z = vec![0.0; self.k];
        for i in 0..n {
            let row = x.row(i);
            for a in 1..self.k {
                let b = &self.params[(a - 1) * width..a * width];
                z[a] = b[0] + row.iter().zip(&b[1..]).map(|(u, v)| u * v).sum::<f64>();
            }
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
            for a in 0..self.k {
                e[a][i] = (z[a] - m).exp() / s;
            }
        }
        e
    }
}

/// The largest coefficient a stored model may have: far beyond what an
/// L2-penalised fit on standardised inputs gives, small enough that
/// predictions stay finite.
const MAX_PARAM: f64 = 1e6;

impl Multinomial {
    /// Whether the model has `k` arms over `p` inputs and finite numbers
    /// (an edited bundle is refused otherwise).
    pub(crate) fn is_valid(&self, k: usize, p: usize) -> bool {
        self.k == k
            && self.p == p
            && k >= 2
            && self.params.len() == (k - 1) * (p + 1)
            && self
                .params
                .iter()
                .all(|v| v.is_finite() && v.abs() <= MAX_PARAM)
    }
}
