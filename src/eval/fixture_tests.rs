//! Metrics against scikit-learn and statsmodels on the committed fixtures
//! `tests/fixtures/eval_*.json` (made by `bench/make_eval_fixtures.py`).

use serde_json::Value;

use crate::eval::calibration::recalibrate;
use crate::eval::metrics::{auc, brier, delong, log_loss};

fn fixtures() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("eval_") && name.ends_with(".json")
        })
        .collect();
    paths.sort();
    assert!(paths.len() >= 5, "fixtures missing in {}", dir.display());
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn data(f: &Value) -> (Vec<f64>, Vec<bool>) {
    let p = f["p"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let y = f["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() == 1)
        .collect();
    (p, y)
}

fn close(name: &str, what: &str, got: f64, want: &Value, tol: f64) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: no reference {what}"));
    // Shown with `cargo test fixture -- --nocapture`.
    println!("{name:>14} {what:<16} |diff| = {:.1e}", (got - want).abs());
    assert!(
        (got - want).abs() <= tol,
        "{name}: {what} = {got:.17}, reference {want:.17} (tolerance {tol:e})"
    );
}

#[test]
fn auc_brier_log_loss_match_scikit_learn() {
    for f in fixtures() {
        let name = f["name"].as_str().unwrap();
        let (p, y) = data(&f);
        let r = &f["reference"];
        match auc(&p, &y) {
            Some(a) => close(name, "auc", a, &r["auc"], 1e-9),
            None => assert!(r["auc"].is_null(), "{name}: AUC should be defined"),
        }
        close(name, "brier", brier(&p, &y), &r["brier"], 1e-9);
        close(name, "log_loss", log_loss(&p, &y), &r["log_loss"], 1e-9);
        match delong(&p, &y) {
            Some(d) => {
                close(name, "delong auc", d.auc, &r["auc"], 1e-9);
                close(name, "delong se", d.se, &r["delong_se"], 1e-9);
            }
            None => assert!(r["delong_se"].is_null(), "{name}: DeLong should be defined"),
        }
    }
}

#[test]
fn calibration_matches_statsmodels() {
    for f in fixtures() {
        let name = f["name"].as_str().unwrap();
        let (p, y) = data(&f);
        let r = &f["reference"];
        let c = recalibrate(&p, &y);
        match c.in_the_large {
            Some(e) => {
                let want = &r["calibration_in_the_large"];
                close(name, "citl", e.estimate, &want["estimate"], 1e-6);
                close(name, "citl se", e.se, &want["se"], 1e-6);
            }
            None => assert!(
                r["calibration_in_the_large"].is_null(),
                "{name}: CITL missing"
            ),
        }
        match (c.slope, c.slope_intercept) {
            (Some(s), Some(a)) => {
                let want = &r["calibration_slope"];
                close(name, "slope", s.estimate, &want["slope"], 1e-6);
                close(name, "slope se", s.se, &want["slope_se"], 1e-6);
                close(name, "slope intercept", a, &want["intercept"], 1e-6);
            }
            _ => assert!(r["calibration_slope"].is_null(), "{name}: slope missing"),
        }
    }
}

#[test]
fn fixtures_cover_ties_one_class_and_extremes() {
    let all = fixtures();
    let names: Vec<&str> = all.iter().map(|f| f["name"].as_str().unwrap()).collect();
    for want in ["ties", "one_class", "extremes"] {
        assert!(names.contains(&want), "no `{want}` fixture");
    }
    let extremes = all.iter().find(|f| f["name"] == "extremes").unwrap();
    let (p, _) = data(extremes);
    assert!(p.contains(&0.0) && p.contains(&1.0));
}
