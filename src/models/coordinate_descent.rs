//! Squared-error elastic net by cyclic coordinate descent: the algorithm of
//! linfa-elasticnet 0.8 (scikit-learn's `ElasticNet`: Friedman, Hastie &
//! Tibshirani 2010, J Stat Softw 33(1), with the duality-gap stopping rule),
//! step for step and with the same floating-point operations, so the
//! weights are bit-identical to linfa's (a unit test compares them).
//!
//! Why not linfa-elasticnet itself: its `fit` also computes every
//! parameter's variance through a QR inverse of the p × p matrix XᵀX
//! (O(n·p²), unvectorised), which nothing here reads. Measured on a
//! `simulate` cohort of 5,000 patients × 1,000 SNPs (train 4,000,
//! `--strategy dr-learner --algorithm lasso --replicates 0`, 2 cores): 240 s
//! with linfa-elasticnet for the final stage, most of it in that inverse;
//! 54 s with this module reading strided columns, 18.8 s with contiguous
//! ones (the same bundle, byte for byte). The DR- and X-learner's final
//! stage reads its row-major inputs as column-major ([`Design::column_major`]:
//! linfa's fit of the column-major copy, with unrolled sums), made once per
//! fold for a warm-started path of penalties (README, Implementation notes,
//! has the times).

use ndarray::{s, Array1, ArrayView1, ArrayView2, Axis};

/// A fitted squared-error elastic net.
pub(crate) struct Gaussian {
    /// The intercept: the mean of the outcome (the inputs are not centred,
    /// as in linfa-elasticnet).
    pub(crate) intercept: f64,
    /// One weight per input.
    pub(crate) weights: Array1<f64>,
    /// Coordinate sweeps done.
    pub(crate) steps: u32,
}

/// `abs_diff_eq!(v, 0.0)` of the approx crate with its default epsilon.
fn is_zero(v: f64) -> bool {
    v.abs() <= f64::EPSILON
}

/// Minimises ‖y − b − Xw‖²/(2n) + α·(ρ‖w‖₁ + (1 − ρ)/2·‖w‖²) with b the
/// mean of `y`; `None` for no rows or a `y` of another length. The callers
/// check the rest (finite inputs, α > 0, ρ in [0, 1], tol > 0).
pub(crate) fn elastic_net(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    alpha: f64,
    l1_ratio: f64,
    tol: f64,
    max_steps: u32,
) -> Option<Gaussian> {
    elastic_net_from(&Design::new(x), y, alpha, l1_ratio, tol, max_steps, None)
}

/// The inputs as the sweeps read them: each column contiguous, with its
/// squared norm. Their dot products with the residuals keep the summation
/// order ndarray gives the view's own columns (sequential when strided,
/// unrolled when contiguous), so the result does not change. Made once, it
/// serves every penalty of a path.
pub(crate) struct Design {
    columns: Vec<Array1<f64>>,
    norm_cols: Array1<f64>,
    strided: bool,
    nrows: usize,
}

impl Design {
    /// The columns of `x`, summed as ndarray sums `x`'s own columns.
    pub(crate) fn new(x: ArrayView2<f64>) -> Design {
        Design {
            columns: x.columns().into_iter().map(|c| c.to_owned()).collect(),
            norm_cols: x.map_axis(Axis(0), |col| col.dot(&col)),
            strided: x.ncols() > 0 && x.slice(s![.., 0]).as_slice().is_none(),
            nrows: x.nrows(),
        }
    }

    /// The columns of `x`, summed as ndarray sums contiguous columns
    /// (unrolled) whatever `x`'s layout: the fit is then the one linfa
    /// makes of `x` stored column-major (a unit test checks it), and its
    /// sums are not one long chain of dependent additions. Measured on the
    /// DR-learner's final stage, which reads a row-major matrix: see
    /// README, Implementation notes.
    pub(crate) fn column_major(x: ArrayView2<f64>) -> Design {
        let columns: Vec<Array1<f64>> = x.columns().into_iter().map(|c| c.to_owned()).collect();
        Design {
            norm_cols: columns.iter().map(|c| c.dot(c)).collect(),
            columns,
            strided: false,
            nrows: x.nrows(),
        }
    }
}

/// [`elastic_net`] on a prepared [`Design`], with the sweeps started at the
/// weights `start` (a warm start along a path of penalties, as
/// scikit-learn's `enet_path` and glmnet do) instead of zeros: the same
/// minimum within the tolerance, in fewer sweeps when `start` is near it.
/// `None` as in [`elastic_net`], or for a `start` of another length.
/// Without `start` it is [`elastic_net`].
pub(crate) fn elastic_net_from(
    x: &Design,
    y: ArrayView1<f64>,
    alpha: f64,
    l1_ratio: f64,
    tol: f64,
    max_steps: u32,
    start: Option<ArrayView1<f64>>,
) -> Option<Gaussian> {
    let p = x.columns.len();
    if x.nrows != y.len() || start.is_some_and(|w| w.len() != p) {
        return None;
    }
    let y_mean = y.mean_axis(Axis(0))?;
    let yc = &y - &y_mean.view().insert_axis(Axis(0));
    let mut steps = 0u32;
    let d_w_tol = tol;
    let tol = tol * yc.dot(&yc);
    let mut cd = Sweeps {
        x,
        // The residuals leave out the weights the sweeps treat as zero.
        w: start.map_or_else(|| Array1::<f64>::zeros(p), |w| w.to_owned()),
        r: yc.clone(),
        l1: x.nrows as f64 * l1_ratio * alpha,
        l2: x.nrows as f64 * (1.0 - l1_ratio) * alpha,
    };
    for j in 0..p {
        if !is_zero(cd.w[j]) {
            cd.r.scaled_add(-cd.w[j], &x.columns[j]);
        }
    }
    while steps < max_steps {
        let (w_max, d_w_max) = cd.sweep();
        steps += 1;
        if steps == max_steps - 1 || is_zero(w_max) || d_w_max / w_max < d_w_tol {
            // Xᵀr as ndarray's matrix-vector product computes it (each
            // entry one column's dot product with r, times 1), from the
            // contiguous columns: strided, it was most of a wide fit's time.
            let xtr: Array1<f64> = x.columns.iter().map(|c| cd.dot(c)).collect();
            if duality_gap(
                x.nrows,
                xtr,
                yc.view(),
                cd.w.view(),
                cd.r.view(),
                l1_ratio,
                alpha,
            ) < tol
            {
                break;
            }
        }
    }
    Some(Gaussian {
        intercept: y_mean.into_scalar(),
        weights: cd.w,
        steps,
    })
}

/// The state of the coordinate sweeps.
struct Sweeps<'a> {
    x: &'a Design,
    w: Array1<f64>,
    r: Array1<f64>,
    /// n·ρ·α and n·(1 − ρ)·α.
    l1: f64,
    l2: f64,
}

impl Sweeps<'_> {
    /// `c · r` (see [`column_dot`]).
    fn dot(&self, c: &Array1<f64>) -> f64 {
        column_dot(self.x.strided, c, &self.r)
    }

    /// One coordinate update of every input, in order; the largest weight
    /// and the largest change.
    fn sweep(&mut self) -> (f64, f64) {
        let mut w_max = 0.0f64;
        let mut d_w_max = 0.0f64;
        for (j, x_j) in self.x.columns.iter().enumerate() {
            if is_zero(self.x.norm_cols[j]) {
                continue;
            }
            let old = self.w[j];
            if !is_zero(old) {
                self.r.scaled_add(old, x_j);
            }
            let tmp = column_dot(self.x.strided, x_j, &self.r);
            self.w[j] =
                tmp.signum() * f64::max(tmp.abs() - self.l1, 0.0) / (self.x.norm_cols[j] + self.l2);
            if !is_zero(self.w[j]) {
                self.r.scaled_add(-self.w[j], x_j);
            }
            d_w_max = f64::max(d_w_max, (self.w[j] - old).abs());
            w_max = f64::max(w_max, self.w[j].abs());
        }
        (w_max, d_w_max)
    }
}

/// `c · r` summed as ndarray sums a column of the caller's matrix:
/// one by one when that column was strided, unrolled when contiguous.
fn column_dot(strided: bool, c: &Array1<f64>, r: &Array1<f64>) -> f64 {
    if strided {
        let mut sum = 0.0;
        for (a, b) in c.iter().zip(r) {
            sum += a * b;
        }
        sum
    } else {
        c.dot(r)
    }
}

/// The duality gap of the elastic-net problem at `w` with residuals `r`
/// and `xtr` = Xᵀr, for `n` rows (as linfa-elasticnet and scikit-learn
/// compute it).
fn duality_gap(
    n: usize,
    xtr: Array1<f64>,
    y: ArrayView1<f64>,
    w: ArrayView1<f64>,
    r: ArrayView1<f64>,
    l1_ratio: f64,
    alpha: f64,
) -> f64 {
    let n_samples = n as f64;
    let l1_reg = l1_ratio * alpha * n_samples;
    let l2_reg = (1.0 - l1_ratio) * alpha * n_samples;
    let xta = xtr - &w * l2_reg;
    let dual_norm = xta.iter().fold(0.0f64, |f, &v| v.abs().max(f));
    let r_norm2 = r.dot(&r);
    let w_norm2 = w.dot(&w);
    let (c, mut gap) = if dual_norm > l1_reg {
        let c = l1_reg / dual_norm;
        (c, 0.5 * (r_norm2 + r_norm2 * c * c))
    } else {
        (1.0, r_norm2)
    };
    let l1_norm: f64 = w.iter().map(|v| v.abs()).sum();
    gap += l1_reg * l1_norm - c * r.dot(&y) + 0.5 * l2_reg * (1.0 + c * c) * w_norm2;
    gap
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_elasticnet::ElasticNet;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Bit-identical to linfa-elasticnet on random problems: row-major
    /// (strided columns) and column-major (contiguous) inputs, one input,
    /// several penalties and mixes, and iteration limits of 1 and 3 (that
    /// stop at the limit) as well as converged fits.
    #[test]
    fn matches_linfa_elasticnet_bit_for_bit() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        for &(n, p, column_major) in &[
            (60, 8, false),
            (200, 30, false),
            (40, 60, false),
            (120, 12, true),
            (50, 1, false),
        ] {
            let x = if column_major {
                Array2::from_shape_fn((p, n), |_| rng.gen_range(-2.0..2.0)).reversed_axes()
            } else {
                Array2::from_shape_fn((n, p), |_| rng.gen_range(-2.0..2.0))
            };
            assert_eq!(column_major, x.column(0).as_slice().is_some() && p > 1);
            let y: Array1<f64> = (0..n)
                .map(|i| x[[i, 0]] - 0.5 * x[[i, p.min(2) - 1]] + rng.gen_range(-1.0..1.0))
                .collect();
            for &(alpha, l1, tol, steps) in &[
                (0.001, 1.0, 1e-5, 2000),
                (0.05, 1.0, 1e-5, 2000),
                (0.02, 0.5, 1e-4, 1000),
                (0.001, 1.0, 1e-12, 3),
                (0.001, 1.0, 1e-12, 1),
            ] {
                let ours = elastic_net(x.view(), y.view(), alpha, l1, tol, steps).unwrap();
                let theirs = ElasticNet::params()
                    .penalty(alpha)
                    .l1_ratio(l1)
                    .max_iterations(steps)
                    .tolerance(tol)
                    .fit(&DatasetBase::new(x.view(), y.view()))
                    .unwrap();
                assert_eq!(ours.intercept.to_bits(), theirs.intercept().to_bits());
                assert_eq!(ours.steps, theirs.n_steps());
                assert_eq!(ours.weights.len(), theirs.hyperplane().len());
                for (a, b) in ours.weights.iter().zip(theirs.hyperplane()) {
                    assert_eq!(a.to_bits(), b.to_bits(), "n {n} p {p} alpha {alpha}");
                }
            }
        }
    }

    /// A warm start from zeros is the cold fit bit for bit; one from the
    /// solution at a larger penalty reaches the cold fit's minimum (the
    /// objective within the stopping tolerance, fitted values within 0.01
    /// root mean square with more inputs than rows) in fewer sweeps (859
    /// against 1,410 here, most of it at the smallest penalty).
    #[test]
    fn warm_starts_reach_the_cold_minimum_in_fewer_sweeps() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let (n, p) = (150, 200);
        let x = Array2::from_shape_fn((n, p), |_| rng.gen_range(-2.0..2.0));
        let y: Array1<f64> = (0..n)
            .map(|i| x[[i, 0]] - 0.5 * x[[i, 7]] + 0.3 * x[[i, 9]] + rng.gen_range(-1.0..1.0))
            .collect();
        let objective = |m: &Gaussian, alpha: f64| {
            let r = &y - m.intercept - x.dot(&m.weights);
            r.dot(&r) / (2.0 * n as f64) + alpha * m.weights.iter().map(|w| w.abs()).sum::<f64>()
        };
        let design = Design::new(x.view());
        let fit = |alpha, start: Option<ArrayView1<f64>>| {
            elastic_net_from(&design, y.view(), alpha, 1.0, 1e-5, 2000, start).unwrap()
        };
        let zeros = Array1::<f64>::zeros(p);
        let mut prev: Option<Gaussian> = None;
        let (mut cold_steps, mut warm_steps) = (0, 0);
        for &alpha in &[0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002] {
            let cold = elastic_net(x.view(), y.view(), alpha, 1.0, 1e-5, 2000).unwrap();
            let z = fit(alpha, Some(zeros.view()));
            assert_eq!(z.steps, cold.steps);
            assert!(z
                .weights
                .iter()
                .zip(&cold.weights)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            let warm = fit(alpha, prev.as_ref().map(|m| m.weights.view()));
            let (oc, ow) = (objective(&cold, alpha), objective(&warm, alpha));
            assert!(
                (oc - ow).abs() <= 1e-5 * y.var(0.0) * 2.0,
                "alpha {alpha}: {oc} {ow}"
            );
            let d = x.dot(&(&warm.weights - &cold.weights));
            let rms = (d.dot(&d) / n as f64).sqrt();
            assert!(rms < 1e-2, "alpha {alpha}: fitted values differ by {rms}");
            cold_steps += cold.steps;
            warm_steps += warm.steps;
            prev = Some(warm);
        }
        assert_eq!((warm_steps, cold_steps), (859, 1410));
        let short = Array1::<f64>::zeros(p - 1);
        let bad = elastic_net_from(&design, y.view(), 0.1, 1.0, 1e-5, 10, Some(short.view()));
        assert!(bad.is_none());
    }

    /// A row-major matrix read as column-major fits bit for bit as its
    /// column-major copy does (which `matches_linfa_elasticnet_bit_for_bit`
    /// ties to linfa).
    #[test]
    fn column_major_design_fits_as_a_column_major_copy() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let (n, p) = (90, 40);
        let x = Array2::from_shape_fn((n, p), |_| rng.gen_range(-2.0..2.0));
        let copy = x.t().as_standard_layout().into_owned().reversed_axes();
        assert!(copy.column(0).as_slice().is_some() && x.column(0).as_slice().is_none());
        let y: Array1<f64> = (0..n)
            .map(|i| x[[i, 3]] + rng.gen_range(-1.0..1.0))
            .collect();
        for alpha in [0.002, 0.05] {
            let a = elastic_net_from(
                &Design::column_major(x.view()),
                y.view(),
                alpha,
                1.0,
                1e-5,
                2000,
                None,
            );
            let b = elastic_net(copy.view(), y.view(), alpha, 1.0, 1e-5, 2000);
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.steps, b.steps);
            assert!(a
                .weights
                .iter()
                .zip(&b.weights)
                .all(|(u, v)| u.to_bits() == v.to_bits()));
        }
    }

    #[test]
    fn no_rows_or_a_wrong_length_is_none() {
        let x = Array2::<f64>::zeros((0, 3));
        let y = Array1::<f64>::zeros(0);
        assert!(elastic_net(x.view(), y.view(), 0.1, 1.0, 1e-4, 10).is_none());
        let x = Array2::<f64>::ones((4, 2));
        let y = Array1::<f64>::zeros(3);
        assert!(elastic_net(x.view(), y.view(), 0.1, 1.0, 1e-4, 10).is_none());
    }
}
