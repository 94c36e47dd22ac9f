//! The polygenic score: reading a PLINK-style weights file, matching its
//! effect alleles to the training genotypes, and summing as
//! `plink --score FILE 1 2 3 sum` (PLINK 1.9) does.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::{DosageTable, Loaded};
use crate::error::{Error, Location, Result};
use crate::features::genotype::{locate, mean_finite};

/// One weight of the polygenic score, as matched at training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrsWeight {
    /// SNP ID.
    pub(crate) snp: String,
    /// The allele the weight is for.
    pub(crate) effect_allele: String,
    /// The weight.
    pub(crate) weight: f64,
    /// Whether the effect allele is the training file's *other* allele, so
    /// the effect-allele dosage is 2 − dosage.
    pub(crate) flip: bool,
    /// Mean effect-allele dosage over the training rows (2 × the effect
    /// allele's frequency), used for a missing genotype.
    pub(crate) impute: f64,
}

/// The polygenic score: `sum over SNPs of weight × effect-allele dosage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrsModel {
    /// The weights file's name.
    pub(crate) file: String,
    /// Missing genotypes take `impute` (PLINK's default); without it they
    /// contribute 0 (PLINK's `no-mean-imputation`).
    pub(crate) mean_imputation: bool,
    /// The matched weights, in file order.
    pub(crate) weights: Vec<PrsWeight>,
    /// Weights whose SNP was not in the training genotype file.
    pub(crate) unmatched: usize,
    /// Weights whose effect allele is neither allele of the SNP (skipped, as PLINK does).
    pub(crate) allele_mismatch: usize,
}

/// A line of a weights file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawWeight {
    /// SNP ID.
    pub(crate) snp: String,
    /// Effect allele.
    pub(crate) allele: String,
    /// Weight.
    pub(crate) weight: f64,
    /// Source line.
    pub(crate) line: u64,
}

/// Reads a score file as `plink --score FILE 1 2 3 [header]` does: SNP ID,
/// effect allele and weight in the first three fields, separated by
/// whitespace or commas; a first line whose third field is not a number is
/// a header; blank lines and lines starting with `#` are skipped.
pub(crate) fn read_weights(path: &str) -> Result<(String, Vec<RawWeight>)> {
    let loaded = Loaded::read(path)?;
    let file = loaded.name.clone();
    let text = std::str::from_utf8(&loaded.bytes)
        .map_err(|_| Error::data(Location::file(&file), "the file is not valid UTF-8 text"))?;
    let mut out: Vec<RawWeight> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        let was_first = std::mem::replace(&mut first, false);
        if fields.len() < 3 {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!(
                    "{} fields; a weights line needs SNP, effect allele and weight",
                    fields.len()
                ),
            ));
        }
        let weight = match fields[2].parse::<f64>() {
            Ok(w) if w.is_finite() => w,
            _ if was_first => continue, // a header line
            _ => {
                return Err(Error::data(
                    Location::file(&file).line(n).column("weight"),
                    format!("`{}` is not a number", fields[2]),
                ))
            }
        };
        if let Some(prev) = seen.insert(fields[0].to_string(), n) {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!(
                    "SNP `{}` has a weight on lines {prev} and {n}; give one weight per SNP",
                    fields[0]
                ),
            ));
        }
        out.push(RawWeight {
            snp: fields[0].to_string(),
            allele: fields[1].to_string(),
            weight,
            line: n,
        });
    }
    if out.is_empty() {
        return Err(Error::data(
            Location::file(&file),
            "the weights file has no weights",
        ));
    }
    Ok((loaded.base_name, out))
}

pub(super) fn fit_prs(
    g: &DosageTable,
    grows: &[usize],
    file: &str,
    raw: &[RawWeight],
    mean_imputation: bool,
) -> Result<(PrsModel, Vec<String>)> {
    let (mut unmatched, mut mismatch, mut assumed, mut no_alleles) =
        (0usize, 0usize, 0usize, 0usize);
    let mut weights = Vec::new();
    for w in raw {
        let Some(s) = g.find(&w.snp) else {
            unmatched += 1;
            continue;
        };
        let flip = match &g.alleles[s] {
            None => {
                no_alleles += 1;
                false
            }
            Some(a) if a.counted == w.allele => false,
            Some(a) => match &a.other {
                Some(o) if *o == w.allele => true,
                Some(_) => {
                    mismatch += 1;
                    continue;
                }
                None => {
                    assumed += 1;
                    true
                }
            },
        };
        let effect = |d: f64| if flip { 2.0 - d } else { d };
        let impute = mean_finite(grows.iter().map(|&r| effect(g.values[s][r]))).unwrap_or(0.0);
        weights.push(PrsWeight {
            snp: g.snp(s).to_string(),
            effect_allele: w.allele.clone(),
            weight: w.weight,
            flip,
            impute,
        });
    }
    if weights.is_empty() {
        return Err(Error::data(
            Location::file(file),
            format!(
                "none of the {} weights can be used with {}: {unmatched} SNPs are not in it and {mismatch} have an effect allele that is neither of the SNP's alleles",
                raw.len(),
                g.file
            ),
        ));
    }
    let mut notes = vec![format!(
        "{file}: polygenic score `prs` from {} of {} SNPs; {unmatched} not in {}, {mismatch} skipped because the effect allele is neither allele of the SNP",
        weights.len(),
        raw.len(),
        g.file
    )];
    if assumed > 0 {
        notes.push(format!(
            "{file}: for {assumed} SNPs the effect allele is not the counted allele and {} does not name the other allele; taken as the other allele (2 − dosage)",
            g.file
        ));
    }
    if no_alleles > 0 {
        notes.push(format!(
            "{file}: {} names no alleles, so its dosages are taken to count the effect allele of {no_alleles} SNPs",
            g.file
        ));
    }
    Ok((
        PrsModel {
            file: file.to_string(),
            mean_imputation,
            weights,
            unmatched,
            allele_mismatch: mismatch,
        },
        notes,
    ))
}

impl PrsModel {
    /// The score of every row in `grows` (genotype-file rows).
    pub(crate) fn compute(&self, g: &DosageTable, grows: &[usize]) -> Result<Vec<f64>> {
        let snps: Vec<&str> = self.weights.iter().map(|w| w.snp.as_str()).collect();
        let idx = locate(g, &snps, "the polygenic score `prs`")?;
        let mut out = vec![0.0; grows.len()];
        for (w, &s) in self.weights.iter().zip(&idx) {
            let col = &g.values[s];
            for (o, &r) in out.iter_mut().zip(grows) {
                let d = col[r];
                let x = if d.is_nan() {
                    if self.mean_imputation {
                        w.impute
                    } else {
                        0.0
                    }
                } else if w.flip {
                    2.0 - d
                } else {
                    d
                };
                *o += w.weight * x;
            }
        }
        Ok(out)
    }
}
