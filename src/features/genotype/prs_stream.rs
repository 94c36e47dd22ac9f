//! Polygenic scores streamed over a PLINK 1 `.bed` or a VCF/BCF file: the
//! weights' SNPs are decoded one at a time in a single pass and never held,
//! so a genome-wide score over every SNP of a file needs memory for the
//! samples' sums, not for the SNPs × samples matrix. The arithmetic,
//! orientation and imputation are those of the table path in `prs.rs`
//! (tested equal).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::data::bed::{a1_copies, stream_snps};
use crate::data::dosage::{ScoreSource, PLINK_MISSING_ALLELE};
use crate::data::Alleles;
use crate::error::{Error, Location, Result};
use crate::features::genotype::alleles::{
    compare_alleles, counted_frequency, palindromic, resolve_by_frequency, AlleleMatch,
};
use crate::features::genotype::prs::{
    orient, orient_strand, Orient, PrsModel, PrsWeight, RawWeight, Tally,
};

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

/// Calls `f(k, snp)` for the SNP of the file named like each of `snps`
/// (the `k`-th), in file order; a weight's SNP whose ID the `.bim` repeats
/// is an error (as for a table); returns which were found, and the notes
/// of a VCF/BCF read (see [`crate::data::vcf_filter::stream`]).
fn stream_weights<'a>(
    source: &ScoreSource,
    snps: impl Iterator<Item = &'a str>,
    mut f: impl FnMut(usize, Snp<'_>) -> Result<()>,
) -> Result<(Vec<bool>, Vec<String>)> {
    let snps: Vec<&str> = snps.collect();
    let index: HashMap<&str, usize> = snps.iter().enumerate().map(|(k, &s)| (s, k)).collect();
    let mut seen = vec![false; snps.len()];
    let mut x = Vec::new();
    let notes = match source {
        ScoreSource::Bed(bed) => {
            let bim = bed.with_extension("bim").display().to_string();
            stream_snps(
                bed,
                |id| index.contains_key(id),
                |id, a1, a2, col, n| {
                    let k = index[id];
                    if std::mem::replace(&mut seen[k], true) {
                        return Err(Error::data(
                            Location::file(&bim).column(id),
                            format!("SNP `{id}` of a polygenic score appears more than once; give each variant its own ID (plink2 --set-all-var-ids)"),
                        ));
                    }
                    let (alleles, recode) = bim_alleles(a1, a2);
                    counted(col, n, recode, &mut x);
                    let at = (bim.as_str(), None);
                    f(
                        k,
                        Snp {
                            id,
                            alleles: alleles.as_ref(),
                            x: &x,
                            at,
                        },
                    )
                },
            )?;
            Vec::new()
        }
        ScoreSource::Variants(path) => {
            let keep: HashSet<String> = snps.iter().map(|s| s.to_string()).collect();
            crate::data::vcf_filter::stream(path, &keep, |id, alleles, values, line| {
                let Some(&k) = index.get(id) else {
                    return Ok(());
                };
                if std::mem::replace(&mut seen[k], true) {
                    return Ok(());
                }
                x.clear();
                x.extend(values.iter());
                let at = (path.as_str(), Some(line));
                f(
                    k,
                    Snp {
                        id,
                        alleles,
                        x: &x,
                        at,
                    },
                )
            })?
        }
    };
    Ok((seen, notes))
}

/// [`stream_weights`] for several scores in one pass: calls `f(s, k, snp)`
/// for the `k`-th SNP of score `s` (`lists[s]`); returns which SNPs of each
/// score were found, and the reader's notes.
fn stream_many(
    source: &ScoreSource,
    lists: &[Vec<&str>],
    mut f: impl FnMut(usize, usize, &Snp<'_>) -> Result<()>,
) -> Result<(Vec<Vec<bool>>, Vec<String>)> {
    let mut union: Vec<&str> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut uses: Vec<Vec<(usize, usize)>> = Vec::new();
    for (s, list) in lists.iter().enumerate() {
        for (k, &snp) in list.iter().enumerate() {
            let u = *at.entry(snp).or_insert_with(|| {
                union.push(snp);
                uses.push(Vec::new());
                union.len() - 1
            });
            uses[u].push((s, k));
        }
    }
    let (seen, notes) = stream_weights(source, union.iter().copied(), |u, snp| {
        uses[u].iter().try_for_each(|&(s, k)| f(s, k, &snp))
    })?;
    let mut found: Vec<Vec<bool>> = lists.iter().map(|l| vec![false; l.len()]).collect();
    for (u, list) in uses.iter().enumerate() {
        for &(s, k) in list {
            found[s][k] = seen[u];
        }
    }
    Ok((found, notes))
}

/// A score fitted over a file: the model, notes, the matched SNPs'
/// alleles, and every sample's score (computed in the same pass).
pub(super) type Fitted = (PrsModel, Vec<String>, Recorded, Vec<f64>);

/// One score to fit: the weights file and column, its feature name and
/// its weights.
pub(super) type ScoreSpec<'a> = ((&'a str, Option<&'a str>), &'a str, &'a [RawWeight]);

/// Matches one score's weights to the SNPs of the file (training rows
/// `grows`), as `fit_prs` does to a table: see [`fit_all_streamed`].
#[cfg(test)]
pub(super) fn fit_prs_streamed(
    file: &ScoreSource,
    grows: &[usize],
    source: (&str, Option<&str>),
    name: &str,
    raw: &[RawWeight],
    mean_imputation: bool,
) -> Result<Fitted> {
    let (mut fitted, read_notes) =
        fit_all_streamed(file, grows, &[(source, name, raw)], mean_imputation)?;
    let mut one = fitted.remove(0);
    one.1.extend(read_notes);
    Ok(one)
}

/// Matches every score's weights to the SNPs of the file (training rows
/// `grows`) in one pass, as `fit_prs` does to a table; returns, per score,
/// the model, notes, the matched SNPs' alleles (recorded in the bundle for
/// scoring) and every sample's score, summed in the same pass in the order
/// and with the arithmetic of [`PrsModel::compute_streamed`] (on the
/// training file its alleles match themselves), and the reader's notes:
/// training reads the file once for all its scores.
pub(super) fn fit_all_streamed(
    file: &ScoreSource,
    grows: &[usize],
    specs: &[ScoreSpec<'_>],
    mean_imputation: bool,
) -> Result<(Vec<Fitted>, Vec<String>)> {
    let n = specs.len();
    let mut found: Vec<Vec<Option<PrsWeight>>> = specs
        .iter()
        .map(|(_, _, raw)| vec![None; raw.len()])
        .collect();
    let mut sums: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut tally: Vec<Tally> = (0..n).map(|_| Tally::default()).collect();
    let mut recorded: Vec<Recorded> = vec![(BTreeMap::new(), BTreeMap::new()); n];
    let lists: Vec<Vec<&str>> = specs
        .iter()
        .map(|(_, _, raw)| raw.iter().map(|w| w.snp.as_str()).collect())
        .collect();
    let (seen, read_notes) = stream_many(file, &lists, |s, k, snp| {
        let (id, al, x) = (snp.id, snp.alleles, snp.x);
        let raw = specs[s].2;
        let (o, complemented) = orient_strand(al, &raw[k]);
        let Some(flip) = tally[s].count(o) else {
            return Ok(());
        };
        tally[s].strand += usize::from(complemented.is_some());
        let effect = |d: f64| if flip { 2.0 - d } else { d };
        let impute = super::mean_finite(grows.iter().map(|&r| effect(x[r]))).unwrap_or(0.0);
        let w = PrsWeight {
            snp: id.to_string(),
            effect_allele: complemented.unwrap_or_else(|| raw[k].allele.clone()),
            weight: raw[k].weight,
            flip,
            impute,
        };
        if sums[s].is_empty() {
            sums[s] = vec![0.0; x.len()];
        }
        add_weight(&w, x, Some(false), mean_imputation, &mut sums[s]);
        found[s][k] = Some(w);
        if let Some(a) = al {
            let (alleles, freqs) = &mut recorded[s];
            if a.other
                .as_deref()
                .is_some_and(|o| palindromic(&a.counted, o))
            {
                let (f, _) = counted_frequency(x.iter().copied());
                if f.is_finite() {
                    freqs.insert(id.to_string(), f);
                }
            }
            alleles.insert(id.to_string(), a.clone());
        }
        Ok(())
    })?;
    let geno = file.path();
    let mut out = Vec::with_capacity(n);
    let parts = found.into_iter().zip(tally).zip(recorded).zip(sums);
    for (s, (((found, mut tally), recorded), sums)) in parts.enumerate() {
        let (source, name, raw) = specs[s];
        tally.unmatched = seen[s].iter().filter(|v| !**v).count();
        let weights: Vec<PrsWeight> = found.into_iter().flatten().collect();
        let (m, notes) =
            tally.finish(source, name, &geno, (raw.len(), weights), mean_imputation)?;
        out.push((m, notes, recorded, sums));
    }
    Ok((out, read_notes))
}

/// What a streamed score did to the scoring file's alleles (the SNPs of
/// each kind), for stderr.
#[derive(Debug, Default)]
pub(super) struct Oriented {
    flipped: Vec<String>,
    strand: Vec<String>,
    ambiguous: Vec<String>,
    resolved: Vec<String>,
    /// Palindromic SNPs labelled as in training at a frequency on the
    /// other side of ½: (SNP, training frequency, frequency here).
    odd: Vec<(String, f64, f64)>,
}

/// What scoring needs to know of the training file: alleles, palindromic
/// frequencies, `--keep-ambiguous`.
pub(crate) type Training<'a> = (&'a BTreeMap<String, Alleles>, &'a BTreeMap<String, f64>);

impl PrsModel {
    /// The score of the samples `grows` of a `.bed` or VCF/BCF file,
    /// streamed over it: see [`compute_all_streamed`].
    #[cfg(test)]
    pub(crate) fn compute_streamed(
        &self,
        file: &ScoreSource,
        grows: &[usize],
        training: Training<'_>,
        keep_ambiguous: bool,
    ) -> Result<(Vec<f64>, Vec<String>)> {
        let (mut v, notes) = compute_all_streamed(&[self], file, grows, training, keep_ambiguous)?;
        Ok((v.remove(0), notes))
    }

    /// Whether the scoring file's counted allele is the training file's
    /// other allele (`Some(true)`: 2 − dosage), or `None` for a dropped
    /// palindromic SNP; an error for alleles that do not match.
    fn to_training(
        &self,
        w: &PrsWeight,
        snp: &Snp<'_>,
        (training, frequencies): Training<'_>,
        keep_ambiguous: bool,
        o: &mut Oriented,
    ) -> Result<Option<bool>> {
        let (id, alleles, x) = (snp.id, snp.alleles, snp.x);
        let mismatch = |why: String| {
            Err(Error::data(
                snp.location(),
                format!("SNP `{id}` of the polygenic score `{}`: {why}", self.name),
            ))
        };
        Ok(match (training.get(id), alleles) {
            (Some(t), Some(a)) => match compare_alleles(t, a) {
                AlleleMatch::Same => {
                    // A palindromic SNP labelled alike but whose frequency
                    // says otherwise is read as labelled, with a warning.
                    if let Some(&ft) = frequencies.get(id) {
                        let (f, called) = counted_frequency(x.iter().copied());
                        if resolve_by_frequency(ft, f, called) == Some(true) {
                            o.odd.push((id.to_string(), ft, f));
                        }
                    }
                    Some(false)
                }
                AlleleMatch::Flip { .. } => {
                    o.flipped.push(id.to_string());
                    Some(true)
                }
                AlleleMatch::Strand { flip } => {
                    o.strand.push(id.to_string());
                    Some(flip)
                }
                AlleleMatch::Ambiguous => {
                    let (f, called) = counted_frequency(x.iter().copied());
                    let by_freq = frequencies
                        .get(id)
                        .and_then(|&ft| resolve_by_frequency(ft, f, called));
                    if by_freq.is_some() {
                        o.resolved.push(id.to_string());
                    } else {
                        o.ambiguous.push(id.to_string());
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

/// The scores `models` of the samples `grows` of a `.bed` or VCF/BCF
/// file, streamed over it in one pass: each SNP's alleles are compared with
/// the training file's (`training`, as `apply` does for a table: flips, the
/// other strand, palindromic SNPs told apart by frequency or dropped unless
/// `keep_ambiguous`), else oriented by the effect allele. A SNP of a score
/// absent from the file, or whose alleles do not match, is an error naming
/// it. Returns each score's values and the notes (each score's, then the
/// reader's).
pub(crate) fn compute_all_streamed(
    models: &[&PrsModel],
    file: &ScoreSource,
    grows: &[usize],
    training: Training<'_>,
    keep_ambiguous: bool,
) -> Result<(Vec<Vec<f64>>, Vec<String>)> {
    let mut sums: Vec<Vec<f64>> = vec![Vec::new(); models.len()];
    let mut o: Vec<Oriented> = models.iter().map(|_| Oriented::default()).collect();
    let lists: Vec<Vec<&str>> = models
        .iter()
        .map(|m| m.weights.iter().map(|w| w.snp.as_str()).collect())
        .collect();
    let (seen, read_notes) = stream_many(file, &lists, |s, k, snp| {
        let (m, w) = (models[s], &models[s].weights[k]);
        let to_training = m.to_training(w, snp, training, keep_ambiguous, &mut o[s])?;
        if sums[s].is_empty() {
            sums[s] = vec![0.0; snp.x.len()];
        }
        m.add(w, snp.x, to_training, &mut sums[s]);
        Ok(())
    })?;
    let mut notes = Vec::new();
    let mut out = Vec::with_capacity(models.len());
    for (s, m) in models.iter().enumerate() {
        let absent: Vec<&str> = m
            .weights
            .iter()
            .zip(&seen[s])
            .filter(|(_, v)| !**v)
            .map(|(w, _)| w.snp.as_str())
            .collect();
        if !absent.is_empty() {
            // Skipped multi-allelic sites may be among them: say so.
            let skipped = read_notes
                .iter()
                .find(|n| n.contains("multi-allelic"))
                .map(|n| format!(" ({})", n.trim_start_matches("warning: ")))
                .unwrap_or_default();
            return Err(Error::data(
                Location::file(file.path()),
                format!(
                    "the polygenic score `{}` needs {} SNP{} absent from this file: {}{skipped}",
                    m.name,
                    absent.len(),
                    if absent.len() == 1 { "" } else { "s" },
                    crate::error::quote_all(absent.iter().take(20))
                ),
            ));
        }
        out.push(
            grows
                .iter()
                .map(|&r| sums[s].get(r).copied().unwrap_or(0.0))
                .collect(),
        );
        for n in o[s].notes(&m.name, &file.path()) {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    let mut odd: Vec<(String, f64, f64)> = o.into_iter().flat_map(|o| o.odd).collect();
    notes.extend(odd_note(&file.path(), &mut odd));
    notes.extend(read_notes);
    Ok((out, notes))
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

/// One SNP of the file a score streams over.
struct Snp<'a> {
    id: &'a str,
    alleles: Option<&'a Alleles>,
    /// Copies of the counted allele, per sample.
    x: &'a [f64],
    /// Where it is named (the `.bim`; the VCF and its line), for messages;
    /// a [`Location`] is made only for an error.
    at: (&'a str, Option<u64>),
}

impl Snp<'_> {
    fn location(&self) -> Location {
        match self.at {
            (file, Some(line)) => Location::file(file).line(line),
            (file, None) => Location::file(file),
        }
    }
}

impl Oriented {
    fn notes(&self, name: &str, file: &str) -> Vec<String> {
        let mut out = Vec::new();
        let named = |what: &str, snps: &[String]| match snps.is_empty() {
            true => String::new(),
            false => format!(
                "; {what}: {}",
                crate::error::quote_all(snps.iter().take(10))
            ),
        };
        let (flipped, strand) = (self.flipped.len(), self.strand.len());
        let (resolved, ambiguous) = (self.resolved.len(), self.ambiguous.len());
        if flipped + strand + ambiguous + resolved > 0 {
            out.push(format!(
                "{file}: polygenic score `{name}` streamed over the file: {flipped} SNPs count the training file's other allele (flipped), {strand} are on the other strand, {resolved} palindromic SNPs counting the other allele were told apart by allele frequency, {ambiguous} could not be ({}){}{}{}{}",
                if ambiguous == 0 {
                    "none"
                } else {
                    "kept as a flip with --keep-ambiguous, else dropped: missing, imputed"
                },
                named("flipped", &self.flipped),
                named("other strand", &self.strand),
                named("told apart", &self.resolved),
                named("could not be", &self.ambiguous),
            ));
        }
        out
    }
}

/// The warning on palindromic SNPs labelled as in training at a frequency
/// on the other side of ½ (`odd`: every score's, one warning a file).
fn odd_note(file: &str, odd: &mut Vec<(String, f64, f64)>) -> Option<String> {
    odd.sort_by(|a, b| a.0.cmp(&b.0));
    odd.dedup_by(|a, b| a.0 == b.0);
    let (first, ft, f) = odd.first()?;
    Some(format!(
        "warning: {file}: {} palindromic SNP{} (A/T or C/G) count the same allele as the training file but at a frequency on the other side of one half (`{first}`: {ft:.2} in training, {f:.2} here): a strand flip or a different population; read as labelled, check the strand: {}",
        odd.len(),
        crate::data::dosage::plural(odd.len()),
        crate::error::quote_all(odd.iter().take(10).map(|o| &o.0))
    ))
}
