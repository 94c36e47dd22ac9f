//! `responder compare`: every chosen algorithm on identical repeated
//! stratified folds, per arm, with discrimination, calibration-sensitive
//! scores and fit time.

use std::path::PathBuf;

use crate::cli::args::{count, cv_folds, resolve_group_folds, split_list, DataArgs, Format};
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::models::{AlgorithmParams, RawParams, ALGORITHMS};
use crate::notes::Notes;
use crate::output::Sink;
use crate::report::table::header;
use crate::report::{render_csv, render_table, Cell};
use crate::training::compare::{compare, CompareRow};
use crate::training::{Cohort, CohortSpec};

/// Flags of `compare`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder compare --data clinical.csv --genotypes genotypes.csv --target responder \\
      --therapy-col therapy --algorithms all
  responder compare --data trial.csv --target responder --algorithms logistic,forest \\
      --param forest.trees=500 --cv 10 --repeats 3 --format json")]
pub(crate) struct Args {
    /// The training data.
    #[command(flatten)]
    pub(crate) data: DataArgs,

    /// Algorithms to compare (comma-separated), or `all`. Example: --algorithms logistic,elastic-net,forest
    #[arg(
        long,
        value_name = "A,B,..|all",
        default_value = "all",
        value_delimiter = ','
    )]
    pub(crate) algorithms: Vec<String>,

    /// A hyper-parameter of one algorithm, repeatable. Example: --param forest.trees=500
    #[arg(long = "param", value_name = "ALGO.KEY=VALUE")]
    pub(crate) params: Vec<String>,

    /// Folds per repeat, 2 to 100; with --group-col, folds keep each group
    /// whole, and `groups` is one fold per group (leave-one-group-out).
    /// Example: --cv 10
    #[arg(long, default_value = "5", value_parser = cv_folds(2, 100))]
    pub(crate) cv: usize,

    /// Repeats of the K-fold split (each with new folds). 1 to 1000. Example: --repeats 3
    #[arg(long, default_value_t = 5, value_parser = count(1, 1000))]
    pub(crate) repeats: usize,

    /// Seed of the folds and of every algorithm. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Output format (default: table on a terminal, else csv). Example: --format json
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,

    /// Write results to this file (atomically) instead of stdout. Example: --out compare.csv
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// Splits `ALGO.KEY=VALUE` flags by algorithm.
fn params_for(name: &str, params: &[String]) -> Result<RawParams> {
    let mine: Vec<String> = params
        .iter()
        .filter_map(|p| p.strip_prefix(&format!("{name}.")).map(str::to_string))
        .collect();
    RawParams::parse(&mine)
}

/// `compare`'s validated configuration.
struct Config {
    cohort: CohortSpec,
    algorithms: Vec<AlgorithmParams>,
    cv: usize,
    repeats: usize,
    seed: u64,
}

impl Args {
    /// Checks the flags before anything is read.
    fn config(&self) -> Result<Config> {
        let mut names = split_list(&self.algorithms);
        if names.iter().any(|n| n == "all") {
            names = ALGORITHMS.iter().map(|a| a.name.to_string()).collect();
        }
        // Each algorithm once, in the order first named.
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        for p in &self.params {
            let algo = p.split_once('.').map(|(a, _)| a).unwrap_or("");
            if !names.iter().any(|n| n == algo) {
                return Err(Error::usage(format!(
                    "--param `{p}` must name one of the compared algorithms as ALGO.KEY=VALUE (compared: {})",
                    names.join(", ")
                )));
            }
        }
        let algorithms = names
            .iter()
            .map(|n| AlgorithmParams::from_cli(n, &params_for(n, &self.params)?))
            .collect::<Result<_>>()?;
        Ok(Config {
            cohort: self.data.spec()?,
            algorithms,
            cv: self.cv,
            repeats: self.repeats,
            seed: self.seed,
        })
    }
}

/// Runs `compare`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let mut c = args.config()?;
    let mut sink = Sink::open(args.out.as_deref())?;
    let mut notes = Notes::default();
    let (need, why) = if c.cohort.group_col.is_some() {
        (2, "a model".to_string())
    } else {
        (c.cv, format!("--cv {}", c.cv))
    };
    let cohort = Cohort::assemble(&c.cohort, need, &why, &mut notes);
    ui.notes(&notes);
    let cohort = cohort?;
    c.cv = resolve_group_folds(c.cv, cohort.n_groups())?;
    crate::cli::train::single_group_cv(&cohort, c.cv, c.cohort.group_col.as_deref().unwrap_or(""))?;
    let (n_algos, n_arms) = (c.algorithms.len(), cohort.arms.len());
    ui.info(format!(
        "comparing {n_algos} algorithm{} on {n_arms} arm{} × {} repeats × {} folds",
        if n_algos == 1 { "" } else { "s" },
        if n_arms == 1 { "" } else { "s" },
        c.repeats,
        c.cv
    ));
    let bar = ui.progress((n_algos * n_arms * c.repeats * c.cv) as u64, "fitting");
    let (rows, warnings) = compare(&cohort, &c.algorithms, c.cv, c.repeats, c.seed, &|| {
        bar.inc(1)
    });
    bar.finish_and_clear();
    for w in warnings {
        ui.warn(w);
    }
    let format = args.format.unwrap_or(if sink.is_terminal() {
        Format::Table
    } else {
        Format::Csv
    });
    sink.write_text(&render(&rows, format))?;
    sink.finish()
}

fn render(rows: &[CompareRow], format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        Format::Csv => render_rows_csv(rows),
        Format::Table => render_rows_table(rows),
    }
}

/// Every column of every row, as CSV (the JSON keys but `first_error`).
fn render_rows_csv(rows: &[CompareRow]) -> String {
    let header = header(&[
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
    ]);
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

/// The main columns as `mean ± sd`, as an aligned table.
fn render_rows_table(rows: &[CompareRow]) -> String {
    let header = header(&[
        "arm",
        "algorithm",
        "AUC",
        "Brier",
        "log-loss",
        "accuracy",
        "fit s",
        "failed",
    ]);
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
