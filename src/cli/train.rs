//! `responder train`: fit one model per therapy arm and write a bundle.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::bundle::{Arm, Bundle, TargetInfo, TrainingSummary, FORMAT, FORMAT_VERSION};
use crate::cli::common::{split_list, InputArgs};
use crate::cli::Ui;
use crate::data::{is_missing, Dataset, Target, TargetRule};
use crate::error::{Error, Location, Result};
use crate::eval::cross_validate;
use crate::features::select::select_features;
use crate::features::{Frame, Pipeline};
use crate::models::{AlgorithmParams, RawParams};
use crate::output::AtomicFile;

/// Flags of `train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder train --data clinical.csv --genotypes genotypes.csv --target responder \\
      --therapy-col therapy --out model.json
  responder train --data trial.tsv --target madrs_change --responder-if '<= -50' --out m.json")]
pub struct Args {
    /// Patient files.
    #[command(flatten)]
    pub input: InputArgs,

    /// The outcome column. Example: --target responder
    #[arg(long, value_name = "COL")]
    pub target: String,

    /// The patient ID column, in both files. Example: --id subject
    #[arg(long, value_name = "COL", default_value = "patient_id")]
    pub id: String,

    /// Column naming each patient's therapy; one model is fitted per therapy
    /// arm. Example: --therapy-col therapy
    #[arg(long, value_name = "COL")]
    pub therapy_col: Option<String>,

    /// Fit only this arm of --therapy-col. Example: --therapy ketamine
    #[arg(long, value_name = "NAME", requires = "therapy_col")]
    pub therapy: Option<String>,

    /// The target label that means "responder", when it is not 0/1,
    /// true/false or yes/no. Example: --positive remission
    #[arg(long, value_name = "LABEL", conflicts_with = "responder_if")]
    pub positive: Option<String>,

    /// Responder rule for a numeric outcome: an operator and a number.
    /// Example: --responder-if '<= -50'
    #[arg(long, value_name = "'OP NUMBER'", allow_hyphen_values = true)]
    pub responder_if: Option<String>,

    /// Use only these feature columns (comma-separated). Example: --features age,sex,madrs_baseline
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub features: Vec<String>,

    /// Leave these columns out (comma-separated). Example: --exclude site,visit_date
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// Treat these columns as categorical even if numeric. Example: --categorical site
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub categorical: Vec<String>,

    /// The algorithm. Example: --algorithm logistic
    #[arg(long, default_value = "logistic")]
    pub algorithm: String,

    /// A hyper-parameter, repeatable. Example: --param c=0.5 --param max_iter=200
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Folds of stratified cross-validation per arm (0 = none). Example: --cv 10
    #[arg(long, default_value_t = 5)]
    pub cv: usize,

    /// Seed for every random choice (folds); the same inputs and seed give a
    /// byte-identical bundle. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Where to write the model bundle (JSON). Example: --out model.json
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
}

/// Runs `train`.
pub fn run(args: Args, ui: &Ui) -> Result<()> {
    // Flags first: nothing is read before they are known to be sound.
    let algorithm = AlgorithmParams::from_cli(&args.algorithm, &RawParams::parse(&args.params)?)?;
    if args.cv == 1 {
        return Err(Error::usage(
            "--cv must be 0 (no cross-validation) or at least 2",
        ));
    }
    let rule = match (&args.positive, &args.responder_if) {
        (Some(label), _) => TargetRule::Positive {
            label: label.clone(),
        },
        (None, Some(expr)) => TargetRule::parse_threshold(expr)?,
        (None, None) => TargetRule::Binary,
    };
    let opts = args.input.read_options(&args.id)?;
    let out = AtomicFile::create(&args.out)?;

    let ds = Dataset::load(&args.input.data, args.input.genotypes.as_deref(), &opts)?;
    if let Some(msg) = ds.join_message() {
        ui.info(msg);
    }
    let target = Target::read(&ds, &args.target, &rule)?;
    if target.n_missing > 0 {
        ui.info(format!(
            "{}: {} rows with a missing `{}` are left out",
            ds.data.file, target.n_missing, args.target
        ));
    }

    // Therapy of every row, and the arms.
    let (therapy, n_missing_therapy) = match &args.therapy_col {
        None => (vec![None; ds.n_rows()], 0),
        Some(col) => {
            let c = ds.data.require(col)?;
            if col == &args.target {
                return Err(Error::usage(
                    "--therapy-col and --target name the same column",
                ));
            }
            let t: Vec<Option<String>> = ds
                .data_cells(c)
                .map(|(_, v)| (!is_missing(v)).then(|| v.to_string()))
                .collect();
            let missing = t
                .iter()
                .zip(&target.values)
                .filter(|(t, y)| t.is_none() && y.is_some())
                .count();
            if missing > 0 {
                ui.info(format!(
                    "{}: {missing} rows with a missing `{col}` are left out",
                    ds.data.file
                ));
            }
            (t, missing)
        }
    };
    let usable = |i: usize| {
        target.values[i].is_some() && (args.therapy_col.is_none() || therapy[i].is_some())
    };
    let all_arms: Vec<String> = (0..ds.n_rows())
        .filter(|&i| usable(i))
        .filter_map(|i| therapy[i].clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let arms: Vec<Option<String>> = match (&args.therapy_col, &args.therapy) {
        (None, _) => vec![None],
        (Some(col), Some(name)) => {
            if !all_arms.contains(name) {
                return Err(Error::data(
                    Location::file(&ds.data.file).column(col),
                    format!(
                        "--therapy `{name}` is not an arm; the arms are: {}",
                        all_arms
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            vec![Some(name.clone())]
        }
        (Some(_), None) => all_arms.iter().cloned().map(Some).collect(),
    };

    // Features.
    let mut reserved: Vec<(&str, &str)> =
        vec![(args.id.as_str(), "ID"), (args.target.as_str(), "target")];
    if let Some(t) = &args.therapy_col {
        reserved.push((t.as_str(), "therapy"));
    }
    let names = select_features(
        &ds,
        &reserved,
        &split_list(&args.features),
        &split_list(&args.exclude),
    )?;
    let categorical = split_list(&args.categorical);
    if let Some(c) = categorical.iter().find(|c| !names.contains(c)) {
        return Err(Error::usage(format!(
            "--categorical names `{c}`, which is not a feature column"
        )));
    }
    let (frame, warnings) = Frame::infer(&ds, &names, &categorical)?;
    for w in warnings {
        ui.warn(w);
    }
    let schema = frame.schema();

    // Rows and labels per arm; check class counts before any fitting.
    let mut arm_rows = Vec::with_capacity(arms.len());
    for arm in &arms {
        let rows: Vec<usize> = (0..ds.n_rows())
            .filter(|&i| usable(i) && (arm.is_none() || &therapy[i] == arm))
            .collect();
        let y: Vec<bool> = rows
            .iter()
            .map(|&i| target.values[i] == Some(true))
            .collect();
        let pos = y.iter().filter(|&&v| v).count();
        let neg = y.len() - pos;
        let need = args.cv.max(2);
        if pos < need || neg < need {
            let what = match arm {
                Some(a) => format!("arm `{a}`"),
                None => "the data".to_string(),
            };
            let fix = if args.cv >= 2 {
                format!(
                    "--cv {} needs at least {need} of each (use a smaller --cv, or --cv 0)",
                    args.cv
                )
            } else {
                "a model needs at least 2 of each".to_string()
            };
            return Err(Error::data(
                Location::file(&ds.data.file).column(&args.target),
                format!("{what} has {pos} responders and {neg} non-responders; {fix}"),
            ));
        }
        arm_rows.push((rows, y));
    }

    let total_folds = (args.cv * arms.len()) as u64;
    ui.info(format!(
        "training {} ({}) on {} patients, {} features, {} arm{}",
        algorithm.name(),
        algorithm.describe(),
        arm_rows.iter().map(|(r, _)| r.len()).sum::<usize>(),
        names.len(),
        arms.len(),
        if arms.len() == 1 { "" } else { "s" }
    ));
    let bar = ui.progress(total_folds, "cross-validating");
    let mut fitted = Vec::with_capacity(arms.len());
    for (a, (arm, (rows, y))) in arms.iter().zip(&arm_rows).enumerate() {
        let arm_seed = args.seed.wrapping_add((a as u64) << 32);
        let label = arm.clone().unwrap_or_else(|| "all".into());
        let fail = |e: Error| Error::Fit(format!("arm `{label}`: {e}"));
        let cv = if args.cv >= 2 {
            let (m, _) = cross_validate(&frame, rows, y, args.cv, &algorithm, arm_seed, || {
                bar.inc(1)
            })
            .map_err(fail)?;
            Some(m)
        } else {
            None
        };
        let pipeline = Pipeline::fit(&frame, rows);
        let (x, _) = pipeline.transform(&frame, rows)?;
        let model = algorithm.fit(x.view(), y, arm_seed).map_err(fail)?;
        let responders = y.iter().filter(|&&v| v).count();
        fitted.push(Arm {
            therapy: arm.clone(),
            n: rows.len(),
            responders,
            pipeline,
            model,
            cv,
        });
    }
    bar.finish_and_clear();
    for arm in &fitted {
        let label = arm.therapy.clone().unwrap_or_else(|| "all".into());
        let cv = match &arm.cv {
            Some(cv) => format!(
                "CV AUC {:.3} ± {:.3} ({} folds)",
                cv.auc_mean, cv.auc_sd, cv.folds
            ),
            None => "no cross-validation".into(),
        };
        ui.info(format!(
            "arm {label}: n={}, responders={} ({:.1}%), {cv}",
            arm.n,
            arm.responders,
            100.0 * arm.responders as f64 / arm.n as f64
        ));
    }

    let bundle = Bundle {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        id_column: args.id.clone(),
        target: TargetInfo {
            column: args.target.clone(),
            description: rule.describe(&args.target),
            rule,
        },
        therapy_column: args.therapy_col.clone(),
        features: schema,
        algorithm,
        training: TrainingSummary {
            files: ds.files.clone(),
            n_joined: ds.n_rows(),
            n_missing_target: target.n_missing,
            n_missing_therapy,
            n: fitted.iter().map(|a| a.n).sum(),
            responders: fitted.iter().map(|a| a.responders).sum(),
            seed: args.seed,
            cv_folds: args.cv,
            holds_patient_rows: false,
        },
        arms: fitted,
    };
    bundle.write(out)?;
    ui.info(format!("wrote {}", args.out.display()));
    Ok(())
}
