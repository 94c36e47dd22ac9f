//! The smoothed calibration curve: a loess regression of the outcome on the
//! predicted probability (span 0.75, local quadratic, tricube weights: R's
//! `loess(y ~ p)` defaults with `surface = "direct"`), its pointwise 95 %
//! band, and the calibration errors of Austin & Steyerberg (Stat Med
//! 2019;38:4051–65): ICI (= E-avg of `CalibrationCurves::val.prob.ci.2`),
//! E50, E90 and E-max, the mean, median, 90th percentile and maximum of
//! `|p − f(p)|` over the patients.
//!
//! Checked against R (`bench/calibration_reference.R`, fixtures in
//! `tests/fixtures/calibration/`). Hand-written: no maintained Rust crate
//! does weighted local quadratic regression with its smoother-matrix
//! statistics (the `lowess` crates fit local lines with robustness
//! iterations, which is a different estimator).

use serde::Serialize;

use crate::stats::{quantile_sorted, Z95};

/// R's default span: each local fit uses the nearest 75 % of the patients.
const SPAN: f64 = 0.75;
/// Up to this many patients every fit is exact; above, fits are made at
/// [`GRID`] quantiles of the predictions and interpolated linearly (the
/// curve is smooth at this size; the statistics are averaged over the grid).
const EXACT_MAX: usize = 5000;
/// Fit points used above [`EXACT_MAX`].
const GRID: usize = 400;
/// Points of the reported curve.
const CURVE_POINTS: usize = 50;
/// Fewest patients (and distinct predictions: 4) for a smoothed curve.
const MIN_PATIENTS: usize = 10;

/// One point of the smoothed calibration curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct SmoothPoint {
    /// The predicted probability.
    pub(crate) predicted: f64,
    /// The loess estimate of the observed share of responders there.
    pub(crate) observed: f64,
    /// Lower end of the pointwise 95 % band (`observed − 1.96 · se`).
    pub(crate) ci_low: f64,
    /// Upper end of the pointwise 95 % band.
    pub(crate) ci_high: f64,
}

/// The smoothed calibration curve and its calibration errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SmoothCalibration {
    /// How the curve was made.
    pub(crate) method: String,
    /// Integrated calibration index: mean `|p − f(p)|` (E-avg).
    pub(crate) ici: f64,
    /// Median `|p − f(p)|`.
    pub(crate) e50: f64,
    /// 90th percentile of `|p − f(p)|`.
    pub(crate) e90: f64,
    /// Largest `|p − f(p)|`.
    pub(crate) emax: f64,
    /// The curve at evenly spaced predictions from the lowest to the highest.
    pub(crate) curve: Vec<SmoothPoint>,
}

/// A local fit at one point: the estimate, the squared norm of its row of
/// the smoother matrix and its diagonal element (the weight of an
/// observation at the point itself in its own fit).
#[derive(Debug, Clone, Copy)]
struct LocalFit {
    value: f64,
    norm2: f64,
    diag: f64,
}

/// Sorted predictions and outcomes.
struct Sorted {
    x: Vec<f64>,
    y: Vec<f64>,
    q: usize,
}

impl Sorted {
    /// The distance from `x0` to its `q`-th nearest prediction and the
    /// window `[lo, hi)` of the `q` nearest (ties at the edge included).
    fn window(&self, x0: f64) -> (usize, usize, f64) {
        let n = self.x.len();
        let mut lo = self.x.partition_point(|&v| v < x0);
        let mut hi = lo;
        while hi - lo < self.q {
            let left = (lo > 0).then(|| x0 - self.x[lo - 1]);
            let right = (hi < n).then(|| self.x[hi] - x0);
            match (left, right) {
                (Some(l), Some(r)) if l <= r => lo -= 1,
                (Some(_), None) => lo -= 1,
                _ => hi += 1,
            }
        }
        let h = (x0 - self.x[lo]).max(self.x[hi - 1] - x0);
        // Points tied with the window's edge have weight 0 at distance h,
        // so they need not be added.
        (lo, hi, h)
    }

    /// The local quadratic fit at `x0` (local linear, then local constant,
    /// where the neighbourhood has too few distinct values).
    fn fit(&self, x0: f64) -> Option<LocalFit> {
        let (lo, hi, h) = self.window(x0);
        if h <= 0.0 {
            return None;
        }
        let xs = &self.x[lo..hi];
        let ys = &self.y[lo..hi];
        let w: Vec<f64> = xs
            .iter()
            .map(|&v| {
                let d = ((v - x0) / h).abs();
                if d < 1.0 {
                    (1.0 - d * d * d).powi(3)
                } else {
                    0.0
                }
            })
            .collect();
        (1..=3).rev().find_map(|k| local_fit(xs, ys, &w, x0, h, k))
    }
}

/// Weighted least squares on `k` basis functions `1, u, u²` (`u = (x −
/// x0)/h`); `None` when the normal equations are singular.
fn local_fit(xs: &[f64], ys: &[f64], w: &[f64], x0: f64, h: f64, k: usize) -> Option<LocalFit> {
    let basis = |v: f64| {
        let u = (v - x0) / h;
        [1.0, u, u * u]
    };
    let mut a = [[0.0f64; 3]; 3];
    for (&v, &wi) in xs.iter().zip(w) {
        let b = basis(v);
        for r in 0..k {
            for c in 0..k {
                a[r][c] += wi * b[r] * b[c];
            }
        }
    }
    // First row of A⁻¹ by Gaussian elimination: solve A z = e1 (A is
    // symmetric, so the fit's row of the smoother matrix is w_j · zᵀ b_j).
    let z = solve(a, k)?;
    let (mut value, mut norm2) = (0.0, 0.0);
    for ((&v, &yi), &wi) in xs.iter().zip(ys).zip(w) {
        let b = basis(v);
        let l = wi * (0..k).map(|r| z[r] * b[r]).sum::<f64>();
        value += l * yi;
        norm2 += l * l;
    }
    Some(LocalFit {
        value,
        norm2,
        diag: z[0],
    })
}

/// Solves `A z = e1` for the leading `k × k` block; `None` when singular.
fn solve(mut a: [[f64; 3]; 3], k: usize) -> Option<[f64; 3]> {
    let mut rhs = [1.0, 0.0, 0.0];
    let scale = (0..k).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    for col in 0..k {
        let piv = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() <= 1e-10 * scale {
            return None;
        }
        a.swap(col, piv);
        rhs.swap(col, piv);
        for r in col + 1..k {
            let f = a[r][col] / a[col][col];
            let pivot_row = a[col];
            for (c, v) in a[r].iter_mut().enumerate().take(k).skip(col) {
                *v -= f * pivot_row[c];
            }
            rhs[r] -= f * rhs[col];
        }
    }
    let mut z = [0.0; 3];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|c| a[r][c] * z[c]).sum();
        z[r] = (rhs[r] - s) / a[r][r];
    }
    Some(z)
}

/// Linear interpolation of `(xs, vs)` (xs increasing) at `x`.
fn interpolate(xs: &[f64], vs: &[f64], x: f64) -> f64 {
    let j = xs.partition_point(|&g| g < x);
    if j == 0 {
        return vs[0];
    }
    if j == xs.len() {
        return vs[j - 1];
    }
    let (x0, x1) = (xs[j - 1], xs[j]);
    let t = if x1 > x0 { (x - x0) / (x1 - x0) } else { 1.0 };
    vs[j - 1] + t * (vs[j] - vs[j - 1])
}

/// The smoothed calibration curve of predictions `p` for outcomes `y`;
/// `None` with fewer than 10 patients, fewer than 4 distinct predictions,
/// one class only, or a neighbourhood of tied predictions.
pub(crate) fn smooth_calibration(p: &[f64], y: &[bool]) -> Option<SmoothCalibration> {
    let n = p.len();
    let pos = y.iter().filter(|&&v| v).count();
    if n < MIN_PATIENTS || pos == 0 || pos == n || p.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let x: Vec<f64> = order.iter().map(|&i| p[i]).collect();
    if x.windows(2).filter(|w| w[1] > w[0]).count() < 3 {
        return None;
    }
    let s = Sorted {
        y: order.iter().map(|&i| f64::from(u8::from(y[i]))).collect(),
        q: ((n as f64 * SPAN).floor() as usize).clamp(1, n),
        x,
    };
    // Fits at every patient (exact) or at a quantile grid.
    let exact = n <= EXACT_MAX;
    let at: Vec<f64> = if exact {
        s.x.clone()
    } else {
        (0..GRID).map(|g| s.x[g * (n - 1) / (GRID - 1)]).collect()
    };
    let fits: Vec<LocalFit> = at.iter().map(|&x0| s.fit(x0)).collect::<Option<_>>()?;
    let fitted: Vec<f64> = if exact {
        fits.iter().map(|f| f.value).collect()
    } else {
        let values: Vec<f64> = fits.iter().map(|f| f.value).collect();
        s.x.iter().map(|&v| interpolate(&at, &values, v)).collect()
    };
    // Residual scale s² = RSS / δ₁, δ₁ = tr((I − L)ᵀ(I − L)) = n − 2 tr L +
    // tr LᵀL (Cleveland & Grosse 1991; R's `one.delta` with exact
    // statistics); above EXACT_MAX, tr L and tr LᵀL from the grid's mean.
    let m = fits.len() as f64;
    let tr_l = fits.iter().map(|f| f.diag).sum::<f64>() * n as f64 / m;
    let tr_ll = fits.iter().map(|f| f.norm2).sum::<f64>() * n as f64 / m;
    let one_delta = n as f64 - 2.0 * tr_l + tr_ll;
    let rss: f64 = s.y.iter().zip(&fitted).map(|(a, b)| (a - b).powi(2)).sum();
    let scale = if one_delta > 0.0 {
        (rss / one_delta).sqrt()
    } else {
        f64::NAN
    };
    let mut d: Vec<f64> =
        s.x.iter()
            .zip(&fitted)
            .map(|(a, b)| (a - b).abs())
            .collect();
    d.sort_by(f64::total_cmp);
    let (lo, hi) = (s.x[0], s.x[n - 1]);
    let curve = (0..CURVE_POINTS)
        .filter_map(|k| {
            let x0 = lo + (hi - lo) * k as f64 / (CURVE_POINTS - 1) as f64;
            let f = s.fit(x0)?;
            let half = Z95 * scale * f.norm2.sqrt();
            Some(SmoothPoint {
                predicted: x0,
                observed: f.value,
                ci_low: f.value - half,
                ci_high: f.value + half,
            })
        })
        .collect();
    Some(SmoothCalibration {
        method: format!(
            "loess (span {SPAN}, degree 2, tricube weights{}); pointwise 95% band ±1.96 se",
            if exact {
                String::new()
            } else {
                format!(", fitted at {GRID} quantiles and interpolated")
            }
        ),
        ici: d.iter().sum::<f64>() / n as f64,
        e50: quantile_sorted(&d, 0.5),
        e90: quantile_sorted(&d, 0.9),
        emax: d[n - 1],
        curve,
    })
}

/// The fit and its standard error at `x0` (tests against R's `predict`).
#[cfg(test)]
fn fit_with_se(p: &[f64], y: &[bool], x0: f64) -> Option<(f64, f64)> {
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let s = Sorted {
        x: order.iter().map(|&i| p[i]).collect(),
        y: order.iter().map(|&i| f64::from(u8::from(y[i]))).collect(),
        q: ((n as f64 * SPAN).floor() as usize).clamp(1, n),
    };
    let fits: Vec<LocalFit> = s.x.iter().map(|&v| s.fit(v)).collect::<Option<_>>()?;
    let tr_l: f64 = fits.iter().map(|f| f.diag).sum();
    let tr_ll: f64 = fits.iter().map(|f| f.norm2).sum();
    let rss: f64 =
        s.y.iter()
            .zip(&fits)
            .map(|(a, f)| (a - f.value).powi(2))
            .sum();
    let scale = (rss / (n as f64 - 2.0 * tr_l + tr_ll)).sqrt();
    let f = s.fit(x0)?;
    Some((f.value, scale * f.norm2.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn case(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/calibration")
            .join(format!("{name}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    }

    #[test]
    fn matches_r_loess_direct_exact() {
        for name in ["miscalibrated_300", "ties_60", "underfit_2500"] {
            let c = case(name);
            let p = floats(&c["p"]);
            let y: Vec<bool> = floats(&c["y"]).iter().map(|&v| v == 1.0).collect();
            let s = smooth_calibration(&p, &y).unwrap();
            for key in ["ici", "e50", "e90", "emax"] {
                let want = c[key].as_f64().unwrap();
                let got = match key {
                    "ici" => s.ici,
                    "e50" => s.e50,
                    "e90" => s.e90,
                    _ => s.emax,
                };
                assert!((got - want).abs() < 1e-9, "{name} {key}: {got} vs R {want}");
            }
            for (x0, (want_fit, want_se)) in floats(&c["grid"]).iter().zip(
                floats(&c["grid_fit"])
                    .into_iter()
                    .zip(floats(&c["grid_se"])),
            ) {
                let (fit, se) = fit_with_se(&p, &y, *x0).unwrap();
                assert!(
                    (fit - want_fit).abs() < 1e-9,
                    "{name} fit at {x0}: {fit} vs {want_fit}"
                );
                assert!(
                    (se - want_se).abs() < 1e-9,
                    "{name} se at {x0}: {se} vs {want_se}"
                );
            }
            assert_eq!(s.curve.len(), CURVE_POINTS);
            assert!(s
                .curve
                .iter()
                .all(|pt| pt.ci_low < pt.observed && pt.observed < pt.ci_high));
        }
    }

    #[test]
    fn large_samples_use_the_grid_close_to_exact() {
        // 12,000 patients, miscalibrated: the interpolated grid gives the
        // exact fit's ICI to well under 1e-3 (exact computed on a subset of
        // the same size would differ more than this from sampling alone).
        let n = 12_000;
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let p: Vec<f64> = (0..n).map(|_| 0.05 + 0.9 * next()).collect();
        let y: Vec<bool> = p.iter().map(|&v| next() < 0.5 * v + 0.2).collect();
        let s = smooth_calibration(&p, &y).unwrap();
        assert!(s.method.contains("interpolated"));
        // The truth is f(p) = 0.5 p + 0.2: E|p − f(p)| = E|0.5 p − 0.2|.
        let truth = p.iter().map(|&v| (0.5 * v - 0.2).abs()).sum::<f64>() / n as f64;
        assert!((s.ici - truth).abs() < 0.01, "{} vs {truth}", s.ici);
    }

    #[test]
    fn too_little_to_smooth() {
        assert!(smooth_calibration(&[0.2; 30], &[true; 30]).is_none());
        let p: Vec<f64> = (0..30).map(|i| f64::from(i % 3) / 4.0).collect();
        let y: Vec<bool> = (0..30).map(|i| i % 2 == 0).collect();
        assert!(smooth_calibration(&p, &y).is_none());
        assert!(smooth_calibration(&p[..5], &y[..5]).is_none());
    }
}
