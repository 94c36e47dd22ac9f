"""Reference values for responder's evaluation metrics.

Writes tests/fixtures/eval_<name>.json: predictions, labels and the values
scikit-learn and statsmodels give for them. The Rust unit tests in
src/eval/ compare against these files; Python is never run by the tests.

    python -m venv bench/.venv
    bench/.venv/bin/pip install numpy scipy scikit-learn statsmodels
    bench/.venv/bin/python bench/make_eval_fixtures.py

References:
- AUC: sklearn.metrics.roc_auc_score (null when one class is present)
- Brier: sklearn.metrics.brier_score_loss
- log-loss: sklearn.metrics.log_loss(labels=[0, 1]); scikit-learn >= 1.5
  clips probabilities to [eps, 1 - eps] with eps = machine epsilon
- calibration-in-the-large: statsmodels GLM Binomial, y ~ 1 with
  offset = logit(p); calibration slope: GLM Binomial, y ~ 1 + logit(p).
  p is clipped to [eps, 1 - eps] (eps = machine epsilon) before the logit,
  as responder does. Null when the fit has no finite solution (one class).
- DeLong standard error: the textbook O(n1 * n0) structural components
  (DeLong, DeLong & Clarke-Pearson 1988), written out below.
"""

import json
import pathlib
import sys
import warnings

import numpy as np
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

EPS = np.finfo(np.float64).eps
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def logit(p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def delong_se(p, y):
    pos, neg = p[y == 1], p[y == 0]
    if len(pos) < 2 or len(neg) < 2:
        return None
    psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    var = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    return float(np.sqrt(var))


def calibration(p, y):
    lp = logit(p)
    if y.min() == y.max():
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        citl = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-12, maxiter=200)
        slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
    return (
        {"estimate": float(citl.params[0]), "se": float(citl.bse[0])},
        {
            "intercept": float(slope.params[0]),
            "slope": float(slope.params[1]),
            "slope_se": float(slope.bse[1]),
        },
    )


def reference(p, y):
    two = y.min() != y.max()
    citl, slope = calibration(p, y)
    return {
        "auc": float(roc_auc_score(y, p)) if two else None,
        "delong_se": delong_se(p, y) if two else None,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "calibration_in_the_large": citl,
        "calibration_slope": slope,
    }


def sets():
    rng = np.random.default_rng(20261125)
    # 1. ordinary predictions, moderately informative
    n = 60
    lp = rng.normal(0, 1.2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * lp)))).astype(int)
    yield "basic", "60 predictions from a slightly miscalibrated model", 1 / (1 + np.exp(-lp)), y
    # 2. heavy ties: probabilities on a 0.1 grid
    n = 50
    p = np.round(rng.uniform(0.05, 0.95, n), 1)
    y = (rng.random(n) < p).astype(int)
    yield "ties", "50 predictions rounded to one decimal (many ties)", p, y
    # 3. probabilities of exactly 0 and 1, including confident mistakes
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.2, 0.8, 0.5, 0.5, 0.3, 0.7, 0.9, 0.1])
    y = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0])
    yield "extremes", "probabilities of exactly 0 and 1, some on the wrong side", p, y
    # 4. one class only
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.65, 0.2, 1.0])
    y = np.ones(len(p), dtype=int)
    yield "one_class", "every patient is a responder: AUC and calibration are undefined", p, y
    # 5. a larger, overconfident model (slope well below 1)
    n = 400
    lp = rng.normal(-0.4, 2.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.5 * lp)))).astype(int)
    yield "overconfident", "400 predictions from an overconfident model (slope about 0.5)", 1 / (1 + np.exp(-lp)), y


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, description, p, y in sets():
        doc = {
            "name": name,
            "description": description,
            "made_by": "bench/make_eval_fixtures.py",
            "versions": {
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "scikit-learn": sklearn.__version__,
                "statsmodels": statsmodels.__version__,
            },
            "p": [float(v) for v in p],
            "y": [int(v) for v in y],
            "reference": reference(np.asarray(p, float), np.asarray(y)),
        }
        path = OUT / f"eval_{name}.json"
        path.write_text(json.dumps(doc, indent=1) + "\n")
        print(path.relative_to(OUT.parent.parent), doc["reference"])


if __name__ == "__main__":
    main()
