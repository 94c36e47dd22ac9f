#!/usr/bin/env bash
# `score` of a PLINK .bed by sample (issue 17): PATIENTS samples × SNPS SNPs
# (default 1,000,000 × 200) written by `plink2 --dummy`, a clinical file
# listing the samples in a shuffled order, a logistic model trained on the
# first 5,000; wall time and peak memory of scoring everyone, against the
# same model scoring the plink 1.9-style `.raw` export read whole would be
# (the .raw is not written: 1M × 200 dosages as text).
# Usage: bench/bed_score.sh   (needs plink2)   PATIENTS=… SNPS=… SEED=… OUT=…
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATIENTS="${PATIENTS:-1000000}"
SNPS="${SNPS:-200}"
SEED="${SEED:-7}"
OUT="${OUT:-$ROOT/bench/.perf-data/bed-${PATIENTS}x${SNPS}}"
BIN="${RESPONDER:-$ROOT/target/release/responder}"
command -v plink2 >/dev/null || { echo "error: plink2 not found (apt-get install plink2)" >&2; exit 2; }
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$OUT"
cd "$OUT"
if [[ ! -f .done ]]; then
  plink2 --dummy "$PATIENTS" "$SNPS" 0.01 acgt --seed "$SEED" --make-bed --out geno --threads 2 >/dev/null
  awk -v s="$SEED" 'BEGIN { srand(s); print "patient_id,age,responder" }
    { printf "%s,%d,%d\n", $2, 20 + int(rand() * 50), (rand() < 0.4) }' geno.fam > ordered.csv
  head -n 5001 ordered.csv > train.csv
  { head -n 1 ordered.csv
    awk -v s="$SEED" 'BEGIN { srand(s + 2) } NR > 1 { printf "%.12f\t%s\n", rand(), $0 }' ordered.csv |
      sort -t $'\t' -k1,1 | cut -f2-; } > clinical.csv
  touch .done
fi
"$BIN" train --data train.csv --genotypes geno.bed --target responder --cv 0 --out model.json -q
/usr/bin/time -f '%e %M' -o time.txt "$BIN" score --model model.json --data clinical.csv \
  --genotypes geno.bed --format csv --out scores.csv 2> err.txt
read -r wall kb < time.txt
echo "score ${PATIENTS} x ${SNPS} from a .bed, clinical file shuffled: ${wall} s, $((kb / 1024)) MB peak"
grep -h "joined on" err.txt
rm -f scores.csv
# The same with a polygenic score over every SNP of the fileset (weights
# drawn once, seeded) beside 20 SNP features: the score is streamed over the
# whole .bed once, then joined to each block of the clinical file.
awk -v s="$SEED" 'BEGIN { srand(s + 3); print "SNP\tA1\tBETA" } { printf "%s\t%s\t%.6f\n", $2, $5, rand() - 0.5 }' geno.bim > weights.txt
head -n 20 geno.bim | cut -f2 > snps.txt
"$BIN" train --data train.csv --genotypes geno.bed --snps snps.txt --prs-weights weights.txt \
  --target responder --cv 0 --out model_prs.json -q
/usr/bin/time -f '%e %M' -o time.txt "$BIN" score --model model_prs.json --data clinical.csv \
  --genotypes geno.bed --format csv --out scores.csv 2> err.txt
read -r wall kb < time.txt
echo "score ${PATIENTS} x ${SNPS} from a .bed with a polygenic score over all ${SNPS} SNPs: ${wall} s, $((kb / 1024)) MB peak"
grep -h "joined on\|reading whole" err.txt || true
sha256sum scores.csv | cut -c1-16
rm -f scores.csv
