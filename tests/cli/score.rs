//! Integration tests of `responder score`, including its bad inputs.

use crate::common::*;

use std::path::{Path, PathBuf};

/// Trains a two-arm model on the small cohort in `dir`.
fn two_arm_model(dir: &Path) -> PathBuf {
    let data = write(dir, "train.csv", &small_clinical(80));
    let geno = write(dir, "geno.csv", &small_genotypes(80));
    let out = dir.join("model.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--target",
            "responder",
        ])
        .args(["--therapy-col", "therapy", "--cv", "0", "--out"])
        .arg(&out)
        .assert()
        .success();
    out
}

fn example_score() -> assert_cmd::Command {
    let mut c = responder();
    c.args([
        "score",
        "--model",
        &repo("models/example.json"),
        "--data",
        &repo("examples/cohort/clinical.csv"),
        "--genotypes",
        &repo("examples/cohort/genotypes.csv"),
    ]);
    c
}

#[test]
fn multi_arm_output_is_ranked_by_best_arm() {
    let text = stdout_of(example_score().args(["--format", "csv"]));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,patient_id,p_SSRI,p_TMS,p_ketamine,best_therapy,advantage"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 600);
    let mut prev = f64::INFINITY;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], (i + 1).to_string());
        let p: Vec<f64> = r[2..5].iter().map(|s| s.parse().unwrap()).collect();
        let best = p.iter().cloned().fold(f64::MIN, f64::max);
        let arms = ["SSRI", "TMS", "ketamine"];
        let best_arm = arms[p.iter().position(|&v| v == best).unwrap()];
        assert_eq!(r[5], best_arm);
        let mut sorted = p.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let adv: f64 = r[6].parse().unwrap();
        assert!((adv - (sorted[0] - sorted[1])).abs() < 2e-6);
        assert!(best <= prev);
        prev = best;
    }
}

#[test]
fn therapy_flag_ranks_by_that_arm_and_top_keeps_k() {
    let text =
        stdout_of(example_score().args(["--therapy", "TMS", "--top", "7", "--format", "csv"]));
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(3)
                .take(1)
                .map(|s| s.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 7);
    assert!(rows.windows(2).all(|w| w[0][0] >= w[1][0]));
}

#[test]
fn json_has_the_same_rows() {
    let csv = stdout_of(example_score().args(["--format", "csv", "--top", "3"]));
    let json = stdout_of(example_score().args(["--format", "json", "--top", "3"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(arr[0]["rank"], 1);
    assert_eq!(arr[0]["patient_id"], first[1]);
    assert_eq!(arr[0]["best_therapy"], first[5]);
    let p: f64 = first[2].parse().unwrap();
    assert!((arr[0]["p_SSRI"].as_f64().unwrap() - p).abs() < 1e-12);
    let keys: Vec<&String> = arr[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "rank",
            "patient_id",
            "p_SSRI",
            "p_TMS",
            "p_ketamine",
            "best_therapy",
            "advantage"
        ]
    );
}

#[test]
fn table_format_is_aligned() {
    let text = stdout_of(example_score().args(["--format", "table", "--top", "2"]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("rank  patient_id"));
    assert!(lines[1].starts_with("----"));
    assert_eq!(lines.len(), 4);
}

#[test]
fn single_arm_output_and_column_order_is_irrelevant() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "train.csv", &small_clinical(60));
    let model = dir.path().join("m.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--exclude",
            "therapy",
        ])
        .args(["--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    let a = stdout_of(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &data, "--format", "csv"]),
    );
    assert!(a.starts_with("rank,patient_id,probability\n"));
    // Reorder columns and add an extra one: same scores.
    let mut reordered = String::from("extra,score,therapy,sex,patient_id,age\n");
    for line in small_clinical(60).lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        reordered.push_str(&format!("x,{},{},{},{},{}\n", f[3], f[4], f[2], f[0], f[1]));
    }
    let other = write(dir.path(), "reordered.csv", &reordered);
    let b = stdout_of(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &other, "--format", "csv"]),
    );
    assert_eq!(a, b);
}

#[test]
fn stdin_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let out = dir.path().join("ranked.csv");
    let data = small_clinical(80);
    responder()
        .args(["score", "--model"])
        .arg(&model)
        .args([
            "--data",
            "-",
            "--genotypes",
            &dir.path().join("geno.csv").display().to_string(),
            "--out",
        ])
        .arg(&out)
        .write_stdin(data)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("rank,patient_id,p_A,p_B,best_therapy,advantage\n"));
    assert_eq!(text.lines().count(), 81);
}

#[test]
fn unseen_category_level_is_scored_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let data = small_clinical(10).replace(",F,", ",X,");
    let new = write(dir.path(), "new.csv", &data);
    let geno = dir.path().join("geno.csv").display().to_string();
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &new, "--genotypes", &geno, "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: ")
            && stderr.contains("4 patients have a `sex` level the model never saw"),
        "{stderr}"
    );
}

#[test]
fn missing_values_are_imputed_at_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let new = write(
        dir.path(),
        "new.csv",
        "patient_id,age,sex,score\nQ1,,NA,\nQ2,40,F,30\n",
    );
    let geno = write(dir.path(), "g.csv", "patient_id,rs1,rs2\nQ1,NA,.\nQ2,1,2\n");
    let text = stdout_of(responder().args(["score", "--model"]).arg(&model).args([
        "--data",
        &new,
        "--genotypes",
        &geno,
        "--format",
        "csv",
    ]));
    assert_eq!(text.lines().count(), 3);
}

// ---- bad input ----

#[test]
fn missing_feature_columns_are_all_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let new = write(dir.path(), "new.csv", "patient_id,sex\nQ1,F\n");
    fails(
        responder().args(["score", "--model"]).arg(&model).args(["--data", &new]),
        &["new.csv: missing columns `age`, `score`, `rs1`, `rs2`; the file has: `patient_id`, `sex`"],
    );
}

#[test]
fn non_numeric_cell_in_a_numeric_feature() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let new = write(
        dir.path(),
        "new.csv",
        "patient_id,age,sex,score\nQ1,40,F,3\nQ2,40,F,high\n",
    );
    let geno = write(dir.path(), "g.csv", "patient_id,rs1,rs2\nQ1,0,1\nQ2,1,2\n");
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &new,
            "--genotypes",
            &geno,
        ]),
        &["new.csv, line 3, column `score`: `high` is not a number"],
    );
}

#[test]
fn therapy_not_in_model_lists_arms() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            "x.csv",
            "--therapy",
            "ECT",
        ]),
        &["--therapy `ECT` is not an arm of this model; its arms are: `A`, `B`"],
    );
}

#[test]
fn corrupt_truncated_and_foreign_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let text = std::fs::read_to_string(&model).unwrap();
    let data = dir.path().join("train.csv").display().to_string();
    let truncated = write(dir.path(), "truncated.json", &text[..text.len() / 2]);
    fails(
        responder().args(["score", "--model", &truncated, "--data", &data]),
        &["truncated.json: not a valid model bundle", "truncated"],
    );
    let garbage = write(dir.path(), "garbage.json", "\u{0}\u{1}binary");
    fails(
        responder().args(["score", "--model", &garbage, "--data", &data]),
        &["garbage.json: not a valid model bundle"],
    );
    let foreign = write(
        dir.path(),
        "foreign.json",
        "{\"format\": \"sklearn\", \"coef\": [1]}",
    );
    fails(
        responder().args(["score", "--model", &foreign, "--data", &data]),
        &["foreign.json: not a responder model bundle"],
    );
    // Valid JSON, right format, wrong contents.
    let broken = text.replacen("\"coefficients\": [", "\"coefficients\": [1.0, ", 1);
    let broken = write(dir.path(), "broken.json", &broken);
    fails(
        responder().args(["score", "--model", &broken, "--data", &data]),
        &["broken.json: corrupt model bundle", "inputs"],
    );
    let nan = text.replacen("\"intercept\": ", "\"intercept\": \"x\", \"old\": ", 1);
    let nan = write(dir.path(), "nan.json", &nan);
    fails(
        responder().args(["score", "--model", &nan, "--data", &data]),
        &["nan.json: corrupt model bundle"],
    );
}

#[test]
fn newer_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let text = std::fs::read_to_string(&model).unwrap().replacen(
        "\"format_version\": 2",
        "\"format_version\": 7",
        1,
    );
    let newer = write(dir.path(), "newer.json", &text);
    fails(
        responder().args(["score", "--model", &newer, "--data", "x.csv"]),
        &[
            "newer.json: the bundle has format version 7",
            "reads up to version 3: upgrade responder",
        ],
    );
}

#[test]
fn unwritable_out_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let data = dir.path().join("train.csv").display().to_string();
    let geno = dir.path().join("geno.csv").display().to_string();
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &data, "--genotypes", &geno, "--out"])
            .arg(dir.path().join("missing-dir/out.csv")),
        &["cannot write", "missing-dir/out.csv"],
    );
    // A failure after the output was opened leaves no file either.
    let out = dir.path().join("ranked.csv");
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &data, "--out"])
            .arg(&out),
        &["missing columns `rs1`, `rs2`"],
    );
    assert!(!out.exists());
    assert_eq!(
        files_in(dir.path()),
        ["geno.csv", "model.json", "train.csv"]
    );
}

#[test]
fn closed_stdout_ends_quietly() {
    // `| head -1`: the reader goes away; no error, no panic.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' score --model '{}' --data '{}' --genotypes '{}' --format csv | head -1",
            assert_cmd::cargo::cargo_bin("responder").display(),
            repo("models/example.json"),
            repo("examples/cohort/clinical.csv"),
            repo("examples/cohort/genotypes.csv"),
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("error") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn cross_fitted_and_min_advantage() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(80));
    let model = dir.path().join("m.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
        ])
        .args(["--cv", "3", "--out"])
        .arg(&model)
        .assert()
        .success();
    let text = stdout_of(responder().args(["score", "--model"]).arg(&model).args([
        "--cross-fitted",
        "--format",
        "csv",
    ]));
    assert!(text.starts_with("rank,patient_id,p_A,p_B,best_therapy,advantage\n"));
    assert_eq!(text.lines().count(), 81);
    // In-sample scores differ from the cross-fitted ones.
    let in_sample = stdout_of(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &data, "--format", "csv"]),
    );
    assert_ne!(text, in_sample);
    // --min-advantage 1 makes every recommendation `none`.
    let none = stdout_of(responder().args(["score", "--model"]).arg(&model).args([
        "--data",
        &data,
        "--format",
        "csv",
        "--min-advantage",
        "1",
    ]));
    assert!(
        none.lines()
            .skip(1)
            .all(|l| l.split(',').nth(4) == Some("none")),
        "{none}"
    );
    fails_usage(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--min-advantage",
            "2",
        ]),
        &["invalid value '2' for '--min-advantage <D|ci>'"],
    );
    // No cross-fitted predictions without CV.
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
        ])
        .args(["--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .arg("--cross-fitted"),
        &["the bundle has no cross-fitted predictions"],
    );
}

#[test]
fn streamed_blocks_give_the_same_ranking_as_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let data = dir.path().join("train.csv").display().to_string();
    let geno = dir.path().join("geno.csv").display().to_string();
    let run = |extra: &[&str], geno: &str| {
        stdout_of(
            responder()
                .args(["score", "--model"])
                .arg(&model)
                .args(["--data", &data, "--genotypes", geno, "--format", "csv"])
                .args(extra),
        )
    };
    let whole = run(&["--batch-rows", "1000"], &geno);
    assert_eq!(run(&["--batch-rows", "7"], &geno), whole);
    assert_eq!(run(&["--batch-rows", "1"], &geno), whole);
    // Blocks are scored side by side: one thread or several, same output.
    assert_eq!(run(&["--batch-rows", "3", "--threads", "1"], &geno), whole);
    assert_eq!(run(&["--batch-rows", "3", "--threads", "2"], &geno), whole);
    // Genotypes in another order: blocks do not line up, the full join is used.
    let genotypes = small_genotypes(80);
    let mut lines: Vec<&str> = genotypes.lines().collect();
    lines[1..].reverse();
    let shuffled = write(dir.path(), "geno_rev.csv", &(lines.join("\n") + "\n"));
    assert_eq!(run(&["--batch-rows", "7"], &shuffled), whole);
    // A bad cell far into the file is reported with the file's own line.
    let bad = small_clinical(80).replacen("P070,50,", "P070,old,", 1);
    let bad = write(dir.path(), "bad.csv", &bad);
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &bad,
            "--genotypes",
            &geno,
            "--batch-rows",
            "7",
        ]),
        &["bad.csv, line 72, column `age`: `old` is not a number"],
    );
    fails_usage(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--batch-rows",
            "0",
        ]),
        &["invalid value '0' for '--batch-rows <N>'"],
    );
}

#[test]
fn rankings_spilled_to_temporary_files_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let data = dir.path().join("train.csv").display().to_string();
    let geno = dir.path().join("geno.csv").display().to_string();
    let run = |extra: &[&str]| {
        stdout_of(
            responder()
                .args(["score", "--model"])
                .arg(&model)
                .args(["--data", &data, "--genotypes", &geno, "--batch-rows", "3"])
                .args(extra),
        )
    };
    for format in ["csv", "json", "table"] {
        for extra in [
            &[][..],
            &["--top", "5"][..],
            &["--therapy", "A"][..],
            &["--therapy", "B", "--top", "30", "--min-advantage", "0.1"][..],
        ] {
            let args = |spill: &'static str| {
                let mut a = vec!["--format", format, "--spill-rows", spill];
                a.extend_from_slice(extra);
                a
            };
            let whole = run(&args("1000000"));
            for spill in ["1", "4", "25"] {
                assert_eq!(run(&args(spill)), whole, "{:?}", args(spill));
            }
            if format == "json" {
                // The same text as serde_json's pretty printer of the array.
                let v: serde_json::Value = serde_json::from_str(&whole).unwrap();
                assert_eq!(serde_json::to_string_pretty(&v).unwrap() + "\n", whole);
            }
        }
    }
    // Runs spilled next to an --out in a folder: the temporary files are
    // unnamed and leave nothing behind.
    let out = dir.path().join("ranked");
    std::fs::create_dir(&out).unwrap();
    responder()
        .args(["score", "--model"])
        .arg(&model)
        .args([
            "--data",
            &data,
            "--genotypes",
            &geno,
            "--spill-rows",
            "2",
            "--out",
        ])
        .arg(out.join("r.csv"))
        .assert()
        .success();
    assert_eq!(files_in(&out), vec!["r.csv".to_string()]);
    let ranked = std::fs::read_to_string(out.join("r.csv")).unwrap();
    assert_eq!(ranked, run(&["--format", "csv"]));
    // A repeated ID in a later run is still found, with its lines.
    let dup = small_clinical(80).replacen("P070,", "P003,", 1);
    let dup = write(dir.path(), "dup.csv", &dup);
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &dup,
            "--batch-rows",
            "5",
            "--spill-rows",
            "10",
        ]),
        &["dup.csv, column `patient_id`: duplicate patient ID `P003` on lines 5 and 72"],
    );
    fails_usage(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--spill-rows",
            "0",
        ]),
        &["invalid value '0' for '--spill-rows <N>'"],
    );
    // Runs that cannot be written are an error naming the folder (not a
    // silent fall-back to reading everything into memory).
    fails(
        responder()
            .env("TMPDIR", "/nonexistent/responder-tmp")
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &data, "--genotypes", &geno, "--spill-rows", "2"])
            .args(["--batch-rows", "3"]),
        &["cannot write a temporary ranking file in `/nonexistent/responder-tmp`"],
    );
}

#[test]
fn quoted_cells_and_classic_mac_line_ends_stream() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let data = dir.path().join("train.csv").display().to_string();
    let geno = dir.path().join("geno.csv").display().to_string();
    let run = |data: &str, geno: &str| {
        let out = responder()
            .args(["score", "--model"])
            .arg(&model)
            .args([
                "--data",
                data,
                "--genotypes",
                geno,
                "--format",
                "csv",
                "--batch-rows",
                "7",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (plain, stderr) = run(&data, &geno);
    assert!(stderr.contains("streamed in blocks of 7 rows"), "{stderr}");
    // R's write.csv quotes every string (header included).
    let quoted: String = std::fs::read_to_string(&data)
        .unwrap()
        .lines()
        .map(|l| {
            l.split(',')
                .map(|c| {
                    if c.parse::<f64>().is_ok() {
                        c.to_string()
                    } else {
                        format!("\"{c}\"")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    let quoted = write(dir.path(), "quoted.csv", &quoted);
    // Classic Mac line ends in both files.
    let cr = |path: &str, name: &str| {
        let text = std::fs::read_to_string(path).unwrap().replace('\n', "\r");
        write(dir.path(), name, &text)
    };
    let (data_cr, geno_cr) = (cr(&data, "data_cr.csv"), cr(&geno, "geno_cr.csv"));
    for (d, g) in [(&quoted, &geno), (&data_cr, &geno_cr), (&quoted, &geno_cr)] {
        let (out, stderr) = run(d, g);
        assert_eq!(out, plain, "{d} {g}");
        assert!(
            stderr.contains("streamed in blocks of 7 rows"),
            "{d} {g}: {stderr}"
        );
        assert!(!stderr.contains("reading whole files"), "{stderr}");
    }
    // A quoted line break cannot be streamed: said on stderr, same result.
    let broken = std::fs::read_to_string(&quoted)
        .unwrap()
        .replacen("\"M\"", "\"M\n\"", 1);
    let broken_path = write(dir.path(), "broken.csv", &broken);
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args([
            "--data",
            &broken_path,
            "--genotypes",
            &geno,
            "--format",
            "csv",
            "--batch-rows",
            "7",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reading whole files (memory grows with the number of patients): a quoted field goes on past a line end"),
        "{stderr}"
    );
}

#[test]
fn a_line_without_end_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    // 300 MiB of one line, written in pieces.
    let path = dir.path().join("one-line.csv");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all(b"patient_id,age\n").unwrap();
        let chunk = vec![b'7'; 1 << 20];
        for _ in 0..300 {
            f.write_all(&chunk).unwrap();
        }
    }
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&path),
        &["one-line.csv, line 2", "longer than 256 MiB"],
    );
}

/// Trains a two-arm model with `--replicates 20` on the small cohort, with
/// `extra` flags, and returns its path.
fn replicated_model(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let data = write(dir, "train.csv", &small_clinical(120));
    let out = dir.join(name);
    responder()
        .args(["train", "--data", &data, "--target", "responder"])
        .args(["--therapy-col", "therapy", "--cv", "0", "--seed", "3"])
        .args(["--replicates", "20", "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

fn interval_score(model: &Path, dir: &Path, extra: &[&str]) -> String {
    let data = dir.join("train.csv").display().to_string();
    stdout_of(
        responder()
            .args(["score", "--model"])
            .arg(model)
            .args(["--data", &data, "--format", "csv", "--intervals"])
            .args(extra),
    )
}

#[test]
fn replicates_round_trip_and_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for strategy in ["t-learner", "s-learner"] {
        let a = replicated_model(dir.path(), "a.json", &["--strategy", strategy]);
        let b = replicated_model(dir.path(), "b.json", &["--strategy", strategy]);
        let bytes = std::fs::read(&a).unwrap();
        assert_eq!(bytes, std::fs::read(&b).unwrap(), "{strategy}");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for arm in v["arms"].as_array().unwrap() {
            assert_eq!(arm["replicates"].as_array().unwrap().len(), 20);
        }
        // Scoring twice gives the same bytes; the replicates differ from
        // one another (a bootstrap, not 20 copies).
        let s1 = interval_score(&a, dir.path(), &[]);
        assert_eq!(s1, interval_score(&b, dir.path(), &[]));
        let r = &v["arms"][0]["replicates"];
        assert_ne!(r[0], r[1], "{strategy}");
    }
}

#[test]
fn intervals_add_effect_columns_around_the_effect() {
    let dir = tempfile::tempdir().unwrap();
    let model = replicated_model(dir.path(), "m.json", &[]);
    let text = interval_score(&model, dir.path(), &["--control", "A"]);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,patient_id,p_A,p_B,best_therapy,advantage,effect_B,effect_B_low,effect_B_high"
    );
    let mut widths = 0.0;
    let mut n = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        let (pa, pb, e, lo, hi) = (num(2), num(3), num(6), num(7), num(8));
        assert!((e - (pb - pa)).abs() < 2e-4, "{l}");
        assert!(lo <= e && e <= hi, "{l}");
        widths += hi - lo;
        n += 1;
    }
    assert_eq!(n, 120);
    assert!(widths / n as f64 > 0.0, "intervals have width");
    // With B as control, the effect is that of A, the opposite sign.
    let flipped = interval_score(&model, dir.path(), &["--control", "B"]);
    assert!(flipped
        .lines()
        .next()
        .unwrap()
        .ends_with(",effect_A,effect_A_low,effect_A_high"));
    // JSON carries the same columns.
    let data = dir.path().join("train.csv").display().to_string();
    let json = stdout_of(responder().args(["score", "--model"]).arg(&model).args([
        "--data",
        &data,
        "--format",
        "json",
        "--intervals",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = &v.as_array().unwrap()[0];
    for key in ["effect_B", "effect_B_low", "effect_B_high"] {
        assert!(row.get(key).is_some(), "{key} in {row}");
    }
}

#[test]
fn min_advantage_ci_leaves_undecided_patients_without_a_therapy() {
    let dir = tempfile::tempdir().unwrap();
    let model = replicated_model(dir.path(), "m.json", &[]);
    let data = dir.path().join("train.csv").display().to_string();
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &data, "--format", "csv", "--min-advantage", "ci"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let mut none = 0;
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let (lo, hi) = (f[7].parse::<f64>().unwrap(), f[8].parse::<f64>().unwrap());
        // `none` exactly where the interval of B − A includes 0.
        assert_eq!(f[4] == "none", lo <= 0.0 && hi >= 0.0, "{l}");
        none += usize::from(f[4] == "none");
    }
    assert!(none > 0 && none < 120, "{none} undecided");
    assert!(
        stderr.contains(&format!(
            "--min-advantage ci: {none} patients got best_therapy `none`"
        )),
        "{stderr}"
    );
}

#[test]
fn intervals_refuse_bundles_and_flags_that_cannot_give_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "train.csv", &small_clinical(120));
    let plain = dir.path().join("plain.json");
    responder()
        .args(["train", "--data", &data, "--target", "responder"])
        .args(["--therapy-col", "therapy", "--cv", "3", "--out"])
        .arg(&plain)
        .assert()
        .success();
    let score = |model: &Path, extra: &[&str]| {
        let mut c = responder();
        c.args(["score", "--model"]).arg(model).args(extra);
        c
    };
    fails(
        &mut score(&plain, &["--data", &data, "--intervals"]),
        &[
            "plain.json",
            "--intervals needs bootstrap replicates and the bundle has 0",
            "--replicates B",
        ],
    );
    fails(
        &mut score(&plain, &["--data", &data, "--min-advantage", "ci"]),
        &["--min-advantage ci needs bootstrap replicates"],
    );
    fails_usage(
        &mut score(&plain, &["--cross-fitted", "--intervals"]),
        &["--intervals scores --data"],
    );
    let model = replicated_model(dir.path(), "m.json", &[]);
    fails_usage(
        &mut score(&model, &["--data", &data, "--intervals", "--control", "C"]),
        &["--control `C` is not an arm of the model"],
    );
    // One arm: no effect to take.
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
        ])
        .args(["--replicates", "5", "--out"])
        .arg(&one)
        .assert()
        .success();
    fails_usage(
        &mut score(&one, &["--data", &data, "--intervals"]),
        &["--intervals needs a model with at least two arms"],
    );
    // --replicates is bounded.
    fails_usage(
        responder()
            .args(["train", "--data", &data, "--target", "responder"])
            .args(["--replicates", "5000", "--out"])
            .arg(dir.path().join("x.json")),
        &["--replicates"],
    );
}

/// A genotype file listing the patients in its own order is joined through
/// an index of it, streamed in blocks: the same output as reading whole
/// files, with the join counted; files that cannot be indexed fall back to
/// the whole-file read, saying why.
#[test]
fn genotype_file_in_another_order_is_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let data = dir.path().join("train.csv").display().to_string();
    let geno = std::fs::read_to_string(dir.path().join("geno.csv")).unwrap();
    let run = |data: &str, geno: &str, stdin: Option<&str>| {
        let mut c = responder();
        c.args(["score", "--model"]).arg(&model);
        match stdin {
            Some(text) => c.args(["--data", "-"]).write_stdin(text.to_string()),
            None => c.args(["--data", data]),
        };
        let out = c
            .args(["--genotypes", geno, "--format", "csv", "--batch-rows", "7"])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    };
    let clinical = std::fs::read_to_string(&data).unwrap();
    let lines: Vec<&str> = geno.lines().collect();
    let (header, rows) = (lines[0], &lines[1..]);
    let mut reversed: Vec<String> = rows.iter().rev().map(|l| l.to_string()).collect();
    let text = |rows: &[String], end: &str| {
        let mut t = format!("{header}{end}");
        for r in rows {
            t.push_str(r);
            t.push_str(end);
        }
        t
    };
    let rev = write(dir.path(), "rev.csv", &text(&reversed, "\n"));
    let (whole, _) = run(&data, &rev, Some(&clinical));
    let (out, stderr) = run(&data, &rev, None);
    assert_eq!(out, whole);
    assert!(
        stderr.contains("80 patients in both files, 0 only in")
            && stderr.contains("lists the patients in its own order and was indexed"),
        "{stderr}"
    );
    assert!(!stderr.contains("reading whole files"), "{stderr}");
    // CRLF line ends and quoted IDs index the same way.
    let crlf = write(dir.path(), "crlf.csv", &text(&reversed, "\r\n"));
    let quoted: Vec<String> = reversed
        .iter()
        .map(|l| {
            let (id, rest) = l.split_once(',').unwrap();
            format!("\"{id}\",{rest}")
        })
        .collect();
    let quoted = write(dir.path(), "quoted.csv", &text(&quoted, "\n"));
    for g in [&crlf, &quoted] {
        let (out, stderr) = run(&data, g, None);
        assert_eq!(out, whole, "{g}");
        assert!(stderr.contains("was indexed"), "{g}: {stderr}");
    }
    // Patients in one file only are counted, as by the whole-file join.
    let mut partial: Vec<String> = reversed.drain(3..).collect();
    for (i, r) in partial.clone().iter().take(2).enumerate() {
        let (_, rest) = r.split_once(',').unwrap();
        partial.push(format!("EXTRA{i},{rest}"));
    }
    let part = write(dir.path(), "partial.csv", &text(&partial, "\n"));
    let (whole, whole_err) = run(&data, &part, Some(&clinical));
    let (out, stderr) = run(&data, &part, None);
    assert_eq!(out, whole);
    assert!(
        whole_err.contains("77 patients in both files, 3 only in <stdin>, 2 only in"),
        "{whole_err}"
    );
    assert!(
        stderr.contains("77 patients in both files, 3 only in"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 only in") && stderr.contains("was indexed"),
        "{stderr}"
    );
    // A compressed file is indexed through a decompressed temporary copy.
    let gz = dir.path().join("rev.csv.gz");
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(text(&partial, "\n").as_bytes()).unwrap();
        e.finish().unwrap();
    }
    let (out, stderr) = run(&data, gz.to_str().unwrap(), None);
    assert_eq!(out, whole);
    assert!(stderr.contains("was indexed"), "{stderr}");
    assert!(!stderr.contains("reading whole files"), "{stderr}");
    // A repeated ID: the whole-file read names it.
    let mut dup = partial.clone();
    dup.push(partial[0].clone());
    let dup = write(dir.path(), "dup.csv", &text(&dup, "\n"));
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &data,
            "--genotypes",
            &dup,
        ]),
        &["dup.csv", "duplicate patient ID"],
    );
}

/// An ID the index would cut wrongly (a quoted field with a comma before
/// the ID column) is caught by the parser's check: `score` reads whole
/// files instead of dropping the patient.
#[test]
fn ids_cut_wrongly_fall_back_to_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = two_arm_model(dir.path());
    let clinical = std::fs::read_to_string(dir.path().join("train.csv")).unwrap();
    let noted: String = clinical
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("note,{l}\n"),
            5 => format!("\"seen, twice\",{l}\n"),
            _ => format!("x,{l}\n"),
        })
        .collect();
    let data = write(dir.path(), "noted.csv", &noted);
    let geno = std::fs::read_to_string(dir.path().join("geno.csv")).unwrap();
    let mut lines: Vec<&str> = geno.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let rev = write(
        dir.path(),
        "rev.csv",
        &format!("{header}\n{}\n", lines.join("\n")),
    );
    let run = |stdin: bool| {
        let mut c = responder();
        c.args(["score", "--model"]).arg(&model);
        if stdin {
            c.args(["--data", "-"]).write_stdin(noted.clone());
        } else {
            c.args(["--data", &data]);
        }
        let out = c
            .args(["--genotypes", &rev, "--format", "csv", "--batch-rows", "7"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    };
    let (whole, _) = run(true);
    let (out, stderr) = run(false);
    assert_eq!(out, whole);
    assert_eq!(out.lines().count(), 81, "every patient scored");
    assert!(stderr.contains("reading whole files"), "{stderr}");
}
