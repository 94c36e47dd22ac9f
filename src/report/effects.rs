//! The "Evidence for treatment selection" section, as text (`evaluate`)
//! and Markdown (the model card).

use crate::effects::blp::p_text;
use crate::effects::estimate::Interval;
use crate::eval::selection::EffectsOutput;
use crate::report::table::header;
use crate::report::{render_table, Cell};

fn iv(v: &Interval) -> [Cell; 3] {
    [
        Cell::Num(v.estimate, 3),
        Cell::Text(format!("[{:.3}, {:.3}]", v.ci_low, v.ci_high)),
        Cell::Num(v.se, 3),
    ]
}

/// The design line: propensities, control and overlap.
fn design(o: &EffectsOutput) -> String {
    let e = &o.effects;
    format!(
        "design: {} propensities ({}); control arm `{}`; outcome predictions: {}\noverlap: smallest propensity {:.3}; {} of {} patients ({:.1}%) below 0.05 for some arm\nintervals: {}\n",
        e.propensity,
        e.propensity_method,
        e.control,
        o.outcome_predictions,
        e.overlap.min_propensity,
        e.overlap.n_below_0_05,
        e.n,
        100.0 * e.overlap.share_below_0_05,
        e.intervals
    )
}

/// Policy-value rows: the recommendation, each arm, the gains.
fn policy_rows(o: &EffectsOutput) -> Vec<Vec<Cell>> {
    let p = &o.effects.policy;
    let mut rows = Vec::new();
    let mut push = |name: String, v: &Interval| {
        let mut r = vec![Cell::Text(name)];
        r.extend(iv(v));
        rows.push(r);
    };
    push("everyone gets their recommended arm".into(), &p.recommended);
    for (arm, v) in &p.arms.0 {
        push(format!("everyone gets {arm}"), v);
    }
    push(
        format!(
            "gain over everyone on {} (best single arm)",
            p.gain_vs_best_single.best_single
        ),
        &p.gain_vs_best_single.gain,
    );
    push("gain over random allocation".into(), &p.gain_vs_random);
    rows
}

/// Contrast rows: ATE, calibration test, RATE.
fn contrast_rows(o: &EffectsOutput) -> Vec<Vec<Cell>> {
    o.effects
        .contrasts
        .iter()
        .map(|c| {
            let (mp, dp) = match &c.calibration_test {
                Some(t) => (
                    format!(
                        "{:.2} ({:.2}, p {})",
                        t.mean_prediction.estimate,
                        t.mean_prediction.se,
                        p_text(t.mean_prediction.p_value)
                    ),
                    format!(
                        "{:.2} ({:.2}, p {})",
                        t.differential.estimate,
                        t.differential.se,
                        p_text(t.differential.p_value)
                    ),
                ),
                None => ("NA".into(), "NA".into()),
            };
            vec![
                Cell::Text(format!("{} vs {}", c.arm, c.control)),
                Cell::Text(c.ate.show(3)),
                Cell::Text(mp),
                Cell::Text(dp),
                Cell::Text(format!(
                    "{:.3} ± {:.3}",
                    c.rate.autoc.estimate, c.rate.autoc.se
                )),
                Cell::Text(format!(
                    "{:.3} ± {:.3}",
                    c.rate.qini.estimate, c.rate.qini.se
                )),
            ]
        })
        .collect()
}

const CONTRAST_HEADER: [&str; 6] = [
    "contrast",
    "average effect [95% CI]",
    "mean prediction coef (SE, p)",
    "differential coef (SE, p)",
    "AUTOC ± SE",
    "Qini ± SE",
];

/// Group rows (`--group-col`).
fn group_rows(o: &EffectsOutput) -> Vec<Vec<Cell>> {
    o.groups
        .iter()
        .map(|g| {
            vec![
                Cell::Text(g.group.clone()),
                Cell::Int(g.n),
                Cell::Int(g.responders),
                g.auc.map_or(Cell::Text("NA".into()), |v| Cell::Num(v, 3)),
                g.calibration_slope
                    .map_or(Cell::Text("NA".into()), |v| Cell::Num(v, 3)),
                Cell::Text(g.policy_gain.show(3)),
            ]
        })
        .collect()
}

const GROUP_HEADER: [&str; 6] = [
    "group",
    "n",
    "responders",
    "AUC",
    "calibration slope",
    "policy gain [95% CI]",
];

/// The section as text.
pub(crate) fn render_effects(o: &EffectsOutput) -> String {
    let e = &o.effects;
    let mut out = format!(
        "\nEvidence for treatment selection (doubly robust AIPW scores; {} patients)\n",
        e.n
    );
    out.push_str(&design(o));
    out.push_str("\nresponse rate (AIPW)\n");
    out.push_str(&render_table(
        &header(&["policy", "estimate", "95% CI", "SE"]),
        &policy_rows(o),
    ));
    out.push_str("\neach arm vs control: average effect, calibration test of the predicted advantage (coefficients: 1 = right, 0 = no signal; one-sided p), RATE\n");
    out.push_str(&render_table(&header(&CONTRAST_HEADER), &contrast_rows(o)));
    if let Some(r) = &e.rate_multi_arm {
        out.push_str(&format!(
            "RATE of the predicted best-vs-control gain (all arms): AUTOC {:.3} ± {:.3}, Qini {:.3} ± {:.3}\n",
            r.autoc.estimate, r.autoc.se, r.qini.estimate, r.qini.se
        ));
    }
    if !o.groups.is_empty() {
        out.push_str("\nper group (SEs cluster-robust above)\n");
        out.push_str(&render_table(&header(&GROUP_HEADER), &group_rows(o)));
    }
    out.push('\n');
    for s in &e.summary {
        out.push_str(s);
        out.push('\n');
    }
    out
}

/// A Markdown table.
fn md_table(h: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut s = format!("| {} |\n|{}\n", h.join(" | "), "---|".repeat(h.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(Cell::render).collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

/// The section as Markdown, with the TOC plots.
pub(crate) fn render_effects_md(o: &EffectsOutput, plots: &[String]) -> String {
    let e = &o.effects;
    let mut s = String::from("## Evidence for treatment selection\n\n");
    for line in &e.summary {
        s.push_str(&format!("- {line}\n"));
    }
    s.push('\n');
    for line in design(o).lines() {
        s.push_str(&format!("{line}  \n"));
    }
    s.push_str("\n### Response rate under each policy (AIPW, 95% CI)\n\n");
    s.push_str(&md_table(
        &["policy", "estimate", "95% CI", "SE"],
        &policy_rows(o),
    ));
    s.push_str("\n### Each arm against control\n\n");
    s.push_str(&md_table(&CONTRAST_HEADER, &contrast_rows(o)));
    if !o.groups.is_empty() {
        s.push_str("\n### Per group\n\n");
        s.push_str(&md_table(&GROUP_HEADER, &group_rows(o)));
    }
    for p in plots.iter().filter(|p| p.starts_with("toc_")) {
        s.push_str(&format!("\n![{p}]({p})\n"));
    }
    for w in &e.warnings {
        s.push_str(&format!("\n**Caution:** {w}\n"));
    }
    s.push('\n');
    s
}

/// `score --dr-scores` as CSV: ID, therapy, outcome (1/0), then `p_<arm>`,
/// `e_<arm>` and `dr_<arm>` for every arm (6 decimals).
pub(crate) fn render_dr_scores(d: &crate::eval::selection::DrScores) -> String {
    let mut header: Vec<String> = d.columns.to_vec();
    for prefix in ["p_", "e_", "dr_"] {
        header.extend(d.arms.iter().map(|a| format!("{prefix}{a}")));
    }
    let rows: Vec<Vec<Cell>> = d
        .patients
        .iter()
        .enumerate()
        .map(|(j, (id, arm, y))| {
            let mut r = vec![
                Cell::Text(id.clone()),
                Cell::Text(arm.clone()),
                Cell::Int(usize::from(*y)),
            ];
            for m in [&d.p, &d.e, &d.gamma] {
                r.extend(m.iter().map(|v| Cell::Num(v[j], 6)));
            }
            r
        })
        .collect();
    crate::report::render_csv(&header, &rows)
}
