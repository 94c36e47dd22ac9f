//! Minimum sample size for developing a binary-outcome prediction model
//! (Riley et al., BMJ 2020;368:m441, and Stat Med 2019;38:1276; the
//! criteria of the R package `pmsampsize`): enough patients for
//! (1) expected shrinkage ≥ 0.9, (2) optimism in Nagelkerke's R² ≤ 0.05,
//! (3) the overall risk estimated within ±0.05. Checked against
//! `bench/sample_size_reference.py` (fixture
//! `tests/fixtures/validation/pmsampsize_examples.json`).

use serde::{Deserialize, Serialize};

/// Target expected shrinkage (criterion 1).
pub(crate) const SHRINKAGE: f64 = 0.9;
/// Largest acceptable optimism in Nagelkerke's R² (criterion 2).
pub(crate) const DELTA: f64 = 0.05;
/// Margin of error of the overall risk (criterion 3).
pub(crate) const MARGIN: f64 = 0.05;
/// The normal quantile criterion 3 uses (pmsampsize: 1.96).
const Z: f64 = 1.96;

/// The sample-size calculation for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SampleSize {
    /// Candidate predictor parameters (model inputs).
    pub(crate) parameters: usize,
    /// Outcome prevalence among the training patients.
    pub(crate) prevalence: f64,
    /// The C-statistic the anticipated R² comes from (cross-validated).
    pub(crate) c_statistic: f64,
    /// Anticipated Cox-Snell R², from the C-statistic (Riley et al. 2022's
    /// approximation, as `pmsampsize`'s `cstatistic`), 4 decimals.
    pub(crate) r2_cs: f64,
    /// The shrinkage criterion 1 targets, or criterion 2's when larger.
    pub(crate) shrinkage: f64,
    /// Patients for expected shrinkage ≥ 0.9.
    pub(crate) n_criterion_1: u64,
    /// Patients for optimism in Nagelkerke's R² ≤ 0.05.
    pub(crate) n_criterion_2: u64,
    /// Patients for the overall risk within ±0.05.
    pub(crate) n_criterion_3: u64,
    /// The largest of the three.
    pub(crate) n_required: u64,
    /// Patients available.
    pub(crate) n_available: usize,
}

impl SampleSize {
    /// Whether the data meet every criterion.
    pub(crate) fn met(&self) -> bool {
        self.n_available as u64 >= self.n_required
    }
}

/// The largest Cox-Snell R² a model can reach at prevalence `phi`:
/// `1 − (φ^φ (1−φ)^(1−φ))²` (Riley et al. 2020, eq. 6).
pub(crate) fn max_r2cs(phi: f64) -> f64 {
    1.0 - (2.0 * (phi * phi.ln() + (1.0 - phi) * (1.0 - phi).ln())).exp()
}

/// Patients for expected shrinkage `s` with `p` parameters and Cox-Snell
/// R² `r2`: `p / ((s − 1) ln(1 − r2/s))` (Riley et al. 2019, eq. 11).
fn n_for_shrinkage(p: usize, r2: f64, s: f64) -> u64 {
    (p as f64 / ((s - 1.0) * (1.0 - r2 / s).ln())).ceil() as u64
}

/// Riley's criteria for `p` parameters, prevalence `phi` and anticipated
/// Cox-Snell R² `r2` (pmsampsize ≥ 1.1.1: no intermediate rounding).
/// Returns (n1, n2, n3, shrinkage used).
pub(crate) fn criteria(p: usize, phi: f64, r2: f64) -> (u64, u64, u64, f64) {
    let n1 = n_for_shrinkage(p, r2, SHRINKAGE);
    let s2 = r2 / (r2 + DELTA * max_r2cs(phi));
    let n2 = n_for_shrinkage(p, r2, s2);
    let n3 = ((Z / MARGIN).powi(2) * phi * (1.0 - phi)).ceil() as u64;
    (n1, n2, n3, s2.max(SHRINKAGE))
}

/// The full calculation from the cross-validated C-statistic `c`; `None`
/// when `c` is not above 0.5 (no R² to anticipate) or the prevalence is 0
/// or 1.
pub(crate) fn from_c_statistic(p: usize, n: usize, events: usize, c: f64) -> Option<SampleSize> {
    let phi = events as f64 / n as f64;
    if !(c > 0.5 && c < 1.0 && phi > 0.0 && phi < 1.0) || p == 0 {
        return None;
    }
    let r2 = (r2cs_from_c(c, phi) * 1e4).round() / 1e4;
    if r2 <= 0.0 {
        return None;
    }
    let (n1, n2, n3, shrinkage) = criteria(p, phi, r2);
    Some(SampleSize {
        parameters: p,
        prevalence: phi,
        c_statistic: c,
        r2_cs: r2,
        shrinkage,
        n_criterion_1: n1,
        n_criterion_2: n2,
        n_criterion_3: n3,
        n_required: n1.max(n2).max(n3),
        n_available: n,
    })
}

/// Cox-Snell R² implied by a C-statistic `c` at prevalence `phi` (Riley,
/// Van Calster & Collins, Stat Med 2021;40:859, `approximate_R2`; the
/// method of pmsampsize's `cstat2rsq`): the linear predictor is N(0, 1)
/// in non-events and N(μ, 1) in events with μ = √2 Φ⁻¹(c); R²_CS =
/// 1 − exp(−2 I), I the mutual information of outcome and predictor.
/// pmsampsize simulates a million patients; this is the limit of that
/// simulation (Simpson's rule), within its noise (SD 0.0005).
pub(crate) fn r2cs_from_c(c: f64, phi: f64) -> f64 {
    let mu = std::f64::consts::SQRT_2 * normal_quantile(c);
    let (p0, p1) = (phi, 1.0 - phi);
    let offset = (p1 / p0).ln() - mu * mu / 2.0;
    let density = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let entropy = |x: f64| h(crate::stats::sigmoid(offset + mu * x));
    let e0 = simpson(|t| density(t) * entropy(t), -12.0, 12.0, 4000);
    let e1 = simpson(|t| density(t) * entropy(t + mu), -12.0, 12.0, 4000);
    let info = h(p0) - (p0 * e0 + p1 * e1);
    1.0 - (-2.0 * info).exp()
}

/// Binary entropy in nats.
fn h(q: f64) -> f64 {
    if q <= 0.0 || q >= 1.0 {
        0.0
    } else {
        -q * q.ln() - (1.0 - q) * (-q).ln_1p()
    }
}

fn simpson(f: impl Fn(f64) -> f64, lo: f64, hi: f64, m: usize) -> f64 {
    let step = (hi - lo) / m as f64;
    let mut s = f(lo) + f(hi);
    for i in 1..m {
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(lo + i as f64 * step);
    }
    s * step / 3.0
}

/// The standard normal quantile Φ⁻¹(p) (Wichura 1988, algorithm AS 241,
/// PPND16: about 16 digits; what R's `qnorm` uses).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let v = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 {
        -v
    } else {
        v
    }
}

fn poly(c: &[f64; 8], r: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * r + k)
}

const A: [f64; 8] = [
    3.387_132_872_796_366_5,
    133.141_667_891_784_38,
    1_971.590_950_306_551_3,
    13_731.693_765_509_46,
    45_921.953_931_549_87,
    67_265.770_927_008_7,
    33_430.575_583_588_13,
    2_509.080_928_730_122_7,
];
const B: [f64; 8] = [
    1.0,
    42.313_330_701_600_91,
    687.187_007_492_057_9,
    5_394.196_021_424_751,
    21_213.794_301_586_597,
    39_307.895_800_092_71,
    28_729.085_735_721_943,
    5_226.495_278_852_545,
];
const C: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    0.241_780_725_177_450_6,
    0.022_723_844_989_269_184,
    7.745_450_142_783_414e-4,
];
const D: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    0.689_767_334_985_100_1,
    0.148_103_976_427_480_08,
    0.015_198_666_563_616_457,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
const E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    0.296_560_571_828_504_87,
    0.026_532_189_526_576_124,
    0.001_242_660_947_388_078_4,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
const F: [f64; 8] = [
    1.0,
    0.599_832_206_555_888,
    0.136_929_880_922_735_8,
    0.014_875_361_290_850_615,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.043_131_680_625_061_6e-15,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> serde_json::Value {
        let text = include_str!("../../tests/fixtures/validation/pmsampsize_examples.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn quantile_matches_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert!((normal_quantile(0.5)).abs() < 1e-15);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813_5).abs() < 1e-13);
        assert!((normal_quantile(1e-10) + 6.361_340_902_404_056).abs() < 1e-11);
    }

    /// pmsampsize's worked examples with R² given: n1, n2, n3 and n exactly.
    #[test]
    fn criteria_match_pmsampsize_examples() {
        let f = fixture();
        let mut checked = 0;
        for e in f["examples"].as_array().unwrap() {
            let i = &e["inputs"];
            let Some(r2) = i["r2_cs"].as_f64() else {
                continue;
            };
            let g = &e["results"]["given"];
            let p = i["parameters"].as_u64().unwrap() as usize;
            let phi = i["prevalence"].as_f64().unwrap();
            let (n1, n2, n3, _) = criteria(p, phi, r2);
            let id = e["id"].as_str().unwrap();
            assert_eq!(n1, g["n1_shrinkage"].as_u64().unwrap(), "{id}");
            assert_eq!(n2, g["n2_nagelkerke_difference"].as_u64().unwrap(), "{id}");
            assert_eq!(n3, g["n3_overall_risk"].as_u64().unwrap(), "{id}");
            assert_eq!(
                n1.max(n2).max(n3),
                g["required_n"].as_u64().unwrap(),
                "{id}"
            );
            checked += 1;
        }
        assert!(checked >= 4, "{checked} examples");
    }

    /// From a C-statistic: the large-sample limit of pmsampsize's
    /// simulation, rounded to 4 decimals as pmsampsize rounds.
    #[test]
    fn c_statistic_route_matches_the_reference() {
        let f = fixture();
        let mut checked = 0;
        for e in f["examples"].as_array().unwrap() {
            let i = &e["inputs"];
            let Some(c) = i["cstatistic"].as_f64() else {
                continue;
            };
            let lim = &e["results"]["large_sample_limit_rounded4"];
            let p = i["parameters"].as_u64().unwrap() as usize;
            let phi = i["prevalence"].as_f64().unwrap();
            let n = 100_000;
            let s = from_c_statistic(p, n, (phi * n as f64).round() as usize, c).unwrap();
            let id = e["id"].as_str().unwrap();
            assert!(
                (s.r2_cs - lim["r2_cs"].as_f64().unwrap()).abs() < 1e-9,
                "{id}: {}",
                s.r2_cs
            );
            assert_eq!(
                s.n_criterion_1,
                lim["n1_shrinkage"].as_u64().unwrap(),
                "{id}"
            );
            assert_eq!(s.n_required, lim["required_n"].as_u64().unwrap(), "{id}");
            // pmsampsize's simulated R² is within its Monte-Carlo noise.
            let sim = e["results"]["pmsampsize_simulation_rounded4"]["r2_cs"]
                .as_f64()
                .unwrap();
            assert!((s.r2_cs - sim).abs() < 2e-3, "{id}");
            checked += 1;
        }
        assert!(checked >= 3, "{checked} examples");
    }

    #[test]
    fn no_calculation_without_signal() {
        assert!(from_c_statistic(10, 100, 30, 0.5).is_none());
        assert!(from_c_statistic(10, 100, 30, 0.42).is_none());
        assert!(from_c_statistic(10, 100, 0, 0.7).is_none());
    }
}
