//! Typed feature columns for the joined patients: numbers, dosages, or
//! categories. Built by inference at training and by the stored schema at
//! scoring, where the file's columns are matched by name.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::data::{is_missing, parse_number, Dataset};
use crate::error::{Error, Result};

/// Code of a missing categorical cell.
pub(crate) const MISSING_CODE: u32 = u32::MAX;

/// What a feature column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A clinical number; missing values take the training median.
    Numeric,
    /// A category; missing values become the level `missing`.
    Categorical,
    /// A genotype dosage (0–2); missing values take the training mean.
    Dosage,
}

impl Kind {
    /// Lower-case name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Numeric => "numeric",
            Kind::Categorical => "categorical",
            Kind::Dosage => "dosage",
        }
    }
}

/// A column's values for every joined patient.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// Numbers; NaN = missing.
    Numeric(Vec<f64>),
    /// Category codes into `levels`; [`MISSING_CODE`] = missing.
    Categorical {
        /// One code per patient.
        codes: Vec<u32>,
        /// Level names as they appear in this file.
        levels: Vec<String>,
    },
}

/// A named, typed column.
#[derive(Debug, Clone)]
pub(crate) struct FrameColumn {
    /// Column name.
    pub(crate) name: String,
    /// Kind of feature.
    pub(crate) kind: Kind,
    /// The values.
    pub(crate) values: Values,
}

/// A feature's name and kind, as stored in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeatureSchema {
    /// Column name in the input files.
    pub(crate) name: String,
    /// Kind of feature.
    pub(crate) kind: Kind,
}

/// The typed feature columns of a dataset, one entry per patient.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Columns in schema order.
    pub(crate) columns: Vec<FrameColumn>,
    /// Where each row came from (file and line), for messages.
    pub(crate) source: RowSource,
    /// Pipelines fitted on this frame log-transform strictly positive,
    /// right-skewed clinical columns (`train --log-skewed`).
    pub(crate) log_skewed: bool,
}

/// The file and line of each row of a frame.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowSource {
    /// The clinical file.
    pub(crate) file: String,
    /// The 1-based line of each row (empty when unknown).
    pub(crate) lines: Vec<u64>,
}

impl RowSource {
    /// The joined rows of `ds`.
    fn of(ds: &Dataset) -> RowSource {
        RowSource {
            file: ds.data.file.clone(),
            lines: ds.data_rows.iter().map(|&r| ds.data.lines[r]).collect(),
        }
    }

    /// Where row `row`, column `column` is.
    pub(crate) fn location(&self, row: usize, column: &str) -> crate::error::Location {
        let loc = crate::error::Location::file(&self.file);
        let loc = match self.lines.get(row) {
            Some(&l) => loc.line(l),
            None => loc,
        };
        loc.column(column)
    }
}

/// The largest number accepted in a numeric column, in absolute value:
/// beyond it, squaring it for the variance overflows.
pub(crate) const MAX_VALUE: f64 = 1e150;

impl Frame {
    /// Number of patients (rows).
    pub(crate) fn n_rows(&self) -> usize {
        match self.columns.first().map(|c| &c.values) {
            Some(Values::Numeric(v)) => v.len(),
            Some(Values::Categorical { codes, .. }) => codes.len(),
            None => 0,
        }
    }

    /// The schema of this frame.
    pub(crate) fn schema(&self) -> Vec<FeatureSchema> {
        self.columns
            .iter()
            .map(|c| FeatureSchema {
                name: c.name.clone(),
                kind: c.kind,
            })
            .collect()
    }

    /// Builds a frame for training, inferring each column's kind: genotype
    /// columns are dosages; a data column whose values are all numbers is
    /// numeric; a column of words is categorical, as is any column named in
    /// `categorical`. A mostly numeric column with a few words is an error
    /// naming the first bad cell. Columns with no values at all are dropped
    /// (and reported in the returned warnings).
    pub(crate) fn infer(
        ds: &Dataset,
        names: &[String],
        categorical: &[String],
    ) -> Result<(Frame, Vec<String>)> {
        let mut columns = Vec::with_capacity(names.len());
        let mut warnings = Vec::new();
        for name in names {
            if let Some(col) = ds.data.find(name) {
                let forced = categorical.iter().any(|c| c == name);
                match infer_data_column(ds, col, forced)? {
                    Some(c) => columns.push(c),
                    None => warnings.push(format!(
                        "{}: column `{}` has no values; it is left out",
                        ds.data.file, name
                    )),
                }
            } else if let Some(c) = dosage_column(ds, name) {
                columns.push(c);
            } else if let Some(c) = derived_column(ds, name) {
                columns.push(c);
            } else {
                return Err(ds.missing_columns(vec![name.clone()]));
            }
        }
        Ok((
            Frame {
                columns,
                source: RowSource::of(ds),
                log_skewed: false,
            },
            warnings,
        ))
    }

    /// Builds a frame for scoring from a stored schema, matching columns by
    /// name. Every absent column is named in one error.
    pub(crate) fn from_schema(ds: &Dataset, schema: &[FeatureSchema]) -> Result<Frame> {
        Frame::schema_frame(ds, schema, HashMap::new())
    }

    /// As [`Frame::from_schema`], but when the joined rows are the genotype
    /// file's rows in order the dosage columns are moved out of `ds` instead
    /// of copied (`ds` keeps empty columns in their place).
    pub(crate) fn from_schema_taking(ds: &mut Dataset, schema: &[FeatureSchema]) -> Result<Frame> {
        let mut taken = HashMap::new();
        if let Some(g) = ds.genotypes.as_mut() {
            let in_order = ds.genotype_rows.len() == g.ids.len()
                && ds.genotype_rows.iter().enumerate().all(|(i, &r)| i == r);
            if in_order {
                // Only columns that a single feature reads can be moved.
                let wanted: Vec<(&String, usize)> = schema
                    .iter()
                    .filter(|f| f.kind == Kind::Dosage)
                    .filter_map(|f| g.find(&f.name).map(|s| (&f.name, s)))
                    .collect();
                let mut uses = vec![0usize; g.values.len()];
                for &(_, s) in &wanted {
                    uses[s] += 1;
                }
                for (name, s) in wanted {
                    if uses[s] == 1 {
                        taken.insert(name.clone(), std::mem::take(&mut g.values[s]).to_f64());
                    }
                }
            }
        }
        Frame::schema_frame(ds, schema, taken)
    }

    fn schema_frame(
        ds: &Dataset,
        schema: &[FeatureSchema],
        mut taken: HashMap<String, Vec<f64>>,
    ) -> Result<Frame> {
        let absent: Vec<String> = schema
            .iter()
            .filter(|f| {
                ds.data.find(&f.name).is_none()
                    && ds.derived(&f.name).is_none()
                    && ds
                        .genotypes
                        .as_ref()
                        .is_none_or(|g| g.find(&f.name).is_none())
            })
            .map(|f| f.name.clone())
            .collect();
        if !absent.is_empty() {
            let dosages = schema
                .iter()
                .filter(|f| f.kind == Kind::Dosage && absent.contains(&f.name))
                .count();
            let mut err = ds.missing_columns(absent);
            if dosages > 0 && ds.genotypes.is_none() {
                if let Error::MissingColumns { hint, .. } = &mut err {
                    *hint = Some(format!(
                        "{dosages} of them are genotype dosages: pass the genotype file with --genotypes"
                    ));
                }
            }
            return Err(err);
        }
        let mut columns = Vec::with_capacity(schema.len());
        for f in schema {
            let col = match f.kind {
                Kind::Dosage if taken.contains_key(&f.name) => FrameColumn {
                    name: f.name.clone(),
                    kind: Kind::Dosage,
                    values: Values::Numeric(taken.remove(&f.name).unwrap_or_default()),
                },
                Kind::Dosage => match dosage_column(ds, &f.name) {
                    Some(c) => c,
                    None => dosage_from_data(ds, &f.name)?,
                },
                Kind::Numeric => numeric_from_data(ds, &f.name)?,
                Kind::Categorical => {
                    let col = ds.data.require(&f.name)?;
                    categorical_column(ds, col)
                }
            };
            columns.push(col);
        }
        Ok(Frame {
            columns,
            source: RowSource::of(ds),
            log_skewed: false,
        })
    }
}

fn dosage_column(ds: &Dataset, name: &str) -> Option<FrameColumn> {
    let g = ds.genotypes.as_ref()?;
    let s = g.find(name)?;
    let values = ds
        .genotype_rows
        .iter()
        .map(|&r| g.values[s].get(r))
        .collect();
    Some(FrameColumn {
        name: name.to_string(),
        kind: Kind::Dosage,
        values: Values::Numeric(values),
    })
}

fn derived_column(ds: &Dataset, name: &str) -> Option<FrameColumn> {
    let values = ds.derived(name)?;
    Some(FrameColumn {
        name: name.to_string(),
        kind: Kind::Numeric,
        values: Values::Numeric(values.to_vec()),
    })
}

fn dosage_from_data(ds: &Dataset, name: &str) -> Result<FrameColumn> {
    let col = ds.data.require(name)?;
    let mut values = Vec::with_capacity(ds.n_rows());
    for (r, cell) in ds.data_cells(col) {
        let v = crate::data::dosage::parse_dosage(cell)
            .map_err(|why| Error::data(ds.data.loc(r, col), why))?;
        values.push(v);
    }
    Ok(FrameColumn {
        name: name.to_string(),
        kind: Kind::Dosage,
        values: Values::Numeric(values),
    })
}

fn numeric_from_data(ds: &Dataset, name: &str) -> Result<FrameColumn> {
    let col = match ds.data.find(name) {
        Some(c) => c,
        // A numeric feature may be computed from the genotypes (`prs`,
        // `pc1`, …) or come from the genotype file at scoring.
        None => {
            if let Some(c) = derived_column(ds, name) {
                return Ok(c);
            }
            if let Some(mut c) = dosage_column(ds, name) {
                c.kind = Kind::Numeric;
                return Ok(c);
            }
            return Err(ds.missing_columns(vec![name.to_string()]));
        }
    };
    let mut values = Vec::with_capacity(ds.n_rows());
    for (r, cell) in ds.data_cells(col) {
        if is_missing(cell) {
            values.push(f64::NAN);
        } else {
            let v = parse_number(cell).ok_or_else(|| {
                Error::data(
                    ds.data.loc(r, col),
                    format!(
                        "`{cell}` is not a number, and the model uses this column as a number{}",
                        crate::data::table::decimal_comma_hint(cell)
                    ),
                )
            })?;
            if v.abs() > MAX_VALUE {
                return Err(Error::data(
                    ds.data.loc(r, col),
                    format!(
                        "`{cell}` is too large to use (beyond ±{MAX_VALUE:e}, its square overflows): check the cell and its units, or leave the column out with --exclude"
                    ),
                ));
            }
            values.push(v);
        }
    }
    Ok(FrameColumn {
        name: name.to_string(),
        kind: Kind::Numeric,
        values: Values::Numeric(values),
    })
}

fn categorical_column(ds: &Dataset, col: usize) -> FrameColumn {
    let mut levels: Vec<String> = Vec::new();
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut codes = Vec::with_capacity(ds.n_rows());
    for (_, cell) in ds.data_cells(col) {
        if is_missing(cell) {
            codes.push(MISSING_CODE);
            continue;
        }
        let next = index.len() as u32;
        let code = *index.entry(cell).or_insert_with(|| {
            levels.push(cell.to_string());
            next
        });
        codes.push(code);
    }
    FrameColumn {
        name: ds.data.header[col].clone(),
        kind: Kind::Categorical,
        values: Values::Categorical { codes, levels },
    }
}

/// Share of numeric cells above which a column is taken as numeric and its
/// remaining words reported as errors.
const NUMERIC_SHARE: f64 = 0.8;

fn infer_data_column(ds: &Dataset, col: usize, forced: bool) -> Result<Option<FrameColumn>> {
    let name = &ds.data.header[col];
    let mut present = 0usize;
    let mut numeric = 0usize;
    let mut first_word: Option<(usize, &str)> = None;
    let mut distinct = BTreeSet::new();
    let (mut comma_numbers, mut first_comma) = (0usize, None);
    for (r, cell) in ds.data_cells(col) {
        if is_missing(cell) {
            continue;
        }
        present += 1;
        if parse_number(cell).is_some() {
            numeric += 1;
        } else {
            if crate::data::table::decimal_comma_number(cell).is_some() {
                comma_numbers += 1;
                first_comma.get_or_insert((r, cell));
            }
            if first_word.is_none() {
                first_word = Some((r, cell));
            }
        }
        if distinct.len() < 3 {
            distinct.insert(cell);
        }
    }
    if present == 0 {
        return Ok(None);
    }
    if let (false, Some((r, cell))) = (forced, first_comma) {
        if numeric + comma_numbers == present {
            return Err(Error::data(
                ds.data.loc(r, col),
                format!(
                    "`{cell}` and {} more values of this column look like numbers written with a decimal comma: pass --decimal comma to read them as numbers (or --categorical {name} to keep them as text)",
                    comma_numbers - 1
                ),
            ));
        }
    }
    if forced || numeric == 0 {
        return Ok(Some(categorical_column(ds, col)));
    }
    if numeric == present {
        return numeric_from_data(ds, name).map(Some);
    }
    let share = numeric as f64 / present as f64;
    if share >= NUMERIC_SHARE {
        let (r, cell) = first_word.expect("a non-numeric cell exists");
        return Err(Error::data(
            ds.data.loc(r, col),
            format!(
                "`{cell}` is not a number, but {numeric} of {present} values in this column are \
                 (fix the cell, use a missing token such as NA, or pass --categorical {name})"
            ),
        ));
    }
    Ok(Some(categorical_column(ds, col)))
}
