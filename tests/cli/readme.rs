//! The README's example outputs are what the current code prints: the
//! quick-start ranking and every block that starts with `$ responder …`.

use crate::common::*;

/// The fenced blocks of the README, each as its lines.
fn blocks() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo("README.md")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        if line.starts_with("```") {
            match current.take() {
                Some(b) => out.push(b),
                None => current = Some(Vec::new()),
            }
        } else if let Some(b) = current.as_mut() {
            b.push(line.to_string());
        }
    }
    out
}

/// Runs `responder` with `args` (whitespace-separated, as in the README)
/// from the repository root; returns stdout.
fn run(args: &str) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    let out = responder()
        .current_dir(root())
        .args(&words)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every shown line (all but `…`) appears in `output`, in order and
/// consecutively between elisions.
fn assert_shown(shown: &[String], output: &str, what: &str) {
    let lines: Vec<&str> = output.lines().collect();
    for part in shown.split(|l| l.trim() == "…") {
        if part.is_empty() {
            continue;
        }
        let found = lines.windows(part.len()).any(|w| {
            w.iter()
                .zip(part)
                .all(|(a, b)| a.trim_end() == b.trim_end())
        });
        assert!(
            found,
            "{what}: README lines not in the output:\n{}\n--- output ---\n{output}",
            part.join("\n")
        );
    }
}

#[test]
fn quick_start_table_is_what_score_prints() {
    let b = blocks();
    let command = b[0]
        .iter()
        .find(|l| l.starts_with("cargo run -- score"))
        .expect("the quick-start score command")
        .trim_start_matches("cargo run -- ")
        .to_string();
    let table = b
        .iter()
        .find(|b| b.first().is_some_and(|l| l.starts_with("rank  patient_id")))
        .expect("the quick-start table");
    assert_shown(table, &run(&command), "quick start");
}

#[test]
fn documented_command_outputs_are_current() {
    let mut checked = 0;
    for b in blocks() {
        let Some(first) = b.first() else { continue };
        let Some(cmd) = first.strip_prefix("$ responder ") else {
            continue;
        };
        // The command, with `\` continuation lines.
        let mut command = cmd.trim_end_matches('\\').to_string();
        let mut rest = 1;
        let mut last = first.clone();
        while last.trim_end().ends_with('\\') {
            last = b[rest].clone();
            command.push(' ');
            command.push_str(last.trim().trim_end_matches('\\'));
            rest += 1;
        }
        assert_shown(&b[rest..], &run(&command), &command);
        checked += 1;
    }
    assert!(checked >= 1, "no `$ responder` blocks found");
}
