#!/usr/bin/env bash
# Times responder's own VCF text reader against noodles-vcf's record API on
# the same synthetic VCFs (2,000 samples x 2,000 SNPs, FORMAT GT and GT:DS),
# turning each into dosages; best of 3. The figures are quoted in the README
# (Genotypes) as the reason the VCF text reader is not noodles-vcf.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --lib vcf_speed -- --ignored --nocapture 2>&1 | grep -E "samples x"
