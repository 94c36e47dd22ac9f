#!/usr/bin/env python3
"""Coverage of `score --intervals` when patients are clustered in sites.

A multi-site trial where each site shifts both the response rate and the
effect of the therapy (random site intercepts u_s ~ N(0, 0.8^2) and site x
therapy effects v_s ~ N(0, 0.8^2) on the logit), two arms (control, drug),
randomised 1:1. The target of a recommendation for a patient of a *new*
site is the population effect tau(x) = E_s[p_drug(x, s) - p_control(x, s)],
computed here by Gauss-Hermite quadrature over the site effects. For each repetition:
simulate `--sites` training sites of `--per-site` patients, train a
T-learner (logistic) with `--replicates B --group-col site`, once with the
cluster bootstrap (the default there) and once with `--resample-unit
patients`, score 1,000 patients from new sites with `--intervals`, and
count how often each patient's 95 % interval covers tau(x).

Usage: cargo build --release && python3 bench/cluster_bootstrap.py [--reps 20] [--sites 20] [--site-sd 0.8]
bench/cluster_bootstrap.txt: --reps 100, then --reps 100 --site-sd 0 (no site effects), then
--reps 100 --strategy causal-forest, with and without site effects (its little bags draw whole sites too).
Needs numpy; does not run cargo.
"""
import argparse, csv, os, subprocess, tempfile
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("RESPONDER", os.path.join(ROOT, "target", "release", "responder"))
SD_U = SD_V = 0.8  # --site-sd


def logits(x, u, v):
    base = -0.3 + 0.5 * x[:, 0] - 0.4 * x[:, 1] + u
    return base, base + 0.3 + 0.6 * x[:, 2] + v


def cohort(rng, sites, per_site, first_site):
    n = sites * per_site
    x = rng.normal(size=(n, 4))
    site = np.repeat(np.arange(first_site, first_site + sites), per_site)
    u = rng.normal(0, SD_U, sites)[site - first_site]
    v = rng.normal(0, SD_V, sites)[site - first_site]
    drug = rng.random(n) < 0.5
    l0, l1 = logits(x, u, v)
    p = 1 / (1 + np.exp(-np.where(drug, l1, l0)))
    y = rng.random(n) < p
    return x, site, drug, y


def write(path, x, site, drug, y, first_id):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient_id", "site", "therapy", "responder", "x1", "x2", "x3", "x4"])
        for i in range(len(x)):
            w.writerow([f"P{first_id + i:05d}", f"S{site[i]:03d}", "drug" if drug[i] else "control", int(y[i]),
                        *[f"{v:.6f}" for v in x[i]]])


def run(*args):
    subprocess.run([BIN, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--per-site", type=int, default=150)
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--site-sd", type=float, default=0.8, help="sd of both site effects on the logit")
    ap.add_argument("--strategy", default="t-learner", help="train --strategy (e.g. causal-forest)")
    a = ap.parse_args()
    global SD_U, SD_V
    SD_U = SD_V = a.site_sd
    rng = np.random.default_rng(2026)
    # Gauss-Hermite nodes for E over N(0, sd^2) site effects (40 x 40).
    z, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    mc = np.array([(zu * SD_U, zv * SD_V) for zu in z for zv in z])
    mw = np.array([wu * wv for wu in w for wv in w])
    res = {"groups": [], "patients": []}
    with tempfile.TemporaryDirectory() as work:
        for r in range(a.reps):
            x, site, drug, y = cohort(rng, a.sites, a.per_site, 0)
            train = os.path.join(work, "train.csv")
            write(train, x, site, drug, y, 1)
            xt, st, dt, yt = cohort(rng, 100, 10, 1000)
            test = os.path.join(work, "test.csv")
            write(test, xt, st, dt, yt, 50001)
            # tau(x) for a patient of a new site: the mean over site effects.
            l0 = (-0.3 + 0.5 * xt[:, 0] - 0.4 * xt[:, 1])[:, None] + mc[None, :, 0]
            l1 = l0 + (0.3 + 0.6 * xt[:, 2])[:, None] + mc[None, :, 1]
            tau = (1 / (1 + np.exp(-l1)) - 1 / (1 + np.exp(-l0))) @ mw
            for unit in res:
                model = os.path.join(work, f"m_{unit}.json")
                run("train", "-q", "--data", train, "--target", "responder", "--therapy-col", "therapy",
                    "--group-col", "site", "--exclude", "patient_id", "--replicates", str(a.replicates),
                    "--resample-unit", unit, "--seed", str(r + 1), "--strategy", a.strategy, "--out", model)
                out = os.path.join(work, "s.csv")
                run("score", "--model", model, "--data", test, "--intervals", "--control", "control",
                    "--format", "csv", "--out", out)
                with open(out, newline="") as f:
                    rows = {row["patient_id"]: row for row in csv.DictReader(f)}
                lo = np.array([float(rows[f"P{50001 + i:05d}"]["effect_drug_low"]) for i in range(len(xt))])
                hi = np.array([float(rows[f"P{50001 + i:05d}"]["effect_drug_high"]) for i in range(len(xt))])
                res[unit].append((np.mean((lo <= tau) & (tau <= hi)), np.mean(hi - lo)))
            print(f"rep {r + 1}: " + ", ".join(f"{u} {res[u][-1][0] * 100:.1f}% (width {res[u][-1][1]:.3f})"
                                               for u in res), flush=True)
    print(f"{a.reps} repetitions, {a.sites} training sites x {a.per_site} patients, site sd {SD_U}/{SD_V} on the "
          f"logit, {a.strategy} logistic, B = {a.replicates}, 1,000 patients of 100 new sites")
    for u, v in res.items():
        v = np.array(v)
        print(f"  --resample-unit {u:8s}: coverage of tau(x) {v[:, 0].mean() * 100:.1f}% "
              f"(per repetition {v[:, 0].min() * 100:.1f}-{v[:, 0].max() * 100:.1f}%), mean width {v[:, 1].mean():.3f}")


if __name__ == "__main__":
    main()
