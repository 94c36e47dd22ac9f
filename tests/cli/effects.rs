//! `evaluate`'s evidence for treatment selection: the `effects` JSON
//! contract, --control, --allocation, --propensity and --group-col.

use crate::common::*;
use crate::eval_common::*;

use serde_json::Value;

fn cross_fitted(extra: &[&str]) -> assert_cmd::Command {
    let mut c = responder();
    c.args(["evaluate", "--model", &repo("models/example.json")])
        .args(example_data())
        .args(["--bootstrap", "200", "--cross-fitted", "--format", "json"])
        .args(extra);
    c
}

/// The example cohort's clinical file with each data line passed through
/// `keep` (its index and text; `None` drops it), the header extended by
/// `extra_header`, written to `dir/name`.
fn rewritten_cohort(
    dir: &std::path::Path,
    name: &str,
    extra_header: &str,
    mut keep: impl FnMut(usize, &str) -> Option<String>,
) -> String {
    let text = std::fs::read_to_string(repo("examples/cohort/clinical.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}{extra_header}\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        if let Some(l) = keep(i, l) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    write(dir, name, &out)
}

/// `evaluate` of the example model on `data` with the example genotypes.
fn evaluate_on(data: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut c = responder();
    c.args([
        "evaluate",
        "--model",
        &repo("models/example.json"),
        "--data",
        data,
    ])
    .args(["--genotypes", &repo("examples/cohort/genotypes.csv")])
    .args(extra);
    c
}

fn interval(v: &Value, what: &str) -> (f64, f64, f64) {
    let (e, se) = (v["estimate"].as_f64(), v["se"].as_f64());
    let (lo, hi) = (v["ci_low"].as_f64(), v["ci_high"].as_f64());
    let (e, se, lo, hi) = (
        e.unwrap_or_else(|| panic!("{what}: {v}")),
        se.unwrap(),
        lo.unwrap(),
        hi.unwrap(),
    );
    assert!(se > 0.0 && lo < e && e < hi, "{what}: {v}");
    assert!(
        (hi - lo - 2.0 * 1.959963984540054 * se).abs() < 1e-9,
        "{what}"
    );
    (e, lo, hi)
}

#[test]
fn effects_follow_the_json_contract() {
    let (out, _) = ok(&mut cross_fitted(&["--control", "TMS"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let e = &v["effects"];
    assert_eq!(e["control"], "TMS");
    assert_eq!(e["propensity"], "randomised");
    assert_eq!(e["outcome_predictions"], "cross-fitted");
    let ov = &e["overlap"];
    // Randomised: the arm shares 200/199/201 of 600.
    assert!((ov["min_propensity"].as_f64().unwrap() - 199.0 / 600.0).abs() < 1e-12);
    assert_eq!(ov["share_below_0_05"], 0.0);
    let p = &e["policy"];
    let (rec, _, _) = interval(&p["recommended"], "recommended");
    let mut best = f64::MIN;
    for arm in ["SSRI", "TMS", "ketamine"] {
        best = best.max(interval(&p["arms"][arm], arm).0);
    }
    let g = &p["gain_vs_best_single"];
    assert!(["SSRI", "TMS", "ketamine"].contains(&g["best_single"].as_str().unwrap()));
    let (gain, _, _) = interval(g, "gain_vs_best_single");
    assert!((gain - (rec - best)).abs() < 1e-12);
    interval(&p["gain_vs_random"], "gain_vs_random");
    let contrasts = e["contrasts"].as_array().unwrap();
    assert_eq!(contrasts.len(), 2);
    for c in contrasts {
        assert_eq!(c["control"], "TMS");
        interval(&c["ate"], "ate");
        for k in ["mean_prediction", "differential"] {
            let t = &c["calibration_test"][k];
            let pv = t["p_value"].as_f64().unwrap();
            assert!(
                (0.0..=1.0).contains(&pv) && t["se"].as_f64().unwrap() > 0.0,
                "{t}"
            );
            assert!(t["estimate"].as_f64().is_some());
        }
        for k in ["autoc", "qini"] {
            assert!(c["rate"][k]["estimate"].as_f64().is_some());
            assert!(c["rate"][k]["se"].as_f64().unwrap() > 0.0);
        }
        assert_eq!(c["rate"]["toc"].as_array().unwrap().len(), 10);
    }
    assert!(e["rate_multi_arm"]["autoc"]["se"].as_f64().is_some());
    assert_eq!(e["groups"].as_array().unwrap().len(), 0);
    assert!(e["summary"][0]
        .as_str()
        .unwrap()
        .contains("the recommendation"));
}

#[test]
fn control_defaults_to_a_control_named_arm_else_the_first() {
    let (out, _) = ok(&mut cross_fitted(&[]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["effects"]["control"], "SSRI");
}

#[test]
fn bad_effect_flags_are_usage_errors() {
    fails_usage(
        &mut cross_fitted(&["--control", "ECT"]),
        &["--control `ECT` is not an arm of the model; the arms are: `SSRI`, `TMS`, `ketamine`"],
    );
    fails_usage(
        &mut cross_fitted(&["--allocation", "TMS=2,SSRI=1"]),
        &["--allocation gives no share for arm `ketamine`"],
    );
    fails_usage(
        &mut cross_fitted(&["--allocation", "TMS=2,SSRI=1,ketamine=1,ECT=1"]),
        &["--allocation names `ECT`, which is not an arm of the model"],
    );
    fails_usage(
        &mut cross_fitted(&["--allocation", "TMS=x"]),
        &["`x` for arm `TMS` is not a positive number"],
    );
    fails_usage(
        &mut cross_fitted(&[
            "--allocation",
            "TMS=1,SSRI=1,ketamine=1",
            "--propensity",
            "estimate",
        ]),
        &["cannot be combined with --propensity estimate"],
    );
}

#[test]
fn allocation_and_estimated_propensities_change_the_weights() {
    let (out, _) = ok(&mut cross_fitted(&[
        "--allocation",
        "TMS=2,SSRI=1,ketamine=1",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["effects"]["overlap"]["min_propensity"], 0.25);
    let (out, _) = ok(&mut cross_fitted(&["--propensity", "estimate"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let e = &v["effects"];
    assert_eq!(e["propensity"], "estimated");
    let m = e["overlap"]["min_propensity"].as_f64().unwrap();
    assert!(m > 0.05 && m < 0.33, "{m}");
    interval(&e["policy"]["recommended"], "estimated");
}

#[test]
fn group_col_gives_cluster_robust_errors_and_per_group_results() {
    let dir = tempfile::tempdir().unwrap();
    let data = rewritten_cohort(dir.path(), "sites.csv", ",site", |i, l| {
        Some(format!("{l},S{}", i % 4))
    });
    let run = |extra: &[&str]| {
        let mut c = evaluate_on(
            &data,
            &["--bootstrap", "200", "--cross-fitted", "--format", "json"],
        );
        c.args(extra);
        let (o, _) = ok(&mut c);
        serde_json::from_str::<Value>(&o).unwrap()
    };
    let v = run(&["--group-col", "site"]);
    let e = &v["effects"];
    let groups = e["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4);
    assert_eq!(groups[0]["group"], "S0");
    assert_eq!(
        groups.iter().map(|g| g["n"].as_u64().unwrap()).sum::<u64>(),
        600
    );
    for g in groups {
        assert!(g["auc"].as_f64().is_some() && g["calibration_slope"].as_f64().is_some());
        interval(&g["policy_gain"], "group gain");
    }
    assert!(
        e["group_spread"]["auc_range"][0].as_f64() <= e["group_spread"]["auc_range"][1].as_f64()
    );
    assert!(e["contrasts"][0]["calibration_test"]["covariance"]
        .as_str()
        .unwrap()
        .starts_with("CR3 (4 groups)"));
    // Same point estimates as without groups; only the SEs change.
    let plain = run(&[]);
    let (a, b) = (
        &e["policy"]["recommended"],
        &plain["effects"]["policy"]["recommended"],
    );
    assert_eq!(a["estimate"], b["estimate"]);
    assert_ne!(a["se"], b["se"]);
    // A missing group is an error naming the line and column.
    let holed = rewritten_cohort(dir.path(), "holed.csv", ",site", |i, l| {
        Some(if i == 1 {
            format!("{l},")
        } else {
            format!("{l},S{}", i % 4)
        })
    });
    fails(
        &mut evaluate_on(&holed, &["--group-col", "site"]),
        &["holed.csv, line 3, column `site`: the group is missing"],
    );
    // A group column the file does not have is an error naming it.
    fails(
        &mut evaluate_on(&data, &["--group-col", "centre"]),
        &["sites.csv", "centre"],
    );
}

/// The four-site indomethacin trial (Elmunzer et al. 2012), sites as groups.
fn indo() -> String {
    repo("examples/trials/indo_pancreatitis.csv")
}

#[test]
fn grouped_cv_keeps_sites_whole_and_leave_one_site_out_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("indo.json");
    let train = |extra: &[&str], out: &std::path::Path| {
        let mut c = responder();
        c.args([
            "train",
            "--data",
            &indo(),
            "--target",
            "responder",
            "--therapy-col",
            "rx",
        ])
        .args(["--exclude", "pancreatitis,bleed", "--seed", "1", "--out"])
        .arg(out)
        .args(extra);
        c
    };
    ok(&mut train(
        &["--group-col", "site", "--cv", "groups"],
        &model,
    ));
    let v: Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    let g = &v["training"]["cv_groups"];
    assert_eq!(g["column"], "site");
    assert_eq!(g["method"], "leave-one-group-out");
    assert_eq!(g["groups"].as_array().unwrap().len(), 4);
    assert_eq!(v["training"]["cv_folds"], 4);
    // The site column is not a feature.
    assert!(!v["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "site"));
    // Every patient's cross-fitted prediction comes from models that never
    // saw their site: evaluate per site.
    let mut c = responder();
    c.args(["evaluate", "--model"])
        .arg(&model)
        .args([
            "--data",
            &indo(),
            "--cross-fitted",
            "--group-col",
            "site",
            "--bootstrap",
            "200",
        ])
        .args(["--format", "json"]);
    let (out, err) = ok(&mut c);
    let e: Value = serde_json::from_str(&out).unwrap();
    let groups = e["effects"]["groups"].as_array().unwrap();
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Case", "IU", "UK", "UM"]);
    assert_eq!(groups[1]["n"], 413);
    assert!(
        err.contains("only 4 groups: cluster-robust standard errors"),
        "{err}"
    );
    // Grouped 2-fold; bad combinations are usage errors.
    ok(&mut train(
        &["--group-col", "site", "--cv", "2"],
        &dir.path().join("g2.json"),
    ));
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("g2.json")).unwrap()).unwrap();
    assert_eq!(v["training"]["cv_groups"]["method"], "grouped K-fold");
    fails_usage(
        &mut train(&["--cv", "groups"], &dir.path().join("x.json")),
        &["--cv groups (leave-one-group-out) needs --group-col"],
    );
    fails_usage(
        &mut train(
            &["--group-col", "site", "--cv", "5"],
            &dir.path().join("x.json"),
        ),
        &["--group-col has 4 groups, fewer than --cv 5 folds"],
    );
    fails_usage(
        &mut train(&["--cv", "six"], &dir.path().join("x.json")),
        &["`six` is not a number of folds from 0 to 100 or `groups`"],
    );
    fails_usage(
        &mut train(
            &["--group-col", "rx", "--cv", "groups"],
            &dir.path().join("x.json"),
        ),
        &["--group-col `rx` is also the target, therapy or ID column"],
    );
    // compare takes the same grouping.
    let mut c = responder();
    c.args([
        "compare",
        "--data",
        &indo(),
        "--target",
        "responder",
        "--therapy-col",
        "rx",
    ])
    .args([
        "--exclude",
        "pancreatitis,bleed",
        "--algorithms",
        "logistic",
        "--repeats",
        "1",
    ])
    .args(["--group-col", "site", "--cv", "groups", "--format", "csv"]);
    let (out, _) = ok(&mut c);
    assert!(out.lines().count() >= 3, "{out}");
}

#[test]
fn a_training_patient_without_a_group_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(indo())
        .unwrap()
        .replacen(",UM,", ",,", 1);
    let data = write(dir.path(), "holed.csv", &text);
    let mut c = responder();
    c.args([
        "train",
        "--data",
        &data,
        "--target",
        "responder",
        "--therapy-col",
        "rx",
    ])
    .args([
        "--exclude",
        "pancreatitis,bleed",
        "--group-col",
        "site",
        "--cv",
        "groups",
        "--out",
    ])
    .arg(dir.path().join("m.json"));
    fails(
        &mut c,
        &["holed.csv, line 2, column `site`: the group is missing"],
    );
}

#[test]
fn score_writes_doubly_robust_scores_that_average_to_the_policy_values() {
    let dir = tempfile::tempdir().unwrap();
    let dr = dir.path().join("dr.csv");
    let mut c = responder();
    c.args(["score", "--model", &repo("models/example.json")])
        .args(example_data())
        .args(["--format", "csv", "--dr-scores"])
        .arg(&dr);
    let (_, err) = ok(&mut c);
    assert!(
        err.contains("all 600 patients were in training: their cross-fitted predictions are used"),
        "{err}"
    );
    let text = std::fs::read_to_string(&dr).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..3], ["patient_id", "therapy", "responder"]);
    assert_eq!(header.len(), 12);
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(3).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 600);
    let (out, _) = ok(&mut cross_fitted(&[]));
    let v: Value = serde_json::from_str(&out).unwrap();
    for (k, arm) in ["SSRI", "TMS", "ketamine"].iter().enumerate() {
        let mean = rows.iter().map(|r| r[6 + k]).sum::<f64>() / 600.0;
        let want = v["effects"]["policy"]["arms"][arm]["estimate"]
            .as_f64()
            .unwrap();
        assert!((mean - want).abs() < 1e-5, "{arm}: {mean} vs {want}");
    }
    // stdin cannot be read twice; the scores file may not be an input.
    fails_usage(
        responder()
            .args([
                "score",
                "--model",
                &repo("models/example.json"),
                "--data",
                "-",
                "--dr-scores",
            ])
            .arg(&dr)
            .write_stdin("patient_id\n"),
        &["--dr-scores reads --data a second time, so it cannot come from stdin"],
    );
    let data = repo("examples/cohort/clinical.csv");
    fails_usage(
        responder().args([
            "score",
            "--model",
            &repo("models/example.json"),
            "--data",
            &data,
            "--dr-scores",
            &data,
        ]),
        &["writing it would destroy the input"],
    );
}

#[test]
fn bootstrap_intervals_are_an_option() {
    let run = |extra: &[&str]| {
        let (out, _) = ok(&mut cross_fitted(extra));
        serde_json::from_str::<Value>(&out).unwrap()["effects"].clone()
    };
    let inf = run(&[]);
    let boot = run(&["--effect-intervals", "bootstrap"]);
    assert!(inf["intervals"]
        .as_str()
        .unwrap()
        .starts_with("influence function"));
    assert!(boot["intervals"]
        .as_str()
        .unwrap()
        .starts_with("bootstrap: 200 resamples of the patients"));
    let (a, b) = (
        &inf["policy"]["recommended"],
        &boot["policy"]["recommended"],
    );
    assert_eq!(a["estimate"], b["estimate"]);
    let (sa, sb) = (a["se"].as_f64().unwrap(), b["se"].as_f64().unwrap());
    assert!(sa != sb && (sb / sa - 1.0).abs() < 0.2, "{sa} vs {sb}");
    assert!(b["ci_low"].as_f64() < b["estimate"].as_f64());
    let c = &boot["contrasts"][0]["ate"];
    assert!(c["se"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_file_without_one_arm_is_evaluated_without_the_effects_section() {
    let dir = tempfile::tempdir().unwrap();
    let data = rewritten_cohort(dir.path(), "two.csv", "", |_, l| {
        (!l.contains(",ketamine,")).then(|| l.to_string())
    });
    let mut c = evaluate_on(&data, &["--bootstrap", "0", "--format", "json"]);
    let (json, err) = ok(&mut c);
    assert!(
        err.contains("evidence for treatment selection needs patients who received every arm; none here received `ketamine`"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["effects"].is_null());
    assert!(v["selection"]["n"].as_u64().is_some());
}

#[test]
fn estimated_propensities_need_patients_on_every_arm_in_every_fold() {
    let dir = tempfile::tempdir().unwrap();
    let mut ketamine = 0;
    let data = rewritten_cohort(dir.path(), "few.csv", "", |_, l| {
        ketamine += usize::from(l.contains(",ketamine,"));
        (!l.contains(",ketamine,") || ketamine <= 3).then(|| l.to_string())
    });
    let mut c = evaluate_on(&data, &["--bootstrap", "0", "--propensity", "estimate"]);
    fails(
        &mut c,
        &["needs at least 5 patients on every arm; arm `ketamine` has 3"],
    );
}
