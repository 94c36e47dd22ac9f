//! `responder evaluate`: discrimination, calibration, classification and
//! clinical usefulness of a bundle on labelled patients, per arm and overall.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle::Bundle;
use crate::cli::args::{count, open_probability, out_is_json, InputArgs};
use crate::cli::Ui;
use crate::data::truth::Truth;
use crate::data::FileInfo;
use crate::error::{Error, Result};
use crate::eval::apply::EvalFiles;
use crate::eval::evaluation::add_optimism;
use crate::eval::recommendation::{judge, JudgeOptions, RecommendationReport};
use crate::eval::selection::{EffectOptions, EffectsOutput, PropensityChoice};
use crate::eval::{evaluate_bundle, EvalOptions, Evaluation, LabelledData};
use crate::notes::Notes;
use crate::output::Sink;
use crate::report::evaluation::{render_selection, render_text};
use crate::report::plots::{create_dir, evaluation_plots, qini_svg, write_svg, write_toc_plots};

/// Output formats of `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EvalFormat {
    /// Readable tables.
    Text,
    /// Every number, as JSON (keys documented in the README).
    Json,
}

/// Flags of `evaluate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder evaluate --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --target responder --plots plots
  responder evaluate --model m.json --data test.csv --target responder --format json --out eval.json")]
pub(crate) struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub(crate) model: PathBuf,

    /// Patient files (with the outcome).
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// The outcome column, read with the model's responder rule (default:
    /// the column the model was trained on). Example: --target responder
    #[arg(long, value_name = "COL")]
    pub(crate) target: Option<String>,

    /// The patient ID column (default: the one the model was trained with).
    /// Example: --id subject
    #[arg(long, value_name = "COL")]
    pub(crate) id: Option<String>,

    /// Classification threshold for sensitivity, specificity, PPV and NPV
    /// (default: each arm's training prevalence). Example: --threshold 0.4
    #[arg(long, value_name = "P", value_parser = open_probability)]
    pub(crate) threshold: Option<f64>,

    /// Stratified bootstrap replicates for the AUC interval (0 = none; at
    /// most 100,000).
    /// Example: --bootstrap 5000
    #[arg(long, value_name = "B", default_value_t = 2000, value_parser = count(0, 100_000))]
    pub(crate) bootstrap: usize,

    /// Seed of the bootstrap and of the importance plots; the same inputs
    /// and seed give identical output. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Output format (default: text; json for an --out ending in .json).
    /// Example: --format json
    #[arg(long, value_enum)]
    pub(crate) format: Option<EvalFormat>,

    /// Write results to this file (atomically) instead of stdout. Example: --out eval.json
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,

    /// Write SVG plots into this folder (created if needed): ROC with the
    /// bootstrap band, calibration curve, decision curve, importance.
    /// Example: --plots plots/
    #[arg(long, value_name = "DIR")]
    pub(crate) plots: Option<PathBuf>,

    /// Use the bundle's cross-fitted predictions of the training patients
    /// for every table (discrimination, calibration, classification, decision
    /// curve, treatment selection): for evaluating on the training file, no
    /// patient is scored by a model that saw them. Example: --cross-fitted
    #[arg(long)]
    pub(crate) cross_fitted: bool,

    /// Internal validation the way clinical statisticians do it: `bootstrap`
    /// is Harrell's optimism correction (as rms::validate): each arm's whole
    /// pipeline and model refitted on --replicates bootstrap samples of the
    /// file's patients, giving apparent, optimism and corrected AUC, Brier,
    /// calibration intercept and slope. Example: --optimism bootstrap
    #[arg(long, value_enum, value_name = "METHOD")]
    pub(crate) optimism: Option<OptimismMethod>,

    /// Bootstrap samples for --optimism (1 to 10,000). Example: --replicates 400
    #[arg(long, value_name = "B", default_value_t = 200, value_parser = count(1, 10_000), requires = "optimism")]
    pub(crate) replicates: usize,

    /// Propensities for the doubly robust treatment-selection analysis:
    /// `randomised` (a trial: the observed arm shares, or --allocation) or
    /// `estimate` (observational data: a cross-fitted multinomial logistic
    /// model of the therapy on the features). Example: --propensity estimate
    #[arg(long, value_enum, default_value = "randomised")]
    pub(crate) propensity: PropensityChoice,

    /// The design's allocation ratios when a trial randomised unequally
    /// (ratios or shares; every arm named). Example: --allocation TMS=2,SSRI=1,ketamine=1
    #[arg(long, value_name = "ARM=R,...", value_parser = parse_allocation)]
    pub(crate) allocation: Option<Allocation>,

    /// The control arm each arm is compared with (default: an arm named
    /// control, Cont, Ctrl, placebo, sham, TAU, usual care or waitlist, else
    /// the first arm). Example: --control SSRI
    #[arg(long, value_name = "ARM")]
    pub(crate) control: Option<String>,

    /// Intervals of the policy values and average effects: `influence`
    /// (influence-function SE, normal interval, as grf) or `bootstrap`
    /// (--bootstrap resamples of the patients, or of the groups with
    /// --group-col, at least 200; percentile interval).
    /// Example: --effect-intervals bootstrap
    #[arg(long, value_enum, default_value = "influence")]
    pub(crate) effect_intervals: EffectIntervals,

    /// A column of sites or trials: standard errors become cluster-robust
    /// and AUC, calibration slope and policy gain are reported per group.
    /// Example: --group-col site
    #[arg(long, value_name = "COL")]
    pub(crate) group_col: Option<String>,

    /// Simulated truth (`patient_id,p_<arm>…`, as `simulate` writes
    /// truth.csv): report how often the recommended therapy is the truly
    /// best one and the mean regret. Example: --truth cohort/truth.csv
    #[arg(long, value_name = "FILE")]
    pub(crate) truth: Option<String>,
}

/// What `evaluate --format json` prints (keys documented in the README).
#[derive(Debug, Serialize)]
pub(crate) struct EvaluateOutput<'a> {
    /// The bundle file.
    pub(crate) model: String,
    /// The evaluation files with their SHA-256.
    pub(crate) data: &'a [FileInfo],
    /// The outcome column in the evaluation file.
    pub(crate) target: String,
    /// The responder rule, from the bundle.
    pub(crate) outcome: &'a str,
    /// `--threshold`, if given.
    pub(crate) threshold: Option<f64>,
    /// Bootstrap replicates.
    pub(crate) bootstrap: usize,
    /// The seed.
    pub(crate) seed: u64,
    /// The evaluation.
    #[serde(flatten)]
    pub(crate) evaluation: &'a Evaluation,
    /// Plot files written (empty without --plots).
    pub(crate) plots: Vec<String>,
    /// Treatment selection (bundles with two or more arms and a therapy column).
    pub(crate) selection: Option<RecommendationReport>,
    /// Evidence for treatment selection: doubly robust policy values,
    /// contrasts with control, calibration test, RATE, groups.
    pub(crate) effects: Option<EffectsOutput>,
}

impl Args {
    /// The labelled files, checked against the bundle.
    fn files(&self, bundle: &Bundle) -> Result<EvalFiles> {
        let multi = bundle.arms.len() >= 2 && bundle.therapy_column.is_some();
        if !multi && self.truth.is_some() {
            return Err(Error::usage(
                "--truth judges treatment selection, which needs a model with two or more therapy arms",
            ));
        }
        let id = self.id.as_deref().unwrap_or(&bundle.id_column);
        Ok(EvalFiles {
            data: self.input.data.clone(),
            genotypes: self.input.genotypes.clone(),
            read: self.input.read_options_for(id, bundle)?,
            target: self
                .target
                .clone()
                .unwrap_or_else(|| bundle.target.column.clone()),
        })
    }
}

/// `--allocation`: arm names and their ratios.
#[derive(Debug, Clone)]
pub(crate) struct Allocation(pub(crate) Vec<(String, f64)>);

/// Parses `--allocation ARM=R,ARM=R,...` (positive ratios, each arm once).
fn parse_allocation(s: &str) -> std::result::Result<Allocation, String> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for part in s.split(',') {
        let (arm, r) = part
            .rsplit_once('=')
            .ok_or_else(|| format!("`{part}` is not ARM=RATIO (e.g. TMS=2,SSRI=1)"))?;
        let arm = arm.trim();
        let v: f64 = r
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("`{r}` for arm `{arm}` is not a positive number"))?;
        if out.iter().any(|(a, _)| a == arm) {
            return Err(format!("arm `{arm}` is named twice"));
        }
        out.push((arm.to_string(), v));
    }
    Ok(Allocation(out))
}

/// `--effect-intervals` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EffectIntervals {
    /// Influence-function standard errors, normal intervals.
    Influence,
    /// Bootstrap of the patients (or groups), percentile intervals.
    Bootstrap,
}

/// `--optimism` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OptimismMethod {
    /// Harrell's bootstrap optimism correction.
    Bootstrap,
}

/// Prints the warnings of an evaluation (file-level, then per group).
pub(crate) fn warn_evaluation(ui: &Ui, ev: &Evaluation) {
    for w in &ev.warnings {
        ui.warn(w);
    }
    for g in ev.arms.iter().chain(&ev.overall) {
        for w in &g.warnings {
            ui.warn(format!("{}: {w}", g.arm));
        }
    }
}

/// The evaluation as text or JSON.
fn render(
    args: &Args,
    bundle: &Bundle,
    data: &LabelledData,
    ev: &Evaluation,
    written: &[PathBuf],
    mut selection: Option<RecommendationReport>,
) -> String {
    let model = args.model.display().to_string();
    let format = args.format.unwrap_or(if out_is_json(args.out.as_deref()) {
        EvalFormat::Json
    } else {
        EvalFormat::Text
    });
    let text = match format {
        EvalFormat::Json => {
            let out = EvaluateOutput {
                model,
                data: &data.ds.files,
                target: data.target_column.clone(),
                outcome: &bundle.target.description,
                threshold: args.threshold,
                bootstrap: args.bootstrap,
                seed: args.seed,
                evaluation: ev,
                plots: written.iter().map(|p| p.display().to_string()).collect(),
                effects: selection.as_mut().and_then(|s| s.effects.take()),
                selection,
            };
            let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
            s.push('\n');
            s
        }
        EvalFormat::Text => {
            let mut t = render_text(&model, bundle, data, ev);
            if let Some(sel) = &selection {
                t.push_str(&render_selection(sel));
            }
            t
        }
    };
    text
}

/// Writes the plots of `--plots` (none without it): per group, the
/// selection's Qini curve and each contrast's TOC curve.
fn write_plots(
    args: &Args,
    bundle: &Bundle,
    data: &LabelledData,
    ev: &Evaluation,
    selection: Option<&RecommendationReport>,
) -> Result<Vec<PathBuf>> {
    let mut written = match &args.plots {
        Some(dir) => evaluation_plots(dir, bundle, data, ev, args.seed)?,
        None => Vec::new(),
    };
    if let (Some(dir), Some(q)) = (&args.plots, selection.and_then(|s| s.qini.as_ref())) {
        written.push(write_svg(dir, "qini.svg", qini_svg(q))?);
    }
    if let (Some(dir), Some(e)) = (&args.plots, selection.and_then(|s| s.effects.as_ref())) {
        written.extend(write_toc_plots(dir, e)?);
    }
    Ok(written)
}

/// The treatment-selection judgement and its effects analysis (warnings
/// printed); `None` for a one-arm model or a file without the therapy column.
fn select(
    args: &Args,
    bundle: &Bundle,
    model: &str,
    data: &LabelledData,
    truth: Option<&Truth>,
    ui: &Ui,
) -> Result<Option<RecommendationReport>> {
    let effects = EffectOptions {
        allocation: args.allocation.clone().map(|a| a.0),
        control: args.control.clone(),
        group_col: args.group_col.clone(),
        bootstrap: (args.effect_intervals == EffectIntervals::Bootstrap)
            .then_some(args.bootstrap.max(200)),
        ..EffectOptions::new(args.propensity, args.seed)
    };
    let judge_opts = JudgeOptions::new(args.cross_fitted, args.bootstrap, args.seed, effects);
    let mut notes = Notes::default();
    let selection = judge(bundle, model, data, judge_opts, truth, &mut notes);
    ui.notes(&notes);
    let selection = selection?;
    Ok(selection)
}

/// Runs `evaluate`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    if args.allocation.is_some() && args.propensity == PropensityChoice::Estimate {
        return Err(Error::usage(
            "--allocation gives a randomised design's propensities; it cannot be combined with --propensity estimate",
        ));
    }
    let files = args.files(&bundle)?;
    let mut sink = Sink::open(args.out.as_deref())?;
    if let Some(dir) = &args.plots {
        create_dir(dir)?;
    }
    let model = args.model.display().to_string();
    let mut notes = Notes::default();
    let data = LabelledData::open(&bundle, &files, &mut notes);
    ui.notes(&notes);
    let data = data?;
    let opts = EvalOptions {
        bootstrap: args.bootstrap,
        seed: args.seed,
    };
    let ev = evaluate_bundle(
        &bundle,
        &data,
        args.threshold,
        opts,
        args.cross_fitted.then_some(model.as_str()),
    )?;
    let mut ev = ev;
    if args.optimism.is_some() {
        for n in add_optimism(&bundle, &data, &mut ev, args.replicates, args.seed)? {
            ui.warn(n);
        }
    }
    warn_evaluation(ui, &ev);
    let truth = match &args.truth {
        Some(path) => Some(Truth::read(path, &bundle.id_column, &bundle.arm_names())?),
        None => None,
    };
    let selection = select(&args, &bundle, &model, &data, truth.as_ref(), ui)?;
    let written = write_plots(&args, &bundle, &data, &ev, selection.as_ref())?;
    let text = render(&args, &bundle, &data, &ev, &written, selection);
    sink.write_text(&text)?;
    sink.finish()?;
    if !written.is_empty() {
        ui.info(format!(
            "wrote {} plots to {}",
            written.len(),
            args.plots.as_deref().unwrap_or(Path::new(".")).display()
        ));
    }
    Ok(())
}
