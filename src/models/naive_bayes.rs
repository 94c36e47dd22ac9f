//! Gaussian naive Bayes. linfa-bayes fits the class means, variances and
//! priors; probabilities are computed here in log space with log-sum-exp,
//! because linfa's own exponentiation underflows to NaN on wide genotype data.

use linfa::prelude::*;
use linfa_bayes::GaussianNb;
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};

const PARAMS: &[ParamInfo] = &[ParamInfo {
    key: "var_smoothing",
    default: "1e-9",
    help: "share of the largest input variance added to every variance",
}];

/// Registry entry.
pub const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "naive-bayes",
    description: "Gaussian naive Bayes (linfa-bayes), probabilities by log-sum-exp",
    params: PARAMS,
    native_probabilities: true,
    keeps_training_rows: false,
};

/// Hyper-parameters of naive Bayes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaiveBayesParams {
    /// Variance smoothing.
    pub var_smoothing: f64,
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
    pub fn from_raw(raw: &RawParams) -> Result<NaiveBayesParams> {
        raw.check_keys("naive-bayes", PARAMS)?;
        Ok(NaiveBayesParams {
            var_smoothing: raw.f64(
                "naive-bayes",
                PARAMS,
                "var_smoothing",
                1e-9,
                |x| x >= 0.0,
                "a number >= 0",
            )?,
        })
    }

    /// `key=value` summary.
    pub fn describe(&self) -> String {
        format!("var_smoothing={}", self.var_smoothing)
    }
}

/// Per-class Gaussian parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassGaussians {
    /// Prior probability of the class.
    pub prior: f64,
    /// Mean of every input.
    pub mean: Vec<f64>,
    /// Variance of every input (smoothed).
    pub var: Vec<f64>,
}

/// A fitted naive Bayes model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaiveBayesModel {
    /// Non-responders.
    pub negative: ClassGaussians,
    /// Responders.
    pub positive: ClassGaussians,
}

fn class_from_linfa(info: &serde_json::Value, key: &str) -> Result<ClassGaussians> {
    let c = info
        .get(key)
        .ok_or_else(|| Error::Fit(format!("naive Bayes: class {key} missing")))?;
    let vec = |name: &str| -> Result<Vec<f64>> {
        let v = c
            .get(name)
            .ok_or_else(|| Error::Fit(format!("naive Bayes: no {name}")))?;
        // ndarray's serde form: {"v":1,"dim":[n],"data":[...]}
        let data = v.get("data").unwrap_or(v);
        serde_json::from_value(data.clone()).map_err(|e| Error::Fit(format!("naive Bayes: {e}")))
    };
    Ok(ClassGaussians {
        prior: c.get("prior").and_then(|p| p.as_f64()).unwrap_or(f64::NAN),
        mean: vec("theta")?,
        var: vec("sigma")?,
    })
}

fn log_likelihood(c: &ClassGaussians, row: ndarray::ArrayView1<f64>) -> f64 {
    let mut s = c.prior.ln();
    for ((x, m), v) in row.iter().zip(&c.mean).zip(&c.var) {
        s -= 0.5 * ((2.0 * std::f64::consts::PI * v).ln() + (x - m) * (x - m) / v);
    }
    s
}

impl Classifier for NaiveBayesModel {
    type Params = NaiveBayesParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &NaiveBayesParams, _seed: u64) -> Result<Self> {
        let targets: Array1<usize> = y.iter().map(|&b| usize::from(b)).collect();
        let ds = DatasetBase::new(x, targets);
        let nb: GaussianNb<f64, usize> = GaussianNb::params()
            .var_smoothing(params.var_smoothing)
            .fit(&ds)
            .map_err(|e| Error::Fit(format!("naive Bayes failed: {e}")))?;
        let v = serde_json::to_value(&nb).map_err(|e| Error::Fit(format!("naive Bayes: {e}")))?;
        let info = v
            .get("class_info")
            .ok_or_else(|| Error::Fit("naive Bayes: unexpected model layout".into()))?;
        let m = NaiveBayesModel {
            negative: class_from_linfa(info, "0")?,
            positive: class_from_linfa(info, "1")?,
        };
        m.validate(x.ncols()).map_err(Error::Fit)?;
        Ok(m)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(x.outer_iter()
            .map(|row| {
                let lp = log_likelihood(&self.positive, row);
                let ln = log_likelihood(&self.negative, row);
                // P(pos) = exp(lp) / (exp(lp) + exp(ln)) = 1 / (1 + exp(ln - lp))
                let d = ln - lp;
                if d >= 0.0 {
                    let e = (-d).exp();
                    e / (1.0 + e)
                } else {
                    1.0 / (1.0 + d.exp())
                }
            })
            .collect())
    }
}

impl NaiveBayesModel {
    /// Checks shapes and values (`n_inputs` = expected input count).
    pub fn validate(&self, n_inputs: usize) -> std::result::Result<(), String> {
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
    pub fn n_inputs(&self) -> usize {
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
}
