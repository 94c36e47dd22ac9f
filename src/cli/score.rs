//! `responder score`: apply a bundle to new patients and rank them.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::bundle::Bundle;
use crate::cli::common::{Format, InputArgs};
use crate::cli::Ui;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::apply::predict_all;
use crate::features::Frame;
use crate::output::Sink;
use crate::rank::{rank, RankedRow};
use crate::report::{render_csv, render_table, Cell};

/// Decimals printed for probabilities.
const DECIMALS: usize = 6;

/// Flags of `score`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder score --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --top 10
  responder score --model m.json --data new.csv --therapy ketamine --format json --out ranked.json")]
pub struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,

    /// Patients to score (CSV/TSV, optionally .gz; `-` reads stdin).
    /// Example: --data new_patients.csv
    #[arg(long, value_name = "FILE", required_unless_present = "cross_fitted")]
    pub data: Option<String>,

    /// Their genotype dosages (CSV/TSV, PLINK .raw; .gz read transparently).
    /// Example: --genotypes new_geno.raw
    #[arg(long, value_name = "FILE")]
    pub genotypes: Option<String>,

    /// Field delimiter of --data (default: from the extension, else sniffed).
    /// Example: --delimiter tab
    #[arg(long, value_name = "DELIM")]
    pub delimiter: Option<String>,

    /// Field delimiter of --genotypes. Example: --genotype-delimiter whitespace
    #[arg(long, value_name = "DELIM")]
    pub genotype_delimiter: Option<String>,

    /// Print the training patients' cross-fitted (out-of-fold) predictions
    /// stored in the bundle instead of scoring a file. Example: --cross-fitted
    #[arg(long, conflicts_with_all = ["data", "genotypes"])]
    pub cross_fitted: bool,

    /// Report `none` as best therapy when the best arm beats the runner-up
    /// by less than D. Example: --min-advantage 0.05
    #[arg(long, value_name = "D")]
    pub min_advantage: Option<f64>,

    /// The patient ID column (default: the one the model was trained with).
    /// Example: --id subject
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,

    /// Rank by the probability under this therapy arm (default: each
    /// patient's best arm). Example: --therapy TMS
    #[arg(long, value_name = "NAME")]
    pub therapy: Option<String>,

    /// Keep only the first K ranked patients. Example: --top 20
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,

    /// Output format (default: table on a terminal, else csv; json for an
    /// --out ending in .json). Example: --format json
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write results to this file (atomically) instead of stdout. Example: --out ranked.csv
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `score`.
pub fn run(args: Args, ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let arm_names = bundle.arm_names();
    let by = match &args.therapy {
        None => None,
        Some(name) => {
            Some(
                arm_names
                    .iter()
                    .position(|a| a == name)
                    .ok_or_else(|| Error::Model {
                        file: args.model.display().to_string(),
                        message: format!(
                            "--therapy `{name}` is not an arm of this model; its arms are: {}",
                            arm_names
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?,
            )
        }
    };
    if args.top == Some(0) {
        return Err(Error::usage("--top must be at least 1"));
    }
    if let Some(d) = args.min_advantage {
        if !(0.0..=1.0).contains(&d) {
            return Err(Error::usage("--min-advantage must be between 0 and 1"));
        }
    }
    let id = args.id.clone().unwrap_or_else(|| bundle.id_column.clone());
    let mut sink = Sink::open(args.out.as_deref())?;

    let (ids, probs, id_name) = if args.cross_fitted {
        let cf = bundle.cross_fitted.as_ref().ok_or_else(|| Error::Model {
            file: args.model.display().to_string(),
            message: "the bundle has no cross-fitted predictions (trained with --cv 0 or --no-cross-fitted)".into(),
        })?;
        ui.info(format!(
            "cross-fitted predictions of {} training patients: each from a model that did not see the patient",
            cf.ids.len()
        ));
        (cf.ids.clone(), cf.p.clone(), bundle.id_column.clone())
    } else {
        let input = InputArgs {
            data: args.data.clone().unwrap_or_default(),
            genotypes: args.genotypes.clone(),
            delimiter: args.delimiter.clone(),
            genotype_delimiter: args.genotype_delimiter.clone(),
        };
        let opts = input.read_options(&id)?;
        let mut ds = Dataset::load(&input.data, input.genotypes.as_deref(), &opts)?;
        if let Some(msg) = ds.join_message() {
            ui.info(msg);
        }
        for note in bundle.prepare_genotypes(&mut ds)? {
            ui.info(note);
        }
        let frame = Frame::from_schema(&ds, &bundle.features)?;
        let rows: Vec<usize> = (0..ds.n_rows()).collect();
        let (probs, unseen) = predict_all(&bundle, &frame, &rows)?;
        for (feature, n) in &unseen {
            ui.warn(format!(
                "{}: {n} patients have a `{feature}` level the model never saw in training; scored as all-zeros for it",
                ds.data.file
            ));
        }
        let ids: Vec<String> = (0..ds.n_rows()).map(|i| ds.id(i).to_string()).collect();
        (ids, probs, ds.id_name().to_string())
    };
    let mut ranked = rank(&ids, &probs, by);
    if let Some(k) = args.top {
        ranked.truncate(k);
    }

    let format = args.format.unwrap_or_else(|| {
        let json_out = args.out.as_ref().is_some_and(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        });
        if json_out {
            Format::Json
        } else if sink.is_terminal() {
            Format::Table
        } else {
            Format::Csv
        }
    });
    let multi = bundle.arms.len() > 1;
    let text = render(
        &ranked,
        &id_name,
        &arm_names,
        multi,
        format,
        args.min_advantage.unwrap_or(0.0),
    );
    sink.write_text(&text)?;
    sink.finish()?;
    ui.info(format!(
        "scored {} patients with {} ({} arm{})",
        ids.len(),
        args.model.display(),
        arm_names.len(),
        if multi { "s" } else { "" }
    ));
    Ok(())
}

/// The output columns.
pub fn header(id: &str, arms: &[String], multi: bool) -> Vec<String> {
    let mut h = vec!["rank".to_string(), id.to_string()];
    if multi {
        h.extend(arms.iter().map(|a| format!("p_{a}")));
        h.push("best_therapy".into());
        h.push("advantage".into());
    } else {
        h.push("probability".into());
    }
    h
}

fn round(v: f64) -> f64 {
    let s = 10f64.powi(DECIMALS as i32);
    (v * s).round() / s
}

/// The best therapy's name, or `none` when its advantage is below `min_advantage`.
pub fn best_label(r: &RankedRow, arms: &[String], min_advantage: f64) -> String {
    if r.advantage < min_advantage {
        "none".into()
    } else {
        arms[r.best].clone()
    }
}

fn render(
    rows: &[RankedRow],
    id: &str,
    arms: &[String],
    multi: bool,
    format: Format,
    min_advantage: f64,
) -> String {
    let header = header(id, arms, multi);
    match format {
        Format::Json => {
            let items: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    m.insert("rank".into(), r.rank.into());
                    m.insert(id.into(), r.id.clone().into());
                    if multi {
                        for (a, p) in arms.iter().zip(&r.probs) {
                            m.insert(format!("p_{a}"), round(*p).into());
                        }
                        m.insert(
                            "best_therapy".into(),
                            best_label(r, arms, min_advantage).into(),
                        );
                        m.insert("advantage".into(), round(r.advantage).into());
                    } else {
                        m.insert("probability".into(), round(r.probs[0]).into());
                    }
                    Value::Object(m)
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        Format::Csv | Format::Table => {
            let cells: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| {
                    let mut c = vec![Cell::Int(r.rank), Cell::Text(r.id.clone())];
                    c.extend(r.probs.iter().map(|&p| Cell::Num(p, DECIMALS)));
                    if multi {
                        c.push(Cell::Text(best_label(r, arms, min_advantage)));
                        c.push(Cell::Num(r.advantage, DECIMALS));
                    }
                    c
                })
                .collect();
            if format == Format::Csv {
                render_csv(&header, &cells)
            } else {
                render_table(&header, &cells)
            }
        }
    }
}
