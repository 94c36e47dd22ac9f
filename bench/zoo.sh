#!/usr/bin/env bash
# Model-zoo benchmark: `responder compare --algorithms all` vs the nearest
# scikit-learn equivalents (and LightGBM defaults for boosting) under the same
# protocol: per therapy arm, stratified 5-fold CV (1 repeat), preprocessing
# refitted inside every fold, on a simulated cohort (5,000 patients, 200 SNPs).
# Prints both AUCs side by side; exits 1 if some arm/algorithm misses the
# criteria (|responder - sklearn| <= 0.02; boosting >= LightGBM - 0.01).
#
# Usage: bench/zoo.sh
#   KEEP_WORK=1           keep the temp directory (cohort, responder.csv)
#   RESPONDER=path        responder binary to use (default: target/release/responder
#                         if it exists and has `compare`, else target/debug/responder;
#                         cargo build --release runs only when neither exists)
#   CV=5 REPEATS=1 SEED=7 the cross-validation protocol of both sides
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PATIENTS=5000
SNPS=200
SEED="${SEED:-7}"
CV="${CV:-5}"
REPEATS="${REPEATS:-1}"
VENV="$ROOT/bench/.venv"
PY="$VENV/bin/python"

# 1. Python environment for the reference.
if [[ ! -x "$PY" ]]; then
  BASE_PY="$(command -v python3.11 || command -v python3 || true)"
  [[ -n "$BASE_PY" ]] || { echo "error: python3 (3.11 recommended) not found" >&2; exit 2; }
  echo ">> creating $VENV with $BASE_PY"
  "$BASE_PY" -m venv "$VENV"
fi
echo ">> installing bench/requirements.txt"
"$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/bench/requirements.txt"

# 2. The responder binary: never rebuilt when one exists.
has_compare() { "$1" compare --help >/dev/null 2>&1; }
if [[ -n "${RESPONDER:-}" ]]; then
  BIN="$RESPONDER"
  [[ -x "$BIN" ]] || { echo "error: RESPONDER=$BIN is not an executable file" >&2; exit 2; }
else
  REL="$ROOT/target/release/responder"
  DBG="$ROOT/target/debug/responder"
  BIN=""
  if [[ -x "$REL" ]]; then
    if has_compare "$REL"; then
      BIN="$REL"
    else
      echo ">> $REL has no \`compare\` subcommand (stale build); trying the debug build" >&2
    fi
  fi
  if [[ -z "$BIN" && -x "$DBG" ]]; then
    BIN="$DBG"
  fi
  if [[ -z "$BIN" ]]; then
    if [[ -e "$REL" || -e "$DBG" ]]; then
      echo "error: no responder binary with \`compare\`; rebuild (cargo build --release) or set RESPONDER=" >&2
      exit 2
    fi
    echo ">> no responder binary found: cargo build --release"
    cargo build --release
    BIN="$REL"
  fi
fi
has_compare "$BIN" || { echo "error: $BIN has no \`compare\` subcommand" >&2; exit 2; }
echo ">> responder binary: $BIN"

WORK="$(mktemp -d)"
if [[ "${KEEP_WORK:-0}" == "1" ]]; then
  echo ">> work directory kept: $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

# 3. Simulate the cohort.
echo ">> simulate --patients $PATIENTS --snps $SNPS --seed $SEED"
"$BIN" simulate --patients "$PATIENTS" --snps "$SNPS" --seed "$SEED" --out "$WORK/cohort"

# 4. responder compare, every algorithm at its defaults.
echo ">> responder compare --algorithms all --cv $CV --repeats $REPEATS --seed $SEED"
START=$SECONDS
"$BIN" compare --data "$WORK/cohort/clinical.csv" --genotypes "$WORK/cohort/genotypes.csv" \
  --target responder --therapy-col therapy --algorithms all \
  --cv "$CV" --repeats "$REPEATS" --seed "$SEED" --format csv --out "$WORK/responder.csv"
echo ">> responder compare took $(( SECONDS - START )) s"

# 5. scikit-learn / LightGBM reference and the side-by-side table.
echo ">> scikit-learn / LightGBM reference"
echo
"$PY" "$ROOT/bench/zoo_reference.py" --dir "$WORK/cohort" --cv "$CV" --repeats "$REPEATS" \
  --seed "$SEED" --responder-csv "$WORK/responder.csv" --check
