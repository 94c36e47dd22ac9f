#!/usr/bin/env bash
# Treatment-selection benchmark (issue "Treatment selection"): simulate
# 5,000 patients × 200 SNPs, train on the first 4,000, evaluate the
# recommendations on the other 1,000 against the simulated truth.
# Prints, per model, the share of patients whose recommended therapy is the
# truly best one (overall and among those with a true advantage >= 0.10), the
# mean regret and the selection benefit with its CI.
# Usage: bash bench/selection.sh      (RESPONDER=path overrides the binary)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${RESPONDER:-}" ]]; then
  cargo build --release --quiet
  RESPONDER="$ROOT/target/release/responder"
fi
R="$RESPONDER"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
$R simulate -q --patients 5000 --snps 200 --seed 7 --out "$WORK/c"
head -n 4001 "$WORK/c/clinical.csv" > "$WORK/train.csv"
{ head -n 1 "$WORK/c/clinical.csv"; tail -n +4002 "$WORK/c/clinical.csv"; } > "$WORK/test.csv"
run() {
  local name="$1"; shift
  $R train -q --data "$WORK/train.csv" --genotypes "$WORK/c/genotypes.csv" --target responder \
    --therapy-col therapy --seed 7 --out "$WORK/$name.json" "$@"
  $R evaluate -q --model "$WORK/$name.json" --data "$WORK/test.csv" --genotypes "$WORK/c/genotypes.csv" \
    --truth "$WORK/c/truth.csv" --bootstrap 1000 --format json --out "$WORK/$name.eval.json"
  python3 - "$name" "$WORK/$name.eval.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
e = json.load(open(path)); s = e["selection"]; t = s["truth"]
b = s["benefit_vs_best_single"]
print(f"{name:<34} AUC {e['overall']['auc']['estimate']:.4f}  best={100*t['correct_share']:.1f}%  "
      f"best|adv>=0.10={100*t['correct_share_clear']:.1f}% (n={t['n_clear']})  regret={t['mean_regret']:.4f}  "
      f"benefit vs {s['best_single_therapy']}={100*b['value']:+.1f} [{100*b['lo']:.1f}, {100*b['hi']:.1f}]")
PY
}
run "t-learner-logistic"
run "t-learner-auto" --algorithm auto
run "t-learner-lasso-a0.03" --algorithm elastic-net --param alpha=0.03 --param l1_ratio=1
run "s-learner-lasso-a0.01" --strategy s-learner --algorithm elastic-net --param alpha=0.01 --param l1_ratio=1
