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

#[test]
fn design_variants_no_heterogeneity_confounded_sites() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        responder()
            .args([
                "simulate",
                "--patients",
                "400",
                "--snps",
                "10",
                "--seed",
                "3",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        out
    };
    // No heterogeneity: the same risk differences for every patient.
    let flat = run("flat", &["--no-heterogeneity"]);
    let truth = std::fs::read_to_string(flat.join("truth.csv")).unwrap();
    for line in truth.lines().skip(1) {
        let p: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(
            (p[0] - p[1] - 0.06).abs() < 2e-6 && (p[2] - p[1] + 0.04).abs() < 2e-6,
            "{line}"
        );
    }
    // Confounded: true propensities written, rows summing to 1, and the
    // therapy follows them (more prior failures, more TMS).
    let conf = run("conf", &["--confounded"]);
    let e = std::fs::read_to_string(conf.join("propensity.csv")).unwrap();
    assert!(e.starts_with("patient_id,e_TMS,e_ketamine,e_SSRI\n"));
    assert_eq!(e.lines().count(), 401);
    for line in e.lines().skip(1) {
        let s: f64 = line
            .split(',')
            .skip(1)
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        assert!((s - 1.0).abs() < 1e-5, "{line}");
    }
    let clinical = std::fs::read_to_string(conf.join("clinical.csv")).unwrap();
    let header: Vec<&str> = clinical.lines().next().unwrap().split(',').collect();
    let (pc, tc) = (
        header.iter().position(|h| *h == "prior_failures").unwrap(),
        header.iter().position(|h| *h == "therapy").unwrap(),
    );
    let (mut tms_hi, mut hi, mut tms_lo, mut lo) = (0, 0, 0, 0);
    for line in clinical.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let Ok(prior) = f[pc].parse::<f64>() else {
            continue;
        };
        let tms = f[tc] == "TMS";
        if prior >= 2.0 {
            hi += 1;
            tms_hi += usize::from(tms);
        } else {
            lo += 1;
            tms_lo += usize::from(tms);
        }
    }
    assert!(tms_hi as f64 / hi as f64 > tms_lo as f64 / lo as f64 + 0.1);
    // Sites: a site column; the default cohort has none and no propensity file.
    let sites = run("sites", &["--sites", "4"]);
    let c = std::fs::read_to_string(sites.join("clinical.csv")).unwrap();
    assert!(c.lines().next().unwrap().ends_with(",responder,site"));
    assert!(c
        .lines()
        .skip(1)
        .all(|l| ["S1", "S2", "S3", "S4"].contains(&l.rsplit(',').next().unwrap())));
    let plain = run("plain", &[]);
    assert!(!plain.join("propensity.csv").exists());
    let p = std::fs::read_to_string(plain.join("clinical.csv")).unwrap();
    assert!(p.lines().next().unwrap().ends_with(",responder"));
    fails_usage(
        responder()
            .args([
                "simulate",
                "--patients",
                "5",
                "--snps",
                "2",
                "--sites",
                "1",
                "--out",
            ])
            .arg(dir.path().join("x")),
        &["--sites"],
    );
}
