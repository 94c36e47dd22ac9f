//! `responder report`: a TRIPOD+AI model card (Markdown and JSON) from a
//! bundle and, with `--data`, its evaluation and plots.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::bundle::Bundle;
use crate::cli::args::count;
use crate::cli::args::OptionalInputArgs;
use crate::cli::evaluate::warn_evaluation;
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::eval::recommendation::{judge, JudgeOptions};
use crate::eval::selection::{EffectOptions, EffectsOutput, PropensityChoice};
use crate::eval::LabelledData;
use crate::eval::{evaluate_bundle, EvalOptions};
use crate::notes::Notes;
use crate::output::write_file;
use crate::report::card::{build, render_markdown};
use crate::report::plots::{evaluation_plots, write_toc_plots};

/// Flags of `report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder report --model models/example.json --out card/
  responder report --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --target responder --out card/")]
pub(crate) struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub(crate) model: PathBuf,

    /// Patient files (optional).
    #[command(flatten)]
    pub(crate) input: OptionalInputArgs,

    /// The outcome column of --data (default: the model's target column).
    /// Example: --target responder
    #[arg(long, value_name = "COL", requires = "data")]
    pub(crate) target: Option<String>,

    /// The patient ID column (default: the one the model was trained with).
    #[arg(long, value_name = "COL", requires = "data")]
    pub(crate) id: Option<String>,

    /// Bootstrap replicates for the AUC interval (at most 100,000). Example: --bootstrap 5000
    #[arg(long, value_name = "B", default_value_t = 2000, value_parser = count(0, 100_000))]
    pub(crate) bootstrap: usize,

    /// Seed of the bootstrap and importance. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Use the bundle's cross-fitted predictions of its training patients
    /// (as `evaluate --cross-fitted`) for the treatment-selection evidence:
    /// for a card made on the training file. Example: --cross-fitted
    #[arg(long, requires = "data")]
    pub(crate) cross_fitted: bool,

    /// Propensities for the treatment-selection evidence (as `evaluate`).
    /// Example: --propensity estimate
    #[arg(long, value_enum, default_value = "randomised", requires = "data")]
    pub(crate) propensity: PropensityChoice,

    /// The control arm (as `evaluate`). Example: --control SSRI
    #[arg(long, value_name = "ARM", requires = "data")]
    pub(crate) control: Option<String>,

    /// A column of sites or trials (as `evaluate`). Example: --group-col site
    #[arg(long, value_name = "COL", requires = "data")]
    pub(crate) group_col: Option<String>,

    /// Folder for model-card.md, model-card.json and the plots (created if
    /// needed). Example: --out card/
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

/// The treatment-selection evidence for the card, with its TOC plots
/// added to `written`; `None` for a one-arm model or a file without the
/// therapy column.
fn treatment_evidence(
    args: &Args,
    bundle: &Bundle,
    name: &str,
    labelled: &LabelledData,
    written: &mut Vec<PathBuf>,
    ui: &Ui,
) -> Result<Option<EffectsOutput>> {
    let effects = EffectOptions {
        control: args.control.clone(),
        group_col: args.group_col.clone(),
        ..EffectOptions::new(args.propensity, args.seed)
    };
    let judge_opts = JudgeOptions::new(args.cross_fitted, args.bootstrap, args.seed, effects);
    let mut notes = Notes::default();
    let selection = judge(bundle, name, labelled, judge_opts, None, &mut notes);
    ui.notes(&notes);
    let effects = selection?.and_then(|s| s.effects);
    if let Some(e) = &effects {
        written.extend(write_toc_plots(&args.out, e)?);
    }
    Ok(effects)
}

/// Runs `report`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let bytes = std::fs::read(&args.model).map_err(|source| Error::Io {
        action: "cannot read model",
        path: args.model.clone(),
        source,
    })?;
    let name = args.model.display().to_string();
    let bundle = Bundle::from_slice(&name, &bytes)?;
    let sha = format!("{:x}", Sha256::digest(&bytes));
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        action: "cannot create the report folder",
        path: args.out.clone(),
        source,
    })?;
    let mut evaluation = None;
    let mut effects = None;
    let mut plot_files = Vec::new();
    if let Some(input) = args.input.input() {
        let labelled =
            input.open_labelled(&bundle, args.id.as_deref(), args.target.as_deref(), ui)?;
        let opts = EvalOptions {
            bootstrap: args.bootstrap,
            seed: args.seed,
        };
        let ev = evaluate_bundle(&bundle, &labelled, None, opts, None)?;
        warn_evaluation(ui, &ev);
        let mut written = evaluation_plots(&args.out, &bundle, &labelled, &ev, args.seed)?;
        effects = treatment_evidence(&args, &bundle, &name, &labelled, &mut written, ui)?;
        plot_files = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        evaluation = Some((labelled.ds.files.clone(), ev));
    }
    let card = build(
        &name,
        &sha,
        &bundle,
        evaluation.as_ref().map(|(f, e)| (f.as_slice(), e)),
        effects,
        plot_files,
    );
    let mut json = serde_json::to_string_pretty(&card)
        .map_err(|e| Error::Fit(format!("cannot serialise the model card: {e}")))?;
    json.push('\n');
    write_file(&args.out.join("model-card.json"), json.as_bytes())?;
    write_file(
        &args.out.join("model-card.md"),
        render_markdown(&card).as_bytes(),
    )?;
    let to_fill = card.items.iter().filter(|i| i.status != "filled").count();
    ui.info(format!(
        "wrote {} (model-card.md, model-card.json{}); {to_fill} of {} TRIPOD+AI items need the authors' input",
        args.out.display(),
        if card.plots.is_empty() {
            String::new()
        } else {
            format!(", {} plots", card.plots.len())
        },
        card.items.len()
    ));
    Ok(())
}
