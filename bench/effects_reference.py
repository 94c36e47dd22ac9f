"""Reference values for responder's treatment-effect / policy-evaluation layer.

Writes tests/fixtures/effects/<case>.json, one file per case, each holding the
inputs (arms, control, received arm, outcome y, out-of-fold predictions mu,
propensities e, predicted advantages tau_hat, recommended arm, optional
cluster ids, covariates) and the reference outputs computed below. The Rust
tests read the committed files; Python is never run by the tests or by CI.

    python3 -m venv bench/.venv-effects
    bench/.venv-effects/bin/pip install -r bench/requirements-effects.txt
    bench/.venv-effects/bin/python bench/effects_reference.py

What is computed (n patients, arms a = 0..K-1, control c):

1. AIPW / doubly robust scores (Robins, Rotnitzky & Zhao 1994, JASA 89:846;
   the multi-arm form of grf's `get_scores` for multi_arm_causal_forest and of
   policytree's `double_robust_scores`):
       Gamma[i][a] = mu[a][i] + 1{received_i = a} / e[a][i] * (y_i - mu[a][i])
2. Policy value of a rule pi: V = mean_i Gamma[i][pi_i];
   SE = sqrt(sum_i (G_i - V)^2 / (n (n - 1))), as grf's
   `average_treatment_effect` (method AIPW, r-package/grf/R/
   average_treatment_effect.R, `.sigma2.hat`) with clusters = 1..n. With
   clusters, grf's cluster-robust form:
       sigma2 = sum_g (sum_{i in g} (G_i - V))^2 / n^2 * G / (G - 1).
   95% CI = V +- 1.959963984540054 * SE. Reported for the recommended rule,
   each single arm, the gain over the best single arm (per-patient differences
   Gamma[i][pi_i] - Gamma[i][best]) and the gain over equal random allocation
   (Gamma[i][pi_i] - mean_a Gamma[i][a]).
3. ATE of each non-control arm vs control: D_i = Gamma[i][a] - Gamma[i][c],
   mean and SE as in 2.
4. Calibration (best linear predictor) test: the doubly robust version of
   grf's `test_calibration` (r-package/grf/R/forest_summary.R), i.e. the BLP of
   Chernozhukov, Demirer, Duflo & Fernandez-Val, "Generic machine learning
   inference on heterogeneous treatment effects in randomized experiments"
   (NBER WP 24678, 2018) as in EconML's DRTester.evaluate_blp. OLS of D_i on
   x1 = tau_bar (constant) and x2 = tau_hat_i - tau_bar, no intercept.
   (EconML regresses on [1, tau_hat]: same column space, so the slope and its
   SE equal our x2 coefficient.) HC3 covariance (statsmodels cov_type="HC3";
   identical to sandwich::vcovCL(type = "HC3", cluster = 1:n) that grf uses,
   whose g/(g-1) factors cancel for HC3). t = coef / SE, one-sided p-value
   (H1: coef > 0) from the t distribution with n - 2 df as lmtest::coeftest
   uses for lm fits: p = scipy.stats.t.sf(t, n - 2).
   Cluster case, in addition: statsmodels cov_type="cluster" (CR1: G/(G-1) *
   (n-1)/(n-k)) and sandwich::vcovCL(type="HC3", cluster = clusters) as grf
   calls it (CR3: per-cluster (I - H_gg)^{-1} residual adjustment, no G/(G-1)),
   both with the same t(n - 2) p-values.
5. RATE (Yadlowsky, Fleming, Shah, Brunskill & Wager, "Evaluating treatment
   prioritization rules via rank-weighted average treatment effects", JASA
   2025; arXiv 2111.07966), a port of grf's `estimate_rate` and `boot_grf`
   (r-package/grf/R/rank_average_treatment.R, grf 2.6.1) with unit weights:
   sort by priority decreasing, replace tied scores by their group mean,
   TOC_k = cumsum(D_sorted)_k / k - mean(D), AUTOC = mean_k TOC_k,
   QINI = sum_k (k/n) TOC_k / n; TOC on q = seq(0.1, 1, by = 0.1) (R's seq:
   0.1 + k*0.1) with grf's fractional-observation interpolation. Priority is
   tau_hat of arm a vs control with scores D as in 3; multi-arm: priority =
   max over non-control arms of tau_hat, score = Gamma[i][b_i] - Gamma[i][c]
   with b_i that arm (first on ties). SEs: half-sample bootstrap (floor(G/2)
   of the G clusters, without replacement; clusters = patients when absent),
   R = 200, sd of replicates; numpy default_rng, so Monte-Carlo: only
   comparable within noise, never bit-for-bit with grf's R RNG. The point
   estimates are checked against a direct O(n^2) re-computation on every case.
6. Overlap: min propensity, share of patients with any e[a][i] < 0.05.
7. Propensity reference (case `confounded`): unpenalised multinomial logit
   (statsmodels MNLogit, Newton, tight tolerance) of received arm on
   [1, x1, x2], in-sample fitted probabilities; these are also the `e` of that
   case. Base category = arm 0 (probabilities do not depend on it).

Not run in CI. Regenerating changes only the Monte-Carlo bootstrap SEs if the
package versions change; everything else is deterministic.
"""

import json
import pathlib
import sys
import warnings

import numpy as np
import scipy
import scipy.stats
import statsmodels
import statsmodels.api as sm

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "effects"
Z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
OVERLAP_THRESHOLD = 0.05
RATE_R = 200
# R's seq(0.1, 1, by = 0.1) is from + (0:n) * by, then pmin(x, to).
Q_GRID = np.minimum(0.1 + np.arange(10) * 0.1, 1.0)
# Extra grid (point estimates only) where q*n is fractional or below 1 for
# every case, to exercise grf's fractional-observation interpolation; on
# Q_GRID q*n is (up to rounding) an integer for all the case sizes here.
Q_EXTRA = np.array([0.005, 0.05, 0.125, 1 / 3, 0.4567, 0.99, 1.0])


# ---------------------------------------------------------------- helpers
def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax_rows(lin):
    lin = lin - lin.max(axis=1, keepdims=True)
    ex = np.exp(lin)
    return ex / ex.sum(axis=1, keepdims=True)


def flist(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def ilist(a):
    return [int(v) for v in np.asarray(a).ravel()]


def assert_finite(obj, path="$"):
    if isinstance(obj, float):
        assert np.isfinite(obj), f"non-finite value at {path}"
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert_finite(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            assert_finite(v, f"{path}[{k}]")


# ---------------------------------------------------------------- 1. scores
def aipw_scores(y, received, mu, e):
    """Gamma[i, a] = mu[a][i] + 1{W_i = a} / e[a][i] * (y_i - mu[a][i])."""
    n, k = len(y), mu.shape[0]
    gamma = np.empty((n, k))
    for a in range(k):
        ind = (received == a).astype(float)
        gamma[:, a] = mu[a] + ind / e[a] * (y - mu[a])
    return gamma


# ---------------------------------------------------------------- 2./3. means
def mean_se(g, clusters=None):
    """grf average_treatment_effect AIPW: estimate and SE of mean(g)."""
    g = np.asarray(g, dtype=float)
    n = len(g)
    v = g.mean()
    if clusters is None:
        se = np.sqrt(np.sum((g - v) ** 2) / (n * (n - 1)))
    else:
        labels = np.unique(clusters)
        big_g = len(labels)
        sums = np.array([np.sum(g[clusters == c] - v) for c in labels])
        se = np.sqrt(np.sum(sums**2) / n**2 * big_g / (big_g - 1))
    return v, se


def estimate_block(g, clusters=None):
    v, se = mean_se(g)
    out = {"estimate": float(v)}
    if clusters is not None:
        v2, se_cl = mean_se(g, clusters)
        assert v2 == v
        se_main = se_cl
    else:
        se_main = se
    out.update(
        se=float(se_main),
        ci_low=float(v - Z * se_main),
        ci_high=float(v + Z * se_main),
        se_iid=float(se),
    )
    return out


# ---------------------------------------------------------------- 4. calibration
def vcovcl_hc3(X, resid, clusters):
    """sandwich::vcovCL(lm, type = "HC3", cluster = clusters), cadjust = TRUE.

    meatCL: per cluster u_g = X_g' (I - H_gg)^{-1} e_g, scaled by
    sqrt((G-1)/G), times adj G/(G-1) (cancels), crossprod / n; sandwich() =
    bread meat bread / n with bread = n (X'X)^{-1}  ->  (X'X)^{-1} sum u u' (X'X)^{-1}.
    """
    xtx_inv = np.linalg.inv(X.T @ X)
    meat = np.zeros((X.shape[1], X.shape[1]))
    for c in np.unique(clusters):
        idx = clusters == c
        xg = X[idx]
        hgg = xg @ xtx_inv @ xg.T
        adj = np.linalg.solve(np.eye(idx.sum()) - hgg, resid[idx])
        u = xg.T @ adj
        meat += np.outer(u, u)
    return xtx_inv @ meat @ xtx_inv


def coef_table(params, se, df):
    names = ["mean_forest_prediction", "differential_forest_prediction"]
    out = {}
    for j, name in enumerate(names):
        t = params[j] / se[j]
        out[name] = {
            "coef": float(params[j]),
            "se": float(se[j]),
            "t": float(t),
            "p_one_sided": float(scipy.stats.t.sf(t, df)),
        }
    return out


def calibration(d, tau, clusters=None):
    n = len(d)
    tau_bar = tau.mean()
    X = np.column_stack([np.full(n, tau_bar), tau - tau_bar])
    df = n - 2
    fit = sm.OLS(d, X).fit(cov_type="HC3")
    out = {
        "tau_bar": float(tau_bar),
        "df": df,
        "hc3": coef_table(fit.params, fit.bse, df),
    }
    # HC3 by hand (X'X)^-1 X' diag(e^2/(1-h)^2) X (X'X)^-1 as a cross-check,
    # and vcovCL(HC3) with singleton clusters must give the same.
    resid = d - X @ fit.params
    xtx_inv = np.linalg.inv(X.T @ X)
    h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    meat = (X * (resid / (1 - h))[:, None]).T @ (X * (resid / (1 - h))[:, None])
    hc3 = xtx_inv @ meat @ xtx_inv
    assert np.allclose(np.sqrt(np.diag(hc3)), fit.bse, rtol=1e-10, atol=0)
    if clusters is not None:
        fit_cl = sm.OLS(d, X).fit(cov_type="cluster", cov_kwds={"groups": clusters})
        out["cluster"] = coef_table(fit_cl.params, fit_cl.bse, df)
        out["cluster"]["cov_type"] = (
            "statsmodels cluster (CR1: G/(G-1)*(n-1)/(n-k)), p from t(n-2)"
        )
        v = vcovcl_hc3(X, resid, clusters)
        out["cluster_hc3_vcovcl"] = coef_table(fit.params, np.sqrt(np.diag(v)), df)
        out["cluster_hc3_vcovcl"]["cov_type"] = (
            "sandwich::vcovCL(type='HC3', cluster) as grf test_calibration (CR3), p from t(n-2)"
        )
    # sanity: vcovCL HC3 with singleton clusters == HC3
    v1 = vcovcl_hc3(X, resid, np.arange(n))
    assert np.allclose(np.sqrt(np.diag(v1)), fit.bse, rtol=1e-9, atol=0)
    return out


# ---------------------------------------------------------------- 5. RATE
def estimate_rate(dr, prio_rank, q):
    """Port of grf estimate_rate() with unit sample weights.

    dr: DR scores of the (bootstrap) sample, prio_rank: priorities (any
    numbers; ties are exact equality). Returns (AUTOC, QINI, TOC grid).
    """
    n = len(dr)
    # order(prio, decreasing = TRUE); within-tie order is irrelevant since
    # tied scores are replaced by their group mean (unit weights).
    sort_idx = np.argsort(-prio_rank, kind="stable")
    p_sorted = prio_rank[sort_idx]
    d_sorted = dr[sort_idx]
    # group means over runs of equal priority
    starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    counts = np.diff(np.r_[starts, n])
    if np.all(counts == 1):
        dr_sorted = d_sorted
    else:
        grp_sum = np.add.reduceat(d_sorted, starts)
        dr_sorted = np.repeat(grp_sum / counts, counts)
    w = np.ones(n)
    wcum = np.cumsum(w)
    wsum = wcum[-1]
    ate = np.sum(dr_sorted * w) / wsum
    toc = np.cumsum(dr_sorted * w) / wcum - ate
    autoc = np.sum(toc * w) / np.sum(w)
    qini = np.sum(np.cumsum(w) / np.sum(w) * w * toc) / np.sum(w)

    nw = q * wsum
    # findInterval(x, v) = number of v <= x (1-based index into v)
    idx = np.searchsorted(wcum, nw + 1e-15, side="right")
    denom_adj = nw - wcum[np.maximum(idx, 1) - 1]
    nxt = np.minimum(idx + 1, idx.max())  # 1-based
    num_adj = denom_adj * dr_sorted[nxt - 1]
    idx = np.where(idx == 0, 1, idx)
    csum_d = np.cumsum(dr_sorted * w)
    toc_grid = (csum_d[idx - 1] + num_adj) / (wcum[idx - 1] + denom_adj) - ate
    return autoc, qini, toc_grid


def rate_direct(dr, prio, q):
    """O(n^2) re-computation: fraction of each tie group inside the top k."""
    n = len(dr)
    above = np.array([np.sum(prio > p) for p in prio], dtype=float)
    tied = np.array([np.sum(prio == p) for p in prio], dtype=float)
    ate = dr.mean()

    def toc_at(k):
        share = np.clip(k - above, 0.0, tied) / tied
        return np.sum(dr * share) / k - ate

    toc = np.array([toc_at(k) for k in range(1, n + 1)])
    autoc = toc.mean()
    qini = np.sum(np.arange(1, n + 1) / n * toc) / n
    # fractional k = q*n: the first floor(k) slots plus a share of the next one;
    # k < 1 gives the mean of the top group, as grf's clamped index does.
    grid = np.array([toc_at(qq * n) for qq in q])
    return autoc, qini, grid


def zero_tiny(x):
    x = np.array(x, dtype=float)
    x[np.abs(x) < 1e-15] = 0.0  # as grf does for point estimates and SEs
    return x


def rate(dr, prio, clusters, seed, q=Q_GRID, R=RATE_R):
    n = len(dr)
    autoc, qini, toc = estimate_rate(dr, prio, q)
    a2, q2, t2 = rate_direct(dr, prio, q)
    assert abs(autoc - a2) < 1e-12 and abs(qini - q2) < 1e-12, (autoc, a2, qini, q2)
    assert np.max(np.abs(toc - t2)) < 1e-12, (toc, t2)

    # boot_grf(half.sample = TRUE): split(seq_along(clusters), clusters)
    cl = np.arange(n) if clusters is None else clusters
    labels = np.unique(cl)
    by_cluster = [np.flatnonzero(cl == c) for c in labels]
    g = len(by_cluster)
    n_bs = g // 2
    rng = np.random.default_rng(seed)
    reps = np.empty((R, 2 + len(q)))
    for r in range(R):
        pick = rng.choice(g, size=n_bs, replace=False)
        ind = np.concatenate([by_cluster[j] for j in pick])
        ra, rq, rt = estimate_rate(dr[ind], prio[ind], q)
        reps[r] = np.r_[ra, rq, rt]
    se = zero_tiny(reps.std(axis=0, ddof=1))
    est = zero_tiny(np.r_[autoc, qini, toc])
    _, _, toc_x = estimate_rate(dr, prio, Q_EXTRA)
    _, _, toc_x2 = rate_direct(dr, prio, Q_EXTRA)
    assert np.max(np.abs(toc_x - toc_x2)) < 1e-12, (toc_x, toc_x2)
    return {
        "autoc": {"estimate": float(est[0]), "se_bootstrap": float(se[0])},
        "qini": {"estimate": float(est[1]), "se_bootstrap": float(se[1])},
        "toc": {
            "q": flist(q),
            "estimate": flist(est[2:]),
            "se_bootstrap": flist(se[2:]),
        },
        "toc_extra_grid": {"q": flist(Q_EXTRA), "estimate": flist(zero_tiny(toc_x))},
        "bootstrap_seed": int(seed),
    }


# ---------------------------------------------------------------- 7. MNLogit
def fit_mnlogit(received, x1, x2, k):
    X = np.column_stack([np.ones(len(x1)), x1, x2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.MNLogit(received, X).fit(method="newton", tol=1e-14, maxiter=200, disp=False)
    probs = np.asarray(res.predict(X))
    assert probs.shape == (len(x1), k)
    grad = res.model.score(res.params.ravel(order="F"))
    assert np.max(np.abs(grad)) < 1e-8, np.max(np.abs(grad))
    params = np.asarray(res.params)  # (3, k-1): columns = arms 1..k-1 vs arm 0
    return {
        "method": "statsmodels MNLogit, unpenalised, Newton (tol 1e-14), in-sample",
        "design": ["1", "x1", "x2"],
        "base_arm_index": 0,
        "params": {  # coefficients of log(p_a / p_0), a = 1..K-1
            str(a): flist(params[:, a - 1]) for a in range(1, k)
        },
        "loglik": float(res.llf),
        "max_abs_score": float(np.max(np.abs(grad))),
        "converged": bool(res.mle_retvals["converged"]),
    }, probs.T.copy()


# ---------------------------------------------------------------- cases
def make_case(name, seed, n, arms, control, kind):
    rng = np.random.default_rng(seed)
    k = len(arms)
    c = arms.index(control)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    clusters = None
    cl_effect = np.zeros(n)
    description = ""

    # true outcome logits per arm (heterogeneous effects through x1, x2)
    base = -0.2 + 0.6 * x2
    true_lin = np.empty((k, n))
    for a in range(k):
        if a == c:
            true_lin[a] = base
        else:
            j = [b for b in range(k) if b != c].index(a)
            slope = 1.2 if j == 0 else -0.9
            shift = 0.3 if j == 0 else 0.1
            true_lin[a] = base + shift + slope * x1

    e_true = None
    if kind == "two_arm":
        description = "2 arms, propensity logistic(0.4*x1) for A, effect of A grows with x1"
        pa = expit(0.4 * x1)
        e_true = np.vstack([pa, 1 - pa])
    elif kind == "three_arm":
        description = "3 arms, softmax propensities with mild x dependence"
        lin = np.column_stack([0.3 * x1, -0.2 * x2, 0.2 * np.ones(n)])
        e_true = softmax_rows(lin).T
    elif kind == "ties":
        description = ("2 arms, control first, e = 0.5; mu on the grid k/8 so tau_hat "
                       "has many exact ties and mu often ties across arms")
        e_true = np.full((k, n), 0.5)
    elif kind == "clusters":
        description = "2 arms, control first, e = 0.5, 4 sites of sizes 100/70/45/25 with site effects"
        sizes = [100, 70, 45, 25]
        site_ids = np.array([7, 2, 11, 4])  # non-contiguous, unsorted labels
        clusters = rng.permutation(np.repeat(site_ids, sizes))
        effect = {7: 0.5, 2: -0.4, 11: 0.2, 4: -0.8}
        cl_effect = np.array([effect[s] for s in clusters])
        e_true = np.full((k, n), 0.5)
    elif kind == "poor_overlap":
        description = "2 arms, propensity logistic(-0.3 + 2.2*x1), some below 0.05"
        pa = expit(-0.3 + 2.2 * x1)
        e_true = np.vstack([pa, 1 - pa])
    elif kind == "confounded":
        description = ("3 arms, multinomial-logit assignment on x1, x2; e = in-sample "
                       "MNLogit fit (statsmodels), e_true in inputs")
        lin = np.column_stack([np.zeros(n), 0.3 + 0.8 * x1 - 0.5 * x2, -0.2 - 0.6 * x1 + 0.9 * x2])
        e_true = softmax_rows(lin).T
    else:
        raise ValueError(kind)

    p_true = expit(true_lin + cl_effect)
    received = np.array([rng.choice(k, p=e_true[:, i]) for i in range(n)])
    y = (rng.random(n) < p_true[received, np.arange(n)]).astype(int)
    # "out-of-fold" predictions: truth seen through noise
    mu = expit(np.log(p_true / (1 - p_true)) + rng.normal(scale=0.35, size=(k, n)))
    if kind == "ties":
        mu = np.clip(np.round(mu * 8) / 8, 1 / 8, 7 / 8)  # exact dyadic grid

    propensity_fit = None
    if kind == "confounded":
        propensity_fit, e = fit_mnlogit(received, x1, x2, k)
    else:
        e = e_true
    assert np.allclose(e.sum(axis=0), 1.0, atol=1e-12)

    tau_hat = {arms[a]: mu[a] - mu[c] for a in range(k) if a != c}
    recommended = np.argmax(mu, axis=0)  # first on ties

    inputs = {
        "n": n,
        "arms": arms,
        "control": control,
        "control_index": c,
        "received": ilist(received),
        "y": ilist(y),
        "mu": [flist(mu[a]) for a in range(k)],
        "e": [flist(e[a]) for a in range(k)],
        "tau_hat": {name_: flist(v) for name_, v in tau_hat.items()},
        "recommended": ilist(recommended),
        "clusters": None if clusters is None else ilist(clusters),
        "covariates": {"x1": flist(x1), "x2": flist(x2)},
    }
    if kind == "confounded":
        inputs["e_true"] = [flist(e_true[a]) for a in range(k)]

    outputs = compute_outputs(inputs, seed)
    if propensity_fit is not None:
        propensity_fit["probabilities"] = inputs["e"]
        outputs["propensity_fit"] = propensity_fit
    doc = {
        "case": name,
        "description": description,
        "seed": seed,
        "generator": "bench/effects_reference.py",
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "notes": NOTES,
        "inputs": inputs,
        "outputs": outputs,
    }
    return doc


NOTES = {
    "layout": "mu[a][i], e[a][i], gamma[a][i]: outer index = arm (order of `arms`), inner = patient",
    "gamma": "AIPW score Gamma[i][a] = mu[a][i] + 1{received_i = a}/e[a][i] * (y_i - mu[a][i])",
    "se": ("`se` is cluster-robust (grf AIPW form) when inputs.clusters is not null, "
           "else sqrt(sum (G_i - V)^2 / (n (n-1))); `se_iid` is always the latter; ci = estimate +- z*se"),
    "calibration": ("OLS of D_i = Gamma[i][a] - Gamma[i][control] on [tau_bar, tau_hat_i - tau_bar], "
                    "no intercept; p_one_sided = t.sf(t, n-2)"),
    "rate": ("grf estimate_rate port (unit weights); point estimates deterministic; "
             "se_bootstrap is a half-sample bootstrap with numpy default_rng(bootstrap_seed), "
             "R = 200: Monte-Carlo, only comparable within noise (e.g. 25%). toc_extra_grid: "
             "point estimates on a grid where q*n is fractional (grf interpolation)"),
    "overlap": "min over all e[a][i]; share of patients with any e[a][i] < 0.05 (strict)",
}


def compute_outputs(inp, seed):
    arms, c = inp["arms"], inp["control_index"]
    k = len(arms)
    y = np.array(inp["y"], dtype=float)
    received = np.array(inp["received"])
    mu = np.array(inp["mu"])
    e = np.array(inp["e"])
    n = len(y)
    clusters = None if inp["clusters"] is None else np.array(inp["clusters"])
    rec = np.array(inp["recommended"])

    gamma = aipw_scores(y, received, mu, e)
    rows = np.arange(n)
    g_rec = gamma[rows, rec]

    single = {arms[a]: estimate_block(gamma[:, a], clusters) for a in range(k)}
    single_v = np.array([single[arms[a]]["estimate"] for a in range(k)])
    best = int(np.argmax(single_v))  # first on ties
    policy = {
        "recommended": estimate_block(g_rec, clusters),
        "single_arm": single,
        "best_single_arm": arms[best],
        "best_single_arm_index": best,
        "gain_vs_best_single_arm": estimate_block(g_rec - gamma[:, best], clusters),
        "gain_vs_random": estimate_block(g_rec - gamma.mean(axis=1), clusters),
    }

    ate, calib, rates = {}, {}, {}
    for j, a in enumerate([b for b in range(k) if b != c]):
        d = gamma[:, a] - gamma[:, c]
        tau = np.array(inp["tau_hat"][arms[a]])
        ate[arms[a]] = estimate_block(d, clusters)
        calib[arms[a]] = calibration(d, tau, clusters)
        rates[arms[a]] = rate(d, tau, clusters, seed * 1000 + 1 + j)

    # multi-arm RATE
    treated = [b for b in range(k) if b != c]
    tau_mat = np.array([inp["tau_hat"][arms[b]] for b in treated])
    best_t = np.array(treated)[np.argmax(tau_mat, axis=0)]
    prio = tau_mat.max(axis=0)
    d_multi = gamma[rows, best_t] - gamma[:, c]
    # two arms: same draws as the pairwise RATE, so the two blocks are identical
    rate_multi = rate(d_multi, prio, clusters, seed * 1000 + (1 if k == 2 else 999))
    rate_multi["best_treated_arm"] = ilist(best_t)
    rate_multi["priority"] = flist(prio)
    rate_multi["dr_score"] = flist(d_multi)

    any_low = np.any(e < OVERLAP_THRESHOLD, axis=0)
    overlap = {
        "min_propensity": float(e.min()),
        "threshold": OVERLAP_THRESHOLD,
        "n_any_below": int(any_low.sum()),
        "share_any_below": float(any_low.mean()),
    }
    return {
        "z": Z,
        "gamma": [flist(gamma[:, a]) for a in range(k)],
        "policy_value": policy,
        "ate_vs_control": ate,
        "calibration": calib,
        "rate": rates,
        "rate_multi_arm": rate_multi,
        "overlap": overlap,
    }


CASES = [
    # name, seed, n, arms, control, kind
    ("two_arm", 11, 200, ["A", "B"], "B", "two_arm"),
    ("three_arm", 12, 300, ["X", "Y", "Z"], "Z", "three_arm"),
    ("ties", 13, 60, ["ctrl", "drug"], "ctrl", "ties"),
    ("clusters", 14, 240, ["standard", "new"], "standard", "clusters"),
    ("poor_overlap", 15, 150, ["A", "B"], "B", "poor_overlap"),
    ("confounded", 16, 400, ["P", "Q", "R"], "P", "confounded"),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, seed, n, arms, control, kind in CASES:
        doc = make_case(name, seed, n, arms, control, kind)
        assert_finite(doc)
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(doc, indent=1) + "\n")
        o = doc["outputs"]
        pv = o["policy_value"]
        print(f"== {name} (n={n}, arms={arms}, control={control}) -> {path.relative_to(ROOT)}")
        print(f"   V(rec) = {pv['recommended']['estimate']:.4f} ± {pv['recommended']['se']:.4f}; "
              + ", ".join(f"V({a}) = {v['estimate']:.4f}" for a, v in pv["single_arm"].items())
              + f"; gain vs best ({pv['best_single_arm']}) = {pv['gain_vs_best_single_arm']['estimate']:.4f}"
              f" ± {pv['gain_vs_best_single_arm']['se']:.4f}")
        for a, v in o["ate_vs_control"].items():
            cal = o["calibration"][a]["hc3"]
            r = o["rate"][a]
            print(f"   {a}: ATE = {v['estimate']:.4f} ± {v['se']:.4f}; BLP mean = "
                  f"{cal['mean_forest_prediction']['coef']:.3f} (p {cal['mean_forest_prediction']['p_one_sided']:.3g}), "
                  f"diff = {cal['differential_forest_prediction']['coef']:.3f} "
                  f"(p {cal['differential_forest_prediction']['p_one_sided']:.3g}); "
                  f"AUTOC = {r['autoc']['estimate']:.4f} ± {r['autoc']['se_bootstrap']:.4f}, "
                  f"QINI = {r['qini']['estimate']:.4f} ± {r['qini']['se_bootstrap']:.4f}")
        print(f"   overlap: min e = {o['overlap']['min_propensity']:.4f}, "
              f"share any e < 0.05 = {o['overlap']['share_any_below']:.3f}")
        if "propensity_fit" in o:
            print(f"   MNLogit loglik = {o['propensity_fit']['loglik']:.6f}, "
                  f"max |score| = {o['propensity_fit']['max_abs_score']:.2e}")
    print("RATE point estimates match the O(n^2) re-computation on every case.")


if __name__ == "__main__":
    main()
