#!/usr/bin/env python3
"""The effect learners' default on a cohort that `simulate` does not make.

`simulate`'s truth is linear in the logit of (log-)clinical values and SNP
dosages, which is the lasso's own form. This script draws cohorts of the same
shape and columns (5,000 x 200 SNPs, three randomised arms, train on the
first 4,000, score the other 1,000) from a different truth: threshold effects
(episode < 12 months favours TMS; prior failures >= 3 with CRP > 3 mg/L
favours ketamine; BMI > 32, age > 60), a quadratic MADRS term, a sex x age
interaction, and 14 causal SNPs (4 with a common effect, 10 arm-specific,
effects 0.25-0.5 per allele). It trains the T-learner with its default
(`logistic`) and `--algorithm auto`, `--algorithm lasso`, the S-learner with
`--algorithm lasso` (the data-shared lasso), and the DR-, X-learner,
causal forest and auto-effect without `--algorithm` (the lasso on SNP data,
whose outcome models are then one data-shared S-learner; `dr-learner
per-arm outcomes` keeps one lasso per arm),
sets them beside the oracle form (per arm, an unpenalised logistic regression
on the true model's terms, fitted on the same 4,000) and beside the same
regression on the clinical columns taken linearly and the 14 causal SNPs (the
cost of the clinical form alone), and prints the share of the
patients with a true advantage >= 0.10 recommended their truly best therapy,
the mean regret, and the coverage and width of the 95 % intervals of
`effect_<arm>` (`--replicates 50`, `score --intervals`).

With `--snps`, each learner row adds how many of the 14 causal SNPs the
lasso of the bundle's first arm kept (any non-zero coefficient, shared or
arm-specific), of all the SNPs it kept.

Usage: cargo build --release && python3 bench/effect_thresholds.py [--seeds 101,102,103] [--learners ...] [--snps]
Needs numpy.
"""
import argparse, csv, json, os, subprocess, sys, tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("RESPONDER", os.path.join(ROOT, "target", "release", "responder"))
ARMS = ["TMS", "ketamine", "SSRI"]
LEARNERS = {
    "t-learner (default: logistic)": [],
    "t-learner auto": ["--algorithm", "auto"],
    "t-learner lasso": ["--algorithm", "lasso"],
    "s-learner lasso": ["--strategy", "s-learner", "--algorithm", "lasso"],
    "dr-learner (default: lasso)": ["--strategy", "dr-learner"],
    "dr-learner per-arm outcomes": ["--strategy", "dr-learner", "--outcome-models", "t-learner"],
    "x-learner (default: lasso)": ["--strategy", "x-learner"],
    "dr-learner lasso relax=0": ["--strategy", "dr-learner", "--algorithm", "lasso", "--param", "relax=0"],
    "s-learner lasso relax=0": ["--strategy", "s-learner", "--algorithm", "lasso", "--param", "relax=0"],
    "causal-forest (default: lasso)": ["--strategy", "causal-forest"],
    "auto-effect (default: lasso)": ["--strategy", "auto-effect"],
}


def cohort(seed, out, n=5000, snps=200):
    """Writes clinical.csv, genotypes.csv, truth.csv, train.csv, test.csv."""
    rng = np.random.default_rng(seed)
    os.makedirs(out, exist_ok=True)
    maf = rng.uniform(0.05, 0.5, snps)
    names = [f"rs{1000000 + i * 3137 + int(rng.integers(0, 3000))}" for i in range(snps)]
    g = (rng.random((n, snps)) < maf).astype(int) + (rng.random((n, snps)) < maf).astype(int)
    age = np.clip(np.round(45 + 13 * rng.standard_normal(n)), 18, 80)
    fem = rng.random(n) < 0.6
    madrs = np.clip(np.round(31 + 6 * rng.standard_normal(n)), 20, 54)
    ep = np.clip(np.round(np.exp(np.log(10) + 0.9 * rng.standard_normal(n))), 1, 240)
    prior = np.searchsorted([0.30, 0.60, 0.80, 0.92, 1.0], rng.random(n), side="right").clip(0, 4)
    anx = rng.random(n) < 0.45
    crp = np.round(np.clip(np.exp(np.log(2.5) + 0.8 * rng.standard_normal(n)), 0.1, 50) * 10) / 10
    bmi = np.round(np.clip(27 + 5 * rng.standard_normal(n), 16, 50) * 10) / 10
    t = rng.integers(0, 3, n)
    causal = rng.choice(snps, 14, replace=False)
    eff = np.zeros((14, 3))
    eff[:4] = rng.normal(0, 0.25, (4, 1))
    for k in range(4, 14):
        eff[k, k % 3] = rng.choice([-1, 1]) * rng.uniform(0.25, 0.5)
    zm = (madrs - 31) / 6
    common = -0.25 * zm - 0.15 * zm**2 + 0.1 * fem
    logit = np.zeros((n, 3))
    logit[:, 0] = -0.2 + common + 0.6 * (ep < 12) - 0.3 * (age > 60) - 0.2 * prior
    logit[:, 1] = -0.5 + common + 0.9 * ((prior >= 3) & (crp > 3)) + 0.3 * anx + 0.2 * (crp > 5)
    logit[:, 2] = 0.1 + common - 0.5 * (prior >= 2) - 0.4 * anx - 0.3 * (bmi > 32) + 0.3 * (fem & (age < 35))
    for k, j in enumerate(causal):
        logit += np.outer(g[:, j] - 2 * maf[j], eff[k])
    # The true model's terms, for the oracle form (every arm's terms, so
    # each arm's fit is correctly specified).
    basis = np.column_stack([zm, zm**2, fem, ep < 12, age > 60, prior, (prior >= 3) & (crp > 3), anx, crp > 5,
                             prior >= 2, bmi > 32, fem & (age < 35), g[:, causal]]).astype(float)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p[np.arange(n), t]).astype(int)
    ids = [f"P{i + 1:05d}" for i in range(n)]
    header = "patient_id,age,sex,madrs_baseline,episode_months,prior_failures,anxiety,crp,bmi,therapy,responder\n"
    lines = [header] + [
        f"{ids[i]},{age[i]:.0f},{'F' if fem[i] else 'M'},{madrs[i]:.0f},{ep[i]:.0f},{prior[i]},"
        f"{'yes' if anx[i] else 'no'},{crp[i]:.1f},{bmi[i]:.1f},{ARMS[t[i]]},{y[i]}\n"
        for i in range(n)
    ]
    open(os.path.join(out, "train.csv"), "w").writelines(lines[:4001])
    open(os.path.join(out, "test.csv"), "w").writelines(lines[:1] + lines[4001:])
    with open(os.path.join(out, "genotypes.csv"), "w") as f:
        f.write("patient_id," + ",".join(names) + "\n")
        for i in range(n):
            f.write(ids[i] + "," + ",".join(map(str, g[i])) + "\n")
    # The clinical columns as a linear model reads them (with the logs of
    # the skewed two), and the causal SNPs: the form of the truth's clinical
    # part is then wrong but the SNPs are given.
    linear = np.column_stack([age, madrs, ep, prior, crp, bmi, fem, anx, np.log(ep), np.log(crp),
                              g[:, causal]]).astype(float)
    np.savez(os.path.join(out, "oracle.npz"), basis=basis, linear=linear, t=t, y=y, p=p)
    with open(os.path.join(out, "causal.txt"), "w") as f:
        f.write("\n".join(names[j] for j in causal) + "\n")
    with open(os.path.join(out, "truth.csv"), "w") as f:
        f.write("patient_id," + ",".join("p_" + a for a in ARMS) + "\n")
        for i in range(n):
            f.write(f"{ids[i]},{p[i, 0]:.6f},{p[i, 1]:.6f},{p[i, 2]:.6f}\n")


def run(*args):
    subprocess.run([BIN, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def score(c, extra, work):
    model, out = os.path.join(work, "m.json"), os.path.join(work, "s.csv")
    geno = os.path.join(c, "genotypes.csv")
    run("train", "-q", "--data", os.path.join(c, "train.csv"), "--genotypes", geno, "--target", "responder",
        "--therapy-col", "therapy", "--seed", "7", "--replicates", "50", "--out", model, *extra)
    run("score", "--model", model, "--data", os.path.join(c, "test.csv"), "--genotypes", geno,
        "--intervals", "--format", "csv", "--out", out)
    truth = {r["patient_id"]: r for r in read(os.path.join(c, "truth.csv"))}
    clear = right = covered = n = 0
    regret = width = 0.0
    rows = read(out)
    effects = [k[len("effect_"):] for k in rows[0] if k.startswith("effect_") and not k.endswith(("_low", "_high"))]
    control = [a for a in ARMS if a not in effects][0]
    for r in rows:
        tp = {a: float(truth[r["patient_id"]]["p_" + a]) for a in ARMS}
        for a in effects:
            lo, hi = float(r[f"effect_{a}_low"]), float(r[f"effect_{a}_high"])
            covered += lo <= tp[a] - tp[control] <= hi
            width += hi - lo
            n += 1
        pred = max(ARMS, key=lambda a: float(r["p_" + a]))
        best = max(ARMS, key=lambda a: tp[a])
        s = sorted(tp.values(), reverse=True)
        regret += tp[best] - tp[pred]
        if s[0] - s[1] >= 0.10:
            clear += 1
            right += pred == best
    return 100 * right / clear, regret / len(rows), 100 * covered / n, width / n, kept_snps(model, c)


def kept_snps(model, c):
    """Of the SNPs the bundle's first arm's lasso keeps (any non-zero
    coefficient: per arm, or an S-learner's shared or arm terms), how many
    are among the 14 causal ones, and how many in all."""
    b = json.load(open(model))
    arm = b["arms"][0]
    coef = arm["model"].get("coefficients")
    if coef is None:
        return None
    outputs = []
    for f in arm["pipeline"]["features"]:
        width = len(f["levels"]) if f["kind"] == "categorical" else 1
        outputs += [f["name"] if f["kind"] == "dosage" else None] * width
    w = len(outputs)
    blocks = [coef[:w]]
    if arm["design"].get("design") == "s-learner":
        k = arm["design"]["arms"]
        blocks += [coef[w + k + a * w:w + k + (a + 1) * w] for a in range(k)]
    kept = {name for j, name in enumerate(outputs) if name and any(blk[j] != 0 for blk in blocks)}
    causal = set(open(os.path.join(c, "causal.txt")).read().split())
    return len(kept & causal), len(kept)


def logistic_fit(x, y, iters=50):
    """Unpenalised logistic regression by Newton-Raphson (IRLS)."""
    x = np.column_stack([np.ones(len(x)), x])
    b = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-x @ b))
        step = np.linalg.solve(x.T @ (x * (p * (1 - p))[:, None]), x.T @ (y - p))
        b += step
        if np.abs(step).max() < 1e-10:
            break
    return b


ORACLES = {
    "oracle form (true terms, 4,000)": "basis",
    "linear clinical + true SNPs": "linear",
}


def oracle(c, terms="basis"):
    """The oracle form: per arm, an unpenalised logistic regression on the
    true model's terms (found from the simulation, not from the data), fitted
    on the arm's training patients; best | adv >= .10 and mean regret on the
    test patients. With `terms="linear"`: on the clinical columns taken
    linearly (and log episode, log CRP) and the 14 causal SNPs."""
    d = np.load(os.path.join(c, "oracle.npz"))
    basis, t, y, p = d[terms], d["t"], d["y"], d["p"]
    tr, te = slice(0, 4000), slice(4000, None)
    pred = np.column_stack([
        1 / (1 + np.exp(-np.column_stack([np.ones(len(basis[te])), basis[te]])
                        @ logistic_fit(basis[tr][t[tr] == a], y[tr][t[tr] == a])))
        for a in range(len(ARMS))
    ])
    tp = p[te]
    chosen, best = pred.argmax(1), tp.argmax(1)
    s = np.sort(tp, 1)
    clear = s[:, -1] - s[:, -2] >= 0.10
    regret = tp[np.arange(len(tp)), best] - tp[np.arange(len(tp)), chosen]
    return 100 * (chosen == best)[clear].mean(), regret.mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="101,102,103")
    ap.add_argument("--learners", default=",".join(LEARNERS),
                    help="comma-separated names of LEARNERS (the oracle rows always run)")
    ap.add_argument("--snps", action="store_true",
                    help="add how many of the 14 causal SNPs the first arm's lasso kept, of all it kept")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    print("best = best|adv>=.10, regret = mean regret, coverage/width = 95% intervals of effect_<arm> (--replicates 50)")
    print(f"{'learner':<32}{'seed':>5}{'best':>8}{'regret':>8}{'coverage':>10}{'width':>7}")
    with tempfile.TemporaryDirectory() as work:
        for s in seeds:
            cohort(s, os.path.join(work, f"c{s}"))
        for name, terms in ORACLES.items():
            res = [oracle(os.path.join(work, f"c{s}"), terms) for s in seeds]
            for s, (b, r) in zip(seeds, res):
                print(f"{name:<32}{s:>5}{b:>7.1f}%{r:>8.4f}", flush=True)
            print(f"{name:<32}{'mean':>5}{np.mean([b for b, _ in res]):>7.1f}%"
                  f"{np.mean([r for _, r in res]):>8.4f}", flush=True)
        for name in a.learners.split(","):
            extra = LEARNERS[name]
            res = []
            for s in seeds:
                b, r, cov, w, kept = score(os.path.join(work, f"c{s}"), extra, work)
                res.append((b, r, cov, w))
                snps = f"  causal {kept[0]:>2}/14 of {kept[1]} kept" if a.snps and kept else ""
                print(f"{name:<32}{s:>5}{b:>7.1f}%{r:>8.4f}{cov:>9.1f}%{w:>7.3f}{snps}", flush=True)
            m = [sum(x[i] for x in res) / len(res) for i in range(4)]
            print(f"{name:<32}{'mean':>5}{m[0]:>7.1f}%{m[1]:>8.4f}{m[2]:>9.1f}%{m[3]:>7.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
