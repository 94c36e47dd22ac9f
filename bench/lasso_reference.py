#!/usr/bin/env python3
"""Reference fits for responder's `lasso` (src/models/lasso.rs).

Writes tests/fixtures/lasso/data.csv (400 rows: 3 clinical inputs, 12
genotype dosages, all standardised with the population SD, and a 0/1
outcome from a known logistic model) and tests/fixtures/lasso/reference.csv:
for L1 penalties lambda = 0.02 and 0.05 on the mean log-loss, with the three
clinical inputs unpenalised,

  * relax = 1: statsmodels `Logit.fit_regularized(method="l1")`, whose
    objective is -loglik + sum_j alpha_j |b_j| (unscaled), so alpha_j =
    n * lambda on the dosages and 0 on the intercept and clinical inputs;
  * relax = 0: statsmodels `Logit.fit()` (unpenalised) on the intercept,
    the clinical inputs and the dosages the lasso kept.

The unit test `lasso::tests::matches_statsmodels` fits the same rows with
fixed `lambda` and `relax` and compares the coefficients (responder adds
an L2 penalty of 1e-4 on the unpenalised inputs and the refit, so the
tolerance is 2e-3). Needs numpy and statsmodels; not run in CI.

Usage: python3 bench/lasso_reference.py
"""
import os
import numpy as np
import statsmodels.api as sm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "lasso")


def main():
    rng = np.random.default_rng(20261207)
    n, clin, snps = 400, 3, 12
    c = rng.normal(size=(n, clin))
    maf = rng.uniform(0.1, 0.5, snps)
    g = rng.binomial(2, maf, size=(n, snps)).astype(float)
    beta_c = np.array([0.8, -0.5, 0.0])
    beta_g = np.zeros(snps)
    beta_g[[0, 3, 7]] = [0.7, -0.6, 0.4]
    eta = -0.2 + c @ beta_c + (g - 2 * maf) @ beta_g
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    x = np.column_stack([c, g])
    x = (x - x.mean(0)) / x.std(0)
    os.makedirs(OUT, exist_ok=True)
    names = [f"c{j}" for j in range(clin)] + [f"g{j}" for j in range(snps)]
    with open(os.path.join(OUT, "data.csv"), "w") as f:
        f.write(",".join(names + ["y"]) + "\n")
        for row, yy in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{yy}\n")
    X = sm.add_constant(x)
    rows = []
    for lam in [0.02, 0.05]:
        alpha = np.r_[0.0, np.zeros(clin), np.full(snps, n * lam)]
        m = sm.Logit(y, X).fit_regularized(method="l1", alpha=alpha, disp=0, trim_mode="off",
                                           acc=1e-12, maxiter=10000)
        b = m.params.copy()
        b[np.abs(b) < 1e-8] = 0.0
        rows.append((lam, 1.0, b))
        keep = np.r_[True, np.ones(clin, bool), b[1 + clin:] != 0]
        r = sm.Logit(y, X[:, keep]).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
        rb = np.zeros_like(b)
        rb[keep] = r.params
        rows.append((lam, 0.0, rb))
    with open(os.path.join(OUT, "reference.csv"), "w") as f:
        f.write("lambda,relax,intercept," + ",".join(names) + "\n")
        for lam, relax, b in rows:
            f.write(f"{lam},{relax}," + ",".join(repr(float(v)) for v in b) + "\n")
    for lam, relax, b in rows:
        print(f"lambda {lam} relax {relax}: kept {int((b[1 + clin:] != 0).sum())} of {snps} dosages;",
              " ".join(f"{v:.4f}" for v in b))


if __name__ == "__main__":
    main()
