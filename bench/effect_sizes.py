#!/usr/bin/env python3
"""The DR-learner's default and the `auto` T-learner at other cohort sizes
and designs than the 5,000 x 200 SNPs of `effect_intervals.py`.

For each configuration, `simulate` writes a cohort (seed 31 unless --seeds),
the first 80 % of the patients train and the rest are scored; prints the
share of the patients with a true advantage >= 0.10 recommended their truly
best therapy, the mean regret, and the wall time of `train` (default --cv 5;
machine-dependent, the only figure that is). Configurations: 2,500 and
12,500 patients x 200 SNPs, 5,000 x 1,000 SNPs, `--confounded`, `--sites 4`,
and 12,500 x 1,000 SNPs.

`dr default` is the DR-learner without `--algorithm` (the lasso, on one
data-shared S-learner's outcome models), `dr per-arm` the same on per-arm
lasso outcome models (`--outcome-models t-learner`), `dr relax=0` the
DR-learner's lasso with the unpenalised refit (its default before
`adaptive=cv`).

With `--intervals B` the models are trained with `--replicates B` and
scored with `--intervals`, and each row adds the coverage of the true
effects by the 95 % intervals of `effect_<arm>` and their mean width (the
train time then includes the replicates).

Usage: cargo build --release && python3 bench/effect_sizes.py [--seeds 31] [--learners "dr default,t auto,dr per-arm"] [--intervals 50]
Only the standard library is needed (and effect_intervals.py beside it).
"""
import argparse, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from effect_intervals import best_and_regret, read, run  # noqa: E402

LEARNERS = {"dr default": ["--strategy", "dr-learner"], "t auto": ["--algorithm", "auto"],
            "dr per-arm": ["--strategy", "dr-learner", "--outcome-models", "t-learner"],
            "dr relax=0": ["--strategy", "dr-learner", "--algorithm", "lasso", "--param", "relax=0"]}
CONFIGS = [(2500, 200, []), (12500, 200, []), (5000, 1000, []), (5000, 200, ["--confounded"]),
           (5000, 200, ["--sites", "4"]), (12500, 1000, [])]


def cohort(work, n, m, seed, extra):
    c = os.path.join(work, f"c{n}_{m}_{seed}_{'_'.join(x.strip('-') for x in extra)}")
    run("simulate", "-q", "--patients", str(n), "--snps", str(m), "--seed", str(seed), "--out", c, *extra)
    lines = open(os.path.join(c, "clinical.csv")).read().splitlines(True)
    k = int(n * 0.8)
    open(os.path.join(c, "train.csv"), "w").writelines(lines[:k + 1])
    open(os.path.join(c, "test.csv"), "w").writelines(lines[:1] + lines[k + 1:])
    return c


def coverage(rows, truth):
    """The share (%) of the effect intervals covering the true effect
    (p under the arm - p under the control), and their mean width."""
    arms = [k[2:] for k in rows[0] if k.startswith("p_")]
    effects = [k[7:] for k in rows[0] if k.startswith("effect_") and not k.endswith(("_low", "_high"))]
    control = [a for a in arms if a not in effects][0]
    hit = n = 0
    width = 0.0
    for r in rows:
        t = truth[r["patient_id"]]
        for a in effects:
            true = float(t["p_" + a]) - float(t["p_" + control])
            lo, hi = float(r[f"effect_{a}_low"]), float(r[f"effect_{a}_high"])
            hit += lo <= true <= hi
            width += hi - lo
            n += 1
    return 100 * hit / n, width / n


def evaluate(c, learner, replicates=0):
    model, out = os.path.join(c, "m.json"), os.path.join(c, "s.csv")
    geno = os.path.join(c, "genotypes.csv")
    reps = ["--replicates", str(replicates)] if replicates else []
    t = time.time()
    run("train", "-q", "--data", os.path.join(c, "train.csv"), "--genotypes", geno, "--target", "responder",
        "--therapy-col", "therapy", "--seed", "7", "--out", model, *learner, *reps)
    seconds = time.time() - t
    run("score", "--model", model, "--data", os.path.join(c, "test.csv"), "--genotypes", geno,
        "--format", "csv", "--out", out, *(["--intervals"] if replicates else []))
    truth = {r["patient_id"]: r for r in read(os.path.join(c, "truth.csv"))}
    rows = read(out)
    cov = coverage(rows, truth) if replicates else None
    return (*best_and_regret(rows, truth), seconds, cov)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="31")
    ap.add_argument("--learners", default="dr default,t auto")
    ap.add_argument("--intervals", type=int, default=0, metavar="B")
    a = ap.parse_args()
    print(f"{'patients':>8} {'snps':>5} {'design':<12} {'seed':>4} {'learner':<12} {'best':>7} {'regret':>7} {'train':>8}"
          + (f" {'coverage':>9} {'width':>6}" if a.intervals else ""))
    with tempfile.TemporaryDirectory() as work:
        for n, m, extra in CONFIGS:
            for seed in [int(s) for s in a.seeds.split(",")]:
                c = cohort(work, n, m, seed, extra)
                for name in a.learners.split(","):
                    b, r, dt, cov = evaluate(c, LEARNERS[name], a.intervals)
                    line = f"{n:>8} {m:>5} {' '.join(extra):<12} {seed:>4} {name:<12} {b:6.1f}% {r:.4f} {dt:7.1f}s"
                    if cov:
                        line += f" {cov[0]:8.1f}% {cov[1]:6.3f}"
                    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
