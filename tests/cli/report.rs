//! Integration tests of `responder report`.

use crate::common::*;
use crate::eval_common::*;

use serde_json::Value;
use sha2::{Digest, Sha256};

#[test]
fn card_from_the_bundle_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("card");
    let (_, err) = ok(responder()
        .args(["report", "--model", &repo("models/example.json"), "--out"])
        .arg(&out));
    assert_eq!(files_in(&out), ["model-card.json", "model-card.md"]);
    assert!(
        err.contains("TRIPOD+AI items need the authors' input"),
        "{err}"
    );
    let md = std::fs::read_to_string(out.join("model-card.md")).unwrap();
    for needle in [
        "# Model card",
        "**[TO FILL: setting",
        "**[TO FILL: eligibility criteria",
        "`clinical.csv`, SHA-256 `0fb409c4",
        "responder if `responder` is 1/true/yes",
        "| sex | categorical | its own level `missing` | F, M, missing |",
        "| TMS | 199 | 105",
        "5-fold cross-validation within each arm (stratified by the outcome)",
        "- strategy: T-learner: one model per therapy arm",
    ] {
        assert!(md.contains(needle), "`{needle}` not in the card");
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model-card.json")).unwrap())
            .unwrap();
    assert_eq!(v["card_format"], "responder-model-card");
    let bytes = std::fs::read(repo("models/example.json")).unwrap();
    assert_eq!(v["model_sha256"], format!("{:x}", Sha256::digest(&bytes)));
    assert!(v["evaluation"].is_null());
    assert_eq!(v["holds_patient_rows"], false);
    assert!(md.contains("aggregate parameters only, no patient rows"));
    assert_eq!(v["arms"].as_array().unwrap().len(), 3);
    assert_eq!(v["predictors"].as_array().unwrap().len(), 58);
    let items = v["items"].as_array().unwrap();
    assert!(items
        .iter()
        .any(|i| i["item"] == "6a" && i["status"] == "to_fill"));
    assert!(items
        .iter()
        .any(|i| i["item"] == "8a" && i["status"] == "partial"));
}

#[test]
fn card_with_evaluation_and_plots_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        ok(responder()
            .args(["report", "--model", &repo("models/example.json")])
            .args(example_data())
            .args(["--target", "responder", "--bootstrap", "200", "--out"])
            .arg(&out));
        out
    };
    let a = run("a");
    let files = files_in(&a);
    assert_eq!(files.len(), 19, "{files:?}");
    assert!(files.contains(&"toc_ketamine.svg".to_string()));
    assert!(files.contains(&"roc_overall.svg".to_string()));
    let md = std::fs::read_to_string(a.join("model-card.md")).unwrap();
    assert!(md.contains("## Evaluation"));
    assert!(md.contains("![roc_TMS.svg](roc_TMS.svg)"));
    assert!(md.contains("Apparent performance (600 of 600 patients were in training)"));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("model-card.json")).unwrap()).unwrap();
    assert!(v["evaluation"]["overall"]["auc"]["ci_low"]
        .as_f64()
        .is_some());
    assert_eq!(v["plots"].as_array().unwrap().len(), 17);
    // The treatment-selection evidence, with its TOC plots.
    assert!(md.contains("## Evidence for treatment selection"), "{md}");
    assert!(md.contains("| everyone gets their recommended arm |"));
    assert!(md.contains("![toc_TMS.svg](toc_TMS.svg)"));
    assert_eq!(v["effects"]["control"], "SSRI");
    assert_eq!(v["effects"]["outcome_predictions"], "model");
    assert!(v["effects"]["policy"]["recommended"]["se"]
        .as_f64()
        .is_some());
    let b = run("b");
    for f in &files {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
}

#[test]
fn bad_output_folder_and_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "regular", "x");
    let bad = format!("{file}/card");
    fails(
        responder().args([
            "report",
            "--model",
            &repo("models/example.json"),
            "--out",
            &bad,
        ]),
        &["cannot create the report folder", &bad],
    );
    fails(
        responder().args(["report", "--model", "nope.json", "--out", &bad]),
        &["cannot read model `nope.json`"],
    );
    let out = dir.path().join("card").display().to_string();
    fails(
        responder()
            .args(["report", "--model", &repo("models/example.json")])
            .args(example_data())
            .args(["--target", "outcome", "--out", &out]),
        &["missing column `outcome`"],
    );
}
