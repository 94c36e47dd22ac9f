//! Explaining a fitted arm: the coefficients of a linear model as odds
//! ratios, permutation importance for any model, and one patient's
//! contributions.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::bundle::Arm;
use crate::error::Result;
use crate::eval::apply::predict_arm;
use crate::eval::metrics::{auc, mean_sd};
use crate::features::frame::{Values, MISSING_CODE};
use crate::features::{FittedFeature, Frame};
use crate::models::logistic::LogisticModel;

/// One model input's coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    /// The model input: `name`, or `name=level` for a category's indicator.
    pub input: String,
    /// The input column it comes from.
    pub feature: String,
    /// Log-odds change per 1 SD of the input (inputs are standardised).
    pub coefficient: f64,
    /// `exp(coefficient)`: the odds ratio per 1 SD.
    pub odds_ratio: f64,
}

/// The coefficients of a logistic arm on the pipeline's output names,
/// largest |coefficient| first (ties keep pipeline order).
pub fn coefficients(arm: &Arm, model: &LogisticModel) -> Vec<Coefficient> {
    let mut features = Vec::new();
    for f in &arm.pipeline.features {
        features.extend(std::iter::repeat_n(f.name().to_string(), f.width()));
    }
    let mut out: Vec<Coefficient> = arm
        .pipeline
        .output_names()
        .into_iter()
        .zip(features)
        .zip(&model.coefficients)
        .map(|((input, feature), &c)| Coefficient {
            input,
            feature,
            coefficient: c,
            odds_ratio: c.exp(),
        })
        .collect();
    out.sort_by(|a, b| b.coefficient.abs().total_cmp(&a.coefficient.abs()));
    out
}

/// Permutation importance of one input column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Importance {
    /// The input column.
    pub feature: String,
    /// Mean drop in AUC when the column is shuffled.
    pub auc_drop_mean: f64,
    /// Sample standard deviation of the drop over the repeats.
    pub auc_drop_sd: f64,
}

/// Permutation importance of every input column on `rows` (labels `y`):
/// the AUC with the column's values shuffled among those rows, `repeats`
/// times, subtracted from the unshuffled AUC. A categorical column moves as
/// one (all its indicators together). Returns the unshuffled AUC and the
/// importances, largest mean drop first; `None` when a class is absent.
pub fn permutation_importance(
    arm: &Arm,
    frame: &Frame,
    rows: &[usize],
    y: &[bool],
    repeats: usize,
    seed: u64,
) -> Result<Option<(f64, Vec<Importance>)>> {
    let (p, _) = predict_arm(arm, frame, rows)?;
    let Some(base) = auc(&p, y) else {
        return Ok(None);
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut work = frame.clone();
    let mut out = Vec::with_capacity(arm.pipeline.features.len());
    for f in &arm.pipeline.features {
        let Some(c) = work.columns.iter().position(|c| c.name == f.name()) else {
            continue;
        };
        let original = work.columns[c].values.clone();
        let mut drops = Vec::with_capacity(repeats);
        let mut perm: Vec<usize> = (0..rows.len()).collect();
        for _ in 0..repeats {
            perm.shuffle(&mut rng);
            work.columns[c].values = permuted(&original, rows, &perm);
            let (pp, _) = predict_arm(arm, &work, rows)?;
            drops.push(base - auc(&pp, y).unwrap_or(f64::NAN));
        }
        work.columns[c].values = original;
        let (m, sd) = mean_sd(&drops);
        out.push(Importance {
            feature: f.name().to_string(),
            auc_drop_mean: m,
            auc_drop_sd: sd,
        });
    }
    out.sort_by(|a, b| b.auc_drop_mean.total_cmp(&a.auc_drop_mean));
    Ok(Some((base, out)))
}

/// A copy of `values` where `rows[i]` takes the value of `rows[perm[i]]`.
fn permuted(values: &Values, rows: &[usize], perm: &[usize]) -> Values {
    match values {
        Values::Numeric(v) => {
            let mut out = v.clone();
            for (i, &r) in rows.iter().enumerate() {
                out[r] = v[rows[perm[i]]];
            }
            Values::Numeric(out)
        }
        Values::Categorical { codes, levels } => {
            let mut out = codes.clone();
            for (i, &r) in rows.iter().enumerate() {
                out[r] = codes[rows[perm[i]]];
            }
            Values::Categorical {
                codes: out,
                levels: levels.clone(),
            }
        }
    }
}

/// One input column's contribution to one patient's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The input column.
    pub feature: String,
    /// The patient's value as read (`NA` when missing).
    pub value: String,
    /// Linear models: log-odds contribution (sum over a category's
    /// indicators of coefficient × standardised value). Other models: change
    /// in probability relative to that column set to missing.
    pub contribution: f64,
}

/// The patient's value of a column, as text.
pub fn raw_value(frame: &Frame, feature: &str, row: usize) -> String {
    match frame
        .columns
        .iter()
        .find(|c| c.name == feature)
        .map(|c| &c.values)
    {
        Some(Values::Numeric(v)) if !v[row].is_nan() => format!("{}", v[row]),
        Some(Values::Categorical { codes, levels }) if codes[row] != MISSING_CODE => {
            levels[codes[row] as usize].clone()
        }
        _ => "NA".into(),
    }
}

/// Exact log-odds contributions of a linear arm for joined row `row`:
/// intercept + Σ contributions = the patient's logit. Largest |contribution|
/// first. Returns the intercept and the contributions.
pub fn linear_contributions(
    arm: &Arm,
    model: &LogisticModel,
    frame: &Frame,
    row: usize,
) -> Result<(f64, Vec<Contribution>)> {
    let (x, _) = arm.pipeline.transform(frame, &[row])?;
    let mut out = Vec::with_capacity(arm.pipeline.features.len());
    let mut offset = 0;
    for f in &arm.pipeline.features {
        let w = f.width();
        let c: f64 = (offset..offset + w)
            .map(|j| model.coefficients[j] * x[[0, j]])
            .sum();
        out.push(Contribution {
            feature: f.name().to_string(),
            value: raw_value(frame, f.name(), row),
            contribution: c,
        });
        offset += w;
    }
    sort_contributions(&mut out);
    Ok((model.intercept, out))
}

/// Approximate contributions for any model: for each input column, the
/// patient's probability minus the probability with that column set to
/// missing (so the pipeline imputes it: the training median or mean, or the
/// `missing` level of a category). Largest |change| first.
pub fn reference_contributions(arm: &Arm, frame: &Frame, row: usize) -> Result<Vec<Contribution>> {
    let (p, _) = predict_arm(arm, frame, &[row])?;
    let mut work = frame.clone();
    let mut out = Vec::with_capacity(arm.pipeline.features.len());
    for f in &arm.pipeline.features {
        let Some(c) = work.columns.iter().position(|c| c.name == f.name()) else {
            continue;
        };
        let original = work.columns[c].values.clone();
        work.columns[c].values = with_missing(&original, row);
        let (q, _) = predict_arm(arm, &work, &[row])?;
        work.columns[c].values = original;
        out.push(Contribution {
            feature: f.name().to_string(),
            value: raw_value(frame, f.name(), row),
            contribution: p[0] - q[0],
        });
    }
    sort_contributions(&mut out);
    Ok(out)
}

fn with_missing(values: &Values, row: usize) -> Values {
    let mut v = values.clone();
    match &mut v {
        Values::Numeric(x) => x[row] = f64::NAN,
        Values::Categorical { codes, .. } => codes[row] = MISSING_CODE,
    }
    v
}

fn sort_contributions(v: &mut [Contribution]) {
    v.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
}

/// The imputation applied to a missing value of a feature, in words.
pub fn missing_handling(f: &FittedFeature) -> String {
    match f {
        FittedFeature::Numeric { impute, .. } => format!("training median ({impute})"),
        FittedFeature::Dosage { impute, .. } => format!("training mean dosage ({impute:.4})"),
        FittedFeature::Categorical { levels, .. } => {
            if levels
                .iter()
                .any(|l| l == crate::features::pipeline::MISSING_LEVEL)
            {
                "its own level `missing`".into()
            } else {
                "level `missing` (not seen in training: all indicators 0)".into()
            }
        }
    }
}
