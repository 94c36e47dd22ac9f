//! A shallow policy tree fitted on doubly robust scores: the exhaustive
//! depth-1/2 search of `policytree::policy_tree` (Athey & Wager 2021,
//! Econometrica 89:133; Sverdrup et al. 2020), each split chosen to
//! maximise the summed score of the arm given to each leaf. Splits are
//! searched at up to [`MAX_CUTS`] quantile thresholds per feature (as
//! policytree's `split.step` approximation); depth 2 sweeps each first split
//! once, moving patients between per-feature histograms, so a search costs
//! O(p² K (n + cuts²)).

use rayon::prelude::*;
use serde::Serialize;

/// Candidate thresholds per feature at most.
pub(crate) const MAX_CUTS: usize = 32;

/// A fitted policy tree; `x[feature] <= threshold` goes left.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Node {
    /// A leaf: the arm given.
    Leaf {
        /// Index of the arm.
        action: usize,
    },
    /// A split.
    Split {
        /// Index of the feature.
        feature: usize,
        /// The threshold.
        threshold: f64,
        /// `x <= threshold`.
        left: Box<Node>,
        /// `x > threshold`.
        right: Box<Node>,
    },
}

impl Node {
    /// The arm this tree gives a patient with features `x` (by feature).
    pub(crate) fn act(&self, x: &dyn Fn(usize) -> f64) -> usize {
        match self {
            Node::Leaf { action } => *action,
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if x(*feature) <= *threshold {
                    left.act(x)
                } else {
                    right.act(x)
                }
            }
        }
    }

    /// Features used, in order of first use.
    pub(crate) fn features(&self, out: &mut Vec<usize>) {
        if let Node::Split {
            feature,
            left,
            right,
            ..
        } = self
        {
            if !out.contains(feature) {
                out.push(*feature);
            }
            left.features(out);
            right.features(out);
        }
    }
}

/// Features binned at their candidate thresholds.
pub(crate) struct Binned {
    /// `cuts[j]`: thresholds of feature j, increasing.
    cuts: Vec<Vec<f64>>,
    /// `bin[j][i]`: the number of thresholds of feature j below `x[j][i]`
    /// (so `x <= cuts[j][b]` ⇔ `bin <= b`).
    bin: Vec<Vec<u16>>,
}

impl Binned {
    /// Bins the features `x[j][i]` of the patients `rows`.
    pub(crate) fn new(x: &[Vec<f64>], rows: &[usize]) -> Binned {
        let cuts: Vec<Vec<f64>> = x
            .iter()
            .map(|col| {
                let mut v: Vec<f64> = rows.iter().map(|&i| col[i]).collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                // Every distinct value but the largest is a threshold; too
                // many: quantiles of the distinct values.
                let m = v.len().saturating_sub(1);
                if m <= MAX_CUTS {
                    v.truncate(m);
                    v
                } else {
                    let mut c: Vec<f64> =
                        (1..=MAX_CUTS).map(|k| v[k * m / (MAX_CUTS + 1)]).collect();
                    c.dedup();
                    c
                }
            })
            .collect();
        let bin = x
            .iter()
            .zip(&cuts)
            .map(|(col, c)| {
                col.iter()
                    .map(|&v| c.partition_point(|&t| t < v) as u16)
                    .collect()
            })
            .collect();
        Binned { cuts, bin }
    }
}

impl Binned {
    /// A value of feature `j` for patient `i` that splits as the raw value
    /// does against the thresholds (the threshold at its bin, or +∞ above
    /// the last).
    pub(crate) fn threshold_of(&self, j: usize, i: usize) -> f64 {
        self.cuts[j]
            .get(self.bin[j][i] as usize)
            .copied()
            .unwrap_or(f64::INFINITY)
    }
}

/// The best leaf for `rows`: the arm with the largest summed score.
fn best_leaf(gamma: &[Vec<f64>], rows: &[usize]) -> (f64, usize) {
    let mut best = (f64::NEG_INFINITY, 0);
    for (a, g) in gamma.iter().enumerate() {
        let s: f64 = rows.iter().map(|&i| g[i]).sum();
        if s > best.0 {
            best = (s, a);
        }
    }
    best
}

/// Largest value and its arm in `v` (first on ties).
fn argmax(v: &[f64]) -> (f64, usize) {
    let mut best = (f64::NEG_INFINITY, 0);
    for (a, &s) in v.iter().enumerate() {
        if s > best.0 {
            best = (s, a);
        }
    }
    best
}

/// The best depth-1 split from per-feature histograms `hist[j][b*K + a]`
/// (score sums by bin and arm) and their total; `None` without a split.
fn best_split(
    hist: &[Vec<f64>],
    total: &[f64],
    binned: &Binned,
) -> Option<(f64, usize, usize, usize, usize)> {
    let k = total.len();
    let mut best: Option<(f64, usize, usize, usize, usize)> = None;
    let mut left = vec![0.0; k];
    for (j, h) in hist.iter().enumerate() {
        left.iter_mut().for_each(|v| *v = 0.0);
        for b in 0..binned.cuts[j].len() {
            for a in 0..k {
                left[a] += h[b * k + a];
            }
            let (l, la) = argmax(&left);
            let right: Vec<f64> = total.iter().zip(&left).map(|(t, l)| t - l).collect();
            let (r, ra) = argmax(&right);
            if best.is_none_or(|x| l + r > x.0 + 1e-12) {
                best = Some((l + r, j, b, la, ra));
            }
        }
    }
    best
}

/// Histograms of `rows` by feature, bin and arm.
fn histograms(gamma: &[Vec<f64>], binned: &Binned, rows: &[usize]) -> Vec<Vec<f64>> {
    let k = gamma.len();
    binned
        .cuts
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let mut h = vec![0.0; (c.len() + 1) * k];
            for &i in rows {
                let b = binned.bin[j][i] as usize;
                for (a, g) in gamma.iter().enumerate() {
                    h[b * k + a] += g[i];
                }
            }
            h
        })
        .collect()
}

fn leaf(a: usize) -> Box<Node> {
    Box::new(Node::Leaf { action: a })
}

/// The best depth-1 tree (a leaf when no split helps) and its reward.
fn depth_one(gamma: &[Vec<f64>], binned: &Binned, rows: &[usize]) -> (f64, Node) {
    let (leaf_value, leaf_arm) = best_leaf(gamma, rows);
    let total: Vec<f64> = gamma
        .iter()
        .map(|g| rows.iter().map(|&i| g[i]).sum())
        .collect();
    match best_split(&histograms(gamma, binned, rows), &total, binned) {
        Some((v, j, b, la, ra)) if v > leaf_value + 1e-12 && la != ra => (
            v,
            Node::Split {
                feature: j,
                threshold: binned.cuts[j][b],
                left: leaf(la),
                right: leaf(ra),
            },
        ),
        _ => (leaf_value, Node::Leaf { action: leaf_arm }),
    }
}

/// The best tree of depth `depth` (0, 1 or 2) for scores `gamma[a][i]` on
/// the patients `rows`, and its summed reward. Deterministic: ties go to
/// the first feature, threshold and arm.
pub(crate) fn fit(
    gamma: &[Vec<f64>],
    binned: &Binned,
    rows: &[usize],
    depth: usize,
) -> (f64, Node) {
    match depth {
        0 => {
            let (v, a) = best_leaf(gamma, rows);
            (v, Node::Leaf { action: a })
        }
        1 => depth_one(gamma, binned, rows),
        _ => depth_two(gamma, binned, rows),
    }
}

/// Depth 2: for each first feature, sweep its thresholds, moving the
/// patients of each bin from the right histograms to the left ones.
fn depth_two(gamma: &[Vec<f64>], binned: &Binned, rows: &[usize]) -> (f64, Node) {
    let k = gamma.len();
    let base = depth_one(gamma, binned, rows);
    let per_feature: Vec<Option<(f64, usize, usize)>> = (0..binned.cuts.len())
        .into_par_iter()
        .map(|j1| {
            let m = binned.cuts[j1].len();
            let mut by_bin: Vec<Vec<usize>> = vec![Vec::new(); m + 1];
            for &i in rows {
                by_bin[binned.bin[j1][i] as usize].push(i);
            }
            let mut right = histograms(gamma, binned, rows);
            let mut left: Vec<Vec<f64>> = right.iter().map(|h| vec![0.0; h.len()]).collect();
            let mut total_l = vec![0.0; k];
            let mut total_r: Vec<f64> = gamma
                .iter()
                .map(|g| rows.iter().map(|&i| g[i]).sum())
                .collect();
            let mut best: Option<(f64, usize, usize)> = None;
            for (b1, members) in by_bin.iter().enumerate().take(m) {
                for &i in members {
                    for (j2, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
                        let b = binned.bin[j2][i] as usize;
                        for (a, g) in gamma.iter().enumerate() {
                            l[b * k + a] += g[i];
                            r[b * k + a] -= g[i];
                        }
                    }
                    for (a, g) in gamma.iter().enumerate() {
                        total_l[a] += g[i];
                        total_r[a] -= g[i];
                    }
                }
                let side = |h: &[Vec<f64>], t: &[f64]| {
                    let leafv = argmax(t).0;
                    best_split(h, t, binned).map_or(leafv, |s| s.0.max(leafv))
                };
                let v = side(&left, &total_l) + side(&right, &total_r);
                if best.is_none_or(|x| v > x.0 + 1e-12) {
                    best = Some((v, j1, b1));
                }
            }
            best
        })
        .collect();
    let mut best: Option<(f64, usize, usize)> = None;
    for c in per_feature.into_iter().flatten() {
        if best.is_none_or(|x| c.0 > x.0 + 1e-12) {
            best = Some(c);
        }
    }
    match best {
        Some((v, j1, b1)) if v > base.0 + 1e-12 => {
            let (l_rows, r_rows): (Vec<usize>, Vec<usize>) = rows
                .iter()
                .partition(|&&i| binned.bin[j1][i] as usize <= b1);
            let (_, l) = depth_one(gamma, binned, &l_rows);
            let (_, r) = depth_one(gamma, binned, &r_rows);
            let node = match (&l, &r) {
                (Node::Leaf { action: a }, Node::Leaf { action: b }) if a == b => l.clone(),
                _ => Node::Split {
                    feature: j1,
                    threshold: binned.cuts[j1][b1],
                    left: Box::new(l),
                    right: Box::new(r),
                },
            };
            (v, node)
        }
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every pair of thresholds on the binned features.
    fn brute(gamma: &[Vec<f64>], binned: &Binned, rows: &[usize]) -> f64 {
        let mut best = fit(gamma, binned, rows, 1).0;
        for j1 in 0..binned.cuts.len() {
            for b1 in 0..binned.cuts[j1].len() {
                let (l, r): (Vec<usize>, Vec<usize>) = rows
                    .iter()
                    .partition(|&&i| binned.bin[j1][i] as usize <= b1);
                let v = depth_one(gamma, binned, &l).0 + depth_one(gamma, binned, &r).0;
                best = best.max(v);
            }
        }
        best
    }

    #[test]
    fn recovers_a_planted_rule_and_matches_brute_force() {
        let n = 600;
        let mut s = 11u64;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let x: Vec<Vec<f64>> = (0..4)
            .map(|_| (0..n).map(|_| (u() * 10.0).floor()).collect())
            .collect();
        // Truth: x0 <= 4 → arm 0 unless x2 > 6 → arm 2; x0 > 4 → arm 1.
        let gamma: Vec<Vec<f64>> = (0..3)
            .map(|a| {
                (0..n)
                    .map(|i| {
                        let best = if x[0][i] <= 4.0 {
                            if x[2][i] > 6.0 {
                                2
                            } else {
                                0
                            }
                        } else {
                            1
                        };
                        f64::from(u8::from(a == best)) + 0.8 * (u() - 0.5)
                    })
                    .collect()
            })
            .collect();
        let rows: Vec<usize> = (0..n).collect();
        let binned = Binned::new(&x, &rows);
        let (v, tree) = fit(&gamma, &binned, &rows, 2);
        assert!((v - brute(&gamma, &binned, &rows)).abs() < 1e-9);
        let mut used = Vec::new();
        tree.features(&mut used);
        assert_eq!(used, vec![0, 2], "{tree:?}");
        let correct = (0..n)
            .filter(|&i| {
                let want = if x[0][i] <= 4.0 {
                    if x[2][i] > 6.0 {
                        2
                    } else {
                        0
                    }
                } else {
                    1
                };
                tree.act(&|j| x[j][i]) == want
            })
            .count();
        assert_eq!(correct, n);
        // Depth 0 and 1.
        assert!(matches!(
            fit(&gamma, &binned, &rows, 0).1,
            Node::Leaf { .. }
        ));
        let (v1, t1) = fit(&gamma, &binned, &rows, 1);
        assert!(v1 < v && matches!(t1, Node::Split { feature: 0, .. }));
    }
}
