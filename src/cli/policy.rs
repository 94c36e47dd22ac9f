//! `responder policy`: a readable treatment rule — an exact depth-1/2
//! policy tree on the doubly robust scores — with its cross-fitted value
//! next to the best single arm's.

use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::cli::args::{count, out_is_json, split_list, OptionalInputArgs};
use crate::cli::Ui;
use crate::effects::estimate::{mean_se, Interval};
use crate::effects::policy_tree::{fit, Binned, Node};
use crate::error::{Error, Result};
use crate::eval::selection::{dr_scores, EffectOptions, PropensityChoice};
use crate::eval::LabelledData;
use crate::features::{FittedFeature, Pipeline};
use crate::output::Sink;

/// Folds of the cross-fitted value.
const POLICY_FOLDS: usize = 5;

/// Output formats of `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PolicyFormat {
    /// The rule as nested if/else, and its value.
    Text,
    /// Every number, as JSON.
    Json,
}

/// Flags of `policy`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder policy --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --depth 2
  responder policy --model m.json --data trial.csv --max-features prior_failures,crp,episode_months")]
pub(crate) struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub(crate) model: PathBuf,

    /// Patient files with the outcome and the therapy column.
    #[command(flatten)]
    pub(crate) input: OptionalInputArgs,

    /// The patient ID column (default: the one the model was trained with).
    #[arg(long, value_name = "COL")]
    pub(crate) id: Option<String>,

    /// Depth of the tree: 1 (one split) or 2 (at most three). Example: --depth 1
    #[arg(long, default_value_t = 2, value_parser = count(1, 2))]
    pub(crate) depth: usize,

    /// Search only these feature columns (comma-separated), e.g. clinical
    /// ones so the rule needs no genotyping. Example: --max-features prior_failures,crp
    #[arg(long, value_name = "COLS")]
    pub(crate) max_features: Option<String>,

    /// Propensities of the doubly robust scores: `randomised` (arm shares)
    /// or `estimate`. Example: --propensity estimate
    #[arg(long, value_enum, default_value = "randomised")]
    pub(crate) propensity: PropensityChoice,

    /// Seed of the folds. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Output format (default: text; json for an --out ending in .json).
    #[arg(long, value_enum)]
    pub(crate) format: Option<PolicyFormat>,

    /// Write to this file (atomically) instead of stdout. Example: --out rule.json
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// A tree node for JSON, with names.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Named {
    Leaf {
        arm: String,
    },
    Split {
        feature: String,
        threshold: f64,
        left: Box<Named>,
        right: Box<Named>,
    },
}

/// The value of the cross-fitted rule against the best single arm.
#[derive(Debug, Serialize)]
struct HeldOut {
    folds: usize,
    value: Interval,
    best_single: String,
    best_single_value: Interval,
    gain_vs_best_single: Interval,
}

/// What `policy --format json` prints.
#[derive(Debug, Serialize)]
struct PolicyOutput {
    depth: usize,
    n: usize,
    features_searched: usize,
    tree: Named,
    rule: String,
    features_used: Vec<String>,
    held_out: HeldOut,
    verdict: String,
    notes: Vec<String>,
}

/// Raw feature values `x[j][i]` for the rows, by model-input column
/// (indicators 0/1), and their names; restricted to `keep` columns.
fn raw_features(
    data: &LabelledData,
    rows: &[usize],
    keep: Option<&[String]>,
) -> Result<(Vec<Vec<f64>>, Vec<String>)> {
    let pipeline = Pipeline::fit(&data.frame, rows)?;
    let (z, _) = pipeline.transform(&data.frame, rows)?;
    let mut scale = Vec::new();
    let mut source = Vec::new();
    for f in &pipeline.features {
        match f {
            FittedFeature::Numeric { mean, sd, name, .. }
            | FittedFeature::Dosage { mean, sd, name, .. } => {
                scale.push((*mean, *sd));
                source.push(name.clone());
            }
            FittedFeature::Categorical { mean, sd, name, .. } => {
                scale.extend(mean.iter().zip(sd).map(|(m, s)| (*m, *s)));
                source.extend(std::iter::repeat_n(name.clone(), mean.len()));
            }
        }
    }
    if let Some(k) = keep {
        if let Some(bad) = k.iter().find(|c| !source.contains(c)) {
            return Err(Error::usage(format!(
                "--max-features names `{bad}`, which is not a feature column of the model"
            )));
        }
    }
    let names = pipeline.output_names();
    let n = rows.len();
    let mut x = Vec::new();
    let mut kept = Vec::new();
    for (j, ((m, s), src)) in scale.iter().zip(&source).enumerate() {
        if keep.is_some_and(|k| !k.contains(src)) {
            continue;
        }
        // Rows of `x` are positions 0..n (the order of `rows`).
        x.push((0..n).map(|i| (z[[i, j]] * s + m).round_to(9)).collect());
        kept.push(names[j].clone());
    }
    Ok((x, kept))
}

trait Round {
    fn round_to(self, digits: i32) -> f64;
}

impl Round for f64 {
    /// Removes the rounding noise of standardising and back.
    fn round_to(self, digits: i32) -> f64 {
        let p = 10f64.powi(digits);
        (self * p).round() / p
    }
}

fn name_tree(t: &Node, names: &[String], arms: &[String]) -> Named {
    match t {
        Node::Leaf { action } => Named::Leaf {
            arm: arms[*action].clone(),
        },
        Node::Split {
            feature,
            threshold,
            left,
            right,
        } => Named::Split {
            feature: names[*feature].clone(),
            threshold: *threshold,
            left: Box::new(name_tree(left, names, arms)),
            right: Box::new(name_tree(right, names, arms)),
        },
    }
}

/// The rule as nested if/else.
fn rule_text(t: &Node, names: &[String], arms: &[String], indent: usize, out: &mut String) {
    let pad = "    ".repeat(indent);
    match t {
        Node::Leaf { action } => out.push_str(&format!("{pad}{}\n", arms[*action])),
        Node::Split {
            feature,
            threshold,
            left,
            right,
        } => {
            let name = &names[*feature];
            let cond = if let (Some((col, level)), true) =
                (name.split_once('='), (0.0..1.0).contains(threshold))
            {
                format!("{col} is not {level}")
            } else {
                format!("{name} <= {}", fmt_num(*threshold))
            };
            out.push_str(&format!("{pad}if {cond}:\n"));
            rule_text(left, names, arms, indent + 1, out);
            out.push_str(&format!("{pad}else:\n"));
            rule_text(right, names, arms, indent + 1, out);
        }
    }
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Cross-fitted actions: each fold's patients get the rule fitted on the others.
fn cross_fitted_actions(
    gamma: &[Vec<f64>],
    binned: &Binned,
    n: usize,
    depth: usize,
    seed: u64,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x7001_7001));
    let mut fold = vec![0; n];
    for (r, &i) in order.iter().enumerate() {
        fold[i] = r % POLICY_FOLDS;
    }
    let mut act = vec![0; n];
    for f in 0..POLICY_FOLDS {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let (_, tree) = fit(gamma, binned, &train, depth);
        for i in (0..n).filter(|&i| fold[i] == f) {
            act[i] = tree.act(&|j| binned_value(binned, j, i));
        }
    }
    act
}

/// The value used for splitting: the bin (monotone in the raw value).
fn binned_value(binned: &Binned, j: usize, i: usize) -> f64 {
    binned.threshold_of(j, i)
}

/// One plain sentence on the held-out gain.
fn verdict(gain: &Interval, best: &str, n: usize) -> String {
    if gain.ci_low > 0.0 {
        format!(
            "the rule beats giving everyone {best}: held-out gain {}",
            gain.show(3)
        )
    } else if gain.ci_high < 0.0 {
        format!(
            "the rule is worse than giving everyone {best}: held-out gain {}",
            gain.show(3)
        )
    } else {
        format!(
            "no evidence that the rule beats giving everyone {best}: held-out gain {}, an interval that includes 0 ({n} patients)",
            gain.show(3)
        )
    }
}

/// The output as text or JSON.
fn render(args: &Args, out: &PolicyOutput, names: &[String], best: &str) -> String {
    let (n, value, arm_value) = (out.n, &out.held_out.value, &out.held_out.best_single_value);
    let json = args.format.unwrap_or(if out_is_json(args.out.as_deref()) {
        PolicyFormat::Json
    } else {
        PolicyFormat::Text
    }) == PolicyFormat::Json;
    if json {
        let mut s = serde_json::to_string_pretty(out).unwrap_or_default();
        s.push('\n');
        s
    } else {
        format!(
            "policy tree (depth {}) on the doubly robust scores of {n} patients, {} features searched:\n{}\nheld-out value ({POLICY_FOLDS}-fold cross-fitted rule): {}\nbest single arm, everyone on {best}: {}\n{}\n",
            args.depth,
            names.len(),
            out.rule,
            value.show(3),
            arm_value.show(3),
            out.verdict
        )
    }
}

/// Runs `policy`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let Some(input) = args.input.input() else {
        return Err(Error::usage(
            "policy needs --data with the outcome and the therapy column",
        ));
    };
    let mut sink = Sink::open(args.out.as_deref())?;
    let data = input.open_labelled(&bundle, args.id.as_deref(), None, ui)?;
    let opts = EffectOptions::new(args.propensity, args.seed);
    let model = args.model.display().to_string();
    let (scores, score_notes) = dr_scores(&bundle, &model, &data, &opts)?;
    let rows: Vec<usize> = (0..data.y.len())
        .filter(|&i| data.y[i].is_some() && data.arm_of[i].is_some())
        .collect();
    let keep = args
        .max_features
        .as_ref()
        .map(|s| split_list(std::slice::from_ref(s)));
    let (x, names) = raw_features(&data, &rows, keep.as_deref())?;
    let n = rows.len();
    let all: Vec<usize> = (0..n).collect();
    let binned = Binned::new(&x, &all);
    let gamma = &scores.gamma;
    let (_, tree) = fit(gamma, &binned, &all, args.depth);
    let act = cross_fitted_actions(gamma, &binned, n, args.depth, args.seed);
    let value = mean_se(&(0..n).map(|i| gamma[act[i]][i]).collect::<Vec<_>>(), None);
    let arm_values: Vec<Interval> = gamma.iter().map(|g| mean_se(g, None)).collect();
    let best = crate::stats::argmax(&arm_values.iter().map(|v| v.estimate).collect::<Vec<_>>());
    let gain = mean_se(
        &(0..n)
            .map(|i| gamma[act[i]][i] - gamma[best][i])
            .collect::<Vec<_>>(),
        None,
    );
    let arms = &scores.arms;
    let mut rule = String::new();
    rule_text(&tree, &names, arms, 0, &mut rule);
    let mut used = Vec::new();
    tree.features(&mut used);
    let verdict = verdict(&gain, &arms[best], n);
    let out = PolicyOutput {
        depth: args.depth,
        n,
        features_searched: names.len(),
        tree: name_tree(&tree, &names, arms),
        rule: rule.clone(),
        features_used: used.iter().map(|&j| names[j].clone()).collect(),
        held_out: HeldOut {
            folds: POLICY_FOLDS,
            value,
            best_single: arms[best].clone(),
            best_single_value: arm_values[best],
            gain_vs_best_single: gain,
        },
        verdict,
        notes: score_notes,
    };
    let text = render(&args, &out, &names, &arms[best]);
    for note in &out.notes {
        ui.info(note);
    }
    sink.write_text(&text)?;
    sink.finish()
}
