//! `responder train`: fit one model per therapy arm and write a bundle.

use std::path::PathBuf;

use crate::bundle::{Bundle, Strategy};
use crate::cli::args::{count, cv_folds, resolve_group_folds, DataArgs, GenotypesAsArg};
use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::features::Kind;
use crate::models::lasso::Adaptive;
use crate::models::{AlgorithmParams, RawParams};
use crate::notes::Notes;
use crate::output::AtomicFile;
use crate::training::audit::MISSING_WARN;
use crate::training::dr_learner::check_forest_clusters;
use crate::training::tuning::{auto_grid, INNER_FOLDS};
use crate::training::{train, Cohort, CohortSpec, Method, TrainSpec};

/// Flags of `train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder train --data clinical.csv --genotypes genotypes.csv --target responder \\
      --therapy-col therapy --out model.json
  responder train --data trial.tsv --target madrs_change --responder-if '<= -50' --out m.json
  responder train --data clinical.csv --genotypes g.csv --target responder --algorithm auto --out m.json")]
pub(crate) struct Args {
    /// The training data.
    #[command(flatten)]
    pub(crate) data: DataArgs,

    /// The algorithm (`responder algorithms` lists them), or `auto` to choose
    /// per arm by inner cross-validation over a small grid. Default:
    /// `logistic`; `lasso` with adaptive=cv for --strategy dr-learner, x-learner,
    /// causal-forest and auto-effect on SNP dosages (without --param).
    /// Example: --algorithm elastic-net
    #[arg(long)]
    pub(crate) algorithm: Option<String>,

    /// A hyper-parameter, repeatable. Example: --param c=0.5 --param max_iter=200
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub(crate) params: Vec<String>,

    /// Folds of stratified cross-validation per arm (0 = none); with `auto`,
    /// the outer folds of nested cross-validation; at most 100. With
    /// --group-col, folds keep each group whole; `groups` is one fold per
    /// group (leave-one-group-out). Example: --cv 10
    #[arg(long, default_value = "5", value_parser = cv_folds(0, 100))]
    pub(crate) cv: usize,

    /// How arms are modelled: `t-learner` (one model per arm), `s-learner`
    /// (one model with therapy indicators and therapy × feature
    /// interactions), `dr-learner` (per-arm outcome models and a lasso
    /// correction of each arm's effect against --control, fitted to
    /// cross-fitted doubly robust pseudo-outcomes), `x-learner` (the
    /// correction fitted to the imputed effects in the arm and in the
    /// control), `causal-forest` (honest forests per arm against the
    /// control) or `auto-effect` (the one of these five with the least
    /// cross-validated DR loss; its S-learner uses the fixed algorithm, or
    /// under auto the control arm's choice). Example: --strategy dr-learner
    #[arg(long, value_enum, default_value = "t-learner")]
    pub(crate) strategy: Strategy,

    /// Log-transform strictly positive, right-skewed clinical columns (a
    /// lab value such as CRP, a duration; skewness at least 1, at least 10
    /// distinct values, and less skewed after the log) before imputation
    /// and scaling: `auto` does it with --algorithm auto or lasso (the
    /// effect learners' default lasso included) and not
    /// with another fixed algorithm (whose models then match
    /// scikit-learn's on the same columns); `on`; `off`. stderr names the columns; the bundle stores
    /// the transform. Example: --log-skewed on
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) log_skewed: LogSkewed,

    /// The DR- or X-learner's control arm (default: an arm named control, Cont,
    /// Ctrl, placebo, sham, TAU, usual or waitlist, else the first arm).
    /// Example: --control SSRI
    #[arg(long, value_name = "ARM")]
    pub(crate) control: Option<String>,

    /// Do not store the training patients' cross-fitted predictions (IDs and
    /// probabilities) in the bundle. Example: --no-cross-fitted
    #[arg(long, conflicts_with = "cross_fitted")]
    pub(crate) no_cross_fitted: bool,

    /// Store the cross-fitted predictions even for a model that keeps
    /// training rows (knn, Gaussian svm), which leaves them out by default:
    /// with the rows, the IDs identify the training patients.
    #[arg(long)]
    pub(crate) cross_fitted: bool,

    /// Seed for every random choice (folds, bootstrap samples); the same
    /// data and seed give a byte-identical bundle. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Also fit B bootstrap-of-the-learner replicates of every arm's model
    /// (resampling patients within each arm, or whole groups with
    /// --group-col; the pipeline and the chosen algorithm are kept) and store them in the bundle, so that
    /// `score --intervals` gives a 95% interval on each patient's effect.
    /// Training takes about B more model fits per arm; 0 = none, at most
    /// 1000; default 0, or 50 for --strategy causal-forest (whose
    /// intervals need its outcome models' replicates). Example: --replicates 100
    #[arg(long, value_name = "B", value_parser = count(0, 1000))]
    pub(crate) replicates: Option<usize>,

    /// What the --replicates resample: `groups` (a cluster bootstrap of the
    /// --group-col groups, its default there: every arm takes all its
    /// patients of each drawn group) or `patients` (within each arm, the
    /// default without --group-col). Example: --resample-unit patients
    #[arg(long, value_enum, value_name = "UNIT")]
    pub(crate) resample_unit: Option<ResampleUnit>,

    /// Trees of each causal forest (--strategy causal-forest; 40 to 100000,
    /// rounded up to a whole number of little bags of 2). Example: --forest-trees 2000
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = count(40, 100_000))]
    pub(crate) forest_trees: usize,

    /// What each causal forest estimates: `t-learner` (the correction of
    /// the effect μ_arm − μ_control of the outcome models, as
    /// the DR-learner's lasso; --replicates then give the outcome models'
    /// part of the interval) or `none` (the effect itself, as grf's
    /// causal_forest; its intervals come from its little bags alone).
    /// Example: --forest-offset none
    #[arg(long, value_enum, value_name = "OFFSET", default_value = "t-learner")]
    pub(crate) forest_offset: ForestOffset,

    /// The outcome models of --strategy dr-learner, x-learner and
    /// causal-forest (and of those candidates of auto-effect): `t-learner`
    /// (one model per arm) or `s-learner` (one model on all arms with
    /// therapy interactions; with the lasso the data-shared lasso, which
    /// keeps a feature acting alike in every arm as one coefficient; needs
    /// a fixed --algorithm). Default: s-learner when the algorithm is the
    /// lasso (their default on SNP dosages), t-learner otherwise.
    /// Example: --outcome-models t-learner
    #[arg(long, value_enum, value_name = "LEARNER")]
    pub(crate) outcome_models: Option<OutcomeModels>,

    /// Where to write the model bundle (JSON). Example: --out model.json
    #[arg(long, value_name = "MODEL.json")]
    pub(crate) out: PathBuf,
}

impl clap::ValueEnum for Strategy {
    fn value_variants<'a>() -> &'a [Self] {
        &Strategy::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Whether `--algorithm NAME --param …` keeps training rows in the bundle
/// (k-NN; an SVM with the Gaussian kernel).
fn keeps_rows(name: &str, params: &[String]) -> bool {
    name == "knn"
        || (name == "svm"
            && params.iter().any(|p| {
                p.replace(' ', "") == "kernel=gaussian" || p.replace(' ', "") == "kernel=rbf"
            }))
}

/// `--forest-offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ForestOffset {
    /// The forest corrects the T-learner's effect.
    TLearner,
    /// The forest estimates the effect itself.
    None,
}

/// `--outcome-models`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutcomeModels {
    /// One model per arm.
    TLearner,
    /// One model on all arms, with therapy interactions.
    SLearner,
}

/// `--resample-unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ResampleUnit {
    /// The `--group-col` groups (cluster bootstrap).
    Groups,
    /// Patients, within each arm.
    Patients,
}

/// `--log-skewed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogSkewed {
    /// With `--algorithm auto` only.
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// `train`'s validated configuration.
struct Config {
    cohort: CohortSpec,
    train: TrainSpec,
    out: PathBuf,
}

impl Args {
    /// The cohort to read, with `--log-skewed` resolved (`auto`: on with
    /// `--algorithm auto` or `lasso`).
    fn cohort_spec(&self, auto: bool) -> Result<CohortSpec> {
        let mut cohort = self.data.spec()?;
        cohort.log_skewed = match self.log_skewed {
            LogSkewed::Auto => auto,
            LogSkewed::On => true,
            LogSkewed::Off => false,
        };
        Ok(cohort)
    }

    /// Whether the model's inputs include SNP dosages (`--genotypes`
    /// without `--genotypes-as pcs`).
    fn has_dosages(&self) -> bool {
        self.data.input.genotypes.is_some() && self.data.genotypes_as != Some(GenotypesAsArg::Pcs)
    }

    /// The algorithm: `--algorithm`, else the default for the strategy and
    /// the data (see [`default_algorithm`]).
    fn algorithm(&self) -> &str {
        match &self.algorithm {
            Some(a) => a,
            None => default_algorithm(self.strategy, self.has_dosages(), !self.params.is_empty()),
        }
    }

    /// Checks the flags before anything is read.
    fn config(&self) -> Result<Config> {
        let algorithm = self.algorithm();
        let auto = algorithm == "auto";
        let method = if auto {
            if !self.params.is_empty() {
                return Err(Error::usage(
                    "--param cannot be combined with --algorithm auto, which searches its own grid",
                ));
            }
            Method::Auto
        } else {
            Method::Fixed(AlgorithmParams::from_cli(
                algorithm,
                &RawParams::parse(&self.params)?,
            )?)
        };
        if self.cv == 1 {
            return Err(Error::usage(
                "--cv must be 0 (no cross-validation) or at least 2",
            ));
        }
        if auto && self.cv == 0 {
            return Err(Error::usage(
                "--algorithm auto needs --cv of at least 2 for its nested cross-validation",
            ));
        }
        if self.strategy == Strategy::SLearner {
            if self.data.therapy_col.is_none() || self.data.therapy.is_some() {
                return Err(Error::usage(
                    "--strategy s-learner needs --therapy-col and all arms (no --therapy)",
                ));
            }
            if auto {
                return Err(Error::usage(
                    "--strategy s-learner takes a fixed --algorithm; auto chooses per arm (t-learner) only",
                ));
            }
        }
        self.check_effect_flags()?;
        self.check_outcome_models(auto)?;
        let resample_groups = self.resample_groups()?;
        Ok(Config {
            cohort: self.cohort_spec(auto || algorithm == "lasso")?,
            train: TrainSpec {
                method,
                cv: self.cv,
                strategy: self.strategy,
                keep_cross_fitted: !self.no_cross_fitted
                    && (self.cross_fitted || !keeps_rows(algorithm, &self.params)),
                seed: self.seed,
                replicates: self.replicates(),
                resample_groups,
                control: None,
                forest_trees: self.forest_trees.div_ceil(2) * 2,
                forest_offset: self.forest_offset == ForestOffset::TLearner,
                // Set by `run` once the default algorithm is known.
                s_learner_outcomes: false,
                forest_replicates: self.replicates.unwrap_or(FOREST_REPLICATES),
            },
            out: self.out.clone(),
        })
    }
}

/// The algorithm when `--algorithm` is not given: `lasso` for the effect
/// learners on SNP dosages, `logistic` otherwise (and whenever `--param`
/// is given, whose keys are logistic's). Measured on `simulate`'s cohorts
/// (bench/effect_intervals.py, seeds 7, 11, 23, 5, 13): a logistic model
/// (c = 1) per arm on 200 SNPs recommends the truly best therapy for
/// 65.0-72.6 % of the patients with a clear advantage, the lasso (SNPs
/// penalised, clinical inputs not) for 92.1-97.1 %.
pub(crate) fn default_algorithm(strategy: Strategy, dosages: bool, params: bool) -> &'static str {
    if dosages && !params && effect_strategy(strategy) {
        "lasso"
    } else {
        "logistic"
    }
}

/// The refit of the effect learners' default lasso: the inputs the lasso
/// keeps (at the penalty its own internal CV chooses) refitted with an L2
/// penalty μ/b̂² each, b̂ the lasso's coefficient (`--param adaptive=cv`,
/// μ by a second internal CV): a strong SNP is barely shrunk, a weak one
/// much. Measured (README: Train, Strategy; DR-learner, `bench/`): on
/// `simulate`'s five seeds the truly best therapy for 96.1 % of the
/// patients with a clear advantage (relax=0, the unpenalised refit: 96.2 %;
/// relax=cv: 95.3 %) and coverage of the true effects 96.8 % at mean width
/// 0.394 (relax=0: 98.2 % at 0.484); on six threshold cohorts 86.8 %
/// (85.0 %), coverage 93.9 % at 0.401 (95.5 % at 0.484). The unpenalised
/// refit over-dispersed the bootstrap replicates (a weak SNP entered some
/// at full size) and the blend of `relax=cv` shrank the arm-specific terms.
pub(crate) const DEFAULT_EFFECT_ADAPTIVE: Adaptive = Adaptive::Cv;

/// Bootstrap replicates a causal forest that corrects the T-learner's
/// effect fits by default: its intervals need the outcome models' spread.
pub(crate) const FOREST_REPLICATES: usize = 50;

impl Args {
    /// `--replicates`, or its default: [`FOREST_REPLICATES`] for a causal
    /// forest that corrects the T-learner's effect, else 0.
    fn replicates(&self) -> usize {
        let offset_forest =
            self.strategy == Strategy::CausalForest && self.forest_offset == ForestOffset::TLearner;
        self.replicates
            .unwrap_or(if offset_forest { FOREST_REPLICATES } else { 0 })
    }

    /// The effect strategies' flags: --therapy-col with all arms, --cv ≥ 2,
    /// no --replicates for a plain causal forest; --control only for them.
    fn check_effect_flags(&self) -> Result<()> {
        if effect_strategy(self.strategy) {
            let name = self.strategy.as_str();
            if self.data.therapy_col.is_none() || self.data.therapy.is_some() {
                return Err(Error::usage(format!(
                    "--strategy {name} needs --therapy-col and all arms (no --therapy)"
                )));
            }
            if self.cv < 2 {
                return Err(Error::usage(format!(
                "--strategy {name} needs --cv of at least 2 for its cross-fitted outcome models"
            )));
            }
            let plain_forest = self.forest_offset == ForestOffset::None;
            if self.strategy == Strategy::CausalForest && plain_forest && self.replicates > Some(0)
            {
                return Err(Error::usage(
                "--replicates is not used by --strategy causal-forest with --forest-offset none: its intervals come from its little bags of trees",
            ));
            }
        } else if self.control.is_some() {
            return Err(Error::usage(
            "--control chooses the control arm of --strategy dr-learner, x-learner or causal-forest (score --control sets it for --intervals)",
        ));
        }
        Ok(())
    }

    /// `--outcome-models`: only for the effect learners (DR-, X-learner,
    /// causal forest, auto-effect); `s-learner` with a fixed algorithm (the
    /// S-learner's one model).
    fn check_outcome_models(&self, auto: bool) -> Result<()> {
        let Some(models) = self.outcome_models else {
            return Ok(());
        };
        if !effect_strategy(self.strategy) {
            return Err(Error::usage(format!(
                "--outcome-models chooses the outcome models of --strategy dr-learner, x-learner, causal-forest or auto-effect, not {}",
                self.strategy.as_str()
            )));
        }
        if auto && models == OutcomeModels::SLearner {
            return Err(Error::usage(
                "--outcome-models s-learner takes a fixed --algorithm (one model for all arms); auto chooses per arm",
            ));
        }
        Ok(())
    }

    /// Whether the replicates are a cluster bootstrap of the groups.
    fn resample_groups(&self) -> Result<bool> {
        let grouped = self.data.group_col.is_some();
        // A causal forest's little bags resample too.
        let forest = matches!(self.strategy, Strategy::CausalForest | Strategy::AutoEffect);
        match self.resample_unit {
            Some(_) if self.replicates() == 0 && !forest => Err(Error::usage(
                "--resample-unit says what --replicates (or a causal forest's little bags) resample; give --replicates B",
            )),
            Some(ResampleUnit::Groups) if !grouped => Err(Error::usage(
                "--resample-unit groups needs --group-col COL (the groups to resample)",
            )),
            Some(ResampleUnit::Patients) => Ok(false),
            _ => Ok(grouped),
        }
    }
}

/// Groups fewer than this make a cluster bootstrap's intervals unreliable
/// (Cameron, Gelbach & Miller 2008: cluster-robust inference with few
/// clusters over-rejects; the bootstrap of 5 clusters has at most 126
/// distinct resamples).
const FEW_GROUPS: usize = 10;

/// Checks a cluster bootstrap can measure every arm: each arm's patients
/// must come from at least two groups (one group is always resampled
/// whole, so its arm's model would never vary); warns with few groups.
fn check_cluster_bootstrap(cohort: &Cohort, how: &TrainSpec, column: &str, ui: &Ui) -> Result<()> {
    // A causal forest's little bags resample too (auto-effect may choose
    // one).
    let forest = matches!(how.strategy, Strategy::CausalForest | Strategy::AutoEffect);
    let Some((labels, _)) = cohort
        .groups
        .as_ref()
        .filter(|_| how.resample_groups && (how.replicates > 0 || forest))
    else {
        return Ok(());
    };
    if let Some((arm, group)) = cohort.single_group_arm() {
        return Err(Error::Fit(format!(
            "arm `{arm}`: all its patients are in one group of `{column}` (`{group}`), so a cluster bootstrap cannot measure its uncertainty; give --resample-unit patients (intervals then assume patients are independent)"
        )));
    }
    let g = labels.len();
    // Refused before anything is fitted (auto-effect's forest candidate
    // draws its little bags as the forest it would fit).
    if let (true, Some(cc)) = (forest, how.control) {
        check_forest_clusters(cohort, cc, &format!("groups of `{column}`"))?;
    }
    let what = match (how.replicates > 0, how.strategy) {
        (true, Strategy::CausalForest) => {
            "--replicates and the causal forest's little bags resample"
        }
        (false, Strategy::CausalForest) => "the causal forest's little bags draw",
        (true, Strategy::AutoEffect) => "--replicates (and a causal forest's little bags) resample",
        (false, Strategy::AutoEffect) => "a causal forest's little bags (if chosen) draw",
        _ => "--replicates resample",
    };
    ui.info(format!(
        "{what} the {g} groups of `{column}` whole (cluster bootstrap; --resample-unit patients resamples patients)"
    ));
    if g < FEW_GROUPS {
        ui.warn(format!(
            "only {g} groups of `{column}` for the cluster bootstrap: with fewer than {FEW_GROUPS} its intervals are unreliable (few distinct resamples); --resample-unit patients treats patients as independent instead"
        ));
    }
    Ok(())
}

/// The fewest responders and non-responders an arm needs, and what needs
/// them. Every training fold keeps at least one of each class with 2 of each
/// (stratified folds); `auto`'s inner folds need one more than they are. An
/// arm with fewer of a class than --cv folds is trained and flagged weak
/// (its held-out folds without a class have no fold AUC).
fn class_floor(auto: bool) -> (usize, String) {
    if auto {
        (INNER_FOLDS + 1, "--algorithm auto (nested CV)".to_string())
    } else {
        (2, "a model".to_string())
    }
}

/// The clinical columns the bundle's pipelines log-transform, in words.
fn log_summary(bundle: &crate::bundle::Bundle) -> Option<String> {
    let mut logged = std::collections::BTreeSet::new();
    for arm in &bundle.arms {
        for f in &arm.pipeline.features {
            if let crate::features::pipeline::FittedFeature::Numeric { log: Some(_), .. } = f {
                logged.insert(f.name().to_string());
            }
        }
    }
    (!logged.is_empty()).then(|| {
        format!(
            "log-transformed (strictly positive and right-skewed in training; --log-skewed off keeps them as they are): {}",
            crate::error::quote_all(logged)
        )
    })
}

/// Resolves `--cv groups` to the number of groups and checks grouped folds.
fn with_group_folds(mut config: Config, cohort: &Cohort) -> Result<Config> {
    config.train.cv = resolve_group_folds(config.train.cv, cohort.n_groups())?;
    let column = config.cohort.group_col.as_deref().unwrap_or("");
    single_group_cv(cohort, config.train.cv, column)?;
    Ok(config)
}

/// Refuses grouped cross-validation of an arm whose patients are all in
/// one group: the fold holding that group out leaves the arm no patients.
pub(crate) fn single_group_cv(cohort: &Cohort, cv: usize, column: &str) -> Result<()> {
    match cohort.single_group_arm() {
        Some((arm, group)) if cv >= 2 => Err(Error::Fit(format!(
            "arm `{arm}`: all its patients are in group `{group}` of `{column}`, so cross-validation that keeps each group whole has no patient of the arm to train on when `{group}` is held out; leave the arm out or train without --group-col"
        ))),
        _ => Ok(()),
    }
}

/// Without `--algorithm`: falls back from the effect learners' default
/// lasso to logistic when no SNP dosage is an input after all (`--features`
/// left them out), sets that lasso's refit to
/// [`DEFAULT_EFFECT_ADAPTIVE`], and says on stderr which model is fitted on
/// SNP dosages, and why.
fn default_algorithm_note(
    args: &Args,
    config: &mut Config,
    cohort: &mut Cohort,
    ui: &Ui,
) -> Result<()> {
    if args.algorithm.is_some() || !args.params.is_empty() || !args.has_dosages() {
        return Ok(());
    }
    let dosages = cohort.frame.columns.iter().any(|c| c.kind == Kind::Dosage);
    if args.algorithm() == "lasso" {
        if dosages {
            if let Method::Fixed(AlgorithmParams::Lasso(p)) = &mut config.train.method {
                p.adaptive = DEFAULT_EFFECT_ADAPTIVE;
            }
            ui.info(format!(
                "outcome models: lasso with adaptive=cv, the default of --strategy {} on SNP dosages (L1 on the SNPs; clinical inputs unpenalised when they number at most a tenth of an arm's rarer outcome class; the inputs it keeps refitted with an L2 penalty that barely shrinks a strong SNP and shrinks a weak one much, its strength by internal CV; --algorithm lasso for the relax blend, --algorithm NAME for another)",
                args.strategy.as_str()
            ));
        } else {
            config.train.method = Method::Fixed(AlgorithmParams::from_cli(
                "logistic",
                &RawParams::parse(&[])?,
            )?);
            cohort.frame.log_skewed = args.log_skewed == LogSkewed::On;
            config.cohort.log_skewed = cohort.frame.log_skewed;
        }
    } else if dosages && args.data.therapy_col.is_some() && args.data.therapy.is_none() {
        ui.info(format!(
            "outcome models: logistic, the default of --strategy {} (a light L2 penalty, c=1, on the SNP dosages as on the clinical inputs); to recommend therapies on SNP data, a T-learner with --algorithm lasso (L1 on the SNPs) recommended far better on simulated cohorts (README: Train, Strategy)",
            args.strategy.as_str()
        ));
    }
    Ok(())
}

/// Whether the DR-, X-learner or causal forest's outcome models (also as
/// auto-effect's candidates) are one S-learner: `--outcome-models`, or by
/// default when the algorithm is the lasso. Measured
/// (bench/effect_intervals.txt, effect_blocks.txt, effect_thresholds.txt):
/// the DR-learner on the data-shared lasso recommended the truly best therapy
/// for 95.3 % of `simulate`'s patients with a clear advantage over five
/// seeds (per-arm lasso 94.9 %) and 95.1/95.0/94.1 % over ten disjoint
/// training sets of seeds 7/11/23 (93.5/93.7/93.2 %), 83.7 % and 84.7 % on
/// two sets of three threshold cohorts (81.7 % and 84.7 %), with narrower
/// intervals.
fn s_learner_outcomes(args: &Args, how: &TrainSpec) -> bool {
    match args.outcome_models {
        Some(m) => m == OutcomeModels::SLearner,
        None => {
            effect_strategy(how.strategy)
                && matches!(how.method, Method::Fixed(AlgorithmParams::Lasso(_)))
        }
    }
}

/// Runs `train`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let config = args.config()?;
    let args_no_cross_fitted = args.no_cross_fitted;
    let out = AtomicFile::create(&config.out)?;
    let how = &config.train;
    let auto = how.method == Method::Auto;
    let (need, why) = class_floor(auto);
    let mut notes = Notes::default();
    let cohort = Cohort::assemble(&config.cohort, need, &why, &mut notes);
    ui.notes(&notes);
    let mut cohort = cohort?;
    let mut config = with_group_folds(config, &cohort)?;
    default_algorithm_note(&args, &mut config, &mut cohort, ui)?;
    config.train.s_learner_outcomes = s_learner_outcomes(&args, &config.train);
    if effect_strategy(config.train.strategy) {
        let control = dr_control(&cohort, args.control.as_deref(), &config.train)?;
        config.train.control = Some(control);
    }
    let how = &config.train;
    let column = config.cohort.group_col.as_deref().unwrap_or("");
    check_cluster_bootstrap(&cohort, how, column, ui)?;
    if how.strategy == Strategy::SLearner && cohort.arms.len() < 2 {
        return Err(Error::usage(format!(
            "--strategy s-learner needs at least two arms; `{}` has one",
            config.cohort.therapy_col.as_deref().unwrap_or("")
        )));
    }
    ui.info(describe_run(&cohort, how));
    // One fold of the S-learner's one model ticks once; a T-learner's
    // once per arm (auto-effect fits both). The same rule as `train`'s.
    let one_model = how.strategy == Strategy::SLearner
        || (how.s_learner_outcomes && how.strategy.has_effect_stage());
    let models = if one_model { 1 } else { cohort.arms.len() };
    let bar = ui.progress((how.cv * models) as u64, "cross-validating");
    let bundle = train(&cohort, &config.cohort, how, &|| bar.inc(1))?;
    bar.finish_and_clear();
    for line in arm_summaries(&bundle) {
        ui.info(line);
    }
    if let Some(line) = log_summary(&bundle) {
        ui.info(line);
    }
    if let Some(sel) = &bundle.effect_selection {
        ui.info(auto_effect_line(sel, bundle.strategy));
    }
    audit_notes(&bundle, ui);
    sample_size_notes(&bundle, ui);
    if bundle.arms.len() > 1 {
        for arm in &bundle.arms {
            if let Some(why) = arm.weakness() {
                ui.warn(format!(
                    "arm `{}` is weak: {why}; `score` withholds the recommendation (best_therapy `none`) from patients whose best or runner-up therapy is this arm, unless --allow-weak-arms",
                    arm.label()
                ));
            }
        }
    }
    unconverged_notes(&bundle, ui);
    if bundle.training.holds_patient_rows {
        ui.warn(format!(
            "{} keeps training rows (standardised) inside the bundle: treat {} as patient data",
            bundle.algorithm,
            config.out.display()
        ));
        if bundle.cross_fitted.is_some() {
            ui.warn(format!(
                "{} also holds the training patients' IDs (cross-fitted predictions, --cross-fitted): with the rows they identify every training patient",
                config.out.display()
            ));
        } else if how.cv >= 2 && !args_no_cross_fitted {
            ui.info(
                "cross-fitted predictions (patient IDs) are left out for a model that keeps training rows; --cross-fitted stores them",
            );
        }
    }
    bundle.write(out)?;
    ui.info(format!("wrote {}", config.out.display()));
    Ok(())
}

/// Warns naming the arms whose fit stopped at its iteration limit.
fn unconverged_notes(bundle: &Bundle, ui: &Ui) {
    let unconverged: Vec<String> = bundle
        .arms
        .iter()
        .filter(|a| a.model.not_converged())
        .map(|a| a.label())
        .collect();
    if !unconverged.is_empty() {
        ui.warn(format!(
            "the {} fit of arm {} stopped at its iteration limit before converging (recorded in the bundle); raise it with --algorithm {} --param max_iter=N",
            bundle.arms[0].algorithm.name(),
            crate::error::quote_all(&unconverged),
            bundle.arms[0].algorithm.name()
        ));
    }
}

/// `auto-effect`'s comparison and choice, as `train` prints it.
fn auto_effect_line(sel: &crate::bundle::EffectSelection, chosen: Strategy) -> String {
    format!(
        "auto-effect: {} (lower is better; ± the standard error of the difference from the t-learner{}) {}; chose {} (another strategy must beat the t-learner by more than {} times its ±{})",
        sel.loss,
        match sel.clusters {
            Some(g) => format!(", clustered over {g} groups"),
            None => String::new(),
        },
        describe_candidates(sel),
        chosen.as_str(),
        crate::training::choice_bar(sel.clusters),
        match sel.clusters {
            Some(g) if g >= 2 => format!(": Student's t with {} degrees of freedom", g - 1),
            Some(_) => ": one group cannot show it".to_string(),
            None => String::new(),
        }
    )
}

/// "t-learner 0.9123, dr-learner 0.9101, …".
pub(crate) fn describe_candidates(sel: &crate::bundle::EffectSelection) -> String {
    sel.candidates
        .iter()
        .map(|c| match c.se_vs_t {
            Some(se) => format!("{} {:.4} (±{:.4})", c.strategy.as_str(), c.loss, se),
            None => format!("{} {:.4}", c.strategy.as_str(), c.loss),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the strategy models effects against a control.
fn effect_strategy(s: Strategy) -> bool {
    matches!(
        s,
        Strategy::DrLearner | Strategy::XLearner | Strategy::CausalForest | Strategy::AutoEffect
    )
}

/// The DR- or X-learner's control arm, after checking that every arm has at
/// least `cv` responders and non-responders: each held-out fold of the
/// cross-fitting then has a model fitted on both classes, and the
/// pseudo-outcome of every patient comes from models that did not see them.
fn dr_control(cohort: &Cohort, control: Option<&str>, how: &TrainSpec) -> Result<usize> {
    let (cv, name) = (how.cv, how.strategy.as_str());
    if cohort.arms.len() < 2 {
        return Err(Error::usage(format!(
            "--strategy {name} needs at least two arms; the therapy column has one"
        )));
    }
    for arm in &cohort.arms {
        let pos = arm.y.iter().filter(|&&b| b).count();
        let neg = arm.y.len() - pos;
        if pos.min(neg) < cv {
            return Err(Error::Fit(format!(
                "arm `{}` has {pos} responders and {neg} non-responders: the {name}'s cross-fitting needs at least {cv} of each (one per --cv fold); lower --cv or leave the arm out",
                arm.label()
            )));
        }
    }
    let labels: Vec<String> = cohort.arms.iter().map(|a| a.label()).collect();
    crate::eval::selection::control_index(&labels, control)
}

/// "training logistic (c=1, …) on 600 patients, 58 features, 3 arms".
fn describe_run(cohort: &Cohort, how: &TrainSpec) -> String {
    let arms = cohort.arms.len();
    format!(
        "training {} on {} patients, {} features, {arms} arm{}{}",
        match &how.method {
            Method::Fixed(a) => format!("{} ({})", a.name(), a.describe()),
            Method::Auto => format!(
                "auto (inner {INNER_FOLDS}-fold CV over {} candidates)",
                auto_grid().len()
            ),
        },
        cohort.arms.iter().map(|a| a.rows.len()).sum::<usize>(),
        cohort.frame.columns.len(),
        if arms == 1 { "" } else { "s" },
        match how.s_learner_outcomes {
            true => "; the effect learners' outcome models are one S-learner (--outcome-models t-learner for one per arm)",
            false => "",
        }
    )
}

/// One line per arm: size, responders, CV AUC and, with `auto`, the choice.
fn arm_summaries(bundle: &Bundle) -> Vec<String> {
    let auto = bundle.algorithm == "auto";
    bundle
        .arms
        .iter()
        .map(|arm| {
            let cv = match &arm.cv {
                Some(cv) => format!(
                    "{} AUC {:.3} ± {:.3} ({} folds; pooled {:.3}{})",
                    if auto { "nested-CV" } else { "CV" },
                    cv.auc_mean,
                    cv.auc_sd,
                    cv.folds,
                    cv.auc_pooled,
                    match cv.auc_pooled_ci {
                        Some([lo, hi]) => format!(", 95% CI {lo:.3}–{hi:.3}"),
                        None => String::new(),
                    }
                ),
                None => "no cross-validation".into(),
            };
            let chosen = if auto {
                format!(
                    ", chose {} ({})",
                    arm.algorithm.name(),
                    arm.algorithm.describe()
                )
            } else {
                String::new()
            };
            format!(
                "arm {}: n={}, responders={} ({:.1}%), {cv}{chosen}",
                arm.label(),
                arm.n,
                arm.responders,
                100.0 * arm.responders as f64 / arm.n as f64
            )
        })
        .collect()
}

/// A cross-validated AUC from which on leakage is suspected.
const HIGH_CV_AUC: f64 = 0.95;

/// Missing values and possible leaks, on stderr.
fn audit_notes(bundle: &Bundle, ui: &Ui) {
    let missing = &bundle.training.missing;
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(10)
            .map(|m| format!("{} {:.1}%", m.feature, 100.0 * m.share()))
            .collect();
        ui.info(format!(
            "missing values (imputed from the training patients) in {} of {} features: {}{}",
            missing.len(),
            bundle.features.len(),
            shown.join(", "),
            if missing.len() > 10 {
                format!(", and {} more", missing.len() - 10)
            } else {
                String::new()
            }
        ));
        let many: Vec<String> = missing
            .iter()
            .filter(|m| m.share() > MISSING_WARN)
            .map(|m| format!("`{}` ({:.1}%)", m.feature, 100.0 * m.share()))
            .collect();
        if !many.is_empty() {
            ui.warn(format!(
                "more than {:.0}% missing: {}; imputed values carry little information and the missingness may itself depend on the outcome: check the data, or leave them out with --exclude",
                100.0 * MISSING_WARN,
                many.join(", ")
            ));
        }
    }
    for a in &bundle.arms {
        if let Some(cv) = a.cv.as_ref().filter(|cv| cv.auc_pooled >= HIGH_CV_AUC) {
            ui.warn(format!(
                "arm `{}`: a cross-validated AUC of {:.3} is rarely real for a treatment outcome: check that no feature was measured after treatment started or is derived from the outcome{}",
                a.label(),
                cv.auc_pooled,
                if bundle.training.leakage.is_empty() {
                    ""
                } else {
                    " (see the features named below)"
                }
            ));
        }
    }
    for l in &bundle.training.leakage {
        ui.warn(format!(
            "`{}` may leak the outcome: {}{}; a value measured after treatment started is unknown when a therapy is chosen: leave it out with --exclude {}",
            l.feature,
            l.reason,
            l.auc.map_or(String::new(), |a| format!(" (AUC alone {a:.3})")),
            l.feature
        ));
    }
}

/// Riley et al.'s minimum sample size per arm: a warning when not met.
fn sample_size_notes(bundle: &Bundle, ui: &Ui) {
    let short: Vec<String> = bundle
        .arms
        .iter()
        .filter_map(|a| {
            let s = a.sample_size.as_ref()?;
            (!s.met()).then(|| {
                format!(
                    "{} has {} patients, {} needed for {} parameters",
                    a.label(),
                    s.n_available,
                    s.n_required,
                    s.parameters
                )
            })
        })
        .collect();
    if !short.is_empty() {
        ui.warn(format!(
            "fewer patients than Riley et al.'s minimum sample size (from the cross-validated AUC; `report` shows the criteria): {}; expect optimism and check the model on held-out data",
            short.join("; ")
        ));
    }
}
