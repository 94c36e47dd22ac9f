//! Random forest: bootstrap samples, a random subset of inputs at each
//! split, trees grown in parallel (rayon) from per-tree seeds, probability =
//! mean leaf responder share. Trees are histogram CART trees (see `cart`).

use ndarray::{Array1, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::cart::{grow, Binned, GrowParams};
use crate::models::tree::Nodes;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "trees",
        default: "200",
        help: "number of trees",
    },
    ParamInfo {
        key: "max_features",
        default: "0",
        help: "inputs tried at each split (0 = square root of the number of inputs, rounded down)",
    },
    ParamInfo {
        key: "min_leaf",
        default: "5",
        help: "minimum distinct training rows in a leaf (as scikit-learn's min_samples_leaf)",
    },
    ParamInfo {
        key: "max_depth",
        default: "0",
        help: "maximum depth (0 = unlimited)",
    },
    ParamInfo {
        key: "max_bins",
        default: "64",
        help: "histogram bins per input for split search (2 to 255)",
    },
];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "forest",
    description: "random forest: bagged trees with per-split input sampling, grown in parallel",
    params: PARAMS,
    native_probabilities: false,
    keeps_training_rows: false,
};

/// Hyper-parameters of the forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ForestParams {
    /// Number of trees.
    pub(crate) trees: usize,
    /// Inputs per split (0 = sqrt).
    pub(crate) max_features: usize,
    /// Minimum rows per leaf.
    pub(crate) min_leaf: usize,
    /// Maximum depth (0 = unlimited).
    pub(crate) max_depth: usize,
    /// Histogram bins.
    pub(crate) max_bins: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 200,
            max_features: 0,
            min_leaf: 5,
            max_depth: 0,
            max_bins: 64,
        }
    }
}

impl ForestParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<ForestParams> {
        let p = raw.reader("forest", PARAMS)?;
        let d = ForestParams::default();
        Ok(ForestParams {
            trees: p.int("trees", d.trees, 1, 100_000)?,
            max_features: p.int("max_features", d.max_features, 0, 1_000_000)?,
            min_leaf: p.int("min_leaf", d.min_leaf, 1, 1_000_000)?,
            max_depth: p.int("max_depth", d.max_depth, 0, 64)?,
            max_bins: p.int("max_bins", d.max_bins, 2, 255)?,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!(
            "trees={}, max_features={}, min_leaf={}, max_depth={}, max_bins={}",
            self.trees,
            if self.max_features == 0 {
                "sqrt".to_string()
            } else {
                self.max_features.to_string()
            },
            self.min_leaf,
            self.max_depth,
            self.max_bins
        )
    }
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ForestModel {
    /// Number of inputs.
    pub(crate) n_inputs: usize,
    /// The trees.
    pub(crate) trees: Vec<Nodes>,
}

/// A well-mixed seed for tree `i` (SplitMix64 of seed and index).
fn tree_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Classifier for ForestModel {
    type Params = ForestParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &ForestParams, seed: u64) -> Result<Self> {
        let (n, p) = x.dim();
        let data = Binned::new(x, params.max_bins);
        let mtry = if params.max_features == 0 {
            ((p as f64).sqrt().floor() as usize).max(1)
        } else {
            params.max_features.min(p)
        };
        let grow_params = GrowParams {
            max_depth: params.max_depth,
            min_leaf: params.min_leaf,
            mtry,
        };
        let trees: Vec<Nodes> = (0..params.trees)
            .into_par_iter()
            .map(|i| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(tree_seed(seed, i as u64));
                // Bootstrap sample: draws per row; the tree sees each drawn
                // row once, weighted by its draws.
                let mut draws = vec![0u32; n];
                for _ in 0..n {
                    draws[rng.gen_range(0..n)] += 1;
                }
                let mut rows: Vec<u32> = (0..n as u32).filter(|&r| draws[r as usize] > 0).collect();
                grow(&data, y, &draws, &mut rows, grow_params, &mut rng)
            })
            .collect();
        let m = ForestModel { n_inputs: p, trees };
        m.validate().map_err(Error::Fit)?;
        Ok(m)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let k = self.trees.len() as f64;
        let rows: Vec<f64> = (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let row = x.row(i);
                let owned;
                let row: &[f64] = match row.as_slice() {
                    Some(s) => s,
                    None => {
                        owned = row.to_vec();
                        &owned
                    }
                };
                self.trees.iter().map(|t| t.predict_row(row)).sum::<f64>() / k
            })
            .collect();
        Ok(Array1::from(rows))
    }
}

impl ForestModel {
    /// Checks every tree.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.trees.is_empty() {
            return Err("the forest has no trees".into());
        }
        self.trees
            .iter()
            .try_for_each(|t| t.validate(self.n_inputs))
    }
}
