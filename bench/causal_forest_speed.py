#!/usr/bin/env python3
"""Fit time of `train --strategy causal-forest` against EconML's CausalForestDML.

Simulates 5,000 patients x 200 SNPs (`responder simulate --seed 7`), keeps the
first 4,000, and fits on the same rows and inputs (13 clinical columns, one-hot
categories and 200 dosages: about 220 inputs):

- responder: `train --strategy causal-forest --algorithm logistic --cv 5
  --forest-trees 1000` (end to end: reading, nuisance models with 5-fold
  cross-fitting, propensities, one forest per arm against the control
  correcting the T-learner's effect, and the 50 outcome-model bootstrap
  replicates that the default `--forest-offset t-learner` fits);
- EconML: `CausalForestDML(n_estimators=1000, discrete_treatment=True,
  discrete_outcome=True, cv=5)` with scikit-learn logistic nuisance models,
  one fit for the three-arm treatment (fit time only, after pandas loading).

Installs EconML into a virtual environment (`--venv`, default
/tmp/responder-econml) when it cannot be imported. Prints wall times and the
ratio. Usage: cargo build --release && python3 bench/causal_forest_speed.py
"""
import argparse, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("RESPONDER", os.path.join(ROOT, "target", "release", "responder"))


def ensure_econml(venv):
    try:
        import econml  # noqa: F401
        return sys.executable
    except ImportError:
        py = os.path.join(venv, "bin", "python")
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "econml", "pandas"], check=True)
        return py


ECONML = r"""
import sys, time
import numpy as np, pandas as pd
from econml.dml import CausalForestDML
from sklearn.linear_model import LogisticRegression
c = pd.read_csv(sys.argv[1]); g = pd.read_csv(sys.argv[2])
d = c.merge(g, on="patient_id")
y = d.pop("responder").to_numpy(); t = d.pop("therapy").to_numpy(); d = d.drop(columns=["patient_id"])
x = pd.get_dummies(d, drop_first=False).astype(float)
x = x.fillna(x.median())
x = ((x - x.mean()) / x.std(ddof=0).replace(0, 1)).to_numpy()
print("inputs", x.shape[1], flush=True)
start = time.perf_counter()
cf = CausalForestDML(model_y=LogisticRegression(max_iter=1000), model_t=LogisticRegression(max_iter=1000),
                     discrete_treatment=True, discrete_outcome=True, n_estimators=1000, cv=5,
                     random_state=7, n_jobs=-1)
cf.fit(y, t, X=x)
print("econml_fit_seconds", time.perf_counter() - start, flush=True)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", default="/tmp/responder-econml")
    a = ap.parse_args()
    py = ensure_econml(a.venv)
    with tempfile.TemporaryDirectory() as work:
        c = os.path.join(work, "c")
        subprocess.run([BIN, "simulate", "-q", "--patients", "5000", "--snps", "200", "--seed", "7", "--out", c],
                       check=True)
        lines = open(os.path.join(c, "clinical.csv")).read().splitlines(True)
        train = os.path.join(work, "train.csv")
        open(train, "w").writelines(lines[:4001])
        geno = os.path.join(c, "genotypes.csv")
        start = time.perf_counter()
        subprocess.run([BIN, "train", "-q", "--data", train, "--genotypes", geno, "--target", "responder",
                        "--therapy-col", "therapy", "--strategy", "causal-forest", "--algorithm", "logistic",
                        "--cv", "5", "--forest-trees", "1000", "--seed", "7", "--out",
                        os.path.join(work, "m.json")], check=True, stderr=subprocess.DEVNULL)
        ours = time.perf_counter() - start
        script = os.path.join(work, "econml_fit.py")
        open(script, "w").write(ECONML)
        out = subprocess.run([py, script, train, geno], check=True, capture_output=True, text=True).stdout
        theirs = float([l for l in out.splitlines() if l.startswith("econml_fit_seconds")][0].split()[1])
        inputs = [l for l in out.splitlines() if l.startswith("inputs")][0].split()[1]
        print(f"inputs {inputs}, 4000 patients, 1000 trees, {os.cpu_count()} cores")
        print(f"responder train --strategy causal-forest (end to end) {ours:.2f} s")
        print(f"EconML CausalForestDML.fit                              {theirs:.2f} s")
        print(f"ratio responder / EconML                                {ours / theirs:.3f}")


if __name__ == "__main__":
    sys.exit(main())
