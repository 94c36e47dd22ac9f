//! `responder policy`: a depth-1/2 policy tree on doubly robust scores.

use crate::common::*;
use crate::eval_common::*;

use serde_json::Value;

fn policy(extra: &[&str]) -> assert_cmd::Command {
    let mut c = responder();
    c.args(["policy", "--model", &repo("models/example.json")])
        .args(example_data())
        .args(extra);
    c
}

#[test]
fn prints_a_rule_and_its_held_out_value() {
    let (out, err) = ok(&mut policy(&[
        "--max-features",
        "prior_failures,crp,episode_months,anxiety",
    ]));
    assert!(
        out.starts_with("policy tree (depth 2) on the doubly robust scores of 600 patients"),
        "{out}"
    );
    assert!(out.contains("if "), "{out}");
    assert!(out.contains("held-out value (5-fold cross-fitted rule):"));
    assert!(out.contains("best single arm, everyone on"));
    assert!(err.contains("cross-fitted predictions are used"), "{err}");
    let (json, _) = ok(&mut policy(&[
        "--depth",
        "1",
        "--format",
        "json",
        "--max-features",
        "prior_failures,crp",
    ]));
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["depth"], 1);
    assert_eq!(v["n"], 600);
    assert_eq!(v["features_searched"], 2);
    let h = &v["held_out"];
    for k in ["value", "best_single_value", "gain_vs_best_single"] {
        let i = &h[k];
        assert!(i["ci_low"].as_f64() < i["ci_high"].as_f64(), "{k}: {i}");
    }
    assert!(v["tree"]["feature"].is_string() || v["tree"]["arm"].is_string());
    assert!(v["verdict"].as_str().unwrap().contains("giving everyone"));
    // Deterministic.
    let (again, _) = ok(&mut policy(&[
        "--depth",
        "1",
        "--format",
        "json",
        "--max-features",
        "prior_failures,crp",
    ]));
    assert_eq!(json, again);
}

#[test]
fn bad_policy_flags() {
    fails_usage(&mut policy(&["--depth", "3"]), &["--depth"]);
    fails_usage(
        &mut policy(&["--max-features", "shoe_size"]),
        &["--max-features names `shoe_size`, which is not a feature column of the model"],
    );
    fails_usage(
        responder().args(["policy", "--model", &repo("models/example.json")]),
        &["policy needs --data"],
    );
}
