//! Applying a bundle to a labelled file: read and join the files, read the
//! outcome under the bundle's rule, and assign every patient to the arm they
//! received. Shared by `evaluate`, `explain` and `report` (and by anything
//! that needs each patient's probability under every arm).

use std::collections::BTreeMap;

use crate::bundle::{Arm, Bundle};
use crate::data::{is_missing, Dataset, FileInfo, ReadOptions, Target};
use crate::error::{quote_all, Error, Location, Result};
use crate::features::pipeline::Unusual;
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
        // Unseen category levels and values ≤ 0 of log-transformed
        // features, as `score` reports them.
        let rows: Vec<usize> = (0..data.ds.n_rows()).collect();
        let (_, unseen) = predict_all(bundle, &data.frame, &rows)?;
        for (what, n) in &unseen {
            notes.warn(what.warning(file, *n));
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
    let mut unseen: BTreeMap<Unusual, usize> = BTreeMap::new();
    for chunk in rows.chunks(PREDICT_BATCH) {
        let (x, notes) = arm.pipeline.transform(frame, chunk)?;
        check_inputs(arm, frame, chunk, x.view())?;
        let x = arm.design.expand(x);
        p.extend(arm.model.predict_proba(x.view())?.iter());
        for (what, n) in notes.unusual {
            *unseen.entry(what).or_insert(0) += n;
        }
    }
    let notes = TransformNotes {
        unusual: unseen.into_iter().collect(),
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

/// Arms' checked pipeline outputs for `rows` of a frame, computed once to
/// score the same rows again with one input column shuffled among them
/// (permutation importance). Each pipeline feature maps one column's value
/// to its outputs value by value, so shuffling the column shuffles its
/// outputs alike: only those move, instead of every input of every patient
/// being transformed and checked again per shuffle. The predictions are the
/// same numbers as from a frame with the column shuffled (a test checks
/// them bit for bit).
pub(crate) struct Outputs<'a> {
    arms: Vec<&'a Arm>,
    /// `x[a]`: arm `a`'s outputs, one row per entry of `rows`.
    x: Vec<ndarray::Array2<f64>>,
    /// The frame's column names, to find which outputs a column moves.
    names: Vec<String>,
}

impl<'a> Outputs<'a> {
    /// Transforms and checks `rows` of `frame` for each of `arms`.
    pub(crate) fn new(arms: Vec<&'a Arm>, frame: &Frame, rows: &[usize]) -> Result<Self> {
        let mut x = Vec::with_capacity(arms.len());
        for arm in &arms {
            let mut m = ndarray::Array2::<f64>::zeros((rows.len(), arm.pipeline.width()));
            let mut at = 0;
            for chunk in rows.chunks(PREDICT_BATCH) {
                let (c, _) = arm.pipeline.transform(frame, chunk)?;
                check_inputs(arm, frame, chunk, c.view())?;
                m.slice_mut(ndarray::s![at..at + chunk.len(), ..])
                    .assign(&c);
                at += chunk.len();
            }
            x.push(m);
        }
        Ok(Outputs {
            arms,
            x,
            names: frame.columns.iter().map(|c| c.name.clone()).collect(),
        })
    }

    /// Runs `f` with frame column `column`'s values shuffled among the
    /// rows (row `i` takes the value of row `perm[i]`), then restores them.
    pub(crate) fn with_shuffled<T>(
        &mut self,
        column: usize,
        perm: &[usize],
        f: impl FnOnce(&Self) -> Result<T>,
    ) -> Result<T> {
        let name = &self.names[column];
        // The pipelines read the first column of a name.
        let first = self.names.iter().position(|n| n == name) == Some(column);
        let blocks: Vec<Option<(usize, usize)>> = self
            .arms
            .iter()
            .map(|arm| {
                let mut offset = 0;
                for feature in &arm.pipeline.features {
                    if feature.name() == name {
                        return first.then_some((offset, feature.width()));
                    }
                    offset += feature.width();
                }
                None
            })
            .collect();
        let mut saved = Vec::with_capacity(blocks.len());
        for (x, block) in self.x.iter_mut().zip(&blocks) {
            saved.push(block.map(|(o, w)| {
                let original = x.slice(ndarray::s![.., o..o + w]).to_owned();
                for (i, &from) in perm.iter().enumerate() {
                    x.slice_mut(ndarray::s![i, o..o + w])
                        .assign(&original.row(from));
                }
                original
            }));
        }
        let out = f(self);
        for ((x, block), original) in self.x.iter_mut().zip(&blocks).zip(saved) {
            if let (Some((o, w)), Some(original)) = (block, original) {
                x.slice_mut(ndarray::s![.., *o..*o + *w]).assign(&original);
            }
        }
        out
    }

    /// P(responder) under arm `a` (the index in this set of arms), as
    /// [`predict_arm`] computes it.
    pub(crate) fn predict_arm(&self, a: usize) -> Result<Vec<f64>> {
        let (arm, x) = (self.arms[a], &self.x[a]);
        let mut p = Vec::with_capacity(x.nrows());
        let mut at = 0;
        while at < x.nrows() {
            let end = (at + PREDICT_BATCH).min(x.nrows());
            let chunk = x.slice(ndarray::s![at..end, ..]);
            let probs = match arm.design {
                crate::bundle::Design::PerArm => arm.model.predict_proba(chunk)?,
                _ => arm
                    .model
                    .predict_proba(arm.design.expand(chunk.to_owned()).view())?,
            };
            p.extend(probs.iter());
            at = end;
        }
        Ok(p)
    }

    /// P(responder) under every arm of `bundle`, as [`predict_all`]
    /// computes it; the outputs must hold all of the bundle's arms.
    pub(crate) fn predict_all(&self, bundle: &Bundle) -> Result<Vec<Vec<f64>>> {
        let mut probs = Vec::with_capacity(self.arms.len());
        for (a, arm) in self.arms.iter().enumerate() {
            probs.push(
                self.predict_arm(a)
                    .map_err(|e| blame_model(bundle, arm, e))?,
            );
        }
        if let Some(effect) = &bundle.effect {
            let z = &self.x[effect.control];
            let mut at = 0;
            while at < z.nrows() {
                let end = (at + PREDICT_BATCH).min(z.nrows());
                effect.apply(z.slice(ndarray::s![at..end, ..]), &mut probs, at);
                at = end;
            }
        }
        Ok(probs)
    }
}

/// One probability vector per arm, and the unusual values met (unseen
/// category levels, values ≤ 0 of log-transformed features).
pub(crate) type ArmPredictions = (Vec<Vec<f64>>, BTreeMap<Unusual, usize>);

/// A fit error met while predicting: a model that computes nonsense, so
/// the bundle (file and arm named) is at fault.
fn blame_model(bundle: &Bundle, arm: &Arm, e: Error) -> Error {
    match e {
        Error::Fit(m) => Error::Model {
            file: bundle.file.clone(),
            message: format!("arm `{}`: {m}", arm.label()),
        },
        other => other,
    }
}

/// P(responder) under every arm of `bundle` for `rows` (one vector per arm),
/// with the count of unseen category levels per feature (largest over arms).
pub(crate) fn predict_all(
    bundle: &Bundle,
    frame: &Frame,
    rows: &[usize],
) -> Result<ArmPredictions> {
    let mut probs = Vec::with_capacity(bundle.arms.len());
    let mut unseen: BTreeMap<Unusual, usize> = BTreeMap::new();
    for arm in &bundle.arms {
        let (p, notes) = predict_arm(arm, frame, rows).map_err(|e| blame_model(bundle, arm, e))?;
        for (what, n) in notes.unusual {
            let e = unseen.entry(what).or_insert(0);
            *e = (*e).max(n);
        }
        probs.push(p);
    }
    if let Some(effect) = &bundle.effect {
        let control = &bundle.arms[effect.control];
        let mut at = 0;
        for chunk in rows.chunks(PREDICT_BATCH) {
            let (z, _) = control.pipeline.transform(frame, chunk)?;
            effect.apply(z.view(), &mut probs, at);
            at += chunk.len();
        }
    }
    Ok((probs, unseen))
}

/// Position of the pair of arms `a < b` among the `k(k−1)/2` pairs of `k`
/// arms ordered (0,1), (0,2), …, (1,2), ….
pub(crate) fn pair_index(k: usize, a: usize, b: usize) -> usize {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    a * k - a * (a + 1) / 2 + (b - a - 1)
}

/// For every pair of arms `a < b` (in [`pair_index`] order), each patient's
/// standard deviation over the bundle's bootstrap replicates of
/// p(under a) − p(under b): the bootstrap standard error of the predicted
/// effect (Efron & Tibshirani 1993, eq. 6.6). Empty when the bundle has no
/// replicates.
pub(crate) fn replicate_sds(
    bundle: &Bundle,
    frame: &Frame,
    rows: &[usize],
) -> Result<Vec<Vec<f64>>> {
    let k = bundle.arms.len();
    let reps = bundle.replicate_count();
    if reps < 2 {
        return Ok(Vec::new());
    }
    let n = rows.len();
    // p[a][b]: replicate b's predictions under arm a (for a DR-learner,
    // replicate b's effect against control, 0 for the control itself).
    let p = match &bundle.effect {
        Some(effect) if !effect.forests.is_empty() && !effect.forest_offset() => {
            return forest_sds(bundle, effect, frame, rows, None)
        }
        Some(effect) if !effect.forests.is_empty() => {
            // The T-learner's part from the outcome models' replicates,
            // the correction's from the little bags.
            let t = pair_sds(&arm_replicates(bundle, frame, rows, reps)?, k, n, reps);
            return forest_sds(bundle, effect, frame, rows, Some(t));
        }
        Some(effect) => effect_replicates(bundle, effect, frame, rows)?,
        None => arm_replicates(bundle, frame, rows, reps)?,
    };
    Ok(pair_sds(&p, k, n, reps))
}

/// For every pair of the `k` arms (in [`pair_index`] order), each of the
/// `n` patients' SD over `reps` replicates `p[arm][replicate][patient]`
/// of the difference.
fn pair_sds(p: &[Vec<Vec<f64>>], k: usize, n: usize, reps: usize) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(k * k.saturating_sub(1) / 2);
    let mut d = vec![0.0; reps];
    for a in 0..k {
        for c in a + 1..k {
            let sd = (0..n)
                .map(|i| {
                    for (b, v) in d.iter_mut().enumerate() {
                        *v = p[a][b][i] - p[c][b][i];
                    }
                    let mean = d.iter().sum::<f64>() / reps as f64;
                    let ss: f64 = d.iter().map(|v| (v - mean) * (v - mean)).sum();
                    (ss / (reps - 1) as f64).sqrt()
                })
                .collect();
            out.push(sd);
        }
    }
    out
}

/// Pair SDs of a causal-forest bundle: the little-bags variance of each
/// arm's effect against the control; for two non-control arms, the sum of
/// their variances. Both forests use the control's patients, so their
/// errors are positively correlated and the sum overstates the variance of
/// the difference: that interval is conservative. With `t_sds` (a forest
/// correcting the T-learner's effect) each pair's variance also has the
/// T-learner effect's bootstrap variance (the two are taken as independent).
fn forest_sds(
    bundle: &Bundle,
    effect: &crate::bundle::EffectModel,
    frame: &Frame,
    rows: &[usize],
    t_sds: Option<Vec<Vec<f64>>>,
) -> Result<Vec<Vec<f64>>> {
    let k = bundle.arms.len();
    let mut var = vec![Vec::with_capacity(rows.len()); k];
    let control = &bundle.arms[effect.control];
    for chunk in rows.chunks(PREDICT_BATCH) {
        let (z, _) = control.pipeline.transform(frame, chunk)?;
        for (a, v) in effect.forest_effects(z.view(), k).into_iter().enumerate() {
            var[a].extend(v.into_iter().map(|(_, s2)| s2));
        }
    }
    let mut out = Vec::with_capacity(k * k.saturating_sub(1) / 2);
    for a in 0..k {
        for b in a + 1..k {
            let t = t_sds.as_ref().map(|t| &t[pair_index(k, a, b)]);
            out.push(
                var[a]
                    .iter()
                    .zip(&var[b])
                    .enumerate()
                    .map(|(i, (x, y))| (x + y + t.map_or(0.0, |t| t[i] * t[i])).sqrt())
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// Each arm's replicate effects against the control of a DR-learner
/// (zeros for the control): replicate b of the final stage applied to the
/// T-learner effect of replicate b of the outcome models.
fn effect_replicates(
    bundle: &Bundle,
    effect: &crate::bundle::EffectModel,
    frame: &Frame,
    rows: &[usize],
) -> Result<Vec<Vec<Vec<f64>>>> {
    let reps = effect.replicates();
    let mu = arm_replicates(bundle, frame, rows, reps)?;
    let c = effect.control;
    let mut p = vec![vec![vec![0.0; rows.len()]; reps]; bundle.arms.len()];
    let control = &bundle.arms[c];
    let mut at = 0;
    for chunk in rows.chunks(PREDICT_BATCH) {
        let (z, _) = control.pipeline.transform(frame, chunk)?;
        let range = at..at + chunk.len();
        let props = effect.propensities(z.view());
        for e in &effect.arms {
            for b in 0..e.replicates.len() {
                let fix = e.correction(
                    z.view(),
                    Some(b),
                    props.as_deref(),
                    (c, effect.propensity_floor),
                );
                for (i, (r, f)) in range.clone().zip(fix).enumerate() {
                    p[e.arm][b][at + i] = mu[e.arm][b][r] - mu[c][b][r] + f;
                }
            }
        }
        at += chunk.len();
    }
    Ok(p)
}

/// Each arm's replicate models' predictions.
fn arm_replicates(
    bundle: &Bundle,
    frame: &Frame,
    rows: &[usize],
    reps: usize,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let n = rows.len();
    let mut p: Vec<Vec<Vec<f64>>> = Vec::with_capacity(bundle.arms.len());
    for arm in &bundle.arms {
        let mut per = vec![Vec::with_capacity(n); reps];
        for chunk in rows.chunks(PREDICT_BATCH) {
            let (x, _) = arm.pipeline.transform(frame, chunk)?;
            check_inputs(arm, frame, chunk, x.view())?;
            let x = arm.design.expand(x);
            for (b, model) in arm.replicates.iter().enumerate() {
                let pb = model.predict_proba(x.view()).map_err(|e| Error::Model {
                    file: bundle.file.clone(),
                    message: format!("arm `{}`, replicate {b}: {e}", arm.label()),
                })?;
                per[b].extend(pb.iter());
            }
        }
        p.push(per);
    }
    Ok(p)
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
            log_skewed: false,
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
            replicates: Vec::new(),
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

    #[test]
    fn pairs_are_numbered_in_order() {
        let k = 4;
        let mut expected = 0;
        for a in 0..k {
            for b in a + 1..k {
                assert_eq!(pair_index(k, a, b), expected);
                assert_eq!(pair_index(k, b, a), expected);
                expected += 1;
            }
        }
    }
}
