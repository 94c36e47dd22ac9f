#!/usr/bin/env bash
# A walkthrough of responder on the bundled example cohort.
# Run from the repository root:  bash examples/walkthrough.sh [OUTPUT_FOLDER]
# Everything it makes (bundles, plots, the model card) is kept in
# OUTPUT_FOLDER (default: a new folder under $TMPDIR), named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
R="${CARGO_TARGET_DIR:-target}/debug/responder"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/responder-walkthrough.XXXXXX")}"
mkdir -p "$WORK"
trap 'echo; echo "everything this walkthrough made is in $WORK (plots: $WORK/plots, model card: $WORK/card)"' EXIT

echo "== 1. a synthetic cohort with known truth (600 patients, 50 SNPs)"
$R simulate --patients 600 --snps 50 --seed 42 --out "$WORK/cohort"
cmp "$WORK/cohort/clinical.csv" examples/cohort/clinical.csv && echo "   identical to examples/cohort (same seed)"

echo "== 2. train one logistic model per therapy arm, with 5-fold CV"
$R train --data examples/cohort/clinical.csv --genotypes examples/cohort/genotypes.csv \
  --target responder --therapy-col therapy --param c=0.1 --seed 42 --out "$WORK/model.json"
cmp "$WORK/model.json" models/example.json && echo "   byte-identical to models/example.json"

echo "== 3. what is in the bundle"
$R inspect "$WORK/model.json"

echo "== 4. rank patients: the ten most likely responders, and their best therapy"
$R score --model "$WORK/model.json" --data examples/cohort/clinical.csv \
  --genotypes examples/cohort/genotypes.csv --top 10 --format table

echo "== 5. who is most likely to respond to ketamine (JSON for scripts)"
$R score --model "$WORK/model.json" --data examples/cohort/clinical.csv \
  --genotypes examples/cohort/genotypes.csv --therapy ketamine --top 3 --format json

echo "== 6. a real trial: Beat the Blues (computerised CBT vs usual care)"
$R train --data examples/trials/btheb_depression.csv --target responder \
  --therapy-col treatment --exclude bdi.2m --cv 5 --seed 1 --out "$WORK/btheb.json"
$R inspect "$WORK/btheb.json"

echo "== 7. evaluate: the example model on its own training data (apparent performance)"
$R evaluate --model "$WORK/model.json" --data examples/cohort/clinical.csv \
  --genotypes examples/cohort/genotypes.csv --target responder --bootstrap 500

echo "== 8. evaluate on patients the model has not seen: train on 700, test on 300"
$R simulate --patients 1000 --snps 50 --seed 7 --out "$WORK/sim" --quiet
head -n 701 "$WORK/sim/clinical.csv" > "$WORK/train.csv"
{ head -n 1 "$WORK/sim/clinical.csv"; tail -n 300 "$WORK/sim/clinical.csv"; } > "$WORK/test.csv"
$R train --data "$WORK/train.csv" --genotypes "$WORK/sim/genotypes.csv" --target responder \
  --therapy-col therapy --param c=0.1 --seed 7 --out "$WORK/sim.json" --quiet
$R evaluate --model "$WORK/sim.json" --data "$WORK/test.csv" --genotypes "$WORK/sim/genotypes.csv" \
  --target responder --plots "$WORK/plots"
ls "$WORK/plots"

echo "== 9. explain: coefficients, permutation importance, one patient"
$R explain --model "$WORK/sim.json" --data "$WORK/test.csv" --genotypes "$WORK/sim/genotypes.csv" \
  --target responder --patient P00990 --top 5

echo "== 10. a TRIPOD+AI model card with the held-out evaluation"
$R report --model "$WORK/sim.json" --data "$WORK/test.csv" --genotypes "$WORK/sim/genotypes.csv" \
  --target responder --out "$WORK/card"
sed -n 1,12p "$WORK/card/model-card.md"

echo "== 11. compare every algorithm on identical folds (Beat the Blues)"
$R compare --data examples/trials/btheb_depression.csv --target responder --therapy-col treatment \
  --exclude bdi.2m --algorithms all --cv 3 --repeats 2 --seed 1 --format table

echo "== 12. would following the recommendation have helped? (cross-fitted, with CIs)"
$R train -q --data examples/trials/btheb_depression.csv --target responder --therapy-col treatment \
  --exclude bdi.2m --cv 3 --seed 1 --out "$WORK/btheb3.json"
$R evaluate --model "$WORK/btheb3.json" --data examples/trials/btheb_depression.csv --cross-fitted \
  --bootstrap 1000 | sed -n '/treatment selection/,$p'
