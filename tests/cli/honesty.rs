//! Honest results on small trials: weak arms withhold recommendations,
//! possible leaks, missingness and the minimum sample size are reported.

use std::path::Path;

use crate::common::*;

/// A deterministic stream of numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Two arms of `n` patients: in arm A the outcome follows `x`, in arm B it
/// is a coin toss. Extra columns: `extra(i, responder, rng)` gives their
/// cells, `extra_header` their names.
fn trial(n: usize, extra_header: &str, extra: impl Fn(usize, bool, &mut Lcg) -> String) -> String {
    let mut rng = Lcg(42);
    let mut s = format!("patient_id,x,z,therapy{extra_header},responder\n");
    for i in 0..n {
        let arm = if i % 2 == 0 { "A" } else { "B" };
        let x = rng.next() * 4.0 - 2.0;
        let z = rng.next();
        let resp = if arm == "A" {
            rng.next() < 1.0 / (1.0 + (-2.5 * x).exp())
        } else {
            rng.next() < 0.5
        };
        let e = extra(i, resp, &mut rng);
        s.push_str(&format!(
            "P{i:04},{x:.4},{z:.4},{arm}{e},{}\n",
            u8::from(resp)
        ));
    }
    s
}

fn train(dir: &Path, data: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let out = dir.join("m.json");
    let o = responder()
        .args(["train", "--data", data, "--target", "responder"])
        .args(["--therapy-col", "therapy", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let b = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (stderr, b)
}

#[test]
fn a_noise_arm_is_flagged_and_withholds_recommendations() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "t.csv",
        &trial(240, "", |_, _, _| String::new()),
    );
    let (stderr, b) = train(dir.path(), &data, &[]);
    assert!(
        stderr.contains("warning: arm `B` is weak: cross-validated AUC"),
        "{stderr}"
    );
    assert!(!stderr.contains("arm `A` is weak"), "{stderr}");
    let ci = b["arms"][1]["cv"]["auc_pooled_ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= 0.5, "{ci:?}");
    let ci_a = b["arms"][0]["cv"]["auc_pooled_ci"].as_array().unwrap();
    assert!(ci_a[0].as_f64().unwrap() > 0.5, "{ci_a:?}");

    // With two arms, every patient's best or runner-up arm is B.
    let model = dir.path().join("m.json");
    let o = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &data, "--format", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let csv = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 240);
    assert!(
        rows.iter().all(|r| r.split(',').nth(4) == Some("none")),
        "{csv}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("240 patients got best_therapy `none` because their best or runner-up therapy is a weak arm"),
        "{stderr}"
    );
    assert!(stderr.contains("arm `B` is weak at training"), "{stderr}");

    // --allow-weak-arms recommends anyway.
    let o = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &data, "--format", "csv", "--allow-weak-arms"])
        .output()
        .unwrap();
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(!csv
        .lines()
        .skip(1)
        .any(|r| r.split(',').nth(4) == Some("none")));

    // inspect and the model card say so.
    let o = responder().arg("inspect").arg(&model).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("weak arm B:"), "{text}");
    let o = responder()
        .args(["report", "--model"])
        .arg(&model)
        .args(["--out"])
        .arg(dir.path().join("card"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let card = std::fs::read_to_string(dir.path().join("card/model-card.md")).unwrap();
    assert!(
        card.contains("### Sample size (Riley et al. 2020)"),
        "{card}"
    );
    assert!(card.contains("**Weak arm:** B:"), "{card}");
}

#[test]
fn clean_data_gets_no_weak_leak_or_missing_warning() {
    let dir = tempfile::tempdir().unwrap();
    // Both arms follow x.
    let mut rng = Lcg(7);
    let mut s = String::from("patient_id,x,z,therapy,responder\n");
    for i in 0..300 {
        let x = rng.next() * 4.0 - 2.0;
        let z = rng.next();
        let resp = rng.next() < 1.0 / (1.0 + (-x).exp());
        s.push_str(&format!(
            "P{i:04},{x:.4},{z:.4},{},{}\n",
            if i % 2 == 0 { "A" } else { "B" },
            u8::from(resp)
        ));
    }
    let data = write(dir.path(), "t.csv", &s);
    let (stderr, b) = train(dir.path(), &data, &[]);
    for w in ["is weak", "may leak", "missing", "rarely real"] {
        assert!(!stderr.contains(w), "{w}: {stderr}");
    }
    assert!(b["training"].get("missing").is_none());
    assert!(b["training"].get("leakage").is_none());
    // Riley's minimum sample size is recorded per arm.
    let ss = &b["arms"][0]["sample_size"];
    for key in [
        "parameters",
        "prevalence",
        "r2_cs",
        "shrinkage",
        "n_criterion_1",
        "n_criterion_2",
        "n_criterion_3",
        "n_required",
        "n_available",
    ] {
        assert!(ss.get(key).is_some(), "{key} missing in {ss}");
    }
    assert_eq!(ss["parameters"], 2);
    assert_eq!(ss["n_available"], 150);
}

#[test]
fn a_post_baseline_column_is_named_as_a_possible_leak() {
    let dir = tempfile::tempdir().unwrap();
    // `x_6m` is the outcome measured later, with a little noise.
    let data = write(
        dir.path(),
        "t.csv",
        &trial(240, ",x_6m", |_, r, rng| {
            format!(",{:.3}", f64::from(u8::from(r)) * 2.0 + rng.next())
        }),
    );
    let (stderr, b) = train(dir.path(), &data, &[]);
    assert!(
        stderr.contains("`x_6m` may leak the outcome: alone it separates responders, and its name marks a follow-up time (`6m`) (AUC alone 1.000)"),
        "{stderr}"
    );
    assert!(stderr.contains("--exclude x_6m"), "{stderr}");
    assert!(
        stderr.contains("is rarely real for a treatment outcome"),
        "{stderr}"
    );
    assert_eq!(b["training"]["leakage"][0]["feature"], "x_6m");
    // Leaving it out silences it.
    let (stderr, _) = train(dir.path(), &data, &["--exclude", "x_6m"]);
    assert!(!stderr.contains("may leak"), "{stderr}");
    // A column that alone separates responders, whatever its name.
    let data = write(
        dir.path(),
        "u.csv",
        &trial(240, ",lab", |_, r, rng| {
            format!(",{:.3}", f64::from(u8::from(r)) * 2.0 + rng.next())
        }),
    );
    let (stderr, _) = train(dir.path(), &data, &[]);
    assert!(
        stderr.contains(
            "`lab` may leak the outcome: alone it separates responders (AUC alone 1.000)"
        ),
        "{stderr}"
    );
}

#[test]
fn much_missing_data_is_counted_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "t.csv",
        &trial(240, ",crp", |i, _, rng| {
            if i % 5 < 2 {
                ",NA".into()
            } else {
                format!(",{:.2}", rng.next() * 10.0)
            }
        }),
    );
    let (stderr, b) = train(dir.path(), &data, &[]);
    assert!(
        stderr.contains(
            "missing values (imputed from the training patients) in 1 of 3 features: crp 40.0%"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: more than 20% missing: `crp` (40.0%)"),
        "{stderr}"
    );
    assert_eq!(b["training"]["missing"][0]["feature"], "crp");
    assert_eq!(b["training"]["missing"][0]["missing"], 96);
    assert_eq!(b["training"]["missing"][0]["n"], 240);
}

/// A depression trial: MADRS at baseline and week 6 (the outcome).
fn madrs_trial(n: usize) -> String {
    let mut rng = Lcg(11);
    let mut s = String::from("patient_id,age,madrs_baseline,therapy,madrs_wk6\n");
    for i in 0..n {
        let base = 20.0 + (rng.next() * 20.0).round();
        let age = 20 + i % 50;
        let fall = rng.next() * 0.8 + if age < 40 { 0.15 } else { 0.0 };
        let wk6 = (base * (1.0 - fall)).round();
        let base_cell = if i % 25 == 3 {
            "NA".to_string()
        } else {
            format!("{base}")
        };
        s.push_str(&format!(
            "P{i:04},{age},{base_cell},{},{wk6}\n",
            if i % 2 == 0 { "TMS" } else { "SSRI" }
        ));
    }
    s
}

#[test]
fn responder_rules_relative_to_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "madrs.csv", &madrs_trial(300));
    let out = dir.path().join("m.json");
    let o = responder()
        .args(["train", "--data", &data, "--target", "madrs_wk6"])
        .args(["--responder-if", "madrs_wk6 <= 0.5 * madrs_baseline"])
        .args(["--therapy-col", "therapy", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("madrs.csv: 12 rows with a missing `madrs_baseline` (compared with by --responder-if) are left out"),
        "{stderr}"
    );
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        b["target"]["description"],
        "`madrs_wk6` <= 0.5 × `madrs_baseline`"
    );
    assert_eq!(b["target"]["rule"]["rule"], "relative");
    assert_eq!(b["training"]["n"], 288);
    // The baseline stays a feature; the outcome does not.
    let features: Vec<&str> = b["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(features, ["age", "madrs_baseline"]);
    // The rule by hand: responders among rows with both values.
    let text = madrs_trial(300);
    let mut responders = 0;
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        if let (Ok(b), Ok(w)) = (f[2].parse::<f64>(), f[4].parse::<f64>()) {
            responders += usize::from(w <= 0.5 * b);
        }
    }
    assert_eq!(b["training"]["responders"], responders);
    // evaluate applies the stored rule to new data.
    responder()
        .args(["evaluate", "--model"])
        .arg(&out)
        .args(["--data", &data, "--format", "json", "--bootstrap", "0"])
        .assert()
        .success();
    // A column the file lacks, and a non-number, name the file.
    fails(
        responder()
            .args(["train", "--data", &data, "--target", "madrs_wk6"])
            .args(["--responder-if", "madrs_wk6 <= 0.5 * madrs_bl", "--out"])
            .arg(dir.path().join("x.json")),
        &["madrs.csv", "missing column `madrs_bl`"],
    );
    fails(
        responder()
            .args(["train", "--data", &data, "--target", "madrs_wk6"])
            .args(["--responder-if", "madrs_wk6 <= 0.5 * therapy", "--out"])
            .arg(dir.path().join("x.json")),
        &["madrs.csv, line 2, column `therapy`", "is not a number"],
    );
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "madrs_wk6"])
            .args(["--responder-if", "madrs_baseline >= 2 * madrs_wk6", "--out"])
            .arg(dir.path().join("x.json")),
        &["the left side must be the target `madrs_wk6`"],
    );
}

/// The data lines of `text` (after its header) from `from` to `to`.
fn lines_of(text: &str, from: usize, to: usize) -> String {
    let mut l: Vec<&str> = text.lines().collect();
    let header = l.remove(0);
    let mut out = format!("{header}\n");
    for x in &l[from..to] {
        out.push_str(x);
        out.push('\n');
    }
    out
}

fn evaluate_json(model: &Path, data: &str, extra: &[&str]) -> serde_json::Value {
    let o = responder()
        .args(["evaluate", "--model"])
        .arg(model)
        .args(["--data", data, "--format", "json", "--bootstrap", "0"])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn patients_shared_with_training_mark_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let all = trial(300, "", |_, _, _| String::new());
    let train_file = write(dir.path(), "train.csv", &lines_of(&all, 0, 200));
    let whole = write(dir.path(), "all.csv", &all);
    let test_file = write(dir.path(), "test.csv", &lines_of(&all, 200, 300));
    // The training rows re-sorted: not byte-identical to the training file.
    let mut rows: Vec<&str> = all.lines().skip(1).take(200).collect();
    rows.reverse();
    let resorted = write(
        dir.path(),
        "resorted.csv",
        &format!("{}\n{}\n", all.lines().next().unwrap(), rows.join("\n")),
    );
    let (_, _) = train(dir.path(), &train_file, &[]);
    let model = dir.path().join("m.json");

    let j = evaluate_json(&model, &whole, &[]);
    assert_eq!(
        j["apparent_performance"],
        "apparent performance (200 of 300 patients were in training)"
    );
    assert_eq!(j["overlap"]["in_training"], 200);
    assert_eq!(j["overlap"]["method"], "id-hash");
    let j = evaluate_json(&model, &resorted, &[]);
    assert_eq!(
        j["apparent_performance"],
        "apparent performance (200 of 200 patients were in training)"
    );
    let j = evaluate_json(&model, &test_file, &[]);
    assert!(j["apparent_performance"].is_null());
    assert_eq!(j["overlap"]["in_training"], 0);

    // The text report says it on stdout, not only on stderr.
    let o = responder()
        .args(["evaluate", "--model"])
        .arg(&model)
        .args(["--data", &whole, "--bootstrap", "0"])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("*** APPARENT PERFORMANCE (200 OF 300 PATIENTS WERE IN TRAINING)"),
        "{text}"
    );
    // So do the model card and explain.
    let card = dir.path().join("card");
    responder()
        .args(["report", "--model"])
        .arg(&model)
        .args(["--data", &whole, "--bootstrap", "0", "--out"])
        .arg(&card)
        .assert()
        .success();
    let md = std::fs::read_to_string(card.join("model-card.md")).unwrap();
    assert!(
        md.contains("**Apparent performance (200 of 300 patients were in training)"),
        "{md}"
    );
    let cj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(card.join("model-card.json")).unwrap())
            .unwrap();
    assert_eq!(cj["evaluation"]["overlap"]["in_training"], 200);
    let o = responder()
        .args(["explain", "--model"])
        .arg(&model)
        .args(["--data", &whole, "--repeats", "2", "--format", "json"])
        .output()
        .unwrap();
    let ej: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        ej["apparent_performance"],
        "apparent performance (200 of 300 patients were in training)"
    );

    // With --cross-fitted every table uses the out-of-fold predictions.
    let model_auc = evaluate_json(&model, &train_file, &[])["arms"][0]["auc"]["estimate"]
        .as_f64()
        .unwrap();
    let j = evaluate_json(&model, &train_file, &["--cross-fitted"]);
    assert_eq!(j["predictions"], "cross-fitted");
    assert!(j["apparent_performance"].is_null());
    let cf_auc = j["arms"][0]["auc"]["estimate"].as_f64().unwrap();
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let pooled = b["arms"][0]["cv"]["auc_pooled"].as_f64().unwrap();
    assert!((cf_auc - pooled).abs() < 1e-12, "{cf_auc} vs {pooled}");
    assert!(cf_auc < model_auc, "{cf_auc} vs apparent {model_auc}");
}

/// Harrell's bootstrap optimism correction of a (nearly) unpenalised
/// logistic model on the licorice trial agrees with
/// `rms::validate(fit, method = "boot", B = 400)` (fixture from
/// bench/validation_reference.R: the mean and SD over 20 seeds) within
/// Monte-Carlo noise: 4.5 SD covers an independent run's own noise.
#[test]
fn bootstrap_optimism_matches_rms_validate() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo("examples/trials/licorice_sore_throat.csv");
    let model = dir.path().join("lic.json");
    responder()
        .args(["train", "--data", &data, "--target", "responder"])
        .args(["--exclude", "throat_pain_30min,throat_pain_4h,preOp_pain"])
        .args(["--categorical", "preOp_smoking", "--param", "c=1000000"])
        .args(["--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    let j = evaluate_json(
        &model,
        &data,
        &[
            "--optimism",
            "bootstrap",
            "--replicates",
            "400",
            "--seed",
            "2",
        ],
    );
    let o = &j["optimism"];
    assert_eq!(o["method"], "bootstrap");
    assert_eq!(o["replicates"], 400);
    assert_eq!(j["arms"][0]["optimism"], *o);
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/validation/rms_validate_licorice.json"))
            .unwrap(),
    )
    .unwrap();
    let mc = &fx["monte_carlo"];
    // Apparent: the same fit as lrm's.
    let dxy = fx["validate"]["primary"]["Dxy"]["index.orig"]
        .as_f64()
        .unwrap();
    let apparent = o["auc"]["apparent"].as_f64().unwrap();
    assert!((apparent - (dxy / 2.0 + 0.5)).abs() < 1e-4, "{apparent}");
    for (ours, theirs) in [
        ("auc", "AUC"),
        ("brier", "B"),
        ("calibration_intercept", "Intercept"),
        ("calibration_slope", "Slope"),
    ] {
        let got = o[ours]["corrected"].as_f64().unwrap();
        let mean = mc["corrected_mean"][theirs].as_f64().unwrap();
        let sd = mc["corrected_sd"][theirs].as_f64().unwrap();
        assert!(
            (got - mean).abs() <= 4.5 * sd,
            "{ours}: {got} vs rms {mean} ± {sd}"
        );
    }
    // Optimism is positive for the AUC: corrected below apparent.
    assert!(o["auc"]["corrected"].as_f64().unwrap() < apparent);
    // Text output has the table.
    let out = responder()
        .args(["evaluate", "--model"])
        .arg(&model)
        .args([
            "--data",
            &data,
            "--bootstrap",
            "0",
            "--optimism",
            "bootstrap",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Internal validation (Harrell's bootstrap optimism correction, 200 samples"),
        "{text}"
    );
}
