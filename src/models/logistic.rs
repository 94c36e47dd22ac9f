//! L2-penalised logistic regression, fitted with responder's own L-BFGS
//! (see [`crate::models::lbfgs`]) and stored as plain coefficients of
//! P(responder).

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::lbfgs::{logistic_loss_grad, minimize};
use crate::models::params::Range;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};
use crate::stats::sigmoid;

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "c",
        default: "1.0",
        help: "inverse L2 strength, as scikit-learn's C (larger = weaker penalty)",
    },
    ParamInfo {
        key: "max_iter",
        default: "100",
        help: "maximum L-BFGS iterations (1 to 100000)",
    },
    ParamInfo {
        key: "tol",
        default: "0.0001",
        help: "stop when the largest |gradient| of the mean penalised log-loss is below this",
    },
];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "logistic",
    description: "L2-penalised logistic regression (L-BFGS, objective and stopping rule of scikit-learn's lbfgs)",
    params: PARAMS,
    native_probabilities: true,
    keeps_training_rows: false,
};

/// Hyper-parameters of logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LogisticParams {
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub(crate) c: f64,
    /// Maximum iterations.
    pub(crate) max_iter: usize,
    /// Gradient tolerance.
    pub(crate) tol: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            c: 1.0,
            max_iter: 100,
            tol: 1e-4,
        }
    }
}

impl LogisticParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<LogisticParams> {
        let p = raw.reader("logistic", PARAMS)?;
        let d = LogisticParams::default();
        Ok(LogisticParams {
            c: p.num("c", d.c, Range::Above(0.0))?,
            max_iter: p.int("max_iter", d.max_iter, 1, 100_000)?,
            tol: p.num("tol", d.tol, Range::Above(0.0))?,
        })
    }
}

/// A fitted logistic regression: P = 1 / (1 + exp(-(intercept + x·coefficients))).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LogisticModel {
    /// Intercept on the logit scale.
    pub(crate) intercept: f64,
    /// One coefficient per model input (standardised scale).
    pub(crate) coefficients: Vec<f64>,
    /// Whether the fit stopped at `max_iter` before reaching `tol` (as
    /// scikit-learn's "lbfgs failed to converge"); stored only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) not_converged: bool,
}

impl Classifier for LogisticModel {
    type Params = LogisticParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &LogisticParams, _seed: u64) -> Result<Self> {
        let d = x.ncols();
        let x = x.as_standard_layout();
        let xs = x
            .as_slice()
            .ok_or_else(|| Error::Fit("logistic regression: matrix is not contiguous".into()))?;
        // scikit-learn's scaling: mean log-loss + ||w||^2 / (2 C n).
        let l2 = 1.0 / (params.c * y.len() as f64);
        let found = minimize(
            |w, g| logistic_loss_grad(xs, d, y, l2, w, g),
            vec![0.0; d + 1],
            params.max_iter,
            params.tol,
        );
        let model = LogisticModel {
            intercept: found.x[d],
            coefficients: found.x[..d].to_vec(),
            not_converged: !found.converged && found.iterations >= params.max_iter,
        };
        model
            .validate()
            .map_err(|e| Error::Fit(format!("logistic regression diverged: {e}")))?;
        Ok(model)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let w = Array1::from(self.coefficients.clone());
        Ok(x.dot(&w).mapv(|z| sigmoid(z + self.intercept)))
    }
}

impl LogisticModel {
    /// Checks that every stored number is finite.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.intercept.is_finite() && self.coefficients.iter().all(|c| c.is_finite()) {
            Ok(())
        } else {
            Err("a coefficient is not a finite number".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn probabilities_are_for_the_responder_class_whatever_the_majority() {
        // Responders are the minority here and have large x.
        let x = array![[-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.5], [2.0]];
        let y = [false, false, false, false, false, true, false, true];
        let m = LogisticModel::fit(x.view(), &y, &LogisticParams::default(), 0).unwrap();
        let p = m.predict_proba(x.view()).unwrap();
        assert!(p[7] > p[0], "{p:?}");
        // Now responders are the majority.
        let y2: Vec<bool> = y.iter().map(|b| !b).collect();
        let m2 = LogisticModel::fit(x.view(), &y2, &LogisticParams::default(), 0).unwrap();
        let p2 = m2.predict_proba(x.view()).unwrap();
        assert!(p2[0] > p2[7], "{p2:?}");
        assert!(m.coefficients[0] > 0.0 && m2.coefficients[0] < 0.0);
    }

    #[test]
    fn agrees_with_linfa_logistic() {
        use linfa::prelude::*;
        let n = 600;
        let x = ndarray::Array2::from_shape_fn((n, 4), |(i, j)| {
            (((i * 31 + j * 17) % 97) as f64 / 48.0 - 1.0) * (j + 1) as f64
        });
        let y: Vec<bool> = (0..n)
            .map(|i| x[[i, 0]] - 0.5 * x[[i, 2]] + ((i * 7) % 11) as f64 / 5.0 - 1.0 > 0.0)
            .collect();
        let params = LogisticParams {
            c: 0.5,
            max_iter: 1000,
            tol: 1e-10,
        };
        let ours = LogisticModel::fit(x.view(), &y, &params, 0).unwrap();
        let targets: Array1<usize> = y.iter().map(|&b| usize::from(b)).collect();
        let theirs = linfa_logistic::LogisticRegression::default()
            .alpha(1.0 / params.c)
            .max_iterations(1000)
            .gradient_tolerance(1e-10)
            .fit(&DatasetBase::new(x.view(), targets))
            .unwrap();
        let sign = if theirs.labels().pos.class == 1 {
            1.0
        } else {
            -1.0
        };
        assert!((ours.intercept - sign * theirs.intercept()).abs() < 1e-5);
        for (a, b) in ours.coefficients.iter().zip(theirs.params()) {
            assert!((a - sign * b).abs() < 1e-5, "{a} vs {}", sign * b);
        }
    }

    #[test]
    fn no_inputs_gives_the_base_rate() {
        let x = ndarray::Array2::<f64>::zeros((8, 0));
        let y = [true, false, false, true, false, false, false, true];
        let m = LogisticModel::fit(x.view(), &y, &LogisticParams::default(), 0).unwrap();
        assert!(
            (sigmoid(m.intercept) - 3.0 / 8.0).abs() < 1e-4,
            "{}",
            m.intercept
        );
    }

    #[test]
    fn bad_params_list_valid_keys() {
        let raw = RawParams::parse(&["alpha=2".into()]).unwrap();
        let e = LogisticParams::from_raw(&raw).unwrap_err().to_string();
        assert!(e.contains("unknown parameter `alpha`"), "{e}");
        assert!(e.contains("c (default 1.0)"), "{e}");
        let raw = RawParams::parse(&["c=-1".into()]).unwrap();
        assert!(LogisticParams::from_raw(&raw).is_err());
    }
}
