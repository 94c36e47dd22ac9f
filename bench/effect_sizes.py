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
lasso outcome models (`--outcome-models t-learner`).

Usage: cargo build --release && python3 bench/effect_sizes.py [--seeds 31] [--learners "dr default,t auto,dr per-arm"]
Only the standard library is needed (and effect_intervals.py beside it).
"""
import argparse, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from effect_intervals import best_and_regret, read, run  # noqa: E402

LEARNERS = {"dr default": ["--strategy", "dr-learner"], "t auto": ["--algorithm", "auto"],
            "dr per-arm": ["--strategy", "dr-learner", "--outcome-models", "t-learner"]}
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


def evaluate(c, learner):
    model, out = os.path.join(c, "m.json"), os.path.join(c, "s.csv")
    geno = os.path.join(c, "genotypes.csv")
    t = time.time()
    run("train", "-q", "--data", os.path.join(c, "train.csv"), "--genotypes", geno, "--target", "responder",
        "--therapy-col", "therapy", "--seed", "7", "--out", model, *learner)
    seconds = time.time() - t
    run("score", "--model", model, "--data", os.path.join(c, "test.csv"), "--genotypes", geno,
        "--format", "csv", "--out", out)
    truth = {r["patient_id"]: r for r in read(os.path.join(c, "truth.csv"))}
    return (*best_and_regret(read(out), truth), seconds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="31")
    ap.add_argument("--learners", default="dr default,t auto")
    a = ap.parse_args()
    print(f"{'patients':>8} {'snps':>5} {'design':<12} {'seed':>4} {'learner':<12} {'best':>7} {'regret':>7} {'train':>8}")
    with tempfile.TemporaryDirectory() as work:
        for n, m, extra in CONFIGS:
            for seed in [int(s) for s in a.seeds.split(",")]:
                c = cohort(work, n, m, seed, extra)
                for name in a.learners.split(","):
                    b, r, dt = evaluate(c, LEARNERS[name])
                    print(f"{n:>8} {m:>5} {' '.join(extra):<12} {seed:>4} {name:<12} {b:6.1f}% {r:.4f} {dt:7.1f}s",
                          flush=True)


if __name__ == "__main__":
    sys.exit(main())
