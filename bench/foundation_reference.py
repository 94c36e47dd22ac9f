#!/usr/bin/env python3
"""scikit-learn reference for the `responder` foundation acceptance criterion.

Criterion: on a cohort from `responder simulate --patients 5000 --snps 200`,
`responder train` on the first 4,000 patients and `responder score` on the other
1,000 must rank them so that the AUC of each patient's probability for the
therapy they received, against their observed response, is no lower than that
of scikit-learn's LogisticRegression(C=1) fitted per arm with the same
preprocessing, minus 0.01.

This script computes that reference (a T-learner: one LogisticRegression per
therapy arm, each fitted on that arm's training rows) and, optionally, the same
AUC for a `responder score --format csv` output, side by side.

Preprocessing (fitted on the training rows of each arm only; mirrors responder):
  * features = every column except patient_id, the therapy column and the target;
    clinical columns from clinical.csv joined (inner, by patient_id) with every
    SNP column of genotypes.csv;
  * numeric clinical columns: missing -> median of the arm's training rows;
  * SNP dosage columns: missing -> mean of the arm's training rows;
  * categorical clinical columns (any column with a non-numeric value, e.g.
    sex, anxiety): missing -> level "missing"; one-hot over ALL levels seen in
    the arm's training rows (sorted, no drop-first); unseen levels -> all zeros;
  * every resulting column standardised with the training mean and population
    standard deviation (ddof=0); a column with sd 0 gets sd 1;
  * LogisticRegression(C=1.0, max_iter=1000), scikit-learn defaults otherwise
    (L2 penalty, lbfgs, unpenalised intercept).

Only empty CSV fields count as missing (strings such as "NA" are not special).

Exit codes: 0 ok; 1 criterion failed (only with --check); 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

# Shared with zoo_reference.py: input reading, the per-arm preprocessing that
# mirrors responder's pipeline, and AUC/format helpers.
from _prep import ArmPreprocessor, InputError, auc, fmt, fmt_diff, is_numeric_column, read_csv

TOLERANCE = 0.01


# -------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="scikit-learn per-arm LogisticRegression reference AUC for "
        "the responder foundation criterion.",
    )
    ap.add_argument("--dir", required=True, help="output directory of `responder simulate`")
    ap.add_argument(
        "--responder-scores",
        metavar="FILE",
        help="CSV from `responder score --format csv` for the test patients "
        "(columns rank,patient_id,p_<arm>...,best_therapy,advantage)",
    )
    ap.add_argument("--n-train", type=int, default=4000,
                    help="training rows = first N rows of clinical.csv (default 4000)")
    ap.add_argument("--therapy-col", default="therapy")
    ap.add_argument("--target", default="responder")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE,
                    help="allowed shortfall of responder vs the reference (default 0.01)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when responder's overall AUC < reference - tolerance "
                    "or some test patient has no responder probability")
    return ap.parse_args(argv)


def load_cohort(args: argparse.Namespace):
    clin_path = os.path.join(args.dir, "clinical.csv")
    geno_path = os.path.join(args.dir, "genotypes.csv")
    truth_path = os.path.join(args.dir, "truth.csv")
    if not os.path.isdir(args.dir):
        raise InputError(f"--dir {args.dir} is not a directory")
    missing = [p for p in (clin_path, geno_path, truth_path) if not os.path.isfile(p)]
    if missing:
        raise InputError("missing input file(s): " + ", ".join(missing))

    clin = read_csv(clin_path, "clinical.csv")
    geno = read_csv(geno_path, "genotypes.csv")
    truth = read_csv(truth_path, "truth.csv")

    for col in (args.therapy_col, args.target):
        if col not in clin.columns:
            raise InputError(f"clinical.csv has no '{col}' column")
    if clin[args.therapy_col].isna().any():
        raise InputError(f"clinical.csv has rows with an empty '{args.therapy_col}'")
    if clin[args.target].isna().any():
        raise InputError(f"clinical.csv has rows with an empty '{args.target}'")
    y_all = pd.to_numeric(clin[args.target], errors="coerce")
    if not y_all.isin([0, 1]).all():
        raise InputError(f"'{args.target}' in clinical.csv must be 0/1")
    clin[args.target] = y_all.astype(int)

    if len(clin) <= args.n_train:
        raise InputError(
            f"clinical.csv has {len(clin)} rows; need more than --n-train {args.n_train}"
        )
    clin["_split"] = np.where(np.arange(len(clin)) < args.n_train, "train", "test")

    snp_cols = [c for c in geno.columns if c != "patient_id"]
    if not snp_cols:
        raise InputError("genotypes.csv has no SNP columns")
    clash = set(snp_cols) & set(clin.columns)
    if clash:
        raise InputError(f"columns in both clinical.csv and genotypes.csv: {sorted(clash)}")
    for c in snp_cols:
        if not is_numeric_column(geno[c]):
            raise InputError(f"genotypes.csv column {c} has non-numeric dosages")

    n_before = clin["_split"].value_counts().to_dict()
    data = clin.merge(geno, on="patient_id", how="inner", sort=False)
    n_after = data["_split"].value_counts().to_dict()
    dropped = {k: n_before.get(k, 0) - n_after.get(k, 0) for k in ("train", "test")}

    clin_features = [
        c for c in clin.columns
        if c not in ("patient_id", args.therapy_col, args.target, "_split")
    ]
    train_rows = data[data["_split"] == "train"]
    median_cols = [c for c in clin_features if is_numeric_column(train_rows[c])]
    cat_cols = [c for c in clin_features if c not in median_cols]

    truth_cols = {c[2:]: c for c in truth.columns if c.startswith("p_")}
    return data, truth, truth_cols, median_cols, snp_cols, cat_cols, dropped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tcol, ycol = args.therapy_col, args.target

    if args.responder_scores is not None and not os.path.isfile(args.responder_scores):
        raise InputError(f"responder scores not found: {args.responder_scores}")
    data, truth, truth_cols, median_cols, snp_cols, cat_cols, dropped = load_cohort(args)
    train = data[data["_split"] == "train"]
    test = data[data["_split"] == "test"].copy()
    arms = sorted(train[tcol].unique().tolist())

    print(f"cohort: {args.dir}")
    print(
        f"features: {len(median_cols)} numeric clinical (median), "
        f"{len(cat_cols)} categorical ({', '.join(cat_cols) or '-'}), "
        f"{len(snp_cols)} SNP (mean)"
    )
    print(
        f"split: {len(train)} train / {len(test)} test rows after genotype join"
        + (f" (dropped without genotypes: {dropped['train']} train, {dropped['test']} test)"
           if dropped["train"] or dropped["test"] else "")
    )

    # ---- reference: one LogisticRegression per arm (T-learner)
    models: dict[str, tuple[ArmPreprocessor, LogisticRegression]] = {}
    print()
    print(f"{'arm':<12}{'n_train':>8}{'resp%':>7}{'n_feat':>8}{'iters':>7}")
    for arm in arms:
        arm_train = train[train[tcol] == arm]
        y = arm_train[ycol].to_numpy()
        if len(np.unique(y)) < 2:
            raise InputError(f"arm {arm}: training rows have a single response class")
        prep = ArmPreprocessor(median_cols, snp_cols, cat_cols).fit(arm_train)
        if prep.empty_cols:
            print(f"warning: arm {arm}: all training values missing in "
                  f"{prep.empty_cols}; imputed with 0", file=sys.stderr)
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(prep.transform(arm_train), y)
        models[arm] = (prep, model)
        print(f"{arm:<12}{len(arm_train):>8}{100 * y.mean():>6.1f}%"
              f"{len(prep.columns):>8}{int(model.n_iter_[0]):>7}")

    unseen = sorted(set(test[tcol]) - set(arms))
    if unseen:
        n = int(test[tcol].isin(unseen).sum())
        print(f"warning: {n} test rows with therapies not seen in training "
              f"({unseen}) are left out", file=sys.stderr)
        test = test[~test[tcol].isin(unseen)].copy()
    if test.empty:
        raise InputError("no test rows left to evaluate")

    test["p_sklearn"] = np.nan
    for arm in arms:
        mask = test[tcol] == arm
        if mask.any():
            prep, model = models[arm]
            test.loc[mask, "p_sklearn"] = model.predict_proba(prep.transform(test[mask]))[:, 1]

    # ---- oracle: truth.csv probability of the received therapy
    test["p_oracle"] = np.nan
    missing_truth = [a for a in arms if a not in truth_cols]
    if missing_truth:
        print(f"warning: truth.csv lacks p_ columns for {missing_truth}", file=sys.stderr)
    t = test[["patient_id", tcol]].merge(truth, on="patient_id", how="left")
    for arm in arms:
        if arm in truth_cols:
            m = (t[tcol] == arm).to_numpy()
            test.loc[m, "p_oracle"] = pd.to_numeric(t.loc[m, truth_cols[arm]]).to_numpy()
    n_no_truth = int(test["p_oracle"].isna().sum())
    if n_no_truth:
        print(f"warning: {n_no_truth} test rows have no truth probability; "
              "oracle AUC uses the rest", file=sys.stderr)

    # ---- responder's scores, if given
    have_resp = args.responder_scores is not None
    n_missing = 0
    if have_resp:
        scores = read_csv(args.responder_scores, "responder scores")
        score_cols = {c[2:]: c for c in scores.columns if c.startswith("p_")}
        lacking = [a for a in arms if a not in score_cols]
        if lacking:
            raise InputError(
                f"{args.responder_scores} has no p_ column for arm(s) {lacking} "
                f"(has {sorted(score_cols)})"
            )
        s = test[["patient_id", tcol]].merge(scores, on="patient_id", how="left")
        test["p_responder"] = np.nan
        for arm in arms:
            m = (s[tcol] == arm).to_numpy()
            test.loc[m, "p_responder"] = pd.to_numeric(
                s.loc[m, score_cols[arm]], errors="coerce").to_numpy()
        n_missing = int(test["p_responder"].isna().sum())
        extra = len(set(scores["patient_id"]) - set(test["patient_id"]))
        if n_missing:
            print(f"warning: {n_missing} of {len(test)} test patients have no usable "
                  f"responder probability; all AUCs below use only the "
                  f"{len(test) - n_missing} that do", file=sys.stderr)
            test = test[test["p_responder"].notna()]
            if test.empty:
                raise InputError(
                    f"no test patient of {args.dir} appears in {args.responder_scores}")
        if extra:
            print(f"note: {extra} patients in {args.responder_scores} are not "
                  "test patients and are ignored", file=sys.stderr)

    # ---- table
    groups = [("overall", np.ones(len(test), bool))] + [
        (arm, (test[tcol] == arm).to_numpy()) for arm in arms
    ]
    print()
    print("AUC of p(received therapy) vs observed response, test patients")
    header = f"{'group':<12}{'n':>6}{'resp%':>7}{'oracle':>9}{'sklearn':>9}"
    if have_resp:
        header += f"{'responder':>11}{'resp-skl':>10}"
    print(header)
    print("-" * len(header))
    overall = {}
    for name, m in groups:
        g = test[m]
        y = g[ycol].to_numpy()
        o = g["p_oracle"].notna().to_numpy()
        a_orc = auc(y[o], g["p_oracle"].to_numpy()[o])
        a_skl = auc(y, g["p_sklearn"].to_numpy())
        line = (f"{name:<12}{len(g):>6}{(100 * y.mean() if len(y) else float('nan')):>6.1f}%"
                f"{fmt(a_orc):>9}{fmt(a_skl):>9}")
        if have_resp:
            a_res = auc(y, g["p_responder"].to_numpy())
            line += f"{fmt(a_res):>11}{fmt_diff(a_res - a_skl):>10}"
        print(line)
        if name == "overall":
            overall = {"oracle": a_orc, "sklearn": a_skl}
            if have_resp:
                overall["responder"] = a_res

    print()
    bar = overall["sklearn"] - args.tolerance
    print(f"criterion: responder overall AUC >= sklearn {fmt(overall['sklearn']).strip()}"
          f" - {args.tolerance:g} = {bar:.4f}")
    if have_resp:
        ok = overall["responder"] >= bar and n_missing == 0
        print(f"responder overall AUC {fmt(overall['responder']).strip()}: "
              f"{'PASS' if ok else 'FAIL'} (margin {overall['responder'] - bar:+.4f})"
              + (f"; FAIL because {n_missing} test patients were not scored"
                 if n_missing else ""))
        if args.check and not ok:
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
