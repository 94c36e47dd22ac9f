#!/usr/bin/env bash
# `score` with a bgzipped VCF (issue 17): PATIENTS samples × SNPS SNPs
# (default 200,000 × 200) written by `plink2 --dummy … --export vcf bgz`, a
# clinical file listing the samples in a shuffled order, a logistic model
# trained on the first 5,000; wall time and peak memory of scoring everyone.
# Usage: bench/vcf_score.sh   (needs plink2; bcftools for the BCF row)   PATIENTS=… SNPS=… SEED=… OUT=…
#   RESPONDER=path  another binary (e.g. a previous build, for a before/after)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATIENTS="${PATIENTS:-200000}"
SNPS="${SNPS:-200}"
SEED="${SEED:-7}"
OUT="${OUT:-$ROOT/bench/.perf-data/vcf-${PATIENTS}x${SNPS}}"
BIN="${RESPONDER:-$ROOT/target/release/responder}"
command -v plink2 >/dev/null || { echo "error: plink2 not found (apt-get install plink2)" >&2; exit 2; }
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$OUT"
cd "$OUT"
if [[ ! -f .done ]]; then
  plink2 --dummy "$PATIENTS" "$SNPS" 0.01 acgt --seed "$SEED" --export vcf bgz id-paste=iid \
    --out geno --threads 2 >/dev/null
  { zcat geno.vcf.gz 2>/dev/null || true; } | awk -F'\t' '/^#CHROM/ { for (i = 10; i <= NF; i++) print $i; exit }' > ids.txt
  awk -v s="$SEED" 'BEGIN { srand(s); print "patient_id,age,responder" }
    { printf "%s,%d,%d\n", $1, 20 + int(rand() * 50), (rand() < 0.4) }' ids.txt > ordered.csv
  head -n 5001 ordered.csv > train.csv
  { head -n 1 ordered.csv
    awk -v s="$SEED" 'BEGIN { srand(s + 2) } NR > 1 { printf "%.12f\t%s\n", rand(), $0 }' ordered.csv |
      sort -t $'\t' -k1,1 | cut -f2-; } > clinical.csv
  rm -f ids.txt
  touch .done
fi
"$BIN" train --data train.csv --genotypes geno.vcf.gz --target responder --cv 0 --out model.json -q
/usr/bin/time -f '%e %M' -o time.txt "$BIN" score --model model.json --data clinical.csv \
  --genotypes geno.vcf.gz --format csv --out scores.csv 2> err.txt
read -r wall kb < time.txt
echo "score ${PATIENTS} x ${SNPS} from a bgzipped VCF, clinical file shuffled: ${wall} s, $((kb / 1024)) MB peak"
grep -h "joined on\|reading whole" err.txt || true
sha256sum scores.csv | cut -c1-16
rm -f scores.csv
# The same genotypes as a BCF (bcftools view -Ob), when bcftools is here.
if command -v bcftools >/dev/null; then
  [[ -f geno.bcf ]] || bcftools view -Ob -o geno.bcf geno.vcf.gz --threads 2
  /usr/bin/time -f '%e %M' -o time.txt "$BIN" score --model model.json --data clinical.csv \
    --genotypes geno.bcf --format csv --out scores.csv 2> err.txt
  read -r wall kb < time.txt
  echo "score ${PATIENTS} x ${SNPS} from a BCF, clinical file shuffled: ${wall} s, $((kb / 1024)) MB peak"
  sha256sum scores.csv | cut -c1-16
  rm -f scores.csv
fi
