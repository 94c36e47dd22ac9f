//! The calibration test of a predicted treatment effect: the best linear
//! predictor of Chernozhukov, Demirer, Duflo & Fernández-Val ("Generic
//! machine learning inference on heterogeneous treatment effects in
//! randomized experiments", NBER WP 24678, 2018) on doubly robust scores,
//! as grf's `test_calibration` (`r-package/grf/R/forest_summary.R`) and
//! EconML's `DRTester.evaluate_blp`: OLS of `Dᵢ = Γᵢₐ − Γᵢc` on
//! `[τ̄, τ̂ᵢ − τ̄]` without intercept, HC3 standard errors (CR3,
//! `sandwich::vcovCL(type = "HC3")`, with groups), one-sided p-values from
//! the t distribution with n − 2 degrees of freedom.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// One coefficient of the test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Coefficient {
    /// The OLS coefficient.
    pub(crate) estimate: f64,
    /// Its HC3 (or CR3) standard error.
    pub(crate) se: f64,
    /// One-sided p-value for `coefficient > 0`.
    pub(crate) p_value: f64,
}

/// The calibration test of one arm's predicted advantage over control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CalibrationTest {
    /// Mean predicted advantage `τ̄`.
    pub(crate) mean_predicted_effect: f64,
    /// Coefficient of `τ̄`: 1 when the mean prediction is right.
    pub(crate) mean_prediction: Coefficient,
    /// Coefficient of `τ̂ − τ̄`: 1 when the differences between patients
    /// are right, 0 when they carry no signal.
    pub(crate) differential: Coefficient,
    /// Degrees of freedom of the t distribution (n − 2).
    pub(crate) df: usize,
    /// `HC3`, or `CR3 (G groups)` with `--group-col`.
    pub(crate) covariance: String,
}

/// One-sided p-value `P(T > t)`, T ~ t(df).
fn p_one_sided(t: f64, df: usize) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |d| d.sf(t))
}

/// The CR3 meat `Σ_g u_g u_gᵀ`, `u_g = X_gᵀ (I − H_gg)⁻¹ e_g`, computed as
/// `e_g + X_g (XᵀX − X_gᵀX_g)⁻¹ X_gᵀ e_g` (Woodbury; `XᵀX = diag(s)`), so
/// every group costs O(size); `None` when a group's system is singular.
fn cr3_meat(
    of: &[usize],
    groups: usize,
    resid: &[f64],
    tau_bar: f64,
    c: &[f64],
    s: [f64; 2],
) -> Option<[[f64; 2]; 2]> {
    let mut xtx_g = vec![[[0.0f64; 2]; 2]; groups];
    let mut xte_g = vec![[0.0f64; 2]; groups];
    for (i, &g) in of.iter().enumerate() {
        let xi = [tau_bar, c[i]];
        for r in 0..2 {
            xte_g[g][r] += xi[r] * resid[i];
            for k in 0..2 {
                xtx_g[g][r][k] += xi[r] * xi[k];
            }
        }
    }
    let mut meat = [[0.0f64; 2]; 2];
    for (a, v) in xtx_g.iter().zip(&xte_g) {
        let m = [[s[0] - a[0][0], -a[0][1]], [-a[1][0], s[1] - a[1][1]]];
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        if det.abs() <= 1e-300 {
            return None;
        }
        let w = [
            (m[1][1] * v[0] - m[0][1] * v[1]) / det,
            (-m[1][0] * v[0] + m[0][0] * v[1]) / det,
        ];
        let u = [
            v[0] + a[0][0] * w[0] + a[0][1] * w[1],
            v[1] + a[1][0] * w[0] + a[1][1] * w[1],
        ];
        for r in 0..2 {
            for k in 0..2 {
                meat[r][k] += u[r] * u[k];
            }
        }
    }
    Some(meat)
}

/// The test for scores `d` and predicted advantages `tau` (same length);
/// `clusters` gives each patient's group index `0..G`. `None` with fewer
/// than 3 patients, a mean prediction of 0 or identical predictions.
pub(crate) fn calibration_test(
    d: &[f64],
    tau: &[f64],
    clusters: Option<(&[usize], usize)>,
) -> Option<CalibrationTest> {
    let n = d.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let tau_bar = tau.iter().sum::<f64>() / nf;
    let c: Vec<f64> = tau.iter().map(|t| t - tau_bar).collect();
    // The two columns are orthogonal: XᵀX is diagonal.
    let s11 = nf * tau_bar * tau_bar;
    let s22: f64 = c.iter().map(|v| v * v).sum();
    if s11 <= 1e-300 || s22 <= 1e-300 * nf {
        return None;
    }
    let b1 = d.iter().sum::<f64>() * tau_bar / s11;
    let b2 = d.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / s22;
    let resid: Vec<f64> = d
        .iter()
        .zip(&c)
        .map(|(di, ci)| di - b1 * tau_bar - b2 * ci)
        .collect();
    let x = |i: usize| [tau_bar, c[i]];
    let inv = [1.0 / s11, 1.0 / s22];
    // meat = Σ uuᵀ; HC3: uᵢ = xᵢ eᵢ / (1 − hᵢ); CR3: u_g = X_gᵀ (I − H_gg)⁻¹ e_g.
    let mut meat = [[0.0f64; 2]; 2];
    let mut add = |u: [f64; 2]| {
        for r in 0..2 {
            for k in 0..2 {
                meat[r][k] += u[r] * u[k];
            }
        }
    };
    let covariance = match clusters {
        None => {
            for (i, &e) in resid.iter().enumerate() {
                let xi = x(i);
                let h = xi[0] * xi[0] * inv[0] + xi[1] * xi[1] * inv[1];
                let f = e / (1.0 - h);
                add([xi[0] * f, xi[1] * f]);
            }
            "HC3".to_string()
        }
        Some((of, groups)) => {
            meat = cr3_meat(of, groups, &resid, tau_bar, &c, [s11, s22])?;
            format!("CR3 ({groups} groups)")
        }
    };
    let se1 = (inv[0] * meat[0][0] * inv[0]).sqrt();
    let se2 = (inv[1] * meat[1][1] * inv[1]).sqrt();
    let df = n - 2;
    Some(CalibrationTest {
        mean_predicted_effect: tau_bar,
        mean_prediction: Coefficient {
            estimate: b1,
            se: se1,
            p_value: p_one_sided(b1 / se1, df),
        },
        differential: Coefficient {
            estimate: b2,
            se: se2,
            p_value: p_one_sided(b2 / se2, df),
        },
        df,
        covariance,
    })
}

impl CalibrationTest {
    /// One plain sentence on the differential prediction.
    pub(crate) fn verdict(&self) -> String {
        let d = &self.differential;
        if d.p_value < 0.05 {
            format!(
                "the predicted differences between patients carry signal (differential coefficient {:.2}, one-sided p = {})",
                d.estimate,
                p_text(d.p_value)
            )
        } else {
            format!(
                "no evidence that the predicted differences between patients are real (differential coefficient {:.2}, one-sided p = {})",
                d.estimate,
                p_text(d.p_value)
            )
        }
    }
}

/// A p-value for text: 3 significant digits, `< 0.0001` below that.
pub(crate) fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}
