#!/usr/bin/env bash
# `explain` on a wide model: 5,000 patients x 1,000 SNPs from `simulate`
# (seed 41), a DR-learner trained on the first 4,000 (lasso outcome models,
# the default on SNP dosages), explained on the other 1,000: the
# permutation importance per arm (--repeats 10) and the effect importance
# (--effects --repeats 3). Prints the wall time of each.
#
# Usage: cargo build --release && bash bench/explain_speed.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${RESPONDER:-$root/target/release/responder}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" simulate -q --patients 5000 --snps 1000 --seed 41 --out "$work/c"
head -4001 "$work/c/clinical.csv" > "$work/train.csv"
{ head -1 "$work/c/clinical.csv"; tail -1000 "$work/c/clinical.csv"; } > "$work/test.csv"
"$bin" train -q --data "$work/train.csv" --genotypes "$work/c/genotypes.csv" --target responder \
    --therapy-col therapy --strategy dr-learner --replicates 50 --out "$work/m.json" 2>/dev/null
t() {
    local s e
    s=$(date +%s%N)
    "$@" > /dev/null 2>&1
    e=$(date +%s%N)
    printf '%d.%02d' $(((e - s) / 1000000000)) $(((e - s) / 10000000 % 100))
}
echo "explain (importance, --repeats 10): $(t "$bin" explain --model "$work/m.json" --data "$work/test.csv" --genotypes "$work/c/genotypes.csv") s"
echo "explain --effects --repeats 3 (with the importance): $(t "$bin" explain --model "$work/m.json" --data "$work/test.csv" --genotypes "$work/c/genotypes.csv" --effects --repeats 3) s"
