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
    let text = std::fs::read_to_string(repo("examples/cohort/clinical.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{},site\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        out.push_str(&format!("{l},S{}\n", i % 4));
    }
    let data = write(dir.path(), "sites.csv", &out);
    let run = |extra: &[&str]| {
        let mut c = responder();
        c.args([
            "evaluate",
            "--model",
            &repo("models/example.json"),
            "--data",
            &data,
        ])
        .args(["--genotypes", &repo("examples/cohort/genotypes.csv")])
        .args(["--bootstrap", "200", "--cross-fitted", "--format", "json"])
        .args(extra);
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
    let holed = out.replacen(",S1\n", ",\n", 1);
    let data2 = write(dir.path(), "holed.csv", &holed);
    let mut c = responder();
    c.args([
        "evaluate",
        "--model",
        &repo("models/example.json"),
        "--data",
        &data2,
    ])
    .args([
        "--genotypes",
        &repo("examples/cohort/genotypes.csv"),
        "--group-col",
        "site",
    ]);
    fails(
        &mut c,
        &["holed.csv, line 3, column `site`: the group is missing"],
    );
}
