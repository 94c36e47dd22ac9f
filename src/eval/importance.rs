//! Explaining a fitted arm: the coefficients of a linear model as odds
//! ratios, permutation importance for any model, and one patient's
//! contributions.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::bundle::{Arm, Bundle};
use crate::error::Result;
use crate::eval::apply::{predict_all, predict_arm, LabelledData, Outputs};
use crate::eval::metrics::auc;
use crate::features::frame::{Values, MISSING_CODE};
use crate::features::{FittedFeature, Frame};
use crate::models::LinearLogit;
use crate::stats::mean_sd;

/// One model input's coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Coefficient {
    /// The model input: `name`, or `name=level` for a category's indicator.
    pub(crate) input: String,
    /// The input column it comes from.
    pub(crate) feature: String,
    /// Log-odds change per 1 SD of the input (inputs are standardised).
    pub(crate) coefficient: f64,
    /// `exp(coefficient)`: the odds ratio per 1 SD.
    pub(crate) odds_ratio: f64,
}

/// The coefficients of a linear-logit arm (see [`FittedModel::logit_linear`])
/// on the pipeline's output names, largest |coefficient| first (ties keep
/// pipeline order).
pub(crate) fn coefficients(arm: &Arm, model: &LinearLogit<'_>) -> Vec<Coefficient> {
    let mut features = Vec::new();
    for f in &arm.pipeline.features {
        features.extend(std::iter::repeat_n(f.name().to_string(), f.width()));
    }
    let mut out: Vec<Coefficient> = arm
        .pipeline
        .output_names()
        .into_iter()
        .zip(features)
        .zip(model.coefficients.iter())
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
pub(crate) struct Importance {
    /// The input column.
    pub(crate) feature: String,
    /// Mean drop in AUC when the column is shuffled.
    pub(crate) auc_drop_mean: f64,
    /// Sample standard deviation of the drop over the repeats.
    pub(crate) auc_drop_sd: f64,
}

/// Permutation importance of every arm of `bundle` on the patients of
/// `data` who received it (arms without both outcomes are skipped): the
/// arm's name, its unshuffled AUC and the importances.
pub(crate) fn importance_by_arm(
    bundle: &Bundle,
    data: &LabelledData,
    repeats: usize,
    seed: u64,
) -> Result<Vec<(String, f64, Vec<Importance>)>> {
    let names = bundle.arm_names();
    let mut out = Vec::new();
    for (a, arm) in bundle.arms.iter().enumerate() {
        let (rows, y) = data.arm_rows(a);
        if rows.is_empty() {
            continue;
        }
        let s = seed.wrapping_add(a as u64);
        if let Some((base, imp)) = permutation_importance(arm, &data.frame, &rows, &y, repeats, s)?
        {
            out.push((names[a].clone(), base, imp));
        }
    }
    Ok(out)
}

/// Permutation importance of every input column on `rows` (labels `y`):
/// the AUC with the column's values shuffled among those rows, `repeats`
/// times, subtracted from the unshuffled AUC. A categorical column moves as
/// one (all its indicators together). Returns the unshuffled AUC and the
/// importances, largest mean drop first; `None` when a class is absent.
pub(crate) fn permutation_importance(
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
    let mut out = Vec::with_capacity(arm.pipeline.features.len());
    let mut outputs = Outputs::new(vec![arm], frame, rows)?;
    for f in &arm.pipeline.features {
        let Some(c) = frame.columns.iter().position(|c| c.name == f.name()) else {
            continue;
        };
        let mut drops = Vec::with_capacity(repeats);
        let mut perm: Vec<usize> = (0..rows.len()).collect();
        for _ in 0..repeats {
            perm.shuffle(&mut rng);
            let pp = outputs.with_shuffled(c, &perm, |o| o.predict_arm(0))?;
            drops.push(base - auc(&pp, y).unwrap_or(f64::NAN));
        }
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

/// How much one input column drives one arm's predicted effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EffectImportance {
    /// The input column.
    pub(crate) feature: String,
    /// Mean over shuffles of the mean absolute change in the predicted
    /// effect when the column is shuffled among the patients.
    pub(crate) effect_change_mean: f64,
    /// Sample standard deviation of that change over the shuffles.
    pub(crate) effect_change_sd: f64,
}

/// One arm's effect importances against the control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ArmEffectImportance {
    /// The arm.
    pub(crate) arm: String,
    /// Standard deviation of the predicted effect over the patients (how
    /// much the model says the effect varies at all).
    pub(crate) effect_sd: f64,
    /// Every input column, largest mean change first.
    pub(crate) features: Vec<EffectImportance>,
}

/// Permutation importance of the predicted *effect* (p under an arm − p
/// under `control`) for every arm but the control, on `rows`: each input
/// column of the bundle is shuffled among the rows `repeats` times and the
/// mean absolute change of each patient's predicted effect is recorded
/// (Fisher, Rudin & Dominici 2019's model reliance, with the effect in place
/// of the loss). No outcome is needed; any strategy, including the
/// DR-learner, is read through its predictions.
pub(crate) fn effect_importance(
    bundle: &Bundle,
    frame: &Frame,
    rows: &[usize],
    control: usize,
    repeats: usize,
    seed: u64,
) -> Result<Vec<ArmEffectImportance>> {
    let k = bundle.arms.len();
    let effects = |p: &[Vec<f64>]| -> Vec<Vec<f64>> {
        (0..k)
            .map(|a| p[a].iter().zip(&p[control]).map(|(x, c)| x - c).collect())
            .collect()
    };
    let base = effects(&predict_all(bundle, frame, rows)?.0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    // changes[a][column] over the repeats.
    let mut per_arm: Vec<Vec<EffectImportance>> = vec![Vec::new(); k];
    let mut outputs = Outputs::new(bundle.arms.iter().collect(), frame, rows)?;
    let mut perm: Vec<usize> = (0..rows.len()).collect();
    for c in 0..frame.columns.len() {
        let mut changes = vec![Vec::with_capacity(repeats); k];
        for _ in 0..repeats {
            perm.shuffle(&mut rng);
            let tau = effects(&outputs.with_shuffled(c, &perm, |o| o.predict_all(bundle))?);
            for a in 0..k {
                let d: f64 = tau[a]
                    .iter()
                    .zip(&base[a])
                    .map(|(x, y)| (x - y).abs())
                    .sum();
                changes[a].push(d / rows.len().max(1) as f64);
            }
        }
        for a in 0..k {
            let (m, sd) = mean_sd(&changes[a]);
            per_arm[a].push(EffectImportance {
                feature: frame.columns[c].name.clone(),
                effect_change_mean: m,
                effect_change_sd: sd,
            });
        }
    }
    let names = bundle.arm_names();
    Ok((0..k)
        .filter(|&a| a != control)
        .map(|a| {
            let mut features = std::mem::take(&mut per_arm[a]);
            features.sort_by(|x, y| y.effect_change_mean.total_cmp(&x.effect_change_mean));
            ArmEffectImportance {
                arm: names[a].clone(),
                effect_sd: mean_sd(&base[a]).1,
                features,
            }
        })
        .collect())
}

/// Runs `visit` once per input column of `arm` found in `frame`, on a copy
/// of the frame that it may change (the column is restored afterwards),
/// with the column's index and its original values.
fn for_each_column(
    arm: &Arm,
    frame: &Frame,
    mut visit: impl FnMut(&FittedFeature, &mut Frame, usize, &Values) -> Result<()>,
) -> Result<()> {
    let mut work = frame.clone();
    for f in &arm.pipeline.features {
        let Some(c) = work.columns.iter().position(|c| c.name == f.name()) else {
            continue;
        };
        let original = work.columns[c].values.clone();
        visit(f, &mut work, c, &original)?;
        work.columns[c].values = original;
    }
    Ok(())
}

/// One input column's contribution to one patient's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Contribution {
    /// The input column.
    pub(crate) feature: String,
    /// The patient's value as read (`NA` when missing).
    pub(crate) value: String,
    /// Linear models: log-odds contribution (sum over a category's
    /// indicators of coefficient × standardised value). Other models: change
    /// in probability relative to that column set to missing.
    pub(crate) contribution: f64,
}

/// The patient's value of a column, as text.
pub(crate) fn raw_value(frame: &Frame, feature: &str, row: usize) -> String {
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
pub(crate) fn linear_contributions(
    arm: &Arm,
    model: &LinearLogit<'_>,
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
pub(crate) fn reference_contributions(
    arm: &Arm,
    frame: &Frame,
    row: usize,
) -> Result<Vec<Contribution>> {
    let (p, _) = predict_arm(arm, frame, &[row])?;
    let mut out = Vec::with_capacity(arm.pipeline.features.len());
    for_each_column(arm, frame, |f, work, c, original| {
        work.columns[c].values = with_missing(original, row);
        let (q, _) = predict_arm(arm, work, &[row])?;
        out.push(Contribution {
            feature: f.name().to_string(),
            value: raw_value(frame, f.name(), row),
            contribution: p[0] - q[0],
        });
        Ok(())
    })?;
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
pub(crate) fn missing_handling(f: &FittedFeature) -> String {
    match f {
        FittedFeature::Numeric {
            impute,
            log: None,
            ..
        } => format!("training median ({impute})"),
        FittedFeature::Numeric {
            impute,
            log: Some(floor),
            ..
        } => format!(
            "log-transformed (skewed): training median of the log ({impute}, i.e. {}); values ≤ 0 read as {floor}",
            impute.exp()
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::frame::{FrameColumn, Kind};
    use crate::features::Pipeline;
    use crate::models::logistic::LogisticModel;
    use crate::models::FittedModel;
    use crate::stats::sigmoid;

    fn setup() -> (Frame, Arm, Vec<bool>) {
        let n = 40;
        let age: Vec<f64> = (0..n).map(|i| 20.0 + i as f64).collect();
        let mut age_missing = age.clone();
        age_missing[3] = f64::NAN;
        let codes: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64).collect();
        let frame = Frame {
            source: Default::default(),
            log_skewed: false,
            columns: vec![
                FrameColumn {
                    name: "age".into(),
                    kind: Kind::Numeric,
                    values: Values::Numeric(age_missing),
                },
                FrameColumn {
                    name: "site".into(),
                    kind: Kind::Categorical,
                    values: Values::Categorical {
                        codes,
                        levels: vec!["a".into(), "b".into(), "c".into()],
                    },
                },
                FrameColumn {
                    name: "noise".into(),
                    kind: Kind::Numeric,
                    values: Values::Numeric(noise),
                },
            ],
        };
        let rows: Vec<usize> = (0..n).collect();
        let pipeline = Pipeline::fit(&frame, &rows).unwrap();
        assert_eq!(pipeline.width(), 5);
        let model = LogisticModel {
            intercept: -0.2,
            coefficients: vec![1.5, 0.8, -0.3, -0.5, 0.0],
            not_converged: false,
        };
        let y: Vec<bool> = (0..n).map(|i| i > 18 || i % 3 == 0).collect();
        let arm = Arm {
            therapy: Some("A".into()),
            n,
            responders: y.iter().filter(|&&v| v).count(),
            pipeline,
            algorithm: crate::models::AlgorithmParams::Logistic(Default::default()),
            tuning: None,
            design: Default::default(),
            model: FittedModel::Logistic(model),
            cv: None,
            sample_size: None,
            replicates: Vec::new(),
        };
        (frame, arm, y)
    }

    fn logistic(arm: &Arm) -> LinearLogit<'_> {
        arm.model.logit_linear().expect("the test arm is logistic")
    }

    #[test]
    fn coefficients_are_named_and_sorted() {
        let (_, arm, _) = setup();
        let c = coefficients(&arm, &logistic(&arm));
        assert_eq!(c[0].input, "age");
        assert_eq!(c[1].input, "site=a");
        assert_eq!(c[1].feature, "site");
        assert_eq!(c.last().unwrap().input, "noise");
        assert!((c[0].odds_ratio - 1.5f64.exp()).abs() < 1e-12);
    }

    #[test]
    fn importance_ranks_the_strong_feature_first_and_is_seeded() {
        let (frame, arm, y) = setup();
        let rows: Vec<usize> = (0..y.len()).collect();
        let (base, imp) = permutation_importance(&arm, &frame, &rows, &y, 5, 3)
            .unwrap()
            .unwrap();
        assert!(base > 0.8);
        assert_eq!(imp.len(), 3); // site's three indicators move as one
        assert_eq!(imp[0].feature, "age");
        let noise = imp.iter().find(|i| i.feature == "noise").unwrap();
        assert_eq!((noise.auc_drop_mean, noise.auc_drop_sd), (0.0, 0.0));
        let again = permutation_importance(&arm, &frame, &rows, &y, 5, 3)
            .unwrap()
            .unwrap();
        assert_eq!(imp, again.1);
        let one_class = vec![true; y.len()];
        assert!(
            permutation_importance(&arm, &frame, &rows, &one_class, 2, 1)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn linear_contributions_sum_to_the_logit() {
        let (frame, arm, _) = setup();
        let (p, _) = predict_arm(&arm, &frame, &[7]).unwrap();
        let (b0, c) = linear_contributions(&arm, &logistic(&arm), &frame, 7).unwrap();
        let z = b0 + c.iter().map(|c| c.contribution).sum::<f64>();
        assert!((sigmoid(z) - p[0]).abs() < 1e-12);
        assert_eq!(c.len(), 3);
        let site = c.iter().find(|c| c.feature == "site").unwrap();
        assert_eq!(site.value, "b");
        // Row 3's age is missing.
        let (_, c3) = linear_contributions(&arm, &logistic(&arm), &frame, 3).unwrap();
        assert_eq!(c3.iter().find(|c| c.feature == "age").unwrap().value, "NA");
    }

    #[test]
    fn reference_contributions_compare_with_the_imputed_value() {
        let (frame, arm, _) = setup();
        let c = reference_contributions(&arm, &frame, 39).unwrap();
        assert_eq!(c.len(), 3);
        // Age 59 is far above the median: the largest change, upwards.
        assert_eq!(c[0].feature, "age");
        assert!(c[0].contribution > 0.0);
        // A zero coefficient changes nothing.
        let noise = c.iter().find(|c| c.feature == "noise").unwrap();
        assert_eq!(noise.contribution, 0.0);
        // A missing value contributes nothing: it already is the imputed one.
        let c3 = reference_contributions(&arm, &frame, 3).unwrap();
        assert_eq!(
            c3.iter().find(|c| c.feature == "age").unwrap().contribution,
            0.0
        );
    }
}
