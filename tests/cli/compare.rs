//! Integration tests of `responder compare`.

use crate::common::*;

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            // params may contain commas inside quotes
            let mut out = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            for ch in l.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ',' if !quoted => out.push(std::mem::take(&mut cur)),
                    c => cur.push(c),
                }
            }
            out.push(cur);
            out
        })
        .collect()
}

#[test]
fn all_algorithms_on_identical_folds_per_arm() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(120));
    let geno = write(dir.path(), "g.csv", &small_genotypes(120));
    let out = responder()
        .args([
            "compare",
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--target",
            "responder",
        ])
        .args([
            "--therapy-col",
            "therapy",
            "--algorithms",
            "all",
            "--cv",
            "3",
            "--repeats",
            "2",
        ])
        .args(["--format", "csv", "--seed", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        rows[0][..6],
        [
            "arm",
            "algorithm",
            "params",
            "folds_ok",
            "folds_failed",
            "auc_mean"
        ]
    );
    assert_eq!(rows.len(), 1 + 2 * 9, "two arms × nine algorithms");
    for r in &rows[1..] {
        assert_eq!(r[3], "6", "3 folds × 2 repeats: {r:?}");
        assert_eq!(r[4], "0");
        let auc: f64 = r[5].parse().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{r:?}");
    }
    // Sorted by AUC within each arm.
    for arm in ["A", "B"] {
        let aucs: Vec<f64> = rows[1..]
            .iter()
            .filter(|r| r[0] == arm)
            .map(|r| r[5].parse().unwrap())
            .collect();
        assert!(aucs.windows(2).all(|w| w[0] >= w[1]), "{aucs:?}");
    }
}

#[test]
fn same_seed_same_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(90));
    let run = || {
        let out = responder()
            .args([
                "compare",
                "--data",
                &data,
                "--target",
                "responder",
                "--exclude",
                "therapy",
            ])
            .args([
                "--algorithms",
                "logistic,forest,boosting",
                "--cv",
                "3",
                "--repeats",
                "1",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for row in v.as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("fit_seconds_mean");
        }
        v
    };
    let a = run();
    assert_eq!(a, run());
    let keys: Vec<&String> = a[0].as_object().unwrap().keys().collect();
    assert!(keys.iter().any(|k| *k == "brier_mean") && keys.iter().any(|k| *k == "log_loss_mean"));
}

#[test]
fn a_failing_algorithm_is_reported_and_the_others_carry_on() {
    // `flag` is constant among responders: naive Bayes with no variance
    // smoothing cannot fit it, on every fold.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("patient_id,x,flag,responder\n");
    for i in 0..60 {
        let resp = i % 3 == 0;
        let flag = if resp { 1 } else { i % 2 };
        text.push_str(&format!(
            "P{i},{},{flag},{}\n",
            (i * 7) % 11,
            u8::from(resp)
        ));
    }
    let data = write(dir.path(), "c.csv", &text);
    let out = responder()
        .args(["compare", "--data", &data, "--target", "responder"])
        .args([
            "--algorithms",
            "naive-bayes,logistic",
            "--param",
            "naive-bayes.var_smoothing=0",
        ])
        .args(["--cv", "3", "--repeats", "1", "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: naive-bayes failed on 3 of 3 folds of arm all"),
        "{stderr}"
    );
    let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());
    let nb = rows.iter().find(|r| r[1] == "naive-bayes").unwrap();
    let lr = rows.iter().find(|r| r[1] == "logistic").unwrap();
    assert_eq!((nb[3].as_str(), nb[4].as_str()), ("0", "3"));
    assert_eq!(nb[5], "NA");
    assert_eq!((lr[3].as_str(), lr[4].as_str()), ("3", "0"));
    // train with the same setting fails with the message.
    fails(
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
            .args([
                "--algorithm",
                "naive-bayes",
                "--param",
                "var_smoothing=0",
                "--out",
            ])
            .arg(dir.path().join("m.json")),
        &["arm `all`: naive Bayes parameters are invalid"],
    );
}

#[test]
fn bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(30));
    fails_usage(
        responder().args([
            "compare",
            "--data",
            &data,
            "--target",
            "responder",
            "--algorithms",
            "logistic,magic",
        ]),
        &["unknown algorithm `magic`"],
    );
    fails_usage(
        responder()
            .args([
                "compare",
                "--data",
                &data,
                "--target",
                "responder",
                "--algorithms",
                "logistic",
            ])
            .args(["--param", "forest.trees=10"]),
        &["--param `forest.trees=10` must name one of the compared algorithms"],
    );
    fails_usage(
        responder()
            .args([
                "compare",
                "--data",
                &data,
                "--target",
                "responder",
                "--algorithms",
                "forest",
            ])
            .args(["--param", "forest.leaves=10"]),
        &["unknown parameter `leaves` for forest; valid: trees (default 200)"],
    );
    fails_usage(
        responder().args([
            "compare",
            "--data",
            &data,
            "--target",
            "responder",
            "--cv",
            "1",
        ]),
        &[
            "invalid value '1' for '--cv <CV>'",
            "from 2 to 100 or `groups`",
        ],
    );
    fails(
        responder().args(["compare", "--data", "missing.csv", "--target", "responder"]),
        &["cannot read `missing.csv`"],
    );
}

#[test]
fn thread_count_does_not_change_results() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(90));
    let run = |threads: &str| {
        let out = responder()
            .args([
                "--threads",
                threads,
                "compare",
                "--data",
                &data,
                "--target",
                "responder",
            ])
            .args([
                "--exclude",
                "therapy",
                "--algorithms",
                "forest,logistic,boosting",
                "--cv",
                "3",
            ])
            .args(["--repeats", "1", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for row in v.as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("fit_seconds_mean");
        }
        v
    };
    assert_eq!(run("1"), run("2"));
    fails_usage(
        responder().args(["--threads", "0", "algorithms"]),
        &["invalid value '0' for '--threads <N>'", "1..=1024"],
    );
}
