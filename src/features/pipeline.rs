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
    /// A number: missing → training median; then `(x - mean) / sd`.
    Numeric {
        /// Column name.
        name: String,
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
                impute, mean, sd, ..
            }
            | FittedFeature::Dosage {
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

/// Counts of unusual values met while transforming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TransformNotes {
    /// `(feature, count)` of category levels never seen in training.
    pub(crate) unseen_levels: Vec<(String, usize)>,
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
        let features: Vec<FittedFeature> =
            frame.columns.iter().map(|c| fit_column(c, rows)).collect();
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
            if let Plan::Categorical(c) = plan {
                if c.unseen > 0 {
                    notes.unseen_levels.push((f.name().to_string(), c.unseen));
                }
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
                        impute, mean, sd, ..
                    }
                    | FittedFeature::Dosage {
                        impute, mean, sd, ..
                    },
                    Values::Numeric(v),
                ) => Plan::Numeric {
                    v,
                    impute: *impute,
                    mean: *mean,
                    sd: *sd,
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
        let scale = |raw: f64| (if raw.is_nan() { impute } else { raw } - mean) / sd;
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
    },
    Categorical(CategoricalPlan<'a>),
}

fn fit_column(c: &FrameColumn, rows: &[usize]) -> FittedFeature {
    match &c.values {
        Values::Numeric(v) => {
            let present: Vec<f64> = rows.iter().map(|&r| v[r]).filter(|x| !x.is_nan()).collect();
            let impute = match c.kind {
                Kind::Dosage if !present.is_empty() => {
                    present.iter().sum::<f64>() / present.len() as f64
                }
                Kind::Dosage => 0.0,
                _ => median(present),
            };
            let (mean, sd) = scale_of(
                rows.iter()
                    .map(|&r| if v[r].is_nan() { impute } else { v[r] }),
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
                    impute,
                    mean,
                    sd,
                }
            }
        }
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
        assert_eq!(notes.unseen_levels, vec![("sex".to_string(), 1)]);
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
