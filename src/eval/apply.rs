//! Applying a bundle to a labelled file: read and join the files, read the
//! outcome under the bundle's rule, and assign every patient to the arm they
//! received. Shared by `evaluate`, `explain` and `report` (and by anything
//! that needs each patient's probability under every arm).

use std::collections::BTreeMap;

use crate::bundle::{Arm, Bundle};
use crate::data::{is_missing, Dataset, FileInfo, ReadOptions, Target};
use crate::error::{quote_all, Error, Location, Result};
use crate::features::{Frame, TransformNotes};
use crate::models::MAX_INPUT;
use crate::notes::Notes;

/// The labelled files to judge a bundle on (a validated configuration).
#[derive(Debug, Clone)]
pub(crate) struct EvalFiles {
    /// The clinical file with the outcome.
    pub(crate) data: String,
    /// The genotype file, if any.
    pub(crate) genotypes: Option<String>,
    /// The ID column and delimiters.
    pub(crate) read: ReadOptions,
    /// The outcome column (read with the bundle's rule).
    pub(crate) target: String,
}

/// The first evaluation file that is a data file the bundle was trained on
/// (same SHA-256): its results are apparent performance, not validation.
pub(crate) fn trained_on<'a>(bundle: &Bundle, files: &'a [FileInfo]) -> Option<&'a FileInfo> {
    files.iter().find(|f| {
        f.role == "data"
            && bundle
                .training
                .files
                .iter()
                .any(|t| t.role == "data" && t.sha256 == f.sha256)
    })
}

/// The bundle's cross-fitted probabilities (one vector per arm) of the
/// patients at `rows`; every one of them must be a training patient.
pub(crate) fn cross_fitted_rows(
    bundle: &Bundle,
    model: &str,
    data: &LabelledData,
    rows: &[usize],
) -> Result<Vec<Vec<f64>>> {
    let cf = bundle.cross_fitted_or_error(model)?;
    let index: std::collections::HashMap<&str, usize> = cf
        .ids
        .iter()
        .enumerate()
        .map(|(k, id)| (id.as_str(), k))
        .collect();
    let mut missing = 0;
    let mut p = vec![Vec::with_capacity(rows.len()); bundle.arms.len()];
    for &i in rows {
        match index.get(data.ds.id(i)) {
            Some(&k) => {
                for (a, pa) in p.iter_mut().enumerate() {
                    pa.push(cf.p[a][k]);
                }
            }
            None => missing += 1,
        }
    }
    if missing > 0 {
        return Err(Error::data(
            Location::file(&data.ds.data.file),
            format!(
                "{missing} patients are not among the bundle's {} cross-fitted training patients; --cross-fitted only judges the training patients",
                cf.ids.len()
            ),
        ));
    }
    Ok(p)
}

/// How many evaluated patients the model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Overlap {
    /// Evaluated patients who were training patients.
    pub(crate) in_training: usize,
    /// Evaluated patients.
    pub(crate) evaluated: usize,
    /// How it was found: `id-hash` (the bundle's salted training IDs) or
    /// `same-file` (an older bundle: the training data file itself).
    pub(crate) method: &'static str,
}

impl Overlap {
    /// The marker every output carries when any patient was in training.
    pub(crate) fn marker(&self) -> Option<String> {
        (self.in_training > 0).then(|| {
            format!(
                "apparent performance ({} of {} patients were in training)",
                self.in_training, self.evaluated
            )
        })
    }
}

/// How many of the patients at `rows` of `data` the bundle was trained on;
/// `None` when the bundle keeps no ID hashes and the file is not its
/// training file.
pub(crate) fn overlap(bundle: &Bundle, data: &LabelledData, rows: &[usize]) -> Option<Overlap> {
    match &bundle.training.id_hashes {
        Some(h) => Some(Overlap {
            in_training: rows.iter().filter(|&&i| h.contains(data.ds.id(i))).count(),
            evaluated: rows.len(),
            method: "id-hash",
        }),
        None => trained_on(bundle, &data.ds.files).map(|_| Overlap {
            in_training: rows.len(),
            evaluated: rows.len(),
            method: "same-file",
        }),
    }
}

/// A labelled evaluation file, prepared for a bundle.
#[derive(Debug, Clone)]
pub(crate) struct LabelledData {
    /// The joined files.
    pub(crate) ds: Dataset,
    /// The bundle's feature columns, read by name.
    pub(crate) frame: Frame,
    /// The target column's name in this file.
    pub(crate) target_column: String,
    /// Responder status per joined row (`None`: missing label).
    pub(crate) y: Vec<Option<bool>>,
    /// Index of the arm each joined row received (`None`: no usable arm).
    /// Bundles without a therapy column put every row in arm 0.
    pub(crate) arm_of: Vec<Option<usize>>,
    /// Rows whose outcome is missing (left out).
    pub(crate) n_missing_target: usize,
    /// Notes on the genotypes (SNPs flipped to the training file's alleles).
    pub(crate) genotype_notes: Vec<String>,
    /// Labelled rows whose therapy is missing (left out).
    pub(crate) n_missing_therapy: usize,
    /// Labelled rows whose therapy is not an arm of the bundle, by therapy.
    pub(crate) unknown_therapy: BTreeMap<String, usize>,
}

impl LabelledData {
    /// Reads `data` (and `genotypes`) for `bundle`, with the outcome in
    /// `target_column` read under the bundle's rule. A file with one class
    /// is accepted; a missing feature, target or therapy column is an error.
    pub(crate) fn load(
        bundle: &Bundle,
        data: &str,
        genotypes: Option<&str>,
        opts: &ReadOptions,
        target_column: &str,
    ) -> Result<LabelledData> {
        let ds = Dataset::load(data, genotypes, opts)?;
        LabelledData::from_dataset(bundle, ds, target_column)
    }

    /// As [`LabelledData::load`], for files already read.
    pub(crate) fn from_dataset(
        bundle: &Bundle,
        ds: Dataset,
        target_column: &str,
    ) -> Result<LabelledData> {
        let mut ds = ds;
        let genotype_notes = bundle.prepare_genotypes(&mut ds)?;
        let target = Target::read_labels(&ds, target_column, &bundle.target.rule)?;
        let therapy_col = match &bundle.therapy_column {
            Some(c) => Some(ds.data.require(c)?),
            None => None,
        };
        let frame = Frame::from_schema(&ds, &bundle.features)?;
        let names: Vec<Option<&str>> = bundle.arms.iter().map(|a| a.therapy.as_deref()).collect();
        let mut arm_of = Vec::with_capacity(ds.n_rows());
        let mut n_missing_therapy = 0;
        let mut unknown_therapy = BTreeMap::new();
        for (i, y) in target.values.iter().enumerate() {
            let arm = match therapy_col {
                None => Some(0),
                Some(c) => {
                    let cell = &ds.data.columns[c][ds.data_rows[i]];
                    if is_missing(cell) {
                        if y.is_some() {
                            n_missing_therapy += 1;
                        }
                        None
                    } else {
                        let hit = names.iter().position(|n| *n == Some(cell));
                        if hit.is_none() && y.is_some() {
                            *unknown_therapy.entry(cell.to_string()).or_insert(0) += 1;
                        }
                        hit
                    }
                }
            };
            arm_of.push(arm);
        }
        Ok(LabelledData {
            ds,
            frame,
            target_column: target_column.to_string(),
            y: target.values,
            arm_of,
            n_missing_target: target.n_missing,
            genotype_notes,
            n_missing_therapy,
            unknown_therapy,
        })
    }

    /// Reads `files` for `bundle` as [`LabelledData::load`] does, noting
    /// what was left out and category levels never seen in training; an
    /// error when no labelled patient received an arm of the bundle.
    pub(crate) fn open(
        bundle: &Bundle,
        files: &EvalFiles,
        notes: &mut Notes,
    ) -> Result<LabelledData> {
        let data = LabelledData::load(
            bundle,
            &files.data,
            files.genotypes.as_deref(),
            &files.read,
            &files.target,
        )?;
        if let Some(msg) = data.ds.join_message() {
            notes.info(msg);
        }
        for note in &data.genotype_notes {
            notes.info(note.clone());
        }
        let file = &data.ds.data.file;
        if data.n_missing_target > 0 {
            notes.info(format!(
                "{file}: {} patients with a missing `{}` are left out",
                data.n_missing_target, files.target
            ));
        }
        if data.n_missing_therapy > 0 {
            notes.info(format!(
                "{file}: {} labelled patients with a missing `{}` are left out",
                data.n_missing_therapy,
                bundle.therapy_column.as_deref().unwrap_or("therapy")
            ));
        }
        // Unseen category levels, as `score` reports them.
        let rows: Vec<usize> = (0..data.ds.n_rows()).collect();
        let (_, unseen) = predict_all(bundle, &data.frame, &rows)?;
        for (feature, n) in &unseen {
            notes.warn(format!(
                "{file}: {n} patients have a `{feature}` level the model never saw in training; scored as all-zeros for it"
            ));
        }
        if (0..bundle.arms.len()).all(|a| data.arm_rows(a).0.is_empty()) {
            return Err(Error::data(
                Location::file(file),
                format!(
                    "no labelled patient received an arm of the model (arms: {})",
                    quote_all(bundle.arm_names())
                ),
            ));
        }
        Ok(data)
    }

    /// Labelled rows that received arm `a`, with their labels.
    pub(crate) fn arm_rows(&self, a: usize) -> (Vec<usize>, Vec<bool>) {
        (0..self.y.len())
            .filter_map(|i| match (self.arm_of[i], self.y[i]) {
                (Some(arm), Some(y)) if arm == a => Some((i, y)),
                _ => None,
            })
            .unzip()
    }
}

/// Rows transformed and predicted at a time: the model matrix of a large
/// file never exists whole, and each piece (256 rows × inputs) stays in
/// the core's cache between being filled and being read by the model.
pub(crate) const PREDICT_BATCH: usize = 256;

/// P(responder) under `arm` for `rows` of `frame`, in batches of
/// [`PREDICT_BATCH`] rows.
pub(crate) fn predict_arm(
    arm: &Arm,
    frame: &Frame,
    rows: &[usize],
) -> Result<(Vec<f64>, TransformNotes)> {
    let mut p = Vec::with_capacity(rows.len());
    let mut unseen: BTreeMap<String, usize> = BTreeMap::new();
    for chunk in rows.chunks(PREDICT_BATCH) {
        let (x, notes) = arm.pipeline.transform(frame, chunk)?;
        check_inputs(arm, frame, chunk, x.view())?;
        let x = arm.design.expand(x);
        p.extend(arm.model.predict_proba(x.view())?.iter());
        for (feature, n) in notes.unseen_levels {
            *unseen.entry(feature).or_insert(0) += n;
        }
    }
    let notes = TransformNotes {
        unseen_levels: unseen.into_iter().collect(),
    };
    Ok((p, notes))
}

/// Refuses a standardised input that is not a number or lies beyond
/// [`MAX_INPUT`] training SDs, naming the file, line, column and value.
fn check_inputs(
    arm: &Arm,
    frame: &Frame,
    rows: &[usize],
    x: ndarray::ArrayView2<f64>,
) -> Result<()> {
    let Some((k, v)) = x
        .iter()
        .enumerate()
        .find(|(_, v)| v.is_nan() || v.abs() > MAX_INPUT)
    else {
        return Ok(());
    };
    let (i, j) = (k / x.ncols().max(1), k % x.ncols().max(1));
    // The input column of model input j.
    let mut feature = "";
    let mut start = 0;
    for f in &arm.pipeline.features {
        if j < start + f.width() {
            feature = f.name();
            break;
        }
        start += f.width();
    }
    Err(Error::data(
        frame.source.location(rows[i], feature),
        format!(
            "arm `{}`: the value becomes {v:e} after standardising, beyond ±{MAX_INPUT:e} training standard deviations: check the cell",
            arm.label()
        ),
    ))
}

/// One probability vector per arm, and unseen category levels per feature.
pub(crate) type ArmPredictions = (Vec<Vec<f64>>, BTreeMap<String, usize>);

/// P(responder) under every arm of `bundle` for `rows` (one vector per arm),
/// with the count of unseen category levels per feature (largest over arms).
pub(crate) fn predict_all(
    bundle: &Bundle,
    frame: &Frame,
    rows: &[usize],
) -> Result<ArmPredictions> {
    let mut probs = Vec::with_capacity(bundle.arms.len());
    let mut unseen: BTreeMap<String, usize> = BTreeMap::new();
    for arm in &bundle.arms {
        let (p, notes) = predict_arm(arm, frame, rows).map_err(|e| match e {
            // A model that computes nonsense: the bundle is at fault.
            Error::Fit(m) => Error::Model {
                file: bundle.file.clone(),
                message: format!("arm `{}`: {m}", arm.label()),
            },
            other => other,
        })?;
        for (feature, n) in notes.unseen_levels {
            let e = unseen.entry(feature).or_insert(0);
            *e = (*e).max(n);
        }
        probs.push(p);
    }
    Ok((probs, unseen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Design;
    use crate::features::frame::{FrameColumn, Kind, Values};
    use crate::features::Pipeline;
    use crate::models::logistic::LogisticModel;
    use crate::models::{AlgorithmParams, FittedModel};

    #[test]
    fn batched_prediction_equals_one_pass() {
        let n = PREDICT_BATCH + 37;
        let frame = Frame {
            source: Default::default(),
            columns: vec![FrameColumn {
                name: "x".into(),
                kind: Kind::Numeric,
                values: Values::Numeric((0..n).map(|i| (i % 101) as f64).collect()),
            }],
        };
        let rows: Vec<usize> = (0..n).rev().collect();
        let arm = Arm {
            therapy: None,
            n,
            responders: 1,
            pipeline: Pipeline::fit(&frame, &rows).unwrap(),
            algorithm: AlgorithmParams::Logistic(Default::default()),
            tuning: None,
            design: Design::PerArm,
            model: FittedModel::Logistic(LogisticModel {
                intercept: 0.1,
                coefficients: vec![0.7],
                not_converged: false,
            }),
            cv: None,
            sample_size: None,
        };
        let (batched, _) = predict_arm(&arm, &frame, &rows).unwrap();
        let (x, _) = arm.model_inputs(&frame, &rows).unwrap();
        let whole = arm.model.predict_proba(x.view()).unwrap();
        assert_eq!(batched.len(), n);
        assert!(batched
            .iter()
            .zip(whole.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
