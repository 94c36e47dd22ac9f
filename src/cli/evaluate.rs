//! `responder evaluate`: discrimination, calibration, classification and
//! clinical usefulness of a bundle on labelled patients, per arm and overall.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle::Bundle;
use crate::cli::args::{out_is_json, InputArgs};
use crate::cli::Ui;
use crate::data::FileInfo;
use crate::error::{Error, Result};
use crate::eval::apply::predict_all;
use crate::eval::importance::{permutation_importance, Importance};
use crate::eval::selection::{selection_report, truth_agreement, Estimate, SelectionReport};
use crate::eval::{evaluate_bundle, EvalOptions, Evaluation, GroupEvaluation, LabelledData};
use crate::output::Sink;
use crate::report::plots::{create_dir, qini_svg, write_plots, write_svg};
use crate::report::{render_table, Cell};

/// Repeats of permutation importance behind the importance plots.
pub const PLOT_IMPORTANCE_REPEATS: usize = 5;

/// Output formats of `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalFormat {
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
pub struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,

    /// Patient files (with the outcome).
    #[command(flatten)]
    pub input: InputArgs,

    /// The outcome column, read with the model's responder rule (default:
    /// the column the model was trained on). Example: --target responder
    #[arg(long, value_name = "COL")]
    pub target: Option<String>,

    /// The patient ID column (default: the one the model was trained with).
    /// Example: --id subject
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,

    /// Classification threshold for sensitivity, specificity, PPV and NPV
    /// (default: each arm's training prevalence). Example: --threshold 0.4
    #[arg(long, value_name = "P")]
    pub threshold: Option<f64>,

    /// Stratified bootstrap replicates for the AUC interval (0 = none).
    /// Example: --bootstrap 5000
    #[arg(long, value_name = "B", default_value_t = 2000)]
    pub bootstrap: usize,

    /// Seed of the bootstrap and of the importance plots; the same inputs
    /// and seed give identical output. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Output format (default: text; json for an --out ending in .json).
    /// Example: --format json
    #[arg(long, value_enum)]
    pub format: Option<EvalFormat>,

    /// Write results to this file (atomically) instead of stdout. Example: --out eval.json
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Write SVG plots into this folder (created if needed): ROC with the
    /// bootstrap band, calibration curve, decision curve, importance.
    /// Example: --plots plots/
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,

    /// Judge treatment selection with the bundle's cross-fitted predictions
    /// of the training patients (for evaluating on the training file: no
    /// patient is scored by a model that saw them). Example: --cross-fitted
    #[arg(long)]
    pub cross_fitted: bool,

    /// Simulated truth (`patient_id,p_<arm>…`, as `simulate` writes
    /// truth.csv): report how often the recommended therapy is the truly
    /// best one and the mean regret. Example: --truth cohort/truth.csv
    #[arg(long, value_name = "FILE")]
    pub truth: Option<String>,
}

/// Largest `--bootstrap` accepted (memory grows with it).
pub const MAX_BOOTSTRAP: usize = 100_000;

/// Checks a `--bootstrap` value.
pub fn check_bootstrap(b: usize) -> Result<()> {
    if b > MAX_BOOTSTRAP {
        return Err(Error::usage(format!(
            "--bootstrap {b} is more than {MAX_BOOTSTRAP} replicates; 2000 is usual"
        )));
    }
    Ok(())
}

/// Checks a `--threshold` value.
pub fn check_threshold(t: Option<f64>) -> Result<()> {
    match t {
        Some(t) if !(t > 0.0 && t < 1.0) => Err(Error::usage(format!(
            "--threshold {t} must be a probability strictly between 0 and 1, e.g. --threshold 0.4"
        ))),
        _ => Ok(()),
    }
}

/// Loads the labelled file for `bundle`, reporting what was left out.
pub fn load_labelled(
    bundle: &Bundle,
    input: &InputArgs,
    id: Option<&str>,
    target: Option<&str>,
    ui: &Ui,
) -> Result<LabelledData> {
    let id = id.unwrap_or(&bundle.id_column);
    let opts = input.read_options(id)?;
    let target = target.unwrap_or(&bundle.target.column);
    let data = LabelledData::load(
        bundle,
        &input.data,
        input.genotypes.as_deref(),
        &opts,
        target,
    )?;
    if let Some(msg) = data.ds.join_message() {
        ui.info(msg);
    }
    for note in &data.genotype_notes {
        ui.info(note.clone());
    }
    let file = &data.ds.data.file;
    if data.n_missing_target > 0 {
        ui.info(format!(
            "{file}: {} patients with a missing `{target}` are left out",
            data.n_missing_target
        ));
    }
    if data.n_missing_therapy > 0 {
        ui.info(format!(
            "{file}: {} labelled patients with a missing `{}` are left out",
            data.n_missing_therapy,
            bundle.therapy_column.as_deref().unwrap_or("therapy")
        ));
    }
    // Unseen category levels, as `score` reports them.
    let rows: Vec<usize> = (0..data.ds.n_rows()).collect();
    let (_, unseen) = predict_all(bundle, &data.frame, &rows)?;
    for (feature, n) in &unseen {
        ui.warn(format!(
            "{file}: {n} patients have a `{feature}` level the model never saw in training; scored as all-zeros for it"
        ));
    }
    if (0..bundle.arms.len()).all(|a| data.arm_rows(a).0.is_empty()) {
        return Err(Error::data(
            crate::error::Location::file(file),
            format!(
                "no labelled patient received an arm of the model (arms: {})",
                bundle
                    .arm_names()
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(data)
}

/// Permutation importance of every arm on the patients who received it
/// (arms with one class are skipped).
pub fn importance_by_arm(
    bundle: &Bundle,
    data: &LabelledData,
    repeats: usize,
    seed: u64,
) -> Result<Vec<(String, f64, Vec<Importance>)>> {
    let names = bundle.arm_names();
    let mut out = Vec::new();
    for (a, arm) in bundle.arms.iter().enumerate() {
        let (rows, y) = data.arm_rows(a);
        if rows.is_empty() {
            continue;
        }
        let s = seed.wrapping_add(a as u64);
        if let Some((base, imp)) = permutation_importance(arm, &data.frame, &rows, &y, repeats, s)?
        {
            out.push((names[a].clone(), base, imp));
        }
    }
    Ok(out)
}

/// Writes every plot of an evaluation into `dir` (already created).
pub fn plots(
    dir: &Path,
    bundle: &Bundle,
    data: &LabelledData,
    ev: &Evaluation,
    seed: u64,
) -> Result<Vec<PathBuf>> {
    let mut groups: Vec<&GroupEvaluation> = ev.arms.iter().collect();
    if let Some(o) = &ev.overall {
        groups.push(o);
    }
    let imp: Vec<(String, Vec<Importance>)> =
        importance_by_arm(bundle, data, PLOT_IMPORTANCE_REPEATS, seed)?
            .into_iter()
            .map(|(a, _, i)| (a, i))
            .collect();
    write_plots(dir, &groups, &imp)
}

/// What `evaluate --format json` prints (keys documented in the README).
#[derive(Debug, Serialize)]
pub struct EvaluateOutput<'a> {
    /// The bundle file.
    pub model: String,
    /// The evaluation files with their SHA-256.
    pub data: &'a [FileInfo],
    /// The outcome column in the evaluation file.
    pub target: String,
    /// The responder rule, from the bundle.
    pub outcome: &'a str,
    /// `--threshold`, if given.
    pub threshold: Option<f64>,
    /// Bootstrap replicates.
    pub bootstrap: usize,
    /// The seed.
    pub seed: u64,
    /// The evaluation.
    #[serde(flatten)]
    pub evaluation: &'a Evaluation,
    /// Plot files written (empty without --plots).
    pub plots: Vec<String>,
    /// Treatment selection (bundles with two or more arms and a therapy column).
    pub selection: Option<SelectionReport>,
}

/// Runs `evaluate`.
pub fn run(args: Args, ui: &Ui) -> Result<()> {
    check_threshold(args.threshold)?;
    check_bootstrap(args.bootstrap)?;
    let bundle = Bundle::load(&args.model)?;
    let mut sink = Sink::open(args.out.as_deref())?;
    if let Some(dir) = &args.plots {
        create_dir(dir)?;
    }
    let data = load_labelled(
        &bundle,
        &args.input,
        args.id.as_deref(),
        args.target.as_deref(),
        ui,
    )?;
    let opts = EvalOptions {
        bootstrap: args.bootstrap,
        seed: args.seed,
    };
    let ev = evaluate_bundle(&bundle, &data, args.threshold, opts)?;
    for w in &ev.warnings {
        ui.warn(w);
    }
    for g in ev.arms.iter().chain(&ev.overall) {
        for w in &g.warnings {
            ui.warn(format!("{}: {w}", g.arm));
        }
    }
    let selection = selection(&args, &bundle, &data, ui)?;
    let mut written = match &args.plots {
        Some(dir) => plots(dir, &bundle, &data, &ev, args.seed)?,
        None => Vec::new(),
    };
    if let (Some(dir), Some(q)) = (
        &args.plots,
        selection.as_ref().and_then(|s| s.qini.as_ref()),
    ) {
        written.push(write_svg(dir, "qini.svg", qini_svg(q))?);
    }
    let json_out = out_is_json(args.out.as_deref());
    let format = args.format.unwrap_or(if json_out {
        EvalFormat::Json
    } else {
        EvalFormat::Text
    });
    let text = match format {
        EvalFormat::Json => {
            let out = EvaluateOutput {
                model: args.model.display().to_string(),
                data: &data.ds.files,
                target: data.target_column.clone(),
                outcome: &bundle.target.description,
                threshold: args.threshold,
                bootstrap: args.bootstrap,
                seed: args.seed,
                evaluation: &ev,
                plots: written.iter().map(|p| p.display().to_string()).collect(),
                selection: selection.clone(),
            };
            let mut s = serde_json::to_string_pretty(&out)
                .map_err(|e| Error::Fit(format!("cannot serialise the evaluation: {e}")))?;
            s.push('\n');
            s
        }
        EvalFormat::Text => {
            let mut t = render_text(&args.model.display().to_string(), &bundle, &data, &ev);
            if let Some(sel) = &selection {
                t.push_str(&render_selection(sel));
            }
            t
        }
    };
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

fn num(v: Option<f64>, d: usize) -> Cell {
    Cell::Num(v.unwrap_or(f64::NAN), d)
}

fn interval(lo: Option<f64>, hi: Option<f64>, d: usize) -> Cell {
    match (lo, hi) {
        (Some(l), Some(h)) if l.is_finite() && h.is_finite() => {
            Cell::Text(format!("[{l:.d$}, {h:.d$}]"))
        }
        _ => Cell::Text("NA".into()),
    }
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The evaluation as readable tables.
pub fn render_text(model: &str, bundle: &Bundle, data: &LabelledData, ev: &Evaluation) -> String {
    let groups: Vec<&GroupEvaluation> = ev.arms.iter().chain(&ev.overall).collect();
    let files: Vec<&str> = data.ds.files.iter().map(|f| f.name.as_str()).collect();
    let mut out = format!(
        "model {model} on {}: {} patients; responder if {}\n",
        files.join(" + "),
        ev.n_rows,
        bundle.target.description
    );
    out.push_str(&format!(
        "left out: {} with a missing outcome, {} with a missing therapy, {} with a therapy the model has no arm for\n",
        ev.n_missing_target, ev.n_missing_therapy, ev.n_unknown_therapy
    ));
    let boot = groups
        .iter()
        .find_map(|g| g.bootstrap.as_ref().map(|b| b.replicates))
        .unwrap_or(0);

    out.push_str(&format!(
        "\nDiscrimination and accuracy (AUC interval: stratified bootstrap, {boot} replicates; DeLong)\n"
    ));
    let rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|g| {
            let a = g.auc.as_ref();
            vec![
                Cell::Text(g.arm.clone()),
                Cell::Int(g.n),
                Cell::Int(g.responders),
                num(a.map(|a| a.estimate), 3),
                interval(a.and_then(|a| a.ci_low), a.and_then(|a| a.ci_high), 3),
                interval(
                    a.and_then(|a| a.delong_ci_low),
                    a.and_then(|a| a.delong_ci_high),
                    3,
                ),
                Cell::Num(g.brier, 4),
                num(g.brier_scaled, 3),
                Cell::Num(g.log_loss, 4),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &header(&[
            "arm",
            "n",
            "responders",
            "AUC",
            "95% CI bootstrap",
            "95% CI DeLong",
            "Brier",
            "scaled Brier",
            "log-loss",
        ]),
        &rows,
    ));

    out.push_str(
        "\nCalibration (logistic recalibration on logit(p); ideal: intercept 0, slope 1, O/E 1)\n",
    );
    let rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|g| {
            let c = &g.calibration;
            vec![
                Cell::Text(g.arm.clone()),
                Cell::Num(g.mean_predicted, 3),
                Cell::Num(g.prevalence, 3),
                num(g.observed_expected, 3),
                num(c.in_the_large.map(|e| e.estimate), 3),
                interval(
                    c.in_the_large.map(|e| e.ci_low),
                    c.in_the_large.map(|e| e.ci_high),
                    3,
                ),
                num(c.slope.map(|e| e.estimate), 3),
                interval(c.slope.map(|e| e.ci_low), c.slope.map(|e| e.ci_high), 3),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &header(&[
            "arm",
            "mean p",
            "observed",
            "O/E",
            "intercept (CITL)",
            "95% CI",
            "slope",
            "95% CI",
        ]),
        &rows,
    ));

    out.push_str("\nClassification (responder predicted when p >= threshold)\n");
    let rows: Vec<Vec<Cell>> = groups
        .iter()
        .map(|g| {
            let c = &g.threshold.confusion;
            let y = g.youden.as_ref();
            vec![
                Cell::Text(g.arm.clone()),
                Cell::Num(c.threshold, 3),
                Cell::Text(g.threshold.source.clone()),
                num(c.sensitivity, 3),
                num(c.specificity, 3),
                num(c.ppv, 3),
                num(c.npv, 3),
                num(y.map(|y| y.threshold), 3),
                num(y.map(|y| y.sensitivity), 3),
                num(y.map(|y| y.specificity), 3),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &header(&[
            "arm",
            "threshold",
            "source",
            "sensitivity",
            "specificity",
            "PPV",
            "NPV",
            "Youden threshold",
            "sensitivity",
            "specificity",
        ]),
        &rows,
    ));

    out.push_str(
        "\nDecision curve: net benefit of the model / of treating all (treating none = 0)\n",
    );
    let mut h = vec!["threshold".to_string()];
    for g in &groups {
        h.push(g.arm.clone());
        h.push(format!("{} all", g.arm));
    }
    let n_t = groups.first().map_or(0, |g| g.decision_curve.len());
    let rows: Vec<Vec<Cell>> = (0..n_t)
        .map(|t| {
            let mut r = vec![Cell::Num(groups[0].decision_curve[t].threshold, 2)];
            for g in &groups {
                r.push(Cell::Num(g.decision_curve[t].model, 4));
                r.push(Cell::Num(g.decision_curve[t].treat_all, 4));
            }
            r
        })
        .collect();
    out.push_str(&render_table(&h, &rows));
    out
}

/// Treatment selection for a multi-arm bundle on a file with a therapy
/// column; `None` otherwise.
fn selection(
    args: &Args,
    bundle: &Bundle,
    data: &LabelledData,
    ui: &Ui,
) -> Result<Option<SelectionReport>> {
    if bundle.arms.len() < 2 || bundle.therapy_column.is_none() {
        if args.cross_fitted || args.truth.is_some() {
            return Err(Error::usage(
                "--cross-fitted and --truth judge treatment selection, which needs a model with two or more therapy arms",
            ));
        }
        return Ok(None);
    }
    let rows: Vec<usize> = (0..data.y.len())
        .filter(|&i| data.y[i].is_some() && data.arm_of[i].is_some())
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let received: Vec<usize> = rows.iter().map(|&i| data.arm_of[i].unwrap_or(0)).collect();
    let y: Vec<bool> = rows.iter().map(|&i| data.y[i] == Some(true)).collect();
    let (p, source) = if args.cross_fitted {
        let cf = bundle.cross_fitted.as_ref().ok_or_else(|| Error::Model {
            file: args.model.display().to_string(),
            message: "the bundle has no cross-fitted predictions (trained with --cv 0 or --no-cross-fitted)".into(),
        })?;
        let index: std::collections::HashMap<&str, usize> = cf
            .ids
            .iter()
            .enumerate()
            .map(|(k, id)| (id.as_str(), k))
            .collect();
        let mut missing = 0;
        let mut p = vec![Vec::with_capacity(rows.len()); bundle.arms.len()];
        for &i in &rows {
            match index.get(data.ds.id(i)) {
                Some(&k) => {
                    for (a, pa) in p.iter_mut().enumerate() {
                        pa.push(cf.p[a][k]);
                    }
                }
                None => missing += 1,
            }
        }
        if missing > 0 {
            return Err(Error::data(
                crate::error::Location::file(&data.ds.data.file),
                format!(
                    "{missing} patients are not among the bundle's {} cross-fitted training patients; --cross-fitted only judges the training patients",
                    cf.ids.len()
                ),
            ));
        }
        (p, "cross-fitted")
    } else {
        if data.ds.files.iter().any(|f| {
            bundle
                .training
                .files
                .iter()
                .any(|t| t.role == "data" && t.sha256 == f.sha256)
        }) {
            ui.warn(
                "treatment selection is judged on the model's own training patients; add --cross-fitted for an honest estimate",
            );
        }
        (predict_all(bundle, &data.frame, &rows)?.0, "model")
    };
    let mut report = selection_report(
        &bundle.arm_names(),
        &p,
        &received,
        &y,
        args.bootstrap.max(200),
        args.seed,
        source,
    );
    if let Some(path) = &args.truth {
        let truth = read_truth(path, bundle, data, &rows)?;
        report.truth = Some(truth_agreement(&p, &truth));
    }
    Ok(Some(report))
}

/// Reads `p_<arm>` columns of a truth file for `rows` (joined by ID).
fn read_truth(
    path: &str,
    bundle: &Bundle,
    data: &LabelledData,
    rows: &[usize],
) -> Result<Vec<Option<Vec<f64>>>> {
    use crate::data::{parse_number, Loaded, RawTable};
    let loaded = Loaded::read(path)?;
    let table = RawTable::parse(&loaded, loaded.delimiter(None))?;
    let id_col = table.require(&bundle.id_column)?;
    let wanted: Vec<String> = bundle
        .arm_names()
        .iter()
        .map(|a| format!("p_{a}"))
        .collect();
    let absent: Vec<String> = wanted
        .iter()
        .filter(|w| table.find(w).is_none())
        .cloned()
        .collect();
    if !absent.is_empty() {
        return Err(Error::MissingColumns {
            file: table.file.clone(),
            missing: absent,
            available: table.header.clone(),
            hint: None,
        });
    }
    let cols: Vec<usize> = wanted.iter().filter_map(|w| table.find(w)).collect();
    let mut by_id = std::collections::HashMap::new();
    for r in 0..table.n_rows() {
        let mut v = Vec::with_capacity(cols.len());
        for &c in &cols {
            let cell = &table.columns[c][r];
            match parse_number(cell) {
                Some(x) if (0.0..=1.0).contains(&x) => v.push(x),
                _ => {
                    return Err(Error::data(
                        table.loc(r, c),
                        format!("`{cell}` is not a probability"),
                    ))
                }
            }
        }
        by_id.insert(table.columns[id_col][r].to_string(), v);
    }
    Ok(rows
        .iter()
        .map(|&i| by_id.get(data.ds.id(i)).cloned())
        .collect())
}

fn pct(e: &Estimate) -> String {
    match (e.value, e.lo, e.hi) {
        (Some(v), Some(lo), Some(hi)) => {
            format!("{:.1}% [{:.1}, {:.1}]", 100.0 * v, 100.0 * lo, 100.0 * hi)
        }
        (Some(v), _, _) => format!("{:.1}%", 100.0 * v),
        _ => "NA".into(),
    }
}

/// The treatment-selection section of the text report.
pub fn render_selection(s: &SelectionReport) -> String {
    let mut out = format!(
        "\ntreatment selection ({} patients, {} predictions; recommendation = arm with the highest probability)\n",
        s.n, s.predictions
    );
    let header: Vec<String> = [
        "recommended",
        "n",
        "received it",
        "response if received",
        "if not",
        "difference",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows: Vec<Vec<Cell>> = s
        .follow
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.recommended.clone()),
                Cell::Int(r.n),
                Cell::Int(r.n_followed),
                Cell::Text(pct(&r.followed_rate)),
                Cell::Text(pct(&r.not_followed_rate)),
                Cell::Text(pct(&r.difference)),
            ]
        })
        .collect();
    out.push_str(&render_table(&header, &rows));
    out.push_str("\nresponse rate if everyone received ... (self-normalised IPW, observed arm shares as propensities; 95% bootstrap CI)\n");
    out.push_str(&format!(
        "  their recommended therapy   {}\n",
        pct(&s.policy_rate)
    ));
    for (a, e) in s.arms.iter().zip(&s.single_therapy_rates) {
        out.push_str(&format!("  {:<27} {}\n", a, pct(e)));
    }
    out.push_str(&format!(
        "  benefit vs all {:<12} {}\n  benefit vs random allocation {}\n",
        s.best_single_therapy,
        pct(&s.benefit_vs_best_single),
        pct(&s.benefit_vs_random)
    ));
    out.push_str(&format!("{}\n", s.verdict));
    if let Some(q) = &s.qini {
        out.push_str(&format!(
            "Qini coefficient ({} vs {}, targeting by predicted uplift): {:.4}\n",
            q.treatment, q.control, q.coefficient
        ));
    }
    if let Some(t) = &s.truth {
        out.push_str(&format!(
            "against the truth file: recommended = truly best for {:.1}% of {} patients; {} with a true advantage >= 0.10: {}; mean regret {:.4}\n",
            100.0 * t.correct_share,
            t.n,
            t.n_clear,
            t.correct_share_clear
                .map_or("NA".into(), |c| format!("{:.1}% correct", 100.0 * c)),
            t.mean_regret
        ));
    }
    out
}
