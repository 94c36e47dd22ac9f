//! Genetic features beyond raw dosages, fitted at training and stored in the
//! bundle:
//!
//! - allele bookkeeping: the counted (and other) allele of every SNP the
//!   model reads, so that `score` can flip a file that counts the other
//!   allele (dosage → 2 − dosage) and refuse one whose alleles do not match;
//! - a polygenic score `prs`, computed as `plink --score FILE 1 2 3 sum`
//!   (PLINK 1.9) does;
//! - principal components `pc1`…`pcK` of the standardised genotype matrix
//!   (linfa-reduction PCA), fitted once on all training rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::calls::Dosages;
use crate::data::{Alleles, Dataset, DosageTable};
use crate::error::{Error, Location, Result};

pub(crate) mod alleles;
pub(crate) mod pca;
mod positions;
pub(crate) mod projection;
pub(crate) mod prs;
pub(crate) mod prs_stream;
pub(crate) mod snps;

pub(crate) use alleles::{compare_alleles, AlleleMatch};
use alleles::{
    counted_frequency, palindromic, resolve_by_frequency, PALINDROME_MAX_MAF, PALINDROME_MIN_CALLED,
};
use pca::fit_pca;
pub(crate) use pca::PcaModel;
pub(crate) use projection::ProjectionModel;
pub(crate) use prs::PrsModel;
use prs::{fit_prs, read_weights};

/// Name of the polygenic-score feature.
pub(crate) const PRS_FEATURE: &str = "prs";

/// Name of principal component `k` (1-based).
pub(crate) fn pc_name(k: usize) -> String {
    format!("pc{k}")
}

/// Whether `name` is a computed genotype feature's (`prs`, `prs_…`,
/// `pc1`, …), never log-transformed.
pub(crate) fn is_derived_name(name: &str) -> bool {
    name == PRS_FEATURE
        || name.starts_with("prs_")
        || name
            .strip_prefix("pc")
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// Which genotype features a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum GenotypesAs {
    /// Only the principal components; the SNP columns are left out.
    Pcs,
    /// Only the SNP dosages.
    Dosages,
    /// The SNP dosages and the principal components.
    Both,
}

/// Everything about genotypes a bundle needs beyond the feature schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GenotypeModel {
    /// The training genotype file's name.
    pub(crate) file: String,
    /// Counted (and other) allele of every SNP the model reads, as in the
    /// training file; SNPs of a file without allele information are absent.
    #[serde(default)]
    pub(crate) alleles: BTreeMap<String, Alleles>,
    /// Training frequency of the counted allele of every palindromic (A/T,
    /// C/G) SNP in `alleles`, which tells a flip from a strand flip at
    /// scoring when the files count different alleles.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) frequencies: BTreeMap<String, f64>,
    /// Which genotype features the model uses.
    pub(crate) genotypes_as: GenotypesAs,
    /// The polygenic scores, with `--prs-weights` (one object in bundles
    /// written before a model could hold several).
    #[serde(
        default,
        deserialize_with = "prs::one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) prs: Vec<PrsModel>,
    /// The principal components, with `--genotype-pcs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pca: Option<PcaModel>,
    /// Ancestry components projected from a reference, with `--pc-weights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) projection: Option<ProjectionModel>,
}

/// Training options for genetic features.
#[derive(Debug, Clone, Default)]
pub(crate) struct GeneticOptions {
    /// The PLINK-style score files.
    pub(crate) prs_weights: Vec<String>,
    /// PLINK's `no-mean-imputation`.
    pub(crate) no_mean_imputation: bool,
    /// `--prs-match position`: weights matched by position, IDs ignored.
    pub(crate) by_position: bool,
    /// `--prs-strand-flip`: weights whose alleles match on the other
    /// strand are complemented.
    pub(crate) strand_flip: bool,
    /// Number of principal components.
    pub(crate) pcs: Option<usize>,
    /// Which genotype features to use.
    pub(crate) genotypes_as: Option<GenotypesAs>,
    /// plink 2 `.eigenvec.allele` weights of a reference panel.
    pub(crate) pc_weights: Option<String>,
    /// The reference panel's `.acount`/`.afreq`.
    pub(crate) pc_freqs: Option<String>,
    /// `--snps`: the SNPs to use as features.
    pub(crate) snps: Option<snps::SnpList>,
}

/// Fits every polygenic score of `--prs-weights` on the training rows
/// `grows` of `g` (streamed over a `.bed`, VCF or BCF file the table was
/// read from: the scores' SNPs are never held); returns the scores and, for streamed ones, the matched SNPs'
/// alleles and palindromic frequencies.
fn fit_scores(
    g: &DosageTable,
    grows: &[usize],
    opts: &GeneticOptions,
    notes: &mut Vec<String>,
) -> Result<(Vec<PrsModel>, prs_stream::Recorded, TrainingScores)> {
    let mut files = opts
        .prs_weights
        .iter()
        .map(|p| read_weights(p, opts.by_position))
        .collect::<Result<Vec<_>>>()?;
    for w in files
        .iter_mut()
        .flat_map(|f| f.scores.iter_mut())
        .flat_map(|s| s.weights.iter_mut())
    {
        w.strand_flip = opts.strand_flip;
    }
    positions::resolve(&mut files, g, notes)?;
    for f in files.iter().filter(|f| f.no_id > 0) {
        notes.push(format!(
            "warning: {}: {} weight lines have no SNP ID and no position (empty or `.`) and are left out",
            f.name, f.no_id
        ));
    }
    let names = score_names(&files)?;
    let mut prs = Vec::new();
    let mut scored = Vec::new();
    let (mut alleles, mut frequencies) = (BTreeMap::new(), BTreeMap::new());
    let mean_imputation = !opts.no_mean_imputation;
    let mut specs: Vec<prs_stream::ScoreSpec<'_>> = Vec::new();
    for (f, names) in files.iter().zip(&names) {
        for (s, name) in f.scores.iter().zip(names) {
            let column = (f.scores.len() > 1).then_some(s.column.as_str());
            specs.push(((f.name.as_str(), column), name.as_str(), &s.weights));
        }
    }
    match &g.source {
        // Every score in one pass over the file.
        Some(file) => {
            let (fitted, read_notes) =
                prs_stream::fit_all_streamed(file, grows, &specs, mean_imputation)?;
            for ((m, n, a, sums), (_, name, _)) in fitted.into_iter().zip(&specs) {
                alleles.extend(a.0);
                frequencies.extend(a.1);
                scored.push((name.to_string(), sums));
                add_notes(notes, n);
                prs.push(m);
            }
            add_notes(notes, read_notes);
        }
        None => {
            for &(source, name, weights) in &specs {
                let (m, n) = fit_prs(g, grows, source, name, weights, mean_imputation)?;
                add_notes(notes, n);
                prs.push(m);
            }
        }
    }
    Ok((prs, (alleles, frequencies), scored))
}

/// Appends the notes not already there (scores over the same records
/// repeat the reader's notes).
fn add_notes(notes: &mut Vec<String>, new: Vec<String>) {
    for note in new {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
}

/// Every sample's value of each score streamed over the file while
/// fitting, by score name (empty for a table).
pub(crate) type TrainingScores = Vec<(String, Vec<f64>)>;

/// Which genotype features a model uses, from `--genotypes-as` and whether
/// it has components (`--genotype-pcs` or `--pc-weights`, not both).
fn genotypes_as(opts: &GeneticOptions) -> Result<GenotypesAs> {
    if opts.pcs.is_some() && opts.pc_weights.is_some() {
        return Err(Error::usage(
            "--genotype-pcs fits components on the training genotypes and --pc-weights projects a reference panel's: give one",
        ));
    }
    let pcs = opts.pcs.is_some() || opts.pc_weights.is_some();
    Ok(match (opts.genotypes_as, pcs) {
        (Some(GenotypesAs::Dosages), true) => {
            return Err(Error::usage(
                "--genotypes-as dosages leaves the components of --genotype-pcs (or --pc-weights) unused: use both or pcs",
            ))
        }
        (Some(GenotypesAs::Dosages), false) | (None, false) => GenotypesAs::Dosages,
        (Some(a), true) => a,
        (None, true) => GenotypesAs::Both,
        (Some(a), false) => {
            return Err(Error::usage(format!(
                "--genotypes-as {} needs --genotype-pcs K or --pc-weights FILE",
                if a == GenotypesAs::Pcs { "pcs" } else { "both" }
            )))
        }
    })
}

/// Mean of the finite values (`None` when there are none).
pub(super) fn mean_finite(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut n, mut sum) = (0usize, 0.0);
    for v in values.filter(|v| !v.is_nan()) {
        n += 1;
        sum += v;
    }
    (n > 0).then(|| sum / n as f64)
}

impl GenotypeModel {
    /// Fits the polygenic score and principal components on the joined
    /// `rows` of `ds` (the training patients). Returns the model (alleles
    /// are recorded later with [`GenotypeModel::record_alleles`]) and notes
    /// for stderr.
    /// The scores streamed over the file while fitting come back too, for
    /// [`GenotypeModel::add_features_with`].
    pub(crate) fn fit_scored(
        ds: &Dataset,
        rows: &[usize],
        opts: &GeneticOptions,
    ) -> Result<(GenotypeModel, Vec<String>, TrainingScores)> {
        let g = ds.genotypes.as_ref().ok_or_else(|| {
            Error::usage("--prs-weights, --genotype-pcs and --genotypes-as need --genotypes")
        })?;
        let grows: Vec<usize> = rows.iter().map(|&r| ds.genotype_rows[r]).collect();
        let mut notes = Vec::new();
        let genotypes_as = genotypes_as(opts)?;
        let (prs, (alleles, frequencies), scored) = fit_scores(g, &grows, opts, &mut notes)?;
        let pca = match opts.pcs {
            None => None,
            Some(k) => {
                let m = fit_pca(g, &grows, k)?;
                notes.push(format!(
                    "{}: {k} principal component{} of {} SNPs on {} training patients explain {:.1}% of the variance",
                    g.file,
                    if k == 1 { "" } else { "s" },
                    m.snps.len(),
                    grows.len(),
                    100.0 * m.explained_variance_ratio.iter().sum::<f64>()
                ));
                Some(m)
            }
        };
        let projection = match &opts.pc_weights {
            None => None,
            Some(w) => {
                let (m, note) = projection::fit_projection(g, w, opts.pc_freqs.as_deref())?;
                notes.push(note);
                Some(m)
            }
        };
        Ok((
            GenotypeModel {
                file: std::path::Path::new(&g.file)
                    .file_name()
                    .map_or_else(|| g.file.clone(), |f| f.to_string_lossy().into_owned()),
                alleles,
                frequencies,
                genotypes_as,
                prs,
                pca,
                projection,
            },
            notes,
            scored,
        ))
    }

    /// Names of the computed features, in order.
    pub(crate) fn derived_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        names.extend(self.prs.iter().map(|p| p.name.clone()));
        if let Some(p) = &self.pca {
            names.extend((1..=p.components.len()).map(pc_name));
        }
        if let Some(p) = &self.projection {
            names.extend((1..=p.components).map(pc_name));
        }
        names
    }

    /// Records the alleles of the SNPs the model reads: SNP features (by
    /// name), the PCA's SNPs and the score's SNPs.
    pub(crate) fn record_alleles(&mut self, g: &DosageTable, features: &[String]) {
        let mut used: Vec<&str> = features.iter().map(String::as_str).collect();
        if let Some(p) = &self.pca {
            used.extend(p.snps.iter().map(String::as_str));
        }
        if let Some(p) = &self.projection {
            used.extend(p.snps.iter().map(String::as_str));
        }
        for p in &self.prs {
            used.extend(p.weights.iter().map(|w| w.snp.as_str()));
        }
        for name in used {
            if let Some(s) = g.find(name) {
                if let Some(a) = &g.alleles[s] {
                    self.alleles.insert(g.snp(s).to_string(), a.clone());
                    if a.other
                        .as_deref()
                        .is_some_and(|o| palindromic(&a.counted, o))
                    {
                        let (f, _) = counted_frequency(g.values[s].iter());
                        if f.is_finite() {
                            self.frequencies.insert(g.snp(s).to_string(), f);
                        }
                    }
                }
            }
        }
    }

    /// Prepares a scoring dataset: flips SNPs that count the training
    /// file's other allele, refuses SNPs whose alleles do not match, then
    /// adds the computed features. Returns notes for stderr.
    pub(crate) fn apply(&self, ds: &mut Dataset) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let Some(g) = ds.genotypes.as_mut() else {
            let derived = self.derived_names();
            if derived.is_empty() {
                return Ok(notes);
            }
            return Err(Error::usage(format!(
                "the model computes {} from genotypes: pass the genotype file with --genotypes",
                crate::error::quote_all(&derived)
            )));
        };
        if g.skipped_multiallelic > 0 {
            notes.push(format!(
                "{}: skipped {} multi-allelic sites (more than one ALT allele)",
                g.file, g.skipped_multiallelic
            ));
        }
        notes.extend(g.notes.iter().cloned());
        let (mut flipped, mut assumed, mut unchecked) = (0usize, 0usize, 0usize);
        let (mut strand, mut ambiguous, mut resolved) = (Vec::new(), Vec::new(), Vec::new());
        let keep_ambiguous = ds.keep_ambiguous;
        // Over the whole file when it is read in blocks.
        let freqs = ds.palindrome_freqs.clone();
        notes.extend(self.same_label_note(g, freqs.as_deref()));
        let mut bad: Vec<(usize, Alleles, Alleles)> = Vec::new();
        for (snp, t) in &self.alleles {
            let Some(s) = g.find(snp) else { continue };
            let Some(a) = g.alleles[s].clone() else {
                unchecked += 1;
                continue;
            };
            match compare_alleles(t, &a) {
                AlleleMatch::Same => {}
                AlleleMatch::Flip { assumed: guess } => {
                    g.values[s].map(|v| 2.0 - v);
                    g.alleles[s] = Some(t.clone());
                    flipped += 1;
                    assumed += usize::from(guess);
                }
                AlleleMatch::Strand { flip } => {
                    if flip {
                        g.values[s].map(|v| 2.0 - v);
                    }
                    g.alleles[s] = Some(t.clone());
                    strand.push(s);
                }
                AlleleMatch::Ambiguous => {
                    let whole = freqs.as_ref().and_then(|m| m.get(snp)).copied();
                    let f = whole.unwrap_or_else(|| counted_frequency(g.values[s].iter()));
                    let by_freq = self
                        .frequencies
                        .get(snp)
                        .and_then(|&ft| resolve_by_frequency(ft, f.0, f.1));
                    match by_freq {
                        Some(_) => resolved.push(s),
                        None => ambiguous.push(s),
                    }
                    read_palindrome(&mut g.values[s], by_freq, keep_ambiguous);
                    g.alleles[s] = Some(t.clone());
                }
                AlleleMatch::Mismatch => bad.push((s, a, t.clone())),
            }
        }
        notes.extend(strand_notes(
            &g.file,
            &self.file,
            (&strand, &ambiguous, &resolved),
            keep_ambiguous,
            |s| g.snp(s).to_string(),
        ));
        if let Some((s, a, t)) = bad.first() {
            let more = if bad.len() > 1 {
                format!(
                    "; {} more SNPs do not match either: {}",
                    bad.len() - 1,
                    crate::error::quote_all(bad[1..].iter().take(10).map(|(s, ..)| g.snp(*s)))
                )
            } else {
                String::new()
            };
            return Err(Error::data(
                g.snp_location(*s),
                format!(
                    "SNP `{}`: the alleles here ({a}) do not match the training file {} ({t}){more}",
                    g.snp(*s), self.file
                ),
            ));
        }
        if flipped > 0 {
            let guess = if assumed > 0 {
                format!(
                    " ({assumed} of them assumed biallelic: neither file names the other allele)"
                )
            } else {
                String::new()
            };
            notes.push(format!(
                "{}: flipped {flipped} SNP{} that count the other allele of the training file {} (dosage → 2 − dosage){guess}",
                g.file,
                if flipped == 1 { "" } else { "s" },
                self.file
            ));
        }
        if unchecked > 0 {
            notes.push(format!(
                "{}: the file names no alleles for {unchecked} SNP{}, so the counted allele is taken to be the training file's",
                g.file,
                crate::data::dosage::plural(unchecked)
            ));
        }
        notes.extend(self.add_features(ds)?);
        Ok(notes)
    }

    /// A warning naming the palindromic SNPs (A/T, C/G) that count the
    /// training file's allele label at a frequency that says the other
    /// allele (both minor-allele frequencies at most 0.4, the two on
    /// opposite sides of one half): a strand flip or a different
    /// population. They are read as labelled (as PLINK and PRSice do); the
    /// warning says to check the strand. `whole`: frequencies over the whole
    /// file when it is read in blocks.
    fn same_label_note(
        &self,
        g: &DosageTable,
        whole: Option<&std::collections::HashMap<String, (f64, usize)>>,
    ) -> Option<String> {
        let mut odd: Vec<(&str, f64, f64)> = Vec::new();
        for (snp, &ft) in &self.frequencies {
            let (Some(t), Some(s)) = (self.alleles.get(snp), g.find(snp)) else {
                continue;
            };
            let Some(a) = &g.alleles[s] else { continue };
            if compare_alleles(t, a) != AlleleMatch::Same {
                continue;
            }
            let (f, called) = whole
                .and_then(|m| m.get(snp))
                .copied()
                .unwrap_or_else(|| counted_frequency(g.values[s].iter()));
            if resolve_by_frequency(ft, f, called) == Some(true) {
                odd.push((snp.as_str(), ft, f));
            }
        }
        let (first, ft, f) = *odd.first()?;
        Some(format!(
            "warning: {}: {} palindromic SNP{} (A/T or C/G) count the same allele as the training file {} but at a frequency on the other side of one half (`{first}`: {ft:.2} in training, {f:.2} here): a strand flip or a different population; read as labelled, check the strand: {}",
            g.file,
            odd.len(),
            crate::data::dosage::plural(odd.len()),
            self.file,
            crate::error::quote_all(odd.iter().take(10).map(|o| o.0))
        ))
    }

    /// Every sample's value of each polygenic score, streamed over the
    /// whole `file` of `n` samples (in its order) as the whole-file read
    /// computes them, and the notes that read gives; `score` joins them to
    /// its blocks ([`DosageTable::scores`](crate::data::dosage::DosageTable)).
    pub(crate) fn scores_over(
        &self,
        file: &crate::data::dosage::ScoreSource,
        n: usize,
        keep_ambiguous: bool,
    ) -> Result<(TrainingScores, Vec<String>)> {
        let all: Vec<usize> = (0..n).collect();
        let training = (&self.alleles, &self.frequencies);
        let models: Vec<&PrsModel> = self.prs.iter().collect();
        let (values, notes) =
            prs_stream::compute_all_streamed(&models, file, &all, training, keep_ambiguous)?;
        let names = self.prs.iter().map(|p| p.name.clone());
        Ok((names.zip(values).collect(), notes))
    }

    /// Adds the scores and `pc1..pcK` to the dataset, computed for every
    /// joined row (a score streamed over the file the table was read from,
    /// when it was); returns notes.
    pub(crate) fn add_features(&self, ds: &mut Dataset) -> Result<Vec<String>> {
        self.add_features_with(ds, &Vec::new())
    }

    /// As [`GenotypeModel::add_features`]; a score in `scored` (streamed
    /// over the same file while fitting) is taken from there instead of
    /// reading the `.bed` again.
    pub(crate) fn add_features_with(
        &self,
        ds: &mut Dataset,
        scored: &TrainingScores,
    ) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let Some(g) = ds.genotypes.as_ref() else {
            return Ok(notes);
        };
        // Scores neither computed before `score` cut the file in blocks nor
        // streamed while fitting: streamed over the file, all in one pass.
        let pending: Vec<&PrsModel> = self
            .prs
            .iter()
            .filter(|p| {
                !g.scores.iter().any(|(n, _)| *n == p.name)
                    && !scored.iter().any(|(n, _)| *n == p.name)
            })
            .collect();
        let mut streamed: Vec<(String, Vec<f64>)> = Vec::new();
        if let (Some(file), false) = (&g.source, pending.is_empty()) {
            let training = (&self.alleles, &self.frequencies);
            let (values, n) = prs_stream::compute_all_streamed(
                &pending,
                file,
                &ds.genotype_rows,
                training,
                ds.keep_ambiguous,
            )?;
            add_notes(&mut notes, n);
            streamed = pending.iter().map(|p| p.name.clone()).zip(values).collect();
        }
        let mut add: Vec<(String, Vec<f64>)> = Vec::new();
        for p in &self.prs {
            let found = |list: &TrainingScores| {
                list.iter()
                    .find(|(n, _)| *n == p.name)
                    .map(|(_, v)| v.clone())
            };
            let values = if let Some(v) = g.scores.iter().find(|(n, _)| *n == p.name) {
                // Computed over the whole file before `score` cut it in blocks.
                ds.genotype_rows.iter().map(|&r| v.1[r]).collect()
            } else if let Some(v) = found(&streamed) {
                v
            } else {
                match (&g.source, scored.iter().find(|(n, _)| *n == p.name)) {
                    (Some(_), Some((_, sums))) => ds
                        .genotype_rows
                        .iter()
                        .map(|&r| sums.get(r).copied().unwrap_or(0.0))
                        .collect(),
                    _ => p.compute(g, &ds.genotype_rows)?,
                }
            };
            add.push((p.name.clone(), values));
        }
        let scores = match (&self.pca, &self.projection) {
            (Some(p), _) => Some(p.project(g, &ds.genotype_rows)?),
            (None, Some(p)) => Some(p.project(g, &ds.genotype_rows)?),
            (None, None) => None,
        };
        if let Some(scores) = scores {
            for (k, col) in scores.columns().into_iter().enumerate() {
                add.push((pc_name(k + 1), col.to_vec()));
            }
        }
        for (name, values) in add {
            ds.add_derived(&name, values)?;
        }
        Ok(notes)
    }
}

/// The feature name of every score of `files`: `prs` for a model's only
/// score; otherwise `prs_<name>`, the name being the weight column of a
/// file with several, else the PGS Catalog ID or the file's name. Two
/// scores with one name are a usage error.
fn score_names(files: &[prs::ScoreFile]) -> Result<Vec<Vec<String>>> {
    let total: usize = files.iter().map(|f| f.scores.len()).sum();
    if total == 1 {
        return Ok(vec![vec![PRS_FEATURE.to_string()]]);
    }
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for f in files {
        let stem = f.name.trim_end_matches(".gz");
        let stem = stem.rsplit_once('.').map_or(stem, |(a, _)| a);
        let mut names = Vec::new();
        for s in &f.scores {
            let base = match (f.scores.len(), &f.pgs_id) {
                (1, Some(id)) => id.as_str(),
                (1, None) => stem,
                _ => s.column.as_str(),
            };
            let name = format!("{PRS_FEATURE}_{}", clean(base));
            if let Some(prev) = seen.insert(name.clone(), f.name.clone()) {
                return Err(Error::usage(format!(
                    "two polygenic scores would both be called `{name}` ({prev} and {}): rename a file or a weight column",
                    f.name
                )));
            }
            names.push(name);
        }
        out.push(names);
    }
    Ok(out)
}

/// Reads an ambiguous palindromic SNP's column: flipped or not as its
/// allele frequency decided (`by_freq`), else flipped with
/// `--keep-ambiguous`, else dropped (every value missing).
fn read_palindrome(values: &mut Dosages, by_freq: Option<bool>, keep_ambiguous: bool) {
    match by_freq {
        Some(false) => {}
        Some(true) => values.map(|v| 2.0 - v),
        None if keep_ambiguous => values.map(|v| 2.0 - v),
        None => values.map(|_| f64::NAN),
    }
}

/// Indices of `snps` in `g`; the error names every absent one.
pub(super) fn locate(g: &DosageTable, snps: &[&str], what: &str) -> Result<Vec<usize>> {
    let mut idx = Vec::with_capacity(snps.len());
    let mut absent = Vec::new();
    for s in snps {
        match g.find(s) {
            Some(i) => idx.push(i),
            None => absent.push(format!("`{s}`")),
        }
    }
    if absent.is_empty() {
        return Ok(idx);
    }
    let n = absent.len();
    absent.truncate(20);
    Err(Error::data(
        Location::file(&g.file),
        format!(
            "{what} needs {n} SNP{} absent from this file: {}{}",
            if n == 1 { "" } else { "s" },
            absent.join(", "),
            if n > 20 { ", …" } else { "" }
        ),
    ))
}

/// The counts of SNPs read on the other strand and of ambiguous
/// palindromic SNPs, naming up to five of each.
fn strand_notes(
    file: &str,
    training: &str,
    (strand, ambiguous, resolved): (&[usize], &[usize], &[usize]),
    keep: bool,
    name: impl Fn(usize) -> String,
) -> Vec<String> {
    let some = |v: &[usize]| {
        let shown: Vec<String> = v.iter().take(5).map(|&s| name(s)).collect();
        format!(
            "{}{}",
            crate::error::quote_all(shown),
            if v.len() > 5 { ", …" } else { "" }
        )
    };
    let mut out = Vec::new();
    if !strand.is_empty() {
        out.push(format!(
            "{file}: {} SNP{} on the other strand of the training file {training} (A/G vs T/C), read as the complementary alleles: {}",
            strand.len(),
            crate::data::dosage::plural(strand.len()),
            some(strand)
        ));
    }
    if !resolved.is_empty() {
        out.push(format!(
            "{file}: {} palindromic SNP{} (A/T or C/G) count a different allele from the training file {training}; told apart by allele frequency (both minor-allele frequencies at most {PALINDROME_MAX_MAF}, at least {PALINDROME_MIN_CALLED} patients called): {}",
            resolved.len(),
            crate::data::dosage::plural(resolved.len()),
            some(resolved)
        ));
    }
    if !ambiguous.is_empty() {
        out.push(if keep {
            format!(
                "{file}: {} palindromic SNP{} (A/T or C/G) count the other allele of the training file {training}; kept as an allele flip (--keep-ambiguous; a strand flip would read them wrong): {}",
                ambiguous.len(),
                crate::data::dosage::plural(ambiguous.len()),
                some(ambiguous)
            )
        } else {
            format!(
                "{file}: dropped {} palindromic SNP{} (A/T or C/G) whose counted allele differs from the training file {training}: a strand flip cannot be told from an allele flip, so their values are treated as missing (imputed with the training mean); --keep-ambiguous reads them as an allele flip: {}",
                ambiguous.len(),
                crate::data::dosage::plural(ambiguous.len()),
                some(ambiguous)
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Loaded;

    fn al(c: &str, o: Option<&str>) -> Alleles {
        Alleles {
            counted: c.into(),
            other: o.map(Into::into),
        }
    }

    #[test]
    fn allele_comparison() {
        let ag = al("A", Some("G"));
        assert_eq!(compare_alleles(&ag, &al("A", Some("G"))), AlleleMatch::Same);
        assert_eq!(compare_alleles(&ag, &al("A", None)), AlleleMatch::Same);
        assert_eq!(
            compare_alleles(&ag, &al("G", Some("A"))),
            AlleleMatch::Flip { assumed: false }
        );
        assert_eq!(
            compare_alleles(&ag, &al("G", None)),
            AlleleMatch::Flip { assumed: false }
        );
        assert_eq!(
            compare_alleles(&al("A", None), &al("G", None)),
            AlleleMatch::Flip { assumed: true }
        );
        assert_eq!(
            compare_alleles(&ag, &al("C", Some("T"))),
            AlleleMatch::Strand { flip: true }
        );
        assert_eq!(
            compare_alleles(&ag, &al("A", Some("C"))),
            AlleleMatch::Mismatch
        );
        assert_eq!(
            compare_alleles(&ag, &al("C", None)),
            AlleleMatch::Strand { flip: true }
        );
        assert_eq!(
            compare_alleles(&al("A", None), &al("C", Some("T"))),
            AlleleMatch::Mismatch
        );
    }

    fn fixture(name: &str) -> String {
        format!(
            "{}/tests/fixtures/genetics/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// `prs_expected.tsv` holds PLINK 1.9's `--score … sum` arithmetic
    /// worked out by hand (see make_fixtures.py): mean-imputed and with
    /// `no-mean-imputation`.
    #[test]
    fn prs_matches_plink_sum_on_the_fixture() {
        use crate::data::{Delimiter, DosageTable};
        let raw = Loaded::read(&fixture("prs.raw")).unwrap();
        let g = DosageTable::parse(&raw, Delimiter::Whitespace, "patient_id", false).unwrap();
        let rows: Vec<usize> = (0..g.ids.len()).collect();
        let file = read_weights(&fixture("prs_weights.txt"), false).unwrap();
        let (name, weights) = (file.name.as_str(), &file.scores[0].weights);
        assert_eq!(weights.len(), 6, "the header line is skipped");
        let expected = std::fs::read_to_string(fixture("prs_expected.tsv")).unwrap();
        let expected: Vec<(String, f64, f64)> = expected
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("IID"))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].to_string(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                )
            })
            .collect();
        for mean_imputation in [true, false] {
            let (m, notes) =
                fit_prs(&g, &rows, (name, None), "prs", weights, mean_imputation).unwrap();
            assert_eq!((m.weights.len(), m.unmatched, m.allele_mismatch), (4, 1, 1));
            assert!(notes[0].contains("from 4 of 6 SNPs; 1 not in"), "{notes:?}");
            let got = m.compute(&g, &rows).unwrap();
            for (i, (id, mean, zero)) in expected.iter().enumerate() {
                assert_eq!(&g.ids[i], id.as_str());
                let want = if mean_imputation { *mean } else { *zero };
                assert!((got[i] - want).abs() < 1e-9, "{id}: {} vs {want}", got[i]);
            }
        }
    }

    /// Empty fields of a tab- or comma-separated weights file keep their
    /// column (they used to be dropped, shifting the columns after them:
    /// a TSV with an empty A2 read its P value as the weight); a line
    /// whose ID is empty takes a harmonised file's hm_rsID, else is left
    /// out and counted; an empty effect allele or weight is an error.
    #[test]
    fn empty_fields_keep_their_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.txt");
        let read = |text: &str| {
            std::fs::write(&p, text).unwrap();
            read_weights(p.to_str().unwrap(), false)
        };
        let w = |f: &super::prs::ScoreFile| -> Vec<(String, String, f64)> {
            f.scores[0]
                .weights
                .iter()
                .map(|w| (w.snp.clone(), w.allele.clone(), w.weight))
                .collect()
        };
        let one = |s: &str, a: &str, x: f64| vec![(s.to_string(), a.to_string(), x)];
        let f = read("SNP\tA1\tA2\tBETA\tP\nrs1\tA\t\t0.2\t0.05\n").unwrap();
        assert_eq!(w(&f), one("rs1", "A", 0.2));
        let f = read("SNP,A1,A2,BETA\nrs1,A,,0.3\n").unwrap();
        assert_eq!(w(&f), one("rs1", "A", 0.3));
        // PGS Catalog harmonised columns: rsID empty on line 5 (hm_rsID
        // read), both empty on line 6 (located by hm_chr/hm_pos),
        // hm_inferOtherAllele empty at the end of every line.
        let f = read(concat!(
            "#pgs_id=PGS000001\n",
            "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\thm_source\thm_rsID\thm_chr\thm_pos\thm_inferOtherAllele\n",
            "rs1\t1\t100\tA\tG\t0.2\tENSEMBL\trs1\t1\t100\t\n",
            "\t1\t200\tC\tT\t-0.1\tliftover\trs2\t1\t205\t\n",
            "\t1\t300\tG\tA\t0.4\tliftover\t\t1\t305\t\n",
        ))
        .unwrap();
        assert_eq!(
            w(&f),
            [
                one("rs1", "A", 0.2),
                one("rs2", "C", -0.1),
                one("1:305:A:G", "G", 0.4)
            ]
            .concat()
        );
        assert_eq!(f.no_id, 0);
        assert_eq!(f.scores[0].weights[2].site, Some(("1".into(), 305)));
        let e = read("SNP\tA1\tBETA\n.\tA\t0.2\n\tC\t0.1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("none of its 2 weights has a SNP ID"), "{e}");
        let e = read("SNP\tA1\tBETA\nrs1\t\t0.2\n").unwrap_err().to_string();
        assert!(
            e.contains("line 2, column `effect allele`: the effect allele of `rs1` is empty"),
            "{e}"
        );
        let e = read("SNP,A1,BETA\nrs1,A,\n").unwrap_err().to_string();
        assert!(
            e.contains("line 2, column `BETA`: the weight is empty"),
            "{e}"
        );
        // Located by position (no ID column): hm_chr/hm_pos preferred,
        // the build from the header, the other allele kept.
        let f = read(concat!(
            "#genome_build=GRCh37\n#HmPOS_build=GRCh38\n",
            "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\thm_chr\thm_pos\n",
            "1\t100\tA\tG\t0.2\tchr1\t150\n",
            "1\t200\tC\t\t0.1\t\t\n",
        ))
        .unwrap();
        let w0 = &f.scores[0].weights[0];
        assert_eq!(w0.snp, "1:150:G:A");
        assert_eq!(w0.site, Some(("1".to_string(), 150)));
        assert_eq!(w0.other.as_deref(), Some("G"));
        assert_eq!((f.scores[0].weights.len(), f.no_id), (1, 1));
        assert_eq!(f.build.as_deref(), Some("GRCh38"));
        // Not additive, genotype-specific or quoted: refused, named.
        let refused = |text: &str, needle: &str| {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        refused(
            "rsID\teffect_allele\teffect_weight\tis_recessive\nrs1\tA\t0.2\tFALSE\nrs2\tC\t0.1\tTRUE\n",
            "line 3, column `is_recessive`: the weight is not additive",
        );
        refused(
            "rsID\teffect_allele\teffect_weight\tdosage_2_weight\nrs1\tA\t0.2\t0.5\n",
            "column `dosage_2_weight` gives genotype-specific weights",
        );
        refused(
            "SNP,A1,gene,BETA\nrs1,A,\"G1, G2\",0.2\n",
            "line 2: a quoted field",
        );
        // --prs-match position without position columns.
        std::fs::write(&p, "rsID\teffect_allele\teffect_weight\nrs1\tA\t0.2\n").unwrap();
        let e = read_weights(p.to_str().unwrap(), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 1: --prs-match position needs chromosome and position columns"),
            "{e}"
        );
        // Position columns are never score columns.
        let f = read("chromosome\tbase_pair_location\teffect_allele\tother_allele\tsA\tsB\n1\t100\tA\tG\t0.1\t0.2\n").unwrap();
        let cols: Vec<&str> = f.scores.iter().map(|s| s.column.as_str()).collect();
        assert_eq!(cols, ["sA", "sB"]);
        // Aligned whitespace (PLINK's output) is one separator.
        let f = read("  SNP   A1     BETA\n  rs1    A   0.25\n").unwrap();
        assert_eq!(w(&f), one("rs1", "A", 0.25));
    }

    #[test]
    fn weights_file_errors_name_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.txt");
        std::fs::write(&p, "rs1 A 0.5\nrs2 C abc\n").unwrap();
        let e = read_weights(p.to_str().unwrap(), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, column `weight`: `abc` is not a number"),
            "{e}"
        );
        std::fs::write(&p, "rs1,A,0.5\nrs1,G,1\n").unwrap();
        let e = read_weights(p.to_str().unwrap(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lines 1 and 2"), "{e}");
        std::fs::write(&p, "rs1 A\n").unwrap();
        let e = read_weights(p.to_str().unwrap(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1: 2 fields"), "{e}");
        std::fs::write(&p, "SNP A1 BETA\n").unwrap();
        let e = read_weights(p.to_str().unwrap(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no weights"), "{e}");
        std::fs::write(&p, "# comment\nrs1\tA\t-1e-2\n").unwrap();
        assert_eq!(
            read_weights(p.to_str().unwrap(), false).unwrap().scores[0].weights[0].weight,
            -0.01
        );
        // Headers that do not say which column is the weight are refused.
        for (text, needle) in [
            (
                "SNP A1 FRQ SE P\nrs1 A 0.2 0.1 0.05\n",
                "which column holds the weight",
            ),
            (
                "SNP A1 beta score\nrs1 A 1 2\n",
                "several columns could be the weight (`beta`, `score`)",
            ),
            (
                "SNP A1 scoreA scoreB\nrs1 A 1 x\n",
                "line 2, column `scoreB`: `x` is not a number",
            ),
            ("SNP A1 OR\nrs1 A 1.2\n", "column `OR`, a ratio"),
            (
                "#weight_type=OR\nrsID effect_allele effect_weight\nrs1 A 1.2\n",
                "line 1: the weights are odds ratios",
            ),
            (
                "chr_name chr_position effect_allele other_allele effect_weight\n1 1e5 A G 0.2\n",
                "line 2, column `position`: `1e5` is not a position",
            ),
            (
                "rsID chr_name pos allele w\nrs1 1 100 A 0.2\n",
                "effect allele and the weight",
            ),
            (
                "SNP A1 BETA\nrs1 A x\n",
                "line 2, column `BETA`: `x` is not a number",
            ),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = read_weights(p.to_str().unwrap(), false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        // Columns found by name in any order.
        std::fs::write(&p, "BETA SNP A1\n0.5 rs1 A\n").unwrap();
        let w = &read_weights(p.to_str().unwrap(), false).unwrap().scores[0].weights[0];
        assert_eq!(
            (w.snp.as_str(), w.allele.as_str(), w.weight),
            ("rs1", "A", 0.5)
        );
    }

    /// A PGS Catalog scoring file (`#` header block, `rsID chr_name
    /// chr_position effect_allele other_allele effect_weight`) gives the same
    /// weights as the PLINK layout of the same score (plink 2's sums of the
    /// two are byte-identical in the fixtures).
    #[test]
    fn pgs_catalog_layout_is_read_by_column_names() {
        let real = |n: &str| fixture(&format!("real/{n}"));
        let plink = read_weights(&real("weights_plink.txt"), false)
            .unwrap()
            .scores;
        let plink = &plink[0].weights;
        for pgs in ["PGS_example.txt", "PGS_example.txt.gz"] {
            let file = read_weights(&real(pgs), false).unwrap();
            assert_eq!(file.pgs_id.as_deref(), Some("PGS999901"));
            let got = &file.scores[0].weights;
            assert_eq!(got.len(), plink.len());
            for (a, b) in got.iter().zip(plink) {
                assert_eq!((&a.snp, &a.allele, a.weight), (&b.snp, &b.allele, b.weight));
            }
        }
    }
}

/// Polygenic scores from a PLINK 1 binary fileset against plink 2's own
/// `--score … cols=+scoresums` output on the same fileset (fixtures written
/// by plink 2; see tests/fixtures/genetics/real/README.md, section 9).
#[cfg(test)]
mod plink2_scores {
    use super::prs::{fit_prs, read_weights};
    use crate::data::dosage::ScoreSource;
    use crate::data::{Delimiter, DosageTable, Loaded};

    fn real(name: &str) -> String {
        format!(
            "{}/tests/fixtures/genetics/real/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// `IID → column → value` of a `.sscore` file.
    fn sscore(name: &str, column: &str) -> Vec<(String, f64)> {
        let text = std::fs::read_to_string(real(name)).unwrap();
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
        let c = head.iter().position(|h| *h == column).unwrap();
        lines
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[1].to_string(), f[c].parse().unwrap())
            })
            .collect()
    }

    /// plink 2 prints 6 significant digits.
    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= 1e-6_f64.max(5e-6 * want.abs())
    }

    #[test]
    fn scores_from_a_bed_equal_plink2_scoresums() {
        let bed = Loaded::read(&real("base.bed")).unwrap();
        let g = DosageTable::parse(&bed, Delimiter::Whitespace, "patient_id", false).unwrap();
        let rows: Vec<usize> = (0..g.ids.len()).collect();
        let cases = [
            (
                "weights_plink.txt",
                0,
                true,
                "score_plink2.sscore",
                "SCORE1_SUM",
            ),
            (
                "PGS_example.txt.gz",
                0,
                true,
                "score_pgs_plink2.sscore",
                "SCORE1_SUM",
            ),
            (
                "weights_plink.txt",
                0,
                false,
                "score_plink2_nomeanimp.sscore",
                "SCORE1_SUM",
            ),
            (
                "weights_multi.txt",
                0,
                true,
                "score_multi_plink2.sscore",
                "scoreA_SUM",
            ),
            (
                "weights_multi.txt",
                1,
                true,
                "score_multi_plink2.sscore",
                "scoreB_SUM",
            ),
            (
                "weights_multi.txt",
                2,
                true,
                "score_multi_plink2.sscore",
                "scoreC_SUM",
            ),
        ];
        // The table path, and the same sums streamed over the .bed (fit and
        // compute), as training and scoring on a .bed do: the same model,
        // the same bits, plink 2's sums.
        let bed = ScoreSource::Bed(real("base.bed").into());
        for (weights, k, mean_imputation, expected, column) in cases {
            let file = read_weights(&real(weights), false).unwrap();
            let s = &file.scores[k];
            let source = (file.name.as_str(), None);
            let (table, _) =
                fit_prs(&g, &rows, source, "prs", &s.weights, mean_imputation).unwrap();
            let (m, _, alleles, fitted_sums) = super::prs_stream::fit_prs_streamed(
                &bed,
                &rows,
                source,
                "prs",
                &s.weights,
                mean_imputation,
            )
            .unwrap();
            assert_eq!(m, table, "{weights}: the same model streamed");
            let training = (&alleles.0, &alleles.1);
            let (got, notes) = m.compute_streamed(&bed, &rows, training, false).unwrap();
            assert!(notes.is_empty(), "{notes:?}");
            // Training's single pass sums the same bits as a second read.
            let once: Vec<f64> = rows.iter().map(|&r| fitted_sums[r]).collect();
            assert_eq!(
                once.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{weights}: fitting's sums"
            );
            assert_eq!(
                got,
                table.compute(&g, &rows).unwrap(),
                "{weights}: the same bits"
            );
            let want = sscore(expected, column);
            assert_eq!(want.len(), g.ids.len());
            for (id, w) in &want {
                let i = g.ids.iter().position(|x| x == id).unwrap();
                assert!(
                    close(got[i], *w),
                    "{weights} {column} {id}: {} vs plink2 {w}",
                    got[i]
                );
            }
            // Streamed over the same genotypes as VCF, BGZF VCF and BCF
            // (ALT counted, record by record): fitted and computed, the
            // .bed's sums bit for bit, so plink 2's.
            for name in [
                "base.vcf",
                "base.vcf.gz",
                "base.bcf",
                "base_uncompressed.bcf",
            ] {
                let vcf = ScoreSource::Variants(real(name));
                let t = crate::data::vcf_filter::read(&real(name), None, false)
                    .unwrap()
                    .map_or_else(
                        || crate::data::bcf::read_table(&real(name), None, false),
                        |f| Ok(Some(f)),
                    )
                    .unwrap()
                    .unwrap()
                    .table;
                let rows: Vec<usize> = (0..t.ids.len()).collect();
                let (mv, _, alleles, fitted) = super::prs_stream::fit_prs_streamed(
                    &vcf,
                    &rows,
                    source,
                    "prs",
                    &s.weights,
                    mean_imputation,
                )
                .unwrap();
                let training = (&alleles.0, &alleles.1);
                let (v, _) = mv.compute_streamed(&vcf, &rows, training, false).unwrap();
                assert_eq!(v, fitted, "{name} {weights}: fitting's sums");
                assert_eq!(v, mv.compute(&t, &rows).unwrap(), "{name}: the table's");
                for (id, _) in &want {
                    let i = t.ids.iter().position(|x| x == id).unwrap();
                    let b = g.ids.iter().position(|x| x == id).unwrap();
                    assert_eq!(v[i].to_bits(), got[b].to_bits(), "{name} {weights} {id}");
                }
            }
        }
        let multi = read_weights(&real("weights_multi.txt"), false).unwrap();
        let columns: Vec<&str> = multi.scores.iter().map(|s| s.column.as_str()).collect();
        assert_eq!(columns, ["scoreA", "scoreB", "scoreC"]);
    }

    /// Several scores fitted and computed in one pass over a file give each
    /// score's single pass: models, sums and values bit for bit (`.bed`,
    /// VCF, BCF; the three columns of a multi-score file and a second file).
    #[test]
    fn scores_in_one_pass_equal_one_pass_each() {
        let multi = read_weights(&real("weights_multi.txt"), false).unwrap();
        let plain = read_weights(&real("weights_plink.txt"), false).unwrap();
        let mut specs: Vec<super::prs_stream::ScoreSpec<'_>> = multi
            .scores
            .iter()
            .map(|s| {
                (
                    (multi.name.as_str(), Some(s.column.as_str())),
                    "m",
                    &s.weights[..],
                )
            })
            .collect();
        specs.push((
            (plain.name.as_str(), None),
            "p",
            &plain.scores[0].weights[..],
        ));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for source in [
            ScoreSource::Bed(real("base.bed").into()),
            ScoreSource::Variants(real("base.vcf.gz")),
            ScoreSource::Variants(real("base.bcf")),
        ] {
            let rows: Vec<usize> = (0..80).collect();
            let (all, _) =
                super::prs_stream::fit_all_streamed(&source, &rows, &specs, true).unwrap();
            let models: Vec<&super::PrsModel> = all.iter().map(|f| &f.0).collect();
            let mut alleles = std::collections::BTreeMap::new();
            let mut freqs = std::collections::BTreeMap::new();
            for f in &all {
                alleles.extend(f.2 .0.clone());
                freqs.extend(f.2 .1.clone());
            }
            let (values, _) = super::prs_stream::compute_all_streamed(
                &models,
                &source,
                &rows,
                (&alleles, &freqs),
                false,
            )
            .unwrap();
            for (s, &(src, name, raw)) in specs.iter().enumerate() {
                let one = super::prs_stream::fit_prs_streamed(&source, &rows, src, name, raw, true)
                    .unwrap();
                assert_eq!(one.0, all[s].0, "{source:?} {s}");
                assert_eq!(bits(&one.3), bits(&all[s].3), "{source:?} {s}");
                let (v, _) = one
                    .0
                    .compute_streamed(&source, &rows, (&alleles, &freqs), false)
                    .unwrap();
                assert_eq!(bits(&v), bits(&values[s]), "{source:?} {s}");
                assert_eq!(bits(&v), bits(&one.3), "{source:?} {s}: fitting's sums");
            }
        }
    }

    /// Without the other allele named (plink 1.9's `.raw`), a counted
    /// allele that is neither the reference's REF nor ALT (the other
    /// strand) is a mismatch, not an assumed flip.
    #[test]
    fn projection_assumes_no_flip_off_the_reference_alleles() {
        let text = std::fs::read_to_string(real("new.raw")).unwrap().replacen(
            "rs92226486_T",
            "rs92226486_A",
            1,
        );
        let loaded = Loaded::from_text("new.raw", &text);
        let g = DosageTable::parse(&loaded, Delimiter::Whitespace, "patient_id", false).unwrap();
        let (m, note) =
            super::projection::fit_projection(&g, &real("ref.eigenvec.allele"), None).unwrap();
        assert_eq!((m.snps.len(), m.skipped), (999, 2), "{note}");
        assert!(note.contains("2 with an allele that is neither"), "{note}");
    }

    /// Ancestry components projected with a reference's `--pca
    /// allele-wts` weights equal plink 2's `--score … variance-standardize`
    /// `PCk_AVG` to 1e-6, for new samples read from a `.bed` and from
    /// plink 1.9's `.raw` (which counts other alleles and names no other
    /// allele), and for the reference samples themselves.
    #[test]
    fn projected_components_equal_plink2() {
        for (geno, expected) in [
            ("new.bed", "new_projected.sscore"),
            ("new.raw", "new_projected.sscore"),
            ("ref.bed", "ref_projected.sscore"),
        ] {
            let loaded = Loaded::read(&real(geno)).unwrap();
            let g =
                DosageTable::parse(&loaded, Delimiter::Whitespace, "patient_id", false).unwrap();
            let rows: Vec<usize> = (0..g.ids.len()).collect();
            let (m, note) =
                super::projection::fit_projection(&g, &real("ref.eigenvec.allele"), None).unwrap();
            assert!(note.contains("5 ancestry components"), "{note}");
            assert!(note.contains("ref.acount"), "{note}");
            assert_eq!((m.snps.len(), m.alleles.len(), m.skipped), (1000, 2000, 0));
            let got = m.project(&g, &rows).unwrap();
            for k in 0..5 {
                let want = sscore(expected, &format!("PC{}_AVG", k + 1));
                assert_eq!(want.len(), g.ids.len());
                for (id, w) in want {
                    let i = g.ids.iter().position(|x| *x == id).unwrap();
                    let v = got[[i, k]];
                    assert!(
                        (v - w).abs() < 1e-6,
                        "{geno} PC{} {id}: {v} vs plink2 {w}",
                        k + 1
                    );
                }
            }
        }
    }
}
