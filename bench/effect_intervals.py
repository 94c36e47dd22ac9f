#!/usr/bin/env python3
"""Coverage of `score --intervals` on simulated cohorts with a known truth.

For each seed: simulate 5,000 patients x 200 SNPs, train on the first 4,000
with `--replicates B`, score the other 1,000 with `--intervals --format csv`,
and compare each `effect_<arm>` interval with the true effect (truth.csv:
p under the arm - p under the control arm). Prints, per learner, the share of
intervals covering the truth (nominal 95%), their mean width, the share of
patients with a true advantage >= 0.10 whose recommendation is the truly best
therapy, the mean regret, and how many patients `--min-advantage ci` leaves
undecided (and how often the decided ones are right).

Usage: cargo build --release && python3 bench/effect_intervals.py [--seeds 7,11] [--replicates 100]
Only the standard library is needed.
"""
import argparse, csv, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("RESPONDER", os.path.join(ROOT, "target", "release", "responder"))

LEARNERS = {
    "t-learner auto": ["--algorithm", "auto"],
    "t-learner lasso": ["--algorithm", "lasso"],
    "causal-forest lasso": ["--strategy", "causal-forest", "--algorithm", "lasso"],
    "dr-learner lasso": ["--strategy", "dr-learner", "--algorithm", "lasso"],
    "x-learner lasso": ["--strategy", "x-learner", "--algorithm", "lasso"],
    "auto-effect lasso": ["--strategy", "auto-effect", "--algorithm", "lasso"],
    "s-learner lasso": ["--strategy", "s-learner", "--algorithm", "lasso"],
    "t-learner lasso a=0.01": ["--algorithm", "elastic-net", "--param", "alpha=0.01", "--param", "l1_ratio=1"],
    "t-learner logistic": ["--algorithm", "logistic"],
    # No --algorithm: the effect learners' default on SNP dosages (lasso).
    "dr-learner default": ["--strategy", "dr-learner"],
    "dr-learner per-arm outcomes": ["--strategy", "dr-learner", "--outcome-models", "t-learner"],
    "x-learner default": ["--strategy", "x-learner"],
    "causal-forest default": ["--strategy", "causal-forest"],
    "auto-effect default": ["--strategy", "auto-effect"],
    "dr-learner lasso relax=0": ["--strategy", "dr-learner", "--algorithm", "lasso", "--param", "relax=0"],
    "x-learner lasso relax=0": ["--strategy", "x-learner", "--algorithm", "lasso", "--param", "relax=0"],
    "s-learner lasso relax=0": ["--strategy", "s-learner", "--algorithm", "lasso", "--param", "relax=0"],
    "s-learner lasso a=0.005": ["--strategy", "s-learner", "--algorithm", "elastic-net", "--param", "alpha=0.005",
                               "--param", "l1_ratio=1"],
    "s-learner logistic c=0.05": ["--strategy", "s-learner", "--algorithm", "logistic", "--param", "c=0.05"],
    "auto-effect auto": ["--strategy", "auto-effect", "--algorithm", "auto"],
    "causal-forest auto": ["--strategy", "causal-forest", "--algorithm", "auto"],
    "causal-forest none auto": ["--strategy", "causal-forest", "--forest-offset", "none", "--algorithm", "auto"],
    "x-learner auto": ["--strategy", "x-learner", "--algorithm", "auto"],
    "dr-learner auto": ["--strategy", "dr-learner", "--algorithm", "auto"],
    "dr-learner lasso a=0.01": ["--strategy", "dr-learner", "--algorithm", "elastic-net", "--param", "alpha=0.01",
                                "--param", "l1_ratio=1"],
}


def run(*args):
    subprocess.run([BIN, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def recommendation(row, tp, arms):
    """For one scored row and its true probabilities `tp`: the recommended
    arm (highest predicted p), the truly best arm, whether they agree when
    the true advantage is >= 0.10 (None below that), and the regret."""
    pred = max(arms, key=lambda a: float(row["p_" + a]))
    best = max(arms, key=lambda a: tp[a])
    s = sorted(tp.values(), reverse=True)
    ok = (pred == best) if s[0] - s[1] >= 0.10 else None
    return pred, best, ok, tp[best] - tp[pred]


def best_and_regret(rows, truth):
    """For scored rows and their truth (patient_id -> truth.csv row): the
    share (%) of patients with a true advantage >= 0.10 recommended their
    truly best therapy, and the mean regret."""
    arms = [k[2:] for k in rows[0] if k.startswith("p_")]
    clear = right = 0
    regret = 0.0
    for r in rows:
        tp = {a: float(truth[r["patient_id"]]["p_" + a]) for a in arms}
        _, _, ok, rg = recommendation(r, tp, arms)
        regret += rg
        if ok is not None:
            clear += 1
            right += ok
    return 100 * right / max(clear, 1), regret / len(rows)


def one(seed, name, extra, reps, work):
    c = os.path.join(work, f"c{seed}")
    if not os.path.exists(c):
        run("simulate", "-q", "--patients", "5000", "--snps", "200", "--seed", str(seed), "--out", c)
        lines = open(os.path.join(c, "clinical.csv")).read().splitlines(True)
        open(os.path.join(c, "train.csv"), "w").writelines(lines[:4001])
        open(os.path.join(c, "test.csv"), "w").writelines(lines[:1] + lines[4001:])
    model = os.path.join(work, f"m{seed}_{abs(hash(name))}.json")
    run("train", "-q", "--data", os.path.join(c, "train.csv"), "--genotypes", os.path.join(c, "genotypes.csv"),
        "--target", "responder", "--therapy-col", "therapy", "--seed", "7",
        # A plain causal forest's intervals come from its little bags, not replicates.
        *([] if "none" in extra else ["--replicates", str(reps)]),
        "--out", model, *extra)
    out = os.path.join(work, "scored.csv")
    run("score", "--model", model, "--data", os.path.join(c, "test.csv"), "--genotypes",
        os.path.join(c, "genotypes.csv"), "--intervals", "--min-advantage", "ci", "--format", "csv", "--out", out)
    truth = {r["patient_id"]: r for r in read(os.path.join(c, "truth.csv"))}
    rows = read(out)
    arms = [k[2:] for k in rows[0] if k.startswith("p_")]
    effect_arms = [k[len("effect_"):] for k in rows[0] if k.startswith("effect_") and not k.endswith(("_low", "_high"))]
    control = [a for a in arms if a not in effect_arms][0]
    cov = n = 0
    width = 0.0
    clear = clear_ok = 0
    regret = 0.0
    undecided = decided_ok = 0
    for r in rows:
        t = truth[r["patient_id"]]
        tp = {a: float(t["p_" + a]) for a in arms}
        for a in effect_arms:
            true = tp[a] - tp[control]
            lo, hi = float(r[f"effect_{a}_low"]), float(r[f"effect_{a}_high"])
            cov += lo <= true <= hi
            width += hi - lo
            n += 1
        _, best, ok, r_ = recommendation(r, tp, arms)
        regret += r_
        if ok is not None:
            clear += 1
            clear_ok += ok
        if r["best_therapy"] == "none":
            undecided += 1
        else:
            decided_ok += r["best_therapy"] == best
    m = len(rows)
    return dict(coverage=cov / n, width=width / n, clear=clear_ok / max(clear, 1), regret=regret / m,
                undecided=undecided / m, decided_ok=decided_ok / max(m - undecided, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="7,11")
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--learners", default=",".join(LEARNERS))
    a = ap.parse_args()
    print(f"{'learner':<26}{'seed':>5}{'coverage':>10}{'width':>8}{'best|adv>=.10':>15}{'regret':>8}"
          f"{'ci:none':>9}{'ci:right':>10}")
    with tempfile.TemporaryDirectory() as work:
        for name in a.learners.split(","):
            for seed in [int(s) for s in a.seeds.split(",")]:
                r = one(seed, name, LEARNERS[name], a.replicates, work)
                print(f"{name:<26}{seed:>5}{100*r['coverage']:>9.1f}%{r['width']:>8.3f}{100*r['clear']:>14.1f}%"
                      f"{r['regret']:>8.4f}{100*r['undecided']:>8.1f}%{100*r['decided_ok']:>9.1f}%", flush=True)


if __name__ == "__main__":
    sys.exit(main())
