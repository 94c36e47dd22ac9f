//! Integration tests of `responder train`, including every bad input the
//! foundation issue names.

use crate::common::*;
use crate::eval_common::ok;

use std::path::Path;

fn train_cmd(data: &str, out: &Path) -> assert_cmd::Command {
    let mut c = responder();
    c.args(["train", "--data", data, "--target", "responder", "--out"])
        .arg(out);
    c
}

fn bundle(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn example_bundle_is_reproduced_byte_for_byte() {
    // The documented command that made models/example.json.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("example.json");
    responder()
        .args([
            "train",
            "--data",
            &repo("examples/cohort/clinical.csv"),
            "--genotypes",
            &repo("examples/cohort/genotypes.csv"),
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
            "--param",
            "c=0.1",
            "--seed",
            "42",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let fresh = std::fs::read(&out).unwrap();
    let committed = std::fs::read(root().join("models/example.json")).unwrap();
    assert!(fresh == committed, "retraining changed models/example.json");
}

#[test]
fn per_arm_bundle_holds_one_model_per_therapy_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(80));
    let geno = write(dir.path(), "g.csv", &small_genotypes(80));
    let out = dir.path().join("m.json");
    let assert = train_cmd(&data, &out)
        .args([
            "--genotypes",
            &geno,
            "--therapy-col",
            "therapy",
            "--cv",
            "3",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("80 patients in both files"), "{stderr}");
    assert!(stderr.contains("arm A: n=40"), "{stderr}");
    assert!(stderr.contains("CV AUC"), "{stderr}");
    let b = bundle(&out);
    assert_eq!(b["format"], "responder-model");
    assert_eq!(b["format_version"], 2);
    assert_eq!(b["arms"].as_array().unwrap().len(), 2);
    assert_eq!(b["arms"][0]["therapy"], "A");
    assert_eq!(b["arms"][0]["cv"]["folds"], 3);
    assert_eq!(b["arms"][0]["model"]["algorithm"], "logistic");
    let kinds: Vec<(String, String)> = b["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("age".into(), "numeric".into()),
            ("sex".into(), "categorical".into()),
            ("score".into(), "numeric".into()),
            ("rs1".into(), "dosage".into()),
            ("rs2".into(), "dosage".into())
        ]
    );
    assert_eq!(b["training"]["n"], 80);
    assert_eq!(b["training"]["files"][0]["name"], "c.csv");
    assert_eq!(
        b["training"]["files"][0]["sha256"].as_str().unwrap().len(),
        64
    );
    // Patient IDs appear only with the cross-fitted predictions...
    let mut without = b.clone();
    without.as_object_mut().unwrap().remove("cross_fitted");
    assert!(!without.to_string().contains("P001"));
    assert_eq!(b["cross_fitted"]["ids"][1], "P001");
    // ...and not at all with --no-cross-fitted.
    train_cmd(&data, &out)
        .args([
            "--genotypes",
            &geno,
            "--therapy-col",
            "therapy",
            "--cv",
            "3",
            "--no-cross-fitted",
        ])
        .assert()
        .success();
    assert!(!std::fs::read_to_string(&out).unwrap().contains("P001"));
}

#[test]
fn same_seed_same_bytes_other_seed_other_folds() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(60));
    let run = |seed: &str, name: &str| {
        let out = dir.path().join(name);
        train_cmd(&data, &out)
            .args(["--seed", seed, "--cv", "3"])
            .assert()
            .success();
        std::fs::read(out).unwrap()
    };
    assert_eq!(run("5", "a.json"), run("5", "b.json"));
    assert_ne!(run("5", "a.json"), run("6", "c.json"));
}

#[test]
fn one_arm_with_therapy_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(60));
    let out = dir.path().join("m.json");
    train_cmd(&data, &out)
        .args(["--therapy-col", "therapy", "--therapy", "B", "--cv", "3"])
        .assert()
        .success();
    let b = bundle(&out);
    assert_eq!(b["arms"].as_array().unwrap().len(), 1);
    assert_eq!(b["arms"][0]["therapy"], "B");
    assert_eq!(b["arms"][0]["n"], 30);
}

#[test]
fn therapy_column_is_never_a_feature_and_features_exclude_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(60));
    let out = dir.path().join("m.json");
    train_cmd(&data, &out)
        .args([
            "--features",
            "age,score,sex",
            "--exclude",
            "sex",
            "--categorical",
            "age",
        ])
        .args(["--therapy-col", "therapy", "--cv", "0"])
        .assert()
        .success();
    let b = bundle(&out);
    let names: Vec<&str> = b["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["age", "score"]);
    assert_eq!(b["features"][0]["kind"], "categorical");
    assert!(b["arms"][0]["cv"].is_null());
}

#[test]
fn positive_label_and_numeric_threshold_targets() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("patient_id,x,outcome,change\n");
    for i in 0..40 {
        let good = (i * 7) % 10 < 5;
        text.push_str(&format!(
            "P{i},{},{},{}\n",
            i % 10,
            if good { "remission" } else { "none" },
            if good { -60 } else { -10 }
        ));
    }
    let data = write(dir.path(), "t.tsv", &text.replace(',', "\t"));
    let out = dir.path().join("m.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "outcome",
            "--positive",
            "remission",
        ])
        .args(["--exclude", "change", "--cv", "2", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(bundle(&out)["target"]["rule"]["rule"], "positive");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "change",
            "--responder-if",
            "<= -50",
        ])
        .args(["--exclude", "outcome", "--cv", "2", "--out"])
        .arg(&out)
        .assert()
        .success();
    let b = bundle(&out);
    assert_eq!(b["target"]["description"], "`change` <= -50");
    assert_eq!(b["arms"][0]["responders"], 20);
}

#[test]
fn missing_targets_are_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = small_clinical(40);
    text.push_str("P900,30,F,10,A,\nP901,31,M,12,B,NA\n");
    let data = write(dir.path(), "c.csv", &text);
    let out = dir.path().join("m.json");
    let a = train_cmd(&data, &out)
        .args(["--cv", "2"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        stderr.contains("2 rows with a missing `responder` are left out"),
        "{stderr}"
    );
    assert_eq!(bundle(&out)["training"]["n_missing_target"], 2);
    assert_eq!(bundle(&out)["training"]["n"], 40);
}

#[test]
fn reads_gzip_stdin_and_plink_raw() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let clinical = small_clinical(60);
    // gzip-compressed data file
    let gz = dir.path().join("c.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(clinical.as_bytes()).unwrap();
    enc.finish().unwrap();
    // PLINK .raw genotypes, IDs in IID
    let mut raw = String::from("FID IID PAT MAT SEX PHENOTYPE rs1_A rs2_G\n");
    for i in 0..60 {
        raw.push_str(&format!("F{i} P{i:03} 0 0 1 -9 {} NA\n", i % 3));
    }
    let raw_path = write(dir.path(), "g.raw", &raw);
    let out1 = dir.path().join("m1.json");
    train_cmd(&gz.display().to_string(), &out1)
        .args(["--genotypes", &raw_path, "--cv", "2"])
        .assert()
        .success();
    let b = bundle(&out1);
    assert_eq!(b["features"].as_array().unwrap().len(), 6);
    // .raw columns are named by SNP ID; the counted allele goes to `genotypes`
    assert_eq!(b["features"][5]["name"], "rs2");
    assert_eq!(b["genotypes"]["alleles"]["rs2"]["counted"], "G");
    // stdin gives the same model as the file (file names aside)
    let out2 = dir.path().join("m2.json");
    train_cmd("-", &out2)
        .args(["--genotypes", &raw_path, "--cv", "2"])
        .write_stdin(clinical)
        .assert()
        .success();
    let b2 = bundle(&out2);
    assert_eq!(b["arms"], b2["arms"]);
    assert_eq!(b2["training"]["files"][0]["name"], "<stdin>");
}

// ---- bad input: exit 1, one message naming file, line, column; no output left ----

fn assert_no_output(dir: &Path, before: &[&str]) {
    assert_eq!(files_in(dir), before, "a failed run left files behind");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    fails(
        &mut train_cmd("nope.csv", &dir.path().join("m.json")),
        &["cannot read `nope.csv`", "No such file"],
    );
    assert_no_output(dir.path(), &[]);
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "empty.csv", "");
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &["empty.csv: the file is empty"],
    );
    assert_no_output(dir.path(), &["empty.csv"]);
}

#[test]
fn header_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "h.csv", "patient_id,age,responder\n");
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &["h.csv", "header line but no data rows"],
    );
    assert_no_output(dir.path(), &["h.csv"]);
}

#[test]
fn absent_id_target_and_therapy_columns_list_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    let out = dir.path().join("m.json");
    fails(
        train_cmd(&data, &out).args(["--id", "subject"]),
        &[
            "c.csv: missing column `subject`",
            "the file has: `patient_id`, `age`",
        ],
    );
    fails(
        responder()
            .args(["train", "--data", &data, "--target", "remitted", "--out"])
            .arg(&out),
        &["c.csv: missing column `remitted`", "`therapy`, `responder`"],
    );
    fails(
        train_cmd(&data, &out).args(["--therapy-col", "arm"]),
        &["c.csv: missing column `arm`", "`therapy`"],
    );
    assert_no_output(dir.path(), &["c.csv"]);
}

#[test]
fn duplicate_patient_id_names_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = small_clinical(10);
    text.push_str("P003,50,F,20,A,1\n");
    let data = write(dir.path(), "c.csv", &text);
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &["c.csv, column `patient_id`: duplicate patient ID `P003` on lines 5 and 12"],
    );
    // and in the genotype file
    let data = write(dir.path(), "c2.csv", &small_clinical(10));
    let mut g = small_genotypes(10);
    g.push_str("P001,0,0\n");
    let geno = write(dir.path(), "g.csv", &g);
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args(["--genotypes", &geno]),
        &["g.csv, column `patient_id`: duplicate patient ID `P001` on lines 3 and 12"],
    );
}

#[test]
fn non_numeric_cell_in_a_numeric_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = small_clinical(30).replacen("P004,24,M,", "P004,twenty,M,", 1);
    let data = write(dir.path(), "c.csv", &text);
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &[
            "c.csv, line 6, column `age`: `twenty` is not a number",
            "--categorical age",
        ],
    );
    assert_no_output(dir.path(), &["c.csv"]);
}

#[test]
fn non_numeric_and_out_of_range_dosages() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    let bad = small_genotypes(20).replacen("P002,2,0", "P002,AG,0", 1);
    let geno = write(dir.path(), "g.csv", &bad);
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args(["--genotypes", &geno]),
        &["g.csv, line 4, column `rs1`: `AG` is not a dosage"],
    );
    let bad = small_genotypes(20).replacen("P005,2,1", "P005,2,3", 1);
    let geno = write(dir.path(), "g2.csv", &bad);
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args(["--genotypes", &geno]),
        &["g2.csv, line 7, column `rs2`: dosage `3` is outside 0–2"],
    );
    assert_no_output(dir.path(), &["c.csv", "g.csv", "g2.csv"]);
}

#[test]
fn one_class_target() {
    let dir = tempfile::tempdir().unwrap();
    let text = "patient_id,x,responder\nP1,1,1\nP2,2,1\nP3,3,1\n";
    let data = write(dir.path(), "c.csv", text);
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &["c.csv, column `responder`: the target has one class only (3 responders, 0 non-responders"],
    );
}

#[test]
fn more_than_two_labels_without_positive() {
    let dir = tempfile::tempdir().unwrap();
    let text = "patient_id,x,responder\nP1,1,full\nP2,2,partial\nP3,3,none\nP4,3,none\n";
    let data = write(dir.path(), "c.csv", text);
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &[
            "c.csv, column `responder`: the target is not 0/1",
            "3 labels",
            "--positive",
        ],
    );
    // two unknown labels: asks for --positive
    let text = "patient_id,x,responder\nP1,1,good\nP2,2,bad\n";
    let data = write(dir.path(), "d.csv", text);
    fails(
        &mut train_cmd(&data, &dir.path().join("m.json")),
        &["d.csv, column `responder`", "--positive LABEL"],
    );
    // --positive with three labels
    let data = write(
        dir.path(),
        "e.csv",
        "patient_id,x,responder\nP1,1,full\nP2,2,partial\nP3,3,none\n",
    );
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args(["--positive", "full"]),
        &["e.csv, column `responder`: the target has 3 labels"],
    );
}

#[test]
fn therapy_that_is_not_an_arm_lists_the_arms() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args([
            "--therapy-col",
            "therapy",
            "--therapy",
            "ECT",
        ]),
        &["c.csv, column `therapy`: --therapy `ECT` is not an arm; the arms are: `A`, `B`"],
    );
}

#[test]
fn arm_too_small_for_cv() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = small_clinical(40);
    text.push_str("P900,30,F,10,C,1\nP901,30,F,40,C,0\nP902,30,F,45,C,1\n");
    let data = write(dir.path(), "c.csv", &text);
    // One non-responder: no model can be cross-validated.
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args(["--therapy-col", "therapy"]),
        &["c.csv, column `responder`: arm `C` has 2 responders and 1 non-responders; a model needs at least 2 of each"],
    );
    assert_no_output(dir.path(), &["c.csv"]);
    // Two of each, fewer than the 5 folds: trained, flagged weak, stored.
    text.push_str("P903,31,M,12,C,0\n");
    let data = write(dir.path(), "c.csv", &text);
    let model = dir.path().join("m.json");
    let (_, err) = ok(train_cmd(&data, &model).args(["--therapy-col", "therapy"]));
    assert!(
        err.contains("arm `C`")
            && err.contains("2 responders and 2 non-responders: too few for its 5 folds"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    let c = v["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["therapy"] == "C")
        .unwrap();
    assert_eq!(c["cv"]["folds"], 5);
    assert!(c["cv"]["auc_mean"].as_f64().is_some());
    // `auto` needs 4 of each (nested CV).
    fails(
        train_cmd(&data, &dir.path().join("a.json")).args(["--therapy-col", "therapy", "--algorithm", "auto"]),
        &["arm `C` has 2 responders and 2 non-responders; --algorithm auto (nested CV) needs at least 4 of each"],
    );
}

#[test]
fn no_common_ids_between_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    let geno = write(
        dir.path(),
        "g.csv",
        &small_genotypes(20).replace("P0", "X0"),
    );
    fails(
        train_cmd(&data, &dir.path().join("m.json")).args(["--genotypes", &geno]),
        &[
            "g.csv, column `patient_id`: no patient ID in common with",
            "c.csv",
        ],
    );
}

#[test]
fn unwritable_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    fails(
        &mut train_cmd(&data, &dir.path().join("no-such-dir").join("m.json")),
        &["cannot write", "no-such-dir/m.json"],
    );
    fails(
        &mut train_cmd(&data, dir.path()),
        &["cannot write", "directory"],
    );
}

#[test]
fn bad_flags_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    let out = dir.path().join("m.json");
    fails_usage(
        train_cmd(&data, &out).args(["--param", "gamma=2"]),
        &["unknown parameter `gamma` for logistic; valid: c (default 1.0)"],
    );
    fails_usage(
        train_cmd(&data, &out).args(["--algorithm", "deep-net"]),
        &["unknown algorithm `deep-net`; available: logistic"],
    );
    fails_usage(
        train_cmd(&data, &out).args(["--cv", "1"]),
        &["--cv must be 0"],
    );
    fails(
        train_cmd(&data, &out).args(["--features", "age,height"]),
        &["missing column `height`"],
    );
    fails_usage(
        train_cmd(&data, &out).args(["--responder-if", "big"]),
        &["--responder-if `big`"],
    );
    assert_no_output(dir.path(), &["c.csv"]);
}

#[test]
fn every_algorithm_trains_scores_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(90));
    for algo in [
        "logistic",
        "elastic-net",
        "tree",
        "forest",
        "svm",
        "naive-bayes",
        "knn",
        "boosting",
    ] {
        let a = dir.path().join(format!("{algo}-a.json"));
        let b = dir.path().join(format!("{algo}-b.json"));
        for out in [&a, &b] {
            let o = train_cmd(&data, out)
                .args([
                    "--algorithm",
                    algo,
                    "--cv",
                    "3",
                    "--seed",
                    "9",
                    "--therapy-col",
                    "therapy",
                ])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{algo}: {stderr}");
            if algo == "knn" {
                assert!(stderr.contains("keeps training rows"), "{stderr}");
            }
        }
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{algo}"
        );
        let v = bundle(&a);
        assert_eq!(v["algorithm"], algo);
        assert_eq!(v["arms"][0]["model"]["algorithm"], algo);
        assert_eq!(v["training"]["holds_patient_rows"], algo == "knn");
        let s = responder()
            .args(["score", "--model"])
            .arg(&a)
            .args(["--data", &data, "--format", "csv"])
            .output()
            .unwrap();
        assert!(s.status.success(), "{algo}");
        assert_eq!(String::from_utf8_lossy(&s.stdout).lines().count(), 91);
        let inspect = responder().arg("inspect").arg(&a).output().unwrap();
        let text = String::from_utf8_lossy(&inspect.stdout);
        assert_eq!(
            text.contains("KEEPS training rows"),
            algo == "knn",
            "{algo}: {text}"
        );
    }
}

#[test]
fn auto_chooses_per_arm_and_stores_the_nested_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(120));
    let out = dir.path().join("auto.json");
    let o = train_cmd(&data, &out)
        .args([
            "--algorithm",
            "auto",
            "--cv",
            "3",
            "--therapy-col",
            "therapy",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("nested-CV AUC"), "{stderr}");
    assert!(stderr.contains("chose "), "{stderr}");
    let b = bundle(&out);
    assert_eq!(b["algorithm"], "auto");
    let arm = &b["arms"][0];
    assert_eq!(arm["selection"]["inner_folds"], 3);
    assert_eq!(arm["selection"]["candidates"].as_array().unwrap().len(), 10);
    assert_eq!(
        arm["selection"]["outer_choices"].as_array().unwrap().len(),
        3
    );
    assert_eq!(arm["cv"]["folds"], 3);
    assert_eq!(arm["model"]["algorithm"], arm["algorithm"]["algorithm"]);
    fails_usage(
        train_cmd(&data, &out).args(["--algorithm", "auto", "--param", "c=1"]),
        &["--param cannot be combined with --algorithm auto"],
    );
    fails_usage(
        train_cmd(&data, &out).args(["--algorithm", "auto", "--cv", "0"]),
        &["--algorithm auto needs --cv of at least 2"],
    );
}

#[test]
fn s_learner_bundle_and_cross_fitted_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(90));
    let out = dir.path().join("s.json");
    train_cmd(&data, &out)
        .args([
            "--therapy-col",
            "therapy",
            "--strategy",
            "s-learner",
            "--cv",
            "3",
        ])
        .assert()
        .success();
    let b = bundle(&out);
    assert_eq!(b["strategy"], "s-learner");
    assert_eq!(b["arms"][0]["design"]["design"], "s-learner");
    assert_eq!(b["arms"][1]["design"]["arm"], 1);
    // Not a lasso: the interactions are penalised as the shared inputs.
    assert!(b["arms"][1]["design"].get("deviation_penalty").is_none());
    // one model over 3 features → 4 outputs (sex one-hot) + 2 indicators + 2×4 interactions
    assert_eq!(
        b["arms"][0]["model"]["coefficients"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    assert_eq!(b["arms"][0]["cv"]["folds"], 3);
    let cf = &b["cross_fitted"];
    assert_eq!(cf["ids"].as_array().unwrap().len(), 90);
    assert_eq!(cf["p"].as_array().unwrap().len(), 2);
    // A T-learner stores them too; --no-cross-fitted leaves them out.
    let t = dir.path().join("t.json");
    train_cmd(&data, &t)
        .args(["--therapy-col", "therapy", "--cv", "3"])
        .assert()
        .success();
    assert_eq!(
        bundle(&t)["cross_fitted"]["received"]
            .as_array()
            .unwrap()
            .len(),
        90
    );
    train_cmd(&data, &t)
        .args(["--therapy-col", "therapy", "--cv", "3", "--no-cross-fitted"])
        .assert()
        .success();
    assert!(bundle(&t)["cross_fitted"].is_null());
    fails_usage(
        train_cmd(&data, &out).args(["--strategy", "s-learner"]),
        &["--strategy s-learner needs --therapy-col"],
    );
    fails_usage(
        train_cmd(&data, &out).args([
            "--therapy-col",
            "therapy",
            "--strategy",
            "s-learner",
            "--algorithm",
            "auto",
        ]),
        &["--strategy s-learner takes a fixed --algorithm"],
    );
}

#[test]
fn a_fit_stopped_at_its_iteration_limit_is_recorded_and_warned() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(120));
    for (alg, param) in [("logistic", "max_iter=1"), ("elastic-net", "max_iter=1")] {
        let out = dir.path().join(format!("{alg}.json"));
        let assert = train_cmd(&data, &out)
            .args([
                "--therapy-col",
                "therapy",
                "--algorithm",
                alg,
                "--param",
                param,
            ])
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.contains("stopped at its iteration limit before converging"),
            "{alg}: {stderr}"
        );
        let b = bundle(&out);
        assert_eq!(b["arms"][0]["model"]["not_converged"], true, "{alg}");
        let card = dir.path().join(format!("card-{alg}"));
        responder()
            .args(["report", "--model"])
            .arg(&out)
            .arg("--out")
            .arg(&card)
            .assert()
            .success();
        let md = std::fs::read_to_string(card.join("model-card.md")).unwrap();
        assert!(md.contains("before converging"), "{alg}");
    }
    // The usual fit converges and stores no such key.
    let out = dir.path().join("ok.json");
    train_cmd(&data, &out).assert().success();
    assert!(bundle(&out)["arms"][0]["model"]
        .get("not_converged")
        .is_none());
}

/// `--log-skewed`: CRP and episode length of `simulate` (log-normal) are
/// log-transformed with `--algorithm auto` by default and with `on`, not
/// with a fixed algorithm by default or with `off`; stderr names them; a
/// CRP of 0 at scoring is read as the training minimum and counted.
#[test]
fn skewed_positive_columns_are_log_transformed() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 300, 5, 3, &[]);
    let logged = |extra: &[&str]| -> (Vec<String>, String, std::path::PathBuf) {
        let out = dir.path().join(format!("m{}.json", extra.join("_")));
        let o = responder()
            .args([
                "train",
                "--data",
                &data,
                "--target",
                "responder",
                "--cv",
                "2",
            ])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let names = b["arms"][0]["pipeline"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f.get("log").is_some())
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        (names, stderr, out)
    };
    let both = vec!["crp".to_string(), "episode_months".to_string()];
    let (auto, stderr, auto_model) = logged(&["--algorithm", "auto"]);
    let mut sorted = auto.clone();
    sorted.sort();
    assert_eq!(sorted, both);
    assert!(
        stderr.contains("log-transformed") && stderr.contains("`crp`"),
        "{stderr}"
    );
    assert!(logged(&["--algorithm", "logistic"]).0.is_empty());
    assert_eq!(
        logged(&["--algorithm", "logistic", "--log-skewed", "on"])
            .0
            .len(),
        2
    );
    // The model card says so (TRIPOD+AI item 7) and the predictor table
    // gives the median on both scales.
    let card = dir.path().join("card");
    responder()
        .args(["report", "-q", "--model"])
        .arg(&auto_model)
        .arg("--out")
        .arg(&card)
        .assert()
        .success();
    let md: String = std::fs::read_dir(&card)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        md.contains("a natural log of the strictly positive, right-skewed predictors")
            && md.contains("training median of the log"),
        "{md}"
    );
    let (off, stderr, _) = logged(&["--algorithm", "auto", "--log-skewed", "off"]);
    assert!(
        off.is_empty() && !stderr.contains("log-transformed"),
        "{stderr}"
    );
    // A CRP of 0 (and one below 0) when scoring: counted, read as the minimum.
    let text = std::fs::read_to_string(&data).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let crp = header.iter().position(|h| *h == "crp").unwrap();
    let mut lines: Vec<String> = text.lines().take(6).map(str::to_string).collect();
    for l in lines.iter_mut().skip(1).take(2) {
        let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
        cells[crp] = "0".into();
        *l = cells.join(",");
    }
    let zero = write(dir.path(), "zero.csv", &(lines.join("\n") + "\n"));
    let o = responder()
        .args(["score", "--model"])
        .arg(&auto_model)
        .args(["--data", &zero])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 patients have a `crp` of 0 or less")
            && stderr.contains("read as the smallest training value"),
        "{stderr}"
    );
}

/// `--algorithm lasso` on a genotype cohort: only the SNP dosages are
/// penalised (the clinical inputs and, with `penalize=genotypes`, the
/// S-learner's arm indicators and clinical interactions are not), skewed
/// columns are log-transformed, bootstrap replicates refit at the penalty
/// and relaxation the model chose, the bundle is deterministic and scores
/// with intervals; a bad parameter is a usage error.
#[test]
fn lasso_penalises_the_genotypes_and_keeps_its_choice_in_replicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 900, 30, 3, &[]);
    let geno = dir.path().join("c/genotypes.csv").display().to_string();
    let train = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = responder()
            .args(["train", "--data", &data, "--genotypes", &geno])
            .args(["--target", "responder", "--therapy-col", "therapy"])
            .args(["--algorithm", "lasso", "--cv", "3", "--seed", "4", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{stderr}");
        (out, stderr)
    };
    let (t, stderr) = train("t.json", &["--replicates", "3"]);
    assert!(stderr.contains("log-transformed"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    for arm in v["arms"].as_array().unwrap() {
        let m = &arm["model"];
        assert_eq!(m["algorithm"], "lasso");
        assert_eq!(m["penalized"], 30, "{m}");
        assert!(m["coefficients"].as_array().unwrap().len() > 30);
        let reps = arm["replicates"].as_array().unwrap();
        assert_eq!(reps.len(), 3);
        for r in reps {
            assert_eq!((&r["lambda"], &r["relax"]), (&m["lambda"], &m["relax"]));
        }
    }
    assert_eq!(
        std::fs::read(&t).unwrap(),
        std::fs::read(train("again.json", &["--replicates", "3"]).0).unwrap()
    );
    let intervals = |m: &Path| scored_with_intervals(m, &data, &geno);
    let scored = intervals(&t);
    assert!(
        scored.lines().next().unwrap().contains("effect_"),
        "{scored}"
    );
    // `inspect` shows each arm's choice.
    let text = stdout_of(responder().arg("inspect").arg(&t));
    assert!(
        text.contains("fitted SSRI: lasso λ") && text.contains("of 30 penalised inputs kept"),
        "{text}"
    );
    // `explain` shows a per-arm lasso's coefficients, as a logistic's.
    let text = stdout_of(responder().args(["explain", "--model"]).arg(&t));
    assert!(
        text.contains("odds ratio") && text.contains("(lasso) =="),
        "{text}"
    );
    // The S-learner: 30 dosages and their three interaction blocks.
    let (s, _) = train(
        "s.json",
        &[
            "--strategy",
            "s-learner",
            "--param",
            "penalize=genotypes",
            "--replicates",
            "2",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&s).unwrap()).unwrap();
    assert_eq!(v["arms"][0]["model"]["penalized"], 120);
    // The data-shared lasso: each arm's interactions penalised by √(n_a / n).
    let sizes: Vec<f64> = (0..3)
        .map(|a| v["arms"][a]["n"].as_f64().unwrap())
        .collect();
    for (a, n_a) in sizes.iter().enumerate() {
        let r = v["arms"][a]["design"]["deviation_penalty"]
            .as_f64()
            .unwrap();
        let want = (n_a / sizes.iter().sum::<f64>()).sqrt();
        assert!((r - want).abs() < 1e-15, "arm {a}: {r} vs {want}");
    }
    // Scoring builds the inputs with the stored weights: the same bundle
    // with arm 0's weight edited to 1 scores arm 0 differently, arm 1 not.
    let scored = |bundle: &std::path::Path, name: &str| {
        let out = dir.path().join(name);
        responder()
            .args(["score", "--model"])
            .arg(bundle)
            .args([
                "--data",
                &data,
                "--genotypes",
                &geno,
                "--format",
                "csv",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        let text = std::fs::read_to_string(out).unwrap();
        let rows: Vec<Vec<String>> = text
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        let col = |c: &str| rows[0].iter().position(|h| h == c).unwrap();
        let p = |a: usize| col(&format!("p_{}", v["arms"][a]["therapy"].as_str().unwrap()));
        let (id, p0, p1) = (col("patient_id"), p(0), p(1));
        // Rows are ranked: key them by patient.
        let mut by_id: Vec<_> = rows[1..]
            .iter()
            .map(|r| (r[id].clone(), r[p0].clone(), r[p1].clone()))
            .collect();
        by_id.sort();
        by_id
            .into_iter()
            .map(|(_, a, b)| (a, b))
            .collect::<Vec<_>>()
    };
    // A data-shared bundle is format version 3 (older responders would
    // ignore the weights); its replicates were fitted with the same inputs,
    // so scoring with intervals centres them on the model's effect.
    assert_eq!(v["format_version"], 3);
    let edit = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let mut e = v.clone();
        f(&mut e);
        let path = dir.path().join(name);
        std::fs::write(&path, e.to_string()).unwrap();
        path
    };
    // Equal penalties on every arm (the form before the data-shared lasso)
    // are read, and scoring uses them: arm 0's scores change.
    let ones = edit("ones.json", &|e| {
        for a in 0..3 {
            e["arms"][a]["design"]["deviation_penalty"] = serde_json::json!(1.0);
        }
    });
    let (before, after) = (scored(&s, "s1.csv"), scored(&ones, "s2.csv"));
    assert!(before.iter().zip(&after).any(|(x, y)| x.0 != y.0));
    // One arm's weight edited alone is refused, naming the weight it must have.
    let one = edit("one.json", &|e| {
        e["arms"][0]["design"]["deviation_penalty"] = serde_json::json!(1.0);
    });
    fails(
        responder().arg("inspect").arg(&one),
        &[
            "arms[0]",
            "deviation_penalty` is 1",
            "data-shared lasso's weight",
        ],
    );
    let old = edit("old.json", &|e| e["format_version"] = serde_json::json!(2));
    fails(
        responder().arg("inspect").arg(&old),
        &["needs `format_version` 3"],
    );
    // Intervals from its two replicates.
    let with = intervals(&s);
    assert!(with.lines().next().unwrap().contains("_low"), "{with}");
    // The model card names the data-shared lasso and its weights.
    let card = dir.path().join("card");
    responder()
        .args(["report", "--model"])
        .arg(&s)
        .arg("--out")
        .arg(&card)
        .assert()
        .success();
    let card = std::fs::read_to_string(card.join("model-card.md")).unwrap();
    let r0 = v["arms"][0]["design"]["deviation_penalty"]
        .as_f64()
        .unwrap();
    let therapy = v["arms"][0]["therapy"].as_str().unwrap();
    assert!(
        card.contains("data-shared lasso") && card.contains(&format!("{therapy} {r0:.3}")),
        "{card}"
    );
    let (all, _) = train("all.json", &["--param", "penalize=all"]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&all).unwrap()).unwrap();
    let m = &v["arms"][0]["model"];
    assert_eq!(m["penalized"], m["coefficients"].as_array().unwrap().len());
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--algorithm", "lasso", "--param", "penalize=clinical"])
            .args(["--out", "x.json"]),
        &["penalize must be auto, genotypes or all"],
    );
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--algorithm", "lasso", "--param", "adaptive=cv"])
            .args(["--param", "relax=0", "--out", "x.json"]),
        &["--param adaptive and --param relax", "give one of them"],
    );
}

/// Without --algorithm, the effect learners fit lasso outcome models with
/// the adaptive refit on SNP dosages (the same bundle as `--algorithm lasso
/// --param adaptive=cv`, every model storing its μ; `--algorithm lasso`
/// alone keeps relax=cv); without genotypes,
/// with --genotypes-as pcs, with --param or for the T-learner, logistic.
#[test]
fn effect_learners_default_to_the_lasso_on_snp_dosages() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 600, 20, 5, &[]);
    let geno = dir.path().join("c/genotypes.csv").display().to_string();
    let train = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--cv", "2", "--seed", "3"])
            .args(["--replicates", "2", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{stderr}");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let algorithm = v["arms"][0]["model"]["algorithm"]
            .as_str()
            .unwrap()
            .to_string();
        // Every arm's parameters, the same on all.
        let arms = v["arms"].as_array().unwrap();
        assert!(arms
            .iter()
            .all(|arm| arm["algorithm"] == arms[0]["algorithm"]));
        // Replicates refit at the model's penalty and adaptive μ (if any).
        for arm in arms {
            for r in arm["replicates"].as_array().unwrap() {
                assert_eq!(
                    (&r["lambda"], &r["adaptive"]),
                    (&arm["model"]["lambda"], &arm["model"]["adaptive"])
                );
            }
        }
        // The refit asked for (relax, adaptive) and the μ the model stored.
        let refit = (
            arms[0]["algorithm"]["relax"].clone(),
            arms[0]["algorithm"]["adaptive"].clone(),
            arms[0]["model"]["adaptive"].clone(),
        );
        (out, algorithm, stderr, refit)
    };
    let g = ["--genotypes", geno.as_str()];
    let dr = [&g[..], &["--strategy", "dr-learner"]].concat();
    let (default, algorithm, stderr, refit) = train("default.json", &dr);
    assert_eq!(algorithm, "lasso");
    assert!(
        stderr.contains(
            "outcome models: lasso with adaptive=cv, the default of --strategy dr-learner on SNP dosages"
        ) && stderr.contains("--algorithm lasso for the relax blend"),
        "{stderr}"
    );
    assert!(refit.0.is_null() && refit.1 == "cv", "{refit:?}");
    assert!(refit.2.as_f64().is_some_and(|mu| mu > 0.0), "{refit:?}");
    let explicit = [&dr[..], &["--algorithm", "lasso", "--param", "adaptive=cv"]].concat();
    let (given, _, stderr, _) = train("given.json", &explicit);
    assert!(!stderr.contains("outcome models:"), "{stderr}");
    assert_eq!(
        std::fs::read(&default).unwrap(),
        std::fs::read(given).unwrap()
    );
    // --algorithm lasso alone: the relaxation chosen by internal CV.
    let (.., refit) = train("cv.json", &[&dr[..], &["--algorithm", "lasso"]].concat());
    assert!(
        refit.0.is_null() && refit.1.is_null() && refit.2.is_null(),
        "{refit:?}"
    );
    for (name, extra) in [
        ("x.json", [&g[..], &["--strategy", "x-learner"]].concat()),
        ("ae.json", [&g[..], &["--strategy", "auto-effect"]].concat()),
    ] {
        assert_eq!(train(name, &extra).1, "lasso", "{extra:?}");
    }
    let (_, algorithm, stderr, _) = train("t.json", &g);
    assert_eq!(algorithm, "logistic");
    assert!(
        stderr.contains("outcome models: logistic, the default of --strategy t-learner")
            && stderr.contains("--algorithm lasso"),
        "{stderr}"
    );
    for (name, extra) in [
        ("nogeno.json", vec!["--strategy", "dr-learner"]),
        ("param.json", [&dr[..], &["--param", "c=0.1"]].concat()),
        // --features leaves the SNPs out: no dosage is an input.
        (
            "features.json",
            [&dr[..], &["--features", "age,madrs_baseline,crp"]].concat(),
        ),
        (
            "pcs.json",
            [&dr[..], &["--genotype-pcs", "2", "--genotypes-as", "pcs"]].concat(),
        ),
    ] {
        assert_eq!(train(name, &extra).1, "logistic", "{extra:?}");
    }
}
