#!/usr/bin/env bash
# Writes tests/fixtures/plink/: a PLINK 1 binary fileset (cohort.bed/.bim/.fam)
# made by plink 1.9 from 80 patients x 20 SNPs of examples/cohort (patients in
# reverse order, one call in 40 missing), and plink's own .raw export of it
# (`--recode A include-alt`), which responder's .bed reader must match.
# Needs Debian's plink1.9 (apt-get install plink1.9) and python3; CI reads
# the committed outputs only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/plink
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
rows = list(csv.reader(open("examples/cohort/genotypes.csv")))
snps = rows[0][1:21]
patients = rows[1:81][::-1]
with open(f"{work}/c.map", "w") as m:
    for k, s in enumerate(snps):
        m.write(f"1 {s} 0 {1000 + 100 * k}\n")
with open(f"{work}/c.ped", "w") as p:
    for j, r in enumerate(patients):
        calls = []
        for k, d in enumerate(r[1:21]):
            if d == "" or (j * 7 + k) % 40 == 0:
                calls.append("0 0")
            else:
                calls.append({"0": "G G", "1": "A G", "2": "A A"}[d])
        p.write(f"{r[0]} {r[0]} 0 0 0 -9 {' '.join(calls)}\n")
PY
plink1.9 --file "$work/c" --make-bed --out "$out/cohort" --silent --allow-no-sex
plink1.9 --bfile "$out/cohort" --recode A include-alt --out "$out/cohort" --silent --allow-no-sex
rm -f "$out"/cohort.log "$out"/cohort.nosex
ls -l "$out"
