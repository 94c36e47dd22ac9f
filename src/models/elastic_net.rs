//! Elastic net (linfa-elasticnet's algorithm, `models::coordinate_descent`): an L1/L2-penalised linear model of the
//! 0/1 outcome, for SNP-heavy data where most inputs should get a zero
//! weight. Its scores become probabilities by Platt scaling fitted on
//! cross-fitted scores inside the training rows.

use ndarray::{Array1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::coordinate_descent::elastic_net;
use crate::models::params::Range;
use crate::models::platt::Platt;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};
use crate::stats::folds::{split, stratified_folds};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "alpha",
        default: "0.02",
        help: "overall penalty strength (scikit-learn's alpha)",
    },
    ParamInfo {
        key: "l1_ratio",
        default: "0.5",
        help: "share of L1 in the penalty, 0 (ridge) to 1 (lasso)",
    },
    ParamInfo {
        key: "max_iter",
        default: "1000",
        help: "maximum coordinate-descent iterations (1 to 100000)",
    },
    ParamInfo {
        key: "tol",
        default: "0.0001",
        help: "convergence tolerance",
    },
    ParamInfo {
        key: "platt_folds",
        default: "3",
        help: "folds used to cross-fit the scores that calibrate probabilities (0 = in-sample)",
    },
];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "elastic-net",
    description:
        "L1/L2-penalised linear model (linfa-elasticnet's coordinate descent) + Platt scaling",
    params: PARAMS,
    native_probabilities: false,
    keeps_training_rows: false,
};

/// Hyper-parameters of the elastic net.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ElasticNetParams {
    /// Penalty strength.
    pub(crate) alpha: f64,
    /// L1 share of the penalty.
    pub(crate) l1_ratio: f64,
    /// Maximum iterations.
    pub(crate) max_iter: usize,
    /// Tolerance.
    pub(crate) tol: f64,
    /// Folds for cross-fitted Platt scores.
    pub(crate) platt_folds: usize,
}

impl Default for ElasticNetParams {
    fn default() -> Self {
        ElasticNetParams {
            alpha: 0.02,
            l1_ratio: 0.5,
            max_iter: 1000,
            tol: 1e-4,
            platt_folds: 3,
        }
    }
}

impl ElasticNetParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<ElasticNetParams> {
        let p = raw.reader("elastic-net", PARAMS)?;
        let d = ElasticNetParams::default();
        Ok(ElasticNetParams {
            alpha: p.num("alpha", d.alpha, Range::Above(0.0))?,
            l1_ratio: p.num("l1_ratio", d.l1_ratio, Range::Within(0.0, 1.0))?,
            max_iter: p.int("max_iter", d.max_iter, 1, 100_000)?,
            tol: p.num("tol", d.tol, Range::Above(0.0))?,
            platt_folds: p.int_where(
                "platt_folds",
                d.platt_folds,
                |x| x != 1 && x <= 20,
                "0 or 2 to 20",
            )?,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!(
            "alpha={}, l1_ratio={}, max_iter={}, tol={}, platt_folds={}",
            self.alpha, self.l1_ratio, self.max_iter, self.tol, self.platt_folds
        )
    }
}

/// A fitted elastic net with its Platt calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ElasticNetModel {
    /// Intercept of the linear score.
    pub(crate) intercept: f64,
    /// Weights of the linear score (many exactly zero).
    pub(crate) coefficients: Vec<f64>,
    /// Map from score to probability.
    pub(crate) platt: Platt,
    /// Whether coordinate descent stopped at `max_iter` before reaching
    /// `tol`; stored only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) not_converged: bool,
}

/// The intercept, weights and whether the iteration limit was reached.
type Linear = (f64, Array1<f64>, bool);

fn fit_linear(x: ArrayView2<f64>, y: &[bool], p: &ElasticNetParams) -> Result<Linear> {
    let target: Array1<f64> = y.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    let m = elastic_net(
        x,
        target.view(),
        p.alpha,
        p.l1_ratio,
        p.tol,
        u32::try_from(p.max_iter).unwrap_or(u32::MAX),
    )
    .ok_or_else(|| Error::Fit("elastic net failed: no patients".into()))?;
    let capped = m.steps as usize >= p.max_iter;
    Ok((m.intercept, m.weights, capped))
}

impl Classifier for ElasticNetModel {
    type Params = ElasticNetParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &ElasticNetParams, seed: u64) -> Result<Self> {
        let (intercept, w, not_converged) = fit_linear(x, y, params)?;
        // Scores for calibration: cross-fitted when possible, so the Platt
        // map is not fitted on in-sample (optimistic) scores.
        let k = params.platt_folds;
        let minority = y
            .iter()
            .filter(|&&v| v)
            .count()
            .min(y.iter().filter(|&&v| !v).count());
        let scores: Vec<f64> = if k >= 2 && minority >= k {
            let folds = stratified_folds(y, k, seed ^ 0x9e37_79b9);
            let mut s = vec![0.0; y.len()];
            for f in 0..k {
                let (tr, te) = split(&folds, f);
                let xt = x.select(Axis(0), &tr);
                let yt: Vec<bool> = tr.iter().map(|&i| y[i]).collect();
                let (b0, wf, _) = fit_linear(xt.view(), &yt, params)?;
                for &i in &te {
                    s[i] = x.row(i).dot(&wf) + b0;
                }
            }
            s
        } else {
            x.dot(&w).iter().map(|v| v + intercept).collect()
        };
        let platt = Platt::fit(&scores, y)?;
        let m = ElasticNetModel {
            intercept,
            coefficients: w.to_vec(),
            platt,
            not_converged,
        };
        m.validate().map_err(Error::Fit)?;
        Ok(m)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let w = Array1::from(self.coefficients.clone());
        Ok(x.dot(&w).mapv(|s| self.platt.predict(s + self.intercept)))
    }
}

impl ElasticNetModel {
    /// Checks stored numbers.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.intercept.is_finite() && self.coefficients.iter().all(|c| c.is_finite()) {
            self.platt.validate()
        } else {
            Err("a coefficient is not a finite number".into())
        }
    }
}
