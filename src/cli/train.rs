//! `responder train`: fit one model per therapy arm and write a bundle.

use std::path::PathBuf;

use crate::bundle::{Arm, Bundle, TargetInfo, TrainingSummary, FORMAT, FORMAT_VERSION};
use crate::cli::prepare::{ArmData, DataArgs, Prepared};
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::eval::cross_validate;
use crate::eval::select::{auto_grid, choose, nested_cv, Selection, INNER_FOLDS};
use crate::features::Pipeline;
use crate::models::{AlgorithmParams, RawParams};
use crate::output::AtomicFile;

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

    /// Seed for every random choice (folds, bootstrap samples); the same
    /// inputs and seed give a byte-identical bundle. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Where to write the model bundle (JSON). Example: --out model.json
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
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

    let bar = ui.progress((args.cv * arms.len()) as u64, "cross-validating");
    let mut fitted = Vec::with_capacity(arms.len());
    for (a, arm) in arms.iter().enumerate() {
        let seed = arm_seed(args.seed, a);
        let label = arm.label();
        let fail = |e: Error| Error::Fit(format!("arm `{label}`: {e}"));
        let result = match &algorithm {
            Some(alg) => fit_fixed(&prepared, arm, alg, args.cv, seed, || bar.inc(1)),
            None => fit_auto(&prepared, arm, args.cv, seed, || bar.inc(1)),
        };
        fitted.push(result.map_err(fail)?);
    }
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
) -> Result<Arm> {
    let cv = if cv >= 2 {
        Some(cross_validate(&p.frame, &arm.rows, &arm.y, cv, algorithm, seed, on_fold)?.0)
    } else {
        None
    };
    final_fit(p, arm, algorithm.clone(), cv, None, seed)
}

/// Nested CV of the `auto` procedure, then the choice on all rows and its fit.
fn fit_auto(
    p: &Prepared,
    arm: &ArmData,
    cv: usize,
    seed: u64,
    on_fold: impl Fn() + Sync,
) -> Result<Arm> {
    let grid = auto_grid();
    let (nested, outer_choices) = nested_cv(&p.frame, &arm.rows, &arm.y, cv, &grid, seed, on_fold)?;
    let (candidates, best) = choose(&p.frame, &arm.rows, &arm.y, &grid, seed ^ 0x5eed)?;
    let chosen = candidates[best].algorithm.clone();
    let selection = Selection {
        inner_folds: INNER_FOLDS,
        candidates,
        outer_choices,
    };
    final_fit(p, arm, chosen, Some(nested), Some(selection), seed)
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
        model,
        cv,
    })
}
