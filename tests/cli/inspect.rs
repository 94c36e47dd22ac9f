//! Integration tests of `responder inspect`.

use crate::common::*;

#[test]
fn text_summary_names_arms_features_and_hash() {
    let out = responder()
        .args(["inspect", &repo("models/example.json")])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "algorithm         logistic (c=0.1",
        "features          58 (6 numeric, 2 categorical, 50 dosage)",
        "data file         clinical.csv sha256:",
        "genotypes file    genotypes.csv sha256:",
        "none stored",
        "SSRI",
        "TMS",
        "ketamine",
        "folds; pooled",
    ] {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
}

#[test]
fn json_summary_has_stable_keys() {
    let out = responder()
        .args(["inspect", &repo("models/example.json"), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "file",
        "format",
        "format_version",
        "tool_version",
        "algorithm",
        "params",
        "target",
        "id_column",
        "therapy_column",
        "arms",
        "n_features",
        "features",
        "files",
        "seed",
        "holds_patient_rows",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    let arms = v["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 3);
    assert_eq!(arms[0]["therapy"], "SSRI");
    assert!(arms[0]["cv_auc_mean"].as_f64().unwrap() > 0.5);
    assert_eq!(v["holds_patient_rows"], false);
}

#[test]
fn missing_model_is_an_error() {
    fails(
        responder().args(["inspect", "no-such-model.json"]),
        &["cannot read model `no-such-model.json`"],
    );
}

#[test]
fn non_bundle_json_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "other.json", "{\"hello\": 1}");
    fails(
        responder().args(["inspect", &p]),
        &["other.json", "not a responder model bundle"],
    );
}
