//! `responder train`: fit one model per therapy arm and write a bundle.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::bundle::{
    s_learner_inputs, Arm, Bundle, CrossFitted, Design, TargetInfo, TrainingSummary, FORMAT,
    FORMAT_VERSION,
};
use crate::cli::prepare::{ArmData, DataArgs, Prepared};
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::eval::metrics::auc;
use crate::eval::select::{auto_grid, choose, nested_cv, Selection, INNER_FOLDS};
use crate::eval::{cross_validate, CvMetrics};
use crate::features::Pipeline;
use crate::models::{AlgorithmParams, RawParams};
use crate::output::AtomicFile;
use crate::stats::folds::{split, stratified_folds};
use crate::stats::mean_sd;

/// Flags of `train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder train --data clinical.csv --genotypes genotypes.csv --target responder \\
      --therapy-col therapy --out model.json
  responder train --data trial.tsv --target madrs_change --responder-if '<= -50' --out m.json
  responder train --data clinical.csv --genotypes g.csv --target responder --algorithm auto --out m.json")]
pub struct Args {
    /// The training data.
    #[command(flatten)]
    pub data: DataArgs,

    /// The algorithm (`responder algorithms` lists them), or `auto` to choose
    /// per arm by inner cross-validation over a small grid. Example: --algorithm elastic-net
    #[arg(long, default_value = "logistic")]
    pub algorithm: String,

    /// A hyper-parameter, repeatable. Example: --param c=0.5 --param max_iter=200
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Folds of stratified cross-validation per arm (0 = none); with `auto`,
    /// the outer folds of nested cross-validation. Example: --cv 10
    #[arg(long, default_value_t = 5)]
    pub cv: usize,

    /// How arms are modelled: `t-learner` (one model per arm) or `s-learner`
    /// (one model with therapy indicators and therapy × feature
    /// interactions). Example: --strategy s-learner
    #[arg(long, value_enum, default_value = "t-learner")]
    pub strategy: Strategy,

    /// Do not store the training patients' cross-fitted predictions (IDs and
    /// probabilities) in the bundle. Example: --no-cross-fitted
    #[arg(long)]
    pub no_cross_fitted: bool,

    /// Seed for every random choice (folds, bootstrap samples); the same
    /// inputs and seed give a byte-identical bundle. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Where to write the model bundle (JSON). Example: --out model.json
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
}

/// How therapy arms are modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// One model per arm.
    TLearner,
    /// One model for all arms, with therapy indicators and interactions.
    SLearner,
}

impl Strategy {
    fn as_str(self) -> &'static str {
        match self {
            Strategy::TLearner => "t-learner",
            Strategy::SLearner => "s-learner",
        }
    }
}

/// Per-arm seed: the same arm always gets the same stream.
pub fn arm_seed(seed: u64, arm: usize) -> u64 {
    seed.wrapping_add((arm as u64) << 32)
}

/// Runs `train`.
pub fn run(args: Args, ui: &Ui) -> Result<()> {
    // Flags first: nothing is read before they are known to be sound.
    let auto = args.algorithm == "auto";
    let algorithm = if auto {
        if !args.params.is_empty() {
            return Err(Error::usage(
                "--param cannot be combined with --algorithm auto, which searches its own grid",
            ));
        }
        None
    } else {
        Some(AlgorithmParams::from_cli(
            &args.algorithm,
            &RawParams::parse(&args.params)?,
        )?)
    };
    if args.cv == 1 {
        return Err(Error::usage(
            "--cv must be 0 (no cross-validation) or at least 2",
        ));
    }
    if auto && args.cv == 0 {
        return Err(Error::usage(
            "--algorithm auto needs --cv of at least 2 for its nested cross-validation",
        ));
    }
    if args.strategy == Strategy::SLearner {
        if args.data.therapy_col.is_none() || args.data.therapy.is_some() {
            return Err(Error::usage(
                "--strategy s-learner needs --therapy-col and all arms (no --therapy)",
            ));
        }
        if auto {
            return Err(Error::usage(
                "--strategy s-learner takes a fixed --algorithm; auto chooses per arm (t-learner) only",
            ));
        }
    }
    args.data.rule()?;
    let out = AtomicFile::create(&args.out)?;

    let need = args.cv.max(if auto { INNER_FOLDS } else { 2 });
    let why = if args.cv >= 2 {
        format!("--cv {}", args.cv)
    } else {
        "a model".to_string()
    };
    let prepared = args.data.prepare(ui, need, &why)?;
    let Prepared {
        ds, frame, arms, ..
    } = &prepared;
    ui.info(format!(
        "training {} on {} patients, {} features, {} arm{}",
        match &algorithm {
            Some(a) => format!("{} ({})", a.name(), a.describe()),
            None => format!(
                "auto (inner {INNER_FOLDS}-fold CV over {} candidates)",
                auto_grid().len()
            ),
        },
        arms.iter().map(|a| a.rows.len()).sum::<usize>(),
        frame.columns.len(),
        arms.len(),
        if arms.len() == 1 { "" } else { "s" }
    ));

    if args.strategy == Strategy::SLearner && arms.len() < 2 {
        return Err(Error::usage(format!(
            "--strategy s-learner needs at least two arms; `{}` has one",
            args.data.therapy_col.as_deref().unwrap_or("")
        )));
    }
    let bar = ui.progress((args.cv * arms.len()) as u64, "cross-validating");
    let (fitted, oof) = match (&algorithm, args.strategy) {
        (Some(alg), Strategy::SLearner) => {
            fit_s_learner(&prepared, alg, args.cv, args.seed, || bar.inc(1))?
        }
        _ => {
            let mut fitted = Vec::with_capacity(arms.len());
            let mut oofs = Vec::with_capacity(arms.len());
            for (a, arm) in arms.iter().enumerate() {
                let seed = arm_seed(args.seed, a);
                let label = arm.label();
                let fail = |e: Error| Error::Fit(format!("arm `{label}`: {e}"));
                let result = match &algorithm {
                    Some(alg) => fit_fixed(&prepared, arm, alg, args.cv, seed, || bar.inc(1)),
                    None => fit_auto(&prepared, arm, args.cv, seed, || bar.inc(1)),
                };
                let (arm_fit, oof) = result.map_err(fail)?;
                fitted.push(arm_fit);
                oofs.push(oof);
            }
            let oof = t_learner_cross_fit(&prepared, &fitted, oofs)?;
            (fitted, oof)
        }
    };
    let cross_fitted = if args.no_cross_fitted { None } else { oof };
    bar.finish_and_clear();
    for arm in &fitted {
        let label = arm.therapy.clone().unwrap_or_else(|| "all".into());
        let cv = match &arm.cv {
            Some(cv) => format!(
                "{} AUC {:.3} ± {:.3} ({} folds)",
                if auto { "nested-CV" } else { "CV" },
                cv.auc_mean,
                cv.auc_sd,
                cv.folds
            ),
            None => "no cross-validation".into(),
        };
        let chosen = if auto {
            format!(
                ", chose {} ({})",
                arm.algorithm.name(),
                arm.algorithm.describe()
            )
        } else {
            String::new()
        };
        ui.info(format!(
            "arm {label}: n={}, responders={} ({:.1}%), {cv}{chosen}",
            arm.n,
            arm.responders,
            100.0 * arm.responders as f64 / arm.n as f64
        ));
    }

    let holds_rows = fitted.iter().any(|a| a.model.holds_training_rows());
    let bundle = Bundle {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        id_column: args.data.id.clone(),
        target: TargetInfo {
            column: args.data.target.clone(),
            description: prepared.rule.describe(&args.data.target),
            rule: prepared.rule.clone(),
        },
        therapy_column: args.data.therapy_col.clone(),
        features: frame.schema(),
        genotypes: prepared.genetics.clone(),
        algorithm: args.algorithm.clone(),
        strategy: args.strategy.as_str().into(),
        cross_fitted,
        training: TrainingSummary {
            files: ds.files.clone(),
            n_joined: ds.n_rows(),
            n_missing_target: prepared.n_missing_target,
            n_missing_therapy: prepared.n_missing_therapy,
            n: fitted.iter().map(|a| a.n).sum(),
            responders: fitted.iter().map(|a| a.responders).sum(),
            seed: args.seed,
            cv_folds: args.cv,
            holds_patient_rows: holds_rows,
        },
        arms: fitted,
    };
    if holds_rows {
        ui.warn(format!(
            "{} keeps training rows (standardised) inside the bundle: treat {} as patient data",
            args.algorithm,
            args.out.display()
        ));
    }
    bundle.write(out)?;
    ui.info(format!("wrote {}", args.out.display()));
    Ok(())
}

/// Cross-validates (when `cv >= 2`) and fits one algorithm on one arm.
pub fn fit_fixed(
    p: &Prepared,
    arm: &ArmData,
    algorithm: &AlgorithmParams,
    cv: usize,
    seed: u64,
    on_fold: impl Fn() + Sync,
) -> Result<(Arm, Option<Vec<f64>>)> {
    // The folds and the final fit are independent: run them side by side.
    let on_fold = &on_fold;
    let (validated, fitted) = rayon::join(
        || -> Result<_> {
            if cv >= 2 {
                let (m, oof) =
                    cross_validate(&p.frame, &arm.rows, &arm.y, cv, algorithm, seed, on_fold)?;
                Ok((Some(m), Some(oof)))
            } else {
                Ok((None, None))
            }
        },
        || final_fit(p, arm, algorithm.clone(), None, None, seed),
    );
    let (cv, oof) = validated?;
    let mut fitted = fitted?;
    fitted.cv = cv;
    Ok((fitted, oof))
}

/// Nested CV of the `auto` procedure, then the choice on all rows and its fit.
fn fit_auto(
    p: &Prepared,
    arm: &ArmData,
    cv: usize,
    seed: u64,
    on_fold: impl Fn() + Sync,
) -> Result<(Arm, Option<Vec<f64>>)> {
    let grid = auto_grid();
    let (nested, outer_choices, oof) =
        nested_cv(&p.frame, &arm.rows, &arm.y, cv, &grid, seed, on_fold)?;
    let (candidates, best) = choose(&p.frame, &arm.rows, &arm.y, &grid, seed ^ 0x5eed)?;
    let chosen = candidates[best].algorithm.clone();
    let selection = Selection {
        inner_folds: INNER_FOLDS,
        candidates,
        outer_choices,
    };
    Ok((
        final_fit(p, arm, chosen, Some(nested), Some(selection), seed)?,
        Some(oof),
    ))
}

fn final_fit(
    p: &Prepared,
    arm: &ArmData,
    algorithm: AlgorithmParams,
    cv: Option<crate::eval::CvMetrics>,
    selection: Option<Selection>,
    seed: u64,
) -> Result<Arm> {
    let pipeline = Pipeline::fit(&p.frame, &arm.rows);
    let (x, _) = pipeline.transform(&p.frame, &arm.rows)?;
    let model = algorithm.fit(x.view(), &arm.y, seed)?;
    Ok(Arm {
        therapy: arm.therapy.clone(),
        n: arm.rows.len(),
        responders: arm.responders(),
        pipeline,
        algorithm,
        selection,
        design: Design::PerArm,
        model,
        cv,
    })
}

/// Cross-fitted predictions of a T-learner: a patient's own arm from the
/// out-of-fold predictions, every other arm from that arm's final model
/// (which never saw the patient). `None` without cross-validation.
fn t_learner_cross_fit(
    p: &Prepared,
    fitted: &[Arm],
    oofs: Vec<Option<Vec<f64>>>,
) -> Result<Option<CrossFitted>> {
    if oofs.iter().any(Option::is_none) {
        return Ok(None);
    }
    let mut patients: Vec<(usize, usize, usize)> = Vec::new(); // (row, arm, index in arm)
    for (a, arm) in p.arms.iter().enumerate() {
        for (k, &r) in arm.rows.iter().enumerate() {
            patients.push((r, a, k));
        }
    }
    patients.sort();
    let rows: Vec<usize> = patients.iter().map(|t| t.0).collect();
    let mut probs = Vec::with_capacity(fitted.len());
    for (a, arm) in fitted.iter().enumerate() {
        let (x, _) = arm.model_inputs(&p.frame, &rows)?;
        let mut pa = arm.model.predict_proba(x.view())?.to_vec();
        let oof = oofs[a].as_ref().expect("checked above");
        for (i, &(_, b, k)) in patients.iter().enumerate() {
            if b == a {
                pa[i] = oof[k];
            }
        }
        probs.push(pa);
    }
    Ok(Some(CrossFitted {
        ids: rows.iter().map(|&r| p.ds.id(r).to_string()).collect(),
        received: patients.iter().map(|t| t.1).collect(),
        p: probs,
    }))
}

/// An S-learner: one pipeline and model on all arms' rows, with therapy
/// indicators and therapy × feature interactions; cross-validated over all
/// rows, with per-arm fold AUCs and cross-fitted predictions under every arm.
fn fit_s_learner(
    p: &Prepared,
    algorithm: &AlgorithmParams,
    cv: usize,
    seed: u64,
    on_fold: impl Fn() + Sync,
) -> Result<(Vec<Arm>, Option<CrossFitted>)> {
    let k_arms = p.arms.len();
    let mut patients: Vec<(usize, usize, bool)> = Vec::new();
    for (a, arm) in p.arms.iter().enumerate() {
        for (&r, &y) in arm.rows.iter().zip(&arm.y) {
            patients.push((r, a, y));
        }
    }
    patients.sort_by_key(|t| t.0);
    let rows: Vec<usize> = patients.iter().map(|t| t.0).collect();
    let arm_of: Vec<usize> = patients.iter().map(|t| t.1).collect();
    let y: Vec<bool> = patients.iter().map(|t| t.2).collect();
    let fit_on = |idx: &[usize], s: u64| -> Result<(Pipeline, crate::models::FittedModel)> {
        let r: Vec<usize> = idx.iter().map(|&i| rows[i]).collect();
        let pipeline = Pipeline::fit(&p.frame, &r);
        let (x, _) = pipeline.transform(&p.frame, &r)?;
        let arms_of: Vec<usize> = idx.iter().map(|&i| arm_of[i]).collect();
        let xs = s_learner_inputs(x.view(), &arms_of, k_arms);
        let yy: Vec<bool> = idx.iter().map(|&i| y[i]).collect();
        Ok((pipeline, algorithm.fit(xs.view(), &yy, s)?))
    };
    let mut metrics: Vec<Option<CvMetrics>> = vec![None; k_arms];
    let mut cross = None;
    if cv >= 2 {
        let folds = stratified_folds(&y, cv, seed);
        type FoldPredictions = (Vec<usize>, Vec<Vec<f64>>);
        let per_fold: Result<Vec<FoldPredictions>> = (0..cv)
            .into_par_iter()
            .map(|f| {
                let (tr, te) = split(&folds, f);
                let (pipeline, model) = fit_on(&tr, seed.wrapping_add(f as u64 + 1))?;
                let te_rows: Vec<usize> = te.iter().map(|&i| rows[i]).collect();
                let (x, _) = pipeline.transform(&p.frame, &te_rows)?;
                let mut under = Vec::with_capacity(k_arms);
                for a in 0..k_arms {
                    let xs = s_learner_inputs(x.view(), &vec![a; te.len()], k_arms);
                    under.push(model.predict_proba(xs.view())?.to_vec());
                }
                on_fold();
                Ok((te, under))
            })
            .collect();
        let per_fold = per_fold?;
        let mut probs = vec![vec![0.0; rows.len()]; k_arms];
        let mut fold_auc = vec![Vec::new(); k_arms];
        for (te, under) in &per_fold {
            for a in 0..k_arms {
                for (j, &i) in te.iter().enumerate() {
                    probs[a][i] = under[a][j];
                }
                let (pa, ya): (Vec<f64>, Vec<bool>) = te
                    .iter()
                    .enumerate()
                    .filter(|&(_, &i)| arm_of[i] == a)
                    .map(|(j, &i)| (under[a][j], y[i]))
                    .unzip();
                fold_auc[a].push(auc(&pa, &ya).unwrap_or(f64::NAN));
            }
        }
        for a in 0..k_arms {
            let (own_p, own_y): (Vec<f64>, Vec<bool>) = (0..rows.len())
                .filter(|&i| arm_of[i] == a)
                .map(|i| (probs[a][i], y[i]))
                .unzip();
            let (auc_mean, auc_sd) = mean_sd(&fold_auc[a]);
            metrics[a] = Some(CvMetrics {
                folds: cv,
                fold_auc: fold_auc[a].clone(),
                auc_mean,
                auc_sd,
                auc_pooled: auc(&own_p, &own_y).unwrap_or(f64::NAN),
            });
        }
        cross = Some(CrossFitted {
            ids: rows.iter().map(|&r| p.ds.id(r).to_string()).collect(),
            received: arm_of.clone(),
            p: probs,
        });
    }
    let all: Vec<usize> = (0..rows.len()).collect();
    let (pipeline, model) = fit_on(&all, seed)?;
    let arms = p
        .arms
        .iter()
        .enumerate()
        .map(|(a, arm)| Arm {
            therapy: arm.therapy.clone(),
            n: arm.rows.len(),
            responders: arm.responders(),
            pipeline: pipeline.clone(),
            algorithm: algorithm.clone(),
            selection: None,
            design: Design::SLearner {
                arm: a,
                arms: k_arms,
            },
            model: model.clone(),
            cv: metrics[a].clone(),
        })
        .collect();
    Ok((arms, cross))
}
