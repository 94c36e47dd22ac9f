//! Edited model bundles: each tampering with a bundle's *contents* (not its
//! JSON syntax) is refused by every command that reads it, with one error
//! naming the key, instead of a panic, a hang or a silently wrong result.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::*;

/// Trains on the small two-arm cohort (with genotypes) and returns the
/// bundle as JSON.
fn trained(dir: &Path, extra: &[&str]) -> Value {
    let data = write(dir, "train.csv", &small_clinical(160));
    let geno = write(dir, "geno.csv", &small_genotypes(160));
    let out = dir.join("base.json");
    responder()
        .args(["train", "--data", &data, "--genotypes", &geno])
        .args([
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
            "--cv",
            "3",
            "--out",
        ])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

/// Writes `bundle`, then asserts that `inspect` and `score` both refuse it
/// with one error line containing every needle.
fn refused(dir: &Path, bundle: &Value, needles: &[&str]) {
    let path = write(
        dir,
        "edited.json",
        &serde_json::to_string_pretty(bundle).unwrap(),
    );
    let data = dir.join("train.csv").display().to_string();
    let geno = dir.join("geno.csv").display().to_string();
    let mut all = vec!["edited.json"];
    all.extend(needles);
    fails(responder().args(["inspect", &path]), &all);
    fails(
        responder().args([
            "score",
            "--model",
            &path,
            "--data",
            &data,
            "--genotypes",
            &geno,
        ]),
        &all,
    );
}

#[test]
fn edited_boosting_trees_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = trained(
        dir.path(),
        &["--algorithm", "boosting", "--param", "trees=5"],
    );
    let tree = "/arms/0/model/trees/0";
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    // A node whose child is itself (this hung every command before).
    let self_child = edit(&|b| {
        let t = b.pointer_mut(tree).unwrap();
        let first_split = t["split"]
            .as_array()
            .unwrap()
            .iter()
            .position(|s| s.as_i64() >= Some(0))
            .unwrap();
        t["left"][first_split] = json!(first_split);
    });
    refused(
        dir.path(),
        &self_child,
        &[
            "`arms[0].model`",
            "boosted tree node",
            "children must come after their parent",
        ],
    );
    // A child beyond the node list, a split input beyond the inputs.
    let far = edit(&|b| b.pointer_mut(tree).unwrap()["right"][0] = json!(999_999));
    refused(dir.path(), &far, &["out of range"]);
    let input = edit(&|b| b.pointer_mut(tree).unwrap()["split"][0] = json!(10_000));
    refused(dir.path(), &input, &["out of range"]);
    // An empty tree; arrays of different lengths.
    let empty = edit(&|b| {
        let t = b.pointer_mut(tree).unwrap();
        for k in ["split", "value", "left", "right", "missing"] {
            t[k] = json!([]);
        }
    });
    refused(dir.path(), &empty, &["has no nodes"]);
    let short = edit(&|b| {
        b.pointer_mut(tree).unwrap()["value"]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    refused(dir.path(), &short, &["different lengths"]);
}

#[test]
fn edited_svms_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let linear = trained(dir.path(), &["--algorithm", "svm"]);
    let mut short = linear.clone();
    short
        .pointer_mut("/arms/1/model/separator/linear/weights")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .pop();
    refused(
        dir.path(),
        &short,
        &["`arms[1].model`", "5 weights for 6 inputs"],
    );
    let gaussian = trained(
        dir.path(),
        &["--algorithm", "svm", "--param", "kernel=gaussian"],
    );
    let mut narrow = gaussian.clone();
    // Support vectors one column narrow: one value fewer per vector.
    let m = narrow.pointer_mut("/arms/0/model").unwrap();
    let n_support = m["n_support"].as_u64().unwrap() as usize;
    let vectors = m["separator"]["gaussian"]["vectors"]
        .as_array_mut()
        .unwrap();
    vectors.truncate(vectors.len() - n_support);
    refused(dir.path(), &narrow, &["support-vector values"]);
}

#[test]
fn inconsistent_bundles_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = trained(dir.path(), &["--genotype-pcs", "2"]);
    type Case<'a> = (&'a str, Box<dyn Fn(&mut Value)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "unnamed arm",
            Box::new(|b| b["arms"][1]["therapy"] = Value::Null),
            vec!["arms[1].therapy is missing"],
        ),
        (
            "no therapy column",
            Box::new(|b| b["therapy_column"] = Value::Null),
            vec!["`therapy_column` is missing", "2 arms"],
        ),
        (
            "responders > n",
            Box::new(|b| b["arms"][0]["responders"] = json!(11_111_111)),
            vec!["arms[0]", "`responders` (11111111)"],
        ),
        (
            "format 0",
            Box::new(|b| b["format_version"] = json!(0)),
            vec!["`format_version` is 0"],
        ),
        (
            "unknown strategy",
            Box::new(|b| b["strategy"] = json!("r-learner")),
            vec!["`strategy` is \"r-learner\""],
        ),
        (
            "duplicate PCA SNP",
            Box::new(|b| {
                let snps = b
                    .pointer_mut("/genotypes/pca/snps")
                    .unwrap()
                    .as_array_mut()
                    .unwrap();
                snps[1] = snps[0].clone();
            }),
            vec!["appears twice in `genotypes.pca.snps`"],
        ),
        (
            "PCA without SNPs",
            Box::new(|b| {
                let p = b.pointer_mut("/genotypes/pca").unwrap();
                for k in ["snps", "center", "scale", "mean"] {
                    p[k] = json!([]);
                }
                p["components"] = json!([[], []]);
            }),
            vec!["`genotypes.pca` has 0 SNPs"],
        ),
        (
            "pc3 without a third component",
            Box::new(|b| {
                b.pointer_mut("/genotypes/pca/components")
                    .unwrap()
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
            vec!["`pc2` but `genotypes.pca` has 1 components"],
        ),
        (
            "duplicate cross-fitted ID",
            Box::new(|b| {
                let ids = b
                    .pointer_mut("/cross_fitted/ids")
                    .unwrap()
                    .as_array_mut()
                    .unwrap();
                ids[1] = ids[0].clone();
            }),
            vec!["appears twice in `cross_fitted.ids`"],
        ),
        (
            "training counts",
            Box::new(|b| b["training"]["n"] = json!(5)),
            vec!["`training` counts 5 patients"],
        ),
    ];
    for (what, edit, needles) in cases {
        let mut b = base.clone();
        edit(&mut b);
        let needles: Vec<&str> = needles.clone();
        eprintln!("case: {what}");
        refused(dir.path(), &b, &needles);
    }
}

#[test]
fn duplicate_levels_prs_snps_and_s_learner_copies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = trained(dir.path(), &["--strategy", "s-learner"]);
    // The S-learner stores its one model under every arm: the copies must agree.
    let c = b.pointer_mut("/arms/1/model/coefficients/0").unwrap();
    *c = json!(c.as_f64().unwrap() + 1.0);
    refused(dir.path(), &b, &["arms[1]", "differs from arms[0]"]);
    // Its interactions' penalty weight (data-shared lasso) is in (0, 1].
    let s = trained(dir.path(), &["--strategy", "s-learner"]);
    for r in [0.0, -0.5, 1.5] {
        let mut b = s.clone();
        b["arms"][1]["design"]["deviation_penalty"] = json!(r);
        refused(
            dir.path(),
            &b,
            &["arms[1]", "deviation_penalty", "at most 1"],
        );
    }
    // A logistic S-learner's weights are 1 (only the lasso's are √(n_a / n)).
    let mut b = s.clone();
    b["arms"][1]["design"]["deviation_penalty"] = json!(0.5);
    refused(
        dir.path(),
        &b,
        &["arms[1]", "data-shared lasso's weight", "is 1"],
    );
    // A categorical feature's levels must be distinct.
    let mut b = trained(dir.path(), &[]);
    let sex = b["arms"][0]["pipeline"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["name"] == "sex")
        .unwrap();
    let levels = b["arms"][0]["pipeline"]["features"][sex]["levels"]
        .as_array_mut()
        .unwrap();
    levels[1] = levels[0].clone();
    refused(
        dir.path(),
        &b,
        &["arms[0]", "level `F` of `sex` appears twice"],
    );
    // A polygenic score's SNPs must be distinct.
    let weights = write(dir.path(), "w.txt", "SNP A1 BETA\nrs1 A 0.5\nrs2 A 0.2\n");
    let mut b = trained(dir.path(), &["--prs-weights", &weights]);
    let w = b
        .pointer_mut("/genotypes/prs/0/weights")
        .unwrap()
        .as_array_mut()
        .unwrap();
    w[1]["snp"] = w[0]["snp"].clone();
    refused(
        dir.path(),
        &b,
        &["`genotypes.prs` `prs`: SNP", "appears twice in `weights`"],
    );
    // Two scores may not share a name.
    let w2 = write(
        dir.path(),
        "w2.txt",
        "SNP A1 early late\nrs1 A 0.5 0.1\nrs2 A 0.2 0.3\n",
    );
    let mut b = trained(dir.path(), &["--prs-weights", &w2]);
    let mut c = b.clone();
    b["genotypes"]["prs"][1]["name"] = b["genotypes"]["prs"][0]["name"].clone();
    refused(
        dir.path(),
        &b,
        &["score `prs_early` appears twice in `genotypes.prs`"],
    );
    // Scores are named prs or prs_<name> (not, say, a component's name).
    c["genotypes"]["prs"][1]["name"] = serde_json::json!("pc1");
    refused(dir.path(), &c, &["a score named `pc1`"]);
}

/// Every value of `v` with its JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| pointers(x, format!("{at}/{k}"), out)),
        _ => {}
    }
}

#[test]
fn mutated_bundles_end_in_time_with_exit_0_or_1() {
    // The binary end to end (the library-level fuzz test runs thousands).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv").display().to_string();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    for alg in ["boosting", "svm", "forest", "knn"] {
        let extra: &[&str] = match alg {
            "svm" => &["--algorithm", "svm", "--param", "kernel=gaussian"],
            "knn" => &["--algorithm", "knn", "--param", "k=5", "--cross-fitted"],
            _ => &["--algorithm", alg],
        };
        let base = trained(dir.path(), extra);
        let mut all = Vec::new();
        pointers(&base, String::new(), &mut all);
        for _ in 0..12 {
            let mut b = base.clone();
            let at = &all[next(all.len())];
            let edit = [
                json!(0),
                json!(-1),
                json!(1e308),
                json!(4294967297u64),
                json!([]),
                json!("x"),
                Value::Null,
            ];
            if let Some(x) = b.pointer_mut(at) {
                *x = edit[next(edit.len())].clone();
            }
            let path = write(dir.path(), "fuzz.json", &serde_json::to_string(&b).unwrap());
            for args in [
                vec!["inspect", path.as_str()],
                vec!["score", "--model", &path, "--data", &data],
            ] {
                let out = responder()
                    .args(&args)
                    .timeout(std::time::Duration::from_secs(60))
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    matches!(out.status.code(), Some(0 | 1)),
                    "{alg} {at}: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "{alg} {at}: {stderr}");
                if out.status.code() == Some(1) {
                    assert_eq!(
                        stderr.lines().filter(|l| l.starts_with("error:")).count(),
                        1,
                        "{stderr}"
                    );
                }
            }
        }
    }
}

#[test]
fn edited_bootstrap_replicates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = trained(dir.path(), &["--replicates", "3"]);
    // One arm loses a replicate.
    let mut b = base.clone();
    b["arms"][1]["replicates"].as_array_mut().unwrap().pop();
    refused(
        dir.path(),
        &b,
        &["arms[1]", "2 `replicates` but arms[0] has 3"],
    );
    // A replicate of another width.
    let mut b = base.clone();
    b["arms"][0]["replicates"][1]["coefficients"]
        .as_array_mut()
        .unwrap()
        .pop();
    refused(dir.path(), &b, &["arms[0]", "`replicates[1]`"]);
}

#[test]
fn edited_dr_learner_effects_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = trained(
        dir.path(),
        &[
            "--strategy",
            "dr-learner",
            "--replicates",
            "2",
            "--outcome-models",
            "t-learner",
        ],
    );
    let mut b = base.clone();
    b["effect"]["control"] = json!(5);
    refused(
        dir.path(),
        &b,
        &["`effect.control` is 5 but there are 2 arms"],
    );
    let mut b = base.clone();
    b["effect"]["arms"][0]["model"]["weights"]
        .as_array_mut()
        .unwrap()
        .pop();
    refused(dir.path(), &b, &["`effect.arms[0]`.model has"]);
    let mut b = base.clone();
    b["effect"]["arms"][0]["replicates"]
        .as_array_mut()
        .unwrap()
        .pop();
    refused(
        dir.path(),
        &b,
        &["`effect.arms[0]` has 1 `replicates` but arms[0] has 2"],
    );
    let mut b = base.clone();
    b.as_object_mut().unwrap().remove("effect");
    refused(
        dir.path(),
        &b,
        &["`strategy` is dr-learner but `effect` is missing"],
    );
    let mut b = base.clone();
    b["strategy"] = json!("t-learner");
    refused(dir.path(), &b, &["`effect` is only used by the dr-learner"]);
    // An X-learner's stage mix is checked; a DR-learner has none.
    let mut b = base;
    b["strategy"] = json!("x-learner");
    refused(dir.path(), &b, &["`effect.arms[0]`.x_learner is missing"]);
    let mut x = trained(dir.path(), &["--strategy", "x-learner"]);
    x["effect"]["arms"][0]["x_learner"]["g"] = json!(1.5);
    refused(dir.path(), &x, &["x_learner.g must lie in (0, 1)"]);
}
