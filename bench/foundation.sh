#!/usr/bin/env bash
# Foundation acceptance benchmark: responder vs scikit-learn's per-arm
# LogisticRegression(C=1) on a simulated cohort (5,000 patients, 200 SNPs).
# Train on the first 4,000 patients, score the other 1,000 (target removed),
# and compare the AUC of p(received therapy) against observed response.
# Exits non-zero if responder's AUC is below the reference minus 0.01.
#
# Usage: bench/foundation.sh            (KEEP_WORK=1 keeps the temp directory)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PATIENTS=5000
SNPS=200
N_TRAIN=4000
SEED=7
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

# 2. Build responder.
echo ">> cargo build --release"
cargo build --release
BIN="$ROOT/target/release/responder"

WORK="$(mktemp -d)"
if [[ "${KEEP_WORK:-0}" == "1" ]]; then
  echo ">> work directory kept: $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

# 3. Simulate the cohort.
echo ">> simulate --patients $PATIENTS --snps $SNPS --seed $SEED"
"$BIN" simulate --patients "$PATIENTS" --snps "$SNPS" --seed "$SEED" --out "$WORK/cohort"
CLIN="$WORK/cohort/clinical.csv"
GENO="$WORK/cohort/genotypes.csv"

# 4. Split: first N_TRAIN data rows train, the rest test (target column removed).
ROWS=$(( $(wc -l < "$CLIN") - 1 ))
if (( ROWS <= N_TRAIN )); then
  echo "error: $CLIN has $ROWS data rows; need more than $N_TRAIN" >&2; exit 2
fi
head -n "$(( N_TRAIN + 1 ))" "$CLIN" > "$WORK/train.csv"
{ head -n 1 "$CLIN"; tail -n "+$(( N_TRAIN + 2 ))" "$CLIN"; } \
  | "$PY" -c '
import csv, sys
r = csv.reader(sys.stdin); w = csv.writer(sys.stdout, lineterminator="\n")
header = next(r)
if "responder" not in header:
    sys.exit("error: clinical.csv has no responder column")
k = header.index("responder")
for row in [header, *r]:
    w.writerow(row[:k] + row[k + 1:])
' > "$WORK/test.csv"
echo ">> split: $N_TRAIN train / $(( ROWS - N_TRAIN )) test rows"

# 5. Train and score with responder.
echo ">> responder train"
"$BIN" train --data "$WORK/train.csv" --genotypes "$GENO" --target responder \
  --therapy-col therapy --seed "$SEED" --out "$WORK/model.json"
echo ">> responder score"
"$BIN" score --model "$WORK/model.json" --data "$WORK/test.csv" --genotypes "$GENO" \
  --format csv --out "$WORK/scores.csv"

# 6. scikit-learn reference and comparison.
echo
"$PY" "$ROOT/bench/foundation_reference.py" --dir "$WORK/cohort" --n-train "$N_TRAIN" \
  --responder-scores "$WORK/scores.csv" --check
