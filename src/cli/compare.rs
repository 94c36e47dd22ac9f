//! `responder compare`: every chosen algorithm on identical repeated
//! stratified folds, per arm, with discrimination, calibration-sensitive
//! scores and fit time.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::common::{split_list, Format};
use crate::cli::prepare::DataArgs;
use crate::cli::train::arm_seed;
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::eval::metrics::{accuracy, auc, brier, log_loss};
use crate::features::Pipeline;
use crate::models::{AlgorithmParams, RawParams, ALGORITHMS};
use crate::output::Sink;
use crate::report::{render_csv, render_table, Cell};
use crate::stats::folds::{fold_sets, stratified_folds};
use crate::stats::mean_sd;

/// Flags of `compare`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder compare --data clinical.csv --genotypes genotypes.csv --target responder \\
      --therapy-col therapy --algorithms all
  responder compare --data trial.csv --target responder --algorithms logistic,forest \\
      --param forest.trees=500 --cv 10 --repeats 3 --format json")]
pub struct Args {
    /// The training data.
    #[command(flatten)]
    pub data: DataArgs,

    /// Algorithms to compare (comma-separated), or `all`. Example: --algorithms logistic,elastic-net,forest
    #[arg(
        long,
        value_name = "A,B,..|all",
        default_value = "all",
        value_delimiter = ','
    )]
    pub algorithms: Vec<String>,

    /// A hyper-parameter of one algorithm, repeatable. Example: --param forest.trees=500
    #[arg(long = "param", value_name = "ALGO.KEY=VALUE")]
    pub params: Vec<String>,

    /// Folds per repeat. Example: --cv 10
    #[arg(long, default_value_t = 5)]
    pub cv: usize,

    /// Repeats of the K-fold split (each with new folds). Example: --repeats 3
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,

    /// Seed of the folds and of every algorithm. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Output format (default: table on a terminal, else csv). Example: --format json
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write results to this file (atomically) instead of stdout. Example: --out compare.csv
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// One algorithm on one arm, summarised over every fold (stable JSON keys).
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// Therapy arm (`all` without arms).
    pub arm: String,
    /// Algorithm name.
    pub algorithm: String,
    /// Its hyper-parameters.
    pub params: String,
    /// Folds that succeeded.
    pub folds_ok: usize,
    /// Folds that failed.
    pub folds_failed: usize,
    /// Mean and sd of fold AUC.
    pub auc_mean: f64,
    /// SD of fold AUC.
    pub auc_sd: f64,
    /// Mean Brier score.
    pub brier_mean: f64,
    /// SD of the Brier score.
    pub brier_sd: f64,
    /// Mean log-loss.
    pub log_loss_mean: f64,
    /// SD of the log-loss.
    pub log_loss_sd: f64,
    /// Mean accuracy at 0.5.
    pub accuracy_mean: f64,
    /// SD of the accuracy.
    pub accuracy_sd: f64,
    /// Mean seconds to fit pipeline + model on one fold (not deterministic).
    pub fit_seconds_mean: f64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

struct FoldScore {
    auc: f64,
    brier: f64,
    log_loss: f64,
    accuracy: f64,
    seconds: f64,
}

/// Splits `ALGO.KEY=VALUE` flags by algorithm.
fn params_for(name: &str, params: &[String]) -> Result<RawParams> {
    let mine: Vec<String> = params
        .iter()
        .filter_map(|p| p.strip_prefix(&format!("{name}.")).map(str::to_string))
        .collect();
    RawParams::parse(&mine)
}

/// Runs `compare`.
pub fn run(args: Args, ui: &Ui) -> Result<()> {
    let mut names = split_list(&args.algorithms);
    if names.iter().any(|n| n == "all") {
        names = ALGORITHMS.iter().map(|a| a.name.to_string()).collect();
    }
    names.dedup();
    for p in &args.params {
        let algo = p.split_once('.').map(|(a, _)| a).unwrap_or("");
        if !names.iter().any(|n| n == algo) {
            return Err(Error::usage(format!(
                "--param `{p}` must name one of the compared algorithms as ALGO.KEY=VALUE (compared: {})",
                names.join(", ")
            )));
        }
    }
    let algos: Vec<AlgorithmParams> = names
        .iter()
        .map(|n| AlgorithmParams::from_cli(n, &params_for(n, &args.params)?))
        .collect::<Result<_>>()?;
    if args.cv < 2 {
        return Err(Error::usage("--cv must be at least 2"));
    }
    if args.repeats < 1 {
        return Err(Error::usage("--repeats must be at least 1"));
    }
    args.data.rule()?;
    let mut sink = Sink::open(args.out.as_deref())?;
    let prepared = args
        .data
        .prepare(ui, args.cv, &format!("--cv {}", args.cv))?;
    let frame = &prepared.frame;

    // Identical folds for every algorithm: one split per (arm, repeat).
    struct Task {
        arm: usize,
        algo: usize,
        fold: usize,
        seed: u64,
    }
    let mut splits = Vec::new();
    let mut tasks = Vec::new();
    for (a, arm) in prepared.arms.iter().enumerate() {
        for r in 0..args.repeats {
            let fold_seed = arm_seed(args.seed, a).wrapping_add(7919 * r as u64);
            let folds = stratified_folds(&arm.y, args.cv, fold_seed);
            for f in 0..args.cv {
                splits.push(fold_sets(&folds, f, &arm.rows, &arm.y));
                for algo in 0..algos.len() {
                    tasks.push(Task {
                        arm: a,
                        algo,
                        fold: splits.len() - 1,
                        seed: fold_seed.wrapping_add(f as u64 + 1),
                    });
                }
            }
        }
    }
    ui.info(format!(
        "comparing {} algorithm{} on {} arm{} × {} repeats × {} folds",
        algos.len(),
        if algos.len() == 1 { "" } else { "s" },
        prepared.arms.len(),
        if prepared.arms.len() == 1 { "" } else { "s" },
        args.repeats,
        args.cv
    ));
    let bar = ui.progress(tasks.len() as u64, "fitting");
    let results: Vec<Result<FoldScore>> = tasks
        .par_iter()
        .map(|t| {
            let start = Instant::now();
            let s = &splits[t.fold];
            let pipeline = Pipeline::fit(frame, &s.train);
            let (x, _) = pipeline.transform(frame, &s.train)?;
            let model = algos[t.algo].fit(x.view(), &s.y_train, t.seed)?;
            let seconds = start.elapsed().as_secs_f64();
            let (xt, _) = pipeline.transform(frame, &s.test)?;
            let p = model.predict_proba(xt.view())?.to_vec();
            bar.inc(1);
            Ok(FoldScore {
                auc: auc(&p, &s.y_test).unwrap_or(f64::NAN),
                brier: brier(&p, &s.y_test),
                log_loss: log_loss(&p, &s.y_test),
                accuracy: accuracy(&p, &s.y_test),
                seconds,
            })
        })
        .collect();
    bar.finish_and_clear();

    let mut rows = Vec::new();
    for (a, arm) in prepared.arms.iter().enumerate() {
        let mut arm_rows = Vec::new();
        for (g, algo) in algos.iter().enumerate() {
            let mut ok = Vec::new();
            let mut failed = 0;
            let mut first_error = None;
            for (t, r) in tasks.iter().zip(&results) {
                if t.arm != a || t.algo != g {
                    continue;
                }
                match r {
                    Ok(s) => ok.push(s),
                    Err(e) => {
                        failed += 1;
                        if first_error.is_none() {
                            first_error = Some(e.to_string());
                        }
                    }
                }
            }
            if let Some(e) = &first_error {
                ui.warn(format!(
                    "{} failed on {failed} of {} folds of arm {}: {e}",
                    algo.name(),
                    args.cv * args.repeats,
                    arm.label()
                ));
            }
            let stat = |f: fn(&FoldScore) -> f64| {
                let v: Vec<f64> = ok.iter().map(|s| f(s)).filter(|v| v.is_finite()).collect();
                mean_sd(&v)
            };
            let (auc_mean, auc_sd) = stat(|s| s.auc);
            let (brier_mean, brier_sd) = stat(|s| s.brier);
            let (log_loss_mean, log_loss_sd) = stat(|s| s.log_loss);
            let (accuracy_mean, accuracy_sd) = stat(|s| s.accuracy);
            arm_rows.push(CompareRow {
                arm: arm.label(),
                algorithm: algo.name().to_string(),
                params: algo.describe(),
                folds_ok: ok.len(),
                folds_failed: failed,
                auc_mean,
                auc_sd,
                brier_mean,
                brier_sd,
                log_loss_mean,
                log_loss_sd,
                accuracy_mean,
                accuracy_sd,
                fit_seconds_mean: stat(|s| s.seconds).0,
                first_error,
            });
        }
        // Best first within each arm; failed algorithms last.
        arm_rows.sort_by(|x, y| {
            let key = |r: &CompareRow| {
                if r.auc_mean.is_finite() {
                    r.auc_mean
                } else {
                    f64::NEG_INFINITY
                }
            };
            key(y).total_cmp(&key(x))
        });
        rows.extend(arm_rows);
    }

    let format = args.format.unwrap_or(if sink.is_terminal() {
        Format::Table
    } else {
        Format::Csv
    });
    let text = render(&rows, format);
    sink.write_text(&text)?;
    sink.finish()
}

fn render(rows: &[CompareRow], format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        Format::Csv => {
            let header: Vec<String> = [
                "arm",
                "algorithm",
                "params",
                "folds_ok",
                "folds_failed",
                "auc_mean",
                "auc_sd",
                "brier_mean",
                "brier_sd",
                "log_loss_mean",
                "log_loss_sd",
                "accuracy_mean",
                "accuracy_sd",
                "fit_seconds_mean",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let cells: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.arm.clone()),
                        Cell::Text(r.algorithm.clone()),
                        Cell::Text(r.params.clone()),
                        Cell::Int(r.folds_ok),
                        Cell::Int(r.folds_failed),
                        Cell::Num(r.auc_mean, 4),
                        Cell::Num(r.auc_sd, 4),
                        Cell::Num(r.brier_mean, 4),
                        Cell::Num(r.brier_sd, 4),
                        Cell::Num(r.log_loss_mean, 4),
                        Cell::Num(r.log_loss_sd, 4),
                        Cell::Num(r.accuracy_mean, 4),
                        Cell::Num(r.accuracy_sd, 4),
                        Cell::Num(r.fit_seconds_mean, 3),
                    ]
                })
                .collect();
            render_csv(&header, &cells)
        }
        Format::Table => {
            let header: Vec<String> = [
                "arm",
                "algorithm",
                "AUC",
                "Brier",
                "log-loss",
                "accuracy",
                "fit s",
                "failed",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let pm = |m: f64, s: f64| {
                if m.is_finite() {
                    format!("{m:.3} ± {s:.3}")
                } else {
                    "NA".into()
                }
            };
            let cells: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.arm.clone()),
                        Cell::Text(r.algorithm.clone()),
                        Cell::Text(pm(r.auc_mean, r.auc_sd)),
                        Cell::Text(pm(r.brier_mean, r.brier_sd)),
                        Cell::Text(pm(r.log_loss_mean, r.log_loss_sd)),
                        Cell::Text(pm(r.accuracy_mean, r.accuracy_sd)),
                        Cell::Num(r.fit_seconds_mean, 3),
                        Cell::Int(r.folds_failed),
                    ]
                })
                .collect();
            render_table(&header, &cells)
        }
    }
}
