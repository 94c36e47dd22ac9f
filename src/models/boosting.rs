//! Gradient-boosted trees (forust-ml, log-loss). forust builds on stable
//! Rust, reloads from JSON bit-identically and gives per-patient
//! contributions; `perpetual` was not used because it needs a nightly
//! compiler.

use forust_ml::{GradientBooster, Matrix};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::cached::Cached;
use crate::models::params::Range;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};
use crate::stats::sigmoid;

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "trees",
        default: "100",
        help: "boosting iterations",
    },
    ParamInfo {
        key: "learning_rate",
        default: "0.1",
        help: "shrinkage of each tree",
    },
    ParamInfo {
        key: "max_depth",
        default: "3",
        help: "depth of each tree",
    },
    ParamInfo {
        key: "l2",
        default: "1.0",
        help: "L2 penalty on leaf weights",
    },
    ParamInfo {
        key: "min_leaf_weight",
        default: "1.0",
        help: "minimum hessian sum in a leaf",
    },
    ParamInfo {
        key: "subsample",
        default: "1.0",
        help: "share of rows sampled for each tree",
    },
];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "boosting",
    description: "gradient-boosted trees (forust-ml), log-loss",
    params: PARAMS,
    native_probabilities: true,
    keeps_training_rows: false,
};

/// Hyper-parameters of boosting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BoostingParams {
    /// Iterations.
    pub(crate) trees: usize,
    /// Learning rate.
    pub(crate) learning_rate: f64,
    /// Tree depth.
    pub(crate) max_depth: usize,
    /// L2 penalty.
    pub(crate) l2: f64,
    /// Minimum leaf hessian.
    pub(crate) min_leaf_weight: f64,
    /// Row subsampling.
    pub(crate) subsample: f64,
}

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams {
            trees: 100,
            learning_rate: 0.1,
            max_depth: 3,
            l2: 1.0,
            min_leaf_weight: 1.0,
            subsample: 1.0,
        }
    }
}

impl BoostingParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<BoostingParams> {
        let p = raw.reader("boosting", PARAMS)?;
        let d = BoostingParams::default();
        Ok(BoostingParams {
            trees: p.int("trees", d.trees, 1, 100_000)?,
            learning_rate: p.num("learning_rate", d.learning_rate, Range::AboveUpTo(0.0, 1.0))?,
            max_depth: p.int("max_depth", d.max_depth, 1, 32)?,
            l2: p.num("l2", d.l2, Range::AtLeast(0.0))?,
            min_leaf_weight: p.num("min_leaf_weight", d.min_leaf_weight, Range::AtLeast(0.0))?,
            subsample: p.num("subsample", d.subsample, Range::AboveUpTo(0.0, 1.0))?,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!(
            "trees={}, learning_rate={}, max_depth={}, l2={}, min_leaf_weight={}, subsample={}",
            self.trees,
            self.learning_rate,
            self.max_depth,
            self.l2,
            self.min_leaf_weight,
            self.subsample
        )
    }
}

/// A fitted booster, stored as forust's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BoostingModel {
    /// Number of inputs.
    pub(crate) n_inputs: usize,
    /// forust's model document.
    pub(crate) booster: serde_json::Value,
    /// The booster parsed from `booster`, built on first use.
    #[serde(skip)]
    pub(crate) parsed: Cached<GradientBooster>,
}

fn column_major(x: ArrayView2<f64>) -> Vec<f64> {
    x.t().iter().copied().collect()
}

impl BoostingModel {
    fn booster(&self) -> Result<&GradientBooster> {
        self.parsed.get_or_make(|| {
            GradientBooster::from_json(&self.booster.to_string())
                .map_err(|e| Error::Fit(format!("stored booster cannot be read: {e}")))
        })
    }

    /// Checks that the stored booster loads.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.booster().map(|_| ()).map_err(|e| e.to_string())
    }
}

impl Classifier for BoostingModel {
    type Params = BoostingParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &BoostingParams, seed: u64) -> Result<Self> {
        let data = column_major(x);
        let matrix = Matrix::new(&data, x.nrows(), x.ncols());
        let target: Vec<f64> = y.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
        let mut booster = GradientBooster::default()
            .set_iterations(params.trees)
            .set_learning_rate(params.learning_rate as f32)
            .set_max_depth(params.max_depth)
            .set_l2(params.l2 as f32)
            .set_min_leaf_weight(params.min_leaf_weight as f32)
            .set_subsample(params.subsample as f32)
            .set_seed(seed)
            .set_parallel(true);
        booster
            .fit_unweighted(&matrix, &target, None)
            .map_err(|e| Error::Fit(format!("boosting failed: {e}")))?;
        let json = booster
            .json_dump()
            .map_err(|e| Error::Fit(format!("boosting: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| Error::Fit(format!("boosting: {e}")))?;
        Ok(BoostingModel {
            n_inputs: x.ncols(),
            booster: value,
            parsed: Cached::default(),
        })
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let booster = self.booster()?;
        let data = column_major(x);
        let matrix = Matrix::new(&data, x.nrows(), x.ncols());
        Ok(booster
            .predict(&matrix, false)
            .into_iter()
            .map(sigmoid)
            .collect())
    }
}
