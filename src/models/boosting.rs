//! Gradient-boosted trees (forust-ml, log-loss). forust builds on stable
//! Rust; `perpetual` was not used because it needs a nightly compiler. The
//! fitted trees are converted into responder's own checked representation
//! (arrays per node, every index validated on load) and predicted here with
//! forust's arithmetic, so an edited bundle cannot make prediction loop or
//! index out of range.

use forust_ml::{GradientBooster, Matrix};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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
        default: "20",
        help: "L2 penalty on leaf weights (20: measured on 19 small real trials in bench/small_trials, where 1 overfitted)",
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
            l2: 20.0,
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

/// One boosted tree, stored as arrays indexed by node: `split[i]` is the
/// input tested at node `i` (-1 for a leaf); `value[i]` its threshold (go
/// left when the input is below it) or, at a leaf, the leaf's log-odds
/// contribution; `left`, `right` and `missing` the children (every child
/// comes after its parent, so a walk always ends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BoostedTree {
    /// Input of each split node, -1 for a leaf.
    pub(crate) split: Vec<i64>,
    /// Threshold of a split node, log-odds of a leaf.
    pub(crate) value: Vec<f64>,
    /// Left child (input < threshold).
    pub(crate) left: Vec<u32>,
    /// Right child.
    pub(crate) right: Vec<u32>,
    /// Child for a missing input.
    pub(crate) missing: Vec<u32>,
}

impl BoostedTree {
    /// Checks shapes, indices and values: a tree that could loop, index
    /// out of range or read a missing input is refused.
    fn validate(&self, n_inputs: usize) -> std::result::Result<(), String> {
        let n = self.split.len();
        if n == 0 {
            return Err("a boosted tree has no nodes".into());
        }
        if [
            self.value.len(),
            self.left.len(),
            self.right.len(),
            self.missing.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err("a boosted tree's node arrays have different lengths".into());
        }
        for i in 0..n {
            if !self.value[i].is_finite() {
                return Err(format!(
                    "boosted tree node {i} has a value that is not a number"
                ));
            }
            if self.split[i] < 0 {
                continue;
            }
            let child = |c: u32| (c as usize) > i && (c as usize) < n;
            if self.split[i] as usize >= n_inputs
                || !child(self.left[i])
                || !child(self.right[i])
                || !child(self.missing[i])
            {
                return Err(format!(
                    "boosted tree node {i} has an input or a child out of range (children must come after their parent)"
                ));
            }
        }
        Ok(())
    }

    /// The leaf value reached by `row`.
    fn leaf(&self, row: ndarray::ArrayView1<f64>) -> f64 {
        let mut i = 0;
        while self.split[i] >= 0 {
            let v = row[self.split[i] as usize];
            i = if v.is_nan() {
                self.missing[i]
            } else if v < self.value[i] {
                self.left[i]
            } else {
                self.right[i]
            } as usize;
        }
        self.value[i]
    }
}

/// A fitted booster: log-odds = base score + the sum of every tree's leaf
/// value, P(responder) = sigmoid(log-odds) — the arithmetic of forust's
/// `predict`, in the same order, so predictions are identical to forust's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredBooster")]
pub(crate) struct BoostingModel {
    /// Number of inputs.
    pub(crate) n_inputs: usize,
    /// The starting log-odds.
    pub(crate) base_score: f64,
    /// The trees, in boosting order.
    pub(crate) trees: Vec<BoostedTree>,
}

/// A booster as stored: this format, or forust's own JSON document in
/// bundles written before responder 0.2 (converted on load).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredBooster {
    Own {
        n_inputs: usize,
        base_score: f64,
        trees: Vec<BoostedTree>,
    },
    Forust {
        n_inputs: usize,
        booster: serde_json::Value,
    },
}

impl TryFrom<StoredBooster> for BoostingModel {
    type Error = String;

    fn try_from(s: StoredBooster) -> std::result::Result<Self, String> {
        let m = match s {
            StoredBooster::Own {
                n_inputs,
                base_score,
                trees,
            } => BoostingModel {
                n_inputs,
                base_score,
                trees,
            },
            StoredBooster::Forust { n_inputs, booster } => from_forust(n_inputs, &booster)?,
        };
        m.validate()?;
        Ok(m)
    }
}

/// forust's node, as its JSON dump writes it.
#[derive(Deserialize)]
struct ForustNode {
    split_feature: usize,
    split_value: f64,
    weight_value: f32,
    left_child: usize,
    right_child: usize,
    missing_node: usize,
    is_leaf: bool,
}

#[derive(Deserialize)]
struct ForustTree {
    nodes: Vec<ForustNode>,
}

#[derive(Deserialize)]
struct ForustBooster {
    base_score: f64,
    trees: Vec<ForustTree>,
    prediction_iteration: Option<usize>,
}

/// Converts forust's JSON document (a fitted booster, or one stored by an
/// older responder) into the checked representation.
fn from_forust(
    n_inputs: usize,
    doc: &serde_json::Value,
) -> std::result::Result<BoostingModel, String> {
    let b = ForustBooster::deserialize(doc)
        .map_err(|e| format!("the stored booster cannot be read: {e}"))?;
    let used = match b.prediction_iteration {
        Some(k) if k > b.trees.len() => {
            return Err(format!(
                "the booster's prediction_iteration {k} is beyond its {} trees",
                b.trees.len()
            ))
        }
        Some(k) => k,
        None => b.trees.len(),
    };
    let index =
        |v: usize| u32::try_from(v).map_err(|_| "a boosted tree index is too large".to_string());
    let trees = b.trees[..used]
        .iter()
        .map(|t| {
            let mut out = BoostedTree {
                split: Vec::with_capacity(t.nodes.len()),
                value: Vec::with_capacity(t.nodes.len()),
                left: Vec::with_capacity(t.nodes.len()),
                right: Vec::with_capacity(t.nodes.len()),
                missing: Vec::with_capacity(t.nodes.len()),
            };
            for n in &t.nodes {
                if n.is_leaf {
                    out.split.push(-1);
                    out.value.push(f64::from(n.weight_value));
                    out.left.push(0);
                    out.right.push(0);
                    out.missing.push(0);
                } else {
                    out.split.push(
                        i64::try_from(n.split_feature)
                            .map_err(|_| "a split input is too large".to_string())?,
                    );
                    out.value.push(n.split_value);
                    out.left.push(index(n.left_child)?);
                    out.right.push(index(n.right_child)?);
                    out.missing.push(index(n.missing_node)?);
                }
            }
            Ok(out)
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok(BoostingModel {
        n_inputs,
        base_score: b.base_score,
        trees,
    })
}

fn column_major(x: ArrayView2<f64>) -> Vec<f64> {
    x.t().iter().copied().collect()
}

impl BoostingModel {
    /// Checks the base score and every tree.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if !self.base_score.is_finite() {
            return Err("the booster's base score is not a number".into());
        }
        if self.trees.is_empty() {
            return Err("the booster has no trees".into());
        }
        self.trees
            .iter()
            .try_for_each(|t| t.validate(self.n_inputs))
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
        if params.subsample < 1.0 {
            // forust samples rows only with a sample method set.
            booster = booster.set_sample_method(forust_ml::sampler::SampleMethod::Random);
        }
        booster
            .fit_unweighted(&matrix, &target, None)
            .map_err(|e| Error::Fit(format!("boosting failed: {e}")))?;
        let json = booster
            .json_dump()
            .map_err(|e| Error::Fit(format!("boosting: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| Error::Fit(format!("boosting: {e}")))?;
        let model = from_forust(x.ncols(), &value).map_err(Error::Fit)?;
        model.validate().map_err(Error::Fit)?;
        Ok(model)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(x.outer_iter()
            .map(|row| {
                let mut z = self.base_score;
                for t in &self.trees {
                    z += t.leaf(row);
                }
                sigmoid(z)
            })
            .collect())
    }
}
