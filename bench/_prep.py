"""Shared helpers of the scikit-learn reference scripts under bench/.

Mirrors responder's feature pipeline (fitted on training rows only):
  * numeric clinical columns: missing -> median of the training rows;
  * SNP dosage columns: missing -> mean of the training rows;
  * categorical clinical columns (any column with a non-numeric value, e.g.
    sex, anxiety): missing -> level "missing"; one-hot over ALL levels seen in
    the training rows (sorted, no drop-first); unseen levels -> all zeros;
  * every resulting column standardised with the training mean and population
    standard deviation (ddof=0); a column with sd 0 gets sd 1.

Only empty CSV fields count as missing (strings such as "NA" are not special).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

MISSING_LEVEL = "missing"


class InputError(Exception):
    """A problem with the input files; reported as a clear message, exit 2."""


# --------------------------------------------------------------------------- io


def read_csv(path: str, what: str) -> pd.DataFrame:
    if not os.path.isfile(path):
        raise InputError(f"{what} not found: {path}")
    try:
        # Everything as text first; only empty fields are missing.
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} is empty: {path}") from None
    except Exception as exc:  # noqa: BLE001 - report any parse failure plainly
        raise InputError(f"cannot parse {what} {path}: {exc}") from None
    df.columns = [c.strip() for c in df.columns]
    if "patient_id" not in df.columns:
        raise InputError(f"{what} {path} has no patient_id column")
    if df["patient_id"].isna().any():
        raise InputError(f"{what} {path} has rows with an empty patient_id")
    dup = df["patient_id"][df["patient_id"].duplicated()]
    if len(dup):
        raise InputError(
            f"{what} {path} has duplicate patient_id values, e.g. {dup.iloc[0]}"
        )
    return df


def is_numeric_column(values: pd.Series) -> bool:
    """True when every non-missing value parses as a number."""
    present = values.dropna()
    if present.empty:
        return True
    return bool(pd.to_numeric(present, errors="coerce").notna().all())


# ---------------------------------------------------------------- preprocessing


@dataclass
class ArmPreprocessor:
    """Per-arm imputation + one-hot + standardisation, fitted on training rows."""

    median_cols: list[str]
    mean_cols: list[str]
    cat_cols: list[str]

    def fit(self, df: pd.DataFrame) -> "ArmPreprocessor":
        self.fill: dict[str, float] = {}
        self.empty_cols: list[str] = []
        for col in self.median_cols + self.mean_cols:
            x = pd.to_numeric(df[col], errors="coerce")
            stat = x.median() if col in self.median_cols else x.mean()
            if pd.isna(stat):  # every training value missing in this arm
                self.empty_cols.append(col)
                stat = 0.0
            self.fill[col] = float(stat)
        self.levels: dict[str, list[str]] = {
            col: sorted(df[col].fillna(MISSING_LEVEL).unique().tolist())
            for col in self.cat_cols
        }
        raw = self._raw(df)
        self.columns = list(raw.columns)
        self.mean_ = raw.mean(axis=0).to_numpy()
        sd = raw.std(axis=0, ddof=0).to_numpy()
        sd[sd == 0] = 1.0
        self.sd_ = sd
        return self

    def _raw(self, df: pd.DataFrame) -> pd.DataFrame:
        parts: dict[str, np.ndarray] = {}
        for col in self.median_cols + self.mean_cols:
            parts[col] = pd.to_numeric(df[col], errors="coerce").fillna(self.fill[col]).to_numpy(float)
        for col in self.cat_cols:
            v = df[col].fillna(MISSING_LEVEL).to_numpy()
            for level in self.levels[col]:  # unseen levels -> all zeros
                parts[f"{col}={level}"] = (v == level).astype(float)
        return pd.DataFrame(parts, index=df.index)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        return (self._raw(df).to_numpy(float) - self.mean_) / self.sd_


# ----------------------------------------------------------------------- metrics


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """roc_auc_score, or NaN when only one class is present."""
    if len(y) == 0 or len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def fmt(x: float) -> str:
    return "   n/a" if x is None or np.isnan(x) else f"{x:6.4f}"


def fmt_diff(x: float) -> str:
    return "    n/a" if x is None or np.isnan(x) else f"{x:+7.4f}"
