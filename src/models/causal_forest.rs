//! Causal forest for one binary contrast (an arm against the control), as
//! in grf (Athey, Tibshirani & Wager 2019, "Generalized random forests",
//! Ann. Statist. 47:1148; Wager & Athey 2018, JASA 113:1228):
//!
//! - inputs are orthogonalised: the outcome residual Ỹ = y − m̂(x) and the
//!   treatment residual W̃ = W − ê(x), both from cross-fitted models;
//! - each tree draws half of the patients without replacement (trees come in
//!   groups of [`GROUP`] sharing one half-sample, for the little-bags
//!   variance), and splits that half again: one part chooses the splits,
//!   the other fills the leaves (honesty);
//! - a node's split maximises the heterogeneity of the effect through
//!   grf's pseudo-outcomes ρ = W̃(Ỹ − τ̂_P W̃) of the parent: the split with
//!   the largest Σ_children (Σρ)² / n_child, over `mtry` random inputs and
//!   histogram bins of each input, each child keeping `min_node` patients;
//! - a leaf stores the means of W̃Ỹ and W̃² over its estimation patients, so
//!   the forest-weighted estimate τ̂(x) = Σ_t a_t(x) / Σ_t b_t(x) is grf's
//!   Σα_i W̃_iỸ_i / Σα_i W̃_i², without keeping any patient in the bundle;
//! - the variance of τ̂(x) is the bootstrap of little bags (Sexton & Laake
//!   2009; Athey et al. 2019 §4): with ψ_t = (a_t − τ̂ b_t) / b̄, the
//!   between-group variance of the group means of ψ less the within-group
//!   variance / (GROUP − 1), floored at 0 (as grf).
//!
//! - with many inputs, a pilot forest of 200 trees chooses them: those whose
//!   depth-weighted split frequency (grf's `variable_importance`) is above
//!   the mean are kept and the forest is grown on them alone
//!   ([`CausalForest::fit_screened`]), as grf's documentation advises;
//!   the trees' inputs keep their numbers in the full input vector.
//!
//! Trees are grown in parallel from per-group seeds, so the forest is the
//! same at any thread count.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::models::cart::Binned;

/// Trees per little bag (grf's `ci.group.size` default).
pub(crate) const GROUP: usize = 2;
/// Fewest inputs a screened forest keeps (see
/// [`CausalForest::fit_screened`]). Measured: a step effect on 1 of 31
/// inputs, screened to that input alone, was estimated with 5× the squared
/// error of the forest on all 31 (every tree then cuts the same input into
/// the same narrow leaves, so the trees hardly differ).
const SCREEN_FLOOR: usize = 20;
/// Histogram bins per input for the split search.
const MAX_BINS: usize = 64;
/// Deepest tree.
const MAX_DEPTH: usize = 40;
/// grf's `alpha`: the least share of a node's treated (and of its control)
/// patients each child keeps.
const ALPHA: f64 = 0.05;

/// How the forest grows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct ForestParams {
    /// Trees (a multiple of [`GROUP`]).
    pub(crate) trees: usize,
    /// Inputs tried per split (0: grf's min(⌈√p⌉ + 20, p)).
    pub(crate) mtry: usize,
    /// Fewest split patients in a child.
    pub(crate) min_node: usize,
}

/// One honest tree in flat arrays: node `i` splits on input `split[i]`
/// (−1 for a leaf) at `value[i]` (go left when x ≤ value; the right child
/// is `left[i] + 1`); a leaf holds `value` = mean W̃Ỹ and `weight` = mean
/// W̃² over its estimation patients (both 0 when it has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CfTree {
    pub(crate) split: Vec<i32>,
    pub(crate) value: Vec<f64>,
    pub(crate) left: Vec<u32>,
    pub(crate) weight: Vec<f64>,
}

impl CfTree {
    /// The leaf's (a, b) for one patient's inputs.
    fn leaf(&self, x: &[f64]) -> (f64, f64) {
        let mut i = 0usize;
        for _ in 0..=self.split.len() {
            let f = self.split[i];
            if f < 0 {
                return (self.value[i], self.weight[i]);
            }
            let l = self.left[i] as usize;
            i = if x[f as usize] <= self.value[i] {
                l
            } else {
                l + 1
            };
        }
        (0.0, 0.0)
    }

    /// Structural checks for an edited bundle: children after their
    /// parent and inside the arrays, inputs below `p`, finite numbers.
    pub(crate) fn validate(&self, p: usize) -> std::result::Result<(), String> {
        let n = self.split.len();
        if n == 0 || self.value.len() != n || self.left.len() != n || self.weight.len() != n {
            return Err("a tree's arrays are empty or of different lengths".into());
        }
        for i in 0..n {
            if !self.value[i].is_finite() || !self.weight[i].is_finite() || self.weight[i] < 0.0 {
                return Err(format!("node {i} has a value that is not a number"));
            }
            if self.split[i] >= 0 {
                let l = self.left[i] as usize;
                if self.split[i] as usize >= p || l <= i || l + 1 >= n {
                    return Err(format!(
                        "node {i} splits on input {} or points to child {l} outside the tree",
                        self.split[i]
                    ));
                }
            }
        }
        // A leaf without estimation patients holds (0, 0); some leaf must
        // hold some, or the tree says nothing.
        let leaves = (0..n).filter(|&i| self.split[i] < 0);
        if !leaves.clone().any(|i| self.weight[i] > 0.0)
            || leaves
                .clone()
                .any(|i| self.weight[i] == 0.0 && self.value[i] != 0.0)
        {
            return Err("its leaves hold no estimation patient (every weight is 0), or a leaf of weight 0 has a value".into());
        }
        Ok(())
    }
}

/// A fitted causal forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CausalForest {
    /// How it grew.
    pub(crate) params: ForestParams,
    /// The trees, in groups of [`GROUP`].
    pub(crate) trees: Vec<CfTree>,
}

/// Orthogonalised training data of one contrast.
pub(crate) struct Residuals<'a> {
    /// Inputs (one row per patient).
    pub(crate) z: ArrayView2<'a, f64>,
    /// Ỹ = y − m̂(x).
    pub(crate) y: &'a [f64],
    /// W̃ = W − ê(x).
    pub(crate) w: &'a [f64],
    /// Each patient's cluster (`--group-col` group), when the little bags
    /// draw whole clusters; patients otherwise.
    pub(crate) clusters: Option<&'a [usize]>,
}

/// Fewest clusters the little bags can draw from: half of them per bag,
/// and half of those again for each tree's splits.
pub(crate) const MIN_CLUSTERS: usize = 4;

/// A little bag's half-sample: without clusters, half of the patients
/// (the items are patients); with clusters, half of the clusters, whole
/// (the items are clusters; grf's `clusters`, without equalising the
/// clusters' sizes). Returns the items and their patients.
fn draw_half(
    n: usize,
    units: Option<&[Vec<usize>]>,
    rng: &mut Xoshiro256PlusPlus,
) -> (Vec<usize>, Vec<usize>) {
    let mut items: Vec<usize> = (0..units.map_or(n, <[_]>::len)).collect();
    items.shuffle(rng);
    items.truncate(items.len() / 2);
    let rows = patients_of(&items, units);
    (items, rows)
}

/// One tree's honest parts of its bag: the items shuffled and halved, the
/// first half's patients choosing the splits, the second's filling the
/// leaves (with clusters, each cluster wholly in one part).
fn split_half(
    items: &[usize],
    units: Option<&[Vec<usize>]>,
    rng: &mut Xoshiro256PlusPlus,
) -> (Vec<usize>, Vec<usize>) {
    let mut sample = items.to_vec();
    sample.shuffle(rng);
    let (a, b) = sample.split_at(sample.len() / 2);
    (patients_of(a, units), patients_of(b, units))
}

/// The patients of `items`: themselves, or the clusters' patients.
fn patients_of(items: &[usize], units: Option<&[Vec<usize>]>) -> Vec<usize> {
    match units {
        None => items.to_vec(),
        Some(u) => items.iter().flat_map(|&i| u[i].iter().copied()).collect(),
    }
}

/// Each cluster's rows (clusters numbered densely in order of first
/// appearance).
fn cluster_rows(clusters: &[usize]) -> Vec<Vec<usize>> {
    let mut index = std::collections::HashMap::new();
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, &c) in clusters.iter().enumerate() {
        let u = *index.entry(c).or_insert_with(|| {
            units.push(Vec::new());
            units.len() - 1
        });
        units[u].push(i);
    }
    units
}

impl CausalForest {
    /// Grows the forest on every input.
    #[cfg(test)]
    pub(crate) fn fit(data: &Residuals, params: ForestParams, seed: u64) -> CausalForest {
        Self::fit_with_oob(data, params, seed).0
    }

    /// Grows the forest and predicts each training row from the trees whose
    /// half-sample left it out (out-of-bag; NaN when every group drew it or
    /// its leaves hold no estimation patient).
    pub(crate) fn fit_with_oob(
        data: &Residuals,
        params: ForestParams,
        seed: u64,
    ) -> (CausalForest, Vec<f64>) {
        let (n, p) = data.z.dim();
        let binned = Binned::new(data.z, MAX_BINS);
        let mtry = if params.mtry == 0 {
            (((p as f64).sqrt().ceil() as usize) + 20).min(p)
        } else {
            params.mtry.min(p)
        }
        .max(1);
        let groups = params.trees.div_ceil(GROUP);
        let units = data.clusters.map(cluster_rows);
        let grown: Vec<(Vec<bool>, Vec<CfTree>)> = (0..groups)
            .into_par_iter()
            .map(|g| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                    seed ^ (g as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                );
                let (items, half) = draw_half(n, units.as_deref(), &mut rng);
                let mut drawn = vec![false; n];
                for &i in &half {
                    drawn[i] = true;
                }
                let trees = (0..GROUP)
                    .map(|_| {
                        let (grow_part, fill) = split_half(&items, units.as_deref(), &mut rng);
                        grow_tree(
                            data,
                            &binned,
                            &grow_part,
                            &fill,
                            mtry,
                            params.min_node,
                            &mut rng,
                        )
                    })
                    .collect();
                (drawn, trees)
            })
            .collect();
        let oob: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|i| {
                let x: Vec<f64> = data.z.row(i).to_vec();
                let (mut sa, mut sb) = (0.0, 0.0);
                for (drawn, trees) in &grown {
                    if !drawn[i] {
                        for t in trees {
                            let (a, b) = t.leaf(&x);
                            sa += a;
                            sb += b;
                        }
                    }
                }
                if sb > 0.0 {
                    sa / sb
                } else {
                    f64::NAN
                }
            })
            .collect();
        let trees = grown.into_iter().flat_map(|(_, t)| t).collect();
        (CausalForest { params, trees }, oob)
    }

    /// grf's `variable_importance`: per depth 1..=4, each input's share of
    /// the splits at that depth, weighted by depth^-2 (normalised), summed
    /// (Athey et al. 2019; grf `variable_importance(decay.exponent = 2,
    /// max.depth = 4)`), for inputs `0..p`.
    pub(crate) fn importance(&self, p: usize) -> Vec<f64> {
        const DEPTH: usize = 4;
        let mut counts = vec![vec![0.0f64; p]; DEPTH];
        for t in &self.trees {
            let mut stack = vec![(0usize, 0usize)];
            while let Some((i, d)) = stack.pop() {
                let f = t.split[i];
                if f < 0 || d >= DEPTH {
                    continue;
                }
                if let Some(c) = counts[d].get_mut(f as usize) {
                    *c += 1.0;
                }
                let l = t.left[i] as usize;
                stack.push((l, d + 1));
                stack.push((l + 1, d + 1));
            }
        }
        let weights: Vec<f64> = (1..=DEPTH).map(|k| (k as f64).powi(-2)).collect();
        let total: f64 = weights.iter().sum();
        let mut out = vec![0.0; p];
        for (row, w) in counts.iter().zip(&weights) {
            let n = row.iter().sum::<f64>().max(1.0);
            for (o, c) in out.iter_mut().zip(row) {
                *o += w * c / n / total;
            }
        }
        out
    }

    /// As [`CausalForest::fit_with_oob`], on the inputs a pilot forest
    /// (200 trees, all inputs) found important: those whose
    /// [`CausalForest::importance`] exceeds the mean, as grf's
    /// documentation advises for many inputs (`varimp > mean(varimp)`,
    /// then `causal_forest` on them), but at least [`SCREEN_FLOOR`] (the
    /// most important); the trees' inputs are renumbered to `z`'s columns.
    /// Returns the kept inputs too.
    pub(crate) fn fit_screened(
        data: &Residuals,
        params: ForestParams,
        seed: u64,
    ) -> (CausalForest, Vec<f64>, Vec<usize>) {
        let p = data.z.ncols();
        let pilot = ForestParams {
            trees: params.trees.min(200),
            ..params
        };
        let (pf, _) = Self::fit_with_oob(data, pilot, seed ^ 0x5eed);
        let imp = pf.importance(p);
        let mean = imp.iter().sum::<f64>() / p.max(1) as f64;
        // The most important first (ties by input number); at least
        // SCREEN_FLOOR, so splits on a few strong inputs stay randomised.
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&i, &j| imp[j].total_cmp(&imp[i]).then(i.cmp(&j)));
        let above = order.iter().filter(|&&j| imp[j] > mean).count();
        let mut keep = order[..above.max(SCREEN_FLOOR).min(p)].to_vec();
        keep.sort_unstable();
        if keep.len() == p {
            let (f, oob) = Self::fit_with_oob(data, params, seed);
            return (f, oob, (0..p).collect());
        }
        let sub = data.z.select(ndarray::Axis(1), &keep);
        let screened = Residuals {
            z: sub.view(),
            y: data.y,
            w: data.w,
            clusters: data.clusters,
        };
        let (mut f, oob) = Self::fit_with_oob(&screened, params, seed);
        for t in &mut f.trees {
            for s in &mut t.split {
                if *s >= 0 {
                    *s = keep[*s as usize] as i32;
                }
            }
        }
        (f, oob, keep)
    }

    /// τ̂ and its little-bags variance at each row of `z`.
    pub(crate) fn predict(&self, z: ArrayView2<f64>) -> Vec<(f64, f64)> {
        let t = self.trees.len();
        let mut ab = vec![(0.0, 0.0); t];
        z.rows()
            .into_iter()
            .map(|row| {
                let x: Vec<f64> = row.to_vec();
                for (k, tree) in self.trees.iter().enumerate() {
                    ab[k] = tree.leaf(&x);
                }
                estimate(&ab)
            })
            .collect()
    }
}

/// τ̂ = Σa / Σb and the bootstrap-of-little-bags variance from per-tree
/// leaf statistics `ab` (trees in groups of [`GROUP`]).
fn estimate(ab: &[(f64, f64)]) -> (f64, f64) {
    let t = ab.len() as f64;
    let sa: f64 = ab.iter().map(|v| v.0).sum();
    let sb: f64 = ab.iter().map(|v| v.1).sum();
    if sb <= 0.0 {
        return (0.0, f64::NAN);
    }
    let tau = sa / sb;
    let bbar = sb / t;
    let psi: Vec<f64> = ab.iter().map(|(a, b)| (a - tau * b) / bbar).collect();
    let groups: Vec<&[f64]> = psi.chunks_exact(GROUP).collect();
    let g = groups.len();
    if g < 2 {
        return (tau, f64::NAN);
    }
    let means: Vec<f64> = groups
        .iter()
        .map(|c| c.iter().sum::<f64>() / GROUP as f64)
        .collect();
    let grand = means.iter().sum::<f64>() / g as f64;
    let between = means.iter().map(|m| (m - grand) * (m - grand)).sum::<f64>() / g as f64;
    let within = groups
        .iter()
        .zip(&means)
        .map(|(c, m)| c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (GROUP - 1) as f64)
        .sum::<f64>()
        / g as f64;
    (tau, (between - within / GROUP as f64).max(0.0))
}

/// Grows one honest tree: splits chosen on `grow`, leaves filled from
/// `fill`.
fn grow_tree(
    d: &Residuals,
    binned: &Binned,
    grow: &[usize],
    fill: &[usize],
    mtry: usize,
    min_node: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> CfTree {
    let mut tree = CfTree {
        split: vec![-1],
        value: vec![0.0],
        left: vec![0],
        weight: vec![0.0],
    };
    // (node, split patients, estimation patients, depth)
    let mut stack = vec![(0usize, grow.to_vec(), fill.to_vec(), 0usize)];
    let mut features: Vec<usize> = (0..binned.p).collect();
    while let Some((node, gs, fs, depth)) = stack.pop() {
        let best = if depth < MAX_DEPTH && gs.len() >= 2 * min_node {
            features.shuffle(rng);
            best_split(d, binned, &gs, &features[..mtry.min(binned.p)], min_node)
        } else {
            None
        };
        let Some((f, bin)) = best else {
            let m = fs.len().max(1) as f64;
            tree.value[node] = fs.iter().map(|&i| d.w[i] * d.y[i]).sum::<f64>() / m;
            tree.weight[node] = fs.iter().map(|&i| d.w[i] * d.w[i]).sum::<f64>() / m;
            continue;
        };
        let l = tree.split.len();
        tree.split[node] = f as i32;
        tree.value[node] = binned.thresholds[f][bin];
        tree.left[node] = l as u32;
        for _ in 0..2 {
            tree.split.push(-1);
            tree.value.push(0.0);
            tree.left.push(0);
            tree.weight.push(0.0);
        }
        let goes_left = |i: &usize| (binned.bins[f * binned.n + i] as usize) <= bin;
        let (gl, gr): (Vec<usize>, Vec<usize>) = gs.iter().partition(|i| goes_left(i));
        let (fl, fr): (Vec<usize>, Vec<usize>) = fs.iter().partition(|i| goes_left(i));
        stack.push((l + 1, gr, fr, depth + 1));
        stack.push((l, gl, fl, depth + 1));
    }
    tree
}

/// The input and bin of the split with the largest Σ (Σρ)²/n over the two
/// children, each keeping `min_node` patients; `None` when no split does.
fn best_split(
    d: &Residuals,
    binned: &Binned,
    idx: &[usize],
    features: &[usize],
    min_node: usize,
) -> Option<(usize, usize)> {
    let sww: f64 = idx.iter().map(|&i| d.w[i] * d.w[i]).sum();
    if sww <= 0.0 {
        return None;
    }
    let tau = idx.iter().map(|&i| d.w[i] * d.y[i]).sum::<f64>() / sww;
    let rho: Vec<f64> = idx
        .iter()
        .map(|&i| d.w[i] * (d.y[i] - tau * d.w[i]))
        .collect();
    let total: f64 = rho.iter().sum();
    let n = idx.len();
    let parent = total * total / n as f64;
    // grf's balance rule: each child keeps ⌈ALPHA·n⌉ treated and as many
    // control patients (treated: W̃ > 0).
    let min_child = ((ALPHA * n as f64).ceil() as usize).max(1);
    let n_treated = idx.iter().filter(|&&i| d.w[i] > 0.0).count();
    let mut best: Option<(usize, usize)> = None;
    let mut best_gain = 1e-12;
    let mut count = [0usize; 256];
    let mut treated = [0usize; 256];
    let mut sum = [0f64; 256];
    for &f in features {
        let nb = binned.thresholds[f].len() + 1;
        if nb < 2 {
            continue;
        }
        count[..nb].fill(0);
        treated[..nb].fill(0);
        sum[..nb].fill(0.0);
        let col = &binned.bins[f * binned.n..(f + 1) * binned.n];
        for (k, &i) in idx.iter().enumerate() {
            let b = col[i] as usize;
            count[b] += 1;
            treated[b] += usize::from(d.w[i] > 0.0);
            sum[b] += rho[k];
        }
        let (mut nl, mut tl, mut sl) = (0usize, 0usize, 0.0);
        for b in 0..nb - 1 {
            nl += count[b];
            tl += treated[b];
            sl += sum[b];
            let nr = n - nl;
            if nr < min_node {
                break;
            }
            let tr = n_treated - tl;
            if nl < min_node || tl.min(nl - tl).min(tr).min(nr - tr) < min_child {
                continue;
            }
            let sr = total - sl;
            let gain = sl * sl / nl as f64 + sr * sr / nr as f64 - parent;
            if gain > best_gain {
                best_gain = gain;
                best = Some((f, b));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng;

    /// The forest the tests grow.
    const PARAMS: ForestParams = ForestParams {
        trees: 400,
        mtry: 0,
        min_node: 20,
    };

    /// A randomised contrast whose effect is 0.4 when x0 > 0 and 0 else;
    /// x1 is noise.
    fn data(n: usize) -> (Array2<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let z = Array2::from_shape_fn((n, 2), |_| rng.gen_range(-1.0..1.0));
        let mut y = Vec::with_capacity(n);
        let mut w = Vec::with_capacity(n);
        for i in 0..n {
            let treat = rng.gen_bool(0.5);
            let tau = if z[[i, 0]] > 0.0 { 0.4 } else { 0.0 };
            let p = 0.3 + if treat { tau } else { 0.0 };
            let out = if rng.gen_bool(p) { 1.0 } else { 0.0 };
            // Residuals against the known m(x) and e = 0.5.
            y.push(out - (0.3 + 0.5 * tau));
            w.push(if treat { 0.5 } else { -0.5 });
        }
        (z, y, w)
    }

    #[test]
    fn recovers_a_step_effect_and_is_deterministic() {
        let (z, y, w) = data(4000);
        let d = Residuals {
            clusters: None,
            z: z.view(),
            y: &y,
            w: &w,
        };
        let params = PARAMS;
        let f = CausalForest::fit(&d, params, 7);
        assert_eq!(f, CausalForest::fit(&d, params, 7));
        // Away from the step, the truth lies in the 95% interval.
        let probe = ndarray::array![[0.6, 0.0], [-0.6, 0.0]];
        let p = f.predict(probe.view());
        for ((tau, var), truth) in p.iter().zip([0.4, 0.0]) {
            assert!(*var > 0.0 && *var < 0.01, "{p:?}");
            assert!((tau - truth).abs() < 1.96 * var.sqrt(), "{p:?}");
        }
        for t in &f.trees {
            t.validate(2).unwrap();
        }
    }

    /// With 30 noise inputs beside the step's x0, the pilot's importance
    /// ranks x0 first and keeps it among fewer inputs; the screened forest
    /// splits on kept inputs only (numbered as in the full input vector),
    /// is deterministic, and estimates the step about as well as the forest
    /// on every input.
    #[test]
    fn screening_keeps_the_effect_input() {
        let (z2, y, w) = data(4000);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let z = Array2::from_shape_fn((4000, 31), |(i, j)| match j {
            0 => z2[[i, 0]],
            _ => rng.gen_range(-1.0..1.0),
        });
        let d = Residuals {
            clusters: None,
            z: z.view(),
            y: &y,
            w: &w,
        };
        let params = PARAMS;
        let imp = CausalForest::fit(&d, params, 7).importance(31);
        assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{imp:?}");
        assert!(imp[1..].iter().all(|&v| v < imp[0]), "{imp:?}");
        let (f, oob, kept) = CausalForest::fit_screened(&d, params, 7);
        assert_eq!((f.clone(), kept.clone()), {
            let (g, _, k) = CausalForest::fit_screened(&d, params, 7);
            (g, k)
        });
        assert!(kept.contains(&0) && kept.len() == SCREEN_FLOOR, "{kept:?}");
        assert_eq!(oob.len(), 4000);
        for t in &f.trees {
            t.validate(31).unwrap();
            assert!(t
                .split
                .iter()
                .all(|&s| s < 0 || kept.contains(&(s as usize))));
        }
        let all = CausalForest::fit(&d, params, 7);
        let error = |f: &CausalForest| {
            let probe = Array2::from_shape_fn((200, 31), |(i, j)| match j {
                0 => -0.995 + 0.01 * i as f64,
                _ => 0.0,
            });
            f.predict(probe.view())
                .iter()
                .enumerate()
                .map(|(i, (t, _))| (t - if i >= 100 { 0.4 } else { 0.0 }).powi(2))
                .sum::<f64>()
        };
        // Screened to x0 alone it was 5× worse (see SCREEN_FLOOR).
        let (screened, every) = (error(&f), error(&all));
        assert!(
            screened <= 1.25 * every,
            "{screened} vs {every}, kept {kept:?}"
        );
    }

    #[test]
    fn little_bags_variance_is_zero_for_identical_trees() {
        let ab = vec![(0.2, 0.5); 8];
        let (tau, var) = estimate(&ab);
        assert!((tau - 0.4).abs() < 1e-12);
        assert_eq!(var, 0.0);
    }

    /// With clusters, a little bag holds half of the clusters, whole, and
    /// each tree's split and estimation parts hold whole clusters of it.
    #[test]
    fn cluster_bags_draw_whole_clusters() {
        let clusters: Vec<usize> = (0..60).map(|i| [7, 3, 9, 1, 4, 8][i % 6]).collect();
        let units = cluster_rows(&clusters);
        assert_eq!(units.len(), 6);
        let whole = |rows: &[usize]| {
            let mut cs: Vec<usize> = rows.iter().map(|&i| clusters[i]).collect();
            cs.sort_unstable();
            cs.dedup();
            let size: usize = cs
                .iter()
                .map(|c| clusters.iter().filter(|x| *x == c).count())
                .sum();
            assert_eq!(size, rows.len(), "a cluster split: {rows:?}");
            cs
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for _ in 0..20 {
            let (items, half) = draw_half(60, Some(&units), &mut rng);
            assert_eq!(whole(&half).len(), 3);
            let (a, b) = split_half(&items, Some(&units), &mut rng);
            let (ca, cb) = (whole(&a), whole(&b));
            assert_eq!((ca.len(), cb.len()), (1, 2));
            assert!(ca.iter().all(|c| !cb.contains(c)));
        }
        // The forest: deterministic, and not the patient-bagged one.
        let (z, y, w) = data(400);
        let of: Vec<usize> = (0..400).map(|i| i % 8).collect();
        let with = |c: Option<&[usize]>| {
            let d = Residuals {
                z: z.view(),
                y: &y,
                w: &w,
                clusters: c,
            };
            let p = ForestParams {
                trees: 40,
                mtry: 0,
                min_node: 5,
            };
            CausalForest::fit_with_oob(&d, p, 4)
        };
        let (a, oob) = with(Some(&of));
        assert_eq!(a, with(Some(&of)).0);
        assert_ne!(a, with(None).0);
        assert!(oob.iter().filter(|v| v.is_finite()).count() > 390);
    }
}
