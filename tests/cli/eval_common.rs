//! Helpers shared by the tests of `evaluate`, `explain` and `report`.

use std::path::{Path, PathBuf};

use crate::common::*;

/// Trains a two-arm model (arms `A`, `B`) on the small cohort in `dir`.
pub fn two_arm_model(dir: &Path) -> PathBuf {
    let data = write(dir, "train.csv", &small_clinical(120));
    let geno = write(dir, "geno.csv", &small_genotypes(120));
    let out = dir.join("model.json");
    responder()
        .args(["train", "--data", &data, "--genotypes", &geno])
        .args(["--target", "responder", "--therapy-col", "therapy"])
        .args(["--cv", "3", "--out"])
        .arg(&out)
        .assert()
        .success();
    out
}

/// New patients for the small model: same shape, other IDs and values.
pub fn new_patients(dir: &Path, n: usize) -> (String, String) {
    let text = small_clinical(n + 200)
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || *i > 200)
        .map(|(_, l)| format!("{l}\n"))
        .collect::<String>();
    let geno = small_genotypes(n + 200)
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || *i > 200)
        .map(|(_, l)| format!("{l}\n"))
        .collect::<String>();
    (
        write(dir, "new.csv", &text),
        write(dir, "new_geno.csv", &geno),
    )
}

/// Runs `cmd`, asserts success and no panic; returns (stdout, stderr).
pub fn ok(cmd: &mut assert_cmd::Command) -> (String, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// The example cohort's data flags.
pub fn example_data() -> Vec<String> {
    vec![
        "--data".into(),
        repo("examples/cohort/clinical.csv"),
        "--genotypes".into(),
        repo("examples/cohort/genotypes.csv"),
    ]
}
