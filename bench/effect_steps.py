#!/usr/bin/env python3
"""Do step indicators of the clinical columns help the DR-learner's default?

On `effect_thresholds.py`'s cohorts (threshold effects in the clinical
columns) and on `simulate`'s own (linear), this trains the DR-learner's
default twice: on the data as it is, and with, for each numeric clinical
column (age, MADRS, episode months, prior failures, CRP, BMI), 0/1 columns
`x > q` at its training quintiles added (missing stays missing). It prints
the share of the patients with a true advantage >= 0.10 recommended their
truly best therapy, the mean regret, and the coverage and width of the 95 %
intervals of `effect_<arm>` (`--replicates 50`).

Usage: cargo build --release && python3 bench/effect_steps.py [--cohorts thr:101,thr:102,thr:103,sim:7]
Needs numpy and pandas; about 2 minutes on 2 cores.
"""
import argparse, os, subprocess, sys, tempfile

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import effect_thresholds as et  # noqa: E402

NUM = ["age", "madrs_baseline", "episode_months", "prior_failures", "crp", "bmi"]


def with_steps(src, dst, bins=5):
    """Copies cohort `src` to `dst` with the step columns added."""
    os.makedirs(dst, exist_ok=True)
    tr, te = pd.read_csv(os.path.join(src, "train.csv")), pd.read_csv(os.path.join(src, "test.csv"))
    for c in NUM:
        qs = np.unique(np.nanquantile(tr[c].astype(float), np.linspace(0, 1, bins + 1)[1:-1]))
        for k, q in enumerate(qs):
            for d in (tr, te):
                x = d[c].astype(float)
                d[f"{c}_gt{k}"] = np.where(x.isna(), np.nan, (x > q).astype(float))
    cols = [c for c in tr.columns if c not in ("therapy", "responder")] + ["therapy", "responder"]
    tr[cols].to_csv(os.path.join(dst, "train.csv"), index=False, na_rep="")
    te[cols].to_csv(os.path.join(dst, "test.csv"), index=False, na_rep="")
    for f in ("genotypes.csv", "truth.csv"):
        os.symlink(os.path.join(src, f), os.path.join(dst, f))


def cohort(kind, seed, out):
    if kind == "thr":
        et.cohort(seed, out)
        return
    subprocess.run([et.BIN, "simulate", "-q", "--patients", "5000", "--snps", "200", "--seed", str(seed),
                    "--out", out], check=True)
    lines = open(os.path.join(out, "clinical.csv")).read().splitlines(True)
    open(os.path.join(out, "train.csv"), "w").writelines(lines[:4001])
    open(os.path.join(out, "test.csv"), "w").writelines(lines[:1] + lines[4001:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cohorts", default="thr:101,thr:102,thr:103,sim:7")
    a = ap.parse_args()
    print("dr-learner default; best = best|adv>=.10, regret = mean regret, coverage/width = 95% intervals")
    print(f"{'cohort':<10}{'inputs':<22}{'best':>7}{'regret':>8}{'coverage':>10}{'width':>7}")
    with tempfile.TemporaryDirectory() as work:
        for spec in a.cohorts.split(","):
            kind, seed = spec.split(":")
            c, s = os.path.join(work, spec.replace(":", "")), os.path.join(work, spec.replace(":", "") + "s")
            cohort(kind, int(seed), c)
            with_steps(c, s)
            for name, d in (("as given", c), ("+ quintile steps", s)):
                b, r, cov, w = et.score(d, ["--strategy", "dr-learner"], work)
                print(f"{spec:<10}{name:<22}{b:>6.1f}%{r:>8.4f}{cov:>9.1f}%{w:>7.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
