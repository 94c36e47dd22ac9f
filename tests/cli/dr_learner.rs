//! `train --strategy dr-learner | x-learner`: the bundle, scoring with intervals, and
//! the bad inputs of its cross-fitting.

use std::path::{Path, PathBuf};

use crate::common::*;
use crate::eval_common::ok;
use assert_cmd::Command;

fn train_dr(dir: &Path, name: &str, strategy: &str, extra: &[&str]) -> PathBuf {
    let data = write(dir, "train.csv", &small_clinical(120));
    let out = dir.join(name);
    responder()
        .args(["train", "--data", &data, "--target", "responder"])
        .args(["--therapy-col", "therapy", "--strategy", strategy])
        .args(["--cv", "3", "--seed", "5", "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

#[test]
fn dr_and_x_learner_bundles_are_deterministic_and_scored_like_the_others() {
    for strategy in ["dr-learner", "x-learner"] {
        effect_bundle_is_deterministic_and_scored(strategy);
    }
}

fn effect_bundle_is_deterministic_and_scored(strategy: &str) {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--replicates", "10", "--control", "B"];
    let a = train_dr(dir.path(), "a.json", strategy, &flags);
    let b = train_dr(dir.path(), "b.json", strategy, &flags);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap());
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["strategy"], strategy);
    assert_eq!(v["effect"]["control"], 1);
    let arms = v["effect"]["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 1);
    assert_eq!(arms[0]["arm"], 0);
    assert_eq!(arms[0]["replicates"].as_array().unwrap().len(), 10);
    assert_eq!(arms[0]["cv_loss"].as_array().unwrap().len(), 8);
    // The X-learner's second stage on the control patients, and its mix:
    // both stages and the propensity model that weighs them per patient.
    assert_eq!(arms[0].get("x_learner").is_some(), strategy == "x-learner");
    let x = strategy == "x-learner";
    assert_eq!(v["effect"].get("propensity").is_some(), x);
    if x {
        let st = &arms[0]["x_learner"]["stages"];
        assert_eq!(st["replicates"].as_array().unwrap().len(), 10);
        let inspect = stdout_of(responder().arg("inspect").arg(&a));
        assert!(
            inspect.contains("mixed per patient by the propensity g(x)"),
            "{inspect}"
        );
        // Edited: without the propensity model, or with one of another
        // shape, the bundle is refused naming the key.
        let mut e = v.clone();
        e["effect"].as_object_mut().unwrap().remove("propensity");
        let path = write(dir.path(), "edited.json", &e.to_string());
        fails(
            responder().args(["inspect", &path]),
            &["`effect.arms[0].x_learner.stages` need `effect.propensity`"],
        );
        let mut e = v.clone();
        e["effect"]["propensity"]["params"]
            .as_array_mut()
            .unwrap()
            .pop();
        let path = write(dir.path(), "edited.json", &e.to_string());
        fails(
            responder().args(["inspect", &path]),
            &["`effect.propensity` must be an x-learner's multinomial model"],
        );
    }
    // Scored with intervals against the bundle's own control by default.
    let data = dir.path().join("train.csv").display().to_string();
    let text = stdout_of(responder().args(["score", "--model"]).arg(&a).args([
        "--data",
        &data,
        "--format",
        "csv",
        "--intervals",
    ]));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,patient_id,p_A,p_B,best_therapy,advantage,effect_A,effect_A_low,effect_A_high"
    );
    let mut rows = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        assert!((num(6) - (num(2) - num(3))).abs() < 2e-4, "{l}");
        assert!(num(7) <= num(6) && num(6) <= num(8), "{l}");
        rows += 1;
    }
    assert_eq!(rows, 120);
    // The stored cross-fitted predictions, inspect and evaluate read it.
    stdout_of(
        responder()
            .args(["score", "--cross-fitted", "--model"])
            .arg(&a),
    );
    let inspect = stdout_of(responder().arg("inspect").arg(&a));
    assert!(inspect.contains(strategy), "{inspect}");
    stdout_of(
        responder()
            .args(["evaluate", "--model"])
            .arg(&a)
            .args(["--data", &data]),
    );
}

#[test]
fn dr_learner_refuses_what_its_cross_fitting_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "train.csv", &small_clinical(120));
    let train = |extra: &[&str]| {
        let mut c = responder();
        c.args(["train", "--data", &data, "--target", "responder"])
            .args(["--strategy", "dr-learner", "--out"])
            .arg(dir.path().join("m.json"))
            .args(extra);
        c
    };
    fails_usage(
        &mut train(&["--therapy-col", "therapy", "--control", "C"]),
        &["--control `C` is not an arm of the model", "`A`, `B`"],
    );
    fails_usage(
        &mut train(&["--therapy-col", "therapy", "--cv", "0"]),
        &["--strategy dr-learner needs --cv of at least 2"],
    );
    fails_usage(
        &mut train(&[]),
        &["--strategy dr-learner needs --therapy-col"],
    );
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--control", "A", "--out"])
            .arg(dir.path().join("m.json")),
        &["--control chooses the control arm of --strategy dr-learner, x-learner or causal-forest"],
    );
    // An arm with 4 responders cannot give each of 5 folds one.
    let mut few = String::from("patient_id,score,therapy,responder\n");
    for i in 0..80 {
        let arm = if i % 2 == 0 { "A" } else { "B" };
        let resp = if arm == "B" { i % 20 == 1 } else { i % 4 == 0 };
        few.push_str(&format!("P{i},{},{arm},{}\n", i % 13, u8::from(resp)));
    }
    let few = write(dir.path(), "few.csv", &few);
    fails(
        responder()
            .args(["train", "--data", &few, "--target", "responder"])
            .args([
                "--therapy-col",
                "therapy",
                "--strategy",
                "dr-learner",
                "--cv",
                "5",
                "--out",
            ])
            .arg(dir.path().join("m.json")),
        &[
            "arm `B` has 4 responders and 36 non-responders",
            "needs at least 5 of each",
        ],
    );
    fails(
        responder()
            .args(["train", "--data", &few, "--target", "responder"])
            .args([
                "--therapy-col",
                "therapy",
                "--strategy",
                "x-learner",
                "--cv",
                "5",
                "--out",
            ])
            .arg(dir.path().join("m.json")),
        &["arm `B` has 4 responders", "the x-learner's cross-fitting"],
    );
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--cv", "0"])
            .args(["--strategy", "x-learner", "--out"])
            .arg(dir.path().join("m.json")),
        &["--strategy x-learner needs --cv of at least 2"],
    );
    assert!(!dir.path().join("m.json").exists());
}

#[test]
fn causal_forest_bundle_intervals_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--control",
        "B",
        "--forest-trees",
        "41",
        "--forest-offset",
        "none",
    ];
    let a = train_dr(dir.path(), "a.json", "causal-forest", &flags);
    let b = train_dr(dir.path(), "b.json", "causal-forest", &flags);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "deterministic");
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["strategy"], "causal-forest");
    let forests = v["effect"]["forests"].as_array().unwrap();
    assert_eq!(forests.len(), 1);
    assert_eq!(forests[0]["arm"], 0);
    assert!(forests[0].get("t_learner_offset").is_none());
    // 41 trees round up to 21 little bags of 2.
    assert_eq!(forests[0]["forest"]["trees"].as_array().unwrap().len(), 42);
    let data = dir.path().join("train.csv").display().to_string();
    let out = responder()
        .args(["score", "--model"])
        .arg(&a)
        .args(["--data", &data, "--format", "csv", "--min-advantage", "ci"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("little-bags variance (21 groups of 2 trees)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: causal-forest intervals are narrow")
            && stderr.contains("covered 30-42%"),
        "{stderr}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,patient_id,p_A,p_B,best_therapy,advantage,effect_A,effect_A_low,effect_A_high"
    );
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        assert!((num(6) - (num(2) - num(3))).abs() < 2e-4, "{l}");
        assert!(num(7) <= num(6) && num(6) <= num(8), "{l}");
        assert_eq!(f[4] == "none", num(7) <= 0.0 && num(8) >= 0.0, "{l}");
    }
    stdout_of(
        responder()
            .args(["score", "--cross-fitted", "--model"])
            .arg(&a),
    );
    stdout_of(
        responder()
            .args(["evaluate", "--model"])
            .arg(&a)
            .args(["--data", &data]),
    );
    // Its intervals come from the trees, not from --replicates.
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--strategy", "causal-forest"])
            .args(["--replicates", "5", "--forest-offset", "none", "--out"])
            .arg(dir.path().join("m.json")),
        &["--replicates is not used by --strategy causal-forest with --forest-offset none"],
    );
    // Fewer than 20 little bags would leave patients without out-of-bag trees.
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--strategy", "causal-forest"])
            .args(["--forest-trees", "10", "--out"])
            .arg(dir.path().join("m.json")),
        &["--forest-trees"],
    );
    // A forest whose leaves hold nothing is refused.
    let mut e = v.clone();
    let w = e["effect"]["forests"][0]["forest"]["trees"][5]["weight"]
        .as_array_mut()
        .unwrap();
    for x in w.iter_mut() {
        *x = serde_json::json!(0.0);
    }
    let path = write(dir.path(), "edited.json", &e.to_string());
    fails(
        responder().args(["inspect", &path]),
        &[
            "`effect.forests[0].forest.trees[5]`",
            "no estimation patient",
        ],
    );
    // An edited forest is refused.
    let mut e = v.clone();
    e["effect"]["forests"][0]["forest"]["trees"][3]["split"][0] = serde_json::json!(100000);
    let path = write(dir.path(), "edited.json", &e.to_string());
    fails(
        responder().args(["inspect", &path]),
        &[
            "`effect.forests[0].forest.trees[3]`",
            "node 0 splits on input 100000",
        ],
    );
    let mut e = v;
    e["effect"]["forests"][0]["forest"]["trees"]
        .as_array_mut()
        .unwrap()
        .pop();
    let path = write(dir.path(), "edited.json", &e.to_string());
    fails(
        responder().args(["inspect", &path]),
        &["has 41 trees", "a multiple of 2"],
    );
}

#[test]
fn auto_effect_compares_the_strategies_and_stores_its_choice() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--forest-trees", "40", "--replicates", "4"];
    let a = train_dr(dir.path(), "a.json", "auto-effect", &flags);
    let b = train_dr(dir.path(), "b.json", "auto-effect", &flags);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "deterministic");
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let sel = &v["effect_selection"];
    assert_eq!(sel["loss"], "cross-validated DR loss");
    let c = sel["candidates"].as_array().unwrap();
    let names: Vec<&str> = c.iter().map(|c| c["strategy"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "t-learner",
            "s-learner",
            "dr-learner",
            "x-learner",
            "causal-forest"
        ]
    );
    // The stored strategy is the candidate with the least loss among those
    // below the T-learner's by more than 1.645 standard errors of the
    // difference (every other candidate has one), else the T-learner.
    assert!(c[0].get("se_vs_t").is_none());
    assert_eq!(v["strategy"], expected_choice(c, 1.645));
    // It scores like any bundle, and says what it chose.
    let data = dir.path().join("train.csv").display().to_string();
    stdout_of(
        responder()
            .args(["score", "--model"])
            .arg(&a)
            .args(["--data", &data]),
    );
    let inspect = stdout_of(responder().arg("inspect").arg(&a));
    assert!(
        inspect.contains("auto-effect by cross-validated DR loss"),
        "{inspect}"
    );
    // A bundle cannot claim auto-effect as its strategy.
    let mut e = v;
    e["strategy"] = serde_json::json!("auto-effect");
    let path = write(dir.path(), "edited.json", &e.to_string());
    fails(responder().args(["inspect", &path]), &["auto-effect"]);
}

/// On a cohort where one logistic model with a therapy term is the true
/// model (tests/fixtures/s_learner/make_s_learner_cohort.py), `auto-effect`
/// chooses the S-learner: the bundle is an S-learner's (one model, the
/// fixed algorithm), deterministic, with replicates, and scores with
/// intervals like one trained with `--strategy s-learner`.
#[test]
fn auto_effect_can_choose_the_s_learner() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo("tests/fixtures/s_learner/s_learner_cohort.csv");
    let train = |name: &str, strategy: &str| {
        let out = dir.path().join(name);
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--strategy", strategy])
            .args(["--algorithm", "logistic", "--cv", "3", "--seed", "1"])
            .args(["--forest-trees", "40", "--replicates", "5", "--out"])
            .arg(&out)
            .assert()
            .success();
        out
    };
    let auto = train("auto.json", "auto-effect");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&auto).unwrap()).unwrap();
    assert_eq!(v["strategy"], "s-learner", "{}", v["effect_selection"]);
    assert_eq!(v["algorithm"], "logistic");
    assert_eq!(v["arms"][0]["replicates"].as_array().unwrap().len(), 5);
    assert_eq!(v["arms"][0]["model"], v["arms"][1]["model"], "one model");
    assert_eq!(
        std::fs::read(&auto).unwrap(),
        std::fs::read(train("again.json", "auto-effect")).unwrap()
    );
    // The same models as `--strategy s-learner` with the same flags.
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(train("s.json", "s-learner")).unwrap()).unwrap();
    assert_eq!(v["arms"], s["arms"]);
    let scored = stdout_of(responder().args(["score", "--model"]).arg(&auto).args([
        "--data",
        &data,
        "--intervals",
        "--format",
        "csv",
    ]));
    assert!(
        scored.lines().next().unwrap().contains("effect_B_low"),
        "{scored}"
    );
}

/// With `--group-col`, the DR- and X-learner's propensity and final-stage
/// folds keep each site whole: the bundles are deterministic, record the
/// grouping, and differ from the ungrouped fit.
#[test]
fn effect_learners_use_grouped_folds() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 400, 5, 2, &["--sites", "5"]);
    for strategy in ["dr-learner", "x-learner"] {
        let fit = |name: &str, grouped: bool| {
            let out = dir.path().join(name);
            let mut c = responder();
            c.args(["train", "--data", &data, "--target", "responder"])
                .args(["--therapy-col", "therapy", "--strategy", strategy])
                .args(["--cv", "5", "--seed", "3", "--out"])
                .arg(&out);
            if grouped {
                c.args(["--group-col", "site"]);
            } else {
                c.args(["--exclude", "site"]);
            }
            c.assert().success();
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
            v
        };
        let a = fit("a.json", true);
        assert_eq!(a, fit("b.json", true), "{strategy}: deterministic");
        assert_eq!(a["training"]["cv_groups"]["column"], "site");
        assert_ne!(a["effect"], fit("c.json", false)["effect"], "{strategy}");
    }
}

/// `responder train --data DATA --target responder --therapy-col therapy`.
fn train_arms(data: &str) -> Command {
    let mut c = responder();
    c.args(["train", "--data", data, "--target", "responder"])
        .args(["--therapy-col", "therapy"]);
    c
}

/// A JSON file (bundle or card).
fn json_of(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `--replicates` with `--group-col` are a cluster bootstrap of the groups
/// (recorded in the bundle, said on stderr, by `inspect` and in the model
/// card), deterministic, and not the patient bootstrap that
/// `--resample-unit patients` asks for; few groups are warned about.
#[test]
fn replicates_resample_groups_with_group_col() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 600, 5, 4, &["--sites", "12"]);
    let fit = |name: &str, strategy: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let (_, err) = ok(train_arms(&data)
            .args(["--strategy", strategy, "--cv", "3", "--seed", "3"])
            .args(["--replicates", "4", "--group-col", "site", "--out"])
            .arg(&out)
            .args(extra));
        (json_of(&out), err, out)
    };
    for strategy in ["t-learner", "s-learner", "dr-learner", "x-learner"] {
        let (g, err, model) = fit("g.json", strategy, &[]);
        assert_eq!(
            g["training"]["cluster_bootstrap"],
            serde_json::json!({"column": "site", "groups": 12}),
            "{strategy}"
        );
        assert!(
            err.contains("--replicates resample the 12 groups of `site`"),
            "{err}"
        );
        assert!(!err.contains("only 12 groups"), "{err}");
        let inspected = stdout_of(responder().arg("inspect").arg(&model));
        assert!(
            inspected.contains("resampling the 12 groups of `site` (cluster bootstrap)"),
            "{inspected}"
        );
        assert_eq!(
            g,
            fit("g2.json", strategy, &[]).0,
            "{strategy}: deterministic"
        );
        // The model card names the strategy, the replicates' unit and the folds.
        let c = json_of(&card_of(&model, dir.path(), strategy).join("model-card.json"));
        assert_eq!(c["strategy"], strategy);
        let text = c["strategy_text"].as_str().unwrap();
        assert!(
            text.contains("4 bootstrap replicates for the effect intervals, resampling the 12 groups of `site` (cluster bootstrap)"),
            "{text}"
        );
        assert_eq!(
            c["cv_method"],
            "grouped K-fold: each of the 12 groups of `site` kept whole"
        );
        let (p, err, _) = fit("p.json", strategy, &["--resample-unit", "patients"]);
        assert!(
            p["training"].get("cluster_bootstrap").is_none(),
            "{strategy}"
        );
        assert!(!err.contains("resample the"), "{err}");
        // Same models, other replicates.
        assert_eq!(g["arms"][0]["model"], p["arms"][0]["model"], "{strategy}");
        assert_ne!(
            g["arms"][0]["replicates"], p["arms"][0]["replicates"],
            "{strategy}"
        );
        if strategy.ends_with("r-learner") {
            let (ge, pe) = (&g["effect"]["arms"][0], &p["effect"]["arms"][0]);
            assert_eq!(ge["model"], pe["model"], "{strategy}");
            assert_ne!(ge["replicates"], pe["replicates"], "{strategy}");
        }
    }
    // Few groups: a warning naming the count.
    let few = simulated(&dir.path().join("few"), 300, 5, 4, &["--sites", "4"]);
    let (_, err) = ok(train_arms(&few)
        .args([
            "--cv",
            "3",
            "--replicates",
            "3",
            "--group-col",
            "site",
            "--out",
        ])
        .arg(dir.path().join("few.json")));
    assert!(
        err.contains("only 4 groups of `site` for the cluster bootstrap"),
        "{err}"
    );
}

/// `report --model M --out DIR/card-NAME`: the card's folder.
fn card_of(model: &Path, dir: &Path, name: &str) -> PathBuf {
    let card = dir.join(format!("card-{name}"));
    ok(responder()
        .args(["report", "--model"])
        .arg(model)
        .arg("--out")
        .arg(&card));
    card
}

/// With `--group-col`, a causal forest's little bags draw whole sites too,
/// with its replicates or alone (recorded, in the score note and the
/// card; a bundle from before says its bags drew patients); fewer than 4
/// sites in a pair is an error for the forest and for auto-effect.
#[test]
fn causal_forest_little_bags_draw_whole_groups() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 600, 5, 4, &["--sites", "12"]);
    let score_note = |model: &str| {
        let (_, err) = ok(responder().args(["score", "--model", model]).args([
            "--data",
            &data,
            "--intervals",
            "--out",
            "/dev/null",
        ]));
        err
    };
    for (offset, said) in [
        ("t-learner", "--replicates and the causal forest's little bags resample the 12 groups of `site` whole"),
        ("none", "the causal forest's little bags draw the 12 groups of `site` whole"),
    ] {
        let out = dir.path().join("cf.json");
        let mut c = train_arms(&data);
        c.args(["--strategy", "causal-forest", "--cv", "3", "--forest-trees", "40"])
            .args(["--group-col", "site"])
            .args(["--replicates", if offset == "none" { "0" } else { "4" }])
            .args(["--forest-offset", offset, "--out"])
            .arg(&out);
        if offset == "none" {
            c.args(["--resample-unit", "groups"]);
        }
        let (_, err) = ok(&mut c);
        assert!(err.contains(said), "{err}");
        let v = json_of(&out);
        assert_eq!(v["training"]["cluster_bootstrap"]["groups"], 12, "{offset}");
        assert_eq!(v["training"]["cluster_bootstrap"]["little_bags"], true);
        let md = std::fs::read_to_string(card_of(&out, dir.path(), offset).join("model-card.md"))
            .unwrap();
        assert!(
            md.contains("the forest's little bags drew half of the 12 groups of `site`, whole"),
            "{offset}"
        );
        if offset == "t-learner" {
            // A bundle written before the little bags drew groups.
            let mut old = v.clone();
            old["training"]["cluster_bootstrap"]
                .as_object_mut()
                .unwrap()
                .remove("little_bags");
            let path = write(dir.path(), "old.json", &old.to_string());
            let err = score_note(&path);
            assert!(err.contains("(the little bags resample patients)"), "{err}");
        }
        let err = score_note(out.to_str().unwrap());
        assert!(err.contains("resampling the 12 groups of `site` whole"), "{err}");
    }
    let three = simulated(&dir.path().join("three"), 300, 5, 4, &["--sites", "3"]);
    for strategy in ["causal-forest", "auto-effect"] {
        fails(
            train_arms(&three)
                .args(["--strategy", strategy, "--cv", "3", "--forest-trees", "40"])
                .args(["--group-col", "site", "--out", "/dev/null"]),
            &[
                "little bags from whole groups of `site`",
                "in 3 groups; it needs at least 4",
            ],
        );
    }
}

/// An arm given at one site only is refused by grouped cross-validation
/// (`train` and `compare`; this was "cannot fit a model on 0 rows") and by
/// the cluster bootstrap, which could never vary it; `--resample-unit`
/// without what it needs is a usage error.
#[test]
fn one_site_arm_and_resample_unit_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 600, 5, 4, &["--sites", "12"]);
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (therapy, site) = {
        let h: Vec<&str> = header.split(',').collect();
        let at = |n: &str| h.iter().position(|c| *c == n).unwrap();
        (at("therapy"), at("site"))
    };
    let mut one_site = vec![header.to_string()];
    for l in lines {
        let mut f: Vec<String> = l.split(',').map(String::from).collect();
        if f[therapy] == "ketamine" {
            f[site] = "S1".into();
        }
        one_site.push(f.join(","));
    }
    let path = write(dir.path(), "one_site.csv", &(one_site.join("\n") + "\n"));
    let train = |extra: &[&str]| {
        let mut c = train_arms(&path);
        c.args(["--group-col", "site", "--out"])
            .arg(dir.path().join("o.json"))
            .args(extra);
        c
    };
    fails(
        &mut train(&["--cv", "3"]),
        &[
            "arm `ketamine`: all its patients are in group `S1` of `site`",
            "when `S1` is held out",
        ],
    );
    fails(
        &mut train(&["--cv", "0", "--replicates", "3"]),
        &[
            "arm `ketamine`: all its patients are in one group of `site` (`S1`)",
            "--resample-unit patients",
        ],
    );
    ok(&mut train(&[
        "--cv",
        "0",
        "--replicates",
        "3",
        "--resample-unit",
        "patients",
    ]));
    let mut c = responder();
    c.args(["compare", "--data", &path])
        .args(["--target", "responder", "--therapy-col", "therapy"])
        .args(["--group-col", "site", "--algorithms", "logistic"]);
    fails(
        &mut c,
        &["arm `ketamine`: all its patients are in group `S1` of `site`"],
    );
    fails_usage(
        &mut train(&["--resample-unit", "groups"]),
        &["--resample-unit says what --replicates (or a causal forest's little bags) resample"],
    );
    fails_usage(
        train_arms(&data).args([
            "--replicates",
            "3",
            "--resample-unit",
            "groups",
            "--out",
            "/dev/null",
        ]),
        &["--resample-unit groups needs --group-col COL"],
    );
}

/// A causal forest that corrects the T-learner's effect (the default):
/// the bundle marks it, its arms keep the outcome models' replicates, and
/// `score --intervals` adds their variance to the forest's; without
/// replicates it has no intervals; an edited bundle that mixes the two
/// kinds, or gives a plain forest replicates, is refused.
#[test]
fn offset_causal_forest_bundle_and_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--control",
        "B",
        "--forest-trees",
        "41",
        "--replicates",
        "10",
    ];
    let a = train_dr(dir.path(), "a.json", "causal-forest", &flags);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(train_dr(dir.path(), "b.json", "causal-forest", &flags)).unwrap(),
        "deterministic"
    );
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["effect"]["forests"][0]["t_learner_offset"], true);
    assert_eq!(v["arms"][0]["replicates"].as_array().unwrap().len(), 10);
    let data = dir.path().join("train.csv").display().to_string();
    let score = |model: &Path, extra: &[&str]| {
        let mut c = responder();
        c.args(["score", "--model"])
            .arg(model)
            .args(["--data", &data, "--format", "csv"])
            .args(extra);
        c
    };
    let (out, err) = ok(&mut score(&a, &["--intervals"]));
    assert!(
        err.contains("10 bootstrap replicates of the outcome models plus the causal forest's little-bags variance of its correction (21 groups of 2 trees)"),
        "{err}"
    );
    assert!(!err.contains("intervals are narrow"), "{err}");
    // The interval is wider than the forest's alone (the plain forest
    // fitted with the same seed has its own trees, so compare with the
    // T-learner part): every interval holds its effect.
    for l in out.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        assert!(num(7) < num(6) && num(6) < num(8), "{l}");
    }
    let inspected = stdout_of(responder().arg("inspect").arg(&a));
    assert!(
        inspected.contains("correcting the T-learner's effect"),
        "{inspected}"
    );
    assert!(inspected.contains("10 bootstrap replicates"), "{inspected}");
    // By default it fits 50 replicates; with --replicates 0, no intervals.
    let dflt = train_dr(
        dir.path(),
        "d.json",
        "causal-forest",
        &["--control", "B", "--forest-trees", "41"],
    );
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&dflt).unwrap()).unwrap();
    assert_eq!(d["arms"][1]["replicates"].as_array().unwrap().len(), 50);
    let bare = train_dr(
        dir.path(),
        "c.json",
        "causal-forest",
        &[
            "--control",
            "B",
            "--forest-trees",
            "41",
            "--replicates",
            "0",
        ],
    );
    fails(
        &mut score(&bare, &["--intervals"]),
        &["--intervals needs bootstrap replicates and the bundle has 0"],
    );
    ok(&mut score(&bare, &[]));
    // Edited bundles.
    let mut e = v.clone();
    e["effect"]["forests"][0]["t_learner_offset"] = serde_json::json!(false);
    let path = write(dir.path(), "edited.json", &e.to_string());
    fails(
        responder().args(["inspect", &path]),
        &["a causal forest without `t_learner_offset` has no `replicates`"],
    );
    // Three arms: two forests, which must agree on the offset.
    let three = simulated(dir.path(), 300, 3, 2, &[]);
    let out = dir.path().join("three.json");
    ok(train_arms(&three)
        .args([
            "--strategy",
            "causal-forest",
            "--cv",
            "3",
            "--forest-trees",
            "40",
        ])
        .args(["--replicates", "2", "--out"])
        .arg(&out));
    let mut e = json_of(&out);
    assert_eq!(e["effect"]["forests"].as_array().unwrap().len(), 2);
    e["effect"]["forests"][1]["t_learner_offset"] = serde_json::json!(false);
    let path = write(dir.path(), "mixed.json", &e.to_string());
    fails(
        responder().args(["inspect", &path]),
        &["`effect.forests[].t_learner_offset` must be the same for every forest"],
    );
}

/// The forest's correction finds a step in the effect (B helps only when
/// x1 > 0 and x2 > 0) that logistic outcome models, additive on the logit,
/// miss: the effect's error on new patients is far below the T-learner's.
#[test]
fn forest_correction_finds_a_step_effect_the_outcome_models_miss() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut unif = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut make = |n: usize, first: usize| {
        let mut csv = String::from("patient_id,x1,x2,x3,therapy,responder\n");
        let mut tau = Vec::new();
        for i in 0..n {
            let x: Vec<f64> = (0..3).map(|_| 2.0 * unif() - 1.0).collect();
            let b = unif() < 0.5;
            let t = if x[0] > 0.0 && x[1] > 0.0 { 0.25 } else { -0.1 };
            let p = 0.35 + 0.1 * x[2] + if b { t } else { 0.0 };
            let y = unif() < p;
            csv += &format!(
                "Q{},{:.4},{:.4},{:.4},{},{}\n",
                first + i,
                x[0],
                x[1],
                x[2],
                if b { "B" } else { "A" },
                u8::from(y)
            );
            tau.push(t);
        }
        (csv, tau)
    };
    let (train, _) = make(3000, 0);
    let (test, tau) = make(500, 10_000);
    let train = write(dir.path(), "train.csv", &train);
    let test = write(dir.path(), "test.csv", &test);
    let mse = |strategy: &str| {
        let model = dir.path().join(format!("{strategy}.json"));
        let mut c = responder();
        c.args(["train", "-q", "--data", &train, "--target", "responder"])
            .args(["--therapy-col", "therapy", "--strategy", strategy])
            .args(["--cv", "3", "--forest-trees", "100", "--out"])
            .arg(&model);
        if strategy != "t-learner" {
            c.args(["--control", "A"]);
        }
        ok(&mut c);
        let out = stdout_of(
            responder()
                .args(["score", "--model"])
                .arg(&model)
                .args(["--data", &test, "--format", "csv"]),
        );
        let mut lines = out.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |n: &str| head.iter().position(|c| *c == n).unwrap();
        let (id, pa, pb) = (at("patient_id"), at("p_A"), at("p_B"));
        let mut sum = 0.0;
        for l in lines {
            let f: Vec<&str> = l.split(',').collect();
            let i: usize = f[id][1..].parse::<usize>().unwrap() - 10_000;
            let e = f[pb].parse::<f64>().unwrap() - f[pa].parse::<f64>().unwrap();
            sum += (e - tau[i]).powi(2);
        }
        sum / tau.len() as f64
    };
    let (t, forest) = (mse("t-learner"), mse("causal-forest"));
    assert!(forest < 0.7 * t, "forest {forest:.5}, t-learner {t:.5}");
}

/// `auto-effect` with `--group-col`: the standard errors of the loss
/// differences are clustered over the sites, the bar is Student's t with
/// G − 1 degrees of freedom (2.132 for 5 sites), and stderr, the bundle
/// and `inspect` say so.
#[test]
fn auto_effect_clusters_its_standard_errors_by_group() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 400, 5, 2, &["--sites", "5"]);
    let out = dir.path().join("auto.json");
    let (_, err) = ok(train_arms(&data)
        .args(["--strategy", "auto-effect", "--cv", "3", "--seed", "3"])
        .args(["--forest-trees", "40", "--group-col", "site", "--out"])
        .arg(&out));
    assert!(
        err.contains("clustered over 5 groups")
            && err
                .contains("by more than 2.132 times its ±: Student's t with 4 degrees of freedom"),
        "{err}"
    );
    let v = json_of(&out);
    let sel = &v["effect_selection"];
    assert_eq!(sel["clusters"], 5);
    let c = sel["candidates"].as_array().unwrap();
    assert_eq!(v["strategy"], expected_choice(c, 2.131_846_786));
    let inspected = stdout_of(responder().arg("inspect").arg(&out));
    assert!(
        inspected.contains("(± clustered over 5 groups)"),
        "{inspected}"
    );
}

/// `auto-effect`'s rule over a bundle's candidates (the T-learner first):
/// the least loss among those below the T-learner's by more than `bar`
/// standard errors of the difference, else the T-learner.
fn expected_choice(c: &[serde_json::Value], bar: f64) -> &str {
    let loss = |x: &serde_json::Value| x["loss"].as_f64().unwrap();
    let t = loss(&c[0]);
    c[1..]
        .iter()
        .filter(|x| loss(x) < t - bar * x["se_vs_t"].as_f64().unwrap())
        .min_by(|x, y| loss(x).total_cmp(&loss(y)))
        .map_or("t-learner", |b| b["strategy"].as_str().unwrap())
}

/// `--outcome-models s-learner`: the DR-, X-learner and causal forest on
/// the data-shared S-learner's outcome models, deterministic, scored with
/// intervals from the S-learner's replicates, named in the card; a bundle
/// mixing per-arm and S-learner outcome models is refused; the flag is
/// refused where it means nothing.
#[test]
fn effect_learners_on_s_learner_outcome_models() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulated(dir.path(), 600, 20, 9, &[]);
    let geno = dir.path().join("c/genotypes.csv").display().to_string();
    let train = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        responder()
            .args(["train", "-q", "--data", &data, "--genotypes", &geno])
            .args(["--target", "responder", "--therapy-col", "therapy"])
            .args(["--cv", "3", "--seed", "4", "--out"])
            .arg(&out)
            // The lasso unless `extra` names an algorithm or `default`.
            .args(
                match extra.contains(&"--algorithm") || extra.contains(&"default") {
                    true => &[][..],
                    false => &["--algorithm", "lasso"][..],
                },
            )
            .args(extra.iter().filter(|&&e| e != "default"))
            .assert()
            .success();
        out
    };
    let score = |m: &Path| scored_with_intervals(m, &data, &geno);
    let column = |csv: &str, name: &str| -> Vec<String> {
        let mut lines = csv.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let j = head.iter().position(|h| *h == name).unwrap();
        let mut rows: Vec<(String, String)> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[1].to_string(), f[j].to_string())
            })
            .collect();
        rows.sort();
        rows.into_iter().map(|r| r.1).collect()
    };
    let s_flags = [
        "--outcome-models",
        "s-learner",
        "--replicates",
        "3",
        "--control",
        "SSRI",
    ];
    let s = train("s.json", &["--strategy", "s-learner", "--replicates", "3"]);
    let s_scored = score(&s);
    for strategy in ["dr-learner", "x-learner", "causal-forest"] {
        let mut flags = vec!["--strategy", strategy];
        flags.extend(s_flags);
        if strategy == "causal-forest" {
            flags.extend(["--forest-trees", "40"]);
        }
        let m = train(&format!("{strategy}.json"), &flags);
        let bytes = std::fs::read(&m).unwrap();
        let again = train(&format!("{strategy}-again.json"), &flags);
        assert_eq!(bytes, std::fs::read(&again).unwrap(), "{strategy}");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["strategy"], strategy);
        assert_eq!(v["format_version"], 3);
        let arms = v["arms"].as_array().unwrap();
        let n: f64 = arms.iter().map(|a| a["n"].as_f64().unwrap()).sum();
        for (a, arm) in arms.iter().enumerate() {
            assert_eq!(arm["design"]["design"], "s-learner", "{strategy}");
            assert_eq!(arm["design"]["arm"], a);
            let r = arm["design"]["deviation_penalty"].as_f64().unwrap();
            assert!((r - (arm["n"].as_f64().unwrap() / n).sqrt()).abs() < 1e-15);
            assert_eq!(arm["replicates"].as_array().unwrap().len(), 3);
            assert_eq!(arm["model"], arms[0]["model"]);
        }
        // The control arm's probability is the S-learner's own.
        let scored = score(&m);
        assert_eq!(column(&scored, "p_SSRI"), column(&s_scored, "p_SSRI"));
        for arm in ["TMS", "ketamine"] {
            let e = column(&scored, &format!("effect_{arm}"));
            let lo = column(&scored, &format!("effect_{arm}_low"));
            let hi = column(&scored, &format!("effect_{arm}_high"));
            for ((e, lo), hi) in e.iter().zip(&lo).zip(&hi) {
                let (e, lo, hi): (f64, f64, f64) =
                    (e.parse().unwrap(), lo.parse().unwrap(), hi.parse().unwrap());
                assert!(lo <= e && e <= hi && hi - lo > 0.0, "{strategy} {arm}");
            }
        }
        let inspect = stdout_of(responder().arg("inspect").arg(&m));
        let says = match strategy {
            "causal-forest" => "correcting the S-learner's effect",
            _ => "S-learner effect + lasso correction",
        };
        assert!(inspect.contains(says), "{inspect}");
        let card = card_of(&m, dir.path(), strategy);
        let c = json_of(&card.join("model-card.json"));
        assert_eq!(c["one_model_for_all_arms"], true);
        let md = std::fs::read_to_string(card.join("model-card.md")).unwrap();
        assert!(
            md.contains("cross-validation of the one model over all arms' patients")
                && md.contains("- arms: one model for every value of `therapy`"),
            "{md}"
        );
        let text = c["strategy_text"].as_str().unwrap();
        assert!(
            text.contains("S-learner outcome models (one model on all arms")
                && text.contains("data-shared lasso"),
            "{text}"
        );
    }
    // By default the lasso's effect learners use the S-learner (also when
    // it is the default algorithm on SNP data), others per-arm models.
    let design_of = |m: &Path| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(m).unwrap()).unwrap();
        v["arms"][0]["design"]["design"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let d = train(
        "d.json",
        &["--strategy", "dr-learner", "--control", "SSRI", "default"],
    );
    assert_eq!(design_of(&d), "s-learner");
    let l = train(
        "l.json",
        &[
            "--strategy",
            "x-learner",
            "--control",
            "SSRI",
            "--algorithm",
            "logistic",
        ],
    );
    assert_eq!(design_of(&l), "per-arm");
    // auto-effect's DR-, X-learner and forest candidates are fitted on
    // the S-learner's outcome models too (so their losses change), and the
    // bundle keeps them when one of those is chosen.
    let auto = |name: &str, extra: &[&str]| {
        let mut flags = vec!["--strategy", "auto-effect", "--forest-trees", "40"];
        flags.extend(extra);
        let m = train(name, &flags);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
        let losses: Vec<f64> = v["effect_selection"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["loss"].as_f64().unwrap())
            .collect();
        (v, losses)
    };
    let (shared, s_losses) = auto("auto-s.json", &[]);
    let (_, t_losses) = auto("auto-t.json", &["--outcome-models", "t-learner"]);
    assert_eq!(s_losses[..2], t_losses[..2]);
    for k in 2..5 {
        assert_ne!(s_losses[k], t_losses[k], "candidate {k}");
    }
    let chosen = shared["strategy"].as_str().unwrap();
    let design = shared["arms"][0]["design"]["design"].as_str().unwrap();
    assert_eq!(
        design,
        match chosen {
            "t-learner" => "per-arm",
            _ => "s-learner",
        },
        "{chosen}"
    );
    // Arm 1 of a per-arm DR-learner put into the S-learner one: refused.
    let t = train(
        "t.json",
        &[
            "--strategy",
            "dr-learner",
            "--control",
            "SSRI",
            "--replicates",
            "3",
            "--outcome-models",
            "t-learner",
        ],
    );
    let tv: serde_json::Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dr-learner.json")).unwrap())
            .unwrap();
    v["arms"][1] = tv["arms"][1].clone();
    let edited = write(dir.path(), "mixed.json", &v.to_string());
    fails(
        responder().args(["inspect", &edited]),
        &["arms[1]", "`design` is per-arm but arms[0]'s is s-learner"],
    );
    // Usage errors: not an effect learner; auto chooses per arm.
    let usage = |extra: &[&str], needle: &str| {
        fails_usage(
            responder()
                .args(["train", "--data", &data, "--target", "responder"])
                .args(["--therapy-col", "therapy", "--outcome-models", "s-learner"])
                .args(extra)
                .arg("--out")
                .arg(dir.path().join("no.json")),
            &[needle],
        );
    };
    usage(&["--algorithm", "lasso"], "not t-learner");
    usage(
        &["--strategy", "s-learner", "--algorithm", "lasso"],
        "not s-learner",
    );
    usage(
        &["--strategy", "dr-learner", "--algorithm", "auto"],
        "--outcome-models s-learner takes a fixed --algorithm",
    );
    assert!(!dir.path().join("no.json").exists());
}
