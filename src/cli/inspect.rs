//! `responder inspect`: a summary of a model bundle.

use std::path::PathBuf;

use serde::Serialize;

use crate::bundle::Bundle;
use crate::cli::Ui;
use crate::error::Result;
use crate::features::Kind;
use crate::output::Sink;

/// Output formats of `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InspectFormat {
    /// A readable summary.
    Text,
    /// The summary as JSON.
    Json,
}

/// Flags of `inspect`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  responder inspect models/example.json --format json")]
pub(crate) struct Args {
    /// The model bundle. Example: models/example.json
    #[arg(value_name = "MODEL.json")]
    pub(crate) model: PathBuf,

    /// Output format. Example: --format json
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: InspectFormat,
}

/// One arm in the summary.
#[derive(Debug, Serialize)]
pub(crate) struct ArmSummary {
    /// Therapy name (`all` without arms).
    pub(crate) therapy: String,
    /// The arm's algorithm.
    pub(crate) algorithm: String,
    /// Its hyper-parameters.
    pub(crate) params: String,
    /// Training patients.
    pub(crate) n: usize,
    /// Responders among them.
    pub(crate) responders: usize,
    /// Mean CV AUC.
    pub(crate) cv_auc_mean: Option<f64>,
    /// SD of the fold AUCs.
    pub(crate) cv_auc_sd: Option<f64>,
    /// Folds.
    pub(crate) cv_folds: Option<usize>,
    /// Pooled out-of-fold AUC and its DeLong 95 % interval.
    pub(crate) cv_auc_pooled: Option<f64>,
    /// The interval `[low, high]`.
    pub(crate) cv_auc_pooled_ci: Option<[f64; 2]>,
    /// Why the arm cannot support a recommendation (`null`: it can, or
    /// it was not cross-validated).
    pub(crate) weak: Option<String>,
    /// What a self-tuning model chose (a lasso: `lambda`, `relax` or
    /// `adaptive`, kept inputs); absent for the other algorithms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fitted: Option<String>,
}

/// The summary printed by `inspect` (stable JSON keys).
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// The bundle file.
    pub(crate) file: String,
    /// Format name and version.
    pub(crate) format: String,
    /// Format version.
    pub(crate) format_version: u32,
    /// Responder version that wrote it.
    pub(crate) tool_version: String,
    /// Algorithm name.
    pub(crate) algorithm: String,
    /// Hyper-parameters in words.
    pub(crate) params: String,
    /// The outcome rule.
    pub(crate) target: String,
    /// ID column.
    pub(crate) id_column: String,
    /// Therapy column.
    pub(crate) therapy_column: Option<String>,
    /// Arms.
    pub(crate) arms: Vec<ArmSummary>,
    /// Feature counts.
    pub(crate) n_features: usize,
    /// Numeric features.
    pub(crate) n_numeric: usize,
    /// Categorical features.
    pub(crate) n_categorical: usize,
    /// Dosage features.
    pub(crate) n_dosage: usize,
    /// Feature names.
    pub(crate) features: Vec<String>,
    /// Input files and hashes.
    pub(crate) files: Vec<crate::data::FileInfo>,
    /// Seed.
    pub(crate) seed: u64,
    /// Whether the bundle holds patient rows.
    pub(crate) holds_patient_rows: bool,
    /// `t-learner`, `s-learner`, `dr-learner` or `x-learner`.
    pub(crate) strategy: String,
    /// The DR- or X-learner's effect models in words (absent for other strategies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) effect: Option<String>,
    /// Bootstrap replicates stored for `score --intervals`.
    pub(crate) replicates: usize,
    /// Whether `replicates` counts a causal forest's little bags (not
    /// bootstrap replicates).
    pub(crate) replicates_are_little_bags: bool,
    /// What the replicates resampled, when a cluster bootstrap of groups
    /// (`groups of COLUMN (N)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resampled: Option<String>,
    /// `auto-effect`'s candidates and losses in words (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) effect_selection: Option<String>,
    /// Training patients whose cross-fitted predictions (ID + probabilities) are stored.
    pub(crate) cross_fitted_patients: usize,
    /// Every kind of patient-level content the bundle holds, in words
    /// (empty: aggregate parameters only).
    pub(crate) patient_content: Vec<String>,
    /// Genotype handling in words (alleles, polygenic score, components);
    /// absent without genotype information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) genotypes: Option<String>,
}

fn describe_genotypes(b: &Bundle) -> Option<String> {
    let g = b.genotypes.as_ref()?;
    let mut parts = vec![format!(
        "alleles of {} SNPs from {}",
        g.alleles.len(),
        g.file
    )];
    for p in &g.prs {
        parts.push(format!(
            "{} from {} SNPs of {} ({})",
            p.name,
            p.weights.len(),
            p.file,
            if p.mean_imputation {
                "missing = mean dosage"
            } else {
                "missing = 0"
            }
        ));
    }
    if let Some(p) = &g.pca {
        parts.push(format!(
            "{} PCs of {} SNPs ({:.1}% of variance), SNP columns {}",
            p.components.len(),
            p.snps.len(),
            100.0 * p.explained_variance_ratio.iter().sum::<f64>(),
            if g.genotypes_as == crate::features::GenotypesAs::Pcs {
                "left out"
            } else {
                "kept"
            }
        ));
    }
    if let Some(p) = &g.projection {
        parts.push(format!(
            "{} ancestry PCs projected from {} SNPs with {} and {}, SNP columns {}",
            p.components,
            p.snps.len(),
            p.file,
            p.freq_file,
            if g.genotypes_as == crate::features::GenotypesAs::Pcs {
                "left out"
            } else {
                "kept"
            }
        ));
    }
    Some(parts.join("; "))
}

/// Every kind of patient-level content in `b`.
fn patient_content(b: &Bundle) -> Vec<String> {
    let mut out = Vec::new();
    let rows: Vec<String> = b
        .arms
        .iter()
        .filter(|a| a.model.holds_training_rows())
        .map(|a| format!("`{}` ({})", a.label(), a.model.name()))
        .collect();
    if !rows.is_empty() {
        out.push(format!(
            "training rows (standardised inputs) in the models of arm{} {}",
            if rows.len() == 1 { "" } else { "s" },
            rows.join(", ")
        ));
    }
    if let Some(cf) = &b.cross_fitted {
        out.push(format!(
            "the IDs of {} training patients with their out-of-fold probabilities (cross-fitted predictions)",
            cf.ids.len()
        ));
    }
    let categorical: Vec<(&str, usize)> = b.arms[0]
        .pipeline
        .features
        .iter()
        .filter_map(|f| match f {
            crate::features::FittedFeature::Categorical { name, levels, .. } => {
                Some((name.as_str(), levels.len()))
            }
            _ => None,
        })
        .collect();
    if let Some(&(name, n)) = categorical.iter().max_by_key(|(_, n)| *n) {
        out.push(format!(
            "the category levels of {} column{} (values copied from the training data; the most: `{name}`, {n} levels)",
            categorical.len(),
            if categorical.len() == 1 { "" } else { "s" }
        ));
    }
    out
}

/// Builds the summary of a bundle.
pub(crate) fn summarise(file: &str, b: &Bundle) -> Summary {
    let count = |k: Kind| b.features.iter().filter(|f| f.kind == k).count();
    Summary {
        file: file.to_string(),
        format: b.format.clone(),
        format_version: b.format_version,
        tool_version: b.tool_version.clone(),
        algorithm: b.algorithm.clone(),
        params: if b.algorithm == "auto" {
            "chosen per arm by inner cross-validation".into()
        } else {
            b.arms[0].algorithm.describe()
        },
        target: b.target.description.clone(),
        id_column: b.id_column.clone(),
        therapy_column: b.therapy_column.clone(),
        arms: b
            .arms
            .iter()
            .map(|a| ArmSummary {
                therapy: a.therapy.clone().unwrap_or_else(|| "all".into()),
                algorithm: a.algorithm.name().to_string(),
                params: a.algorithm.describe(),
                n: a.n,
                responders: a.responders,
                cv_auc_mean: a.cv.as_ref().map(|c| c.auc_mean),
                cv_auc_sd: a.cv.as_ref().map(|c| c.auc_sd),
                cv_folds: a.cv.as_ref().map(|c| c.folds),
                cv_auc_pooled: a.cv.as_ref().map(|c| c.auc_pooled),
                cv_auc_pooled_ci: a.cv.as_ref().and_then(|c| c.auc_pooled_ci),
                weak: a.weakness(),
                fitted: fitted_choice(&a.model),
            })
            .collect(),
        n_features: b.features.len(),
        n_numeric: count(Kind::Numeric),
        n_categorical: count(Kind::Categorical),
        n_dosage: count(Kind::Dosage),
        features: b.features.iter().map(|f| f.name.clone()).collect(),
        files: b.training.files.clone(),
        seed: b.training.seed,
        holds_patient_rows: b.training.holds_patient_rows
            || b.arms.iter().any(|a| a.model.holds_training_rows()),
        strategy: b.strategy.as_str().to_string(),
        effect: describe_effect(b),
        replicates: b.replicate_count(),
        replicates_are_little_bags: b
            .effect
            .as_ref()
            .is_some_and(|e| !e.forests.is_empty() && !e.forest_offset()),
        resampled: b.training.cluster_bootstrap.as_ref().map(|c| {
            format!(
                "the {} groups of `{}` (cluster bootstrap)",
                c.groups, c.column
            )
        }),
        effect_selection: b.effect_selection.as_ref().map(|s| {
            format!(
                "auto-effect by {}: {}{}",
                s.loss,
                crate::cli::train::describe_candidates(s),
                match s.clusters {
                    Some(g) => format!(" (± clustered over {g} groups)"),
                    None => String::new(),
                }
            )
        }),
        cross_fitted_patients: b.cross_fitted.as_ref().map_or(0, |c| c.ids.len()),
        patient_content: patient_content(b),
        genotypes: describe_genotypes(b),
    }
}

fn text(s: &Summary) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<18}{v}\n"));
    line("model", s.file.clone());
    line(
        "format",
        format!(
            "{} v{} (responder {})",
            s.format, s.format_version, s.tool_version
        ),
    );
    line("algorithm", format!("{} ({})", s.algorithm, s.params));
    line("target", format!("responder if {}", s.target));
    line("id column", s.id_column.clone());
    line(
        "therapy column",
        s.therapy_column
            .clone()
            .unwrap_or_else(|| "(none: one model)".into()),
    );
    line(
        "features",
        format!(
            "{} ({} numeric, {} categorical, {} dosage)",
            s.n_features, s.n_numeric, s.n_categorical, s.n_dosage
        ),
    );
    for f in &s.files {
        line(
            &format!("{} file", f.role),
            format!("{} sha256:{}", f.name, f.sha256),
        );
    }
    if let Some(g) = &s.genotypes {
        line("genotypes", g.clone());
    }
    line("seed", s.seed.to_string());
    line(
        "patient rows",
        if s.holds_patient_rows {
            "the bundle KEEPS training rows (standardised inputs): treat it as patient data".into()
        } else {
            "none stored".into()
        },
    );
    line(
        "patient-level",
        if s.patient_content.is_empty() {
            "nothing: aggregate parameters only".into()
        } else {
            s.patient_content.join("; ")
        },
    );
    line("strategy", s.strategy.clone());
    if let Some(e) = &s.effect {
        line("effects", e.clone());
    }
    if let Some(e) = &s.effect_selection {
        line("chosen by", e.clone());
    }
    if s.replicates > 0 {
        let what = if s.strategy == "causal-forest" && s.replicates_are_little_bags {
            "little bags of 2 trees"
        } else {
            "bootstrap replicates"
        };
        let unit = match &s.resampled {
            Some(r) => format!(", resampling {r}"),
            None => String::new(),
        };
        line(
            "replicates",
            format!("{} {what} (score --intervals){unit}", s.replicates),
        );
    }
    line(
        "cross-fitted",
        if s.cross_fitted_patients > 0 {
            format!(
                "out-of-fold predictions of {} training patients (IDs and probabilities; train with --no-cross-fitted to leave them out)",
                s.cross_fitted_patients
            )
        } else {
            "none stored".into()
        },
    );
    out.push_str("\narm               n  responders  CV AUC\n");
    for a in &s.arms {
        let cv = match (a.cv_auc_mean, a.cv_auc_sd, a.cv_folds) {
            (Some(m), Some(sd), Some(k)) => match a.cv_auc_pooled_ci {
                Some([lo, hi]) => format!(
                    "{m:.3} ± {sd:.3} ({k} folds; pooled {:.3}, 95% CI {lo:.3}–{hi:.3})",
                    a.cv_auc_pooled.unwrap_or(f64::NAN)
                ),
                None => format!("{m:.3} ± {sd:.3} ({k} folds)"),
            },
            _ => "not cross-validated".into(),
        };
        let cv = if s.algorithm == "auto" {
            format!("{cv}  nested; chose {} ({})", a.algorithm, a.params)
        } else {
            cv
        };
        out.push_str(&format!(
            "{:<12}{:>6}  {:>6} ({:>4.1}%)  {cv}\n",
            a.therapy,
            a.n,
            a.responders,
            100.0 * a.responders as f64 / a.n.max(1) as f64
        ));
    }
    out.push_str(&weak_lines(s));
    for a in &s.arms {
        if let Some(f) = &a.fitted {
            out.push_str(&format!("fitted {}: {f}\n", a.therapy));
        }
    }
    out
}

/// "lasso λ 0.0334 (relax 1): 19 of 200 penalised inputs kept", or
/// "(adaptive 0.0003)" for an adaptive-ridge refit.
fn fitted_choice(m: &crate::models::FittedModel) -> Option<String> {
    match m {
        crate::models::FittedModel::Lasso(l) => Some(format!(
            "lasso λ {:.4} ({}): {} of {} penalised inputs kept",
            l.lambda,
            l.adaptive
                .map_or(format!("relax {}", l.relax), |mu| format!("adaptive {mu}")),
            l.selected,
            l.penalized
        )),
        _ => None,
    }
}

/// One line per weak arm.
fn weak_lines(s: &Summary) -> String {
    s.arms
        .iter()
        .filter_map(|a| {
            a.weak.as_ref().map(|why| {
                format!(
                    "weak arm {}: {why}; score withholds recommendations that rest on it\n",
                    a.therapy
                )
            })
        })
        .collect()
}

/// "against `B`: `A` lasso α 0.2, 3 of 12 inputs".
fn describe_effect(b: &Bundle) -> Option<String> {
    let e = b.effect.as_ref()?;
    let arms = b.arm_names();
    // The outcome models whose effect the final stage corrects.
    let outcome = match b.arms.first().map(|a| a.design) {
        Some(crate::bundle::Design::SLearner { .. }) => "S-learner",
        _ => "T-learner",
    };
    let forests = e.forests.iter().map(|f| {
        format!(
            "`{}` causal forest ({} trees, min node{})",
            arms[f.arm],
            f.forest.trees.len(),
            match f.t_learner_offset {
                true => format!(
                    " {}, correcting the {outcome}'s effect",
                    f.forest.params.min_node
                ),
                false => format!(" {}", f.forest.params.min_node),
            }
        )
    });
    let parts: Vec<String> = e
        .arms
        .iter()
        .map(|a| {
            let used = a.model.weights.iter().filter(|w| **w != 0.0).count();
            let alpha = match &a.x_learner {
                Some(x) if x.stages.is_some() && e.propensity.is_some() => format!(
                    "alpha {} on the arm's patients, {} on the control's, mixed per patient by the propensity g(x) (the arm's share of the pair: {:.3})",
                    a.alpha, x.control_alpha, x.g
                ),
                Some(x) => format!(
                    "alpha {} on the arm's patients, {} on the control's, mixed with g {:.3}",
                    a.alpha, x.control_alpha, x.g
                ),
                None => format!("alpha {}", a.alpha),
            };
            format!(
                "`{}` {outcome} effect + lasso correction ({alpha}; {used} of {} inputs)",
                arms[a.arm],
                a.model.weights.len()
            )
        })
        .chain(forests)
        .collect();
    Some(format!(
        "against `{}`: {}",
        arms[e.control],
        parts.join("; ")
    ))
}

/// Runs `inspect`.
pub(crate) fn run(args: Args, _ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let summary = summarise(&args.model.display().to_string(), &bundle);
    let out = match args.format {
        InspectFormat::Text => text(&summary),
        InspectFormat::Json => {
            let mut s = serde_json::to_string_pretty(&summary).unwrap_or_default();
            s.push('\n');
            s
        }
    };
    let mut sink = Sink::open(None)?;
    sink.write_text(&out)?;
    sink.finish()
}
