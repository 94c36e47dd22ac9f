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

/// Column names (compared case-insensitively) of the SNP ID, the effect
/// allele and the weight: PLINK's (`SNP A1 BETA`), the PGS Catalog's
/// (`rsID effect_allele effect_weight`, or `hm_rsID` in harmonised files)
/// and common GWAS summary layouts.
const SNP_NAMES: [&str; 8] = [
    "rsid",
    "snp",
    "id",
    "hm_rsid",
    "snpid",
    "variant_id",
    "markername",
    "marker",
];
const ALLELE_NAMES: [&str; 5] = ["effect_allele", "a1", "ea", "allele1", "effectallele"];
const WEIGHT_NAMES: [&str; 6] = ["effect_weight", "beta", "weight", "score", "b", "effect"];

/// Where the three fields of a weights line are.
#[derive(Debug, Clone, Copy)]
struct WeightColumns {
    snp: usize,
    allele: usize,
    weight: usize,
}

/// The columns of a header line, found by name; `None` when the line names
/// none of them. A header that names some but not all, or whose weight
/// cannot be told, is an error saying what to do.
fn header_columns(file: &str, line: u64, fields: &[&str]) -> Result<Option<WeightColumns>> {
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| fields.iter().position(|f| f.eq_ignore_ascii_case(n)))
    };
    let (snp, allele, weight) = (find(&SNP_NAMES), find(&ALLELE_NAMES), find(&WEIGHT_NAMES));
    let hint = "name the columns SNP, A1 and BETA (PLINK's layout) or rsID, effect_allele and effect_weight (the PGS Catalog's), or give three columns in that order";
    match (snp, allele, weight) {
        (Some(snp), Some(allele), Some(weight)) => Ok(Some(WeightColumns {
            snp,
            allele,
            weight,
        })),
        (None, None, None) if fields.len() == 3 => Ok(None),
        _ => {
            let ratio = fields
                .iter()
                .find(|f| ["or", "hr"].iter().any(|r| f.eq_ignore_ascii_case(r)));
            let why = if let (Some(r), None) = (ratio, weight) {
                format!("the weights are in column `{r}`, a ratio: a score sums log ratios, so convert it (log({r})) into a column named BETA")
            } else if snp.is_none()
                && fields
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case("chr_position"))
            {
                "the file locates variants by chr_name/chr_position only; responder matches weights by SNP ID: use a file with rsID (or hm_rsID, as in the PGS Catalog's harmonised files)".to_string()
            } else {
                let missing: Vec<&str> = [
                    (snp, "SNP ID"),
                    (allele, "effect allele"),
                    (weight, "weight"),
                ]
                .iter()
                .filter(|(c, _)| c.is_none())
                .map(|(_, w)| *w)
                .collect();
                format!(
                    "cannot tell which column holds the {}: {hint}",
                    missing.join(" and the ")
                )
            };
            Err(Error::data(Location::file(file).line(line), why))
        }
    }
}

/// The `#weight_type=` of a PGS Catalog header, refused when the weights
/// are ratios (a score sums betas or log ratios).
fn check_weight_type(file: &str, line: u64, comment: &str) -> Result<()> {
    let Some(kind) = comment
        .trim_start_matches('#')
        .trim()
        .strip_prefix("weight_type=")
    else {
        return Ok(());
    };
    let k = kind.trim().to_ascii_uppercase();
    if k == "OR" || k == "HR" || k == "ODDS RATIO" || k == "HAZARD RATIO" {
        return Err(Error::data(
            Location::file(file).line(line),
            format!(
                "the weights are {} (`weight_type={}`): a score sums log ratios, so convert effect_weight with log() first",
                if k.starts_with('O') { "odds ratios" } else { "hazard ratios" },
                kind.trim()
            ),
        ));
    }
    Ok(())
}

/// Reads a score file: PLINK's `--score FILE 1 2 3 [header]` layout (SNP
/// ID, effect allele and weight in the first three fields, separated by
/// whitespace or commas) or, when a header names them, the columns by name
/// (PLINK `SNP A1 BETA`, PGS Catalog `rsID … effect_allele … effect_weight`
/// with its `#` header lines). Blank lines and lines starting with `#` are
/// skipped; a weight that is not a number is an error naming the line.
pub(crate) fn read_weights(path: &str) -> Result<(String, Vec<RawWeight>)> {
    let loaded = Loaded::read(path)?;
    let file = loaded.name.clone();
    let text = std::str::from_utf8(&loaded.bytes)
        .map_err(|_| Error::data(Location::file(&file), "the file is not valid UTF-8 text"))?;
    let mut out: Vec<RawWeight> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut columns: Option<WeightColumns> = None;
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.starts_with('#') {
            check_weight_type(&file, n, line)?;
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if std::mem::replace(&mut first, false) {
            let numeric = fields.get(2).is_some_and(|w| w.parse::<f64>().is_ok());
            if !numeric && fields.len() >= 3 {
                columns = header_columns(&file, n, &fields)?;
                continue;
            }
        }
        let c = columns.unwrap_or(WeightColumns {
            snp: 0,
            allele: 1,
            weight: 2,
        });
        let weight = weight_of(&file, n, &fields, c)?;
        let (snp, allele) = (fields[c.snp], fields[c.allele]);
        if let Some(prev) = seen.insert(snp.to_string(), n) {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!(
                    "SNP `{snp}` has a weight on lines {prev} and {n}; give one weight per SNP"
                ),
            ));
        }
        out.push(RawWeight {
            snp: snp.to_string(),
            allele: allele.to_string(),
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

/// The weight on weights-file line `n` (columns `c`), checking the line
/// has every column the layout needs.
fn weight_of(file: &str, n: u64, fields: &[&str], c: WeightColumns) -> Result<f64> {
    let need = c.snp.max(c.allele).max(c.weight) + 1;
    if fields.len() < need {
        return Err(Error::data(
            Location::file(file).line(n),
            format!(
                "{} fields; a weights line needs SNP, effect allele and weight{}",
                fields.len(),
                if need > 3 {
                    format!(" (the header puts them in {need} columns)")
                } else {
                    String::new()
                }
            ),
        ));
    }
    match fields[c.weight].parse::<f64>() {
        Ok(w) if w.is_finite() => Ok(w),
        _ => Err(Error::data(
            Location::file(file).line(n).column("weight"),
            format!("`{}` is not a number", fields[c.weight]),
        )),
    }
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
