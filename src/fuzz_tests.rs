//! Fuzz-style test of model bundles: valid bundles of every algorithm and
//! strategy are mutated (numbers, indices, lengths, keys) and handed to
//! every reader of bundles — loading, scoring, `inspect`'s summary and the
//! model card. Each mutated bundle must be refused with an error or work;
//! none may panic or hang.
//!
//! A short run is part of `cargo test`. The long run (minutes per algorithm):
//! `RESPONDER_FUZZ_SECONDS=600 cargo test --release --lib fuzz_tests -- --nocapture`
//! (the seconds are per bundle kind; the counts are printed).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::{json, Value};

use crate::bundle::{Bundle, Strategy};
use crate::data::{Dataset, ReadOptions, TargetRule};
use crate::eval::apply::predict_all;
use crate::features::Frame;
use crate::models::{AlgorithmParams, RawParams, ALGORITHMS};
use crate::notes::Notes;
use crate::training::{train, Cohort, CohortSpec, Method, TrainSpec};

/// A small two-arm cohort with genotypes, on disk.
fn cohort_files(dir: &std::path::Path) -> (String, String) {
    let (mut c, mut g) = (
        String::from("patient_id,age,sex,score,therapy,responder\n"),
        String::from("patient_id,rs1,rs2,rs3\n"),
    );
    for i in 0..120u64 {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        let score = (h % 50) as f64;
        let resp = (score > 24.0) ^ (i % 7 == 0);
        c.push_str(&format!(
            "P{i:03},{},{},{score},{},{}\n",
            20 + h % 40,
            if h % 3 == 0 { "F" } else { "M" },
            if i % 2 == 0 { "A" } else { "B" },
            u8::from(resp)
        ));
        g.push_str(&format!(
            "P{i:03},{},{},{}\n",
            h % 3,
            (h / 3) % 3,
            (h / 9) % 3
        ));
    }
    let (cp, gp) = (dir.join("c.csv"), dir.join("g.csv"));
    std::fs::write(&cp, c).unwrap();
    std::fs::write(&gp, g).unwrap();
    (cp.display().to_string(), gp.display().to_string())
}

fn spec(data: &str, geno: &str, pcs: bool) -> CohortSpec {
    CohortSpec {
        data: data.into(),
        genotypes: Some(geno.into()),
        read: ReadOptions::defaults("patient_id"),
        target: "responder".into(),
        rule: TargetRule::Binary,
        therapy_col: Some("therapy".into()),
        therapy: None,
        group_col: None,
        features: Vec::new(),
        exclude: Vec::new(),
        categorical: Vec::new(),
        genetic: crate::features::genotype::GeneticOptions {
            pcs: pcs.then_some(2),
            ..Default::default()
        },
        log_skewed: false,
    }
}

/// Valid bundles: every algorithm as a T-learner, an S-learner, one with PCs.
fn bundles(data: &str, geno: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut kinds: Vec<(String, AlgorithmParams, Strategy, bool)> = ALGORITHMS
        .iter()
        .map(|a| {
            let mut kv = Vec::new();
            if a.name == "forest" || a.name == "boosting" {
                kv.push("trees=4".to_string());
            }
            if a.name == "svm" {
                kv.push("kernel=gaussian".to_string());
            }
            let p = AlgorithmParams::from_cli(a.name, &RawParams::parse(&kv).unwrap()).unwrap();
            (a.name.to_string(), p, Strategy::TLearner, false)
        })
        .collect();
    let logistic = AlgorithmParams::from_cli("logistic", &RawParams::default()).unwrap();
    kinds.push((
        "s-learner".into(),
        logistic.clone(),
        Strategy::SLearner,
        false,
    ));
    kinds.push(("pcs".into(), logistic.clone(), Strategy::TLearner, true));
    kinds.push((
        "dr-learner".into(),
        logistic.clone(),
        Strategy::DrLearner,
        false,
    ));
    // A DR-learner on one S-learner's outcome models.
    kinds.push((
        "dr-learner-s".into(),
        logistic.clone(),
        Strategy::DrLearner,
        false,
    ));
    kinds.push((
        "x-learner".into(),
        logistic.clone(),
        Strategy::XLearner,
        false,
    ));
    kinds.push((
        "causal-forest".into(),
        logistic,
        Strategy::CausalForest,
        false,
    ));
    for (name, alg, strategy, pcs) in kinds {
        let s = spec(data, geno, pcs);
        let cohort = Cohort::assemble(&s, 3, "test", &mut Notes::default()).unwrap();
        let effect = matches!(strategy, Strategy::DrLearner | Strategy::XLearner);
        let effect_strategy = effect || strategy == Strategy::CausalForest;
        let how = TrainSpec {
            method: Method::Fixed(alg),
            cv: 3,
            strategy,
            keep_cross_fitted: true,
            seed: 1,
            // The DR- and X-learner with replicates of their outcome models and
            // final stage, against the second arm.
            replicates: if effect { 3 } else { 0 },
            resample_groups: false,
            control: effect_strategy.then_some(1),
            forest_trees: 4,
            forest_offset: true,
            s_learner_outcomes: name == "dr-learner-s",
            forest_replicates: 0,
        };
        let b = train(&cohort, &s, &how, &|| {}).unwrap();
        let json = b.to_json().unwrap();
        // Every kind reloads to the same bytes.
        let again = Bundle::from_slice("b.json", json.as_bytes()).unwrap();
        assert_eq!(again.to_json().unwrap(), json, "{name}");
        out.push((name, serde_json::from_str(&json).unwrap()));
    }
    out
}

/// JSON pointers of every value in `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// One random edit of the value at a random place.
fn mutate(v: &mut Value, rng: &mut impl Rng) {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    let at = all[rng.gen_range(0..all.len())].clone();
    let Some(x) = v.pointer_mut(&at) else { return };
    const NUMBERS: [f64; 9] = [
        0.0,
        -1.0,
        1.0,
        2.0,
        1e308,
        -1e308,
        1e-300,
        4294967297.0,
        18446744073709551615.0,
    ];
    match x {
        Value::Number(n) => {
            *x = match rng.gen_range(0..4) {
                0 => json!(NUMBERS[rng.gen_range(0..NUMBERS.len())]),
                1 => json!(n.as_f64().unwrap_or(0.0) + 1.0),
                2 => json!(-n.as_f64().unwrap_or(0.0)),
                _ => json!(n.as_i64().unwrap_or(0).wrapping_mul(1000)),
            }
        }
        Value::Bool(b) => *b = !*b,
        Value::String(s) => {
            *x = match rng.gen_range(0..3) {
                0 => json!(""),
                1 => json!(format!("{s}x")),
                _ => json!("missing"),
            }
        }
        Value::Array(a) if !a.is_empty() => match rng.gen_range(0..4) {
            0 => {
                a.pop();
            }
            1 => {
                let i = rng.gen_range(0..a.len());
                a.push(a[i].clone());
            }
            2 => a.clear(),
            _ => {
                let (i, j) = (rng.gen_range(0..a.len()), rng.gen_range(0..a.len()));
                a.swap(i, j);
            }
        },
        Value::Object(o) if !o.is_empty() => {
            let keys: Vec<String> = o.keys().cloned().collect();
            let k = &keys[rng.gen_range(0..keys.len())];
            if rng.gen_bool(0.5) {
                o.remove(k);
            } else {
                let v = o.remove(k).unwrap_or(Value::Null);
                o.insert(format!("{k}_"), v);
            }
        }
        _ => *x = json!(null),
    }
}

/// Loads `bytes` as a bundle and, if it loads, scores the cohort with it
/// and builds its summary and card. Returns whether it loaded.
fn exercise(bytes: &[u8], data: &str, geno: &str) -> bool {
    let Ok(bundle) = Bundle::from_slice("fuzz.json", bytes) else {
        return false;
    };
    let read = ReadOptions::defaults(&bundle.id_column);
    if let Ok(mut ds) = Dataset::load(data, Some(geno), &read) {
        if bundle.prepare_genotypes(&mut ds).is_ok() {
            if let Ok(frame) = Frame::from_schema_taking(&mut ds, &bundle.features) {
                let rows: Vec<usize> = (0..ds.n_rows()).collect();
                if let Ok((probs, _)) = predict_all(&bundle, &frame, &rows) {
                    assert!(probs.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
                }
            }
        }
    }
    let _ = crate::cli::inspect::summarise("fuzz.json", &bundle);
    let card = crate::report::card::build("fuzz.json", "0", &bundle, None, None, Vec::new());
    let _ = crate::report::card::render_markdown(&card);
    true
}

#[test]
fn mutated_bundles_never_panic_or_hang() {
    let dir = tempfile::tempdir().unwrap();
    let (data, geno) = cohort_files(dir.path());
    let seconds: f64 = std::env::var("RESPONDER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    for (kind, valid) in bundles(&data, &geno) {
        let start = Instant::now();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(kind.len() as u64);
        let (mut tried, mut loaded) = (0u64, 0u64);
        // At least 150 mutated bundles per kind; more for a timed run.
        while tried < 150 || start.elapsed().as_secs_f64() < seconds {
            let mut v = valid.clone();
            for _ in 0..rng.gen_range(1..=3) {
                mutate(&mut v, &mut rng);
            }
            let bytes = serde_json::to_vec(&v).unwrap();
            let (tx, rx) = mpsc::channel();
            let (d, g, b) = (data.clone(), geno.clone(), bytes.clone());
            std::thread::spawn(move || {
                let r = std::panic::catch_unwind(|| exercise(&b, &d, &g));
                let _ = tx.send(r);
            });
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(Ok(ok)) => loaded += u64::from(ok),
                Ok(Err(_)) | Err(_) => {
                    let keep = std::env::temp_dir().join(format!("responder-fuzz-{kind}.json"));
                    std::fs::write(&keep, &bytes).unwrap();
                    panic!(
                        "{kind}: a mutated bundle panicked or hung; kept as {}",
                        keep.display()
                    );
                }
            }
            tried += 1;
        }
        eprintln!(
            "fuzz {kind}: {tried} mutated bundles, {loaded} loaded and scored, no panic or hang"
        );
    }
}

/// `explain`'s shortcut (shuffling a column's pipeline outputs, computed
/// once) scores exactly as re-transforming a frame whose column was
/// shuffled, for every algorithm and strategy, every column.
#[test]
fn shuffled_outputs_score_as_a_shuffled_frame() {
    use crate::eval::apply::{predict_arm, Outputs};
    use crate::features::frame::Values;
    use rand::seq::SliceRandom;
    let dir = tempfile::tempdir().unwrap();
    let (data, geno) = cohort_files(dir.path());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    for (kind, valid) in bundles(&data, &geno) {
        let bundle = Bundle::from_slice("b.json", &serde_json::to_vec(&valid).unwrap()).unwrap();
        let read = ReadOptions::defaults(&bundle.id_column);
        let mut ds = Dataset::load(&data, Some(&geno), &read).unwrap();
        bundle.prepare_genotypes(&mut ds).unwrap();
        let frame = Frame::from_schema_taking(&mut ds, &bundle.features).unwrap();
        // Every other patient, so rows are not the whole frame.
        let rows: Vec<usize> = (0..ds.n_rows()).step_by(2).collect();
        let mut outputs = Outputs::new(bundle.arms.iter().collect(), &frame, &rows).unwrap();
        let mut arm0 = Outputs::new(vec![&bundle.arms[0]], &frame, &rows).unwrap();
        let mut perm: Vec<usize> = (0..rows.len()).collect();
        for c in 0..frame.columns.len() {
            perm.shuffle(&mut rng);
            let mut work = frame.clone();
            work.columns[c].values = match &frame.columns[c].values {
                Values::Numeric(v) => {
                    let mut out = v.clone();
                    for (i, &r) in rows.iter().enumerate() {
                        out[r] = v[rows[perm[i]]];
                    }
                    Values::Numeric(out)
                }
                Values::Categorical { codes, levels } => {
                    let mut out = codes.clone();
                    for (i, &r) in rows.iter().enumerate() {
                        out[r] = codes[rows[perm[i]]];
                    }
                    Values::Categorical {
                        codes: out,
                        levels: levels.clone(),
                    }
                }
            };
            let slow = predict_all(&bundle, &work, &rows).unwrap().0;
            let fast = outputs
                .with_shuffled(c, &perm, |o| o.predict_all(&bundle))
                .unwrap();
            let bits = |p: &[Vec<f64>]| -> Vec<Vec<u64>> {
                p.iter()
                    .map(|a| a.iter().map(|v| v.to_bits()).collect())
                    .collect()
            };
            assert_eq!(bits(&slow), bits(&fast), "{kind}, column {c}");
            let slow0 = predict_arm(&bundle.arms[0], &work, &rows).unwrap().0;
            let fast0 = arm0.with_shuffled(c, &perm, |o| o.predict_arm(0)).unwrap();
            assert_eq!(bits(&[slow0]), bits(&[fast0]), "{kind}, arm 0, column {c}");
        }
        // The outputs are restored after each shuffle.
        let base = predict_all(&bundle, &frame, &rows).unwrap().0;
        assert_eq!(outputs.predict_all(&bundle).unwrap(), base, "{kind}");
    }
}
