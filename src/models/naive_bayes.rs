//! Gaussian naive Bayes, fitted here: class priors (class shares), class
//! means and population variances, every variance enlarged by
//! `var_smoothing` × the largest input variance over all training rows
//! (scikit-learn's `GaussianNB` rule, which linfa-bayes follows too).
//! Probabilities are computed in log space with log-sum-exp: exponentiating
//! per class underflows to NaN on wide genotype data.

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::params::Range;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};
use crate::stats::sigmoid;

const PARAMS: &[ParamInfo] = &[ParamInfo {
    key: "var_smoothing",
    default: "1e-9",
    help: "share of the largest input variance added to every variance",
}];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "naive-bayes",
    description:
        "Gaussian naive Bayes (scikit-learn's var_smoothing rule), probabilities by log-sum-exp",
    params: PARAMS,
    native_probabilities: true,
    keeps_training_rows: false,
};

/// Hyper-parameters of naive Bayes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NaiveBayesParams {
    /// Variance smoothing.
    pub(crate) var_smoothing: f64,
}

impl Default for NaiveBayesParams {
    fn default() -> Self {
        NaiveBayesParams {
            var_smoothing: 1e-9,
        }
    }
}

impl NaiveBayesParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<NaiveBayesParams> {
        let p = raw.reader("naive-bayes", PARAMS)?;
        Ok(NaiveBayesParams {
            var_smoothing: p.num("var_smoothing", 1e-9, Range::AtLeast(0.0))?,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!("var_smoothing={}", self.var_smoothing)
    }
}

/// Per-class Gaussian parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClassGaussians {
    /// Prior probability of the class.
    pub(crate) prior: f64,
    /// Mean of every input.
    pub(crate) mean: Vec<f64>,
    /// Variance of every input (smoothed).
    pub(crate) var: Vec<f64>,
}

/// A fitted naive Bayes model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NaiveBayesModel {
    /// Non-responders.
    pub(crate) negative: ClassGaussians,
    /// Responders.
    pub(crate) positive: ClassGaussians,
}

/// Mean and population variance (divisor n) of every column of `x`; the
/// variance by Welford's one-pass update (as ndarray's `var_axis`), which
/// gives exactly 0 for a constant column.
fn column_mean_var(x: ArrayView2<f64>) -> (Vec<f64>, Vec<f64>) {
    let n = x.nrows() as f64;
    let mean: Vec<f64> = x.axis_iter(Axis(1)).map(|c| c.sum() / n).collect();
    let var = x
        .axis_iter(Axis(1))
        .map(|c| {
            let (mut m, mut ss) = (0.0f64, 0.0f64);
            for (i, &v) in c.iter().enumerate() {
                let delta = v - m;
                m += delta / (i + 1) as f64;
                ss = (v - m).mul_add(delta, ss);
            }
            ss / n
        })
        .collect();
    (mean, var)
}

/// One class's prior, means and smoothed variances from its rows.
fn fit_class(x: ArrayView2<f64>, rows: &[usize], n: usize, epsilon: f64) -> ClassGaussians {
    let sub = x.select(Axis(0), rows);
    let (mean, var) = column_mean_var(sub.view());
    ClassGaussians {
        prior: rows.len() as f64 / n as f64,
        mean,
        var: var.into_iter().map(|v| v + epsilon).collect(),
    }
}

fn log_likelihood(c: &ClassGaussians, row: ArrayView1<f64>) -> f64 {
    let mut s = c.prior.ln();
    for ((x, m), v) in row.iter().zip(&c.mean).zip(&c.var) {
        s -= 0.5 * ((2.0 * std::f64::consts::PI * v).ln() + (x - m) * (x - m) / v);
    }
    s
}

impl Classifier for NaiveBayesModel {
    type Params = NaiveBayesParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &NaiveBayesParams, _seed: u64) -> Result<Self> {
        let (_, var) = column_mean_var(x);
        let epsilon = params.var_smoothing * var.iter().copied().fold(0.0, f64::max);
        let (pos, neg): (Vec<usize>, Vec<usize>) = (0..y.len()).partition(|&i| y[i]);
        let m = NaiveBayesModel {
            negative: fit_class(x, &neg, y.len(), epsilon),
            positive: fit_class(x, &pos, y.len(), epsilon),
        };
        m.validate(x.ncols()).map_err(|e| {
            Error::Fit(format!(
                "{e} (an input is constant within a class and var_smoothing is 0)"
            ))
        })?;
        Ok(m)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(x.outer_iter()
            .map(|row| {
                let lp = log_likelihood(&self.positive, row);
                let ln = log_likelihood(&self.negative, row);
                // P(pos) = exp(lp) / (exp(lp) + exp(ln)) = sigmoid(lp - ln)
                sigmoid(lp - ln)
            })
            .collect())
    }
}

impl NaiveBayesModel {
    /// Checks shapes and values (`n_inputs` = expected input count).
    pub(crate) fn validate(&self, n_inputs: usize) -> std::result::Result<(), String> {
        for c in [&self.negative, &self.positive] {
            let ok = c.mean.len() == n_inputs
                && c.var.len() == n_inputs
                && c.prior > 0.0
                && c.prior < 1.0
                && c.mean.iter().all(|m| m.is_finite())
                && c.var.iter().all(|v| v.is_finite() && *v > 0.0);
            if !ok {
                return Err("naive Bayes parameters are invalid".into());
            }
        }
        Ok(())
    }

    /// Number of inputs.
    pub(crate) fn n_inputs(&self) -> usize {
        self.positive.mean.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn wide_genotype_like_data_gives_finite_probabilities() {
        // 2,000 inputs of 0/1/2: the joint likelihood underflows in linear space.
        let x = Array2::from_shape_fn((60, 2000), |(i, j)| ((i * 7 + j * 13) % 3) as f64);
        let y: Vec<bool> = (0..60).map(|i| i % 2 == 0).collect();
        let m = NaiveBayesModel::fit(x.view(), &y, &NaiveBayesParams::default(), 0).unwrap();
        let p = m.predict_proba(x.view()).unwrap();
        assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }

    #[test]
    fn parameters_equal_linfa_bayes() {
        use linfa::prelude::*;
        let x = Array2::from_shape_fn((90, 7), |(i, j)| {
            ((i * 31 + j * 17) % 23) as f64 / 7.0 + (j as f64) * 0.5
        });
        let y: Vec<bool> = (0..90).map(|i| (i * 13) % 5 < 2).collect();
        let params = NaiveBayesParams {
            var_smoothing: 1e-3,
        };
        let m = NaiveBayesModel::fit(x.view(), &y, &params, 0).unwrap();
        let targets: Array1<usize> = y.iter().map(|&b| usize::from(b)).collect();
        let nb: linfa_bayes::GaussianNb<f64, usize> = linfa_bayes::GaussianNb::params()
            .var_smoothing(1e-3)
            .fit(&linfa::DatasetBase::new(x.view(), targets))
            .unwrap();
        let v = serde_json::to_value(&nb).unwrap();
        for (key, ours) in [("0", &m.negative), ("1", &m.positive)] {
            let c = &v["class_info"][key];
            let close = |a: f64, b: f64| a.to_bits() == b.to_bits();
            assert!(close(ours.prior, c["prior"].as_f64().unwrap()));
            for (name, vals) in [("theta", &ours.mean), ("sigma", &ours.var)] {
                let theirs: Vec<f64> = serde_json::from_value(c[name]["data"].clone()).unwrap();
                assert!(
                    vals.iter().zip(&theirs).all(|(a, b)| close(*a, *b)),
                    "{name}"
                );
            }
        }
    }
}
