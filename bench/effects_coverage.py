"""Coverage of responder's treatment-selection intervals on simulated cohorts
with a known truth (issue: "Does the recommendation beat one-size-fits-all?").

For each repetition r = 1..R: `responder simulate` (3,000 patients, 20 SNPs,
seed r, one design variant), train per-arm logistic models on the first
2,000 patients, evaluate on the last 1,000 (`evaluate --format json`) and
score them (`score`, for the recommendation of each patient). The true value
of each quantity is the average over the 1,000 evaluated patients of their
true probabilities (truth.csv): the policy values (recommended, each arm),
the gains over the best single arm and over random allocation, and each
arm's average effect against control. Prints the share of repetitions whose
95 % interval covers the truth, and the share in which the calibration test's
differential coefficient is significant (one-sided p < 0.05).

    cargo build --release
    python3 bench/effects_coverage.py --reps 50 > bench/effects_coverage.txt

Standard library only; nothing here runs in CI.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "responder")
ARMS = ["TMS", "ketamine", "SSRI"]


def run(args):
    r = subprocess.run([BIN] + args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"responder {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def read(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def write(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


EXTRA = []


def one(rep, variant, tmp, n_train=2000, n_eval=1000):
    d = os.path.join(tmp, f"{variant}-{rep}")
    flags = {"het": [], "nohet": ["--no-heterogeneity"], "conf": ["--confounded"]}[variant]
    run(["simulate", "--patients", str(n_train + n_eval), "--snps", "20", "--seed", str(rep),
         "--out", d, "--force"] + flags)
    for name in ["clinical", "genotypes", "truth"]:
        rows = read(os.path.join(d, f"{name}.csv"))
        write(os.path.join(d, f"{name}_train.csv"), [rows[0]] + rows[1:n_train + 1])
        write(os.path.join(d, f"{name}_eval.csv"), [rows[0]] + rows[n_train + 1:])
    model = os.path.join(d, "m.json")
    run(["train", "--data", f"{d}/clinical_train.csv", "--genotypes", f"{d}/genotypes_train.csv",
         "--target", "responder", "--therapy-col", "therapy", "--algorithm", "logistic",
         "--cv", "2", "--seed", str(rep), "--out", model])
    ev = ["evaluate", "--model", model, "--data", f"{d}/clinical_eval.csv",
          "--genotypes", f"{d}/genotypes_eval.csv", "--format", "json",
          "--control", "SSRI", "--seed", str(rep)] + (EXTRA or ["--bootstrap", "0"])
    results = {"randomised": json.loads(run(ev))["effects"]}
    if variant == "conf":
        results["estimate"] = json.loads(run(ev + ["--propensity", "estimate"]))["effects"]
    scored = run(["score", "--model", model, "--data", f"{d}/clinical_eval.csv",
                  "--genotypes", f"{d}/genotypes_eval.csv", "--format", "csv",
                  "--allow-weak-arms"]).splitlines()
    head = scored[0].split(",")
    cols = [head.index(f"p_{a}") for a in ARMS]
    idc = head.index("patient_id")
    rec = {}
    for line in scored[1:]:
        f = line.split(",")
        p = [float(f[c]) for c in cols]
        rec[f[idc]] = max(range(3), key=lambda a: (p[a], -a))
    truth = {r[0]: [float(v) for v in r[1:]] for r in read(f"{d}/truth_eval.csv")[1:]}
    tr = read(f"{d}/truth_eval.csv")[0][1:]
    order = [tr.index(f"p_{a}") for a in ARMS]
    ids = list(rec)
    n = len(ids)
    pt = {i: [truth[i][o] for o in order] for i in ids}
    out = {}
    for key, eff in results.items():
        arms = list(eff["policy"]["arms"])  # bundle order
        ai = {a: ARMS.index(a) for a in arms}
        # recommendation in bundle order -> ARMS index (argmax by ARMS order
        # may break ties differently; ties are rare with continuous p)
        true = {
            "recommended": sum(pt[i][rec[i]] for i in ids) / n,
        }
        for a in arms:
            true[f"arm {a}"] = sum(pt[i][ai[a]] for i in ids) / n
        best = eff["policy"]["gain_vs_best_single"]["best_single"]
        true["gain vs best single"] = sum(pt[i][rec[i]] - pt[i][ai[best]] for i in ids) / n
        true["gain vs random"] = sum(pt[i][rec[i]] - sum(pt[i]) / 3 for i in ids) / n
        est = {"recommended": eff["policy"]["recommended"],
               "gain vs best single": eff["policy"]["gain_vs_best_single"],
               "gain vs random": eff["policy"]["gain_vs_random"]}
        for a in arms:
            est[f"arm {a}"] = eff["policy"]["arms"][a]
        rejects = {}
        for c in eff["contrasts"]:
            a = c["arm"]
            true[f"ATE {a} vs SSRI"] = sum(pt[i][ai[a]] - pt[i][ai["SSRI"]] for i in ids) / n
            est[f"ATE {a} vs SSRI"] = c["ate"]
            t = c["calibration_test"]
            rejects[a] = t is not None and t["differential"]["p_value"] < 0.05
        cover = {k: est[k]["ci_low"] <= true[k] <= est[k]["ci_high"] for k in true}
        bias = {k: est[k]["estimate"] - true[k] for k in true}
        out[key] = (cover, rejects, bias)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--variants", default="het,nohet,conf")
    ap.add_argument("--bootstrap-intervals", action="store_true",
                    help="evaluate with --effect-intervals bootstrap --bootstrap 200")
    a = ap.parse_args()
    if a.bootstrap_intervals:
        EXTRA.extend(["--effect-intervals", "bootstrap", "--bootstrap", "200"])
    with tempfile.TemporaryDirectory() as tmp:
        for variant in a.variants.split(","):
            agg = {}
            for rep in range(1, a.reps + 1):
                for key, (cover, rejects, bias) in one(rep, variant, tmp).items():
                    g = agg.setdefault(key, {"cover": {}, "reject": {}, "bias": {}})
                    for k, v in cover.items():
                        g["cover"].setdefault(k, []).append(v)
                        g["bias"].setdefault(k, []).append(bias[k])
                    for k, v in rejects.items():
                        g["reject"].setdefault(k, []).append(v)
            for key, g in agg.items():
                how = "bootstrap" if a.bootstrap_intervals else "influence-function"
                print(f"## {variant} (propensity {key}, {how} intervals), {a.reps} repetitions, 1,000 evaluated patients")
                for k, v in g["cover"].items():
                    b = g["bias"][k]
                    print(f"  coverage {k:<24} {sum(v) / len(v):6.1%}   mean bias {sum(b) / len(b):+.4f}")
                for k, v in g["reject"].items():
                    print(f"  differential test rejects ({k} vs SSRI)  {sum(v) / len(v):6.1%}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
