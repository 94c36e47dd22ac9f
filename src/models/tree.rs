//! A single classification tree (CART, Gini), stored as a flat node list
//! whose leaves hold the share of responders among the training rows that
//! reach them. It is grown by the same histogram CART as `forest` (255 bins
//! per input, every input tried at every split), not by linfa-trees: linfa
//! 0.8.1 skips a split candidate whenever the next value in the global sort of
//! an input equals the current one, even if that row is not in the node, so
//! below the root most thresholds on repeated values (dosages, one-hot
//! columns, integer scores) were never tried; it also merges sibling leaves
//! with the same majority class, which loses probability resolution.

use ndarray::{Array1, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::cart::{grow, Binned, GrowParams};
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
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "tree",
    description: "one classification tree (CART, Gini); probability = responder share in the leaf",
    params: PARAMS,
    native_probabilities: false,
    keeps_training_rows: false,
};

/// Hyper-parameters of a single tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TreeParams {
    /// Maximum depth.
    pub(crate) max_depth: usize,
    /// Minimum rows per leaf.
    pub(crate) min_leaf: usize,
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
    pub(crate) fn from_raw(raw: &RawParams) -> Result<TreeParams> {
        let p = raw.reader("tree", PARAMS)?;
        let d = TreeParams::default();
        Ok(TreeParams {
            max_depth: p.int("max_depth", d.max_depth, 1, 64)?,
            min_leaf: p.int("min_leaf", d.min_leaf, 1, 1_000_000)?,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!("max_depth={}, min_leaf={}", self.max_depth, self.min_leaf)
    }
}

/// One node of a stored tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// Input index of the split, or `u32::MAX` for a leaf.
    pub(crate) feature: u32,
    /// Split value: rows with `x <= threshold` go left.
    pub(crate) threshold: f64,
    /// Index of the left child.
    pub(crate) left: u32,
    /// Index of the right child.
    pub(crate) right: u32,
    /// P(responder) in this node's training rows.
    pub(crate) value: f64,
}

/// A leaf marker for [`Node::feature`].
pub(crate) const LEAF: u32 = u32::MAX;

/// A binary tree stored as a flat node list (root first). In a bundle it
/// is written as three arrays (see [`CompactNodes`]); the older list of node
/// objects is still read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Nodes {
    /// The nodes.
    pub(crate) nodes: Vec<Node>,
}

/// The stored form of [`Nodes`]: about a third of the size of a list of
/// node objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CompactNodes {
    /// Per node: the input it splits on, or -1 for a leaf.
    pub(crate) split: Vec<i64>,
    /// Per node: the threshold (split nodes; `x <= threshold` goes left) or
    /// P(responder) (leaves).
    pub(crate) value: Vec<f64>,
    /// Per split node, in node order: its left child; the right child is
    /// the next node.
    pub(crate) left: Vec<u32>,
}

impl Serialize for Nodes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut c = CompactNodes {
            split: Vec::with_capacity(self.nodes.len()),
            value: Vec::with_capacity(self.nodes.len()),
            left: Vec::new(),
        };
        for n in &self.nodes {
            if n.feature == LEAF {
                c.split.push(-1);
                c.value.push(n.value);
            } else {
                c.split.push(i64::from(n.feature));
                c.value.push(n.threshold);
                c.left.push(n.left);
            }
        }
        c.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Nodes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Nodes, D::Error> {
        use serde::de::Error as _;
        // Either form, read without buffering (an untagged enum would copy
        // the whole forest into memory first).
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            split: Option<Vec<i64>>,
            value: Option<Vec<f64>>,
            left: Option<Vec<u32>>,
            nodes: Option<Vec<Node>>,
        }
        let c = match Stored::deserialize(d)? {
            Stored {
                nodes: Some(nodes),
                split: None,
                value: None,
                left: None,
            } => return Ok(Nodes { nodes }),
            Stored {
                split: Some(split),
                value: Some(value),
                left: Some(left),
                nodes: None,
            } => CompactNodes { split, value, left },
            _ => {
                return Err(D::Error::custom(
                    "a tree needs either `split`, `value` and `left`, or `nodes`",
                ))
            }
        };
        let internal = c.split.iter().filter(|&&f| f >= 0).count();
        if c.value.len() != c.split.len() || c.left.len() != internal {
            return Err(D::Error::custom(
                "a tree's `split`, `value` and `left` arrays do not match in length",
            ));
        }
        let mut left = c.left.iter();
        let nodes =
            c.split
                .iter()
                .zip(&c.value)
                .map(|(&f, &v)| {
                    if f < 0 {
                        Ok(Node {
                            feature: LEAF,
                            threshold: 0.0,
                            left: 0,
                            right: 0,
                            value: v,
                        })
                    } else {
                        let l = *left.next().unwrap_or(&0);
                        Ok(Node {
                            feature: u32::try_from(f).ok().filter(|&f| f != LEAF).ok_or_else(
                                || D::Error::custom("a tree split input is out of range"),
                            )?,
                            threshold: v,
                            left: l,
                            right: l.saturating_add(1),
                            value: 0.0,
                        })
                    }
                })
                .collect::<std::result::Result<Vec<Node>, D::Error>>()?;
        Ok(Nodes { nodes })
    }
}

impl Nodes {
    /// P(responder) for one row.
    pub(crate) fn predict_row(&self, row: &[f64]) -> f64 {
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
    pub(crate) fn validate(&self, n_inputs: usize) -> std::result::Result<(), String> {
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
pub(crate) struct TreeModel {
    /// Number of inputs.
    pub(crate) n_inputs: usize,
    /// The tree.
    pub(crate) tree: Nodes,
}

impl Classifier for TreeModel {
    type Params = TreeParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &TreeParams, seed: u64) -> Result<Self> {
        let data = Binned::new(x, 255);
        let mut rows: Vec<u32> = (0..x.nrows() as u32).collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let grow_params = GrowParams {
            max_depth: params.max_depth,
            min_leaf: params.min_leaf,
            mtry: x.ncols(),
        };
        let tree = grow(
            &data,
            y,
            &vec![1; x.nrows()],
            &mut rows,
            grow_params,
            &mut rng,
        );
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
        let auc = crate::stats::scores::auc(p.as_slice().unwrap(), &y).unwrap();
        assert!(auc > 0.8, "{auc}");
    }

    #[test]
    fn nodes_are_stored_compactly_and_old_lists_still_read() {
        let leaf = |value| Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            value,
        };
        let t = Nodes {
            nodes: vec![
                Node {
                    feature: 1,
                    threshold: 0.25,
                    left: 1,
                    right: 2,
                    value: 0.0,
                },
                leaf(0.1),
                leaf(2.0 / 3.0),
            ],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"split":[1,-1,-1],"value":[0.25,0.1,0.6666666666666666],"left":[1]}"#
        );
        assert_eq!(serde_json::from_str::<Nodes>(&json).unwrap(), t);
        let old = serde_json::to_string(&serde_json::json!({ "nodes": t.nodes })).unwrap();
        assert_eq!(serde_json::from_str::<Nodes>(&old).unwrap(), t);
        for bad in [
            r#"{"split":[1,-1],"value":[0.25,0.1,0.5],"left":[1]}"#,
            r#"{"split":[1,-1,-1],"value":[0.25,0.1,0.5],"left":[]}"#,
            r#"{"split":[4294967295,-1,-1],"value":[0.25,0.1,0.5],"left":[1]}"#,
        ] {
            assert!(serde_json::from_str::<Nodes>(bad).is_err(), "{bad}");
        }
    }
}
