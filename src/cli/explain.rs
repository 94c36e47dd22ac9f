//! `responder explain`: what drives a model's predictions. Coefficients and
//! odds ratios for linear models, permutation importance for any model, and
//! one patient's largest contributions.

use std::path::PathBuf;

use serde::Serialize;

use crate::bundle::{Arm, Bundle};
use crate::cli::args::{count, out_is_json, InputArgs, OptionalInputArgs};
use crate::cli::Ui;
use crate::data::Dataset;
use crate::error::{Error, Location, Result};
use crate::eval::apply::predict_arm;
use crate::eval::importance::{
    coefficients, linear_contributions, reference_contributions, Coefficient, Contribution,
    Importance,
};
use crate::eval::importance::{effect_importance, importance_by_arm, ArmEffectImportance};
use crate::eval::LabelledData;
use crate::features::Frame;
use crate::output::Sink;
use crate::report::{render_table, Cell};

/// Output formats of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExplainFormat {
    /// Readable tables.
    Text,
    /// JSON (keys documented in the README).
    Json,
}

/// Flags of `explain`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder explain --model models/example.json
  responder explain --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --target responder --patient P00017 --top 5")]
pub(crate) struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub(crate) model: PathBuf,

    /// Patient files (optional).
    #[command(flatten)]
    pub(crate) input: OptionalInputArgs,

    /// The outcome column for permutation importance (default: the model's
    /// target column, when the file has it). Example: --target responder
    #[arg(long, value_name = "COL", requires = "data")]
    pub(crate) target: Option<String>,

    /// The patient ID column (default: the one the model was trained with).
    /// Example: --id subject
    #[arg(long, value_name = "COL", requires = "data")]
    pub(crate) id: Option<String>,

    /// Show this patient's largest contributions under every arm. Example: --patient P00017
    #[arg(long, value_name = "ID", requires = "data")]
    pub(crate) patient: Option<String>,

    /// Show the K largest coefficients, importances and contributions (1 to
    /// 10,000). Example: --top 20
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = count(1, 10_000))]
    pub(crate) top: usize,

    /// Seed of the permutations. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Shuffles per feature for permutation importance (1 to 10,000). Example: --repeats 20
    #[arg(long, value_name = "R", default_value_t = 10, value_parser = count(1, 10_000))]
    pub(crate) repeats: usize,

    /// Also show which features drive each arm's predicted *effect* against
    /// the control (permutation importance of p under the arm − p under
    /// control, on every patient of --data; no outcome needed).
    /// Example: --effects
    #[arg(long, requires = "data")]
    pub(crate) effects: bool,

    /// The control arm of --effects (default: a DR-learner's own control,
    /// else an arm named control, placebo, sham, TAU, usual or waitlist,
    /// else the first arm). Example: --control SSRI
    #[arg(long, value_name = "ARM", requires = "effects")]
    pub(crate) control: Option<String>,

    /// Output format (default: text; json for an --out ending in .json).
    /// Example: --format json
    #[arg(long, value_enum)]
    pub(crate) format: Option<ExplainFormat>,

    /// Write results to this file (atomically) instead of stdout. Example: --out explain.json
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// Permutation importance of one arm.
#[derive(Debug, Serialize)]
pub(crate) struct ArmImportance {
    /// Patients of this arm in the file.
    pub(crate) n: usize,
    /// AUC before shuffling.
    pub(crate) auc: f64,
    /// Shuffles per feature.
    pub(crate) repeats: usize,
    /// The `top` features with the largest mean AUC drop.
    pub(crate) features: Vec<Importance>,
}

/// One patient's explanation under one arm.
#[derive(Debug, Serialize)]
pub(crate) struct PatientExplanation {
    /// The patient ID.
    pub(crate) id: String,
    /// Whether the patient received this arm.
    pub(crate) received: bool,
    /// P(responder) under this arm.
    pub(crate) probability: f64,
    /// `exact log-odds` (linear models) or `change in probability vs missing`.
    pub(crate) method: String,
    /// The intercept (linear models): log-odds at the training mean.
    pub(crate) intercept: Option<f64>,
    /// The `top` largest contributions.
    pub(crate) contributions: Vec<Contribution>,
}

/// One arm's explanation.
#[derive(Debug, Serialize)]
pub(crate) struct ArmExplanation {
    /// The arm.
    pub(crate) arm: String,
    /// The algorithm.
    pub(crate) algorithm: String,
    /// Linear models: the `top` largest coefficients; otherwise `None`.
    pub(crate) coefficients: Option<Vec<Coefficient>>,
    /// With --data and an outcome: permutation importance.
    pub(crate) importance: Option<ArmImportance>,
    /// With --patient: that patient's contributions.
    pub(crate) patient: Option<PatientExplanation>,
}

/// What `explain --format json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct ExplainOutput {
    /// The bundle file.
    pub(crate) model: String,
    /// The seed.
    pub(crate) seed: u64,
    /// "apparent performance (n of N patients were in training)" when the
    /// importance was measured on training patients.
    pub(crate) apparent_performance: Option<String>,
    /// One entry per arm.
    pub(crate) arms: Vec<ArmExplanation>,
    /// With --effects: what drives each arm's predicted effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) effects: Option<EffectExplanation>,
}

/// What drives the predicted effects (`explain --effects`).
#[derive(Debug, Serialize)]
pub(crate) struct EffectExplanation {
    /// The control arm.
    pub(crate) control: String,
    /// Patients whose predicted effects were perturbed.
    pub(crate) n: usize,
    /// Shuffles per feature.
    pub(crate) repeats: usize,
    /// One entry per arm but the control (features cut to --top).
    pub(crate) arms: Vec<ArmEffectImportance>,
}

/// Permutation importance of the effects on every row of `frame`.
fn explain_effects(args: &Args, bundle: &Bundle, frame: &Frame) -> Result<EffectExplanation> {
    let names = bundle.arm_names();
    if names.len() < 2 {
        return Err(Error::usage(
            "--effects needs a model with at least two arms; this one has one",
        ));
    }
    let control = crate::eval::selection::bundle_control(bundle, args.control.as_deref())?;
    let rows: Vec<usize> = (0..frame.n_rows()).collect();
    let mut arms = effect_importance(bundle, frame, &rows, control, args.repeats, args.seed)?;
    for a in &mut arms {
        a.features.truncate(args.top);
    }
    Ok(EffectExplanation {
        control: names[control].clone(),
        n: rows.len(),
        repeats: args.repeats,
        arms,
    })
}

/// The text section of `explain --effects`.
fn render_effects(e: &EffectExplanation) -> String {
    let mut out = String::new();
    for a in &e.arms {
        out.push_str(&format!(
            "\n== effect of {} vs {} ==\nPermutation importance of the predicted effect on {} patients (SD of the effect over patients {:.4}; mean |change| over {} shuffles)\n",
            a.arm, e.control, e.n, a.effect_sd, e.repeats
        ));
        let rows: Vec<Vec<Cell>> = a
            .features
            .iter()
            .map(|f| {
                vec![
                    Cell::Text(f.feature.clone()),
                    Cell::Num(f.effect_change_mean, 4),
                    Cell::Num(f.effect_change_sd, 4),
                ]
            })
            .collect();
        out.push_str(&render_table(
            &["feature".into(), "effect change".into(), "sd".into()],
            &rows,
        ));
    }
    out
}

/// Explains one patient (joined row `row`) under `arm`.
pub(crate) fn explain_patient(
    arm: &Arm,
    frame: &Frame,
    row: usize,
    id: &str,
    received: bool,
    top: usize,
) -> Result<PatientExplanation> {
    let (p, _) = predict_arm(arm, frame, &[row])?;
    let per_arm = arm.design == crate::bundle::Design::PerArm;
    let (method, intercept, mut contributions) = match arm.model.logit_linear() {
        Some(m) if per_arm => {
            let (b0, c) = linear_contributions(arm, &m, frame, row)?;
            ("exact log-odds".to_string(), Some(b0), c)
        }
        _ => (
            "change in probability vs missing".to_string(),
            None,
            reference_contributions(arm, frame, row)?,
        ),
    };
    contributions.truncate(top);
    Ok(PatientExplanation {
        id: id.to_string(),
        received,
        probability: p[0],
        method,
        intercept,
        contributions,
    })
}

/// Each arm's explanation with its `top` coefficients (logistic or lasso per-arm
/// models), before any data is read.
fn coefficient_explanations(bundle: &Bundle, top: usize) -> Vec<ArmExplanation> {
    bundle
        .arms
        .iter()
        .map(|arm| {
            let coefs = match arm.model.logit_linear() {
                Some(m) if arm.design == crate::bundle::Design::PerArm => {
                    let mut c = coefficients(arm, &m);
                    c.truncate(top);
                    Some(c)
                }
                _ => None,
            };
            ArmExplanation {
                arm: arm.label(),
                algorithm: arm.model.name().to_string(),
                coefficients: coefs,
                importance: None,
                patient: None,
            }
        })
        .collect()
}

/// With an outcome: permutation importance of every arm, and the patient's
/// contributions.
fn explain_labelled(
    args: &Args,
    bundle: &Bundle,
    labelled: &LabelledData,
    arms: &mut [ArmExplanation],
    ui: &Ui,
) -> Result<Option<String>> {
    for note in &labelled.genotype_notes {
        ui.info(note.clone());
    }
    if labelled.n_missing_target > 0 {
        ui.info(format!(
            "{}: {} patients with a missing `{}` are left out of the importance",
            labelled.ds.data.file, labelled.n_missing_target, labelled.target_column
        ));
    }
    let names = bundle.arm_names();
    for (name, base, mut features) in importance_by_arm(bundle, labelled, args.repeats, args.seed)?
    {
        let a = names.iter().position(|n| *n == name).unwrap_or(0);
        features.truncate(args.top);
        arms[a].importance = Some(ArmImportance {
            n: labelled.arm_rows(a).0.len(),
            auc: base,
            repeats: args.repeats,
            features,
        });
    }
    for e in arms.iter().filter(|e| e.importance.is_none()) {
        ui.warn(format!(
            "arm `{}`: no permutation importance (it needs patients of this arm with both outcomes in {})",
            e.arm, labelled.ds.data.file
        ));
    }
    if let Some(pid) = &args.patient {
        explain_patients(
            bundle,
            &labelled.ds,
            &labelled.frame,
            Some(labelled),
            pid,
            args.top,
            arms,
        )?;
    }
    let rows: Vec<usize> = (0..bundle.arms.len())
        .flat_map(|a| labelled.arm_rows(a).0)
        .collect();
    let marker = crate::eval::apply::overlap(bundle, labelled, &rows).and_then(|o| o.marker());
    if let Some(m) = &marker {
        ui.warn(format!(
            "permutation importance: {m}; it describes the fit, not how the model generalises"
        ));
    }
    Ok(marker)
}

/// Reads `--data` and adds importance (when the file has the outcome) and
/// the patient's contributions to `arms`.
fn explain_data(
    args: &Args,
    input: &InputArgs,
    bundle: &Bundle,
    arms: &mut [ArmExplanation],
    effects: &mut Option<EffectExplanation>,
    ui: &Ui,
) -> Result<Option<String>> {
    let id = args.id.clone().unwrap_or_else(|| bundle.id_column.clone());
    let mut ds = Dataset::load(
        &input.data,
        input.genotypes.as_deref(),
        &input.read_options_for(&id, bundle)?,
    )?;
    if let Some(msg) = ds.join_message() {
        ui.info(msg);
    }
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| bundle.target.column.clone());
    if args.target.is_some() || ds.data.find(&target).is_some() {
        let labelled = LabelledData::from_dataset(bundle, ds, &target)?;
        if args.effects {
            *effects = Some(explain_effects(args, bundle, &labelled.frame)?);
        }
        return explain_labelled(args, bundle, &labelled, arms, ui);
    }
    ui.info(format!(
        "{}: no `{target}` column, so no permutation importance (name the outcome with --target)",
        ds.data.file
    ));
    for note in bundle.prepare_genotypes(&mut ds)? {
        ui.info(note);
    }
    let frame = Frame::from_schema(&ds, &bundle.features)?;
    if args.effects {
        *effects = Some(explain_effects(args, bundle, &frame)?);
    }
    if let Some(pid) = &args.patient {
        explain_patients(bundle, &ds, &frame, None, pid, args.top, arms)?;
    }
    Ok(None)
}

/// Runs `explain`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let mut sink = Sink::open(args.out.as_deref())?;
    let mut arms = coefficient_explanations(&bundle, args.top);
    let mut apparent_performance = None;
    let mut effects = None;
    if let Some(input) = args.input.input() {
        apparent_performance = explain_data(&args, &input, &bundle, &mut arms, &mut effects, ui)?;
    }
    let json_out = out_is_json(args.out.as_deref());
    let format = args.format.unwrap_or(if json_out {
        ExplainFormat::Json
    } else {
        ExplainFormat::Text
    });
    let text = match format {
        ExplainFormat::Json => {
            let out = ExplainOutput {
                model: args.model.display().to_string(),
                seed: args.seed,
                apparent_performance,
                arms,
                effects,
            };
            let mut s = serde_json::to_string_pretty(&out)
                .map_err(|e| Error::Fit(format!("cannot serialise the explanation: {e}")))?;
            s.push('\n');
            s
        }
        ExplainFormat::Text => {
            let mut t = render_text(&args.model.display().to_string(), &arms);
            if let Some(e) = &effects {
                t.push_str(&render_effects(e));
            }
            if let Some(m) = &apparent_performance {
                t = format!("*** {} ***\n{t}", m.to_uppercase());
            }
            t
        }
    };
    sink.write_text(&text)?;
    sink.finish()
}

fn explain_patients(
    bundle: &Bundle,
    ds: &Dataset,
    frame: &Frame,
    labelled: Option<&LabelledData>,
    pid: &str,
    top: usize,
    arms: &mut [ArmExplanation],
) -> Result<()> {
    let row = (0..ds.n_rows()).find(|&i| ds.id(i) == pid).ok_or_else(|| {
        Error::data(
            Location::file(&ds.data.file).column(ds.id_name()),
            format!("--patient `{pid}` is not in the file"),
        )
    })?;
    let received: Option<usize> = match labelled {
        Some(l) => l.arm_of[row],
        None => bundle.therapy_column.as_ref().and_then(|c| {
            let col = ds.data.find(c)?;
            let cell = &ds.data.columns[col][ds.data_rows[row]];
            bundle
                .arms
                .iter()
                .position(|a| a.therapy.as_deref() == Some(cell))
        }),
    };
    for (a, arm) in bundle.arms.iter().enumerate() {
        let got = received == Some(a) || bundle.therapy_column.is_none();
        arms[a].patient = Some(explain_patient(arm, frame, row, pid, got, top)?);
    }
    Ok(())
}

/// The explanation as readable tables.
pub(crate) fn render_text(model: &str, arms: &[ArmExplanation]) -> String {
    let mut out = format!("model {model}\n");
    for e in arms {
        out.push_str(&format!("\n== arm {} ({}) ==\n", e.arm, e.algorithm));
        if let Some(c) = &e.coefficients {
            out.push_str("\nCoefficients (log-odds per 1 SD of the standardised input; odds ratio per 1 SD)\n");
            let rows: Vec<Vec<Cell>> = c
                .iter()
                .map(|c| {
                    vec![
                        Cell::Text(c.input.clone()),
                        Cell::Num(c.coefficient, 4),
                        Cell::Num(c.odds_ratio, 3),
                    ]
                })
                .collect();
            out.push_str(&render_table(
                &["input".into(), "coefficient".into(), "odds ratio".into()],
                &rows,
            ));
        }
        if let Some(i) = &e.importance {
            out.push_str(&format!(
                "\nPermutation importance on {} patients (AUC {:.3}; drop in AUC over {} shuffles)\n",
                i.n, i.auc, i.repeats
            ));
            let rows: Vec<Vec<Cell>> = i
                .features
                .iter()
                .map(|f| {
                    vec![
                        Cell::Text(f.feature.clone()),
                        Cell::Num(f.auc_drop_mean, 4),
                        Cell::Num(f.auc_drop_sd, 4),
                    ]
                })
                .collect();
            out.push_str(&render_table(
                &["feature".into(), "AUC drop".into(), "sd".into()],
                &rows,
            ));
        }
        if let Some(p) = &e.patient {
            out.push_str(&format!(
                "\nPatient {}{}: P(responder) = {:.4}; contributions ({}{})\n",
                p.id,
                if p.received {
                    " (received this arm)"
                } else {
                    ""
                },
                p.probability,
                p.method,
                p.intercept
                    .map(|b| format!(", intercept {b:.4}"))
                    .unwrap_or_default()
            ));
            let rows: Vec<Vec<Cell>> = p
                .contributions
                .iter()
                .map(|c| {
                    vec![
                        Cell::Text(c.feature.clone()),
                        Cell::Text(c.value.clone()),
                        Cell::Num(c.contribution, 4),
                    ]
                })
                .collect();
            out.push_str(&render_table(
                &["feature".into(), "value".into(), "contribution".into()],
                &rows,
            ));
        }
    }
    out
}
