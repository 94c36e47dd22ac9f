#!/usr/bin/env python3
"""Reference implementation of Riley et al.'s minimum sample size for
developing a prediction model with a binary outcome (the criteria that the R
package pmsampsize implements), for responder's test fixtures.

Standard library only. Not run in CI: it writes
tests/fixtures/validation/pmsampsize_examples.json, which the Rust tests read.

    python3 bench/sample_size_reference.py            # writes the fixture
    python3 bench/sample_size_reference.py --no-sim   # skip the 10^6-row simulations

References
  Riley RD, Snell KIE, Ensor J, et al. Minimum sample size for developing a
    multivariable prediction model: Part II - binary and time-to-event
    outcomes. Stat Med 2019;38(7):1276-1296 (correction Stat Med
    2019;38(30):5672).
  Riley RD, Ensor J, Snell KIE, et al. Calculating the sample size required
    for developing a clinical prediction model. BMJ 2020;368:m441.
  Riley RD, Van Calster B, Collins GS. A note on estimating the Cox-Snell R2
    from a reported C statistic (AUROC) to inform sample size calculations for
    developing a prediction model with a binary outcome. Stat Med
    2021;40(4):859-864.
  pmsampsize (R package, J Ensor), version 1.1.3 (CRAN 2023-12-05).

Criteria (p = candidate predictor parameters, phi = outcome prevalence,
R2 = anticipated Cox-Snell R-squared, S = target shrinkage (0.9),
delta = 0.05, moe = 0.05, z = 1.96):

  max_R2 = 1 - exp(2 * lnL_null / n)
         = 1 - exp(2 * (phi ln phi + (1 - phi) ln(1 - phi)))
         = 1 - (phi^phi * (1 - phi)^(1 - phi))^2
  (1) n1 = ceil( p / ((S - 1) * ln(1 - R2 / S)) )
  (2) S2 = R2 / (R2 + delta * max_R2)
      n2 = ceil( p / ((S2 - 1) * ln(1 - R2 / S2)) )
         = ceil( p / ((S2 - 1) * ln(1 - R2 - delta * max_R2)) )
  (3) n3 = ceil( (z / moe)^2 * phi * (1 - phi) )
  n = max(n1, n2, n3); events = n * phi; EPP = events / p;
  Nagelkerke R2 = R2 / max_R2. The final shrinkage is max(S, S2).

This is what pmsampsize >= 1.1.1 computes. Before 1.1.1 (1.0.0 - 1.1.0) it
rounded max_R2 to 2 decimals and S2 to 3 decimals, which changes n2
(`legacy_rounding=True` reproduces that; e.g. 668 instead of 662 for the
p = 24, phi = 0.174, R2 = 0.288 example).

R2 from a C-statistic (pmsampsize's `cstatistic` argument, its internal
function cstat2rsq; the same method as `approximate_R2` in Riley, Van Calster
& Collins 2021): assume the linear predictor is N(0, 1) in one outcome group
and N(mu, 1) in the other, with mu = sqrt(2) * Phi^-1(C) so that the C
statistic is exactly C. pmsampsize simulates n = 10^6 rows
(floor(phi * n) of the first group first, then floor((1 - phi) * n) of the
second) with set.seed(seed) (default 123456), fits glm(y ~ LP, binomial) and
returns R2 = 1 - exp(-(null deviance - deviance) / n), rounded to 4 decimals
before the criteria. Two implementations here:

  * cstat_to_r2cs_pmsampsize(): the same simulation with a re-implementation
    of R's default generator (Mersenne-Twister, set.seed scrambling, normal
    by inversion with R's qnorm / AS 241), so it reproduces pmsampsize's
    number for a given seed (checked against pmsampsize 1.1.3 under
    R 4.2.2: identical to all printed digits).
  * cstat_to_r2cs_limit(): the deterministic large-sample limit of the same
    quantity. Under this two-normal model the logistic model in LP is
    correctly specified, so LR / n -> 2 * I(y; LP) (mutual information, nats)
    and R2 -> 1 - exp(-2 * I), with
        I = H(phi) - E_LP[ H(P(y = 1 | LP)) ],
        logit P(y = 1 | LP) = ln((1 - phi) / phi) + mu * LP - mu^2 / 2,
    computed here by composite Simpson quadrature. The simulation differs
    from it by Monte-Carlo noise: for C = 0.89, phi = 0.174 the simulated R2
    over seeds 1..8 had mean 0.29082 and SD 0.00047 (limit 0.29095);
    pmsampsize's default seed 123456 gives 0.29017.
"""

import argparse
import json
import math
import os
import platform
import random
import sys
import time

# ---------------------------------------------------------------- criteria


def max_r2cs(prevalence):
    """Maximum Cox-Snell R2 of a logistic model with this outcome proportion."""
    phi = prevalence
    ln_l_null_per_n = phi * math.log(phi) + (1.0 - phi) * math.log(1.0 - phi)
    return 1.0 - math.exp(2.0 * ln_l_null_per_n)


def n_for_shrinkage(parameters, r2cs, shrinkage):
    """Riley Part II eq. (criterion 1) before rounding up."""
    return parameters / ((shrinkage - 1.0) * math.log(1.0 - r2cs / shrinkage))


def r2cs_from_nagelkerke(nagelkerke, prevalence, parameters):
    """pmsampsize's conversion of a Nagelkerke R2 (rounded to 3 decimals).

    pmsampsize computes max R2 from E = parameters * prevalence events in
    `parameters` rows, which equals max_r2cs(prevalence) up to rounding.
    """
    e = parameters * prevalence
    ln_null = e * math.log(e / parameters) + (parameters - e) * math.log(1 - e / parameters)
    mx = 1.0 - math.exp(2.0 * ln_null / parameters)
    return round(nagelkerke * mx, 3)


def binary_sample_size(parameters, prevalence, r2cs, shrinkage=0.9, delta=0.05,
                       moe=0.05, z=1.96, legacy_rounding=False):
    """The three criteria for a binary outcome; returns a dict."""
    if not 0.0 < prevalence < 1.0:
        raise ValueError("prevalence must be in (0, 1)")
    if shrinkage < r2cs:
        raise ValueError("shrinkage lower than R2: ln(1 - R2/S) undefined")
    mx = max_r2cs(prevalence)
    if r2cs > mx:
        raise ValueError("R2 %.4f exceeds the maximum Cox-Snell R2 %.4f" % (r2cs, mx))
    n1_raw = n_for_shrinkage(parameters, r2cs, shrinkage)
    mx_used = round(mx, 2) if legacy_rounding else mx
    s2 = r2cs / (r2cs + delta * mx_used)
    if legacy_rounding:
        s2 = round(s2, 3)
    n2_raw = n_for_shrinkage(parameters, r2cs, s2)
    n3_raw = (z / moe) ** 2 * prevalence * (1.0 - prevalence)
    n1, n2, n3 = (int(math.ceil(v)) for v in (n1_raw, n2_raw, n3_raw))
    n = max(n1, n2, n3)
    return {
        "max_r2cs": mx,
        "nagelkerke_r2": r2cs / mx,
        "shrinkage_criterion2": s2,
        "final_shrinkage": max(shrinkage, s2),
        "n1_shrinkage": n1,
        "n2_nagelkerke_difference": n2,
        "n3_overall_risk": n3,
        "n1_unrounded": n1_raw,
        "n2_unrounded": n2_raw,
        "n3_unrounded": n3_raw,
        "required_n": n,
        "binding_criteria": [k for k, v in (("1", n1), ("2", n2), ("3", n3)) if v == n],
        "events": n * prevalence,
        "epp": n * prevalence / parameters,
        "epp_per_criterion": [v * prevalence / parameters for v in (n1, n2, n3)],
    }


# ------------------------------------------- R's RNG (for pmsampsize parity)

_A = [3.387132872796366608, 133.14166789178437745, 1971.5909503065514427,
      13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
      33430.575583588128105, 2509.0809287301226727]
_B = [1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
      21213.794301586595867, 39307.89580009271061, 28729.085735721942674,
      5226.495278852545925]
_C = [1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
      3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
      0.0227238449892691845833, 7.7454501427834140764e-4]
_D = [1.0, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
      0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
      1.05075007164441684324e-9]
_E = [6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
      0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
      2.71155556874348757815e-5, 2.01033439929228813265e-7]
_F = [1.0, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
      7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
      2.04426310338993978564e-15]


def _horner(coef, r):
    # ((((((c7 * r + c6) * r + c5) ...) * r + c0), as written out in R's qnorm.c
    v = coef[7]
    for c in reversed(coef[:7]):
        v = v * r + c
    return v


def r_qnorm(p):
    """R's qnorm(p) (Wichura's AS 241), same operation order as R 4.2."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _horner(_A, r) / _horner(_B, r)
    r = (0.5 - p + 0.5) if q > 0 else p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r += -1.6
        val = _horner(_C, r) / _horner(_D, r)
    else:
        r += -5.0
        val = _horner(_E, r) / _horner(_F, r)
    return -val if q < 0.0 else val


class RRandom:
    """R's default RNG: Mersenne-Twister + set.seed scrambling, Inversion normals.

    Python's `random` module is the same MT19937; its state is loaded with the
    624 words R's set.seed() produces, and getrandbits(32) then yields R's
    32-bit draws (R divides them by 2^32 and keeps them inside (0, 1)).
    """

    _I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1)

    def __init__(self, seed):
        s = seed & 0xFFFFFFFF
        for _ in range(50):
            s = (69069 * s + 1) & 0xFFFFFFFF
        words = []
        for _ in range(625):
            s = (69069 * s + 1) & 0xFFFFFFFF
            words.append(s)
        # words[0] is R's mti slot (reset to 624 by FixupSeeds); words[1:] is mt[].
        self._rng = random.Random()
        self._rng.setstate((3, tuple(words[1:]) + (624,), None))

    def unif_rand(self):
        x = self._rng.getrandbits(32) * 2.3283064365386963e-10
        if x <= 0.0:
            return 0.5 * self._I2_32M1
        if 1.0 - x <= 0.0:
            return 1.0 - 0.5 * self._I2_32M1
        return x

    def norm_rand(self):
        big = 134217728.0  # 2^27
        u = self.unif_rand()
        u = int(big * u) + self.unif_rand()
        return r_qnorm(u / big)


def _logistic_lr(x, y):
    """Null deviance minus deviance of glm(y ~ x, binomial), by Newton-Raphson."""
    n = len(x)
    n1 = sum(y)
    ybar = n1 / n
    null_dev = -2.0 * (n1 * math.log(ybar) + (n - n1) * math.log(1.0 - ybar))
    a, b = math.log(ybar / (1.0 - ybar)), 0.0
    dev_old = null_dev
    for _ in range(50):
        g0 = g1 = h00 = h01 = h11 = 0.0
        for xi, yi in zip(x, y):
            eta = a + b * xi
            p = 1.0 / (1.0 + math.exp(-eta))
            w = p * (1.0 - p)
            r = yi - p
            g0 += r
            g1 += r * xi
            h00 += w
            h01 += w * xi
            h11 += w * xi * xi
        det = h00 * h11 - h01 * h01
        a += (h11 * g0 - h01 * g1) / det
        b += (h00 * g1 - h01 * g0) / det
        dev = 0.0
        for xi, yi in zip(x, y):
            eta = a + b * xi
            # -2 log-likelihood, written to stay accurate for large |eta|
            if yi:
                dev += math.log1p(math.exp(-eta)) if eta > 0 else -eta + math.log1p(math.exp(eta))
            else:
                dev += math.log1p(math.exp(eta)) if eta < 0 else eta + math.log1p(math.exp(-eta))
        dev *= 2.0
        if abs(dev - dev_old) <= 1e-13 * (abs(dev) + 0.1):
            break
        dev_old = dev
    return null_dev - dev


def cstat_to_r2cs_pmsampsize(cstatistic, prevalence, seed=123456, n=1000000):
    """pmsampsize::cstat2rsq re-implemented (unrounded Cox-Snell R2)."""
    mu = math.sqrt(2.0) * r_qnorm(cstatistic)
    n0 = int(prevalence * n)          # R truncates a non-integer count
    n1 = int((1.0 - prevalence) * n)
    rng = RRandom(seed)
    nr = rng.norm_rand
    lp = [0.0 + 1.0 * nr() for _ in range(n0)]
    lp += [mu + 1.0 * nr() for _ in range(n1)]
    y = [0] * n0 + [1] * n1
    lr = _logistic_lr(lp, y)
    return 1.0 - math.exp(-lr / n)    # pmsampsize divides by the nominal n


def _simpson(f, lo, hi, m=4000):
    h = (hi - lo) / m
    s = f(lo) + f(hi)
    for i in range(1, m):
        s += (4 if i % 2 else 2) * f(lo + i * h)
    return s * h / 3.0


def _h(q):
    if q <= 0.0 or q >= 1.0:
        return 0.0
    return -q * math.log(q) - (1.0 - q) * math.log1p(-q)


def cstat_to_r2cs_limit(cstatistic, prevalence):
    """Large-sample limit of the simulated Cox-Snell R2 (deterministic)."""
    from statistics import NormalDist
    mu = math.sqrt(2.0) * NormalDist().inv_cdf(cstatistic)
    p0, p1 = prevalence, 1.0 - prevalence      # group N(0,1), group N(mu,1)
    c = math.log(p1 / p0) - mu * mu / 2.0
    phi = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)

    def cond_entropy(x):
        eta = c + mu * x
        q = 1.0 / (1.0 + math.exp(-eta)) if eta > -700 else 0.0
        return _h(q)

    # E[h] = p0 * E_{x~N(0,1)} h(q(x)) + p1 * E_{x~N(mu,1)} h(q(x))
    e0 = _simpson(lambda t: phi(t) * cond_entropy(t), -12.0, 12.0)
    e1 = _simpson(lambda t: phi(t) * cond_entropy(t + mu), -12.0, 12.0)
    info = _h(p0) - (p0 * e0 + p1 * e1)
    return 1.0 - math.exp(-2.0 * info)


# ---------------------------------------------------------------- examples

PMSAMPSIZE_TESTS = ("pmsampsize 1.1.3 (CRAN, 2023-12-05), tests/testthat/test_bin.R; "
                    "https://github.com/cran/pmsampsize/blob/master/tests/testthat/test_bin.R")
PMSAMPSIZE_OLD_TESTS = ("pmsampsize 1.0.0-1.1.0, tests/testthat/test_bin.R (before the 1.1.1 "
                        "rounding fix); https://github.com/cran/pmsampsize (versions 1.0.0 .. 1.1.0)")
PMSAMPSIZE_RD = ("pmsampsize 1.1.3 help page (man/pmsampsize.Rd), section Examples; "
                 "https://search.r-project.org/CRAN/refmans/pmsampsize/html/pmsampsize.html")
PY_PORT_TESTS = ("pmsampsize 0.1.0 for Python (PyPI), its test file asserting "
                 "[n1, n2, n3, n] for the two binary help examples")

# R output this script was checked against (pmsampsize 1.1.3 installed from the
# CRAN snapshot, run under R 4.2.2 on this machine; not a published number).
R_CHECK = "pmsampsize 1.1.3 run under R 4.2.2 (Debian bookworm) for this fixture"


def examples():
    return [
        {
            "id": "riley_binary_r2_0.288",
            "description": ("Riley et al. binary worked example / pmsampsize help example 1: 24 "
                            "candidate parameters, prevalence 0.174, anticipated Cox-Snell R2 "
                            "0.288 (Nagelkerke 0.477)."),
            "inputs": {"parameters": 24, "prevalence": 0.174, "r2_cs": 0.288},
            "published": [
                {"n1": 623, "n2": 662, "n3": 221, "required_n": 662, "epp": 4.80,
                 "source": PMSAMPSIZE_TESTS + " (Test 4.1; EPP column 4.52, 4.8, 1.6, 4.8)"},
                {"n1": 623, "n2": 668, "n3": 221, "required_n": 668, "epp": 4.84,
                 "legacy_rounding": True,
                 "source": PMSAMPSIZE_OLD_TESTS + " (Test 4.1; max R2 rounded to 0.60, S2 to 0.906)"},
                {"n1": 623, "n2": 662, "n3": 221, "required_n": 662,
                 "source": PY_PORT_TESTS + " (Test 1)"},
                {"epp": 4.8, "source": ("Riley et al. Stat Med 2019;38:1276-1296, abstract: 'a new "
                                         "diagnostic model for Chagas disease requires an EPP of at "
                                         "least 4.8' (full text not retrievable here, so the match of "
                                         "this abstract's example to these inputs is from memory: unverified)")},
            ],
        },
        {
            "id": "pmsampsize_help_cstat_0.89",
            "description": ("pmsampsize help example 2: as above but only a C-statistic of 0.89 is "
                            "known; R2 approximated from C (cstat2rsq, seed 123456)."),
            "inputs": {"parameters": 24, "prevalence": 0.174, "cstatistic": 0.89, "seed": 123456},
            "published": [
                {"n1": 615, "n2": 660, "n3": 221, "required_n": 660,
                 "source": PY_PORT_TESTS + " (Test 2). NB the Python port cannot use R's "
                           "generator, so its R2 (not printed in the test) and n differ from R "
                           "pmsampsize's; its n's equal those from the large-sample-limit R2 "
                           "0.2910 (compared with that here)",
                 "r_generator": False},
                {"r2_cs": 0.2902, "n1": 617, "n2": 661, "n3": 221, "required_n": 661, "epp": 4.79,
                 "source": R_CHECK + " (the help page prints no output, so this is a run, not a "
                           "publication)", "r_generator": True},
            ],
        },
        {
            "id": "pmsampsize_test_r2_0.55",
            "description": "pmsampsize test 4.2: high R2 makes criterion 2 dominate.",
            "inputs": {"parameters": 24, "prevalence": 0.174, "r2_cs": 0.55},
            "published": [{"n1": 255, "n2": 532, "n3": 221, "required_n": 532, "epp": 3.86,
                           "source": PMSAMPSIZE_TESTS + " (Test 4.2)"}],
        },
        {
            "id": "pmsampsize_test_36_parameters",
            "description": "pmsampsize test 4.3: 36 parameters.",
            "inputs": {"parameters": 36, "prevalence": 0.174, "r2_cs": 0.288},
            "published": [{"n1": 934, "n2": 992, "n3": 221, "required_n": 992, "epp": 4.79,
                           "source": PMSAMPSIZE_TESTS + " (Test 4.3)"},
                          {"n1": 934, "n2": 1002, "n3": 221, "required_n": 1002, "epp": 4.84,
                           "legacy_rounding": True, "source": PMSAMPSIZE_OLD_TESTS + " (Test 4.3)"}],
        },
        {
            "id": "pmsampsize_test_prevalence_0.25",
            "description": "pmsampsize test 4.4: prevalence 0.25, criterion 1 dominates.",
            "inputs": {"parameters": 24, "prevalence": 0.25, "r2_cs": 0.288},
            "published": [{"n1": 623, "n2": 590, "n3": 289, "required_n": 623, "epp": 6.49,
                           "source": PMSAMPSIZE_TESTS + " (Test 4.4)"},
                          {"n1": 623, "n2": 583, "n3": 289, "required_n": 623, "epp": 6.49,
                           "legacy_rounding": True, "source": PMSAMPSIZE_OLD_TESTS + " (Test 4.4)"}],
        },
        {
            "id": "cstat_0.81_prev_0.18_seed_123",
            "description": ("C-statistic route with criterion 1 binding (6 parameters, prevalence "
                            "0.18, C 0.81, seed 123)."),
            "inputs": {"parameters": 6, "prevalence": 0.18, "cstatistic": 0.81, "seed": 123},
            "published": [
                {"r2_cs": 0.1818, "required_n": 266, "events": 48, "epp": 7.98,
                 "source": ("a public R analysis script on GitHub (DVT model) whose comments record "
                            "pmsampsize output 'samplesize #266 with 48 events ... EPP = 7.98' and "
                            "'Cox-Snell R-sq = 0.1818'; user output, not a paper"), "r_generator": True},
                {"r2_cs": 0.1818, "n1": 266, "n2": 175, "n3": 227, "required_n": 266, "epp": 7.98,
                 "source": R_CHECK, "r_generator": True},
            ],
        },
        {
            "id": "cstat_0.89_prev_0.18_seed_123",
            "description": "C-statistic route with criterion 3 binding (6 parameters, prevalence 0.18, C 0.89, seed 123).",
            "inputs": {"parameters": 6, "prevalence": 0.18, "cstatistic": 0.89, "seed": 123},
            "published": [
                {"required_n": 227, "events": 41, "epp": 6.81,
                 "source": ("same public R script: 'samplesize #227 with 41 events (assuming an outcome "
                            "prevalence = 0.18) and an EPP = 6.81'; user output, not a paper"),
                 "r_generator": True},
                {"r2_cs": 0.2957, "n1": 151, "n2": 163, "n3": 227, "required_n": 227, "epp": 6.81,
                 "source": R_CHECK, "r_generator": True},
            ],
        },
        {
            "id": "nagelkerke_0.48",
            "description": ("Nagelkerke R2 input (pmsampsize nagrsquared = 0.48): converted to "
                            "Cox-Snell as round(0.48 * max_R2, 3) = 0.29."),
            "inputs": {"parameters": 24, "prevalence": 0.174, "r2_nagelkerke": 0.48},
            "published": [{"r2_cs": 0.29, "n1": 618, "n2": 661, "n3": 221, "required_n": 661,
                           "epp": 4.79, "source": R_CHECK}],
        },
    ]


def run(args):
    out = []
    sim_seconds = 0.0
    for ex in examples():
        inp = dict(ex["inputs"])
        inp.update({"shrinkage": 0.9, "delta": 0.05, "margin_of_error": 0.05, "z": 1.96})
        rec = {"id": ex["id"], "description": ex["description"], "inputs": inp}
        r2_variants = {}
        if "r2_cs" in inp:
            r2_variants["given"] = inp["r2_cs"]
        elif "r2_nagelkerke" in inp:
            r2_variants["from_nagelkerke"] = r2cs_from_nagelkerke(
                inp["r2_nagelkerke"], inp["prevalence"], inp["parameters"])
        else:
            c, phi = inp["cstatistic"], inp["prevalence"]
            lim = cstat_to_r2cs_limit(c, phi)
            rec["r2_cs_large_sample_limit"] = lim
            r2_variants["large_sample_limit_rounded4"] = round(lim, 4)
            if not args.no_sim:
                t0 = time.time()
                sim = cstat_to_r2cs_pmsampsize(c, phi, seed=inp["seed"])
                sim_seconds += time.time() - t0
                rec["r2_cs_pmsampsize_simulation"] = sim
                r2_variants["pmsampsize_simulation_rounded4"] = round(sim, 4)
        results = {}
        for name, r2 in r2_variants.items():
            res = binary_sample_size(inp["parameters"], inp["prevalence"], r2)
            res["r2_cs"] = r2
            results[name] = res
        if "given" in r2_variants:
            legacy = binary_sample_size(inp["parameters"], inp["prevalence"], inp["r2_cs"],
                                        legacy_rounding=True)
            legacy["r2_cs"] = inp["r2_cs"]
            results["given_legacy_rounding_pre_1.1.1"] = legacy
        rec["results"] = results

        checks = []
        for pub in ex["published"]:
            if pub.get("legacy_rounding"):
                key = "given_legacy_rounding_pre_1.1.1"
            elif "r2_nagelkerke" in inp:
                key = "from_nagelkerke"
            elif "cstatistic" in inp:
                key = ("pmsampsize_simulation_rounded4" if pub.get("r_generator")
                       else "large_sample_limit_rounded4")
            else:
                key = "given"
            mine = results.get(key)
            if mine is None:
                checks.append({"published": pub, "compared_with": key, "match": None,
                               "note": "not computed (--no-sim)"})
                continue
            diffs = {}
            for field, mk in (("n1", "n1_shrinkage"), ("n2", "n2_nagelkerke_difference"),
                              ("n3", "n3_overall_risk"), ("required_n", "required_n")):
                if field in pub and pub[field] != mine[mk]:
                    diffs[field] = {"published": pub[field], "computed": mine[mk]}
            if "r2_cs" in pub and abs(pub["r2_cs"] - mine["r2_cs"]) > 1e-12:
                diffs["r2_cs"] = {"published": pub["r2_cs"], "computed": mine["r2_cs"]}
            if "epp" in pub and abs(pub["epp"] - round(mine["epp"], 2)) > 0.0051:
                diffs["epp"] = {"published": pub["epp"], "computed": round(mine["epp"], 2)}
            if "events" in pub and pub["events"] != int(math.ceil(mine["events"])) and \
                    pub["events"] != int(round(mine["events"])):
                diffs["events"] = {"published": pub["events"], "computed": mine["events"]}
            checks.append({"published": pub, "compared_with": key, "match": not diffs,
                           "differences": diffs})
        rec["published_checks"] = checks
        out.append(rec)
    return out, sim_seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                  "tests", "fixtures", "validation",
                                                  "pmsampsize_examples.json"))
    ap.add_argument("--no-sim", action="store_true",
                    help="skip the 10^6-row pmsampsize-replica simulations (about 15 s each)")
    args = ap.parse_args()
    recs, sim_seconds = run(args)
    doc = {
        "description": ("Riley et al. minimum sample size for developing a binary-outcome "
                        "prediction model (pmsampsize criteria). Generated by "
                        "bench/sample_size_reference.py; not run in CI."),
        "generated_by": "bench/sample_size_reference.py",
        "python_version": platform.python_version(),
        "formulas": {
            "max_r2cs": "1 - (phi^phi * (1-phi)^(1-phi))^2 = 1 - exp(2 * (phi ln phi + (1-phi) ln(1-phi)))",
            "criterion_1": "n1 = ceil(p / ((S - 1) * ln(1 - R2cs / S))), S = shrinkage (0.9)",
            "criterion_2": ("S2 = R2cs / (R2cs + delta * max_r2cs); "
                            "n2 = ceil(p / ((S2 - 1) * ln(1 - R2cs / S2))), delta = 0.05"),
            "criterion_3": "n3 = ceil((z / moe)^2 * phi * (1 - phi)), z = 1.96, moe = 0.05",
            "required_n": "max(n1, n2, n3)",
            "events": "required_n * phi", "epp": "events / p",
            "nagelkerke": "R2cs / max_r2cs",
            "nagelkerke_input": "R2cs = round(R2nagelkerke * max_r2cs, 3) (pmsampsize)",
            "cstatistic_pmsampsize_simulation": (
                "mu = sqrt(2) * qnorm(C); set.seed(seed); LP = c(rnorm(floor(phi*1e6), 0, 1), "
                "rnorm(floor((1-phi)*1e6), mu, 1)); y = c(rep(0, ...), rep(1, ...)); "
                "fit glm(y ~ LP, binomial); R2cs = 1 - exp(-(null.deviance - deviance) / 1e6); "
                "rounded to 4 decimals (R's Mersenne-Twister/Inversion generator re-implemented)"),
            "cstatistic_large_sample_limit": (
                "R2cs = 1 - exp(-2 I), I = H(phi) - E[H(P(y=1|LP))] with "
                "logit P(y=1|LP) = ln((1-phi)/phi) + mu LP - mu^2/2 (Simpson quadrature)"),
            "legacy_rounding_pre_1.1.1": "max_r2cs rounded to 2 decimals and S2 to 3 decimals",
            "cstatistic_simulation_noise": (
                "SD of the simulated R2cs over seeds 1..8 at n = 1e6 (C 0.89, phi 0.174): "
                "0.00047; mean 0.29082 vs limit 0.29095"),
        },
        "defaults": {"shrinkage": 0.9, "delta": 0.05, "margin_of_error": 0.05, "z": 1.96,
                     "cstatistic_seed": 123456, "cstatistic_sim_n": 1000000},
        "tolerance_note": (
            "n1/n2/n3/required_n are integers after ceil and should match exactly for a given "
            "R2cs. For the C-statistic route, an implementation that does not reproduce R's "
            "generator should compare with the large-sample-limit results (or with R2cs within "
            "~2e-3 of the simulation); n then moves by a few units. The simulation replica "
            "was checked against pmsampsize 1.1.3's cstat2rsq under R 4.2.2: same R2cs to "
            "1e-13 (0.290171932787474, 0.181826629236165, 0.295653224121182)."),
        "examples": recs,
    }
    if sim_seconds:
        print("simulations took %.1f s" % sim_seconds, file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    for rec in recs:
        flags = [c["match"] for c in rec["published_checks"]]
        print(rec["id"], {k: (v["r2_cs"], v["n1_shrinkage"], v["n2_nagelkerke_difference"],
                              v["n3_overall_risk"], v["required_n"])
                          for k, v in rec["results"].items()}, "matches:", flags)
    print("wrote", os.path.normpath(args.out))


if __name__ == "__main__":
    main()
