//! Integration tests of `responder split`.

use crate::common::*;

fn split(data: &str, dir: &std::path::Path, seed: &str) -> (String, String) {
    responder()
        .args(["split", "--data", data, "--test", "0.25"])
        .args([
            "--stratify",
            "responder,therapy",
            "--seed",
            seed,
            "--out-dir",
        ])
        .arg(dir)
        .assert()
        .success();
    (
        std::fs::read_to_string(dir.join("train.csv")).unwrap(),
        std::fs::read_to_string(dir.join("test.csv")).unwrap(),
    )
}

#[test]
fn stratified_deterministic_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(200));
    let (train, test) = split(&data, &dir.path().join("a"), "7");
    let (train2, test2) = split(&data, &dir.path().join("b"), "7");
    assert_eq!((&train, &test), (&train2, &test2));
    let (train3, _) = split(&data, &dir.path().join("c"), "8");
    assert_ne!(train, train3);
    let input = small_clinical(200);
    let header = input.lines().next().unwrap();
    assert_eq!(train.lines().next(), Some(header));
    assert_eq!(test.lines().next(), Some(header));
    // Every row lands once, in file order within each file.
    let mut all: Vec<&str> = train.lines().skip(1).chain(test.lines().skip(1)).collect();
    assert_eq!(all.len(), 200);
    all.sort();
    let mut want: Vec<&str> = input.lines().skip(1).collect();
    want.sort();
    assert_eq!(all, want);
    // Each responder × therapy stratum keeps its share (rounded per stratum).
    let key = |l: &str| {
        let f: Vec<&str> = l.split(',').collect();
        format!("{}|{}", f[4], f[5])
    };
    for k in ["A|0", "A|1", "B|0", "B|1"] {
        let n = input.lines().skip(1).filter(|l| key(l) == k).count();
        let t = test.lines().skip(1).filter(|l| key(l) == k).count();
        assert_eq!(t, (0.25 * n as f64).round() as usize, "{k}");
    }
}

#[test]
fn bad_columns_and_shares_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(20));
    let out = dir.path().join("o");
    fails(
        responder()
            .args(["split", "--data", &data, "--stratify", "nope", "--out-dir"])
            .arg(&out),
        &["c.csv", "missing column `nope`"],
    );
    fails_usage(
        responder()
            .args(["split", "--data", &data, "--test", "1", "--out-dir"])
            .arg(&out),
        &["not a share strictly between 0 and 1"],
    );
    fails_usage(
        responder()
            .args(["split", "--data", &data, "--test", "0.01", "--out-dir"])
            .arg(&out),
        &["puts 0 rows in the test set"],
    );
    assert!(!out.join("train.csv").exists());
}
