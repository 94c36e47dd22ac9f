#!/usr/bin/env bash
# Polygenic score streamed over a genome-wide PLINK .bed (issue 17): a
# score over every SNP of PATIENTS × SNPS genotypes (default 5,000 ×
# 500,000: a 625 MB .bed whose dense f64 matrix would be 20 GB), fitted by
# `train` and recomputed by `score`, against plink 2's own `--score` on the
# same files. Wall time and peak memory from /usr/bin/time. The sums
# themselves are checked against plink 2 by the unit tests on the committed
# fixtures; this script measures time and memory only.
#
# Usage: bench/prs_bed.sh            (needs plink2: apt-get install plink2)
#   PATIENTS=5000 SNPS=500000 SEED=7 RESPONDER=path OUT=dir
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATIENTS="${PATIENTS:-5000}"
SNPS="${SNPS:-500000}"
SEED="${SEED:-7}"
OUT="${OUT:-$ROOT/bench/.perf-data/prs-${PATIENTS}x${SNPS}}"
BIN="${RESPONDER:-$ROOT/target/release/responder}"
TIME=/usr/bin/time
command -v plink2 >/dev/null || { echo "error: plink2 not found (apt-get install plink2)" >&2; exit 2; }
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$OUT"
cd "$OUT"
if [[ ! -f .done ]]; then
  plink2 --dummy "$PATIENTS" "$SNPS" 0.01 acgt --seed "$SEED" --make-bed --out geno --threads 2 >/dev/null
  # Weights on every SNP: effect allele A1 or A2 alternately, small betas.
  awk -v s="$SEED" 'BEGIN { srand(s); print "SNP\tA1\tBETA" }
    { printf "%s\t%s\t%.6f\n", $2, (NR % 2 ? $5 : $6), (rand() - 0.5) / 100 }' geno.bim > weights.txt
  awk -v s="$SEED" 'BEGIN { srand(s + 1); print "patient_id,age,responder" }
    { printf "%s,%d,%d\n", $2, 20 + int(rand() * 50), (rand() < 0.4) }' geno.fam > clinical.csv
  head -n 21 geno.bim | tail -n 20 | cut -f2 > snps.txt
  touch .done
fi
measure() { # label cmd...
  local label=$1; shift
  "$TIME" -f '%e %M' -o time.txt "$@" > /dev/null 2> err.txt || { cat err.txt >&2; exit 1; }
  read -r wall kb < time.txt
  printf '%-48s %8s s %8s MB\n' "$label" "$wall" "$((kb / 1024))"
}
echo "PRS over ${PATIENTS} patients x ${SNPS} SNPs from a .bed ($(du -h geno.bed | cut -f1); dense f64 matrix $((PATIENTS * SNPS * 8 / 1000000)) MB)"
echo
measure "responder train (20 SNP features + prs)" "$BIN" train --data clinical.csv --genotypes geno.bed \
  --snps snps.txt --prs-weights weights.txt --target responder --cv 0 --out model.json -q
measure "responder score (prs streamed)" "$BIN" score --model model.json --data clinical.csv \
  --genotypes geno.bed --format csv --out scores.csv -q
measure "plink2 --score (2 threads)" plink2 --bfile geno --score weights.txt 1 2 3 header cols=+scoresums \
  --threads 2 --out plink2_score
ls -l model.json | awk '{printf "model bundle: %d MB\n", $5 / 1000000}'
