#!/usr/bin/env bash
# Reading a wide VCF/BCF for a few SNPs (issue 17): SAMPLES samples × SNPS
# SNPs (default 3,000 × 20,000) written by `plink2 --dummy` as a bgzipped
# VCF and by `bcftools view -Ob` as a BCF; `train --snps` with 20 SNPs and
# `score` of that model, from each file: wall time, peak memory, and the
# hash of the scores (equal across the two files).
# Usage: bench/vcf_subset.sh   (needs plink2, bcftools)   SAMPLES=… SNPS=… OUT=…
#   RESPONDER=path  another binary (e.g. a previous build, for a before/after)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMPLES="${SAMPLES:-3000}"
SNPS="${SNPS:-20000}"
OUT="${OUT:-$ROOT/bench/.perf-data/vcf-subset-${SAMPLES}x${SNPS}}"
BIN="${RESPONDER:-$ROOT/target/release/responder}"
for t in plink2 bcftools; do
  command -v "$t" >/dev/null || { echo "error: $t not found (apt-get install plink2 bcftools)" >&2; exit 2; }
done
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$OUT"
cd "$OUT"
if [[ ! -f .done ]]; then
  plink2 --dummy "$SAMPLES" "$SNPS" 0.01 acgt --seed 3 --export vcf bgz id-paste=iid --out geno --threads 2 >/dev/null
  bcftools view -Ob -o geno.bcf geno.vcf.gz --threads 2
  { zcat geno.vcf.gz 2>/dev/null || true; } | awk -F'\t' '/^#CHROM/ { for (i = 10; i <= NF; i++) print $i; exit }' > ids.txt
  awk 'BEGIN { srand(5); print "patient_id,age,responder" }
    { printf "%s,%d,%d\n", $1, 20 + int(rand() * 50), (rand() < 0.4) }' ids.txt > clinical.csv
  # 20 SNPs spread over the file (every SNPS/20-th).
  { zcat geno.vcf.gz 2>/dev/null || true; } | awk -F'\t' -v step=$((SNPS / 20)) \
    '!/^#/ { n++; if (n % step == 1) print $3 }' > snps.txt
  touch .done
fi
for g in geno.vcf.gz geno.bcf; do
  /usr/bin/time -f '%e %M' -o time.txt "$BIN" train --data clinical.csv --genotypes "$g" --snps snps.txt \
    --target responder --cv 0 --out "model_$g.json" -q
  read -r wall kb < time.txt
  echo "train --snps (20 SNPs) from $g: ${wall} s, $((kb / 1024)) MB peak"
done
for g in geno.vcf.gz geno.bcf; do
  /usr/bin/time -f '%e %M' -o time.txt "$BIN" score --model model_geno.vcf.gz.json --data clinical.csv \
    --genotypes "$g" --format csv --out scores.csv 2> err.txt
  read -r wall kb < time.txt
  echo "score (20 SNPs) from $g: ${wall} s, $((kb / 1024)) MB peak, scores $(sha256sum scores.csv | cut -c1-16)"
  rm -f scores.csv
done
