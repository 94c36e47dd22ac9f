//! Integration tests of `responder algorithms`.

use crate::common::*;

#[test]
fn lists_every_algorithm_with_parameters_and_defaults() {
    let out = responder()
        .args(["algorithms", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "logistic",
            "elastic-net",
            "lasso",
            "tree",
            "forest",
            "svm",
            "naive-bayes",
            "knn",
            "boosting"
        ]
    );
    for a in v.as_array().unwrap() {
        assert!(!a["params"].as_array().unwrap().is_empty());
        assert!(a["native_probabilities"].is_boolean());
    }
    let knn = &v[7];
    assert_eq!(knn["keeps_training_rows"], true);
    let text = responder().arg("algorithms").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("--param c=1.0"));
    assert!(text.contains("auto: chooses per arm by inner 3-fold CV among:"));
}
