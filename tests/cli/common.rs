//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The responder binary.
pub fn responder() -> Command {
    Command::cargo_bin("responder").expect("binary built")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path inside the repository.
pub fn repo(rel: &str) -> String {
    root().join(rel).display().to_string()
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Runs `cmd`, asserts exit status 1 with exactly one `error:` line on
/// stderr containing every `needle`, and no panic. Returns stderr.
#[track_caller]
pub fn fails(cmd: &mut Command, needles: &[&str]) -> String {
    fails_with(cmd, 1, needles)
}

/// As [`fails`], for a usage error (exit status 2, as clap's own).
#[track_caller]
pub fn fails_usage(cmd: &mut Command, needles: &[&str]) -> String {
    fails_with(cmd, 2, needles)
}

/// Runs `cmd`, asserts exit status `code` with exactly one `error:` line
/// on stderr containing every `needle`, and no panic. Returns stderr.
#[track_caller]
pub fn fails_with(cmd: &mut Command, code: i32, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "want one error line: {stderr}");
    for n in needles {
        assert!(errors[0].contains(n), "`{n}` not in: {}", errors[0]);
    }
    stderr
}

/// Runs `cmd`, asserts success (showing stderr otherwise) and returns stdout.
#[track_caller]
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Files in a folder, sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A small clinical file with two arms and a clear signal.
pub fn small_clinical(n: usize) -> String {
    let mut s = String::from("patient_id,age,sex,score,therapy,responder\n");
    for i in 0..n {
        let arm = if i % 2 == 0 { "A" } else { "B" };
        let sex = if i % 3 == 0 { "F" } else { "M" };
        let score = (i * 37 % 50) as f64;
        // Responders mostly have a high score; some noise.
        let resp = (score > 24.0) ^ (i % 7 == 0);
        s.push_str(&format!(
            "P{i:03},{},{sex},{score},{arm},{}\n",
            20 + i % 40,
            u8::from(resp)
        ));
    }
    s
}

/// Genotypes for `small_clinical` patients.
pub fn small_genotypes(n: usize) -> String {
    let mut s = String::from("patient_id,rs1,rs2\n");
    for i in 0..n {
        s.push_str(&format!("P{i:03},{},{}\n", i % 3, (i / 3) % 3));
    }
    s
}

/// `responder simulate -q` of `patients` × `snps` with `seed` (and any
/// `extra` flags) into `dir/c`; returns the path of its clinical file.
pub fn simulated(dir: &Path, patients: usize, snps: usize, seed: u64, extra: &[&str]) -> String {
    let out = dir.join("c");
    responder()
        .args(["simulate", "-q", "--patients", &patients.to_string()])
        .args(["--snps", &snps.to_string(), "--seed", &seed.to_string()])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out.join("clinical.csv").display().to_string()
}

/// `score --intervals --format csv` of `model` on `data` with `geno`.
pub fn scored_with_intervals(model: &Path, data: &str, geno: &str) -> String {
    stdout_of(responder().args(["score", "--model"]).arg(model).args([
        "--data",
        data,
        "--genotypes",
        geno,
        "--intervals",
        "--format",
        "csv",
    ]))
}
