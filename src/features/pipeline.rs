//! The fitted feature pipeline: imputation, one-hot encoding and
//! standardisation, fitted on training rows only and stored in the bundle.

use std::collections::{BTreeSet, HashMap};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::frame::{FeatureSchema, Frame, FrameColumn, Kind, Values, MISSING_CODE};

/// The level that stands for a missing categorical value.
pub(crate) const MISSING_LEVEL: &str = "missing";

/// One fitted input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum FittedFeature {
    /// A number: with `log`, x → ln x first (a value ≤ 0 is read as the
    /// floor); missing → training median; then `(x - mean) / sd`.
    Numeric {
        /// Column name.
        name: String,
        /// Log-transformed (a strictly positive, right-skewed training
        /// column): the smallest training value, which stands in for a
        /// value ≤ 0 met later. Absent: used as it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<f64>,
        /// Imputation value (training median).
        impute: f64,
        /// Mean after imputation.
        mean: f64,
        /// Population standard deviation after imputation (1 if constant).
        sd: f64,
    },
    /// A dosage: missing → training mean; then `(x - mean) / sd`.
    Dosage {
        /// Column name.
        name: String,
        /// Imputation value (training mean).
        impute: f64,
        /// Mean after imputation.
        mean: f64,
        /// Population standard deviation after imputation (1 if constant).
        sd: f64,
    },
    /// A category: one 0/1 column per training level (missing → `missing`),
    /// each standardised; a level unseen in training is all zeros.
    Categorical {
        /// Column name.
        name: String,
        /// Training levels, sorted.
        levels: Vec<String>,
        /// Mean of each indicator.
        mean: Vec<f64>,
        /// Standard deviation of each indicator (1 if constant).
        sd: Vec<f64>,
    },
}

impl FittedFeature {
    /// The input column's name.
    pub(crate) fn name(&self) -> &str {
        match self {
            FittedFeature::Numeric { name, .. }
            | FittedFeature::Dosage { name, .. }
            | FittedFeature::Categorical { name, .. } => name,
        }
    }

    /// The kind of input column.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            FittedFeature::Numeric { .. } => Kind::Numeric,
            FittedFeature::Dosage { .. } => Kind::Dosage,
            FittedFeature::Categorical { .. } => Kind::Categorical,
        }
    }

    /// Number of model inputs this feature produces.
    pub(crate) fn width(&self) -> usize {
        match self {
            FittedFeature::Categorical { levels, .. } => levels.len(),
            _ => 1,
        }
    }

    fn check(&self) -> std::result::Result<(), String> {
        let ok = |v: f64| v.is_finite();
        let fine = match self {
            FittedFeature::Numeric {
                impute,
                mean,
                sd,
                log,
                ..
            } => {
                ok(*impute)
                    && ok(*mean)
                    && ok(*sd)
                    && *sd > 0.0
                    && log.is_none_or(|f| ok(f) && f > 0.0)
            }
            FittedFeature::Dosage {
                impute, mean, sd, ..
            } => ok(*impute) && ok(*mean) && ok(*sd) && *sd > 0.0,
            FittedFeature::Categorical {
                levels, mean, sd, ..
            } => {
                mean.len() == levels.len()
                    && sd.len() == levels.len()
                    && mean.iter().all(|&m| ok(m))
                    && sd.iter().all(|&s| ok(s) && s > 0.0)
            }
        };
        if fine {
            Ok(())
        } else {
            Err(format!(
                "feature `{}` has invalid scaling values",
                self.name()
            ))
        }
    }
}

/// An unusual value met while transforming, by feature.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Unusual {
    /// A category level never seen in training (scored as all zeros).
    UnseenLevel(String),
    /// A value ≤ 0 in a log-transformed feature (read as the training
    /// minimum).
    NonPositive(String),
}

impl Unusual {
    /// The warning for `n` patients of `file`.
    pub(crate) fn warning(&self, file: &str, n: usize) -> String {
        match self {
            Unusual::UnseenLevel(f) => format!(
                "{file}: {n} patients have a `{f}` level the model never saw in training; scored as all-zeros for it"
            ),
            Unusual::NonPositive(f) => format!(
                "{file}: {n} patients have a `{f}` of 0 or less, which the model log-transforms (every training value was positive); read as the smallest training value"
            ),
        }
    }
}

/// Counts of unusual values met while transforming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TransformNotes {
    /// `(what, count)`: unseen category levels and values ≤ 0 of
    /// log-transformed features.
    pub(crate) unusual: Vec<(Unusual, usize)>,
}

/// The fitted pipeline for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pipeline {
    /// Fitted features, in schema order.
    pub(crate) features: Vec<FittedFeature>,
}

/// Mean and population SD for standardisation; the SD of a constant
/// column is 1 (it then standardises to 0), and an overflowing variance
/// gives a NaN SD that [`Pipeline::fit`] refuses.
fn scale_of(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0);
    for v in values.clone() {
        n += 1;
        sum += v;
    }
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let sd = var.sqrt();
    let sd = if !sd.is_finite() {
        f64::NAN
    } else if sd > 1e-12 {
        sd
    } else {
        1.0
    };
    (mean, sd)
}

/// Median of finite values (0 when there are none).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

impl Pipeline {
    /// Fits the pipeline on `rows` of `frame`; every fitted value must be
    /// finite (a column whose variance overflows is an error naming it).
    pub(crate) fn fit(frame: &Frame, rows: &[usize]) -> Result<Pipeline> {
        let features: Vec<FittedFeature> = frame
            .columns
            .iter()
            .map(|c| fit_column(c, rows, frame.log_skewed))
            .collect();
        for f in &features {
            f.check().map_err(|_| {
                Error::data(
                    crate::error::Location::file(&frame.source.file).column(f.name()),
                    "its values are too spread out to standardise (the variance overflows): check the column's cells and units, or leave it out with --exclude",
                )
            })?;
        }
        Ok(Pipeline { features })
    }

    /// The input columns the pipeline needs.
    pub(crate) fn schema(&self) -> Vec<FeatureSchema> {
        self.features
            .iter()
            .map(|f| FeatureSchema {
                name: f.name().to_string(),
                kind: f.kind(),
            })
            .collect()
    }

    /// Number of model inputs.
    pub(crate) fn width(&self) -> usize {
        self.features.iter().map(FittedFeature::width).sum()
    }

    /// Whether each model input is a genotype dosage.
    pub(crate) fn dosage_inputs(&self) -> Vec<bool> {
        let mut out = Vec::with_capacity(self.width());
        for f in &self.features {
            out.extend(std::iter::repeat_n(f.kind() == Kind::Dosage, f.width()));
        }
        out
    }

    /// Names of the model inputs (`name` or `name=level`).
    pub(crate) fn output_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.width());
        for f in &self.features {
            match f {
                FittedFeature::Categorical { name, levels, .. } => {
                    out.extend(levels.iter().map(|l| format!("{name}={l}")))
                }
                other => out.push(other.name().to_string()),
            }
        }
        out
    }

    /// Checks stored values (used when loading a bundle).
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.features.iter().try_for_each(FittedFeature::check)
    }

    /// Transforms `rows` of `frame` into a row-major model matrix. Columns
    /// are matched by name.
    pub(crate) fn transform(
        &self,
        frame: &Frame,
        rows: &[usize],
    ) -> Result<(Array2<f64>, TransformNotes)> {
        let width = self.width();
        let mut x = Array2::<f64>::zeros((rows.len(), width));
        let mut plans = self.plans(frame)?;
        // Fill the row-major matrix a tile of rows at a time, so that the
        // writes of all features stay in cache.
        let xs = x
            .as_slice_mut()
            .ok_or_else(|| Error::Fit("internal: matrix is not contiguous".into()))?;
        let mut scratch = [0.0f64; TILE * GROUP];
        // Consecutive rows (scoring a file) are read as slices.
        let contiguous = rows.windows(2).all(|w| w[1] == w[0] + 1);
        for (tile_rows, tile_x) in rows.chunks(TILE).zip(xs.chunks_mut(TILE * width.max(1))) {
            let mut p = 0;
            while p < plans.len() {
                let offset = plans[p].1;
                if let Plan::Categorical(c) = &mut plans[p].0 {
                    c.fill(tile_rows, tile_x, width, offset);
                    p += 1;
                } else {
                    let tile = Tile {
                        rows: tile_rows,
                        contiguous,
                        width,
                    };
                    p += fill_numeric_run(&plans[p..], &tile, tile_x, &mut scratch);
                }
            }
        }
        let mut notes = TransformNotes::default();
        for ((plan, _), f) in plans.iter().zip(&self.features) {
            match plan {
                Plan::Categorical(c) if c.unseen > 0 => notes
                    .unusual
                    .push((Unusual::UnseenLevel(f.name().to_string()), c.unseen)),
                Plan::Numeric {
                    v, log: Some(_), ..
                } => {
                    let n = rows.iter().filter(|&&r| v[r] <= 0.0).count();
                    if n > 0 {
                        notes
                            .unusual
                            .push((Unusual::NonPositive(f.name().to_string()), n));
                    }
                }
                _ => {}
            }
        }
        Ok((x, notes))
    }

    /// What to do for each feature, with its first input's offset, worked
    /// out once per transform.
    fn plans<'a>(&'a self, frame: &'a Frame) -> Result<Vec<(Plan<'a>, usize)>> {
        let mut by_name: HashMap<&str, &FrameColumn> = HashMap::with_capacity(frame.columns.len());
        for c in &frame.columns {
            by_name.entry(c.name.as_str()).or_insert(c);
        }
        let mut plans = Vec::with_capacity(self.features.len());
        let mut offset = 0;
        for f in &self.features {
            let col = by_name.get(f.name()).ok_or_else(|| {
                Error::Fit(format!("internal: column `{}` not prepared", f.name()))
            })?;
            let plan = match (f, &col.values) {
                (
                    FittedFeature::Numeric {
                        impute,
                        mean,
                        sd,
                        log,
                        ..
                    },
                    Values::Numeric(v),
                ) => Plan::Numeric {
                    v,
                    impute: *impute,
                    mean: *mean,
                    sd: *sd,
                    log: *log,
                },
                (
                    FittedFeature::Dosage {
                        impute, mean, sd, ..
                    },
                    Values::Numeric(v),
                ) => Plan::Numeric {
                    v,
                    impute: *impute,
                    mean: *mean,
                    sd: *sd,
                    log: None,
                },
                (
                    FittedFeature::Categorical {
                        levels, mean, sd, ..
                    },
                    Values::Categorical {
                        codes,
                        levels: file_levels,
                    },
                ) => Plan::Categorical(CategoricalPlan::new(levels, mean, sd, codes, file_levels)),
                _ => {
                    return Err(Error::Fit(format!(
                        "column `{}` is {} in the model but was read as another kind",
                        f.name(),
                        f.kind().as_str()
                    )))
                }
            };
            plans.push((plan, offset));
            offset += f.width();
        }
        Ok(plans)
    }
}

/// Rows filled at a time by [`Pipeline::transform`].
const TILE: usize = 128;
/// Most numeric inputs gathered side by side into the scratch buffer.
const GROUP: usize = 8;

/// A tile of rows being filled.
struct Tile<'a> {
    rows: &'a [usize],
    contiguous: bool,
    width: usize,
}

/// Fills the run of numeric inputs at the start of `plans` (up to
/// [`GROUP`] of them at consecutive offsets) for one tile: each is
/// gathered and scaled column by column into `scratch` (vectorised), then
/// the run is written row by row as one contiguous piece (a blocked
/// transpose). Returns how many plans were used.
fn fill_numeric_run(
    plans: &[(Plan, usize)],
    tile: &Tile,
    tile_x: &mut [f64],
    scratch: &mut [f64; TILE * GROUP],
) -> usize {
    let offset = plans[0].1;
    let n = tile.rows.len();
    let mut g = 0;
    while g < GROUP && g < plans.len() {
        let (
            Plan::Numeric {
                v,
                impute,
                mean,
                sd,
                log,
            },
            o,
        ) = &plans[g]
        else {
            break;
        };
        if *o != offset + g {
            break;
        }
        let buf = &mut scratch[g * TILE..g * TILE + n];
        let (impute, mean, sd) = (*impute, *mean, *sd);
        // A log-transformed feature reads a value ≤ 0 as its floor.
        let floor = log.map_or(f64::NAN, f64::ln);
        let scale = |raw: f64| {
            let x = match () {
                _ if raw.is_nan() => impute,
                _ if log.is_none() => raw,
                _ if raw > 0.0 => raw.ln(),
                _ => floor,
            };
            (x - mean) / sd
        };
        if tile.contiguous {
            let first = tile.rows[0];
            for (b, &raw) in buf.iter_mut().zip(&v[first..first + n]) {
                *b = scale(raw);
            }
        } else {
            for (b, &r) in buf.iter_mut().zip(tile.rows) {
                *b = scale(v[r]);
            }
        }
        g += 1;
    }
    for (k, out) in tile_x.chunks_exact_mut(tile.width).enumerate() {
        for (j, dst) in out[offset..offset + g].iter_mut().enumerate() {
            *dst = scratch[j * TILE + k];
        }
    }
    g
}

/// How one categorical feature is one-hot encoded and scaled.
struct CategoricalPlan<'a> {
    codes: &'a [u32],
    /// The training level of each of the file's levels (`None`: unseen).
    map: Vec<Option<usize>>,
    /// The training level that stands for a missing value.
    missing: Option<usize>,
    mean: &'a [f64],
    sd: &'a [f64],
    /// Rows with a level unseen in training.
    unseen: usize,
}

impl<'a> CategoricalPlan<'a> {
    fn new(
        levels: &[String],
        mean: &'a [f64],
        sd: &'a [f64],
        codes: &'a [u32],
        file_levels: &[String],
    ) -> CategoricalPlan<'a> {
        let lookup: HashMap<&str, usize> = levels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        CategoricalPlan {
            codes,
            // A cell whose text is the missing level's name is not a missing
            // cell: it is a level the model never saw.
            map: file_levels
                .iter()
                .map(|l| {
                    if l == MISSING_LEVEL {
                        None
                    } else {
                        lookup.get(l.as_str()).copied()
                    }
                })
                .collect(),
            missing: lookup.get(MISSING_LEVEL).copied(),
            mean,
            sd,
            unseen: 0,
        }
    }

    /// Writes this feature's standardised indicators for one tile.
    fn fill(&mut self, tile_rows: &[usize], tile_x: &mut [f64], width: usize, offset: usize) {
        for (&r, out) in tile_rows.iter().zip(tile_x.chunks_exact_mut(width)) {
            let code = self.codes[r];
            let hit = if code == MISSING_CODE {
                self.missing
            } else {
                self.map[code as usize]
            };
            if hit.is_none() {
                self.unseen += 1;
            }
            for (l, (m, s)) in self.mean.iter().zip(self.sd.iter()).enumerate() {
                let v = if hit == Some(l) { 1.0 } else { 0.0 };
                out[offset + l] = (v - m) / s;
            }
        }
    }
}

/// How [`Pipeline::transform`] fills the inputs of one feature.
enum Plan<'a> {
    Numeric {
        v: &'a [f64],
        impute: f64,
        mean: f64,
        sd: f64,
        log: Option<f64>,
    },
    Categorical(CategoricalPlan<'a>),
}

/// Fewest distinct training values of a column that may be log-transformed.
const LOG_MIN_DISTINCT: usize = 10;
/// Smallest skewness of a column that may be log-transformed.
const LOG_MIN_SKEWNESS: f64 = 1.0;

/// Sample skewness g₁ = m₃ / m₂^{3/2} (moments about the mean; 0 for
/// fewer than 3 values or no spread).
pub(crate) fn skewness(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    if v.len() < 3 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / n;
    let (mut m2, mut m3) = (0.0, 0.0);
    for x in v {
        let d = x - mean;
        m2 += d * d;
        m3 += d * d * d;
    }
    let (m2, m3) = (m2 / n, m3 / n);
    if m2 > 0.0 {
        m3 / m2.powf(1.5)
    } else {
        0.0
    }
}

/// Whether a clinical column's present training values call for a log:
/// all > 0, at least [`LOG_MIN_DISTINCT`] distinct values, skewness at
/// least [`LOG_MIN_SKEWNESS`], and the log's skewness smaller in size (a
/// log-normal lab value or duration; not a count with zeros or a score).
fn wants_log(present: &[f64]) -> bool {
    if present.iter().any(|&x| x <= 0.0 || !x.is_finite()) {
        return false;
    }
    let mut distinct: Vec<u64> = present.iter().map(|x| x.to_bits()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < LOG_MIN_DISTINCT {
        return false;
    }
    let s = skewness(present);
    let logs: Vec<f64> = present.iter().map(|x| x.ln()).collect();
    s >= LOG_MIN_SKEWNESS && skewness(&logs).abs() < s
}

/// A numeric or dosage column (see [`FittedFeature::Numeric`]).
fn fit_numeric(c: &FrameColumn, v: &[f64], rows: &[usize], log_skewed: bool) -> FittedFeature {
    let mut present: Vec<f64> = rows.iter().map(|&r| v[r]).filter(|x| !x.is_nan()).collect();
    let log = (log_skewed
        && c.kind == Kind::Numeric
        && !crate::features::genotype::is_derived_name(&c.name)
        && wants_log(&present))
    .then(|| present.iter().copied().fold(f64::INFINITY, f64::min));
    let at = |x: f64| match log {
        Some(_) => x.ln(),
        None => x,
    };
    if log.is_some() {
        present.iter_mut().for_each(|x| *x = x.ln());
    }
    let impute = match c.kind {
        Kind::Dosage if !present.is_empty() => present.iter().sum::<f64>() / present.len() as f64,
        Kind::Dosage => 0.0,
        _ => median(present),
    };
    let (mean, sd) = scale_of(
        rows.iter()
            .map(|&r| if v[r].is_nan() { impute } else { at(v[r]) }),
    );
    let name = c.name.clone();
    if c.kind == Kind::Dosage {
        FittedFeature::Dosage {
            name,
            impute,
            mean,
            sd,
        }
    } else {
        FittedFeature::Numeric {
            name,
            log,
            impute,
            mean,
            sd,
        }
    }
}

fn fit_column(c: &FrameColumn, rows: &[usize], log_skewed: bool) -> FittedFeature {
    match &c.values {
        Values::Numeric(v) => fit_numeric(c, v, rows, log_skewed),
        Values::Categorical { codes, levels } => {
            let mut seen = BTreeSet::new();
            for &r in rows {
                let code = codes[r];
                seen.insert(if code == MISSING_CODE {
                    MISSING_LEVEL
                } else {
                    levels[code as usize].as_str()
                });
            }
            let fitted: Vec<String> = seen.into_iter().map(str::to_string).collect();
            let mut means = Vec::with_capacity(fitted.len());
            let mut sds = Vec::with_capacity(fitted.len());
            for level in &fitted {
                let indicator = rows.iter().map(|&r| {
                    let code = codes[r];
                    let l = if code == MISSING_CODE {
                        MISSING_LEVEL
                    } else {
                        levels[code as usize].as_str()
                    };
                    if l == level {
                        1.0
                    } else {
                        0.0
                    }
                });
                let (m, s) = scale_of(indicator);
                means.push(m);
                sds.push(s);
            }
            FittedFeature::Categorical {
                name: c.name.clone(),
                levels: fitted,
                mean: means,
                sd: sds,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            source: Default::default(),
            log_skewed: false,
            columns: vec![
                FrameColumn {
                    name: "age".into(),
                    kind: Kind::Numeric,
                    values: Values::Numeric(vec![20.0, f64::NAN, 40.0, 100.0]),
                },
                FrameColumn {
                    name: "sex".into(),
                    kind: Kind::Categorical,
                    values: Values::Categorical {
                        codes: vec![0, 1, MISSING_CODE, 0],
                        levels: vec!["F".into(), "M".into()],
                    },
                },
                FrameColumn {
                    name: "rs1".into(),
                    kind: Kind::Dosage,
                    values: Values::Numeric(vec![0.0, 2.0, f64::NAN, 1.0]),
                },
            ],
        }
    }

    /// Skewness as scipy.stats.skew (bias=True): [1, 2, 3, 10] → 1.0182
    /// (m₂ = 12.5, m₃ = 45, 45 / 12.5^1.5).
    #[test]
    fn skewness_matches_scipy() {
        assert!((skewness(&[1.0, 2.0, 3.0, 10.0]) - 45.0 / 12.5f64.powf(1.5)).abs() < 1e-12);
        assert!((skewness(&[1.0, 2.0, 3.0, 10.0]) - 1.018_233).abs() < 1e-6);
        assert_eq!(skewness(&[2.0, 2.0, 2.0]), 0.0);
    }

    /// With `log_skewed`, a strictly positive right-skewed clinical column
    /// is fitted and transformed on the log scale; a value ≤ 0 later is
    /// read as the training minimum and counted; columns with zeros, few
    /// values or no skew, and dosages, are left alone.
    #[test]
    fn skewed_positive_columns_are_logged() {
        let lognormal: Vec<f64> = (0..40).map(|i| (0.15 * i as f64).exp()).collect();
        let with_zero: Vec<f64> = (0..40)
            .map(|i| if i == 0 { 0.0 } else { (0.15 * i as f64).exp() })
            .collect();
        let symmetric: Vec<f64> = (0..40).map(|i| 50.0 + i as f64).collect();
        let col = |name: &str, kind, v: &[f64]| FrameColumn {
            name: name.into(),
            kind,
            values: Values::Numeric(v.to_vec()),
        };
        let mut frame = Frame {
            source: Default::default(),
            log_skewed: true,
            columns: vec![
                col("crp", Kind::Numeric, &lognormal),
                col("zero", Kind::Numeric, &with_zero),
                col("age", Kind::Numeric, &symmetric),
                col("rs1", Kind::Dosage, &lognormal),
            ],
        };
        let rows: Vec<usize> = (0..40).collect();
        let p = Pipeline::fit(&frame, &rows).unwrap();
        let logs: Vec<Option<f64>> = p
            .features
            .iter()
            .map(|f| match f {
                FittedFeature::Numeric { log, .. } => *log,
                _ => None,
            })
            .collect();
        assert_eq!(logs, vec![Some(1.0), None, None, None]);
        let FittedFeature::Numeric { mean, sd, .. } = &p.features[0] else {
            panic!()
        };
        // ln x = 0.15 i: mean 0.15 × 19.5, population SD 0.15 × √((40² − 1)/12).
        assert!((mean - 0.15 * 19.5).abs() < 1e-12);
        assert!((sd - 0.15 * ((1600.0f64 - 1.0) / 12.0).sqrt()).abs() < 1e-12);
        let (x, _) = p.transform(&frame, &rows).unwrap();
        assert!((x[[3, 0]] - (0.45 - mean) / sd).abs() < 1e-12);
        let Values::Numeric(v) = &mut frame.columns[0].values else {
            panic!()
        };
        v[5] = 0.0;
        v[6] = -2.0;
        let (x, notes) = p.transform(&frame, &rows).unwrap();
        assert_eq!(x[[5, 0]], (0.0 - mean) / sd, "the training minimum, ln 1");
        assert_eq!(x[[6, 0]], x[[5, 0]]);
        assert_eq!(notes.unusual, vec![(Unusual::NonPositive("crp".into()), 2)]);
        // A bundle without the field reads as no transform.
        let json = serde_json::to_string(&p.features[2]).unwrap();
        assert!(!json.contains("log"), "{json}");
        frame.log_skewed = false;
        let plain = Pipeline::fit(&frame, &rows).unwrap();
        assert!(matches!(
            plain.features[0],
            FittedFeature::Numeric { log: None, .. }
        ));
    }

    /// The blocked, tiled transform gives every cell the plain formula's
    /// value, for consecutive rows and for any row order.
    #[test]
    fn tiled_transform_matches_the_formula_cell_by_cell() {
        let n = 300; // more than two tiles
        let mut columns = Vec::new();
        for c in 0..13 {
            if c == 9 {
                columns.push(FrameColumn {
                    name: "site".into(),
                    kind: Kind::Categorical,
                    values: Values::Categorical {
                        codes: (0..n as u32)
                            .map(|r| if r % 11 == 0 { MISSING_CODE } else { r % 3 })
                            .collect(),
                        levels: vec!["a".into(), "b".into(), "c".into()],
                    },
                });
            }
            let kind = if c % 2 == 0 {
                Kind::Dosage
            } else {
                Kind::Numeric
            };
            let values = (0..n)
                .map(|r| {
                    if (r + c) % 17 == 0 {
                        f64::NAN
                    } else {
                        ((r * (c + 3)) % 7) as f64 * 0.5
                    }
                })
                .collect();
            columns.push(FrameColumn {
                name: format!("x{c}"),
                kind,
                values: Values::Numeric(values),
            });
        }
        let frame = Frame {
            columns,
            source: Default::default(),
            log_skewed: false,
        };
        let train: Vec<usize> = (0..n).filter(|r| r % 4 != 1).collect();
        let p = Pipeline::fit(&frame, &train).unwrap();
        // The formula, one cell at a time.
        let expected = |r: usize| -> Vec<f64> {
            let mut out = Vec::new();
            for (f, col) in p.features.iter().zip(&frame.columns) {
                match (f, &col.values) {
                    (
                        FittedFeature::Numeric {
                            impute, mean, sd, ..
                        }
                        | FittedFeature::Dosage {
                            impute, mean, sd, ..
                        },
                        Values::Numeric(v),
                    ) => {
                        let raw = if v[r].is_nan() { *impute } else { v[r] };
                        out.push((raw - mean) / sd);
                    }
                    (
                        FittedFeature::Categorical {
                            levels, mean, sd, ..
                        },
                        Values::Categorical {
                            codes,
                            levels: file,
                        },
                    ) => {
                        let level = if codes[r] == MISSING_CODE {
                            MISSING_LEVEL
                        } else {
                            file[codes[r] as usize].as_str()
                        };
                        for (l, (m, s)) in levels.iter().zip(mean.iter().zip(sd)) {
                            out.push((f64::from(u8::from(l == level)) - m) / s);
                        }
                    }
                    _ => panic!("kind mismatch"),
                }
            }
            out
        };
        let all: Vec<usize> = (0..n).collect();
        let shuffled: Vec<usize> = (0..n).map(|i| (i * 7) % n).collect();
        for rows in [all, shuffled, train.clone()] {
            let (x, _) = p.transform(&frame, &rows).unwrap();
            assert_eq!(x.ncols(), 17); // 13 numbers, 3 levels and `missing`
            for (i, &r) in rows.iter().enumerate() {
                let want = expected(r);
                let got: Vec<f64> = x.row(i).to_vec();
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "row {r}"
                );
            }
        }
    }

    #[test]
    fn fits_on_training_rows_only() {
        let f = frame();
        let p = Pipeline::fit(&f, &[0, 1, 2]).unwrap();
        match &p.features[0] {
            FittedFeature::Numeric { impute, mean, .. } => {
                assert_eq!(*impute, 30.0); // median of 20, 40; row 3 unseen
                assert_eq!(*mean, 30.0);
            }
            _ => panic!(),
        }
        match &p.features[1] {
            FittedFeature::Categorical { levels, .. } => {
                assert_eq!(levels, &["F", "M", "missing"]);
            }
            _ => panic!(),
        }
        match &p.features[2] {
            FittedFeature::Dosage { impute, .. } => assert_eq!(*impute, 1.0),
            _ => panic!(),
        }
        assert_eq!(p.width(), 5);
        assert_eq!(
            p.output_names(),
            vec!["age", "sex=F", "sex=M", "sex=missing", "rs1"]
        );
    }

    #[test]
    fn transform_standardises_and_counts_unseen_levels() {
        let f = frame();
        let p = Pipeline::fit(&f, &[0, 1, 3]).unwrap();
        let (x, notes) = p.transform(&f, &[0, 1, 2, 3]).unwrap();
        assert_eq!(x.dim(), (4, 4)); // sex has F, M only
        assert!(x.iter().all(|v| v.is_finite()));
        // Row 2's sex is missing, which training never saw: all zeros before scaling.
        assert_eq!(
            notes.unusual,
            vec![(Unusual::UnseenLevel("sex".to_string()), 1)]
        );
        let col_mean: f64 = [0usize, 1, 3].iter().map(|&i| x[[i, 0]]).sum::<f64>() / 3.0;
        assert!(col_mean.abs() < 1e-12);
    }

    #[test]
    fn constant_column_gets_unit_sd() {
        let (m, s) = scale_of([3.0, 3.0].into_iter());
        assert_eq!((m, s), (3.0, 1.0));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
    }
}
