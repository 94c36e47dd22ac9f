#!/usr/bin/env bash
# Polygenic score streamed over a genome-wide VCF/BCF (issue 17): a score
# over every SNP of PATIENTS × SNPS imputed dosages (default 5,000 × 50,000,
# written by `plink2 --dummy … dosage-freq=0.5` as a bgzipped VCF with DS,
# and as a BCF by bcftools), fitted by `train --snps` (20 SNP features plus
# the score) and recomputed by `score`, against plink 2's own `--score` on
# the same VCF. Held in a table, the score's SNPs would take 4 bytes a
# dosage (1 GB by default); streamed, 8 bytes a sample. Wall time and peak
# memory from /usr/bin/time; the sums are checked against plink 2 by the
# unit tests on the committed fixtures.
#
# Usage: bench/prs_vcf.sh   (needs plink2, bcftools)
#   PATIENTS=5000 SNPS=50000 SEED=7 OUT=dir
#   RESPONDER=path  another binary (e.g. a previous build, for a before/after)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATIENTS="${PATIENTS:-5000}"
SNPS="${SNPS:-50000}"
SEED="${SEED:-7}"
OUT="${OUT:-$ROOT/bench/.perf-data/prs-vcf-${PATIENTS}x${SNPS}}"
BIN="${RESPONDER:-$ROOT/target/release/responder}"
TIME=/usr/bin/time
for t in plink2 bcftools; do
  command -v "$t" >/dev/null || { echo "error: $t not found (apt-get install plink2 bcftools)" >&2; exit 2; }
done
[[ -x "$BIN" ]] || (cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$OUT"
cd "$OUT"
if [[ ! -f .done ]]; then
  plink2 --dummy "$PATIENTS" "$SNPS" 0.01 acgt dosage-freq=0.5 --seed "$SEED" \
    --export vcf bgz vcf-dosage=DS id-paste=iid --out geno --threads 2 >/dev/null
  bcftools view -Ob -o geno.bcf geno.vcf.gz --threads 2
  # Weights on every SNP: effect allele ALT or REF alternately, small betas.
  { zcat geno.vcf.gz 2>/dev/null || true; } | awk -F'\t' -v s="$SEED" '
    BEGIN { srand(s); print "SNP\tA1\tBETA" }
    /^#CHROM/ { for (i = 10; i <= NF; i++) print $i > "ids.txt"; next }
    /^#/ { next }
    { n++; printf "%s\t%s\t%.6f\n", $3, (n % 2 ? $5 : $4), (rand() - 0.5) / 100
      if (n % int('"$SNPS"' / 20) == 1) print $3 > "snps.txt" }' > weights.txt
  awk -v s="$SEED" 'BEGIN { srand(s + 1); print "patient_id,age,responder" }
    { printf "%s,%d,%d\n", $1, 20 + int(rand() * 50), (rand() < 0.4) }' ids.txt > clinical.csv
  touch .done
fi
# Three scores over every SNP in one file (weight columns scoreA..C).
[[ -f weights3.txt ]] || awk -v s="$SEED" 'BEGIN { srand(s + 2) } NR == 1 { print "SNP\tA1\tscoreA\tscoreB\tscoreC"; next }
  { printf "%s\t%s\t%s\t%.6f\t%.6f\n", $1, $2, $3, (rand() - 0.5) / 100, (rand() - 0.5) / 100 }' \
  weights.txt > weights3.txt
measure() { # label cmd...
  local label=$1; shift
  "$TIME" -f '%e %M' -o time.txt "$@" > /dev/null 2> err.txt || { cat err.txt >&2; exit 1; }
  read -r wall kb < time.txt
  printf '%-52s %8s s %8s MB\n' "$label" "$wall" "$((kb / 1024))"
}
echo "PRS over ${PATIENTS} patients x ${SNPS} imputed SNPs (geno.vcf.gz $(du -h geno.vcf.gz | cut -f1), geno.bcf $(du -h geno.bcf | cut -f1); f32 table of the score's SNPs $((PATIENTS * SNPS * 4 / 1000000)) MB)"
echo
measure "responder train (20 SNP features + prs) from VCF" "$BIN" train --data clinical.csv \
  --genotypes geno.vcf.gz --snps snps.txt --prs-weights weights.txt --target responder --cv 0 \
  --out model.json -q
for g in geno.vcf.gz geno.bcf; do
  measure "responder score (prs) from $g" "$BIN" score --model model.json --data clinical.csv \
    --genotypes "$g" --format csv --out "scores_$g.csv" -q
  echo "  scores $(sha256sum "scores_$g.csv" | cut -c1-16)"
done
measure "responder train (3 scores, one pass) from VCF" "$BIN" train --data clinical.csv \
  --genotypes geno.vcf.gz --snps snps.txt --prs-weights weights3.txt --target responder --cv 0 \
  --out model3.json -q
measure "responder score (3 scores) from geno.vcf.gz" "$BIN" score --model model3.json \
  --data clinical.csv --genotypes geno.vcf.gz --format csv --out scores3.csv -q
echo "  scores $(sha256sum scores3.csv | cut -c1-16)"
# The same weights located by position (CHR BP A1 A2 BETA, no ID): one
# more pass over the VCF's site fields to find the variants.
[[ -f weights_pos.txt ]] || { { zcat geno.vcf.gz 2>/dev/null || true; } |
  awk -F'\t' 'BEGIN { OFS = "\t" } !/^#/ { print $3, $1, $2, $4, $5 }' > sites.tsv
  awk -F'\t' 'BEGIN { OFS = "\t" } NR == FNR { c[$1] = $2; p[$1] = $3; r[$1] = $4; a[$1] = $5; next }
    FNR == 1 { print "CHR", "BP", "A1", "A2", "BETA"; next }
    { print c[$1], p[$1], $2, ($2 == a[$1] ? r[$1] : a[$1]), $3 }' sites.tsv weights.txt > weights_pos.txt; }
measure "responder train (prs by position) from VCF" "$BIN" train --data clinical.csv \
  --genotypes geno.vcf.gz --snps snps.txt --prs-weights weights_pos.txt --target responder --cv 0 \
  --out model_pos.json -q
measure "responder score (prs by position) from geno.vcf.gz" "$BIN" score --model model_pos.json \
  --data clinical.csv --genotypes geno.vcf.gz --format csv --out scores_pos.csv -q
echo "  scores $(sha256sum scores_pos.csv | cut -c1-16)"
measure "plink2 --score on the VCF (2 threads)" plink2 --vcf geno.vcf.gz dosage=DS \
  --score weights.txt 1 2 3 header cols=+scoresums --threads 2 --out plink2_score
