//! Outputs never destroy anything: no output replaces an input (whatever
//! its spelling), links and devices are honoured, interrupted runs leave
//! nothing behind.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn model(dir: &Path) -> (String, String) {
    let data = write(dir, "train.csv", &small_clinical(120));
    let out = dir.join("model.json");
    responder()
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    (data, out.display().to_string())
}

#[test]
fn an_output_never_replaces_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = model(dir.path());
    let before = std::fs::read(&data).unwrap();
    let train = |out: &str| {
        let mut c = responder();
        c.args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--out",
            out,
        ]);
        c
    };
    // The same file, another spelling of it, a symbolic link and a hard link.
    let spelled = format!("{}/./{}", dir.path().display(), "train.csv");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&data, dir.path().join("link.csv")).unwrap();
    std::fs::hard_link(&data, dir.path().join("hard.csv")).unwrap();
    let link = dir.path().join("link.csv").display().to_string();
    let hard = dir.path().join("hard.csv").display().to_string();
    for out in [&data, &spelled, &link, &hard] {
        fails_usage(
            &mut train(out),
            &["is the input", "train.csv", "choose another output file"],
        );
    }
    assert_eq!(std::fs::read(&data).unwrap(), before);
    // score: neither the model nor the data may be the ranking.
    let model_before = std::fs::read(&model).unwrap();
    for out in [&model, &data] {
        fails_usage(
            responder().args(["score", "--model", &model, "--data", &data, "--out", out]),
            &["is the input"],
        );
    }
    assert_eq!(std::fs::read(&model).unwrap(), model_before);
    assert_eq!(std::fs::read(&data).unwrap(), before);
    // report: the card folder may not hold the model under a card's name.
    let card = dir.path().join("card");
    std::fs::create_dir(&card).unwrap();
    let inside = card.join("model-card.json");
    std::fs::copy(&model, &inside).unwrap();
    fails_usage(
        responder()
            .args(["report", "--model"])
            .arg(&inside)
            .arg("--out")
            .arg(&card),
        &["is the input"],
    );
}

#[cfg(unix)]
#[test]
fn devices_and_links_are_written_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = model(dir.path());
    // The usual way to discard results works and leaves /dev/null a device.
    responder()
        .args([
            "score",
            "--model",
            &model,
            "--data",
            &data,
            "--out",
            "/dev/null",
        ])
        .assert()
        .success();
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    // A link given as --out: its target is written, the link stays a link.
    let target = dir.path().join("ranked.csv");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("out-link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    responder()
        .args([
            "score", "--model", &model, "--data", &data, "--format", "csv", "--out",
        ])
        .arg(&link)
        .assert()
        .success();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .starts_with("rank,patient_id"));
    assert!(files_in(dir.path()).iter().all(|f| !f.ends_with(".tmp")));
}

/// Waits until `dir` holds at least `n` temporary files (or `child` ends).
fn wait_for_temporaries(dir: &Path, n: usize, child: &mut Child) {
    let start = Instant::now();
    while files_in(dir).iter().filter(|f| f.ends_with(".tmp")).count() < n {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the command ended early"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `train` reading its data from a stdin that never ends: it has created its
/// output's temporary file and waits.
fn waiting_train(out_dir: &Path) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("responder"))
        .args(["train", "--data", "-", "--target", "responder", "--out"])
        .arg(out_dir.join("model.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn interrupted_runs_leave_nothing_behind() {
    for sig in ["-INT", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = waiting_train(dir.path());
        // Keep stdin open while waiting (wait_with_output would close it).
        let stdin = child.stdin.take();
        wait_for_temporaries(dir.path(), 1, &mut child);
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        let code = if sig == "-INT" { 130 } else { 143 };
        assert_eq!(
            out.status.code(),
            Some(code),
            "{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
        assert!(
            files_in(dir.path()).is_empty(),
            "{sig}: {:?}",
            files_in(dir.path())
        );
    }
    // simulate writes three files at once.
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("cohort");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("responder"))
        .args([
            "simulate",
            "--patients",
            "100000000",
            "--snps",
            "50",
            "--out",
        ])
        .arg(&cohort)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !cohort.is_dir() {
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for_temporaries(&cohort, 3, &mut child);
    signal(&child, "-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(143));
    assert!(files_in(&cohort).is_empty(), "{:?}", files_in(&cohort));
}

#[cfg(unix)]
#[test]
fn a_killed_run_is_cleaned_up_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = waiting_train(dir.path());
    let stdin = child.stdin.take();
    wait_for_temporaries(dir.path(), 1, &mut child);
    signal(&child, "-KILL");
    child.wait().unwrap();
    drop(stdin);
    // SIGKILL cannot be caught: the temporary stays ...
    assert_eq!(
        files_in(dir.path())
            .iter()
            .filter(|f| f.ends_with(".tmp"))
            .count(),
        1
    );
    // ... until the next run writing the same file sweeps it.
    let data = write(dir.path(), "train.csv", &small_clinical(60));
    responder()
        .args(["train", "--data", &data, "--target", "responder", "--out"])
        .arg(dir.path().join("model.json"))
        .assert()
        .success();
    assert_eq!(files_in(dir.path()), vec!["model.json", "train.csv"]);
}

#[test]
fn stdin_cannot_be_both_inputs() {
    fails_usage(
        responder().args([
            "train",
            "--data",
            "-",
            "--genotypes",
            "-",
            "--target",
            "responder",
            "--out",
            "m.json",
        ]),
        &["both name stdin", "read only once"],
    );
}

#[test]
fn counts_are_bounded_by_what_can_be_done() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(60));
    let train = |args: &[&str]| {
        let mut c = responder();
        c.args(["train", "--data", &data, "--target", "responder", "--out"])
            .arg(dir.path().join("m.json"))
            .args(args);
        c
    };
    fails_usage(
        &mut train(&["--threads", "100000"]),
        &["--threads <N>", "1..=1024"],
    );
    fails_usage(
        &mut train(&["--cv", "1000"]),
        &["--cv <CV>", "from 0 to 100 or `groups`"],
    );
    fails_usage(
        &mut train(&["--algorithm", "svm", "--param", "c=1e308"]),
        &["c=1e308", "in (0, 10]"],
    );
    // Once truncated to 1 iteration while the bundle recorded the original.
    fails_usage(
        &mut train(&[
            "--algorithm",
            "elastic-net",
            "--param",
            "max_iter=4294967297",
        ]),
        &["max_iter=4294967297", "1 to 100000"],
    );
    fails_usage(
        responder().args([
            "compare",
            "--data",
            &data,
            "--target",
            "responder",
            "--repeats",
            "100000000",
        ]),
        &["--repeats <REPEATS>", "1..=1000"],
    );
    fails_usage(
        responder().args(["explain", "--model", "m.json", "--repeats", "100000000"]),
        &["--repeats <R>", "1..=10000"],
    );
    fails_usage(
        responder().args([
            "evaluate",
            "--model",
            "m.json",
            "--data",
            &data,
            "--bootstrap",
            "100000000",
        ]),
        &["--bootstrap <B>", "0..=100000"],
    );
}

#[cfg(target_os = "linux")]
#[test]
fn running_out_of_memory_is_an_error_line_not_an_abort() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = model(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("responder");
    let out = dir.path().join("ranked.csv");
    // 600 MB of patients on stdin, under a 400 MB address-space limit.
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -v 400000; exec '{}' score --model '{}' --data - --out '{}'",
            bin.display(),
            model,
            out.display()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(b"patient_id,age,sex,score,therapy\n");
        let block: String = (0..10_000)
            .map(|i| format!("P{i:09},40,F,12.5,A\n"))
            .collect();
        for _ in 0..2_000 {
            if stdin.write_all(block.as_bytes()).is_err() {
                break; // the process has stopped reading
            }
        }
    });
    let result = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("memory"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert!(files_in(dir.path())
        .iter()
        .all(|f| !f.ends_with(".tmp") && f != "ranked.csv"));
}

#[test]
fn an_overflowing_value_is_an_error_naming_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    // One value of 1e308 once made the variance overflow, the scaler fall
    // back to sd = 1 and every patient score 0.500000 (exit 0).
    let text = small_clinical(60).replacen("P010,30,", "P010,1e308,", 1);
    let data = write(dir.path(), "huge.csv", &text);
    fails(
        responder()
            .args(["train", "--data", &data, "--target", "responder", "--out"])
            .arg(dir.path().join("m.json")),
        &[
            "huge.csv, line 12, column `age`",
            "`1e308` is too large",
            "--exclude",
        ],
    );
    // At scoring, a value far outside the training data is located too.
    let (_, model) = model(dir.path());
    let far = small_clinical(60).replacen("P010,30,", "P010,1e140,", 1);
    let far = write(dir.path(), "far.csv", &far);
    fails(
        responder().args(["score", "--model", &model, "--data", &far]),
        &[
            "far.csv, line 12, column `age`",
            "after standardising",
            "check the cell",
        ],
    );
}

/// `small_clinical` with extra columns `name=value(i)`.
fn with_columns(n: usize, extra: &[(&str, &dyn Fn(usize) -> String)]) -> String {
    let mut out = String::new();
    for (i, line) in small_clinical(n).lines().enumerate() {
        out.push_str(line);
        for (name, value) in extra {
            out.push(',');
            out.push_str(&if i == 0 {
                name.to_string()
            } else {
                value(i - 1)
            });
        }
        out.push('\n');
    }
    out
}

#[test]
fn identifier_columns_are_refused_and_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let train = |text: &str| {
        let data = write(dir.path(), "c.csv", text);
        let mut c = responder();
        c.args([
            "train",
            "--data",
            &data,
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
            "--out",
        ])
        .arg(&out);
        c
    };
    // A medical record number (text, one per patient) and a name column.
    let mrn = |i: usize| format!("MRN{:07}", i * 7919);
    let name = |i: usize| ["Ann", "Bob", "Cy", "Di"][i % 4].to_string();
    let text = with_columns(80, &[("record", &mrn), ("patient_name", &name)]);
    fails(
        &mut train(&text),
        &[
            "`record`, `patient_name` look like patient identifiers",
            "80 different values among 80 patients",
            "`patient_name`: its name (`name`)",
            "--exclude record,patient_name",
        ],
    );
    assert!(!out.exists());
    // A numeric ID column with an ID-like name, and dates of birth.
    let sid = |i: usize| (100_000 + i * 3).to_string();
    let dob = |i: usize| format!("19{:02}-0{}-1{}", 40 + i % 50, 1 + i % 9, i % 10);
    fails(
        &mut train(&with_columns(80, &[("subject_id", &sid)])),
        &["`subject_id` looks like a patient identifier"],
    );
    fails(
        &mut train(&with_columns(80, &[("date_of_birth", &dob)])),
        &["`date_of_birth`", "(`birth`)"],
    );
    // A site code with few levels is a feature, not an identifier.
    let site = |i: usize| format!("S{}", i % 4);
    train(&with_columns(80, &[("site_id", &site)]))
        .assert()
        .success();
}

#[test]
fn many_category_levels_stay_out_of_the_model_card_and_inspect_lists_patient_content() {
    let dir = tempfile::tempdir().unwrap();
    // A code with 40 levels in each arm of 80 patients: a feature, but its levels
    // are values from the training data.
    let code = |i: usize| format!("C{:02}", i % 80);
    let data = write(dir.path(), "c.csv", &with_columns(160, &[("icd", &code)]));
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
            "--out",
        ])
        .arg(&model)
        .assert()
        .success();
    let card = dir.path().join("card");
    responder()
        .args(["report", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&card)
        .assert()
        .success();
    let md = std::fs::read_to_string(card.join("model-card.md")).unwrap();
    assert!(md.contains("40 levels (not listed: more than 30)"), "{md}");
    assert!(!md.contains("C17"));
    let json = std::fs::read_to_string(card.join("model-card.json")).unwrap();
    assert!(!json.contains("C17"));
    let inspect = responder().args(["inspect"]).arg(&model).output().unwrap();
    let text = String::from_utf8(inspect.stdout).unwrap();
    assert!(text.contains("the IDs of 160 training patients"), "{text}");
    assert!(text.contains("the most: `icd`, 40 levels"), "{text}");
}

#[test]
fn knn_bundles_leave_patient_ids_out_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", &small_clinical(120));
    let model = dir.path().join("knn.json");
    let run = |extra: &[&str]| {
        responder()
            .args([
                "train",
                "--data",
                &data,
                "--target",
                "responder",
                "--algorithm",
                "knn",
                "--out",
            ])
            .arg(&model)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("left out for a model that keeps training rows"),
        "{stderr}"
    );
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert!(b["cross_fitted"].is_null());
    let out = run(&["--cross-fitted"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("they identify every training patient"),
        "{stderr}"
    );
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(b["cross_fitted"]["ids"].as_array().unwrap().len(), 120);
}

#[test]
fn error_lines_quote_cells_short_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    // A 1 MB cell once gave a 1,000,232-byte error line.
    let big =
        small_clinical(60).replacen("P010,30,", &format!("P010,{},", "9x".repeat(500_000)), 1);
    let data = write(dir.path(), "big.csv", &big);
    let stderr = fails(
        responder()
            .args(["train", "--data", &data, "--target", "responder", "--out"])
            .arg(&out),
        &["big.csv, line 12, column `age`", "(1000000 characters)"],
    );
    assert!(stderr.len() < 400, "{} bytes", stderr.len());
    // A NUL byte once showed "3\0 7" as "37".
    let nul = small_clinical(60).replacen("P010,30,", "P010,3\u{0}7,", 1);
    let data = write(dir.path(), "nul.csv", &nul);
    fails(
        responder()
            .args(["train", "--data", &data, "--target", "responder", "--out"])
            .arg(&out),
        &["`3\\u{0}7` is not a number"],
    );
}

#[test]
fn the_missing_level_name_and_repeated_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    // A cell whose text is `missing` once merged with the empty cells.
    let text = small_clinical(60).replacen(",F,", ",missing,", 1);
    let data = write(dir.path(), "c.csv", &text);
    fails(
        responder()
            .args(["train", "--data", &data, "--target", "responder", "--out"])
            .arg(dir.path().join("m.json")),
        &[
            "c.csv, line 2, column `sex`",
            "`missing` is the name responder gives the level of missing values",
        ],
    );
    // At scoring, the text `missing` is a level the model never saw.
    let (train, model) = model(dir.path());
    let scoring = std::fs::read_to_string(&train)
        .unwrap()
        .replacen(",F,", ",missing,", 1);
    let scoring = write(dir.path(), "new.csv", &scoring);
    let out = responder()
        .args(["score", "--model", &model, "--data", &scoring])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("1 patients have a `sex` level the model never saw"));
    // An algorithm named twice runs once.
    let out = responder()
        .args([
            "compare",
            "--data",
            &train,
            "--target",
            "responder",
            "--cv",
            "2",
            "--repeats",
            "1",
        ])
        .args(["--algorithms", "logistic,tree,logistic", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.contains(",logistic,")).count(),
        1,
        "{csv}"
    );
}

#[test]
fn csv_cells_are_defused_and_tables_keep_one_row_per_patient() {
    let dir = tempfile::tempdir().unwrap();
    let (train, model) = model(dir.path());
    // IDs that a spreadsheet would run as formulas, and one with a line break.
    let text = std::fs::read_to_string(&train)
        .unwrap()
        .replacen("\nP001,", "\n=HYPERLINK(\"x\"),", 1)
        .replacen("\nP002,", "\n\"@SUM(1)\",", 1)
        .replacen("\nP003,", "\n\"P\n003\",", 1);
    let data = write(dir.path(), "new.csv", &text);
    let csv = responder()
        .args([
            "score", "--model", &model, "--data", &data, "--format", "csv",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.contains(",\"'=HYPERLINK(\"\"x\"\")\","), "{csv}");
    assert!(csv.contains(",'@SUM(1),"), "{csv}");
    let table = responder()
        .args([
            "score", "--model", &model, "--data", &data, "--format", "table",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert_eq!(table.lines().count(), 2 + 120, "{table}");
    assert!(table.contains("P\\n003"), "{table}");
}
