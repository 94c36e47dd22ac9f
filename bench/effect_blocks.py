#!/usr/bin/env python3
"""Recommendation accuracy of a responder T-learner over ten disjoint
4,000-patient training sets of one simulated cohort.

A single 4,000-patient training set gives one draw of a noisy figure (the
share of patients with a true advantage >= 0.10 recommended their truly
best therapy varies by 1-3 points between training sets). This script
simulates `responder simulate --patients 41000 --snps 200 --seed S`, tests
on P04001-P05000 (the 1,000 patients of effect_intervals.py and
effect_limit.py) and trains on P00001-P04000 and on nine further disjoint
blocks of 4,000 (P05001-...), once per flag set given, printing the mean,
SD and per-block figures, the mean regret and how many blocks reach 93 %
with regret <= 0.012. The blocks are those of effect_limit.py.

Usage: cargo build --release &&
       python3 bench/effect_blocks.py SEED "--algorithm lasso;--algorithm auto"
Standard library only; about 3 s per lasso fit and 15 s per auto fit.
"""
import os, statistics as st, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from effect_intervals import best_and_regret, read, run  # noqa: E402


def main():
    seed = int(sys.argv[1])
    variants = sys.argv[2].split(";")
    with tempfile.TemporaryDirectory() as c:
        run("simulate", "-q", "--patients", "41000", "--snps", "200", "--seed", str(seed), "--out", c)
        lines = open(os.path.join(c, "clinical.csv")).read().splitlines(True)
        open(os.path.join(c, "test.csv"), "w").writelines(lines[:1] + lines[4001:5001])
        for b in range(10):
            rows = lines[1:4001] if b == 0 else lines[5001 + (b - 1) * 4000:5001 + b * 4000]
            open(os.path.join(c, f"b{b}.csv"), "w").writelines(lines[:1] + rows)
        truth = {r["patient_id"]: r for r in read(os.path.join(c, "truth.csv"))}
        geno = os.path.join(c, "genotypes.csv")
        for v in variants:
            res = []
            for b in range(10):
                m, out = os.path.join(c, "m.json"), os.path.join(c, "s.csv")
                run("train", "-q", "--data", os.path.join(c, f"b{b}.csv"), "--genotypes", geno, "--target",
                    "responder", "--therapy-col", "therapy", "--seed", "7", "--out", m, *v.split())
                run("score", "--model", m, "--data", os.path.join(c, "test.csv"), "--genotypes", geno,
                    "--format", "csv", "--out", out)
                res.append(best_and_regret(read(out), truth))
            cl = [r[0] for r in res]
            rg = [r[1] for r in res]
            passed = sum(a >= 93 and g <= 0.012 for a, g in res)
            print(f"seed {seed} [{v}]: best|adv>=.10 {st.mean(cl):.1f}% (SD {st.stdev(cl):.1f}), regret "
                  f"{st.mean(rg):.4f} (SD {st.stdev(rg):.4f}); >= 93% with regret <= 0.012 on {passed}/10; "
                  f"per block {' '.join(f'{a:.1f}' for a in cl)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
