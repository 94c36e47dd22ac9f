//! Integration tests of `responder explain`.

use crate::common::*;
use crate::eval_common::*;

use serde_json::Value;

fn json(cmd: &mut assert_cmd::Command) -> Value {
    let (out, _) = ok(cmd);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn coefficients_without_data() {
    let v = json(responder().args([
        "explain",
        "--model",
        &repo("models/example.json"),
        "--format",
        "json",
        "--top",
        "200",
    ]));
    let arms = v["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 3);
    for a in arms {
        let c = a["coefficients"].as_array().unwrap();
        // 6 numeric + sex (3 levels) + anxiety (3 levels) + 50 SNPs.
        assert_eq!(c.len(), 62);
        let mut prev = f64::INFINITY;
        for x in c {
            let b = x["coefficient"].as_f64().unwrap();
            assert!((x["odds_ratio"].as_f64().unwrap() - b.exp()).abs() < 1e-12);
            assert!(b.abs() <= prev);
            prev = b.abs();
        }
        assert!(c
            .iter()
            .any(|x| x["input"] == "sex=F" && x["feature"] == "sex"));
        assert!(a["importance"].is_null() && a["patient"].is_null());
    }
    let (text, _) = ok(responder().args(["explain", "--model", &repo("models/example.json")]));
    assert!(
        text.contains("odds ratio") && text.contains("== arm TMS (logistic) =="),
        "{text}"
    );
}

#[test]
fn importance_is_seeded_and_moves_categories_together() {
    let cmd = |seed: &str| {
        let mut c = responder();
        c.args(["explain", "--model", &repo("models/example.json")])
            .args(example_data())
            .args(["--target", "responder", "--repeats", "3", "--top", "100"])
            .args(["--seed", seed, "--format", "json"]);
        c
    };
    let (a, _) = ok(&mut cmd("9"));
    let (b, _) = ok(&mut cmd("9"));
    assert_eq!(a, b);
    let v: Value = serde_json::from_str(&a).unwrap();
    for arm in v["arms"].as_array().unwrap() {
        let imp = &arm["importance"];
        assert_eq!(imp["repeats"], 3);
        let features = imp["features"].as_array().unwrap();
        // One entry per input column: 58, categories as one.
        assert_eq!(features.len(), 58);
        assert!(features.iter().any(|f| f["feature"] == "sex"));
        assert!(!features
            .iter()
            .any(|f| f["feature"].as_str().unwrap().contains('=')));
        let mut prev = f64::INFINITY;
        for f in features {
            let m = f["auc_drop_mean"].as_f64().unwrap();
            assert!(m <= prev);
            prev = m;
            assert!(f["auc_drop_sd"].as_f64().unwrap() >= 0.0);
        }
        assert!(imp["auc"].as_f64().unwrap() > 0.5);
    }
    let (c, _) = ok(&mut cmd("10"));
    assert_ne!(a, c);
}

#[test]
fn patient_contributions_add_up_to_the_logit() {
    let v = json(
        responder()
            .args(["explain", "--model", &repo("models/example.json")])
            .args(example_data())
            .args(["--patient", "P00017", "--top", "100", "--repeats", "1"])
            .args(["--format", "json"]),
    );
    let arms = v["arms"].as_array().unwrap();
    let mut received = 0;
    for a in arms {
        let p = &a["patient"];
        assert_eq!(p["id"], "P00017");
        assert_eq!(p["method"], "exact log-odds");
        let sum: f64 = p["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["contribution"].as_f64().unwrap())
            .sum::<f64>()
            + p["intercept"].as_f64().unwrap();
        let prob = p["probability"].as_f64().unwrap();
        assert!(
            ((prob / (1.0 - prob)).ln() - sum).abs() < 1e-9,
            "{sum} vs {prob}"
        );
        if p["received"] == true {
            received += 1;
        }
    }
    assert_eq!(received, 1);
    // The probability matches `score`.
    let (scored, _) = ok(responder()
        .args(["score", "--model", &repo("models/example.json")])
        .args(example_data())
        .args(["--format", "json"]));
    let s: Value = serde_json::from_str(&scored).unwrap();
    let row = s
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["patient_id"] == "P00017")
        .unwrap();
    let tms = arms.iter().find(|a| a["arm"] == "TMS").unwrap();
    let p = tms["patient"]["probability"].as_f64().unwrap();
    assert!((row["p_TMS"].as_f64().unwrap() - p).abs() < 1e-6);
}

#[test]
fn patient_without_outcome_column_and_unknown_patient() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let (data, geno) = new_patients(dir.path(), 20);
    let text: String = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0))
        .collect();
    let data = write(dir.path(), "unlabelled.csv", &text);
    let (out, err) = ok(responder().args(["explain", "--model"]).arg(&model).args([
        "--data",
        &data,
        "--genotypes",
        &geno,
        "--patient",
        "P205",
    ]));
    assert!(out.contains("Patient P205"), "{out}");
    assert!(err.contains("no `responder` column"), "{err}");
    fails(
        responder().args(["explain", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--patient",
            "X1",
        ]),
        &["--patient `X1` is not in the file", "unlabelled.csv"],
    );
    fails(
        responder().args(["explain", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--target",
            "outcome",
        ]),
        &["unlabelled.csv: missing column `outcome`"],
    );
    fails(
        responder()
            .args(["explain", "--model"])
            .arg(&model)
            .args(["--data", "gone.csv"]),
        &["cannot read `gone.csv`"],
    );
}

#[test]
fn effects_rank_what_drives_the_predicted_effect() {
    let dir = tempfile::tempdir().unwrap();
    // B's response depends on `score`, A's does not: the effect of B vs A
    // is driven by `score`, not by `age`.
    let mut text = String::from("patient_id,age,score,therapy,responder\n");
    for i in 0..200 {
        let arm = if i % 2 == 0 { "A" } else { "B" };
        let score = (i * 37 % 50) as f64;
        let resp = if arm == "B" { score > 24.0 } else { i % 3 == 0 };
        text.push_str(&format!(
            "P{i},{},{score},{arm},{}\n",
            20 + i % 40,
            u8::from(resp ^ (i % 11 == 0))
        ));
    }
    let data = write(dir.path(), "d.csv", &text);
    let model = dir.path().join("m.json");
    responder()
        .args(["train", "--data", &data, "--target", "responder"])
        .args(["--therapy-col", "therapy", "--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    let run = || {
        let out = responder()
            .args(["explain", "--model"])
            .arg(&model)
            .args([
                "--data",
                &data,
                "--effects",
                "--control",
                "A",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let first = run();
    assert_eq!(first, run(), "deterministic for a seed");
    let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let e = &v["effects"];
    assert_eq!(e["control"], "A");
    assert_eq!(e["n"], 200);
    let arms = e["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 1);
    assert_eq!(arms[0]["arm"], "B");
    let f = arms[0]["features"].as_array().unwrap();
    assert_eq!(f[0]["feature"], "score", "{f:?}");
    assert!(
        f[0]["effect_change_mean"].as_f64().unwrap() > f[1]["effect_change_mean"].as_f64().unwrap()
    );
    // Text output has the section; bad flags are refused.
    let out = responder()
        .args(["explain", "--model"])
        .arg(&model)
        .args(["--data", &data, "--effects"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("== effect of B vs A =="));
    fails_usage(
        responder().args(["explain", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--effects",
            "--control",
            "Z",
        ]),
        &["--control `Z` is not an arm of the model"],
    );
    let one = dir.path().join("one.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--cv",
            "0",
            "--out",
        ])
        .arg(&one)
        .assert()
        .success();
    fails_usage(
        responder()
            .args(["explain", "--model"])
            .arg(&one)
            .args(["--data", &data, "--effects"]),
        &["--effects needs a model with at least two arms"],
    );
    fails_usage(
        responder()
            .args(["explain", "--model"])
            .arg(&model)
            .arg("--effects"),
        &["required arguments were not provided"],
    );
}
