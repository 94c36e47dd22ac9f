//! The effects layer against `tests/fixtures/effects/*.json`, written by
//! `bench/effects_reference.py` (numpy, scipy, statsmodels; formulas cited
//! there): AIPW scores, policy values and their (cluster-robust) SEs, the
//! calibration test with HC3/CR3 errors, RATE point estimates exactly and
//! its half-sample bootstrap SEs within Monte-Carlo noise, overlap, and the
//! multinomial propensity model against statsmodels' MNLogit.

use serde_json::Value;

use super::blp::calibration_test;
use super::estimate::mean_se;
use super::propensity::Multinomial;
use super::rate::{estimate_rate, rate, toc_grid, RATE_REPLICATES};
use super::scores::aipw;
use super::{analyse, overlap, EffectInputs};

fn cases() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/effects");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 6, "fixtures missing in {}", dir.display());
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn fl(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn ul(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * (1.0 + want.abs()),
        "{what}: {got} vs reference {want}"
    );
}

struct Case {
    name: String,
    inp: EffectInputs,
    tau: Vec<Vec<f64>>,
    out: Value,
}

fn parse(c: &Value) -> Case {
    let i = &c["inputs"];
    let arms: Vec<String> = i["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let mu: Vec<Vec<f64>> = i["mu"].as_array().unwrap().iter().map(fl).collect();
    let e: Vec<Vec<f64>> = i["e"].as_array().unwrap().iter().map(fl).collect();
    let clusters = (!i["clusters"].is_null()).then(|| {
        let raw = ul(&i["clusters"]);
        let mut labels = raw.clone();
        labels.sort_unstable();
        labels.dedup();
        let of: Vec<usize> = raw
            .iter()
            .map(|v| labels.binary_search(v).unwrap())
            .collect();
        (of, labels.len())
    });
    let control = i["control_index"].as_u64().unwrap() as usize;
    let tau = arms
        .iter()
        .enumerate()
        .filter(|&(a, _)| a != control)
        .map(|(_, name)| fl(&i["tau_hat"][name]))
        .collect();
    Case {
        name: c["case"].as_str().unwrap().to_string(),
        inp: EffectInputs {
            control,
            received: ul(&i["received"]),
            y: fl(&i["y"]).iter().map(|&v| v == 1.0).collect(),
            recommended: ul(&i["recommended"]),
            clusters,
            arms,
            mu,
            e,
        },
        tau,
        out: c["outputs"].clone(),
    }
}

fn check_interval(got: super::estimate::Interval, want: &Value, what: &str) {
    close(got.estimate, f(&want["estimate"]), 1e-12, what);
    close(got.se, f(&want["se"]), 1e-10, &format!("{what} se"));
    close(
        got.ci_low,
        f(&want["ci_low"]),
        1e-10,
        &format!("{what} ci_low"),
    );
}

#[test]
fn aipw_policy_values_and_ates_match_the_reference() {
    for c in cases().iter().map(parse) {
        let (inp, out, name) = (&c.inp, &c.out, &c.name);
        let n = inp.y.len();
        let gamma = aipw(&inp.received, &inp.y, &inp.mu, &inp.e);
        for (a, g) in out["gamma"].as_array().unwrap().iter().enumerate() {
            for (got, want) in gamma[a].iter().zip(fl(g)) {
                close(*got, want, 1e-12, &format!("{name} gamma"));
            }
        }
        let cl = inp.clusters.as_ref().map(|(v, g)| (v.as_slice(), *g));
        let pv = &out["policy_value"];
        let rec: Vec<f64> = (0..n).map(|i| gamma[inp.recommended[i]][i]).collect();
        check_interval(
            mean_se(&rec, cl),
            &pv["recommended"],
            &format!("{name} recommended"),
        );
        for (a, arm) in inp.arms.iter().enumerate() {
            check_interval(
                mean_se(&gamma[a], cl),
                &pv["single_arm"][arm],
                &format!("{name} {arm}"),
            );
        }
        // The full analysis gives the same policy values.
        let e = analyse(inp, "randomised", String::new(), 20, 1);
        check_interval(e.policy.recommended, &pv["recommended"], name);
        check_interval(
            e.policy.gain_vs_best_single.gain,
            &pv["gain_vs_best_single_arm"],
            name,
        );
        assert_eq!(
            e.policy.gain_vs_best_single.best_single,
            pv["best_single_arm"].as_str().unwrap()
        );
        check_interval(e.policy.gain_vs_random, &pv["gain_vs_random"], name);
        for ct in &e.contrasts {
            check_interval(
                ct.ate,
                &out["ate_vs_control"][&ct.arm],
                &format!("{name} ate {}", ct.arm),
            );
        }
        let o = overlap(&inp.e);
        close(
            o.min_propensity,
            f(&out["overlap"]["min_propensity"]),
            1e-15,
            name,
        );
        close(
            o.share_below_0_05,
            f(&out["overlap"]["share_any_below"]),
            1e-15,
            name,
        );
        assert_eq!(
            o.n_below_0_05 as u64,
            out["overlap"]["n_any_below"].as_u64().unwrap()
        );
    }
}

#[test]
fn calibration_test_matches_statsmodels_hc3_and_sandwich_cr3() {
    let mut with_clusters = 0;
    for c in cases().iter().map(parse) {
        let (inp, out, name) = (&c.inp, &c.out, &c.name);
        let gamma = aipw(&inp.received, &inp.y, &inp.mu, &inp.e);
        let k = inp.control;
        let others: Vec<usize> = (0..inp.arms.len()).filter(|&a| a != k).collect();
        for (j, &a) in others.iter().enumerate() {
            let arm = &inp.arms[a];
            let d: Vec<f64> = (0..inp.y.len())
                .map(|i| gamma[a][i] - gamma[k][i])
                .collect();
            let want = &out["calibration"][arm];
            let mut variants = vec![(None, &want["hc3"])];
            if let Some((of, g)) = &inp.clusters {
                variants.push((Some((of.as_slice(), *g)), &want["cluster_hc3_vcovcl"]));
                with_clusters += 1;
            }
            for (cl, w) in variants {
                let t = calibration_test(&d, &c.tau[j], cl).unwrap();
                close(t.mean_predicted_effect, f(&want["tau_bar"]), 1e-12, name);
                assert_eq!(t.df as u64, want["df"].as_u64().unwrap());
                for (got, key) in [
                    (t.mean_prediction, "mean_forest_prediction"),
                    (t.differential, "differential_forest_prediction"),
                ] {
                    let what = format!("{name} {arm} {key} ({})", t.covariance);
                    close(got.estimate, f(&w[key]["coef"]), 1e-9, &what);
                    close(got.se, f(&w[key]["se"]), 1e-9, &what);
                    close(got.p_value, f(&w[key]["p_one_sided"]), 1e-7, &what);
                }
            }
        }
    }
    assert!(with_clusters >= 1);
}

#[test]
fn rate_matches_grf_port_and_bootstrap_noise() {
    let extra = [0.005, 0.05, 0.125, 1.0 / 3.0, 0.4567, 0.99, 1.0];
    for c in cases().iter().map(parse) {
        let (inp, out, name) = (&c.inp, &c.out, &c.name);
        let gamma = aipw(&inp.received, &inp.y, &inp.mu, &inp.e);
        let k = inp.control;
        let cl = inp.clusters.as_ref().map(|(v, g)| (v.as_slice(), *g));
        let others: Vec<usize> = (0..inp.arms.len()).filter(|&a| a != k).collect();
        let mut checks: Vec<(Vec<f64>, Vec<f64>, &Value)> = others
            .iter()
            .enumerate()
            .map(|(j, &a)| {
                let d = (0..inp.y.len())
                    .map(|i| gamma[a][i] - gamma[k][i])
                    .collect();
                (d, c.tau[j].clone(), &out["rate"][&inp.arms[a]])
            })
            .collect();
        let m = &out["rate_multi_arm"];
        checks.push((fl(&m["dr_score"]), fl(&m["priority"]), m));
        for (d, prio, want) in checks {
            let r = rate(&d, &prio, cl, RATE_REPLICATES, 5);
            close(r.autoc.estimate, f(&want["autoc"]["estimate"]), 1e-12, name);
            close(r.qini.estimate, f(&want["qini"]["estimate"]), 1e-12, name);
            for (p, w) in r.toc.iter().zip(fl(&want["toc"]["estimate"])) {
                close(p.estimate, w, 1e-12, &format!("{name} toc {}", p.q));
            }
            assert_eq!(r.toc.len(), toc_grid().len());
            let (_, _, grid) = estimate_rate(&d, &prio, &extra);
            for (g, w) in grid.iter().zip(fl(&want["toc_extra_grid"]["estimate"])) {
                close(*g, w, 1e-12, &format!("{name} toc extra"));
            }
            // Bootstrap SEs: another RNG, so within Monte-Carlo noise (the
            // SD of an SD over 200 replicates is about 5 %).
            for (got, w) in [
                (r.autoc.se, f(&want["autoc"]["se_bootstrap"])),
                (r.qini.se, f(&want["qini"]["se_bootstrap"])),
            ] {
                assert!(
                    (got / w - 1.0).abs() < 0.25,
                    "{name}: bootstrap SE {got} vs reference {w}"
                );
            }
        }
    }
}

#[test]
fn multinomial_propensity_matches_statsmodels_mnlogit() {
    let c = cases()
        .into_iter()
        .find(|c| c["case"] == "confounded")
        .unwrap();
    let i = &c["inputs"];
    let x1 = fl(&i["covariates"]["x1"]);
    let x2 = fl(&i["covariates"]["x2"]);
    let n = x1.len();
    let x = ndarray::Array2::from_shape_fn((n, 2), |(r, j)| if j == 0 { x1[r] } else { x2[r] });
    let received = ul(&i["received"]);
    let m = Multinomial::fit(x.view(), &received, 3, 0.0);
    let e = m.predict(x.view());
    let want = &c["outputs"]["propensity_fit"]["probabilities"];
    let mut worst = 0.0f64;
    for (a, row) in want.as_array().unwrap().iter().enumerate() {
        for (got, w) in e[a].iter().zip(fl(row)) {
            worst = worst.max((got - w).abs());
        }
    }
    assert!(worst < 1e-6, "largest propensity difference {worst}");
}
