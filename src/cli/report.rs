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
use crate::eval::apply::EvalFiles;
use crate::eval::LabelledData;
use crate::eval::{evaluate_bundle, EvalOptions};
use crate::notes::Notes;
use crate::output::write_file;
use crate::report::card::{build, render_markdown};
use crate::report::plots::evaluation_plots;

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

    /// Folder for model-card.md, model-card.json and the plots (created if
    /// needed). Example: --out card/
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
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
    let mut plot_files = Vec::new();
    if let Some(input) = args.input.input() {
        let files = EvalFiles {
            read: input.read_options(args.id.as_deref().unwrap_or(&bundle.id_column))?,
            data: input.data,
            genotypes: input.genotypes,
            target: args
                .target
                .clone()
                .unwrap_or_else(|| bundle.target.column.clone()),
        };
        let mut notes = Notes::default();
        let labelled = LabelledData::open(&bundle, &files, &mut notes);
        ui.notes(&notes);
        let labelled = labelled?;
        let opts = EvalOptions {
            bootstrap: args.bootstrap,
            seed: args.seed,
        };
        let ev = evaluate_bundle(&bundle, &labelled, None, opts, None)?;
        warn_evaluation(ui, &ev);
        let written = evaluation_plots(&args.out, &bundle, &labelled, &ev, args.seed)?;
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
