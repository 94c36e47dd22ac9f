//! The model bundle: one self-describing JSON document holding the feature
//! schema, one fitted pipeline and model per therapy arm, and the training
//! summary. It never holds patient rows or wall-clock times. This module is
//! the persisted format and its validation: every type stored in a bundle
//! is defined here; `training` fills them, the other layers read them.

use std::path::Path;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::{FileInfo, TargetRule};
use crate::error::{Error, Result};
use crate::features::{FeatureSchema, GenotypeModel, Pipeline};
use crate::models::{AlgorithmParams, FittedModel};
use crate::output::AtomicFile;
use crate::stats::sample_size::SampleSize;

mod effect;
mod validate;

pub(crate) use effect::{x_weight, ArmEffect, ArmForest, EffectModel, Linear, XStage, XStages};

/// The bundle's format name.
pub(crate) const FORMAT: &str = "responder-model";
/// The newest format version this build reads (2: boosting and SVM models
/// in responder's own representation; version 1 bundles are read and
/// converted; 3: a data-shared S-learner, whose `design.deviation_penalty`
/// an older responder would ignore).
pub(crate) const FORMAT_VERSION: u32 = 3;

/// The format version a bundle of `arms` is written with: 3 when an arm's
/// inputs depend on `deviation_penalty`, else 2 (which older responders read
/// correctly).
pub(crate) fn format_version_for(arms: &[Arm]) -> u32 {
    if arms.iter().any(|a| a.design.deviation_penalty() != 1.0) {
        3
    } else {
        2
    }
}

/// How the outcome was defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TargetInfo {
    /// The target column.
    pub(crate) column: String,
    /// The rule turning it into responder yes/no.
    pub(crate) rule: TargetRule,
    /// The rule in words.
    pub(crate) description: String,
}

/// How an arm's model inputs are built from the pipeline's outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "design", rename_all = "kebab-case")]
pub(crate) enum Design {
    /// T-learner: the arm has its own model; inputs are the pipeline outputs.
    #[default]
    PerArm,
    /// S-learner: one model for all arms; inputs are the pipeline outputs
    /// `x`, one indicator per arm, and `x / r` in the block of this arm
    /// (therapy × feature interactions), zeros in the other arms' blocks.
    SLearner {
        /// This arm's index.
        arm: usize,
        /// Number of arms.
        arms: usize,
        /// r, the weight of the penalty on this arm's interactions relative
        /// to the shared coefficients: the block holds `x / r`, so an L1
        /// penalty λ|c| on its coefficient c is λ·r·|Δ| on the arm's
        /// deviation Δ = c / r (the data-shared lasso, Gross & Tibshirani
        /// 2016). 1 (not stored) except for the lasso.
        #[serde(default = "unit_penalty", skip_serializing_if = "is_unit_penalty")]
        deviation_penalty: f64,
    },
}

fn unit_penalty() -> f64 {
    1.0
}

fn is_unit_penalty(r: &f64) -> bool {
    *r == 1.0
}

/// The S-learner's deviation penalties r_a (see [`Design::SLearner`]): for
/// the lasso, √(n_a / n) for an arm of n_a of the n patients, the data-shared
/// lasso's default weights (Gross & Tibshirani 2016, "Data shared lasso",
/// SIAM SDM, §2.2); 1 for every other algorithm (today's interactions).
pub(crate) fn deviation_penalties(sizes: &[usize], lasso: bool) -> Vec<f64> {
    let n: usize = sizes.iter().sum();
    sizes
        .iter()
        .map(|&k| match lasso && n > 0 && k > 0 {
            true => (k as f64 / n as f64).sqrt(),
            false => 1.0,
        })
        .collect()
}

impl Design {
    /// The design's name as the bundle spells it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Design::PerArm => "per-arm",
            Design::SLearner { .. } => "s-learner",
        }
    }

    /// The S-learner's r for this arm (see [`Design::SLearner`]); 1 for a
    /// per-arm model.
    pub(crate) fn deviation_penalty(&self) -> f64 {
        match *self {
            Design::PerArm => 1.0,
            Design::SLearner {
                deviation_penalty, ..
            } => deviation_penalty,
        }
    }

    /// Model inputs for `width` pipeline outputs.
    pub(crate) fn width(&self, width: usize) -> usize {
        match self {
            Design::PerArm => width,
            Design::SLearner { arms, .. } => width + arms + arms * width,
        }
    }

    /// Which model inputs are genotype dosages, from which pipeline
    /// outputs are (the S-learner's arm indicators are not).
    pub(crate) fn expand_dosage(&self, dosage: Vec<bool>) -> Vec<bool> {
        match *self {
            Design::PerArm => dosage,
            Design::SLearner { arms, .. } => {
                let mut out = dosage.clone();
                out.extend(std::iter::repeat_n(false, arms));
                for _ in 0..arms {
                    out.extend_from_slice(&dosage);
                }
                out
            }
        }
    }

    /// Builds the model inputs from pipeline outputs `x`.
    pub(crate) fn expand(&self, x: Array2<f64>) -> Array2<f64> {
        match *self {
            Design::PerArm => x,
            Design::SLearner {
                arm,
                arms,
                deviation_penalty,
            } => {
                let mut r = vec![1.0; arms];
                if let Some(v) = r.get_mut(arm) {
                    *v = deviation_penalty;
                }
                s_learner_inputs(x.view(), &vec![arm; x.nrows()], &r)
            }
        }
    }
}

/// S-learner inputs for rows whose therapies are `arm_of`, with `r[a]` the
/// deviation penalty of arm `a` (see [`Design::SLearner`]).
pub(crate) fn s_learner_inputs(x: ArrayView2<f64>, arm_of: &[usize], r: &[f64]) -> Array2<f64> {
    let arms = r.len();
    let (n, w) = x.dim();
    let mut out = Array2::<f64>::zeros((n, w + arms + arms * w));
    for i in 0..n {
        let a = arm_of[i];
        for j in 0..w {
            out[[i, j]] = x[[i, j]];
            out[[i, w + arms + a * w + j]] = x[[i, j]] / r[a];
        }
        out[[i, w + a]] = 1.0;
    }
    out
}

/// Column j of [`s_learner_inputs`]`(x, arm_of, r)`: the same values,
/// without building the matrix.
pub(crate) fn s_learner_column(
    x: ArrayView2<f64>,
    arm_of: &[usize],
    r: &[f64],
    j: usize,
) -> Vec<f64> {
    let (arms, w) = (r.len(), x.ncols());
    if j < w {
        return x.column(j).to_vec();
    }
    if j < w + arms {
        return arm_of
            .iter()
            .map(|&a| f64::from(u8::from(a == j - w)))
            .collect();
    }
    let (block, k) = ((j - w - arms) / w, (j - w - arms) % w);
    x.column(k)
        .iter()
        .zip(arm_of)
        .map(|(&v, &a)| if a == block { v / r[a] } else { 0.0 })
        .collect()
}

/// How therapy arms are modelled (the meta-learners' usual names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Strategy {
    /// One pipeline and model per arm.
    #[default]
    TLearner,
    /// One pipeline and model for all arms, with therapy indicators and
    /// therapy × feature interactions.
    SLearner,
    /// DR-learner (Kennedy 2023): per-arm outcome models as the T-learner,
    /// and a model of each arm's effect against a control fitted to
    /// cross-fitted doubly robust pseudo-outcomes (see [`EffectModel`]).
    DrLearner,
    /// X-learner (Künzel et al. 2019): per-arm outcome models and a model
    /// of each arm's effect from the imputed effects in the arm and in the
    /// control (see [`EffectModel`]).
    XLearner,
    /// Causal forest (Athey, Tibshirani & Wager 2019): per-arm outcome
    /// models, and one honest forest per arm against the control on the
    /// orthogonalised outcome (see [`EffectModel`]).
    CausalForest,
    /// `auto-effect` (training only): T-, S-, DR-, X-learner and causal forest
    /// compared by cross-validated DR loss; the bundle stores the choice as
    /// its strategy and the comparison in `effect_selection`.
    AutoEffect,
}

impl Strategy {
    /// Every strategy, in display order.
    pub(crate) const ALL: [Strategy; 6] = [
        Strategy::TLearner,
        Strategy::SLearner,
        Strategy::DrLearner,
        Strategy::XLearner,
        Strategy::CausalForest,
        Strategy::AutoEffect,
    ];

    /// Whether the strategy fits an effect stage (a final stage or forests)
    /// on outcome models: the DR-, X-learner and causal forest.
    pub(crate) fn has_effect_stage(self) -> bool {
        matches!(
            self,
            Strategy::DrLearner | Strategy::XLearner | Strategy::CausalForest
        )
    }

    /// The name used on the command line and in the bundle.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Strategy::TLearner => "t-learner",
            Strategy::SLearner => "s-learner",
            Strategy::DrLearner => "dr-learner",
            Strategy::XLearner => "x-learner",
            Strategy::CausalForest => "causal-forest",
            Strategy::AutoEffect => "auto-effect",
        }
    }
}

/// `auto-effect`'s comparison of effect strategies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EffectSelection {
    /// The loss: `cross-validated DR loss`.
    pub(crate) loss: String,
    /// Each candidate strategy with its loss, in the order tried.
    pub(crate) candidates: Vec<EffectCandidate>,
    /// With `--group-col`: the number of groups the standard errors are
    /// clustered over (absent: patients taken as independent, and in older
    /// bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) clusters: Option<usize>,
}

/// One candidate of `auto-effect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EffectCandidate {
    /// The strategy.
    pub(crate) strategy: Strategy,
    /// Its loss (lower is better).
    pub(crate) loss: f64,
    /// Standard error of its loss minus the T-learner's (paired over
    /// patients); absent for the T-learner and in older bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) se_vs_t: Option<f64>,
}

/// Cross-validation results for one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CvMetrics {
    /// Number of folds.
    pub(crate) folds: usize,
    /// AUC of each fold.
    pub(crate) fold_auc: Vec<f64>,
    /// Mean fold AUC.
    pub(crate) auc_mean: f64,
    /// Sample standard deviation of the fold AUCs.
    pub(crate) auc_sd: f64,
    /// AUC of all out-of-fold predictions pooled.
    pub(crate) auc_pooled: f64,
    /// DeLong 95 % interval of the pooled AUC (absent when a class has
    /// fewer than two patients, and in bundles written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auc_pooled_ci: Option<[f64; 2]>,
}

impl CvMetrics {
    /// Why an arm with `responders` of `n` patients and these
    /// cross-validation results cannot support a recommendation, if it
    /// cannot: fewer responders or non-responders than folds, or a pooled
    /// out-of-fold AUC whose 95 % interval reaches 0.5 (or lies below it).
    pub(crate) fn weakness(&self, responders: usize, n: usize) -> Option<String> {
        let smaller = responders.min(n.saturating_sub(responders));
        if smaller < self.folds {
            return Some(format!(
                "{responders} responders and {} non-responders: too few for its {} folds",
                n.saturating_sub(responders),
                self.folds
            ));
        }
        match self.auc_pooled_ci {
            Some([lo, hi]) if lo <= 0.5 => Some(format!(
                "cross-validated AUC {:.3} (95% CI {lo:.3}–{hi:.3}) {} 0.5: no better than chance",
                self.auc_pooled,
                if hi < 0.5 { "is below" } else { "includes" }
            )),
            _ => None,
        }
    }
}

/// One `auto` candidate's inner-CV result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CandidateScore {
    /// The candidate.
    pub(crate) algorithm: AlgorithmParams,
    /// Mean inner-fold AUC (NaN-free: a failed candidate is left out).
    pub(crate) inner_auc: f64,
}

/// How `--algorithm auto` chose one arm's algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tuning {
    /// Inner folds used for choosing.
    pub(crate) inner_folds: usize,
    /// Every candidate's inner AUC on all of the arm's rows.
    pub(crate) candidates: Vec<CandidateScore>,
    /// The candidate chosen in each outer fold of the nested CV.
    pub(crate) outer_choices: Vec<String>,
}

/// Out-of-fold ("cross-fitted") predictions for the training patients:
/// no patient's probability comes from a model that saw them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CrossFitted {
    /// Training patient IDs.
    pub(crate) ids: Vec<String>,
    /// Index of the arm each patient received.
    pub(crate) received: Vec<usize>,
    /// `p[a][i]`: patient `i`'s probability under arm `a`.
    pub(crate) p: Vec<Vec<f64>>,
}

/// Missing values of one feature among the training patients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FeatureMissing {
    /// The feature.
    pub(crate) feature: String,
    /// Training patients with the value missing.
    pub(crate) missing: usize,
    /// Training patients.
    pub(crate) n: usize,
}

impl FeatureMissing {
    /// The share missing.
    pub(crate) fn share(&self) -> f64 {
        self.missing as f64 / self.n.max(1) as f64
    }
}

/// A feature that may carry the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LeakSuspect {
    /// The feature.
    pub(crate) feature: String,
    /// Its AUC alone (numeric value, or a level's response rate), when
    /// it could be computed.
    pub(crate) auc: Option<f64>,
    /// Why it is suspected.
    pub(crate) reason: String,
}

/// One therapy arm's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Arm {
    /// The therapy (`None` for a bundle without arms).
    pub(crate) therapy: Option<String>,
    /// Training patients in this arm.
    pub(crate) n: usize,
    /// Responders among them.
    pub(crate) responders: usize,
    /// The pipeline fitted on this arm's patients.
    pub(crate) pipeline: Pipeline,
    /// The algorithm and hyper-parameters of this arm's model.
    pub(crate) algorithm: AlgorithmParams,
    /// How `auto` chose the algorithm (absent otherwise).
    #[serde(rename = "selection")]
    pub(crate) tuning: Option<Tuning>,
    /// How model inputs are built (T-learner unless stated).
    #[serde(default)]
    pub(crate) design: Design,
    /// The model fitted on this arm's patients.
    pub(crate) model: FittedModel,
    /// Cross-validation results (absent with `--cv 0`); with `auto`, the
    /// outer folds of nested cross-validation.
    pub(crate) cv: Option<CvMetrics>,
    /// Riley et al.'s minimum sample size for this arm's model, from its
    /// cross-validated C-statistic (absent without cross-validation, with
    /// a CV AUC not above 0.5, and in older bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sample_size: Option<SampleSize>,
    /// Bootstrap-of-the-learner replicates (`train --replicates B`): the
    /// arm's algorithm refitted on B resamples of the training patients
    /// through the arm's pipeline, for per-patient effect intervals
    /// (`score --intervals`). Empty without `--replicates`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) replicates: Vec<FittedModel>,
}

/// What went into training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TrainingSummary {
    /// Input files and their SHA-256.
    pub(crate) files: Vec<FileInfo>,
    /// Patients after the ID join.
    pub(crate) n_joined: usize,
    /// Rows left out for a missing target.
    pub(crate) n_missing_target: usize,
    /// Rows left out for a missing therapy.
    pub(crate) n_missing_therapy: usize,
    /// Patients used, over all arms.
    pub(crate) n: usize,
    /// Responders used, over all arms.
    pub(crate) responders: usize,
    /// The seed of every random choice.
    pub(crate) seed: u64,
    /// Cross-validation folds (0 = none).
    pub(crate) cv_folds: usize,
    /// Whether the bundle stores training rows (k-NN, Gaussian SVM).
    pub(crate) holds_patient_rows: bool,
    /// Features with missing values among the training patients, most
    /// missing first (absent in bundles written before it was recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) missing: Vec<FeatureMissing>,
    /// Features that may leak the outcome, found at training.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) leakage: Vec<LeakSuspect>,
    /// Salted hashes of the training patients' IDs, so an evaluation can
    /// count the patients it shares with training (absent in older bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_hashes: Option<IdHashes>,
    /// Grouped cross-validation (`--group-col`), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cv_groups: Option<CvGroups>,
    /// The groups the bootstrap replicates resampled (`train --replicates`
    /// with `--group-col`: a cluster bootstrap); absent when they resampled
    /// patients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cluster_bootstrap: Option<ClusterBootstrap>,
}

/// The groups a cluster bootstrap resampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClusterBootstrap {
    /// The group column.
    pub(crate) column: String,
    /// How many groups were resampled.
    pub(crate) groups: usize,
    /// Whether a causal forest's little bags drew whole groups too (bundles
    /// before it drew patients).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) little_bags: bool,
}

/// How cross-validation kept sites or trials together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CvGroups {
    /// The group column.
    pub(crate) column: String,
    /// The groups, sorted.
    pub(crate) groups: Vec<String>,
    /// `grouped K-fold` or `leave-one-group-out`.
    pub(crate) method: String,
}

/// Salted hashes of patient IDs: `SHA-256(salt ‖ ID)` cut to 64 bits,
/// sorted. Not reversible by a lookup table; whoever holds the bundle and
/// a candidate ID can still test whether it was in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IdHashes {
    /// The salt (hex), derived from the training files' SHA-256 and the seed.
    pub(crate) salt: String,
    /// One hash per training patient (16 hex digits), sorted.
    pub(crate) hashes: Vec<String>,
}

impl IdHashes {
    /// The hashes of `ids` with a salt drawn from `salt_source`.
    pub(crate) fn new<'a>(ids: impl Iterator<Item = &'a str>, salt_source: &[u8]) -> IdHashes {
        let mut h = Sha256::new();
        h.update(b"responder patient-id salt\0");
        h.update(salt_source);
        let salt = crate::data::input::hex(&h.finalize()[..16]);
        let mut hashes: Vec<String> = ids.map(|id| hash_id(&salt, id)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        IdHashes { salt, hashes }
    }

    /// Whether patient `id` was among the hashed ones.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.hashes.binary_search(&hash_id(&self.salt, id)).is_ok()
    }
}

fn hash_id(salt: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(id.as_bytes());
    crate::data::input::hex(&h.finalize()[..8])
}

/// A trained model as written by `train` and read by every other command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bundle {
    /// Always [`FORMAT`].
    pub(crate) format: String,
    /// Format version.
    pub(crate) format_version: u32,
    /// The responder version that wrote it.
    pub(crate) tool_version: String,
    /// The patient ID column.
    pub(crate) id_column: String,
    /// The outcome definition.
    pub(crate) target: TargetInfo,
    /// The therapy column, for per-arm bundles.
    pub(crate) therapy_column: Option<String>,
    /// The input columns scoring needs, by name and kind.
    pub(crate) features: Vec<FeatureSchema>,
    /// Genotype alleles, polygenic score and principal components (absent
    /// without genotypes, and in bundles written before they existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) genotypes: Option<GenotypeModel>,
    /// The algorithm requested (`auto` when chosen per arm by inner CV).
    pub(crate) algorithm: String,
    /// `t-learner` (a model per arm), `s-learner` (one model with therapy
    /// indicators and interactions, stored under every arm) or `dr-learner`.
    #[serde(default)]
    pub(crate) strategy: Strategy,
    /// One model per therapy arm (one in all for a bundle without arms).
    pub(crate) arms: Vec<Arm>,
    /// The DR-learner's effect models (absent for other strategies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) effect: Option<EffectModel>,
    /// With `--strategy auto-effect`: each candidate's cross-validated DR
    /// loss; `strategy` is the one chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) effect_selection: Option<EffectSelection>,
    /// Out-of-fold predictions of the training patients under every arm.
    #[serde(default)]
    pub(crate) cross_fitted: Option<CrossFitted>,
    /// The training summary.
    pub(crate) training: TrainingSummary,
    /// The file the bundle was read from (for messages; not stored).
    #[serde(skip)]
    pub(crate) file: String,
}

impl Arm {
    /// Display name (`all` for the single arm of a bundle without arms).
    pub(crate) fn label(&self) -> String {
        self.therapy.clone().unwrap_or_else(|| "all".into())
    }

    /// Why this arm is too weak to recommend on (see
    /// [`CvMetrics::weakness`]); `None` for a sound arm or one without
    /// cross-validation.
    pub(crate) fn weakness(&self) -> Option<String> {
        self.cv
            .as_ref()
            .and_then(|cv| cv.weakness(self.responders, self.n))
    }

    /// Which of the arm's model inputs are genotype dosages.
    pub(crate) fn dosage_inputs(&self) -> Vec<bool> {
        self.design.expand_dosage(self.pipeline.dosage_inputs())
    }

    /// The model inputs for `rows` of `frame`: pipeline, then design.
    pub(crate) fn model_inputs(
        &self,
        frame: &crate::features::Frame,
        rows: &[usize],
    ) -> Result<(Array2<f64>, crate::features::TransformNotes)> {
        let (x, notes) = self.pipeline.transform(frame, rows)?;
        Ok((self.design.expand(x), notes))
    }
}

impl Bundle {
    /// Every SNP the bundle may read from a genotype file: its feature
    /// names (also without a `.raw` `_ALLELE` suffix, as older bundles
    /// named SNP features) and the SNPs of its components. A PLINK `.bed`
    /// decodes only these.
    pub(crate) fn genotype_snps(&self) -> std::sync::Arc<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for f in &self.features {
            out.insert(f.name.clone());
            if let Some((snp, _)) = f.name.rsplit_once('_') {
                out.insert(snp.to_string());
            }
        }
        // (Polygenic scores are streamed over a `.bed`, VCF or BCF file:
        // their SNPs are not decoded into the table.)
        if let Some(g) = &self.genotypes {
            if let Some(p) = &g.pca {
                out.extend(p.snps.iter().cloned());
            }
            if let Some(p) = &g.projection {
                out.extend(p.snps.iter().cloned());
            }
        }
        std::sync::Arc::new(out)
    }

    /// Every SNP the bundle may read from a VCF or BCF: those of
    /// [`Bundle::genotype_snps`] and its polygenic scores' SNPs; `None`
    /// when that is none (read the file whole, as any genotype file).
    pub(crate) fn text_snps(&self) -> Option<std::sync::Arc<std::collections::HashSet<String>>> {
        let mut out = (*self.genotype_snps()).clone();
        if let Some(g) = &self.genotypes {
            for p in &g.prs {
                out.extend(p.weights.iter().map(|w| w.snp.clone()));
            }
        }
        (!out.is_empty()).then(|| std::sync::Arc::new(out))
    }

    /// Per arm: whether it is too weak to recommend on.
    pub(crate) fn weak_arms(&self) -> Vec<bool> {
        self.arms.iter().map(|a| a.weakness().is_some()).collect()
    }

    /// Bootstrap replicates stored for `score --intervals`: the arms' or,
    /// for a DR-learner, its final stage's.
    pub(crate) fn replicate_count(&self) -> usize {
        match &self.effect {
            Some(e) if !e.forest_offset() => e.replicates(),
            _ => self.arms.first().map_or(0, |a| a.replicates.len()),
        }
    }

    /// Arm names (`None` for the single arm of a bundle without arms).
    pub(crate) fn arm_names(&self) -> Vec<String> {
        self.arms.iter().map(Arm::label).collect()
    }

    /// The cross-fitted predictions, or an error naming the bundle file
    /// `model` when it has none.
    pub(crate) fn cross_fitted_or_error(&self, model: &str) -> Result<&CrossFitted> {
        self.cross_fitted.as_ref().ok_or_else(|| Error::Model {
            file: model.to_string(),
            message: "the bundle has no cross-fitted predictions (trained with --cv 0 or --no-cross-fitted)".into(),
        })
    }

    /// Flips and checks a scoring file's alleles against the training
    /// file's and adds the computed genotype features (`prs`, `pc1`, …).
    /// Returns notes for stderr. A bundle without genotype information
    /// leaves the dataset as it is.
    pub(crate) fn prepare_genotypes(&self, ds: &mut crate::data::Dataset) -> Result<Vec<String>> {
        match &self.genotypes {
            Some(g) => g.apply(ds),
            None => Ok(Vec::new()),
        }
    }

    /// Serialises to pretty JSON with a final newline.
    pub(crate) fn to_json(&self) -> Result<String> {
        let mut s = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Fit(format!("cannot serialise the bundle: {e}")))?;
        s.push('\n');
        Ok(s)
    }

    /// Writes the bundle into an already-created atomic file and commits it.
    pub(crate) fn write(&self, file: AtomicFile) -> Result<()> {
        file.write_and_commit(self.to_json()?.as_bytes())
    }

    /// Reads and checks a bundle file.
    pub(crate) fn load(path: &Path) -> Result<Bundle> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "cannot read model",
            path: path.to_path_buf(),
            source,
        })?;
        Bundle::from_slice(&name, &bytes)
    }

    /// Parses and checks bundle bytes; `name` is used in messages.
    pub(crate) fn from_slice(name: &str, bytes: &[u8]) -> Result<Bundle> {
        let bad = |message: String| Error::Model {
            file: name.to_string(),
            message,
        };
        // The identifying fields first (the rest is skipped, not stored),
        // then the bundle itself, without an intermediate JSON tree.
        #[derive(Deserialize)]
        struct Head {
            format: Option<serde_json::Value>,
            format_version: Option<serde_json::Value>,
            tool_version: Option<serde_json::Value>,
            strategy: Option<serde_json::Value>,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not a valid model bundle: the JSON is broken at line {}, column {} ({}); the file may be truncated or corrupt",
                e.line(),
                e.column(),
                e
            ))
        })?;
        if head.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(bad(format!(
                "not a responder model bundle (it has no `\"format\": \"{FORMAT}\"`)"
            )));
        }
        let version = head
            .format_version
            .as_ref()
            .and_then(|v| v.as_u64())
            .ok_or_else(|| bad("the bundle has no valid `format_version`".into()))?;
        if version == 0 {
            return Err(bad(
                "`format_version` is 0, which no responder writes (1 to 3 are read): the file was edited or is not a responder bundle".into(),
            ));
        }
        if let Some(s) = head.strategy.as_ref() {
            let known = Strategy::ALL.iter().any(|k| Some(k.as_str()) == s.as_str());
            if !known {
                return Err(bad(format!(
                    "`strategy` is {s}, which this responder does not know ({}): a newer responder may read it",
                    crate::error::quote_all(Strategy::ALL.map(|k| k.as_str()))
                )));
            }
        }
        if version > u64::from(FORMAT_VERSION) {
            let writer = head
                .tool_version
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or("a newer version");
            return Err(bad(format!(
                "the bundle has format version {version}, written by responder {writer}; this responder ({}) reads up to version {FORMAT_VERSION}: upgrade responder",
                env!("CARGO_PKG_VERSION")
            )));
        }
        // The path of a failing value (`arms[1].model`) names the key.
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let bundle: Bundle = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            bad(format!("corrupt model bundle: `{path}`: {inner}"))
        })?;
        bundle
            .validate()
            .map_err(|m| bad(format!("corrupt model bundle: {m}")))?;
        let mut bundle = bundle;
        bundle.file = name.to_string();
        Ok(bundle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data-shared lasso's weights are √(n_a / n) for the lasso and 1
    /// otherwise; training's pooled inputs divide each arm's block by its
    /// weight, and an arm's `Design::expand` (scoring) builds the same row.
    #[test]
    fn s_learner_blocks_are_divided_by_the_arm_weight() {
        let r = deviation_penalties(&[100, 300, 0], true);
        assert_eq!(r, vec![0.5, (0.75f64).sqrt(), 1.0]);
        assert_eq!(deviation_penalties(&[100, 300], false), vec![1.0, 1.0]);
        let x = ndarray::array![[2.0, -1.0], [4.0, 3.0]];
        let pooled = s_learner_inputs(x.view(), &[0, 1], &r[..2]);
        let row0 = vec![2.0, -1.0, 1.0, 0.0, 4.0, -2.0, 0.0, 0.0];
        assert_eq!(pooled.row(0).to_vec(), row0);
        let q = r[1];
        let row1 = vec![4.0, 3.0, 0.0, 1.0, 0.0, 0.0, 4.0 / q, 3.0 / q];
        assert_eq!(pooled.row(1).to_vec(), row1);
        for a in 0..2 {
            let design = Design::SLearner {
                arm: a,
                arms: 2,
                deviation_penalty: r[a],
            };
            let one = x.slice(ndarray::s![a..a + 1, ..]).to_owned();
            assert_eq!(design.expand(one).row(0), pooled.row(a));
        }
        // Column by column, the same values (three arms, one empty).
        let x = ndarray::Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as f64 - 9.5);
        let arm_of = [0, 1, 1, 0, 1, 0, 0];
        let pooled = s_learner_inputs(x.view(), &arm_of, &r);
        assert_eq!(pooled.ncols(), 3 + 3 + 9);
        for j in 0..pooled.ncols() {
            assert_eq!(
                s_learner_column(x.view(), &arm_of, &r, j),
                pooled.column(j).to_vec()
            );
        }
    }
}
