//! Integration tests of `responder simulate`.

use crate::common::*;

#[test]
fn writes_three_files_with_the_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cohort");
    responder()
        .args([
            "simulate",
            "--patients",
            "120",
            "--snps",
            "15",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        files_in(&out),
        ["clinical.csv", "genotypes.csv", "truth.csv"]
    );
    let clinical = std::fs::read_to_string(out.join("clinical.csv")).unwrap();
    assert!(clinical.starts_with(
        "patient_id,age,sex,madrs_baseline,episode_months,prior_failures,anxiety,crp,bmi,therapy,responder\n"
    ));
    assert_eq!(clinical.lines().count(), 121);
    let geno = std::fs::read_to_string(out.join("genotypes.csv")).unwrap();
    let header: Vec<&str> = geno.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 16);
    assert!(header[1..].iter().all(|h| h.starts_with("rs")));
    for line in geno.lines().skip(1) {
        for cell in line.split(',').skip(1) {
            assert!(["", "0", "1", "2"].contains(&cell), "{cell}");
        }
    }
    let truth = std::fs::read_to_string(out.join("truth.csv")).unwrap();
    assert!(truth.starts_with("patient_id,p_TMS,p_ketamine,p_SSRI\n"));
}

#[test]
fn same_seed_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        let seed = if name == "c" { "2" } else { "1" };
        responder()
            .args([
                "simulate",
                "--patients",
                "50",
                "--snps",
                "10",
                "--seed",
                seed,
                "--out",
            ])
            .arg(dir.path().join(name))
            .assert()
            .success();
    }
    for f in ["clinical.csv", "genotypes.csv", "truth.csv"] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(f)).unwrap();
        let c = std::fs::read(dir.path().join("c").join(f)).unwrap();
        assert_eq!(a, b, "{f}");
        assert_ne!(a, c, "{f}");
    }
}

#[test]
fn zero_patients_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fails_usage(
        responder()
            .args(["simulate", "--patients", "0", "--snps", "10", "--out"])
            .arg(dir.path()),
        &["invalid value '0' for '--patients <N>'", "1..=100000000"],
    );
    // More than can be done is refused before anything is allocated.
    fails_usage(
        responder()
            .args([
                "simulate",
                "--patients",
                "100000000000",
                "--snps",
                "10",
                "--out",
            ])
            .arg(dir.path()),
        &["--patients", "1..=100000000"],
    );
}

#[test]
fn a_folder_that_is_not_empty_needs_force() {
    // `simulate --out examples/cohort`, the example of its own --help, must
    // not silently replace the bundled data.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clinical.csv", "precious");
    write(dir.path(), "notes.txt", "mine");
    let sim = || {
        let mut c = responder();
        c.args(["simulate", "--patients", "5", "--snps", "2", "--out"])
            .arg(dir.path());
        c
    };
    fails_usage(
        &mut sim(),
        &["is not empty", "`clinical.csv`, `notes.txt`", "--force"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("clinical.csv")).unwrap(),
        "precious"
    );
    sim().arg("--force").assert().success();
    assert!(std::fs::read_to_string(dir.path().join("clinical.csv"))
        .unwrap()
        .starts_with("patient_id,"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn unwritable_out_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "plain-file", "x");
    fails(
        responder().args(["simulate", "--patients", "5", "--snps", "2", "--out", &file]),
        &["cannot create folder", "plain-file"],
    );
}
