#!/usr/bin/env bash
# Performance benchmark (issue 6): responder vs the pandas + scikit-learn /
# LightGBM pipeline a researcher would use instead, on the SAME files.
# Prints one table: wall time, peak memory (/usr/bin/time -f '%e %M'), AUC and
# the ratio responder / Python for each row. Not part of the tests.
#
# Usage: bench/perf.sh
#   SMALL=1               10x smaller cohorts (quick check of the script)
#   RESPONDER=path        use this binary (no cargo build)
#   PERF_DATA=dir         where cohorts and results go (default bench/.perf-data;
#                         cohorts are reused when already simulated)
#   SEED=7                seed of simulate, folds and models
#   A_PATIENTS A_SNPS B_PATIENTS B_SNPS SCORE_PATIENTS   cohort sizes
#                         (defaults 5000 1000 50000 200 1000000; SMALL=1 divides
#                         the patient counts and A_SNPS by 10)
#   PY_CV_JOBS=N          n_jobs of Python's cross_val_score (default: serial)
#   ROWS=train,forest,boosting,compare,score,scale,order   subset of rows to run
#   ORDER_PATIENTS="200000 1000000"   sizes of the order row (genotype file in
#                         another order than the clinical file)
#   SCALE_COPIES=5        the scale row scores this many copies of the scoring
#                         file in one (5M patients, 2.2 GB at full size)
#   KEEP_OUTPUTS=1        keep the forest bundle and the score outputs (~170 MB)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SMALL="${SMALL:-0}"
if [[ "$SMALL" == "1" ]]; then D=10; else D=1; fi
A_PATIENTS="${A_PATIENTS:-$((5000 / D))}"
A_SNPS="${A_SNPS:-$((1000 / D))}"
B_PATIENTS="${B_PATIENTS:-$((50000 / D))}"
B_SNPS="${B_SNPS:-200}"
SCORE_PATIENTS="${SCORE_PATIENTS:-$((1000000 / D))}"
SEED="${SEED:-7}"
ROWS="${ROWS:-train,forest,boosting,compare,score,scale,order}"
ORDER_PATIENTS="${ORDER_PATIENTS:-$((200000 / D)) $SCORE_PATIENTS}"
SCALE_COPIES="${SCALE_COPIES:-5}"
PERF_DATA="${PERF_DATA:-$ROOT/bench/.perf-data}"
VENV="$ROOT/bench/.venv"
PY="$VENV/bin/python"
REF="$ROOT/bench/perf_reference.py"
TIME=/usr/bin/time
PY_JOBS=()
[[ -n "${PY_CV_JOBS:-}" ]] && PY_JOBS=(--jobs "$PY_CV_JOBS")

want() { [[ ",$ROWS," == *",$1,"* ]]; }
log() { echo ">> $*" >&2; }
die() { echo "error: $*" >&2; exit 2; }

[[ -x "$TIME" ]] || die "$TIME not found (apt-get install time)"

# Run cargo through the shared build lock when flock exists.
cargo_locked() {
  if command -v flock >/dev/null 2>&1; then
    flock /tmp/cargo.lock cargo "$@"
  else
    cargo "$@"
  fi
}

# 1. Python environment.
if [[ ! -x "$PY" ]]; then
  BASE_PY="$(command -v python3.11 || command -v python3 || true)"
  [[ -n "$BASE_PY" ]] || die "python3 (3.11 recommended) not found"
  log "creating $VENV with $BASE_PY"
  "$BASE_PY" -m venv "$VENV"
fi
log "installing bench/requirements.txt into $VENV"
"$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/bench/requirements.txt"

# 2. Binaries: responder (release build unless RESPONDER is set) and the csv floor.
if [[ -n "${RESPONDER:-}" ]]; then
  BIN="$RESPONDER"
else
  log "cargo build --release"
  cargo_locked build --release --quiet
  BIN="$ROOT/target/release/responder"
fi
[[ -x "$BIN" ]] || die "responder binary $BIN is not executable"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
if want score; then
  log "building bench/csvfloor (parse floor)"
  (cd "$ROOT/bench/csvfloor" && cargo_locked build --release --quiet)
  FLOOR="$ROOT/bench/csvfloor/target/release/csvfloor"
fi
log "responder: $BIN ($("$BIN" --version))"

# 3. Cohorts (simulated once per size and seed, then reused).
mkdir -p "$PERF_DATA"
simulate() { # dir patients snps
  if [[ -f "$1/.done" ]]; then log "reusing $1"; return; fi
  log "simulate --patients $2 --snps $3 --seed $SEED -> $1"
  local t0=$SECONDS
  rm -rf "$1"
  "$BIN" simulate --patients "$2" --snps "$3" --seed "$SEED" --out "$1" -q
  touch "$1/.done"
  log "  took $((SECONDS - t0)) s, $(du -sh "$1" | cut -f1)"
}
A="$PERF_DATA/A-${A_PATIENTS}x${A_SNPS}-s$SEED"
B="$PERF_DATA/B-${B_PATIENTS}x${B_SNPS}-s$SEED"
S="$PERF_DATA/S-${SCORE_PATIENTS}x${B_SNPS}-s$SEED"
(want train || want forest || want boosting || want score || want scale) && simulate "$B" "$B_PATIENTS" "$B_SNPS"
want compare && simulate "$A" "$A_PATIENTS" "$A_SNPS"
(want score || want scale || want order) && simulate "$S" "$SCORE_PATIENTS" "$B_SNPS"

# Held-out split of B for forest and boosting: the first 80 % of clinical.csv
# rows train, the last 20 % test (target column kept; responder ignores it when
# scoring, and both sides take the labels from the same file).
if want forest || want boosting; then
  if [[ ! -f "$B/split.done" ]]; then
    n_train=$((B_PATIENTS * 8 / 10))
    head -n $((n_train + 1)) "$B/clinical.csv" > "$B/train.csv"
    { head -n 1 "$B/clinical.csv"; tail -n +$((n_train + 2)) "$B/clinical.csv"; } > "$B/test.csv"
    touch "$B/split.done"
  fi
fi

RES="$PERF_DATA/results-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RES"
log "results in $RES"

# measure TAG CMD... : run CMD with stdout/stderr in $RES/TAG.{out,err};
# sets WALL (s), PEAK (MB) and CPU (user + system s) from /usr/bin/time.
measure() {
  local tag=$1; shift
  log "$tag: $*"
  if ! "$TIME" -f '%e %M %U %S' -o "$RES/$tag.time" "$@" >"$RES/$tag.out" 2>"$RES/$tag.err"; then
    echo "error: $tag failed; stderr:" >&2
    tail -n 20 "$RES/$tag.err" >&2
    exit 1
  fi
  local u sys
  read -r WALL PEAK_KB u sys < <(tail -n 1 "$RES/$tag.time")
  PEAK=$((PEAK_KB / 1024))
  CPU=$(awk -v a="$u" -v b="$sys" 'BEGIN { printf "%.1f", a + b }')
  log "  $WALL s wall, $CPU s cpu, $PEAK MB"
}
json() { # FILE EXPR : evaluate a Python expression on the JSON in FILE (as j)
  "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
# The CV AUC of a one-model bundle, from `inspect --format json`.
bundle_auc() {
  "$BIN" inspect "$1" --format json > "$1.inspect.json"
  "$PY" - "$1.inspect.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
def find(o):
    if isinstance(o, dict):
        if o.get("cv_auc_mean") is not None:
            return o["cv_auc_mean"]
        for v in o.values():
            r = find(v)
            if r is not None:
                return r
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r is not None:
                return r
    return None
r = find(j)
print("n/a" if r is None else f"{r:.4f}")
EOF
}
ratio() { "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b>0 else 'n/a')" "$1" "$2"; }

TABLE="$RES/table.txt"
row() { # task tool wall cpu fit peak auc ratio
  printf '%-42s %-23s %8s %8s %8s %8s %-23s %s\n' "$@" >> "$TABLE"
}
: > "$TABLE"
row "task" "tool" "wall s" "cpu s" "fit s" "peak MB" "AUC" "ratio resp/py"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATAB=(--data "$B/clinical.csv" --genotypes "$B/genotypes.csv" --target responder)

# Row 1: end-to-end logistic, 5-fold CV + final fit, one model (therapy excluded).
if want train || want score || want scale || want order; then
  measure r_logistic "$BIN" train "${DATAB[@]}" --exclude therapy --algorithm logistic \
    --cv 5 --seed "$SEED" --out "$RES/logistic.json" -q
  RW=$WALL RC=$CPU RP=$PEAK RA=$(bundle_auc "$RES/logistic.json")
  measure p_logistic "$PY" "$REF" logistic --clinical "$B/clinical.csv" --genotypes "$B/genotypes.csv" \
    --drop therapy --cv 5 --seed "$SEED" "${PY_JOBS[@]}" --save-model "$RES/logistic.pkl"
  PA=$(json "$RES/p_logistic.out" '"%.4f" % j["auc"]')
  PF=$(json "$RES/p_logistic.out" '"%.2f+%.2f+%.2f" % (j["load_s"], j["cv_s"], j["fit_s"])')
  row "train logistic cv5, B ${B_PATIENTS}x${B_SNPS}" "responder" "$RW" "$RC" "-" "$RP" "$RA" "$(ratio "$RW" "$WALL")"
  row "" "pandas+sklearn" "$WALL" "$CPU" "-" "$PEAK" "$PA" "(read+cv+fit $PF)"
fi

# Rows 2-3: forest and boosting, fit on 80 % of B, AUC on the other 20 %.
fit_row() { # responder-algo python-model label python-label
  measure "r_$1" "$BIN" train --data "$B/train.csv" --genotypes "$B/genotypes.csv" --target responder \
    --exclude therapy --algorithm "$1" --cv 0 --seed "$SEED" --out "$RES/$1.json" -q
  local rw=$WALL rc=$CPU rp=$PEAK
  "$BIN" score --model "$RES/$1.json" --data "$B/test.csv" --genotypes "$B/genotypes.csv" \
    --format csv --out "$RES/$1.test-scores.csv" -q
  local ra
  ra=$("$PY" "$REF" auc --scores "$RES/$1.test-scores.csv" --clinical "$B/test.csv" | \
       "$PY" -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["auc"])')
  measure "p_$1" "$PY" "$REF" fit --model "$2" --clinical "$B/train.csv" --genotypes "$B/genotypes.csv" \
    --test-clinical "$B/test.csv" --drop therapy --seed "$SEED"
  local pa pf
  pa=$(json "$RES/p_$1.out" '"%.4f" % j["auc"]')
  pf=$(json "$RES/p_$1.out" '"%.2f" % j["fit_s"]')
  row "$3 fit, 80% of B, AUC 20%" "responder" "$rw" "$rc" "$rw" "$rp" "$ra" "$(ratio "$rw" "$pf") (fit)"
  row "" "$4" "$WALL" "$CPU" "$pf" "$PEAK" "$pa" ""
}
want forest && fit_row forest forest "forest 200 trees" "sklearn RF n_jobs=2"
want boosting && fit_row boosting lightgbm "boosting" "LightGBM defaults"

# Row 4: compare logistic, forest, boosting on A, 5-fold CV, one model.
if want compare; then
  measure r_compare "$BIN" compare --data "$A/clinical.csv" --genotypes "$A/genotypes.csv" --target responder \
    --exclude therapy --algorithms logistic,forest,boosting --cv 5 --repeats 1 --seed "$SEED" \
    --format csv --out "$RES/compare.csv" -q
  RW=$WALL RC=$CPU RP=$PEAK
  RA=$("$PY" - "$RES/compare.csv" <<'EOF'
import sys, pandas as pd
d = pd.read_csv(sys.argv[1])
algo = next(c for c in d.columns if c.lower() in ("algorithm", "algo"))
auc = next(c for c in d.columns if c.lower() in ("auc_mean", "auc"))
m = d.groupby(algo)[auc].mean()
print("/".join(f"{m.get(a, float('nan')):.3f}" for a in ("logistic", "forest", "boosting")))
EOF
)
  measure p_compare "$PY" "$REF" compare --clinical "$A/clinical.csv" --genotypes "$A/genotypes.csv" \
    --drop therapy --cv 5 --seed "$SEED" "${PY_JOBS[@]}"
  PA=$(json "$RES/p_compare.out" '"/".join("%.3f" % j[a]["auc"] for a in ("logistic","forest","lightgbm"))')
  row "compare log/forest/boost cv5, A ${A_PATIENTS}x${A_SNPS}" "responder" "$RW" "$RC" "-" "$RP" "$RA" "$(ratio "$RW" "$WALL")"
  row "" "sklearn/LightGBM" "$WALL" "$CPU" "-" "$PEAK" "$PA" ""
fi

# Row 5: score the big file with the logistic model trained on B (row 1).
if want score; then
  # Files in the page cache first; the floor is measured just before and just
  # after responder's run and the faster of the two is kept (the stricter
  # comparison for responder).
  cat "$S/clinical.csv" "$S/genotypes.csv" > /dev/null
  measure floor "$FLOOR" "$S/clinical.csv" "$S/genotypes.csv"
  FW=$WALL FC=$CPU FP=$PEAK
  measure r_score "$BIN" score --model "$RES/logistic.json" --data "$S/clinical.csv" \
    --genotypes "$S/genotypes.csv" --format csv --out "$RES/scores.csv" -q
  RW=$WALL RC=$CPU RP=$PEAK
  measure floor2 "$FLOOR" "$S/clinical.csv" "$S/genotypes.csv"
  if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$WALL" "$FW"; then
    FW=$WALL FC=$CPU FP=$PEAK
  fi
  measure p_score "$PY" "$REF" score --model-file "$RES/logistic.pkl" --clinical "$S/clinical.csv" \
    --genotypes "$S/genotypes.csv" --drop therapy --out "$RES/py_scores.csv"
  PW=$WALL PC=$CPU PP=$PEAK
  row "score ${SCORE_PATIENTS}x${B_SNPS} (logistic of B)" "responder" "$RW" "$RC" "-" "$RP" "-" "$(ratio "$RW" "$PW")"
  row "" "pandas+predict_proba" "$PW" "$PC" "-" "$PP" "-" ""
  row "" "csv-crate parse floor" "$FW" "$FC" "-" "$FP" "-" "resp/floor $(ratio "$RW" "$FW")"
fi

# Row 6: memory whatever the number of rows: the scoring file repeated
# SCALE_COPIES times (IDs prefixed R0…, R1…) and scored with the same model;
# beyond --spill-rows (1,000,000) the ranking goes to sorted temporary runs.
if want scale; then
  K="$PERF_DATA/K-${SCALE_COPIES}x${SCORE_PATIENTS}x${B_SNPS}-s$SEED"
  if [[ ! -f "$K/.done" ]]; then
    log "writing $SCALE_COPIES copies of $S -> $K"
    mkdir -p "$K"
    for f in clinical genotypes; do
      head -n 1 "$S/$f.csv" > "$K/$f.csv"
      for ((k = 0; k < SCALE_COPIES; k++)); do
        tail -n +2 "$S/$f.csv" | sed "s/^/R$k/" >> "$K/$f.csv"
      done
    done
    touch "$K/.done"
  fi
  measure r_scale "$BIN" score --model "$RES/logistic.json" --data "$K/clinical.csv" \
    --genotypes "$K/genotypes.csv" --format csv --out "$RES/scale-scores.csv" -q
  row "score $((SCALE_COPIES * SCORE_PATIENTS))x${B_SNPS} (memory)" "responder" "$WALL" "$CPU" "-" "$PEAK" "-" "-"
  rm -f "$RES/scale-scores.csv"
fi

# Row 7: the genotype file in its own order (as PLINK sorts by ID): the first
# N patients of S, genotype lines shuffled with a fixed seed; responder
# indexes the genotype file (one pass) and streams the clinical file.
if want order; then
  for N in $ORDER_PATIENTS; do
    O="$PERF_DATA/O-${N}x${B_SNPS}-s$SEED"
    if [[ ! -f "$O/.done" ]]; then
      log "writing the first $N patients of $S, genotypes shuffled -> $O"
      mkdir -p "$O"
      head -n $((N + 1)) "$S/clinical.csv" > "$O/clinical.csv"
      { head -n 1 "$S/genotypes.csv"
        # (awk reads the whole file: `head` would end the pipe early, which
        # pipefail turns into a failure)
        awk -v s="$SEED" -v n="$N" 'BEGIN { srand(s) } NR > 1 && NR <= n + 1 { printf "%.12f\t%s\n", rand(), $0 }' "$S/genotypes.csv" |
          sort -t $'\t' -k1,1 | cut -f2-; } > "$O/genotypes.csv"
      touch "$O/.done"
    fi
    cat "$O/clinical.csv" "$O/genotypes.csv" > /dev/null
    measure "r_order_$N" "$BIN" score --model "$RES/logistic.json" --data "$O/clinical.csv" \
      --genotypes "$O/genotypes.csv" --format csv --out "$RES/order-scores.csv"
    RW=$WALL RC=$CPU RP=$PEAK
    grep -q "was indexed" "$RES/r_order_$N.err" || die "order row: the genotype file was not indexed (see $RES/r_order_$N.err)"
    measure "p_order_$N" "$PY" "$REF" score --model-file "$RES/logistic.pkl" --clinical "$O/clinical.csv" \
      --genotypes "$O/genotypes.csv" --drop therapy --out "$RES/py_order_scores.csv"
    row "score ${N}x${B_SNPS}, genotypes in own order" "responder" "$RW" "$RC" "-" "$RP" "-" "$(ratio "$RW" "$WALL")"
    row "" "pandas+predict_proba" "$WALL" "$CPU" "-" "$PEAK" "-" ""
    rm -f "$RES/order-scores.csv" "$RES/py_order_scores.csv"
  done
fi

# The big outputs (forest bundle ~90 MB at full size, 1M-row score files)
# are deleted unless KEEP_OUTPUTS=1; the table and the small files stay.
if [[ "${KEEP_OUTPUTS:-0}" != "1" ]]; then
  rm -f "$RES/forest.json" "$RES/scores.csv" "$RES/py_scores.csv"
fi

echo
echo "responder $("$BIN" --version | awk '{print $2}') ($BIN), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
cat "$TABLE"
echo
echo "load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(ratio: wall of the whole process, except forest/boosting: responder train --cv 0 wall"
echo " vs the Python Pipeline.fit time; details and raw outputs in $RES)"
