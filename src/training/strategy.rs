//! Learner strategies: the T-learner (a pipeline and model per arm, with a
//! fixed algorithm or `auto`) and the S-learner (one pipeline and model
//! for all arms, with therapy indicators and interactions), each
//! cross-validated through the shared loop and giving cross-fitted
//! predictions of the training patients.

use crate::bundle::{
    deviation_penalties, s_learner_column, s_learner_inputs, Arm, CrossFitted, CvMetrics, Design,
    Tuning,
};
use crate::error::{Error, Result};
use crate::features::Pipeline;
use crate::models::check_fit_inputs;
use crate::models::lasso::LassoModel;
use crate::models::{AlgorithmParams, FittedModel};
use crate::stats::scores::auc;
use crate::training::cohort::{ArmData, Cohort};
use crate::training::cv::{cross_validate, cv_metrics, fit_rows, fold_seed, for_each_fold, pick};
use crate::training::tuning::{auto_grid, choose, nested_cv, INNER_FOLDS};
use ndarray::ArrayView2;

/// Cross-validates (when `cv >= 2`) and fits one algorithm on one arm;
/// returns the arm and its out-of-fold predictions.
pub(crate) fn fit_fixed(
    c: &Cohort,
    arm: &ArmData,
    algorithm: &AlgorithmParams,
    cv: usize,
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(Arm, Option<Vec<f64>>)> {
    // The folds and the final fit are independent: run them side by side.
    let (validated, fitted) = rayon::join(
        || -> Result<_> {
            if cv >= 2 {
                let (m, oof) = cross_validate(
                    &c.frame,
                    &arm.rows,
                    &arm.y,
                    &c.folds(&arm.rows, &arm.y, cv, seed),
                    algorithm,
                    seed,
                    on_fold,
                )?;
                Ok((Some(m), Some(oof)))
            } else {
                Ok((None, None))
            }
        },
        || final_fit(c, arm, algorithm.clone(), None, None, seed),
    );
    let (cv, oof) = validated?;
    let mut fitted = fitted?;
    fitted.cv = cv;
    Ok((fitted, oof))
}

/// Nested CV of the `auto` procedure, then the choice on all rows and its fit.
pub(crate) fn fit_auto(
    c: &Cohort,
    arm: &ArmData,
    cv: usize,
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(Arm, Option<Vec<f64>>)> {
    let grid = auto_grid();
    let (nested, outer_choices, oof) = nested_cv(
        &c.frame,
        &arm.rows,
        &arm.y,
        &c.folds(&arm.rows, &arm.y, cv, seed),
        &grid,
        seed,
        on_fold,
    )?;
    let (candidates, best) = choose(&c.frame, &arm.rows, &arm.y, &grid, seed ^ 0x5eed)?;
    let chosen = candidates[best].algorithm.clone();
    let tuning = Tuning {
        inner_folds: INNER_FOLDS,
        candidates,
        outer_choices,
    };
    Ok((
        final_fit(c, arm, chosen, Some(nested), Some(tuning), seed)?,
        Some(oof),
    ))
}

fn final_fit(
    c: &Cohort,
    arm: &ArmData,
    algorithm: AlgorithmParams,
    cv: Option<CvMetrics>,
    tuning: Option<Tuning>,
    seed: u64,
) -> Result<Arm> {
    let (pipeline, model) = fit_rows(&c.frame, &arm.rows, &arm.y, &algorithm, seed)?;
    Ok(Arm {
        therapy: arm.therapy.clone(),
        n: arm.rows.len(),
        responders: arm.responders(),
        pipeline,
        algorithm,
        tuning,
        design: Design::PerArm,
        model,
        cv,
        sample_size: None,
        replicates: Vec::new(),
    })
}

/// Cross-fitted predictions of a T-learner: a patient's own arm from the
/// out-of-fold predictions, every other arm from that arm's final model
/// (which never saw the patient). `None` without cross-validation.
pub(crate) fn t_learner_cross_fit(
    c: &Cohort,
    fitted: &[Arm],
    oofs: Vec<Option<Vec<f64>>>,
) -> Result<Option<CrossFitted>> {
    let Some(oofs) = oofs.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let mut patients: Vec<(usize, usize, usize)> = Vec::new(); // (row, arm, index in arm)
    for (a, arm) in c.arms.iter().enumerate() {
        for (k, &r) in arm.rows.iter().enumerate() {
            patients.push((r, a, k));
        }
    }
    patients.sort();
    let rows: Vec<usize> = patients.iter().map(|t| t.0).collect();
    let mut probs = Vec::with_capacity(fitted.len());
    for (a, arm) in fitted.iter().enumerate() {
        let (x, _) = arm.model_inputs(&c.frame, &rows)?;
        let mut pa = arm.model.predict_proba(x.view())?.to_vec();
        for (i, &(_, b, k)) in patients.iter().enumerate() {
            if b == a {
                pa[i] = oofs[a][k];
            }
        }
        probs.push(pa);
    }
    Ok(Some(CrossFitted {
        ids: rows.iter().map(|&r| c.ds.id(r).to_string()).collect(),
        received: patients.iter().map(|t| t.1).collect(),
        p: probs,
    }))
}

/// Every training patient of every arm, sorted by row: rows, received arm
/// and label.
struct Pooled {
    rows: Vec<usize>,
    arm_of: Vec<usize>,
    y: Vec<bool>,
}

impl Pooled {
    fn new(c: &Cohort) -> Pooled {
        let mut patients: Vec<(usize, usize, bool)> = Vec::new();
        for (a, arm) in c.arms.iter().enumerate() {
            for (&r, &y) in arm.rows.iter().zip(&arm.y) {
                patients.push((r, a, y));
            }
        }
        patients.sort_by_key(|t| t.0);
        Pooled {
            rows: patients.iter().map(|t| t.0).collect(),
            arm_of: patients.iter().map(|t| t.1).collect(),
            y: patients.iter().map(|t| t.2).collect(),
        }
    }

    /// Fits the S-learner's pipeline and model on positions `idx`.
    fn fit(
        &self,
        c: &Cohort,
        idx: &[usize],
        (algorithm, r): (&AlgorithmParams, &[f64]),
        seed: u64,
    ) -> Result<(Pipeline, FittedModel)> {
        let rows = pick(&self.rows, idx);
        let pipeline = Pipeline::fit(&c.frame, &rows)?;
        let (x, _) = pipeline.transform(&c.frame, &rows)?;
        let dosage = Design::SLearner {
            arm: 0,
            arms: c.arms.len(),
            deviation_penalty: 1.0,
        }
        .expand_dosage(pipeline.dosage_inputs());
        let arm_of = pick(&self.arm_of, idx);
        let rows = (x.view(), arm_of.as_slice(), r);
        let model = fit_s_learner_model(algorithm, rows, &pick(&self.y, idx), &dosage, seed)?;
        Ok((pipeline, model))
    }
}

/// Fits the S-learner's one model on pipeline outputs `x` of patients in
/// arms `arm_of`, with deviation penalties `r`: the model of
/// `s_learner_inputs(x, arm_of, r)`. The lasso reads those inputs one
/// column at a time ([`s_learner_column`]), the same values without the
/// dense matrix (about three quarters zeros with three arms). Measured
/// (DR-learner on S-learner outcome models, `/usr/bin/time -v`): peak
/// memory 1.46 GB against 1.76 GB on 10,000 patients × 1,000 SNPs, 2.86
/// GB against 3.28 GB on 4,000 × 5,000 SNPs, byte-identical bundles;
/// every other algorithm gets the matrix.
pub(crate) fn fit_s_learner_model(
    algorithm: &AlgorithmParams,
    (x, arm_of, r): (ArrayView2<f64>, &[usize], &[f64]),
    y: &[bool],
    dosage: &[bool],
    seed: u64,
) -> Result<FittedModel> {
    match algorithm {
        AlgorithmParams::Lasso(p) => {
            check_fit_inputs(x, y)?;
            let width = Design::SLearner {
                arm: 0,
                arms: r.len(),
                deviation_penalty: 1.0,
            }
            .width(x.ncols());
            let column = |j| s_learner_column(x, arm_of, r, j);
            let model = LassoModel::fit_columns((width, column), y, p, dosage, seed)?;
            Ok(FittedModel::Lasso(model))
        }
        _ => algorithm.fit_masked(s_learner_inputs(x, arm_of, r).view(), y, dosage, seed),
    }
}

/// An S-learner: one pipeline and model on all arms' rows, with therapy
/// indicators and therapy × feature interactions; cross-validated over all
/// rows, with per-arm fold AUCs and cross-fitted predictions under every arm.
pub(crate) fn fit_s_learner(
    c: &Cohort,
    algorithm: &AlgorithmParams,
    cv: usize,
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(Vec<Arm>, Option<CrossFitted>)> {
    let k_arms = c.arms.len();
    let pooled = Pooled::new(c);
    let sizes: Vec<usize> = c.arms.iter().map(|a| a.rows.len()).collect();
    let r = deviation_penalties(&sizes, matches!(algorithm, AlgorithmParams::Lasso(_)));
    let (metrics, cross) = if cv >= 2 {
        s_learner_cv(c, &pooled, (algorithm, &r), cv, seed, on_fold)?
    } else {
        (vec![None; k_arms], None)
    };
    let all: Vec<usize> = (0..pooled.rows.len()).collect();
    let (pipeline, model) = pooled.fit(c, &all, (algorithm, &r), seed)?;
    let arms = c
        .arms
        .iter()
        .zip(metrics)
        .enumerate()
        .map(|(a, (arm, cv))| Arm {
            therapy: arm.therapy.clone(),
            n: arm.rows.len(),
            responders: arm.responders(),
            pipeline: pipeline.clone(),
            algorithm: algorithm.clone(),
            tuning: None,
            design: Design::SLearner {
                arm: a,
                arms: k_arms,
                deviation_penalty: r[a],
            },
            model: model.clone(),
            cv,
            sample_size: None,
            replicates: Vec::new(),
        })
        .collect();
    Ok((arms, cross))
}

/// Per-arm CV metrics and cross-fitted predictions of the S-learner.
fn s_learner_cv(
    c: &Cohort,
    pooled: &Pooled,
    (algorithm, r): (&AlgorithmParams, &[f64]),
    cv: usize,
    seed: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<(Vec<Option<CvMetrics>>, Option<CrossFitted>)> {
    let k_arms = c.arms.len();
    let folds = c.folds(&pooled.rows, &pooled.y, cv, seed);
    let per_fold = for_each_fold(&folds, on_fold, |fold| {
        let (pipeline, model) =
            pooled.fit(c, &fold.train, (algorithm, r), fold_seed(seed, fold.index))?;
        let (x, _) = pipeline.transform(&c.frame, &pick(&pooled.rows, &fold.test))?;
        (0..k_arms)
            .map(|a| {
                let xs = s_learner_inputs(x.view(), &vec![a; fold.test.len()], r);
                Ok(model.predict_proba(xs.view())?.to_vec())
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let n = pooled.rows.len();
    let mut probs = vec![vec![0.0; n]; k_arms];
    let mut fold_auc = vec![Vec::new(); k_arms];
    for (fold, under) in &per_fold {
        for a in 0..k_arms {
            for (j, &i) in fold.test.iter().enumerate() {
                probs[a][i] = under[a][j];
            }
            let (pa, ya): (Vec<f64>, Vec<bool>) = fold
                .test
                .iter()
                .enumerate()
                .filter(|&(_, &i)| pooled.arm_of[i] == a)
                .map(|(j, &i)| (under[a][j], pooled.y[i]))
                .unzip();
            fold_auc[a].push(auc(&pa, &ya).unwrap_or(f64::NAN));
        }
    }
    let metrics = (0..k_arms)
        .map(|a| {
            let (own_p, own_y): (Vec<f64>, Vec<bool>) = (0..n)
                .filter(|&i| pooled.arm_of[i] == a)
                .map(|i| (probs[a][i], pooled.y[i]))
                .unzip();
            Some(cv_metrics(std::mem::take(&mut fold_auc[a]), &own_p, &own_y))
        })
        .collect();
    let cross = CrossFitted {
        ids: pooled
            .rows
            .iter()
            .map(|&r| c.ds.id(r).to_string())
            .collect(),
        received: pooled.arm_of.clone(),
        p: probs,
    };
    Ok((metrics, Some(cross)))
}

/// Wraps a fit error with the arm it is about.
pub(crate) fn in_arm(label: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| Error::Fit(format!("arm `{label}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::RawParams;

    /// The lasso read column by column fits the model of the dense
    /// S-learner inputs bit for bit.
    #[test]
    fn column_wise_s_learner_lasso_equals_the_dense_fit() {
        let n = 240;
        let x = ndarray::Array2::from_shape_fn((n, 4), |(i, j)| {
            (((i * 7 + j * 13) % 17) as f64 - 8.0) / 4.0
        });
        let arm_of: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let y: Vec<bool> = (0..n)
            .map(|i| {
                x[[i, 0]] * (arm_of[i] as f64 - 1.0) + x[[i, 1]] + ((i * 31) % 7) as f64 / 3.5 - 1.0
                    > 0.0
            })
            .collect();
        let r = deviation_penalties(&[80, 80, 80], true);
        let dosage: Vec<bool> = (0..4 + 3 + 12).map(|j| j % 4 >= 2 && j != 5).collect();
        let lasso = AlgorithmParams::from_cli("lasso", &RawParams::default()).unwrap();
        let by_columns =
            fit_s_learner_model(&lasso, (x.view(), &arm_of, &r), &y, &dosage, 3).unwrap();
        let dense = lasso
            .fit_masked(
                s_learner_inputs(x.view(), &arm_of, &r).view(),
                &y,
                &dosage,
                3,
            )
            .unwrap();
        assert_eq!(by_columns, dense);
        let FittedModel::Lasso(m) = &by_columns else {
            panic!("not a lasso")
        };
        assert!(m.selected > 0, "{m:?}");
    }
}
