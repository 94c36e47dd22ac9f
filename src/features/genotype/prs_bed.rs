//! Polygenic scores streamed over a PLINK 1 `.bed`: the weights' SNPs are
//! decoded one at a time in a single pass and never held, so a genome-wide
//! score over every SNP of a fileset needs memory for the samples' sums,
//! not for the SNPs × samples matrix. The arithmetic, orientation and
//! imputation are those of the table path in `prs.rs` (tested equal).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::data::bed::{a1_copies, stream_snps};
use crate::data::dosage::PLINK_MISSING_ALLELE;
use crate::data::Alleles;
use crate::error::{Error, Location, Result};
use crate::features::genotype::alleles::{
    compare_alleles, counted_frequency, palindromic, resolve_by_frequency, AlleleMatch,
};
use crate::features::genotype::prs::{orient, Orient, PrsModel, PrsWeight, RawWeight, Tally};

/// A SNP's alleles as the `.raw` reader gives them from `.bim` A1/A2, and
/// whether the A1 copies are recoded (2 − d): A1 `0` (PLINK's missing
/// allele) with A2 named counts A2; both `0`, no alleles.
fn bim_alleles(a1: &str, a2: &str) -> (Option<Alleles>, bool) {
    let named = |a: &str| (a != PLINK_MISSING_ALLELE).then(|| a.to_string());
    match (named(a1), named(a2)) {
        (Some(c), other) => (Some(Alleles { counted: c, other }), false),
        (None, Some(c)) => (
            Some(Alleles {
                counted: c,
                other: None,
            }),
            true,
        ),
        (None, None) => (None, false),
    }
}

/// Copies of the counted allele of every sample in a 2-bit column.
fn counted(col: &[u8], n: usize, recode: bool, out: &mut Vec<f64>) {
    out.clear();
    out.extend((0..n).map(|i| {
        let d = a1_copies(col, i);
        if recode {
            2.0 - d
        } else {
            d
        }
    }));
}

/// The matched SNPs' alleles, and the training frequency of the counted
/// allele of the palindromic ones (as `record_alleles` keeps for a table).
pub(super) type Recorded = (BTreeMap<String, Alleles>, BTreeMap<String, f64>);

/// Calls `f(k, id, a1, a2, column, samples)` for the first `.bed` SNP of
/// each of `snps` (the `k`-th), in `.bim` order (a repeated `.bim` ID is
/// read once, as a table keeps its first column); returns which were found.
fn stream_weights<'a>(
    bed: &Path,
    snps: impl Iterator<Item = &'a str>,
    mut f: impl FnMut(usize, &str, &str, &str, &[u8], usize) -> Result<()>,
) -> Result<Vec<bool>> {
    let snps: Vec<&str> = snps.collect();
    let index: HashMap<&str, usize> = snps.iter().enumerate().map(|(k, &s)| (s, k)).collect();
    let mut seen = vec![false; snps.len()];
    stream_snps(
        bed,
        |id| index.contains_key(id),
        |id, a1, a2, col, n| {
            let k = index[id];
            if std::mem::replace(&mut seen[k], true) {
                return Ok(());
            }
            f(k, id, a1, a2, col, n)
        },
    )?;
    Ok(seen)
}

/// A score fitted over a `.bed`: the model, notes, the matched SNPs'
/// alleles, and every `.bed` sample's score (computed in the same pass).
pub(super) type FittedBed = (PrsModel, Vec<String>, Recorded, Vec<f64>);

/// Matches one score's weights to the SNPs of the `.bed` (training rows
/// `grows`), as `fit_prs` does to a table; returns the model, notes, the
/// matched SNPs' alleles (recorded in the bundle for scoring) and every
/// sample's score, summed in the same pass in the order and with the
/// arithmetic of [`PrsModel::compute_bed`] (on the training file its
/// alleles match themselves), so training reads the `.bed` once per score.
pub(super) fn fit_prs_bed(
    bed: &Path,
    grows: &[usize],
    source: (&str, Option<&str>),
    name: &str,
    raw: &[RawWeight],
    mean_imputation: bool,
) -> Result<FittedBed> {
    let mut found: Vec<Option<PrsWeight>> = vec![None; raw.len()];
    let mut sums: Vec<f64> = Vec::new();
    let mut tally = Tally::default();
    let (mut alleles, mut freqs) = (BTreeMap::new(), BTreeMap::new());
    let mut x = Vec::new();
    let seen = stream_weights(
        bed,
        raw.iter().map(|w| w.snp.as_str()),
        |k, id, a1, a2, col, n| {
            let (al, recode) = bim_alleles(a1, a2);
            let Some(flip) = tally.count(orient(al.as_ref(), &raw[k].allele)) else {
                return Ok(());
            };
            counted(col, n, recode, &mut x);
            let effect = |d: f64| if flip { 2.0 - d } else { d };
            let impute = super::mean_finite(grows.iter().map(|&r| effect(x[r]))).unwrap_or(0.0);
            let w = PrsWeight {
                snp: id.to_string(),
                effect_allele: raw[k].allele.clone(),
                weight: raw[k].weight,
                flip,
                impute,
            };
            if sums.is_empty() {
                sums = vec![0.0; n];
            }
            add_weight(&w, &x, Some(false), mean_imputation, &mut sums);
            found[k] = Some(w);
            if let Some(a) = al {
                if a.other
                    .as_deref()
                    .is_some_and(|o| palindromic(&a.counted, o))
                {
                    let (f, _) = counted_frequency(x.iter().copied());
                    if f.is_finite() {
                        freqs.insert(id.to_string(), f);
                    }
                }
                alleles.insert(id.to_string(), a);
            }
            Ok(())
        },
    )?;
    tally.unmatched = seen.iter().filter(|s| !**s).count();
    let weights: Vec<PrsWeight> = found.into_iter().flatten().collect();
    let geno = bed.display().to_string();
    let (m, notes) = tally.finish(source, name, &geno, (raw.len(), weights), mean_imputation)?;
    Ok((m, notes, (alleles, freqs), sums))
}

/// What a streamed score did to the scoring file's alleles, for stderr.
#[derive(Debug, Default)]
pub(super) struct Oriented {
    flipped: usize,
    strand: usize,
    ambiguous: usize,
    resolved: usize,
}

/// What scoring needs to know of the training file: alleles, palindromic
/// frequencies, `--keep-ambiguous`.
pub(crate) type Training<'a> = (&'a BTreeMap<String, Alleles>, &'a BTreeMap<String, f64>);

impl PrsModel {
    /// The score of the `.bed`'s samples `grows`, streamed over the file:
    /// each SNP's alleles are compared with the training file's
    /// (`training`, as `apply` does for a table: flips, the other strand,
    /// palindromic SNPs told apart by frequency or dropped unless
    /// `keep_ambiguous`), else oriented by the effect allele. A SNP of the
    /// score absent from the file, or whose alleles do not match, is an
    /// error naming it.
    pub(crate) fn compute_bed(
        &self,
        bed: &Path,
        grows: &[usize],
        training: Training<'_>,
        keep_ambiguous: bool,
    ) -> Result<(Vec<f64>, Vec<String>)> {
        let mut sums: Vec<f64> = Vec::new();
        let mut x = Vec::new();
        let mut o = Oriented::default();
        let bim = bed.with_extension("bim").display().to_string();
        let seen = stream_weights(
            bed,
            self.weights.iter().map(|w| w.snp.as_str()),
            |k, id, a1, a2, col, n| {
                let w = &self.weights[k];
                let (al, recode) = bim_alleles(a1, a2);
                counted(col, n, recode, &mut x);
                let snp = Snp {
                    id,
                    alleles: al.as_ref(),
                    x: &x,
                    bim: &bim,
                };
                let to_training = self.to_training(w, snp, training, keep_ambiguous, &mut o)?;
                if sums.is_empty() {
                    sums = vec![0.0; n];
                }
                self.add(w, &x, to_training, &mut sums);
                Ok(())
            },
        )?;
        let absent: Vec<&str> = self
            .weights
            .iter()
            .zip(&seen)
            .filter(|(_, s)| !**s)
            .map(|(w, _)| w.snp.as_str())
            .collect();
        if !absent.is_empty() {
            return Err(Error::data(
                Location::file(bed.display().to_string()),
                format!(
                    "the polygenic score `{}` needs {} SNP{} absent from this file: {}",
                    self.name,
                    absent.len(),
                    if absent.len() == 1 { "" } else { "s" },
                    crate::error::quote_all(absent.iter().take(20))
                ),
            ));
        }
        let out = grows
            .iter()
            .map(|&r| sums.get(r).copied().unwrap_or(0.0))
            .collect();
        Ok((out, o.notes(&self.name, &bed.display().to_string())))
    }

    /// Whether the scoring file's counted allele is the training file's
    /// other allele (`Some(true)`: 2 − dosage), or `None` for a dropped
    /// palindromic SNP; an error for alleles that do not match.
    fn to_training(
        &self,
        w: &PrsWeight,
        snp: Snp<'_>,
        (training, frequencies): Training<'_>,
        keep_ambiguous: bool,
        o: &mut Oriented,
    ) -> Result<Option<bool>> {
        let Snp {
            id,
            alleles,
            x,
            bim,
        } = snp;
        let mismatch = |why: String| {
            Err(Error::data(
                Location::file(bim),
                format!("SNP `{id}` of the polygenic score `{}`: {why}", self.name),
            ))
        };
        Ok(match (training.get(id), alleles) {
            (Some(t), Some(a)) => match compare_alleles(t, a) {
                AlleleMatch::Same => Some(false),
                AlleleMatch::Flip { .. } => {
                    o.flipped += 1;
                    Some(true)
                }
                AlleleMatch::Strand { flip } => {
                    o.strand += 1;
                    Some(flip)
                }
                AlleleMatch::Ambiguous => {
                    let (f, called) = counted_frequency(x.iter().copied());
                    let by_freq = frequencies
                        .get(id)
                        .and_then(|&ft| resolve_by_frequency(ft, f, called));
                    if by_freq.is_some() {
                        o.resolved += 1;
                    } else {
                        o.ambiguous += 1;
                    }
                    by_freq.or(keep_ambiguous.then_some(true))
                }
                AlleleMatch::Mismatch => {
                    return mismatch(format!(
                        "the alleles here ({a}) do not match the training file's ({t})"
                    ))
                }
            },
            // The file names no alleles: its dosages are taken to count the
            // training file's allele, as for a table.
            (Some(_), None) => Some(false),
            _ => match orient(alleles, &w.effect_allele) {
                Orient::Mismatch => {
                    return mismatch(format!(
                        "its effect allele {} is neither allele here",
                        w.effect_allele
                    ))
                }
                // Straight to the effect allele: undo the weight's flip.
                or => Some(or.flip() != w.flip),
            },
        })
    }

    /// Adds weight `w` times every sample's effect-allele copies (from the
    /// counted copies `x`, oriented by `to_training`) to `sums`.
    fn add(&self, w: &PrsWeight, x: &[f64], to_training: Option<bool>, sums: &mut [f64]) {
        add_weight(w, x, to_training, self.mean_imputation, sums);
    }
}

/// Adds weight `w` times every sample's effect-allele copies (from the
/// counted copies `x`, oriented by `to_training`: `Some(true)` flips,
/// `None` is a dropped SNP) to `sums`.
fn add_weight(
    w: &PrsWeight,
    x: &[f64],
    to_training: Option<bool>,
    mean_imputation: bool,
    sums: &mut [f64],
) {
    for (s, &xi) in sums.iter_mut().zip(x) {
        let d = match to_training {
            Some(true) => 2.0 - xi,
            Some(false) => xi,
            None => f64::NAN,
        };
        *s += w.weight * w.effect_copies(d, mean_imputation);
    }
}

/// One SNP of the `.bed` being scored.
#[derive(Clone, Copy)]
struct Snp<'a> {
    id: &'a str,
    alleles: Option<&'a Alleles>,
    /// Copies of the counted allele, per sample.
    x: &'a [f64],
    /// The `.bim`, for messages.
    bim: &'a str,
}

impl Oriented {
    fn notes(&self, name: &str, file: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.flipped + self.strand + self.ambiguous + self.resolved > 0 {
            out.push(format!(
                "{file}: polygenic score `{name}` streamed over the file: {} SNPs count the training file's other allele (flipped), {} are on the other strand, {} palindromic SNPs counting the other allele were told apart by allele frequency, {} could not be ({})",
                self.flipped,
                self.strand,
                self.resolved,
                self.ambiguous,
                if self.ambiguous == 0 {
                    "none"
                } else {
                    "kept as a flip with --keep-ambiguous, else dropped: missing, imputed"
                }
            ));
        }
        out
    }
}
