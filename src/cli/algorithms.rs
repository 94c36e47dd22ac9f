//! `responder algorithms`: what `--algorithm` accepts.

use serde::Serialize;

use crate::cli::Ui;
use crate::error::Result;
use crate::models::ALGORITHMS;
use crate::output::Sink;
use crate::training::tuning::auto_grid;

/// Flags of `algorithms`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  responder algorithms --format json")]
pub(crate) struct Args {
    /// Output format: text or json. Example: --format json
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub(crate) format: String,
}

#[derive(Serialize)]
struct ParamOut {
    key: &'static str,
    default: &'static str,
    help: &'static str,
}

#[derive(Serialize)]
struct AlgoOut {
    name: &'static str,
    description: &'static str,
    native_probabilities: bool,
    keeps_training_rows: bool,
    params: Vec<ParamOut>,
}

/// Runs `algorithms`.
pub(crate) fn run(args: Args, _ui: &Ui) -> Result<()> {
    let list: Vec<AlgoOut> = ALGORITHMS
        .iter()
        .map(|a| AlgoOut {
            name: a.name,
            description: a.description,
            native_probabilities: a.native_probabilities,
            keeps_training_rows: a.keeps_training_rows,
            params: a
                .params
                .iter()
                .map(|p| ParamOut {
                    key: p.key,
                    default: p.default,
                    help: p.help,
                })
                .collect(),
        })
        .collect();
    let text = if args.format == "json" {
        let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        for a in &list {
            s.push_str(&format!("{}: {}\n", a.name, a.description));
            s.push_str(&format!(
                "  probabilities: {}; bundle keeps training rows: {}\n",
                if a.native_probabilities {
                    "native"
                } else {
                    "calibrated (Platt or leaf shares)"
                },
                if a.keeps_training_rows { "YES" } else { "no" }
            ));
            for p in &a.params {
                s.push_str(&format!(
                    "  --param {}={:<8} {}\n",
                    p.key, p.default, p.help
                ));
            }
            s.push('\n');
        }
        s.push_str("auto: chooses per arm by inner 3-fold CV among:\n");
        for g in auto_grid() {
            s.push_str(&format!("  {} ({})\n", g.name(), g.describe()));
        }
        s
    };
    let mut sink = Sink::open(None)?;
    sink.write_text(&text)?;
    sink.finish()
}
