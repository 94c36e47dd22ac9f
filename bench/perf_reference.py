#!/usr/bin/env python3
"""Python side of bench/perf.sh: what a researcher would run instead of responder.

Every task reads the same CSV files responder reads (pandas, only empty fields
missing), inner-joins clinical and genotypes on patient_id, drops the therapy
column (one model, no per-arm split) and preprocesses inside a scikit-learn
Pipeline, mirroring responder's pipeline (and bench/_prep.py):
  numeric clinical -> SimpleImputer(median); SNP dosages -> SimpleImputer(mean);
  categorical (non-numeric columns) -> constant "missing" + OneHotEncoder over
  all training levels (unseen -> zeros); then StandardScaler (population sd,
  sd 0 -> 1) on every column.

Tasks (each prints one JSON object on stdout; the shell script measures wall
time and peak memory of the whole process with /usr/bin/time):
  logistic  end to end: read + join + cross_val_score(Pipeline(prep,
            LogisticRegression(C=1)), StratifiedKFold(5, shuffle)) + final fit;
            with --save-model, pickles the final pipeline (for `score`).
  fit       --model forest|lightgbm: fit on --clinical (training split), time
            the fit alone (prep + model, "fit_s"), AUC on --test-clinical.
  compare   logistic, RandomForest, LGBMClassifier under one
            StratifiedKFold(5) each (cross_val_score), AUC per algorithm.
  score     read + join + predict_proba + to_csv with a pickled pipeline.
  auc       AUC of a responder score CSV against the labels of a clinical CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ID = "patient_id"


def read(path: str) -> pd.DataFrame:
    # Only empty fields are missing (as in responder and bench/_prep.py).
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def load(clinical: str, genotypes: str, drop: list[str]) -> pd.DataFrame:
    clin = read(clinical)
    geno = read(genotypes)
    df = clin.merge(geno, on=ID, how="inner", sort=False)
    return df.drop(columns=[c for c in drop if c in df.columns])


def split_xy(df: pd.DataFrame, target: str):
    y = df[target].to_numpy()
    X = df.drop(columns=[ID, target])
    return X, y


def preprocessor(X: pd.DataFrame, geno_cols: set[str]) -> ColumnTransformer:
    cat = [c for c in X.columns if X[c].dtype == object]
    snp = [c for c in X.columns if c in geno_cols and c not in cat]
    num = [c for c in X.columns if c not in cat and c not in geno_cols]
    return ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), num),
            ("snp", SimpleImputer(strategy="mean"), snp),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                cat,
            ),
        ],
        sparse_threshold=0.0,
    )


def geno_columns(path: str) -> set[str]:
    with open(path) as f:
        return set(f.readline().rstrip("\r\n").split(",")) - {ID}


def make_model(name: str, seed: int):
    if name == "logistic":
        return LogisticRegression(C=1.0)
    if name == "forest":
        return RandomForestClassifier(
            n_estimators=200, max_features="sqrt", min_samples_leaf=5, n_jobs=2, random_state=seed
        )
    if name in ("lightgbm", "boosting"):
        import lightgbm

        return lightgbm.LGBMClassifier(verbose=-1, random_state=seed)
    raise SystemExit(f"unknown model {name}")


def pipeline(X, geno_cols, name, seed) -> Pipeline:
    return Pipeline(
        [("prep", preprocessor(X, geno_cols)), ("scale", StandardScaler()), ("model", make_model(name, seed))]
    )


def task_logistic(a) -> dict:
    t0 = time.perf_counter()
    df = load(a.clinical, a.genotypes, a.drop)
    X, y = split_xy(df, a.target)
    t_load = time.perf_counter() - t0
    pipe = pipeline(X, geno_columns(a.genotypes), "logistic", a.seed)
    cv = StratifiedKFold(n_splits=a.cv, shuffle=True, random_state=a.seed)
    t1 = time.perf_counter()
    scores = cross_val_score(pipe, X, y, cv=cv, scoring="roc_auc", n_jobs=a.jobs)
    t_cv = time.perf_counter() - t1
    t2 = time.perf_counter()
    pipe.fit(X, y)
    t_fit = time.perf_counter() - t2
    if a.save_model:
        with open(a.save_model, "wb") as f:
            pickle.dump(pipe, f)
    return {"auc": float(np.mean(scores)), "auc_sd": float(np.std(scores, ddof=1)),
            "load_s": t_load, "cv_s": t_cv, "fit_s": t_fit, "n": int(len(y))}


def task_fit(a) -> dict:
    t0 = time.perf_counter()
    df = load(a.clinical, a.genotypes, a.drop)
    X, y = split_xy(df, a.target)
    t_load = time.perf_counter() - t0
    pipe = pipeline(X, geno_columns(a.genotypes), a.model, a.seed)
    t1 = time.perf_counter()
    pipe.fit(X, y)
    t_fit = time.perf_counter() - t1
    test = load(a.test_clinical, a.test_genotypes or a.genotypes, a.drop)
    Xt, yt = split_xy(test, a.target)
    p = pipe.predict_proba(Xt)[:, 1]
    return {"auc": float(roc_auc_score(yt, p)), "load_s": t_load, "fit_s": t_fit,
            "n_train": int(len(y)), "n_test": int(len(yt))}


def task_compare(a) -> dict:
    df = load(a.clinical, a.genotypes, a.drop)
    X, y = split_xy(df, a.target)
    gc = geno_columns(a.genotypes)
    out = {}
    for name in ("logistic", "forest", "lightgbm"):
        cv = StratifiedKFold(n_splits=a.cv, shuffle=True, random_state=a.seed)
        t = time.perf_counter()
        s = cross_val_score(pipeline(X, gc, name, a.seed), X, y, cv=cv, scoring="roc_auc", n_jobs=a.jobs)
        out[name] = {"auc": float(np.mean(s)), "cv_s": time.perf_counter() - t}
    return out


def task_score(a) -> dict:
    with open(a.model_file, "rb") as f:
        pipe = pickle.load(f)
    t0 = time.perf_counter()
    df = load(a.clinical, a.genotypes, a.drop)
    ids = df[ID]
    X = df.drop(columns=[c for c in (ID, a.target) if c in df.columns])
    p = pipe.predict_proba(X)[:, 1]
    pd.DataFrame({ID: ids, "p": p}).to_csv(a.out, index=False)
    return {"n": int(len(ids)), "s": time.perf_counter() - t0}


def task_auc(a) -> dict:
    scores = pd.read_csv(a.scores)
    labels = read(a.clinical)[[ID, a.target]]
    pcols = [c for c in scores.columns if c.startswith("p")
             and c not in (ID,) and pd.api.types.is_float_dtype(scores[c])]
    if not pcols:
        raise SystemExit(f"no probability column in {a.scores}: {list(scores.columns)}")
    m = labels.merge(scores, on=ID, how="inner")
    return {"auc": float(roc_auc_score(m[a.target], m[pcols[0]])), "column": pcols[0], "n": int(len(m))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", choices=["logistic", "fit", "compare", "score", "auc"])
    ap.add_argument("--clinical")
    ap.add_argument("--genotypes")
    ap.add_argument("--test-clinical")
    ap.add_argument("--test-genotypes")
    ap.add_argument("--target", default="responder")
    ap.add_argument("--drop", default="therapy", help="columns to drop (comma-separated)")
    ap.add_argument("--model", default="forest", help="fit: forest | lightgbm")
    ap.add_argument("--model-file", help="score: pickled pipeline")
    ap.add_argument("--save-model", help="logistic: pickle the final pipeline here")
    ap.add_argument("--scores", help="auc: responder score CSV")
    ap.add_argument("--out", help="score: output CSV")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=None, help="n_jobs of cross_val_score (default serial)")
    a = ap.parse_args(argv)
    a.drop = [c for c in a.drop.split(",") if c]
    res = {"logistic": task_logistic, "fit": task_fit, "compare": task_compare,
           "score": task_score, "auc": task_auc}[a.task](a)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
