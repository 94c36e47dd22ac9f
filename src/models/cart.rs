//! A fast classification tree on pre-binned inputs (histogram splits, Gini),
//! with a random subset of inputs tried at each split: the building block
//! of `forest`. Split search costs O(rows in node × inputs tried) instead of
//! a scan of the whole data set at every node.

use rand::Rng;

use crate::models::tree::{Node, Nodes, LEAF};
use ndarray::ArrayView2;

/// Inputs cut into at most 255 ordered bins, column by column.
pub(crate) struct Binned {
    /// `bins[f * n + i]`: bin of row `i` in input `f`.
    pub(crate) bins: Vec<u8>,
    /// Per input: thresholds; bin `b` holds values `<= thresholds[b]`.
    pub(crate) thresholds: Vec<Vec<f64>>,
    /// Rows.
    pub(crate) n: usize,
    /// Inputs.
    pub(crate) p: usize,
}

impl Binned {
    /// Bins every input at up to `max_bins` quantile cut points.
    pub(crate) fn new(x: ArrayView2<f64>, max_bins: usize) -> Binned {
        let (n, p) = x.dim();
        let max_bins = max_bins.clamp(2, 255);
        let mut bins = vec![0u8; n * p];
        let mut thresholds = Vec::with_capacity(p);
        let mut col = Vec::with_capacity(n);
        for f in 0..p {
            col.clear();
            col.extend(x.column(f).iter().copied());
            col.sort_by(f64::total_cmp);
            col.dedup();
            let t: Vec<f64> = if col.len() <= max_bins {
                col.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
            } else {
                let mut t: Vec<f64> = (1..max_bins)
                    .map(|k| {
                        let i = k * col.len() / max_bins;
                        (col[i - 1] + col[i]) / 2.0
                    })
                    .collect();
                t.dedup();
                t
            };
            for (i, v) in x.column(f).iter().enumerate() {
                bins[f * n + i] = t.partition_point(|&c| c < *v) as u8;
            }
            thresholds.push(t);
        }
        Binned {
            bins,
            thresholds,
            n,
            p,
        }
    }
}

/// How one tree grows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrowParams {
    /// Maximum depth (0 = unlimited).
    pub(crate) max_depth: usize,
    /// Minimum rows in a leaf.
    pub(crate) min_leaf: usize,
    /// Inputs tried at each split.
    pub(crate) mtry: usize,
}

struct Task {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
}

/// Per-bin counts of one input in one node: distinct rows, weighted rows,
/// weighted responders (reused from node to node).
struct Histogram {
    rows_in: [u32; 256],
    cnt: [u64; 256],
    pos: [u64; 256],
}

/// A node's rows: distinct rows, weighted rows and weighted responders.
#[derive(Clone, Copy)]
struct NodeTotals {
    rows: usize,
    n: u64,
    n_pos: u64,
}

impl Histogram {
    /// Fills the histogram of input `f` over `slice`; `false` when the
    /// input is constant there (it then does not count as tried).
    fn fill(&mut self, data: &Binned, y: &[bool], weight: &[u32], slice: &[u32], f: usize) -> bool {
        let nb = data.thresholds[f].len() + 1;
        if nb < 2 {
            return false;
        }
        self.rows_in[..nb].fill(0);
        self.cnt[..nb].fill(0);
        self.pos[..nb].fill(0);
        let col = &data.bins[f * data.n..(f + 1) * data.n];
        for &r in slice {
            let b = col[r as usize] as usize;
            let w = u64::from(weight[r as usize]);
            self.rows_in[b] += 1;
            self.cnt[b] += w;
            self.pos[b] += if y[r as usize] { w } else { 0 };
        }
        self.rows_in[..nb].iter().filter(|&&c| c > 0).count() >= 2
    }

    /// The best cut of the filled histogram (`nb` bins) with at least
    /// `min_leaf` distinct rows on each side: (impurity, bin).
    fn best_cut(&self, nb: usize, t: NodeTotals, min_leaf: usize) -> Option<(f64, usize)> {
        let mut best: Option<(f64, usize)> = None;
        let (mut dl, mut nl, mut pl) = (0usize, 0u64, 0u64);
        for b in 0..nb - 1 {
            dl += self.rows_in[b] as usize;
            nl += self.cnt[b];
            pl += self.pos[b];
            if dl < min_leaf || self.rows_in[b] == 0 {
                continue;
            }
            if t.rows - dl < min_leaf {
                break;
            }
            let nr = t.n - nl;
            let pr = t.n_pos - pl;
            let imp =
                pl as f64 * (nl - pl) as f64 / nl as f64 + pr as f64 * (nr - pr) as f64 / nr as f64;
            if best.is_none_or(|(bi, _)| imp < bi) {
                best = Some((imp, b));
            }
        }
        best
    }
}

/// Moves the rows of `slice` whose bin in `col` is at most `b` to the
/// front, keeping both sides in row order (the histogram loops then read
/// the columns front to back, which the prefetcher follows; counts do not
/// depend on the order). Returns the number of rows on the left.
fn partition(slice: &mut [u32], col: &[u8], b: usize, right_rows: &mut Vec<u32>) -> usize {
    right_rows.clear();
    let mut left = 0;
    for i in 0..slice.len() {
        let r = slice[i];
        if (col[r as usize] as usize) <= b {
            slice[left] = r;
            left += 1;
        } else {
            right_rows.push(r);
        }
    }
    slice[left..].copy_from_slice(right_rows);
    left
}

const EMPTY: Node = Node {
    feature: LEAF,
    threshold: 0.0,
    left: 0,
    right: 0,
    value: 0.0,
};

/// The split searcher of one tree: its inputs, parameters and workspace.
struct Grower<'a> {
    data: &'a Binned,
    y: &'a [bool],
    weight: &'a [u32],
    features: Vec<usize>,
    mtry: usize,
    min_leaf: usize,
    hist: Histogram,
}

impl Grower<'_> {
    /// The node's totals.
    fn totals(&self, slice: &[u32]) -> NodeTotals {
        let (mut n, mut n_pos) = (0u64, 0u64);
        for &r in slice {
            let w = u64::from(self.weight[r as usize]);
            n += w;
            n_pos += if self.y[r as usize] { w } else { 0 };
        }
        NodeTotals {
            rows: slice.len(),
            n,
            n_pos,
        }
    }

    /// The best split of the node over inputs drawn without replacement
    /// until `mtry` non-constant ones have been tried: (impurity, input,
    /// bin).
    fn best_split(
        &mut self,
        slice: &[u32],
        t: NodeTotals,
        rng: &mut impl Rng,
    ) -> Option<(f64, usize, usize)> {
        let mut best: Option<(f64, usize, usize)> = None;
        let mut tried = 0;
        let mut k = 0;
        while tried < self.mtry && k < self.features.len() {
            let j = rng.gen_range(k..self.features.len());
            self.features.swap(k, j);
            let f = self.features[k];
            k += 1;
            if !self.hist.fill(self.data, self.y, self.weight, slice, f) {
                continue; // constant here: does not count
            }
            tried += 1;
            let nb = self.data.thresholds[f].len() + 1;
            if let Some((imp, b)) = self.hist.best_cut(nb, t, self.min_leaf) {
                if best.is_none_or(|(bi, _, _)| imp < bi) {
                    best = Some((imp, f, b));
                }
            }
        }
        best
    }
}

/// Grows one tree on the distinct rows in `rows`, row `r` counted
/// `weight[r]` times (its number of draws in a bootstrap sample). As in
/// scikit-learn, impurities and leaf shares use the weighted counts while
/// `min_leaf` counts distinct rows, and inputs that are constant within a
/// node do not count towards the `mtry` inputs tried there.
pub(crate) fn grow(
    data: &Binned,
    y: &[bool],
    weight: &[u32],
    rows: &mut [u32],
    params: GrowParams,
    rng: &mut impl Rng,
) -> Nodes {
    let mut nodes = vec![EMPTY];
    let mut g = Grower {
        data,
        y,
        weight,
        features: (0..data.p).collect(),
        mtry: params.mtry.clamp(1, data.p.max(1)),
        min_leaf: params.min_leaf.max(1),
        hist: Histogram {
            rows_in: [0; 256],
            cnt: [0; 256],
            pos: [0; 256],
        },
    };
    let mut right_rows: Vec<u32> = Vec::with_capacity(rows.len());
    rows.sort_unstable();
    let mut stack = vec![Task {
        node: 0,
        start: 0,
        end: rows.len(),
        depth: 0,
    }];
    while let Some(t) = stack.pop() {
        let slice = &mut rows[t.start..t.end];
        let totals = g.totals(slice);
        let (n, n_pos) = (totals.n, totals.n_pos);
        nodes[t.node].value = if n > 0 { n_pos as f64 / n as f64 } else { 0.0 };
        let depth_ok = params.max_depth == 0 || t.depth < params.max_depth;
        if !depth_ok || slice.len() < 2 * g.min_leaf || n_pos == 0 || n_pos == n {
            continue;
        }
        let parent = n_pos as f64 * (n - n_pos) as f64 / n as f64;
        let Some((imp, f, b)) = g.best_split(slice, totals, rng) else {
            continue;
        };
        if imp >= parent - 1e-12 {
            continue;
        }
        let left = partition(
            slice,
            &data.bins[f * data.n..(f + 1) * data.n],
            b,
            &mut right_rows,
        );
        let l = nodes.len();
        nodes.extend([EMPTY, EMPTY]);
        nodes[t.node].feature = f as u32;
        nodes[t.node].threshold = data.thresholds[f][b];
        nodes[t.node].left = l as u32;
        nodes[t.node].right = l as u32 + 1;
        stack.push(Task {
            node: l + 1,
            start: t.start + left,
            end: t.end,
            depth: t.depth + 1,
        });
        stack.push(Task {
            node: l,
            start: t.start,
            end: t.start + left,
            depth: t.depth + 1,
        });
    }
    // Only leaves' shares are used (and stored); split nodes keep none.
    for n in nodes.iter_mut().filter(|n| n.feature != LEAF) {
        n.value = 0.0;
    }
    Nodes { nodes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn binning_respects_thresholds() {
        let x = Array2::from_shape_vec((5, 1), vec![3.0, 1.0, 2.0, 2.0, 10.0]).unwrap();
        let b = Binned::new(x.view(), 255);
        assert_eq!(b.thresholds[0], vec![1.5, 2.5, 6.5]);
        assert_eq!(b.bins, vec![2, 0, 1, 1, 3]);
    }

    #[test]
    fn a_tree_separates_a_clean_split() {
        let x = Array2::from_shape_fn((100, 3), |(i, j)| {
            if j == 1 {
                i as f64
            } else {
                ((i * 7) % 13) as f64
            }
        });
        let y: Vec<bool> = (0..100).map(|i| i >= 60).collect();
        let b = Binned::new(x.view(), 64);
        let mut rows: Vec<u32> = (0..100).collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let t = grow(
            &b,
            &y,
            &[1; 100],
            &mut rows,
            GrowParams {
                max_depth: 0,
                min_leaf: 1,
                mtry: 3,
            },
            &mut rng,
        );
        t.validate(3).unwrap();
        for i in 0..100 {
            let p = t.predict_row(x.row(i).as_slice().unwrap());
            assert_eq!(p, if i >= 60 { 1.0 } else { 0.0 });
        }
    }
}
