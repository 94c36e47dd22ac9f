//! The command line: one file per subcommand, each with `Args` and `run`.

pub(crate) mod algorithms;
pub(crate) mod args;
pub(crate) mod compare;
pub(crate) mod evaluate;
pub(crate) mod explain;
pub(crate) mod inspect;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod score;
pub(crate) mod simulate;
pub(crate) mod split;
pub(crate) mod train;

use clap::{Parser, Subcommand};

use crate::error::Result;
pub(crate) use args::Ui;

/// Train and score therapy-response models for precision psychiatry research.
///
/// Typical use: `responder train` on a trial's clinical (and genotype) files,
/// then `responder score` on new patients to rank who is likely to respond,
/// and to which therapy.
#[derive(Debug, Parser)]
#[command(name = "responder", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Print nothing to stderr but errors and warnings (no progress bars).
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,

    /// Worker threads for folds, trees and candidates (default: all cores;
    /// 1 to 1024); results do not depend on it. Example: --threads 2
    #[arg(long, global = true, value_name = "N", value_parser = args::count(1, 1024))]
    pub(crate) threads: Option<usize>,

    /// The subcommand.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Make a synthetic cohort with known true response probabilities.
    Simulate(simulate::Args),
    /// Fit a model (one per therapy arm) and write a model bundle.
    Train(train::Args),
    /// Score new patients with a model bundle and rank them.
    Score(score::Args),
    /// Summarise a model bundle.
    Inspect(inspect::Args),
    /// Compare algorithms on identical cross-validation folds.
    Compare(compare::Args),
    /// List the algorithms, their parameters and defaults.
    Algorithms(algorithms::Args),
    /// Evaluate a model on labelled patients: AUC with CIs, calibration,
    /// classification at a threshold, decision curve; optional SVG plots.
    Evaluate(evaluate::Args),
    /// Explain a model: coefficients and odds ratios, permutation
    /// importance, one patient's contributions.
    Explain(explain::Args),
    /// Write a TRIPOD+AI model card (Markdown and JSON) for a model.
    Report(report::Args),
    /// Split a data file into stratified train and test files.
    Split(split::Args),
    /// Fit a readable treatment rule (a depth-1/2 policy tree on doubly
    /// robust scores) and report its held-out value.
    Policy(policy::Args),
}

impl Command {
    /// The files the command reads: no output may replace one of them.
    fn inputs(&self) -> Vec<String> {
        let mut v: Vec<Option<String>> = match self {
            Command::Train(a) => a.data.inputs(),
            Command::Compare(a) => a.data.inputs(),
            Command::Score(a) => vec![
                Some(a.model.display().to_string()),
                a.input.data.clone(),
                a.input.genotypes.clone(),
            ],
            Command::Evaluate(a) => vec![
                Some(a.model.display().to_string()),
                Some(a.input.data.clone()),
                a.input.genotypes.clone(),
                a.truth.clone(),
            ],
            Command::Explain(a) => vec![
                Some(a.model.display().to_string()),
                a.input.data.clone(),
                a.input.genotypes.clone(),
            ],
            Command::Report(a) => vec![
                Some(a.model.display().to_string()),
                a.input.data.clone(),
                a.input.genotypes.clone(),
            ],
            Command::Split(a) => vec![Some(a.data.clone())],
            Command::Policy(a) => vec![
                Some(a.model.display().to_string()),
                a.input.data.clone(),
                a.input.genotypes.clone(),
            ],
            Command::Inspect(_) | Command::Simulate(_) | Command::Algorithms(_) => Vec::new(),
        };
        v.drain(..).flatten().collect()
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    crate::output::install_signal_cleanup();
    crate::output::protect_inputs(cli.command.inputs());
    let ui = Ui::new(cli.quiet);
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| {
                crate::error::Error::Fit(format!("cannot start {n} worker threads: {e}"))
            })?;
    }
    match cli.command {
        Command::Simulate(a) => simulate::run(a, &ui),
        Command::Train(a) => train::run(a, &ui),
        Command::Score(a) => score::run(a, &ui),
        Command::Inspect(a) => inspect::run(a, &ui),
        Command::Compare(a) => compare::run(a, &ui),
        Command::Algorithms(a) => algorithms::run(a, &ui),
        Command::Evaluate(a) => evaluate::run(a, &ui),
        Command::Explain(a) => explain::run(a, &ui),
        Command::Report(a) => report::run(a, &ui),
        Command::Split(a) => split::run(a, &ui),
        Command::Policy(a) => policy::run(a, &ui),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
