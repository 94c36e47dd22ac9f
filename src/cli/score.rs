//! `responder score`: apply a bundle to new patients and rank them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bundle::Bundle;
use crate::cli::args::{count, out_is_json, unit_interval, Format, InputArgs, OptionalInputArgs};
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::eval::selection::{dr_scores, EffectOptions, PropensityChoice};
use crate::notes::Notes;
use crate::output::AtomicFile;
use crate::output::Sink;
use crate::ranking::{rank_cross_fitted, score_files, Ranker, ScoreFiles, DEFAULT_SPILL_ROWS};
use crate::report::effects::render_dr_scores;
use crate::report::ranked::{write_csv, write_json, write_table, EffectColumns, Shape};

/// Flags of `score`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["data", "cross_fitted"])))]
#[command(after_help = "Examples:
  responder score --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --top 10
  responder score --model m.json --data new.csv --therapy ketamine --format json --out ranked.json")]
pub(crate) struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub(crate) model: PathBuf,

    /// Patients to score (without --cross-fitted).
    #[command(flatten)]
    pub(crate) input: OptionalInputArgs,

    /// Print the training patients' cross-fitted (out-of-fold) predictions
    /// stored in the bundle instead of scoring a file. Example: --cross-fitted
    #[arg(long)]
    pub(crate) cross_fitted: bool,

    /// Rows read, joined and scored at a time when streaming a file (memory
    /// grows with this, not with the file). Example: --batch-rows 100000
    #[arg(long, value_name = "N", default_value_t = 2_000, value_parser = count(1, 1_000_000))]
    pub(crate) batch_rows: usize,

    /// Patients held in memory for the ranking; beyond this, sorted runs
    /// go to temporary files (in the --out folder, else the system's
    /// temporary folder) and are merged while writing, so memory stays
    /// bounded whatever the number of patients. Example: --spill-rows 200000
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SPILL_ROWS, value_parser = count(1, 1_000_000_000))]
    pub(crate) spill_rows: usize,

    /// Report `none` as best therapy when the best arm beats the runner-up
    /// by less than D; `ci`: when the 95% interval of the best arm's
    /// advantage over the runner-up includes 0 (the data cannot choose for
    /// this patient; implies --intervals). Example: --min-advantage 0.05
    #[arg(long, value_name = "D|ci", value_parser = min_advantage)]
    pub(crate) min_advantage: Option<MinAdvantage>,

    /// Add, for each arm other than the control, `effect_<arm>` (p under the
    /// arm − p under control) and its 95% interval `effect_<arm>_low`,
    /// `effect_<arm>_high`: effect ± 1.96 × the SD of the effect over the
    /// bundle's bootstrap replicates (train with --replicates B).
    /// Example: --intervals
    #[arg(long)]
    pub(crate) intervals: bool,

    /// The control arm of --intervals (default: an arm named control, Cont,
    /// Ctrl, placebo, sham, TAU, usual or waitlist, else the first arm).
    /// Example: --control SSRI
    #[arg(long, value_name = "ARM")]
    pub(crate) control: Option<String>,

    /// Recommend even on arms flagged as weak at training (cross-validated
    /// AUC whose 95% interval reaches 0.5, or fewer responders or
    /// non-responders than folds). Without it, a patient whose best or
    /// runner-up therapy is a weak arm gets best_therapy `none`.
    #[arg(long)]
    pub(crate) allow_weak_arms: bool,

    /// The patient ID column (default: the one the model was trained with).
    /// Example: --id subject
    #[arg(long, value_name = "COL")]
    pub(crate) id: Option<String>,

    /// Rank by the probability under this therapy arm (default: each
    /// patient's best arm). Example: --therapy TMS
    #[arg(long, value_name = "NAME")]
    pub(crate) therapy: Option<String>,

    /// Keep only the first K ranked patients. Example: --top 20
    #[arg(long, value_name = "K", value_parser = count(1, u64::from(u32::MAX)))]
    pub(crate) top: Option<usize>,

    /// Output format (default: table on a terminal, else csv; json for an
    /// --out ending in .json). Example: --format json
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,

    /// Write results to this file (atomically) instead of stdout. Example: --out ranked.csv
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,

    /// Also write each patient's doubly robust (AIPW) scores to this CSV, for
    /// fitting your own policy or comparing with grf/EconML: needs --data
    /// with the outcome (the model's target column) and the therapy column.
    /// Example: --dr-scores dr.csv
    #[arg(long, value_name = "FILE", requires = "data")]
    pub(crate) dr_scores: Option<PathBuf>,

    /// Propensities of --dr-scores: `randomised` (the arm shares) or
    /// `estimate` (cross-fitted multinomial logistic). Example: --propensity estimate
    #[arg(long, value_enum, default_value = "randomised", requires = "dr_scores")]
    pub(crate) propensity: PropensityChoice,

    /// Seed of the propensity folds of --dr-scores. Example: --seed 7
    #[arg(long, default_value_t = 1, requires = "dr_scores")]
    pub(crate) seed: u64,
}

/// `--min-advantage`: a fixed margin, or `ci`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum MinAdvantage {
    /// `none` below this advantage.
    Fixed(f64),
    /// `none` where the advantage's 95 % interval includes 0.
    Ci,
}

fn min_advantage(s: &str) -> std::result::Result<MinAdvantage, String> {
    if s.trim().eq_ignore_ascii_case("ci") {
        return Ok(MinAdvantage::Ci);
    }
    unit_interval(s)
        .map(MinAdvantage::Fixed)
        .map_err(|e| format!("{e}, nor `ci`"))
}

/// Where patients come from: a file to score, or the bundle's own
/// cross-fitted predictions.
enum Source {
    Files(ScoreFiles),
    CrossFitted,
}

/// `score`'s validated configuration.
struct Config {
    source: Source,
    /// Rank by this arm (default: each patient's best).
    by: Option<usize>,
    top: Option<usize>,
    spill_rows: usize,
    min_advantage: f64,
    /// The control arm, with `--intervals` (or `--min-advantage ci`).
    control: Option<usize>,
    /// `--min-advantage ci`.
    gate: bool,
}

impl Args {
    /// Checks the flags against the bundle.
    fn config(&self, bundle: &Bundle) -> Result<Config> {
        let arm_names = bundle.arm_names();
        let by = match &self.therapy {
            None => None,
            Some(name) => {
                Some(
                    arm_names
                        .iter()
                        .position(|a| a == name)
                        .ok_or_else(|| Error::Model {
                            file: self.model.display().to_string(),
                            message: format!(
                                "--therapy `{name}` is not an arm of this model; its arms are: {}",
                                crate::error::quote_all(&arm_names)
                            ),
                        })?,
                )
            }
        };
        let gate = self.min_advantage == Some(MinAdvantage::Ci);
        let control = if self.intervals || gate {
            Some(self.interval_control(bundle)?)
        } else {
            None
        };
        let source = if self.cross_fitted {
            Source::CrossFitted
        } else {
            let id = self.id.clone().unwrap_or_else(|| bundle.id_column.clone());
            let input = self.input.input().unwrap_or(InputArgs {
                data: String::new(),
                genotypes: None,
                delimiter: None,
                genotype_delimiter: None,
                decimal: crate::cli::args::Decimal::Point,
                keep_ambiguous: false,
            });
            Source::Files(ScoreFiles {
                read: input.read_options_for(&id, bundle)?,
                data: input.data,
                genotypes: input.genotypes,
                batch_rows: self.batch_rows,
                intervals: control.is_some(),
            })
        };
        Ok(Config {
            source,
            by,
            top: self.top,
            spill_rows: self.spill_rows,
            min_advantage: match self.min_advantage {
                Some(MinAdvantage::Fixed(d)) => d,
                _ => 0.0,
            },
            control,
            gate,
        })
    }

    /// The control arm of `--intervals`, after checking that the bundle
    /// and flags allow intervals.
    fn interval_control(&self, bundle: &Bundle) -> Result<usize> {
        let flag = if self.intervals {
            "--intervals"
        } else {
            "--min-advantage ci"
        };
        if self.cross_fitted {
            return Err(Error::usage(format!(
                "{flag} scores --data; the cross-fitted predictions have no replicates"
            )));
        }
        let arms = bundle.arm_names();
        if arms.len() < 2 {
            return Err(Error::usage(format!(
                "{flag} needs a model with at least two arms; this one has one"
            )));
        }
        let reps = bundle.replicate_count();
        if reps < 2 {
            return Err(Error::Model {
                file: self.model.display().to_string(),
                message: format!(
                    "{flag} needs bootstrap replicates and the bundle has {reps}: train it with --replicates B (for example 100)"
                ),
            });
        }
        crate::eval::selection::bundle_control(bundle, self.control.as_deref())
    }
}

/// Sorted runs of a large ranking go next to the output, else to the
/// system's temporary folder.
fn spill_dir(out: Option<&Path>) -> PathBuf {
    match out {
        Some(p) if p.as_os_str() != "-" => match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        },
        _ => std::env::temp_dir(),
    }
}

/// Writes `--dr-scores` (atomically), reading the labelled file whole.
fn write_dr_scores(args: &Args, bundle: &Bundle, path: &Path, ui: &Ui) -> Result<()> {
    let Some(input) = args.input.input() else {
        return Ok(());
    };
    if input.data == "-" {
        return Err(Error::usage(
            "--dr-scores reads --data a second time, so it cannot come from stdin: give a file",
        ));
    }
    // Created first: an output that is an input is refused before any work.
    let out = AtomicFile::create(path)?;
    let data = input.open_labelled(bundle, args.id.as_deref(), None, ui)?;
    let opts = EffectOptions::new(args.propensity, args.seed);
    let model = args.model.display().to_string();
    let (scores, lines) = dr_scores(bundle, &model, &data, &opts)?;
    out.write_and_commit(render_dr_scores(&scores).as_bytes())?;
    for l in lines {
        ui.info(l);
    }
    ui.info(format!("wrote doubly robust scores to {}", path.display()));
    Ok(())
}

/// Runs `score`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let c = args.config(&bundle)?;
    if let Some(path) = &args.dr_scores {
        if args.cross_fitted {
            return Err(Error::usage(
                "--dr-scores scores --data; without --cross-fitted it uses the bundle's cross-fitted predictions by itself when every patient is a training patient",
            ));
        }
        write_dr_scores(&args, &bundle, path, ui)?;
    }
    let mut sink = Sink::open(args.out.as_deref())?;
    let dir = spill_dir(args.out.as_deref());
    let k = bundle.arms.len();
    let extra = usize::from(c.control.is_some()) * k * (k - 1) / 2;
    let ranker = || Ranker::new(k, c.by, c.top, c.spill_rows, &dir).with_extra(extra);
    let model = args.model.display().to_string();
    let scored = match &c.source {
        Source::CrossFitted => {
            let s = rank_cross_fitted(&bundle, ranker(), &model)?;
            ui.info(format!(
                "cross-fitted predictions of {} training patients: each from a model that did not see the patient",
                s.n
            ));
            s
        }
        Source::Files(files) => {
            let mut notes = Notes::default();
            let scored = score_files(&bundle, files, ranker, &mut notes);
            ui.notes(&notes);
            scored?
        }
    };
    let format = args.format.unwrap_or_else(|| {
        if out_is_json(args.out.as_deref()) {
            Format::Json
        } else if sink.is_terminal() {
            Format::Table
        } else {
            Format::Csv
        }
    });
    let arm_names = bundle.arm_names();
    let weak = if args.allow_weak_arms || arm_names.len() < 2 {
        vec![false; arm_names.len()]
    } else {
        bundle.weak_arms()
    };
    let withheld = AtomicUsize::new(0);
    let undecided = AtomicUsize::new(0);
    let shape = Shape {
        id_name: &scored.id_name,
        arms: &arm_names,
        min_advantage: c.min_advantage,
        weak: &weak,
        withheld: &withheld,
        effects: c.control.map(|control| EffectColumns {
            control,
            gate: c.gate,
            undecided: &undecided,
        }),
    };
    match format {
        Format::Csv => write_csv(&mut sink, scored.ranked, shape)?,
        Format::Json => write_json(&mut sink, scored.ranked, shape)?,
        Format::Table => write_table(&mut sink, scored.ranked, shape)?,
    }
    sink.finish()?;
    weak_arm_notes(&bundle, &withheld, args.allow_weak_arms, ui);
    effect_notes(&bundle, &c, &undecided, ui);
    ui.info(format!(
        "scored {} patients with {model} ({} arm{})",
        scored.n,
        arm_names.len(),
        if arm_names.len() > 1 { "s" } else { "" }
    ));
    Ok(())
}

/// Says on stderr, with --intervals, what the intervals are, and with
/// --min-advantage ci, how many patients it left undecided.
fn effect_notes(bundle: &Bundle, c: &Config, undecided: &AtomicUsize, ui: &Ui) {
    if let Some(control) = c.control {
        let n = bundle.replicate_count();
        let plain_forest = bundle
            .effect
            .as_ref()
            .is_some_and(|e| !e.forests.is_empty() && !e.forest_offset());
        let source = match &bundle.effect {
            Some(e) if plain_forest => format!(
                "the causal forest's little-bags variance ({n} groups of 2 trees)"
            ),
            Some(e) if !e.forests.is_empty() => format!(
                "{n} bootstrap replicates of the outcome models plus the causal forest's little-bags variance of its correction ({} groups of 2 trees)",
                e.forests[0].forest.trees.len() / crate::models::causal_forest::GROUP
            ),
            Some(_) => format!(
                "{n} bootstrap replicates of the outcome models plus {n} of the effect model's final stage (drawn separately)"
            ),
            None => format!("{n} bootstrap replicates of the learner"),
        };
        let forest = bundle
            .effect
            .as_ref()
            .is_some_and(|e| !e.forests.is_empty());
        let source = match &bundle.training.cluster_bootstrap {
            Some(cb) if forest && !cb.little_bags => format!(
                "{source}, the replicates resampling the {} groups of `{}` whole (the little bags resample patients)",
                cb.groups, cb.column
            ),
            Some(cb) => format!(
                "{source}, resampling the {} groups of `{}` whole",
                cb.groups, cb.column
            ),
            _ => source,
        };
        ui.info(format!(
            "effects against `{}` with 95% intervals from {source} (they reflect its variance, not its bias)",
            bundle.arms[control].label()
        ));
        if plain_forest {
            ui.warn(
                "causal-forest intervals are narrow around effects smoothed towards the average: on simulated cohorts they covered 30-42% of the true effects (bench/effect_intervals.py); use --forest-offset t-learner (the default) or a T-, DR- or X-learner with --replicates for intervals to act on",
            );
        }
    }
    if c.gate {
        let n = undecided.load(Ordering::Relaxed);
        ui.info(format!(
            "--min-advantage ci: {n} patient{} got best_therapy `none` because the 95% interval of the best therapy's advantage over the runner-up includes 0",
            if n == 1 { "" } else { "s" }
        ));
    }
}

/// Says on stderr which arms are weak and how many recommendations that
/// withheld (or, with --allow-weak-arms, that they were made anyway).
fn weak_arm_notes(bundle: &Bundle, withheld: &AtomicUsize, allowed: bool, ui: &Ui) {
    if bundle.arms.len() < 2 {
        return;
    }
    for arm in &bundle.arms {
        if let Some(why) = arm.weakness() {
            ui.warn(format!("arm `{}` is weak at training: {why}", arm.label()));
        }
    }
    let n = withheld.load(Ordering::Relaxed);
    if n > 0 {
        ui.warn(format!(
            "{n} patient{} got best_therapy `none` because their best or runner-up therapy is a weak arm; --allow-weak-arms recommends anyway",
            if n == 1 { "" } else { "s" }
        ));
    } else if allowed && bundle.weak_arms().iter().any(|&w| w) {
        ui.warn("--allow-weak-arms: recommendations include weak arms");
    }
}
