//! Integration tests of `responder evaluate`, including its bad inputs.

use crate::common::*;
use crate::eval_common::*;

use serde_json::Value;

/// `evaluate` on the example cohort; `--target` defaults to the model's.
fn example_eval(extra: &[&str]) -> assert_cmd::Command {
    let mut c = responder();
    c.args(["evaluate", "--model", &repo("models/example.json")])
        .args(example_data())
        .args(["--bootstrap", "300"])
        .args(extra);
    c
}

#[test]
fn example_json_has_every_arm_and_metric() {
    let (out, err) = ok(&mut example_eval(&[
        "--format",
        "json",
        "--target",
        "responder",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["target"], "responder");
    for key in [
        "model",
        "data",
        "target",
        "outcome",
        "threshold",
        "bootstrap",
        "seed",
        "n_rows",
        "n_missing_target",
        "n_missing_therapy",
        "n_unknown_therapy",
        "arms",
        "overall",
        "warnings",
        "plots",
    ] {
        assert!(v.get(key).is_some(), "no `{key}`");
    }
    assert_eq!(v["n_rows"], 600);
    let arms = v["arms"].as_array().unwrap();
    let names: Vec<&str> = arms.iter().map(|a| a["arm"].as_str().unwrap()).collect();
    assert_eq!(names, ["SSRI", "TMS", "ketamine"]);
    let overall = &v["overall"];
    assert_eq!(overall["arm"], "overall");
    assert_eq!(overall["n"], 600);
    assert_eq!(
        arms.iter().map(|a| a["n"].as_u64().unwrap()).sum::<u64>(),
        600
    );
    for g in arms.iter().chain(std::iter::once(overall)) {
        let auc = &g["auc"];
        let est = auc["estimate"].as_f64().unwrap();
        assert!(auc["ci_low"].as_f64().unwrap() < est && est < auc["ci_high"].as_f64().unwrap());
        assert!(auc["delong_ci_low"].as_f64().unwrap() < est);
        assert_eq!(auc["bootstrap_replicates"], 300);
        for key in [
            "brier",
            "brier_scaled",
            "log_loss",
            "prevalence",
            "mean_predicted",
        ] {
            assert!(g[key].as_f64().is_some(), "{key}");
        }
        let cal = &g["calibration"];
        assert!(cal["in_the_large"]["estimate"].as_f64().is_some());
        assert!(cal["slope"]["ci_high"].as_f64().is_some());
        let t = &g["threshold"];
        assert_eq!(t["source"], "training prevalence");
        for key in [
            "threshold",
            "sensitivity",
            "specificity",
            "ppv",
            "npv",
            "tp",
            "fp",
            "tn",
            "fn",
        ] {
            assert!(!t[key].is_null(), "threshold.{key}");
        }
        assert!(g["youden"]["threshold"].as_f64().is_some());
        let dc = g["decision_curve"].as_array().unwrap();
        assert_eq!(dc.len(), 19);
        assert_eq!(dc[0]["threshold"], 0.05);
        assert_eq!(dc[0]["treat_none"], 0.0);
        assert!(!g["calibration_bins"].as_array().unwrap().is_empty());
        // The bootstrap band of the model's net benefit holds the estimate.
        for d in dc {
            let (lo, hi) = (
                d["model_ci_low"].as_f64().unwrap(),
                d["model_ci_high"].as_f64().unwrap(),
            );
            let m = d["model"].as_f64().unwrap();
            assert!(lo <= m + 1e-12 && m <= hi + 1e-12, "{d}");
        }
        // The loess curve, its band and the calibration errors.
        let sm = &g["calibration_smooth"];
        assert!(sm["method"].as_str().unwrap().starts_with("loess"));
        let (ici, e90, emax) = (
            sm["ici"].as_f64().unwrap(),
            sm["e90"].as_f64().unwrap(),
            sm["emax"].as_f64().unwrap(),
        );
        assert!(0.0 < ici && ici <= e90 && e90 <= emax && emax < 1.0, "{sm}");
        let curve = sm["curve"].as_array().unwrap();
        assert_eq!(curve.len(), 50);
        assert!(curve
            .iter()
            .all(|c| c["ci_low"].as_f64() < c["ci_high"].as_f64()));
    }
    // Arm thresholds are the training prevalences stored in the bundle.
    let ssri = arms[0]["threshold"]["threshold"].as_f64().unwrap();
    assert!((ssri - 88.0 / 200.0).abs() < 1e-12);
    // The example model is evaluated on its own training data: say so.
    assert!(
        err.contains("apparent performance (600 of 600 patients were in training)"),
        "{err}"
    );
    // Every arm has fewer than 100 of a class: the small-sample warning.
    assert!(err.contains("fewer than 100 in a class"), "{err}");
    assert_eq!(arms[0]["small_sample"], true);
}

#[test]
fn same_seed_same_output_other_seed_other_interval() {
    let (a, _) = ok(&mut example_eval(&["--format", "json", "--seed", "5"]));
    let (b, _) = ok(&mut example_eval(&["--format", "json", "--seed", "5"]));
    assert_eq!(a, b);
    let (c, _) = ok(&mut example_eval(&["--format", "json", "--seed", "6"]));
    assert_ne!(a, c);
    let (t1, _) = ok(&mut example_eval(&["--seed", "5"]));
    let (t2, _) = ok(&mut example_eval(&["--seed", "5"]));
    assert_eq!(t1, t2);
}

#[test]
fn text_output_has_every_section() {
    let (out, _) = ok(&mut example_eval(&[]));
    for needle in [
        "Discrimination and accuracy",
        "Calibration",
        "Classification",
        "Decision curve",
        "95% CI bootstrap",
        "95% CI DeLong",
        "overall",
        "ketamine",
    ] {
        assert!(out.contains(needle), "`{needle}` not in:\n{out}");
    }
}

#[test]
fn threshold_flag_overrides_training_prevalence() {
    let (out, _) = ok(&mut example_eval(&[
        "--format",
        "json",
        "--threshold",
        "0.3",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    for g in v["arms"].as_array().unwrap() {
        assert_eq!(g["threshold"]["threshold"], 0.3);
        assert_eq!(g["threshold"]["source"], "--threshold");
    }
    fails_usage(
        &mut example_eval(&["--threshold", "1.5"]),
        &[
            "--threshold <P>",
            "1.5 is not a probability strictly between 0 and 1",
        ],
    );
}

#[test]
fn missing_labels_are_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let (data, geno) = new_patients(dir.path(), 60);
    // Blank the outcome of every fifth patient, and one with NA.
    let text: String = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && i % 5 == 0 {
                format!("{}\n", l.rsplit_once(',').unwrap().0.to_string() + ",")
            } else if i == 3 {
                format!("{}\n", l.rsplit_once(',').unwrap().0.to_string() + ",NA")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let data = write(dir.path(), "partial.csv", &text);
    let (out, err) = ok(responder()
        .args(["evaluate", "--model"])
        .arg(&model)
        .args([
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--target",
            "responder",
        ])
        .args(["--format", "json", "--bootstrap", "50"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_rows"], 60);
    assert_eq!(v["n_missing_target"], 13);
    assert_eq!(v["overall"]["n"], 47);
    assert!(
        err.contains("partial.csv: 13 patients with a missing `responder` are left out"),
        "{err}"
    );
}

#[test]
fn one_class_file_prints_other_metrics_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let (data, geno) = new_patients(dir.path(), 40);
    let text: String = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                format!("{},1\n", l.rsplit_once(',').unwrap().0)
            }
        })
        .collect();
    let data = write(dir.path(), "responders.csv", &text);
    let mut cmd = responder();
    cmd.args(["evaluate", "--model"])
        .arg(&model)
        .args([
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--target",
            "responder",
        ])
        .args(["--bootstrap", "50"]);
    let (out, err) = ok(&mut cmd);
    assert!(err.contains("AUC is undefined"), "{err}");
    assert!(err.contains("only responders"), "{err}");
    assert!(out.contains("Brier"), "{out}");
    let (out, _) = ok(cmd.args(["--format", "json"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let g = &v["overall"];
    assert!(g["auc"].is_null());
    assert!(g["brier"].as_f64().is_some());
    assert!(g["log_loss"].as_f64().is_some());
    assert!(g["brier_scaled"].is_null());
    assert!(g["calibration"]["slope"].is_null());
    assert!(g["threshold"]["sensitivity"].as_f64().is_some());
    assert!(g["threshold"]["specificity"].is_null());
    assert_eq!(g["decision_curve"].as_array().unwrap().len(), 19);
}

#[test]
fn plots_are_written_as_svg() {
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("deep/plots");
    let (out, err) = ok(example_eval(&["--format", "json", "--plots"]).arg(&plots));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["plots"].as_array().unwrap().len(), 17);
    let files = files_in(&plots);
    for want in [
        "roc_TMS.svg",
        "roc_overall.svg",
        "calibration_SSRI.svg",
        "decision_overall.svg",
        "importance_ketamine.svg",
        "toc_TMS.svg",
    ] {
        assert!(files.contains(&want.to_string()), "{want} not in {files:?}");
    }
    for f in &files {
        let svg = std::fs::read_to_string(plots.join(f)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<text"), "{f}");
    }
    // Calibration: loess curve with band, histogram; decision: band.
    let cal = std::fs::read_to_string(plots.join("calibration_SSRI.svg")).unwrap();
    assert!(
        cal.contains("loess, ICI") && cal.contains("95% band"),
        "{cal}"
    );
    assert!(cal.contains("predicted risks (histogram)") && cal.contains("<polygon"));
    let dec = std::fs::read_to_string(plots.join("decision_overall.svg")).unwrap();
    assert!(dec.contains("bootstrap 95% band") && dec.contains("<polygon"));
    assert!(err.contains("wrote 17 plots"), "{err}");
}

#[test]
fn plots_folder_that_cannot_be_created_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "regular", "x");
    let bad = format!("{file}/plots");
    fails(
        &mut example_eval(&["--plots", &bad]),
        &["cannot create the plot folder", &bad],
    );
}

#[test]
fn missing_file_and_missing_target_column() {
    fails(
        responder().args([
            "evaluate",
            "--model",
            &repo("models/example.json"),
            "--data",
            "no-such-file.csv",
            "--target",
            "responder",
        ]),
        &["cannot read `no-such-file.csv`"],
    );
    fails(
        &mut example_eval(&["--target", "remission"]),
        &["clinical.csv: missing column `remission`", "`responder`"],
    );
    fails(
        responder().args([
            "evaluate",
            "--model",
            "no-such-model.json",
            "--data",
            "x.csv",
        ]),
        &["cannot read model `no-such-model.json`"],
    );
}

#[test]
fn therapy_without_an_arm_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let (data, geno) = new_patients(dir.path(), 40);
    let text = std::fs::read_to_string(&data)
        .unwrap()
        .replacen(",A,", ",ECT,", 3);
    let data = write(dir.path(), "ect.csv", &text);
    let (out, err) = ok(responder()
        .args(["evaluate", "--model"])
        .arg(&model)
        .args([
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--target",
            "responder",
        ])
        .args(["--format", "json", "--bootstrap", "20"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_unknown_therapy"], 3);
    assert_eq!(v["overall"]["n"], 37);
    assert!(err.contains("`ECT` 3"), "{err}");
}

#[test]
fn bundle_without_arms_uses_every_row_and_overall_is_that_arm() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "train.csv", &small_clinical(100));
    let model = dir.path().join("one.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--cv",
            "0",
        ])
        .args(["--exclude", "therapy", "--out"])
        .arg(&model)
        .assert()
        .success();
    let (data, _) = new_patients(dir.path(), 50);
    let (out, err) = ok(responder().args(["evaluate", "--model"]).arg(&model).args([
        "--data",
        &data,
        "--format",
        "json",
        "--bootstrap",
        "100",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let arms = v["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 1);
    assert_eq!(arms[0]["arm"], "all");
    assert_eq!(arms[0]["n"], 50);
    let mut overall = v["overall"].clone();
    overall["arm"] = "all".into();
    overall["warnings"] = arms[0]["warnings"].clone();
    assert_eq!(&overall, &arms[0]);
    assert_eq!(err.matches("fewer than 100 in a class").count(), 1, "{err}");
}

#[test]
fn treatment_selection_on_trials_and_against_truth() {
    let dir = tempfile::tempdir().unwrap();
    // Real two-arm trial: Beat the Blues.
    let btheb = repo("examples/trials/btheb_depression.csv");
    let model = dir.path().join("bt.json");
    responder()
        .args([
            "train",
            "--data",
            &btheb,
            "--target",
            "responder",
            "--therapy-col",
            "treatment",
        ])
        .args(["--exclude", "bdi.2m", "--cv", "3", "--out"])
        .arg(&model)
        .assert()
        .success();
    let plots = dir.path().join("plots");
    let out = responder()
        .args(["evaluate", "--model"])
        .arg(&model)
        .args([
            "--data",
            &btheb,
            "--cross-fitted",
            "--bootstrap",
            "300",
            "--format",
            "json",
            "--plots",
        ])
        .arg(&plots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["selection"];
    assert_eq!(s["n"], 97);
    assert_eq!(s["predictions"], "cross-fitted");
    assert_eq!(s["arms"], serde_json::json!(["BtheB", "TAU"]));
    assert_eq!(s["follow"][0]["recommended"], "all");
    for key in ["policy_rate", "benefit_vs_best_single", "benefit_vs_random"] {
        assert!(s[key]["value"].is_number(), "{key}");
        assert!(
            s[key]["lo"].is_number() && s[key]["hi"].is_number(),
            "{key}"
        );
    }
    // Honest about a small trial: the interval includes zero and it says so.
    let text = s["verdict"].as_str().unwrap();
    assert!(
        text.contains("cannot tell") && text.contains("too small"),
        "{text}"
    );
    assert_eq!(s["qini"]["points"].as_array().unwrap().len(), 21);
    assert!(plots.join("qini.svg").exists());

    // Simulated truth on the example cohort: agreement and regret.
    let out = responder()
        .args(["evaluate", "--model", &repo("models/example.json")])
        .args(["--data", &repo("examples/cohort/clinical.csv")])
        .args(["--genotypes", &repo("examples/cohort/genotypes.csv")])
        .args([
            "--truth",
            &repo("examples/cohort/truth.csv"),
            "--cross-fitted",
        ])
        .args(["--bootstrap", "200", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &v["selection"]["truth"];
    assert_eq!(t["n"], 600);
    let share = t["correct_share"].as_f64().unwrap();
    assert!(share > 1.0 / 3.0, "{share}");
    assert!(t["mean_regret"].as_f64().unwrap() >= 0.0);
    assert!(
        v["selection"]["qini"].is_null(),
        "three arms: no Qini curve"
    );
}

#[test]
fn treatment_selection_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let btheb = repo("examples/trials/btheb_depression.csv");
    let model = dir.path().join("bt.json");
    responder()
        .args([
            "train",
            "--data",
            &btheb,
            "--target",
            "responder",
            "--therapy-col",
            "treatment",
        ])
        .args([
            "--exclude",
            "bdi.2m",
            "--cv",
            "3",
            "--therapy",
            "TAU",
            "--out",
        ])
        .arg(&model)
        .assert()
        .success();
    fails_usage(
        responder()
            .args(["evaluate", "--model"])
            .arg(&model)
            .args(["--data", &btheb, "--truth", &btheb]),
        &["needs a model with two or more therapy arms"],
    );
    // A truth file without the arm columns.
    responder()
        .args([
            "train",
            "--data",
            &btheb,
            "--target",
            "responder",
            "--therapy-col",
            "treatment",
        ])
        .args(["--exclude", "bdi.2m", "--cv", "3", "--out"])
        .arg(&model)
        .assert()
        .success();
    let truth = write(dir.path(), "truth.csv", "patient_id,p_X\n1,0.5\n");
    fails(
        responder()
            .args(["evaluate", "--model"])
            .arg(&model)
            .args(["--data", &btheb, "--truth", &truth]),
        &["truth.csv: missing columns `p_BtheB`, `p_TAU`"],
    );
    // A patient given twice, or without an ID.
    for (text, needle) in [
        (
            "patient_id,p_BtheB,p_TAU\n1,0.5,0.4\n2,0.1,0.2\n1,0.9,0.1\n",
            "duplicate patient ID `1` on lines 2 and 4",
        ),
        (
            "patient_id,p_BtheB,p_TAU\n1,0.5,0.4\n,0.1,0.2\n",
            "line 3, column `patient_id`: the patient ID is empty",
        ),
    ] {
        let truth = write(dir.path(), "truth2.csv", text);
        fails(
            responder()
                .args(["evaluate", "--model"])
                .arg(&model)
                .args(["--data", &btheb, "--truth", &truth]),
            &[needle],
        );
    }
    // Patients who were not in training cannot use --cross-fitted.
    let other = write(
        dir.path(),
        "new.csv",
        "patient_id,treatment,drug,length,bdi.pre,bdi.2m,responder\n999,TAU,No,>6m,29,2,1\n",
    );
    fails(
        responder().args(["evaluate", "--model"]).arg(&model).args([
            "--data",
            &other,
            "--cross-fitted",
        ]),
        &["1 patients are not among the bundle's 97 cross-fitted training patients"],
    );
}
