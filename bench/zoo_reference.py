#!/usr/bin/env python3
"""scikit-learn / LightGBM reference for `responder compare` (model zoo).

Criteria ("Model zoo and comparison"): on the simulated cohort each
algorithm's cross-validated AUC is within 0.02 of scikit-learn's nearest
equivalent under the same protocol, and boosting reaches the CV AUC of
LightGBM defaults within 0.01.

Protocol (mirrors `responder compare --cv K --repeats R --seed S`):
  * clinical.csv inner-joined with genotypes.csv on patient_id (with
    --n-rows N only the first N rows of clinical.csv are used);
  * one model per therapy arm, evaluated by repeated stratified K-fold
    (sklearn RepeatedStratifiedKFold) on that arm's rows;
  * inside every fold the preprocessing of responder (see _prep.py: median /
    mean imputation, `missing` level + one-hot, standardisation with the
    population sd) is fitted on the fold's training rows only;
  * AUC per fold; mean and sample sd (ddof=1) over folds, as responder does;
  * fit time per fold = preprocessing fit + transform of the training rows +
    model fit (as responder's fit_seconds_mean), averaged over folds.

The folds themselves differ from responder's (different shuffles), so part of
any difference is fold-to-fold noise.

Nearest equivalents of responder's default hyper-parameters:
  logistic     LogisticRegression(C=1.0, max_iter=100)
  elastic-net  ElasticNet(alpha=0.02, l1_ratio=0.5, max_iter=1000, tol=1e-4)
               regressed on 0/1; score = prediction (AUC needs only the ranking)
  tree         DecisionTreeClassifier(max_depth=5, min_samples_leaf=20)
  forest       RandomForestClassifier(n_estimators=200, max_features='sqrt',
               min_samples_leaf=5, n_jobs=2, random_state=seed)
  svm          SVC(kernel='linear', C=0.01); score = decision_function
  naive-bayes  GaussianNB(var_smoothing=1e-9)
  knn          KNeighborsClassifier(n_neighbors=25, weights='distance')
  boosting     GradientBoostingClassifier(n_estimators=100, learning_rate=0.1,
               max_depth=3), and separately LightGBM defaults
               LGBMClassifier(verbose=-1, random_state=seed) as the row
               `boosting (LightGBM defaults)`.

With --responder-csv (output of `responder compare --format csv`) a
side-by-side table is printed per arm and algorithm, then the mean over arms.
A row passes when |responder - sklearn| <= 0.02; the LightGBM row passes when
responder boosting >= LightGBM - 0.01.

Exit codes: 0 ok; 1 some criterion failed (only with --check); 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from _prep import ArmPreprocessor, InputError, auc, is_numeric_column, read_csv

TOLERANCE = 0.02
LGBM_TOLERANCE = 0.01
LGBM_ROW = "boosting (LightGBM defaults)"

# Scores used for the AUC.
def _proba(model, x):
    return model.predict_proba(x)[:, 1]


def _predict(model, x):
    return model.predict(x)


def _decision(model, x):
    return model.decision_function(x)


def _lgbm(seed: int):
    import lightgbm  # imported lazily: only needed for this row

    return lightgbm.LGBMClassifier(verbose=-1, random_state=seed)


# responder algorithm name -> (reference label, factory(seed), scorer); the last
# row is the LightGBM yardstick for responder's `boosting`.
REFERENCES: dict[str, tuple[str, object, object]] = {
    "logistic": (
        "LogisticRegression(C=1.0, max_iter=100)",
        lambda s: LogisticRegression(C=1.0, max_iter=100),
        _proba,
    ),
    "elastic-net": (
        "ElasticNet(alpha=0.02, l1_ratio=0.5) on 0/1",
        lambda s: ElasticNet(alpha=0.02, l1_ratio=0.5, max_iter=1000, tol=1e-4),
        _predict,
    ),
    "tree": (
        "DecisionTreeClassifier(max_depth=5, min_samples_leaf=20)",
        lambda s: DecisionTreeClassifier(max_depth=5, min_samples_leaf=20, random_state=s),
        _proba,
    ),
    "forest": (
        "RandomForestClassifier(200, sqrt, min_samples_leaf=5)",
        lambda s: RandomForestClassifier(
            n_estimators=200, max_features="sqrt", min_samples_leaf=5, n_jobs=2, random_state=s
        ),
        _proba,
    ),
    "svm": (
        "SVC(kernel='linear', C=0.01) decision_function",
        lambda s: SVC(kernel="linear", C=0.01),
        _decision,
    ),
    "naive-bayes": (
        "GaussianNB(var_smoothing=1e-9)",
        lambda s: GaussianNB(var_smoothing=1e-9),
        _proba,
    ),
    "knn": (
        "KNeighborsClassifier(25, weights='distance')",
        lambda s: KNeighborsClassifier(n_neighbors=25, weights="distance"),
        _proba,
    ),
    "boosting": (
        "GradientBoostingClassifier(100, lr=0.1, max_depth=3)",
        lambda s: GradientBoostingClassifier(
            n_estimators=100, learning_rate=0.1, max_depth=3, random_state=s
        ),
        _proba,
    ),
    LGBM_ROW: (
        "LGBMClassifier() defaults",
        _lgbm,
        _proba,
    ),
}
ORDER = list(REFERENCES)


# ------------------------------------------------------------------------ input


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="scikit-learn / LightGBM cross-validated AUC per therapy arm for "
        "the algorithms of `responder compare`, optionally side by side with "
        "responder's own figures.",
    )
    ap.add_argument("--dir", required=True, help="output directory of `responder simulate`")
    ap.add_argument("--responder-csv", metavar="FILE",
                    help="CSV from `responder compare --format csv` to compare against")
    ap.add_argument("--cv", type=int, default=5, help="folds per repeat (default 5)")
    ap.add_argument("--repeats", type=int, default=1, help="repeats of the K-fold split (default 1)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the folds and models (default 7)")
    ap.add_argument("--n-rows", type=int, metavar="N",
                    help="use only the first N rows of clinical.csv")
    ap.add_argument("--algorithms", default="all",
                    help="comma-separated subset of: " + ", ".join(ORDER[:-1])
                    + ", lightgbm (default all)")
    ap.add_argument("--therapy-col", default="therapy")
    ap.add_argument("--target", default="responder")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE,
                    help="allowed |responder - sklearn| AUC difference (default 0.02)")
    ap.add_argument("--lgbm-tolerance", type=float, default=LGBM_TOLERANCE,
                    help="allowed shortfall of responder boosting vs LightGBM (default 0.01)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when some per-arm row of the side-by-side table fails")
    args = ap.parse_args(argv)
    if args.cv < 2:
        ap.error("--cv must be at least 2")
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.n_rows is not None and args.n_rows < 1:
        ap.error("--n-rows must be positive")
    return args


def chosen_algorithms(spec: str) -> list[str]:
    if spec.strip() == "all":
        return list(ORDER)
    out = []
    for name in (s.strip() for s in spec.split(",")):
        if not name:
            continue
        key = LGBM_ROW if name.lower() in ("lightgbm", "lgbm", LGBM_ROW) else name
        if key not in REFERENCES:
            raise InputError(f"unknown algorithm {name!r}; choose from "
                             + ", ".join(ORDER[:-1]) + ", lightgbm")
        if key not in out:
            out.append(key)
    if not out:
        raise InputError("--algorithms names no algorithm")
    return [k for k in ORDER if k in out]


def load_cohort(args: argparse.Namespace):
    if not os.path.isdir(args.dir):
        raise InputError(f"--dir {args.dir} is not a directory")
    clin = read_csv(os.path.join(args.dir, "clinical.csv"), "clinical.csv")
    geno = read_csv(os.path.join(args.dir, "genotypes.csv"), "genotypes.csv")
    if args.n_rows is not None:
        clin = clin.iloc[: args.n_rows].copy()

    tcol, ycol = args.therapy_col, args.target
    for col in (tcol, ycol):
        if col not in clin.columns:
            raise InputError(f"clinical.csv has no '{col}' column")
    if clin[tcol].isna().any():
        raise InputError(f"clinical.csv has rows with an empty '{tcol}'")
    if clin[ycol].isna().any():
        raise InputError(f"clinical.csv has rows with an empty '{ycol}'")
    y_all = pd.to_numeric(clin[ycol], errors="coerce")
    if not y_all.isin([0, 1]).all():
        raise InputError(f"'{ycol}' in clinical.csv must be 0/1")
    clin[ycol] = y_all.astype(int)

    snp_cols = [c for c in geno.columns if c != "patient_id"]
    if not snp_cols:
        raise InputError("genotypes.csv has no SNP columns")
    clash = set(snp_cols) & set(clin.columns)
    if clash:
        raise InputError(f"columns in both clinical.csv and genotypes.csv: {sorted(clash)}")
    for c in snp_cols:
        if not is_numeric_column(geno[c]):
            raise InputError(f"genotypes.csv column {c} has non-numeric dosages")

    n_clin = len(clin)
    data = clin.merge(geno, on="patient_id", how="inner", sort=False)
    dropped = n_clin - len(data)

    clin_features = [c for c in clin.columns if c not in ("patient_id", tcol, ycol)]
    median_cols = [c for c in clin_features if is_numeric_column(data[c])]
    cat_cols = [c for c in clin_features if c not in median_cols]
    # Parse numbers once; ArmPreprocessor's to_numeric is then a no-op.
    for c in median_cols + snp_cols:
        data[c] = pd.to_numeric(data[c], errors="coerce").astype(float)
    return data, median_cols, snp_cols, cat_cols, dropped


# ---------------------------------------------------------------------- running


def evaluate(data, median_cols, snp_cols, cat_cols, algos, args):
    """{(arm, algo): dict(aucs=[...], seconds=[...], failed=n, error=str|None)}"""
    tcol, ycol = args.therapy_col, args.target
    arms = sorted(data[tcol].unique().tolist())
    results = {}
    prep_times = []
    for arm in arms:
        rows = data[data[tcol] == arm].reset_index(drop=True)
        y = rows[ycol].to_numpy()
        n_min = int(min((y == 1).sum(), (y == 0).sum()))
        if n_min < args.cv:
            print(f"warning: arm {arm}: only {n_min} patients in the smaller class; "
                  f"need at least --cv {args.cv}; skipped", file=sys.stderr)
            continue
        for algo in algos:
            results[(arm, algo)] = {"aucs": [], "seconds": [], "failed": 0, "error": None}
        rskf = RepeatedStratifiedKFold(
            n_splits=args.cv, n_repeats=args.repeats, random_state=args.seed
        )
        for fold, (tr, te) in enumerate(rskf.split(np.zeros(len(y)), y)):
            t0 = time.perf_counter()
            train_df = rows.iloc[tr]
            prep = ArmPreprocessor(median_cols, snp_cols, cat_cols).fit(train_df)
            x_tr = prep.transform(train_df)
            prep_seconds = time.perf_counter() - t0
            prep_times.append(prep_seconds)
            x_te = prep.transform(rows.iloc[te])
            y_tr, y_te = y[tr], y[te]
            for algo in algos:
                _, factory, scorer = REFERENCES[algo]
                r = results[(arm, algo)]
                try:
                    model = factory(args.seed + fold)
                    t1 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        model.fit(x_tr, y_tr)
                    seconds = prep_seconds + time.perf_counter() - t1
                    score = np.asarray(scorer(model, x_te), dtype=float)
                except Exception as exc:  # noqa: BLE001 - count and report
                    r["failed"] += 1
                    r["error"] = r["error"] or f"{type(exc).__name__}: {exc}"
                    continue
                a = auc(y_te, score)
                if np.isfinite(a):
                    r["aucs"].append(a)
                r["seconds"].append(seconds)
            print(f"  {arm}: fold {fold + 1}/{args.cv * args.repeats} done",
                  file=sys.stderr, flush=True)
    return arms, results, prep_times


def mean_sd(v: list[float]) -> tuple[float, float]:
    if not v:
        return float("nan"), 0.0
    if len(v) < 2:
        return float(v[0]), 0.0
    return float(np.mean(v)), float(np.std(v, ddof=1))


def read_responder(path: str) -> pd.DataFrame:
    if not os.path.isfile(path):
        raise InputError(f"responder CSV not found: {path}")
    try:
        df = pd.read_csv(path, dtype={"arm": str, "algorithm": str}, keep_default_na=False,
                         na_values=["", "NA", "NaN", "nan"])
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot parse responder CSV {path}: {exc}") from None
    need = ["arm", "algorithm", "auc_mean", "auc_sd", "fit_seconds_mean"]
    lacking = [c for c in need if c not in df.columns]
    if lacking:
        raise InputError(f"responder CSV {path} lacks column(s) {lacking}; "
                         "expected the output of `responder compare --format csv`")
    return df


# ----------------------------------------------------------------------- output


def f4(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.4f}"


def pm(m: float, s: float) -> str:
    return "n/a" if m is None or not np.isfinite(m) else f"{m:.4f} ± {s:.4f}"


def fsec(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def print_table(header: list[str], rows: list[list[str]], right: set[int]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    algos = chosen_algorithms(args.algorithms)
    resp = read_responder(args.responder_csv) if args.responder_csv else None
    data, median_cols, snp_cols, cat_cols, dropped = load_cohort(args)

    try:
        import lightgbm
        lgbm_version = lightgbm.__version__
    except ImportError:
        lgbm_version = None
        if LGBM_ROW in algos:
            raise InputError("lightgbm is not installed (pip install -r bench/requirements.txt)")

    print(f"cohort: {args.dir}" + (f" (first {args.n_rows} rows)" if args.n_rows else ""))
    print(f"rows: {len(data)} after genotype join"
          + (f" ({dropped} without genotypes dropped)" if dropped else ""))
    print(f"features: {len(median_cols)} numeric clinical (median), {len(cat_cols)} "
          f"categorical ({', '.join(cat_cols) or '-'}), {len(snp_cols)} SNP (mean)")
    print(f"protocol: per arm, RepeatedStratifiedKFold(n_splits={args.cv}, "
          f"n_repeats={args.repeats}, random_state={args.seed}); preprocessing refitted per fold")
    print(f"versions: scikit-learn {sklearn.__version__}"
          + (f", lightgbm {lgbm_version}" if lgbm_version else ""))
    print(file=sys.stderr)

    arms, results, prep_times = evaluate(data, median_cols, snp_cols, cat_cols, algos, args)

    ref = {}  # (arm, algo) -> (mean, sd, seconds, n_ok, failed)
    for key, r in results.items():
        m, s = mean_sd(r["aucs"])
        sec = float(np.mean(r["seconds"])) if r["seconds"] else float("nan")
        ref[key] = (m, s, sec, len(r["aucs"]), r["failed"])
        if r["error"]:
            print(f"warning: {key[1]} failed on {r['failed']} folds of arm {key[0]}: "
                  f"{r['error']}", file=sys.stderr)

    print()
    print("scikit-learn / LightGBM reference: fold AUC (mean ± sd) and mean fit seconds per fold")
    rows = []
    for arm in arms:
        for algo in algos:
            if (arm, algo) not in ref:
                continue
            m, s, sec, n_ok, failed = ref[(arm, algo)]
            rows.append([arm, algo, REFERENCES[algo][0], pm(m, s), fsec(sec), str(n_ok), str(failed)])
    print_table(["arm", "algorithm", "reference", "AUC", "fit s", "folds", "failed"],
                rows, right={3, 4, 5, 6})
    if prep_times:
        print(f"(fit s includes {np.mean(prep_times):.3f} s per fold of pandas preprocessing, "
              "shared by all algorithms)")

    if resp is None:
        return 0

    # ---- side by side
    rmap = {}
    for _, r in resp.iterrows():
        rmap[(str(r["arm"]), str(r["algorithm"]))] = (
            float(r["auc_mean"]), float(r["auc_sd"]), float(r["fit_seconds_mean"]),
            int(r["folds_failed"]) if "folds_failed" in resp.columns else 0,
        )
    resp_arms = sorted({a for a, _ in rmap})
    only_resp = sorted(set(resp_arms) - set(arms))
    only_ref = sorted(set(arms) - set(resp_arms))
    if only_resp or only_ref:
        print(f"\nwarning: arms differ: only in responder {only_resp}, only in the "
              f"reference {only_ref}", file=sys.stderr)

    def compare(arm, algo):
        """-> (resp_mean, resp_sd, resp_sec, ref_mean, ref_sd, ref_sec, diff, verdict)"""
        resp_algo = "boosting" if algo == LGBM_ROW else algo
        rr = rmap.get((arm, resp_algo))
        rf = ref.get((arm, algo))
        if rr is None or rf is None:
            return None
        diff = rr[0] - rf[0]
        if not np.isfinite(diff):
            verdict = "FAIL"
        elif algo == LGBM_ROW:
            verdict = "PASS" if diff >= -args.lgbm_tolerance - 1e-12 else "FAIL"
        else:
            verdict = "PASS" if abs(diff) <= args.tolerance + 1e-12 else "FAIL"
        if rr[3]:
            verdict = "FAIL"  # responder failed on some folds
        return rr[0], rr[1], rr[2], rf[0], rf[1], rf[2], diff, verdict

    crit = (f"|diff| <= {args.tolerance:g}; LightGBM row: responder >= LightGBM - "
            f"{args.lgbm_tolerance:g}")
    print()
    print(f"responder compare vs reference, per arm (diff = responder - reference; {crit})")
    rows, fails = [], []
    for arm in arms:
        for algo in algos:
            c = compare(arm, algo)
            if c is None:
                rows.append([arm, algo, "n/a", "n/a", "n/a", "MISSING", "n/a", "n/a"])
                fails.append((arm, algo, float("nan")))
                continue
            rm, rs, rsec, fm, fs, fsec_, diff, verdict = c
            rows.append([arm, algo, pm(rm, rs), pm(fm, fs), f"{diff:+.4f}", verdict,
                         fsec(rsec), fsec(fsec_)])
            if verdict != "PASS":
                fails.append((arm, algo, diff))
    print_table(["arm", "algorithm", "responder AUC", "sklearn AUC", "diff", "result",
                 "resp fit s", "skl fit s"], rows, right={2, 3, 4, 6, 7})

    # Algorithms responder compared that the reference has no row for.
    extra = sorted({a for _, a in rmap} - {"boosting" if k == LGBM_ROW else k for k in algos})
    if extra:
        print(f"(responder also compared {', '.join(extra)}; no reference row)")

    print()
    print(f"mean over arms ({', '.join(arms)})")
    rows, mean_fails = [], []
    for algo in algos:
        cs = [compare(arm, algo) for arm in arms]
        if not cs or any(c is None for c in cs):
            rows.append([algo, "n/a", "n/a", "n/a", "MISSING", "n/a", "n/a"])
            mean_fails.append(algo)
            continue
        rm = float(np.mean([c[0] for c in cs]))
        fm = float(np.mean([c[3] for c in cs]))
        diff = rm - fm
        if algo == LGBM_ROW:
            ok = diff >= -args.lgbm_tolerance - 1e-12
        else:
            ok = abs(diff) <= args.tolerance + 1e-12
        rows.append([algo, f4(rm), f4(fm), f"{diff:+.4f}", "PASS" if ok else "FAIL",
                     fsec(float(np.mean([c[2] for c in cs]))),
                     fsec(float(np.mean([c[5] for c in cs])))])
        if not ok:
            mean_fails.append(algo)
    print_table(["algorithm", "responder AUC", "sklearn AUC", "diff", "result",
                 "resp fit s", "skl fit s"], rows, right={1, 2, 3, 5, 6})

    print()
    if fails:
        print(f"FAILED per-arm rows: {len(fails)} of {len(arms) * len(algos)}: "
              + "; ".join(f"{a}/{g} ({d:+.4f})" if np.isfinite(d) else f"{a}/{g} (missing)"
                          for a, g, d in fails))
    else:
        print(f"all {len(arms) * len(algos)} per-arm rows PASS")
    if mean_fails:
        print(f"FAILED on the mean over arms: {', '.join(mean_fails)}")
    else:
        print("all algorithms PASS on the mean over arms")
    print("note: fit times are per fold; responder fits folds in parallel on all cores, "
          "the reference fits them one after another (forest and LightGBM use 2 threads).")
    if args.check and fails:
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
