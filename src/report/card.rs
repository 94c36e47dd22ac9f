//! The model card: the TRIPOD+AI items (Collins et al., BMJ 2024) that a
//! tool can fill from a bundle and an evaluation, with clearly marked blanks
//! for the rest. Rendered as Markdown and as JSON from one structure.

use serde::Serialize;

use crate::bundle::{Bundle, FeatureMissing, LeakSuspect};
use crate::data::FileInfo;
use crate::eval::importance::missing_handling;
use crate::eval::selection::EffectsOutput;
use crate::eval::{Evaluation, GroupEvaluation};
use crate::models::ALGORITHMS;
use crate::report::effects::render_effects_md;
use crate::stats::sample_size::SampleSize;

/// Marks an item a tool cannot know, in the Markdown card.
pub(crate) fn blank(what: &str) -> String {
    format!("**[TO FILL: {what}]**")
}

/// One TRIPOD+AI item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Item {
    /// Item number in the TRIPOD+AI checklist.
    pub(crate) item: String,
    /// Its topic.
    pub(crate) topic: String,
    /// `filled` (from the bundle/evaluation), `partial` or `to_fill`.
    pub(crate) status: String,
    /// What the tool could fill (Markdown), or the blank.
    pub(crate) text: String,
}

fn item(n: &str, topic: &str, status: &str, text: String) -> Item {
    Item {
        item: n.into(),
        topic: topic.into(),
        status: status.into(),
        text,
    }
}

/// A predictor and its handling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Predictor {
    /// Column name.
    pub(crate) name: String,
    /// `numeric`, `categorical` or `dosage`.
    pub(crate) kind: String,
    /// Missing-value handling (first arm's pipeline).
    pub(crate) missing: String,
    /// Categories (categorical predictors), first arm; not listed (`None`)
    /// when there are more than [`CARD_LEVELS`].
    pub(crate) levels: Option<Vec<String>>,
    /// Number of categories (categorical predictors).
    pub(crate) n_levels: Option<usize>,
}

/// The most category levels a model card lists: beyond this a column's
/// levels may identify patients and are only counted.
pub(crate) const CARD_LEVELS: usize = 30;

/// One arm's training summary and internal validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ArmCard {
    /// The arm.
    pub(crate) arm: String,
    /// Training patients.
    pub(crate) n: usize,
    /// Responders among them.
    pub(crate) responders: usize,
    /// Cross-validation folds (`None`: not cross-validated).
    pub(crate) cv_folds: Option<usize>,
    /// Mean fold AUC.
    pub(crate) cv_auc_mean: Option<f64>,
    /// SD of the fold AUCs.
    pub(crate) cv_auc_sd: Option<f64>,
    /// Pooled out-of-fold AUC.
    pub(crate) cv_auc_pooled: Option<f64>,
    /// Every fold's AUC.
    pub(crate) cv_fold_auc: Option<Vec<f64>>,
    /// DeLong 95 % interval `[low, high]` of the pooled out-of-fold AUC.
    pub(crate) cv_auc_pooled_ci: Option<[f64; 2]>,
    /// Why the arm cannot support a recommendation (`null` if it can or
    /// was not cross-validated).
    pub(crate) weak: Option<String>,
    /// Riley et al.'s minimum sample size for the arm's model.
    pub(crate) sample_size: Option<SampleSize>,
    /// Whether the final fit stopped at its iteration limit before
    /// converging.
    pub(crate) not_converged: bool,
}

/// The model card (stable JSON keys, documented in the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ModelCard {
    /// Always `responder-model-card`.
    pub(crate) card_format: String,
    /// Card version.
    pub(crate) card_version: u32,
    /// The bundle file as given.
    pub(crate) model_file: String,
    /// SHA-256 of the bundle file.
    pub(crate) model_sha256: String,
    /// Responder version that wrote the bundle.
    pub(crate) tool_version: String,
    /// Algorithm name.
    pub(crate) algorithm: String,
    /// Its hyper-parameters.
    pub(crate) hyperparameters: serde_json::Value,
    /// The hyper-parameters in words.
    pub(crate) hyperparameters_text: String,
    /// The learner strategy (`t-learner`, `dr-learner`, …).
    pub(crate) strategy: String,
    /// The strategy in words: control arm, effect model, how it was
    /// chosen, and the bootstrap replicates and what they resampled.
    pub(crate) strategy_text: String,
    /// Whether one model serves every arm (an S-learner, or the S-learner
    /// outcome models of a DR-, X-learner or causal forest).
    pub(crate) one_model_for_all_arms: bool,
    /// How cross-validation formed its folds, in words.
    pub(crate) cv_method: String,
    /// The outcome definition.
    pub(crate) outcome: String,
    /// The outcome column.
    pub(crate) outcome_column: String,
    /// The therapy column (arms), if any.
    pub(crate) therapy_column: Option<String>,
    /// Training files and hashes.
    pub(crate) training_files: Vec<FileInfo>,
    /// Patients after the ID join.
    pub(crate) training_n_joined: usize,
    /// Left out for a missing outcome.
    pub(crate) training_n_missing_target: usize,
    /// Left out for a missing therapy.
    pub(crate) training_n_missing_therapy: usize,
    /// Patients used.
    pub(crate) training_n: usize,
    /// Responders used.
    pub(crate) training_responders: usize,
    /// The seed.
    pub(crate) seed: u64,
    /// Whether the model file stores training patients' rows (k-NN, SVM).
    pub(crate) holds_patient_rows: bool,
    /// Per-arm training and cross-validation.
    pub(crate) arms: Vec<ArmCard>,
    /// Features with missing values among the training patients.
    pub(crate) missing: Vec<FeatureMissing>,
    /// Features that may leak the outcome, found at training.
    pub(crate) leakage: Vec<LeakSuspect>,
    /// Predictors.
    pub(crate) predictors: Vec<Predictor>,
    /// Predictors log-transformed in any arm's pipeline (`--log-skewed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) log_transformed: Vec<String>,
    /// Evaluation files and hashes (with --data).
    pub(crate) evaluation_files: Option<Vec<FileInfo>>,
    /// The evaluation (with --data; same keys as `evaluate --format json`).
    pub(crate) evaluation: Option<Evaluation>,
    /// Evidence for treatment selection (with --data, two or more arms and
    /// the therapy column; the `effects` object of `evaluate`).
    pub(crate) effects: Option<EffectsOutput>,
    /// Plot files, relative to the card.
    pub(crate) plots: Vec<String>,
    /// The TRIPOD+AI items.
    pub(crate) items: Vec<Item>,
}

fn f3(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or("NA".into(), |x| format!("{x:.3}"))
}

fn pct(a: usize, n: usize) -> String {
    format!("{:.1}%", 100.0 * a as f64 / n.max(1) as f64)
}

/// The hyper-parameters as JSON and in words: per arm with `auto`, else
/// the one algorithm's.
fn hyperparameters(bundle: &Bundle) -> (serde_json::Value, String) {
    let auto = bundle.algorithm == "auto";
    let hyper = if auto {
        let mut per_arm = serde_json::Map::new();
        for (arm, label) in bundle.arms.iter().zip(bundle.arm_names()) {
            per_arm.insert(
                label,
                serde_json::to_value(&arm.algorithm).unwrap_or_default(),
            );
        }
        serde_json::Value::Object(per_arm)
    } else {
        let mut v = serde_json::to_value(&bundle.arms[0].algorithm).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("algorithm");
        }
        v
    };
    let hyper_text = if auto {
        bundle
            .arms
            .iter()
            .zip(bundle.arm_names())
            .map(|(a, label)| {
                format!(
                    "{label}: {} ({})",
                    a.algorithm.name(),
                    a.algorithm.describe()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        bundle.arms[0].algorithm.describe()
    };
    (hyper, hyper_text)
}

/// Builds the card from a bundle and an optional evaluation.
pub(crate) fn build(
    model_file: &str,
    model_sha256: &str,
    bundle: &Bundle,
    evaluation: Option<(&[FileInfo], &Evaluation)>,
    effects: Option<EffectsOutput>,
    plots: Vec<String>,
) -> ModelCard {
    let t = &bundle.training;
    let names = bundle.arm_names();
    let arms: Vec<ArmCard> = bundle
        .arms
        .iter()
        .zip(&names)
        .map(|(a, name)| ArmCard {
            arm: name.clone(),
            n: a.n,
            responders: a.responders,
            cv_folds: a.cv.as_ref().map(|c| c.folds),
            cv_auc_mean: a.cv.as_ref().map(|c| c.auc_mean),
            cv_auc_sd: a.cv.as_ref().map(|c| c.auc_sd),
            cv_auc_pooled: a.cv.as_ref().map(|c| c.auc_pooled),
            cv_fold_auc: a.cv.as_ref().map(|c| c.fold_auc.clone()),
            cv_auc_pooled_ci: a.cv.as_ref().and_then(|c| c.auc_pooled_ci),
            weak: a.weakness(),
            sample_size: a.sample_size.clone(),
            not_converged: a.model.not_converged(),
        })
        .collect();
    let predictors = predictors(bundle);
    let (hyper, hyper_text) = hyperparameters(bundle);
    let mut card = ModelCard {
        card_format: "responder-model-card".into(),
        card_version: 1,
        model_file: model_file.to_string(),
        model_sha256: model_sha256.to_string(),
        tool_version: bundle.tool_version.clone(),
        algorithm: bundle.algorithm.clone(),
        hyperparameters: hyper,
        hyperparameters_text: hyper_text,
        strategy: bundle.strategy.as_str().to_string(),
        strategy_text: strategy_text(bundle),
        one_model_for_all_arms: one_model_for_all_arms(bundle),
        cv_method: match &t.cv_groups {
            Some(g) => format!(
                "{}: each of the {} groups of `{}` kept whole",
                g.method,
                g.groups.len(),
                g.column
            ),
            None if t.cv_folds < 2 => "none".into(),
            None => "stratified by the outcome".into(),
        },
        outcome: bundle.target.description.clone(),
        outcome_column: bundle.target.column.clone(),
        therapy_column: bundle.therapy_column.clone(),
        training_files: t.files.clone(),
        training_n_joined: t.n_joined,
        training_n_missing_target: t.n_missing_target,
        training_n_missing_therapy: t.n_missing_therapy,
        training_n: t.n,
        training_responders: t.responders,
        seed: t.seed,
        holds_patient_rows: t.holds_patient_rows
            || bundle.arms.iter().any(|a| a.model.holds_training_rows()),
        arms,
        missing: t.missing.clone(),
        leakage: t.leakage.clone(),
        predictors,
        log_transformed: log_transformed(bundle),
        evaluation_files: evaluation.map(|(f, _)| f.to_vec()),
        evaluation: evaluation.map(|(_, e)| e.clone()),
        effects,
        plots,
        items: Vec::new(),
    };
    card.items = items(&card, bundle);
    card
}

/// Every predictor of the first arm's pipeline, with its handling of
/// missing values and (up to [`CARD_LEVELS`]) its levels.
fn predictors(bundle: &Bundle) -> Vec<Predictor> {
    let first = &bundle.arms[0].pipeline;
    first
        .features
        .iter()
        .map(|f| Predictor {
            name: f.name().to_string(),
            kind: f.kind().as_str().to_string(),
            missing: missing_handling(f),
            levels: match f {
                crate::features::FittedFeature::Categorical { levels, .. }
                    if levels.len() <= CARD_LEVELS =>
                {
                    Some(levels.clone())
                }
                _ => None,
            },
            n_levels: match f {
                crate::features::FittedFeature::Categorical { levels, .. } => Some(levels.len()),
                _ => None,
            },
        })
        .collect()
}

/// Whether the arms are one S-learner's copies.
fn one_model_for_all_arms(bundle: &Bundle) -> bool {
    bundle
        .arms
        .first()
        .is_some_and(|a| matches!(a.design, crate::bundle::Design::SLearner { .. }))
}

/// The outcome models of the DR-, X-learner and causal forest: per-arm,
/// or an S-learner's (`--outcome-models s-learner`).
fn outcome_models_text(bundle: &Bundle) -> String {
    match bundle.arms.first().map(|a| a.design) {
        Some(crate::bundle::Design::SLearner { .. }) => {
            let s = s_learner_text(bundle);
            let s = s.strip_prefix("S-learner: ").unwrap_or(&s);
            format!("S-learner outcome models ({s})")
        }
        _ => "per-arm outcome models".to_string(),
    }
}

/// The S-learner's line, naming the data-shared lasso's weights when it is one.
fn s_learner_text(bundle: &Bundle) -> String {
    let r: Vec<String> = bundle
        .arms
        .iter()
        .filter(|a| a.design.deviation_penalty() != 1.0)
        .map(|a| format!("{} {:.3}", a.label(), a.design.deviation_penalty()))
        .collect();
    let shared = match r.is_empty() {
        true => String::new(),
        false => format!(
            "; a data-shared lasso (Gross & Tibshirani 2016): each arm's interactions are penalised at r = √(n_arm / n) times the shared inputs' ({})",
            r.join(", ")
        ),
    };
    format!("S-learner: one model on all arms, with therapy indicators and therapy × feature interactions{shared}")
}

/// The learner strategy in words, for item 12 and the model section.
fn strategy_text(bundle: &Bundle) -> String {
    use crate::bundle::Strategy;
    let names = bundle.arm_names();
    let control = bundle
        .effect
        .as_ref()
        .and_then(|e| names.get(e.control))
        .map_or(String::new(), |c| format!(" against `{c}`"));
    let outcomes = outcome_models_text(bundle);
    let mut text = match bundle.strategy {
        Strategy::TLearner if bundle.therapy_column.is_none() => {
            "one model for all patients (no therapy arms)".to_string()
        }
        Strategy::TLearner => "T-learner: one model per therapy arm".to_string(),
        Strategy::SLearner => s_learner_text(bundle),
        Strategy::DrLearner => format!("DR-learner{control}: {outcomes}, a cross-fitted propensity model, and a lasso correction of each arm's effect fitted to doubly robust pseudo-outcomes (Kennedy 2023)"),
        Strategy::XLearner => format!("X-learner{control}: {outcomes} and lasso corrections fitted to the imputed effects in the arm and the control, mixed by the propensity (Künzel et al. 2019)"),
        Strategy::CausalForest => {
            let f = bundle.effect.as_ref().and_then(|e| e.forests.first());
            format!(
                "causal forest{control}: one honest forest of {} trees per arm (Athey, Tibshirani & Wager 2019) {}",
                f.map_or(0, |f| f.forest.trees.len()),
                if f.is_some_and(|f| f.t_learner_offset) {
                    format!("correcting the effect of its {outcomes}")
                } else {
                    "estimating the effect, with little-bags variance".to_string()
                }
            )
        }
        Strategy::AutoEffect => "auto-effect".to_string(),
    };
    if let Some(sel) = &bundle.effect_selection {
        let names = crate::error::quote_all(sel.candidates.iter().map(|c| c.strategy.as_str()));
        // Bundles written before the rule took the least loss.
        text.push_str(&match sel.candidates.iter().any(|c| c.se_vs_t.is_some()) {
            true => format!(
                "; chosen by auto-effect among {names} by {}: the T-learner unless another candidate's loss is lower by more than {} standard errors of the difference{}",
                sel.loss,
                crate::training::choice_bar(sel.clusters),
                match sel.clusters {
                    Some(g) => format!(" (clustered over {g} groups)"),
                    None => String::new(),
                }
            ),
            false => format!("; chosen by auto-effect with the least {} among {names}", sel.loss),
        });
    }
    let reps = bundle.arms.first().map_or(0, |a| a.replicates.len());
    let cluster = bundle.training.cluster_bootstrap.as_ref();
    if reps > 0 {
        let unit = match cluster {
            Some(cb) => format!(
                "resampling the {} groups of `{}` (cluster bootstrap)",
                cb.groups, cb.column
            ),
            None if bundle.effect.as_ref().is_some_and(|e| !e.arms.is_empty()) => {
                "resampling patients (within each arm for the outcome models)".into()
            }
            None => "resampling patients within each arm".into(),
        };
        text.push_str(&format!(
            "; {reps} bootstrap replicates for the effect intervals, {unit}"
        ));
    }
    if bundle.strategy == Strategy::CausalForest {
        text.push_str(&match cluster {
            Some(cb) if cb.little_bags => format!(
                "; the forest's little bags drew half of the {} groups of `{}`, whole",
                cb.groups, cb.column
            ),
            _ => "; the forest's little bags drew half of the patients".into(),
        });
    }
    text
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `filled` when every arm has Riley's calculation, else `partial`.
fn sample_size_status(c: &ModelCard) -> &'static str {
    if c.arms.iter().all(|a| a.sample_size.is_some()) {
        "filled"
    } else {
        "partial"
    }
}

/// Item 10: the patients used and Riley et al.'s minimum per arm.
fn sample_size_text(c: &ModelCard) -> String {
    let mut t = format!(
        "{} patients with {} responders ({}) were used for training. Minimum sample size for developing a binary-outcome model (Riley et al., BMJ 2020; criteria of `pmsampsize`: expected shrinkage ≥ 0.9, optimism in Nagelkerke R² ≤ 0.05, overall risk within ±0.05; anticipated Cox-Snell R² from the cross-validated C-statistic by Riley et al.'s 2021 approximation): ",
        c.training_n,
        c.training_responders,
        pct(c.training_responders, c.training_n)
    );
    let per_arm: Vec<String> = c
        .arms
        .iter()
        .map(|a| match &a.sample_size {
            Some(s) => format!(
                "{}: {} required ({} / {} / {} by the three criteria; {} parameters, prevalence {:.3}, R²cs {:.4} from C {:.3}), {} available: {}",
                a.arm,
                s.n_required,
                s.n_criterion_1,
                s.n_criterion_2,
                s.n_criterion_3,
                s.parameters,
                s.prevalence,
                s.r2_cs,
                s.c_statistic,
                s.n_available,
                if s.met() { "met" } else { "NOT met" }
            ),
            None => format!(
                "{}: not computable (no cross-validated C-statistic above 0.5)",
                a.arm
            ),
        })
        .collect();
    t.push_str(&per_arm.join("; "));
    t.push('.');
    t
}

/// The predictors any arm's pipeline log-transforms, sorted.
fn log_transformed(bundle: &Bundle) -> Vec<String> {
    bundle
        .arms
        .iter()
        .flat_map(|a| &a.pipeline.features)
        .filter(|f| {
            matches!(
                f,
                crate::features::FittedFeature::Numeric { log: Some(_), .. }
            )
        })
        .map(|f| f.name().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Item 7's log transforms: the predictors log-transformed before
/// imputation (empty when none).
fn logged_text(c: &ModelCard) -> String {
    let logged = &c.log_transformed;
    if logged.is_empty() {
        String::new()
    } else {
        format!(
            "a natural log of the strictly positive, right-skewed predictors ({}; `train --log-skewed`), ",
            crate::error::quote_all(logged)
        )
    }
}

/// Item 11's missingness: the features with missing values.
fn missing_text(c: &ModelCard) -> String {
    if c.missing.is_empty() {
        return "no predictor had a missing value in the training data".into();
    }
    let shown: Vec<String> = c
        .missing
        .iter()
        .take(30)
        .map(|m| format!("`{}` {:.1}%", m.feature, 100.0 * m.share()))
        .collect();
    format!(
        "share missing among training patients: {}{}",
        shown.join(", "),
        if c.missing.len() > 30 {
            format!(" and {} more features", c.missing.len() - 30)
        } else {
            String::new()
        }
    )
}

fn files_text(files: &[FileInfo]) -> String {
    files
        .iter()
        .map(|f| format!("`{}` ({}, SHA-256 `{}`)", f.name, f.role, f.sha256))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Item 12's internal-validation method in words.
fn cv_text(c: &ModelCard) -> String {
    match c.arms.first().and_then(|a| a.cv_folds) {
        Some(k) if c.one_model_for_all_arms => format!(
            "{k}-fold cross-validation of the one model over all arms' patients ({}), with the whole preprocessing pipeline refitted inside each fold (seed {}); the final model is refitted on all patients. Results are in the internal-validation table",
            c.cv_method, c.seed
        ),
        Some(k) => format!(
            "{k}-fold cross-validation within each arm ({}), with the whole preprocessing pipeline refitted inside each fold (seed {}); the final model is refitted on all of the arm's patients. Results are in the internal-validation table",
            c.cv_method, c.seed
        ),
        None => "none: the model was trained with `--cv 0`".to_string(),
    }
}

fn items(c: &ModelCard, _bundle: &Bundle) -> Vec<Item> {
    let algo = ALGORITHMS
        .iter()
        .find(|a| a.name == c.algorithm)
        .map_or(c.algorithm.clone(), |a| a.description.to_string());
    let per = if c.one_model_for_all_arms {
        "one model for all therapy arms"
    } else {
        "one model per therapy arm"
    };
    let arms_text = if c.therapy_column.is_some() {
        format!(
            "{per} (column `{}`): {}",
            c.therapy_column.as_deref().unwrap_or_default(),
            crate::error::quote_all(c.arms.iter().map(|a| &a.arm))
        )
    } else {
        "one model for all patients".to_string()
    };
    let cv_text = cv_text(c);
    let eval_text = match &c.evaluation {
        Some(e) => format!(
            "evaluated on {} ({} patients; {} left out for a missing outcome, {} for a missing therapy, {} for a therapy without an arm); see the evaluation tables and plots",
            files_text(c.evaluation_files.as_deref().unwrap_or_default()),
            e.n_rows,
            e.n_missing_target,
            e.n_missing_therapy,
            e.n_unknown_therapy
        ),
        None => "no evaluation data were given to `responder report` (use `--data FILE --target COL`)".into(),
    };
    let eval_status = if c.evaluation.is_some() {
        "filled"
    } else {
        "to_fill"
    };
    let n_kind = |k: &str| c.predictors.iter().filter(|p| p.kind == k).count();
    vec![
        item("1", "Title", "to_fill", blank("title identifying the study as developing and/or evaluating a prediction model, the target population and the outcome")),
        item("2", "Abstract", "to_fill", blank("structured abstract (see TRIPOD+AI for Abstracts)")),
        item("3a-c", "Background", "to_fill", blank("healthcare context, rationale, intended use and users of the model, and known health inequalities")),
        item("4", "Objectives", "to_fill", blank("study objectives: development, evaluation, or both")),
        item("5a", "Data sources", "partial", format!("training data: {}. {}", files_text(&c.training_files), blank("study design and source of the data (trial, cohort, registry), and whether it is representative of the target population"))),
        item("5b", "Dates", "to_fill", blank("start and end of accrual and of follow-up")),
        item("6a", "Setting", "to_fill", blank("setting (e.g. primary care, specialist clinic), locations and number of centres")),
        item("6b", "Eligibility", "to_fill", blank("eligibility criteria for participants")),
        item("6c", "Treatments", "partial", format!("{arms_text}. {}", blank("details of the treatments received"))),
        item("7", "Data preparation", "filled", format!("Files are joined on the patient ID; patients without an outcome (or therapy) are left out and counted. Preprocessing is fitted on training patients only and stored in the model: {}imputation (numeric: median; dosage: mean; categorical: a `missing` level), one-hot encoding over the training levels, standardisation (mean, population SD).", logged_text(c))),
        item("8a", "Outcome", "partial", format!("responder if {} (column `{}`). {}", c.outcome, c.outcome_column, blank("clinical definition of response, time of assessment, and why it was chosen"))),
        item("8b", "Outcome assessment", "to_fill", blank("how and by whom the outcome was assessed; blinding to predictors")),
        item("9a", "Predictors", "filled", format!("{} predictors: {} numeric, {} categorical, {} genotype dosages; listed with their handling of missing values in the predictor table", c.predictors.len(), n_kind("numeric"), n_kind("categorical"), n_kind("dosage"))),
        item("9b-c", "Predictor measurement", "to_fill", blank("how and when predictors were measured; blinding to the outcome")),
        item("10", "Sample size", sample_size_status(c), sample_size_text(c)),
        item("11", "Missing data", "filled", format!("patients with a missing outcome were left out ({} in training) and patients with a missing therapy ({}); missing predictor values were imputed as listed in the predictor table (single imputation with training values); {}", c.training_n_missing_target, c.training_n_missing_therapy, missing_text(c))),
        item("12a-d", "Analytical methods", "filled", format!("{algo} ({}), {arms_text}; strategy: {}; hyper-parameters as stored in the model; seed {}. Internal validation: {cv_text}.", c.hyperparameters_text, c.strategy_text, c.seed)),
        item("12e-g", "Performance measures", "filled", "discrimination: AUC with a stratified-bootstrap percentile 95% CI and a DeLong CI; accuracy: Brier score, scaled Brier score, log-loss; calibration: calibration-in-the-large and calibration slope from a logistic recalibration on logit(p), observed/expected ratio, binned calibration curve; classification: sensitivity, specificity, PPV and NPV at the training prevalence, Youden-optimal threshold; clinical utility: decision-curve net benefit (Vickers & Elkin 2006) at thresholds 0.05–0.95".into()),
        item("13", "Class imbalance", "filled", "no resampling or reweighting; probabilities are those of the fitted model".into()),
        item("14", "Fairness", "to_fill", blank("approaches to assess and address fairness across groups (e.g. sex, ancestry)")),
        item("15", "Model output", "filled", "P(responder) under each therapy arm; patients can be ranked by probability and by their best arm (`responder score`)".into()),
        item("16", "Training versus evaluation", "partial", format!("{eval_text}. {}", blank("differences between the development and evaluation data in setting, eligibility, outcome and predictors"))),
        item("17", "Ethical approval", "to_fill", blank("ethics committee and consent")),
        item("18a-f", "Open science", "to_fill", blank("funding, conflicts of interest, protocol, registration, data and code availability")),
        item("19", "Patient and public involvement", "to_fill", blank("patient and public involvement")),
        item("20a-c", "Participants", "partial", format!("training: {} patients after the ID join, {} used, {} responders ({}); per arm in the training table. {}", c.training_n_joined, c.training_n, c.training_responders, pct(c.training_responders, c.training_n), blank("flow of participants and their characteristics, by data source"))),
        item("21", "Model development", "filled", "see the training and internal-validation tables".into()),
        item("22", "Model specification", "filled", "the full model (pipeline and parameters of each arm) is the model file, whose SHA-256 is given above; `responder explain` lists coefficients and odds ratios".into()),
        item("23a-b", "Model performance", eval_status, if c.evaluation.is_some() { "see the evaluation tables (with 95% CIs) and plots".into() } else { format!("internal validation only (cross-validated AUC); {}", blank("evaluation in held-out or external data: run `responder report --data FILE --target COL`")) }),
        item("24", "Model updating", "to_fill", blank("any model updating, and its results")),
        item("25", "Interpretation", "to_fill", blank("overall interpretation of the main results, including fairness")),
        item("26", "Limitations", "to_fill", blank("limitations: non-representative sample, sample size, overfitting, missing data")),
        item("27a-c", "Usability", "to_fill", blank("how poor quality or unavailable inputs are handled in use, user interaction, and next steps")),
    ]
}

fn group_rows(groups: &[&GroupEvaluation]) -> String {
    let mut s = String::from("| arm | n | responders | AUC [95% CI bootstrap] | DeLong 95% CI | Brier | scaled Brier | log-loss | CITL [95% CI] | slope [95% CI] | O/E | ICI / E-max (loess) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for g in groups {
        let auc = g.auc.as_ref();
        let ci = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
            (Some(l), Some(h)) => format!(" [{l:.3}, {h:.3}]"),
            _ => String::new(),
        };
        let est = |e: Option<crate::eval::calibration::Estimate>| match e {
            Some(e) => format!("{:.3} [{:.3}, {:.3}]", e.estimate, e.ci_low, e.ci_high),
            None => "NA".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {}{} | {} | {:.4} | {} | {:.4} | {} | {} | {} | {} |\n",
            g.arm,
            g.n,
            g.responders,
            f3(auc.map(|a| a.estimate)),
            ci(auc.and_then(|a| a.ci_low), auc.and_then(|a| a.ci_high)),
            ci(
                auc.and_then(|a| a.delong_ci_low),
                auc.and_then(|a| a.delong_ci_high)
            )
            .trim(),
            g.brier,
            f3(g.brier_scaled),
            g.log_loss,
            est(g.calibration.in_the_large),
            est(g.calibration.slope),
            f3(g.observed_expected),
            g.calibration_smooth
                .as_ref()
                .map_or("NA".into(), |c| format!("{:.3} / {:.3}", c.ici, c.emax)),
        ));
    }
    s
}

/// The card as Markdown.
pub(crate) fn render_markdown(c: &ModelCard) -> String {
    let mut s = String::new();
    md_model(c, &mut s);
    md_training(c, &mut s);
    md_predictors(c, &mut s);
    if let Some(e) = &c.evaluation {
        md_evaluation(c, e, &mut s);
    }
    if let Some(e) = &c.effects {
        s.push_str(&render_effects_md(e, &c.plots));
    }
    if !c.plots.is_empty() {
        s.push_str("## Plots\n\n");
        for p in &c.plots {
            s.push_str(&format!("![{p}]({p})\n\n"));
        }
    }
    s.push_str("## TRIPOD+AI items\n\n| item | topic | status | content |\n|---|---|---|---|\n");
    for i in &c.items {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            i.item,
            i.topic,
            i.status.replace('_', " "),
            i.text.replace('|', "\\|").replace('\n', " ")
        ));
    }
    s
}

/// The model: file, algorithm, outcome, arms, seed, patient rows.
fn md_model(c: &ModelCard, s: &mut String) {
    s.push_str(&format!("# Model card: {}\n\n", c.model_file));
    s.push_str("Written by `responder report` following TRIPOD+AI (Collins et al., BMJ 2024). Items marked **[TO FILL: …]** cannot be known by a tool and must be completed by the authors.\n\n");
    s.push_str("## Model\n\n");
    s.push_str(&format!(
        "- file: `{}` (SHA-256 `{}`)\n",
        c.model_file, c.model_sha256
    ));
    s.push_str(&format!("- written by responder {}\n", c.tool_version));
    s.push_str(&format!(
        "- algorithm: {} ({})\n",
        c.algorithm, c.hyperparameters_text
    ));
    s.push_str(&format!("- strategy: {}\n", c.strategy_text));
    s.push_str(&format!("- outcome: responder if {}\n", c.outcome));
    s.push_str(&format!(
        "- arms: {}\n",
        match &c.therapy_column {
            Some(t) if c.one_model_for_all_arms => format!("one model for every value of `{t}`"),
            Some(t) => format!("one model per value of `{t}`"),
            None => "one model for all patients".into(),
        }
    ));
    s.push_str(&format!("- seed: {}\n", c.seed));
    s.push_str(if c.holds_patient_rows {
        "- the model file KEEPS training patients' rows (needed by this algorithm): treat it as patient data\n\n"
    } else {
        "- the model file holds aggregate parameters only, no patient rows\n\n"
    });
}

/// The training files and the per-arm internal validation.
fn md_training(c: &ModelCard, s: &mut String) {
    s.push_str("## Training data\n\n");
    for f in &c.training_files {
        s.push_str(&format!(
            "- {}: `{}`, SHA-256 `{}`\n",
            f.role, f.name, f.sha256
        ));
    }
    s.push_str(&format!(
        "- {} patients after the ID join; {} left out for a missing outcome, {} for a missing therapy; {} used, {} responders ({})\n\n",
        c.training_n_joined, c.training_n_missing_target, c.training_n_missing_therapy, c.training_n, c.training_responders, pct(c.training_responders, c.training_n)
    ));
    s.push_str("## Training and internal validation per arm\n\n| arm | n | responders | CV folds | CV AUC mean ± SD | pooled out-of-fold AUC [95% CI DeLong] | fold AUCs |\n|---|---|---|---|---|---|---|\n");
    for a in &c.arms {
        s.push_str(&format!(
            "| {} | {} | {} ({}) | {} | {} | {} | {} |\n",
            a.arm,
            a.n,
            a.responders,
            pct(a.responders, a.n),
            a.cv_folds.map_or("none".into(), |k| k.to_string()),
            match (a.cv_auc_mean, a.cv_auc_sd) {
                (Some(m), Some(sd)) => format!("{m:.3} ± {sd:.3}"),
                _ => "NA".into(),
            },
            match a.cv_auc_pooled_ci {
                Some([lo, hi]) => format!("{} [{lo:.3}, {hi:.3}]", f3(a.cv_auc_pooled)),
                None => f3(a.cv_auc_pooled),
            },
            a.cv_fold_auc.as_ref().map_or("NA".into(), |v| v
                .iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join(", ")),
        ));
    }
    s.push_str("\nThe interval is DeLong's, on the out-of-fold predictions of all folds pooled (it does not include the variation between refits, so it is if anything too narrow).\n\n");
    if c.algorithm == "auto" {
        s.push_str("The cross-validation above is **nested**: within each outer fold, `auto` chose its algorithm and hyper-parameters by an inner cross-validation on that fold's training rows only, so the outer AUCs are not inflated by the choice.\n\n");
    }
    for a in &c.arms {
        if let Some(why) = &a.weak {
            s.push_str(&format!(
                "**Weak arm:** {}: {why}. `score` withholds the recommendation (best therapy `none`) from patients whose best or runner-up therapy is this arm, unless `--allow-weak-arms`.\n\n",
                a.arm
            ));
        }
    }
    for a in c.arms.iter().filter(|a| a.not_converged) {
        s.push_str(&format!(
            "**Caution:** the fit of arm {} stopped at its iteration limit before converging (`max_iter`); its coefficients may not be the optimum.\n\n",
            a.arm
        ));
    }
    md_sample_size(c, s);
    for l in &c.leakage {
        s.push_str(&format!(
            "**Possible leakage:** `{}`: {}{}. A value measured after treatment started is unknown when a therapy is chosen.\n\n",
            l.feature,
            l.reason,
            l.auc.map_or(String::new(), |a| format!(" (AUC alone {a:.3})"))
        ));
    }
    let many: Vec<String> = c
        .missing
        .iter()
        .filter(|m| m.share() > crate::training::audit::MISSING_WARN)
        .map(|m| format!("`{}` ({:.1}%)", m.feature, 100.0 * m.share()))
        .collect();
    if !many.is_empty() {
        s.push_str(&format!(
            "**Much missing data:** more than 20% missing in {}; these were imputed with training values.\n\n",
            many.join(", ")
        ));
    }
}

/// Riley et al.'s minimum sample size per arm, as a table.
fn md_sample_size(c: &ModelCard, s: &mut String) {
    if c.arms.iter().all(|a| a.sample_size.is_none()) {
        return;
    }
    s.push_str("### Sample size (Riley et al. 2020)\n\nMinimum sample size for developing a binary-outcome model (`pmsampsize` criteria); the anticipated Cox-Snell R² comes from the cross-validated C-statistic (Riley et al. 2021's approximation).\n\n| arm | parameters | prevalence | C | R²cs | shrinkage ≥ 0.9 | optimism ≤ 0.05 | risk ± 0.05 | required | available | met |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for a in &c.arms {
        if let Some(z) = &a.sample_size {
            s.push_str(&format!(
                "| {} | {} | {:.3} | {:.3} | {:.4} | {} | {} | {} | {} | {} | {} |\n",
                a.arm,
                z.parameters,
                z.prevalence,
                z.c_statistic,
                z.r2_cs,
                z.n_criterion_1,
                z.n_criterion_2,
                z.n_criterion_3,
                z.n_required,
                z.n_available,
                if z.met() { "yes" } else { "**no**" }
            ));
        }
    }
    s.push('\n');
}

/// Every predictor with its kind, missing-value handling and levels.
fn md_predictors(c: &ModelCard, s: &mut String) {
    s.push_str(
        "## Predictors\n\n| predictor | kind | missing values | levels |\n|---|---|---|---|\n",
    );
    for p in &c.predictors {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            p.name,
            p.kind,
            p.missing,
            match (&p.levels, p.n_levels) {
                (Some(l), _) => l.join(", "),
                (None, Some(n)) => format!("{n} levels (not listed: more than {CARD_LEVELS})"),
                (None, None) => String::new(),
            }
        ));
    }
    s.push('\n');
}

/// The evaluation: files, discrimination and calibration, classification,
/// decision curve and cautions.
fn md_evaluation(c: &ModelCard, e: &Evaluation, s: &mut String) {
    s.push_str("## Evaluation\n\n");
    for f in c.evaluation_files.as_deref().unwrap_or_default() {
        s.push_str(&format!(
            "- {}: `{}`, SHA-256 `{}`\n",
            f.role, f.name, f.sha256
        ));
    }
    s.push_str(&format!(
        "- {} patients; left out: {} missing outcome, {} missing therapy, {} therapy without an arm\n\n",
        e.n_rows, e.n_missing_target, e.n_missing_therapy, e.n_unknown_therapy
    ));
    match (&e.apparent_performance, e.overlap) {
        (Some(m), _) => s.push_str(&format!(
            "**{}: these are apparent, optimistic results, not a validation.**\n\n",
            capitalise(m)
        )),
        (None, Some(o)) => s.push_str(&format!(
            "None of the {} evaluated patients was in training (checked by salted ID hashes).\n\n",
            o.evaluated
        )),
        (None, None) => {}
    }
    let groups: Vec<&GroupEvaluation> = e.arms.iter().chain(&e.overall).collect();
    s.push_str(&group_rows(&groups));
    md_classification(&groups, s);
    md_decision_curve(&groups, s);
    let warnings: Vec<String> = e
        .warnings
        .iter()
        .cloned()
        .chain(
            groups
                .iter()
                .flat_map(|g| g.warnings.iter().map(move |w| format!("{}: {w}", g.arm))),
        )
        .collect();
    if !warnings.is_empty() {
        s.push_str("\n### Cautions\n\n");
        for w in warnings {
            s.push_str(&format!("- {w}\n"));
        }
    }
    s.push('\n');
}

/// Classification at the threshold, per group.
fn md_classification(groups: &[&GroupEvaluation], s: &mut String) {
    s.push_str("\n### Classification at the threshold\n\n| arm | threshold | source | sensitivity | specificity | PPV | NPV | Youden threshold |\n|---|---|---|---|---|---|---|---|\n");
    for g in groups {
        let t = &g.threshold.confusion;
        s.push_str(&format!(
            "| {} | {:.3} | {} | {} | {} | {} | {} | {} |\n",
            g.arm,
            t.threshold,
            g.threshold.source,
            f3(t.sensitivity),
            f3(t.specificity),
            f3(t.ppv),
            f3(t.npv),
            f3(g.youden.map(|y| y.threshold))
        ));
    }
}

/// The decision curve, per group.
fn md_decision_curve(groups: &[&GroupEvaluation], s: &mut String) {
    s.push_str(
        "\n### Decision curve (net benefit: model / treat all; treat none = 0)\n\n| threshold |",
    );
    for g in groups {
        s.push_str(&format!(" {} | {} all |", g.arm, g.arm));
    }
    s.push_str("\n|---|");
    for _ in groups {
        s.push_str("---|---|");
    }
    s.push('\n');
    let n_t = groups.first().map_or(0, |g| g.decision_curve.len());
    for t in 0..n_t {
        s.push_str(&format!("| {:.2} |", groups[0].decision_curve[t].threshold));
        for g in groups {
            let d = &g.decision_curve[t];
            s.push_str(&format!(" {:.4} | {:.4} |", d.model, d.treat_all));
        }
        s.push('\n');
    }
}
