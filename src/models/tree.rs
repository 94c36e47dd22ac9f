//! A single decision tree (linfa-trees, Gini). linfa gives labels only, so
//! the fitted tree is copied into a flat node list whose leaves hold the
//! share of responders among the training rows that reach them.

use linfa::prelude::*;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "max_depth",
        default: "5",
        help: "maximum depth of the tree",
    },
    ParamInfo {
        key: "min_leaf",
        default: "20",
        help: "minimum number of training rows in a leaf",
    },
];

/// Registry entry.
pub const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "tree",
    description: "one decision tree (linfa-trees, Gini); probability = responder share in the leaf",
    params: PARAMS,
    native_probabilities: false,
    keeps_training_rows: false,
};

/// Hyper-parameters of a single tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    /// Maximum depth.
    pub max_depth: usize,
    /// Minimum rows per leaf.
    pub min_leaf: usize,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams {
            max_depth: 5,
            min_leaf: 20,
        }
    }
}

impl TreeParams {
    /// Validates `--param` values.
    pub fn from_raw(raw: &RawParams) -> Result<TreeParams> {
        let n = "tree";
        raw.check_keys(n, PARAMS)?;
        let d = TreeParams::default();
        Ok(TreeParams {
            max_depth: raw.usize(
                n,
                PARAMS,
                "max_depth",
                d.max_depth,
                |x| (1..=64).contains(&x),
                "1 to 64",
            )?,
            min_leaf: raw.usize(
                n,
                PARAMS,
                "min_leaf",
                d.min_leaf,
                |x| x >= 1,
                "an integer >= 1",
            )?,
        })
    }

    /// `key=value` summary.
    pub fn describe(&self) -> String {
        format!("max_depth={}, min_leaf={}", self.max_depth, self.min_leaf)
    }
}

/// One node of a stored tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Input index of the split, or `u32::MAX` for a leaf.
    pub feature: u32,
    /// Split value: rows with `x <= threshold` go left.
    pub threshold: f64,
    /// Index of the left child.
    pub left: u32,
    /// Index of the right child.
    pub right: u32,
    /// P(responder) in this node's training rows.
    pub value: f64,
}

/// A leaf marker for [`Node::feature`].
pub const LEAF: u32 = u32::MAX;

/// A binary tree stored as a flat node list (root first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nodes {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Nodes {
    /// P(responder) for one row.
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.feature == LEAF {
                return n.value;
            }
            i = if row[n.feature as usize] <= n.threshold {
                n.left as usize
            } else {
                n.right as usize
            };
        }
    }

    /// Checks indices and values so that prediction cannot fail.
    pub fn validate(&self, n_inputs: usize) -> std::result::Result<(), String> {
        if self.nodes.is_empty() {
            return Err("a tree has no nodes".into());
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if !(0.0..=1.0).contains(&n.value) {
                return Err("a tree leaf value is not a probability".into());
            }
            if n.feature != LEAF {
                // Children come after their parent, so traversal ends.
                let ok = (n.feature as usize) < n_inputs
                    && n.threshold.is_finite()
                    && (n.left as usize) > i
                    && (n.right as usize) > i
                    && (n.left as usize) < self.nodes.len()
                    && (n.right as usize) < self.nodes.len();
                if !ok {
                    return Err("a tree node is malformed".into());
                }
            }
        }
        Ok(())
    }
}

/// A fitted single tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeModel {
    /// Number of inputs.
    pub n_inputs: usize,
    /// The tree.
    pub tree: Nodes,
}

/// Copies a linfa tree into `out`, returning the new node's index. linfa
/// sends `x < split` left; the copy uses `x <= t` with `t` just below split.
fn copy_node(node: &TreeNode<f64, usize>, out: &mut Vec<Node>) -> u32 {
    let me = out.len() as u32;
    out.push(Node {
        feature: LEAF,
        threshold: 0.0,
        left: 0,
        right: 0,
        value: 0.0,
    });
    if node.is_leaf() {
        return me;
    }
    let (feature, split, _) = node.split();
    let children = node.children();
    // A split without both children acts as a leaf.
    if let (Some(l), Some(r)) = (children[0], children[1]) {
        let left = copy_node(l, out);
        let right = copy_node(r, out);
        out[me as usize] = Node {
            feature: feature as u32,
            threshold: below(split),
            left,
            right,
            value: 0.0,
        };
    }
    me
}

/// The largest float below `v`.
fn below(v: f64) -> f64 {
    if v.is_nan() || v == f64::NEG_INFINITY {
        return v;
    }
    if v == 0.0 {
        return -f64::from_bits(1);
    }
    let bits = v.to_bits();
    f64::from_bits(if v > 0.0 { bits - 1 } else { bits + 1 })
}

/// Sets every node's value to the responder share of the training rows
/// reaching it (a leaf with no rows takes its parent's share).
pub fn fill_frequencies(nodes: &mut [Node], x: ArrayView2<f64>, y: &[bool]) {
    let mut pos = vec![0.0f64; nodes.len()];
    let mut all = vec![0.0f64; nodes.len()];
    for (r, row) in x.outer_iter().enumerate() {
        let mut i = 0usize;
        loop {
            all[i] += 1.0;
            if y[r] {
                pos[i] += 1.0;
            }
            let n = &nodes[i];
            if n.feature == LEAF {
                break;
            }
            i = if row[n.feature as usize] <= n.threshold {
                n.left as usize
            } else {
                n.right as usize
            };
        }
    }
    let root = if all[0] > 0.0 { pos[0] / all[0] } else { 0.5 };
    let mut value = vec![root; nodes.len()];
    for i in 0..nodes.len() {
        if all[i] > 0.0 {
            value[i] = pos[i] / all[i];
        }
        let n = nodes[i];
        if n.feature != LEAF {
            for c in [n.left as usize, n.right as usize] {
                value[c] = value[i];
            }
        }
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        n.value = if all[i] > 0.0 {
            pos[i] / all[i]
        } else {
            value[i]
        };
    }
}

impl Classifier for TreeModel {
    type Params = TreeParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &TreeParams, _seed: u64) -> Result<Self> {
        let targets: Array1<usize> = y.iter().map(|&b| usize::from(b)).collect();
        let ds = DatasetBase::new(x, targets);
        let tree = DecisionTree::params()
            .max_depth(Some(params.max_depth))
            .min_weight_leaf(params.min_leaf as f32)
            .min_weight_split(2.0 * params.min_leaf as f32)
            .fit(&ds)
            .map_err(|e| Error::Fit(format!("decision tree failed: {e}")))?;
        let mut nodes = Vec::new();
        copy_node(tree.root_node(), &mut nodes);
        fill_frequencies(&mut nodes, x, y);
        let tree = Nodes { nodes };
        tree.validate(x.ncols()).map_err(Error::Fit)?;
        Ok(TreeModel {
            n_inputs: x.ncols(),
            tree,
        })
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(x.outer_iter()
            .map(|row| match row.as_slice() {
                Some(s) => self.tree.predict_row(s),
                None => self.tree.predict_row(&row.to_vec()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn leaf_frequencies_are_probabilities() {
        let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * (j + 3)) % 17) as f64);
        let y: Vec<bool> = (0..200).map(|i| (i * 3) % 17 > 8 || i % 11 == 0).collect();
        let m = TreeModel::fit(x.view(), &y, &TreeParams::default(), 0).unwrap();
        let p = m.predict_proba(x.view()).unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        // Not hard labels: some leaf is mixed.
        assert!(p.iter().any(|&v| v > 0.0 && v < 1.0));
        let auc = crate::eval::auc(p.as_slice().unwrap(), &y).unwrap();
        assert!(auc > 0.8, "{auc}");
    }

    #[test]
    fn below_is_the_previous_float() {
        assert!(below(1.0) < 1.0);
        assert!(below(-1.0) < -1.0);
        assert!(below(0.0) < 0.0);
    }
}
