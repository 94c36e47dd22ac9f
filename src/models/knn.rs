//! k nearest neighbours (linfa-nn): probability = distance-weighted share of
//! responders among the k nearest training rows. The model must keep the
//! training matrix (standardised inputs) and labels: the bundle holds
//! training rows, and `inspect` says so.

use linfa_nn::distance::L2Dist;
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour};
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::cached::Cached;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "k",
        default: "25",
        help: "number of neighbours (1 to 10000)",
    },
    ParamInfo {
        key: "weights",
        default: "distance",
        help: "distance (1/d weights) or uniform",
    },
];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "knn",
    description: "k nearest neighbours (linfa-nn), weighted vote; keeps the training rows",
    params: PARAMS,
    native_probabilities: true,
    keeps_training_rows: true,
};

/// Hyper-parameters of k-NN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KnnParams {
    /// Neighbours.
    pub(crate) k: usize,
    /// Whether votes are weighted by 1/distance.
    pub(crate) distance_weighted: bool,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 25,
            distance_weighted: true,
        }
    }
}

impl KnnParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<KnnParams> {
        let p = raw.reader("knn", PARAMS)?;
        let distance_weighted = match p.text("weights") {
            None | Some("distance") => true,
            Some("uniform") => false,
            Some(o) => {
                return Err(Error::usage(format!(
                    "--param weights={o} for knn: weights must be distance or uniform"
                )))
            }
        };
        Ok(KnnParams {
            k: p.int("k", 25, 1, 10_000)?,
            distance_weighted,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!(
            "k={}, weights={}",
            self.k,
            if self.distance_weighted {
                "distance"
            } else {
                "uniform"
            }
        )
    }
}

/// A fitted k-NN model: the training rows themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KnnModel {
    /// Neighbours.
    pub(crate) k: usize,
    /// 1/distance weights.
    pub(crate) distance_weighted: bool,
    /// Inputs per row.
    pub(crate) n_inputs: usize,
    /// Training rows (standardised inputs), row-major.
    pub(crate) train_x: Vec<f64>,
    /// Training labels.
    pub(crate) train_y: Vec<bool>,
    /// `train_x` as a matrix, built on first use.
    #[serde(skip)]
    pub(crate) matrix: Cached<Array2<f64>>,
}

impl Classifier for KnnModel {
    type Params = KnnParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &KnnParams, _seed: u64) -> Result<Self> {
        Ok(KnnModel {
            k: params.k.min(y.len()),
            distance_weighted: params.distance_weighted,
            n_inputs: x.ncols(),
            train_x: x.iter().copied().collect(),
            train_y: y.to_vec(),
            matrix: Cached::default(),
        })
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let train = self.matrix.get_or_make(|| {
            Array2::from_shape_vec((self.train_y.len(), self.n_inputs), self.train_x.clone())
                .map_err(|e| Error::Fit(format!("k-NN training matrix: {e}")))
        })?;
        let index = CommonNearestNeighbour::LinearSearch
            .from_batch(train, L2Dist)
            .map_err(|e| Error::Fit(format!("k-NN index: {e}")))?;
        let probs: Result<Vec<f64>> = (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let row = x.row(i);
                let hits = index
                    .k_nearest(row.view(), self.k)
                    .map_err(|e| Error::Fit(format!("k-NN query: {e}")))?;
                let (mut w_pos, mut w_all) = (0.0, 0.0);
                let exact: Vec<usize> = hits
                    .iter()
                    .filter(|(p, _)| p.iter().zip(row.iter()).all(|(a, b)| a == b))
                    .map(|(_, j)| *j)
                    .collect();
                if self.distance_weighted && !exact.is_empty() {
                    // As scikit-learn: exact matches take all the weight.
                    let pos = exact.iter().filter(|&&j| self.train_y[j]).count();
                    return Ok(pos as f64 / exact.len() as f64);
                }
                for (p, j) in &hits {
                    let w = if self.distance_weighted {
                        let d: f64 = p
                            .iter()
                            .zip(row.iter())
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum();
                        1.0 / d.sqrt()
                    } else {
                        1.0
                    };
                    w_all += w;
                    if self.train_y[*j] {
                        w_pos += w;
                    }
                }
                Ok(if w_all > 0.0 { w_pos / w_all } else { 0.5 })
            })
            .collect();
        Ok(Array1::from(probs?))
    }
}

impl KnnModel {
    /// Checks shapes and values.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        let ok = self.k >= 1
            && self.k <= self.train_y.len()
            && self.train_x.len() == self.train_y.len() * self.n_inputs
            && self
                .train_x
                .iter()
                .all(|v| v.abs() <= crate::models::MAX_INPUT);
        if ok {
            Ok(())
        } else {
            Err("k-NN training rows are malformed".into())
        }
    }
}
