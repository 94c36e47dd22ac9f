//! Classifiers: one trait over the algorithms, one small file per algorithm,
//! and the serde-tagged enums stored in bundles.

pub mod logistic;
pub mod params;

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use params::{ParamInfo, RawParams};

/// A binary classifier giving P(responder).
pub trait Classifier: Sized {
    /// The algorithm's validated hyper-parameters.
    type Params;
    /// Fits on rows of `x` with labels `y` (true = responder).
    fn fit(x: ArrayView2<f64>, y: &[bool], params: &Self::Params, seed: u64) -> Result<Self>;
    /// P(responder) for every row of `x`.
    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>>;
}

/// An algorithm's name and the hyper-parameters it accepts.
#[derive(Debug, Clone, Copy)]
pub struct AlgorithmInfo {
    /// Name used with `--algorithm`.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// Its parameters.
    pub params: &'static [ParamInfo],
    /// Whether it gives probabilities natively.
    pub native_probabilities: bool,
    /// Whether its bundle keeps training rows.
    pub keeps_training_rows: bool,
}

/// Every algorithm responder knows.
pub const ALGORITHMS: &[AlgorithmInfo] = &[logistic::INFO];

/// An algorithm with validated hyper-parameters; stored in bundles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub enum AlgorithmParams {
    /// L2-penalised logistic regression.
    Logistic(logistic::LogisticParams),
}

impl AlgorithmParams {
    /// Builds from `--algorithm NAME` and `--param KEY=VALUE` pairs.
    pub fn from_cli(name: &str, raw: &RawParams) -> Result<AlgorithmParams> {
        match name {
            "logistic" => Ok(AlgorithmParams::Logistic(
                logistic::LogisticParams::from_raw(raw)?,
            )),
            other => Err(Error::usage(format!(
                "unknown algorithm `{other}`; available: {}",
                ALGORITHMS
                    .iter()
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            AlgorithmParams::Logistic(_) => "logistic",
        }
    }

    /// `key=value` pairs of the hyper-parameters, for display.
    pub fn describe(&self) -> String {
        match self {
            AlgorithmParams::Logistic(p) => {
                format!("c={}, max_iter={}, tol={}", p.c, p.max_iter, p.tol)
            }
        }
    }

    /// Fits this algorithm after checking the inputs linfa would panic on.
    pub fn fit(&self, x: ArrayView2<f64>, y: &[bool], seed: u64) -> Result<FittedModel> {
        check_fit_inputs(x, y)?;
        match self {
            AlgorithmParams::Logistic(p) => Ok(FittedModel::Logistic(
                logistic::LogisticModel::fit(x, y, p, seed)?,
            )),
        }
    }
}

/// A fitted model; stored in bundles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub enum FittedModel {
    /// Logistic regression.
    Logistic(logistic::LogisticModel),
}

impl FittedModel {
    /// P(responder) for every row of `x`, after checking its shape and values.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let want = self.n_inputs();
        if x.ncols() != want {
            return Err(Error::Fit(format!(
                "the model expects {want} inputs but was given {}",
                x.ncols()
            )));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Fit("a model input is not a finite number".into()));
        }
        if x.nrows() == 0 {
            return Ok(Array1::zeros(0));
        }
        match self {
            FittedModel::Logistic(m) => m.predict_proba(x),
        }
    }

    /// Number of inputs the model takes.
    pub fn n_inputs(&self) -> usize {
        match self {
            FittedModel::Logistic(m) => m.coefficients.len(),
        }
    }

    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            FittedModel::Logistic(_) => "logistic",
        }
    }

    /// Checks stored values after loading a bundle.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            FittedModel::Logistic(m) => m.validate(),
        }
    }
}

/// Refuses inputs that make linfa panic or return nonsense: no rows, a
/// length mismatch, a non-finite value, or a single class.
pub fn check_fit_inputs(x: ArrayView2<f64>, y: &[bool]) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::Fit(format!(
            "cannot fit a model on {} rows × {} columns",
            x.nrows(),
            x.ncols()
        )));
    }
    if x.nrows() != y.len() {
        return Err(Error::Fit(format!(
            "internal: {} rows but {} labels",
            x.nrows(),
            y.len()
        )));
    }
    if let Some((i, _)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::Fit(format!(
            "feature matrix has a non-finite value (row {}, input {})",
            i / x.ncols() + 1,
            i % x.ncols() + 1
        )));
    }
    let pos = y.iter().filter(|&&v| v).count();
    if pos == 0 || pos == y.len() {
        return Err(Error::Fit(format!(
            "the training rows hold one class only ({pos} responders of {})",
            y.len()
        )));
    }
    Ok(())
}
