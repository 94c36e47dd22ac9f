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

use std::collections::{BTreeMap, HashMap};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::{Alleles, Dataset, DosageTable, Loaded};
use crate::error::{Error, Location, Result};

/// Name of the polygenic-score feature.
pub(crate) const PRS_FEATURE: &str = "prs";

/// Name of principal component `k` (1-based).
pub(crate) fn pc_name(k: usize) -> String {
    format!("pc{k}")
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

/// Principal components of the standardised genotype matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PcaModel {
    /// The SNPs, in column order.
    pub(crate) snps: Vec<String>,
    /// Training mean of each SNP's dosage (also its imputation value).
    pub(crate) center: Vec<f64>,
    /// Training standard deviation of each SNP after imputation (1 if constant).
    pub(crate) scale: Vec<f64>,
    /// Mean of the standardised matrix as the PCA saw it.
    pub(crate) mean: Vec<f64>,
    /// `components[k][j]`: loading of SNP `j` on component `k`; each
    /// component's largest loading is positive.
    pub(crate) components: Vec<Vec<f64>>,
    /// Share of the variance explained by each component.
    pub(crate) explained_variance_ratio: Vec<f64>,
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
    /// Which genotype features the model uses.
    pub(crate) genotypes_as: GenotypesAs,
    /// The polygenic score, with `--prs-weights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prs: Option<PrsModel>,
    /// The principal components, with `--genotype-pcs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pca: Option<PcaModel>,
}

/// Training options for genetic features.
#[derive(Debug, Clone, Default)]
pub(crate) struct GeneticOptions {
    /// The PLINK-style score file.
    pub(crate) prs_weights: Option<String>,
    /// PLINK's `no-mean-imputation`.
    pub(crate) no_mean_imputation: bool,
    /// Number of principal components.
    pub(crate) pcs: Option<usize>,
    /// Which genotype features to use.
    pub(crate) genotypes_as: Option<GenotypesAs>,
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

/// How a scoring file's alleles relate to the training file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlleleMatch {
    /// Same counted allele.
    Same,
    /// The scoring file counts the training file's other allele; `assumed`
    /// when neither file names the other allele (biallelic assumed).
    Flip {
        /// Neither file names its other allele.
        assumed: bool,
    },
    /// The alleles cannot be reconciled.
    Mismatch,
}

/// Compares training alleles `t` with scoring alleles `s`.
pub(crate) fn compare_alleles(t: &Alleles, s: &Alleles) -> AlleleMatch {
    if s.counted == t.counted {
        return match (&t.other, &s.other) {
            (Some(a), Some(b)) if a != b => AlleleMatch::Mismatch,
            _ => AlleleMatch::Same,
        };
    }
    let t_ok = t.other.as_ref().is_none_or(|o| *o == s.counted);
    let s_ok = s.other.as_ref().is_none_or(|o| *o == t.counted);
    if t_ok && s_ok {
        AlleleMatch::Flip {
            assumed: t.other.is_none() && s.other.is_none(),
        }
    } else {
        AlleleMatch::Mismatch
    }
}

/// Mean of the finite values (`None` when there are none).
fn mean_finite(values: impl Iterator<Item = f64>) -> Option<f64> {
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
    pub(crate) fn fit(
        ds: &Dataset,
        rows: &[usize],
        opts: &GeneticOptions,
    ) -> Result<(GenotypeModel, Vec<String>)> {
        let g = ds.genotypes.as_ref().ok_or_else(|| {
            Error::usage("--prs-weights, --genotype-pcs and --genotypes-as need --genotypes")
        })?;
        let grows: Vec<usize> = rows.iter().map(|&r| ds.genotype_rows[r]).collect();
        let mut notes = Vec::new();
        let genotypes_as = match (opts.genotypes_as, opts.pcs) {
            (Some(GenotypesAs::Dosages), Some(_)) => {
                return Err(Error::usage(
                    "--genotypes-as dosages leaves the components of --genotype-pcs unused: use both or pcs",
                ))
            }
            (Some(GenotypesAs::Dosages), None) | (None, None) => GenotypesAs::Dosages,
            (Some(a), Some(_)) => a,
            (None, Some(_)) => GenotypesAs::Both,
            (Some(a), None) => {
                return Err(Error::usage(format!(
                    "--genotypes-as {} needs --genotype-pcs K",
                    if a == GenotypesAs::Pcs { "pcs" } else { "both" }
                )))
            }
        };
        let prs = match &opts.prs_weights {
            None => None,
            Some(path) => {
                let (name, raw) = read_weights(path)?;
                let (m, mut n) = fit_prs(g, &grows, &name, &raw, !opts.no_mean_imputation)?;
                notes.append(&mut n);
                Some(m)
            }
        };
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
        Ok((
            GenotypeModel {
                file: std::path::Path::new(&g.file)
                    .file_name()
                    .map_or_else(|| g.file.clone(), |f| f.to_string_lossy().into_owned()),
                alleles: BTreeMap::new(),
                genotypes_as,
                prs,
                pca,
            },
            notes,
        ))
    }

    /// Names of the computed features, in order.
    pub(crate) fn derived_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.prs.is_some() {
            names.push(PRS_FEATURE.to_string());
        }
        if let Some(p) = &self.pca {
            names.extend((1..=p.components.len()).map(pc_name));
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
        if let Some(p) = &self.prs {
            used.extend(p.weights.iter().map(|w| w.snp.as_str()));
        }
        for name in used {
            if let Some(s) = g.find(name) {
                if let Some(a) = &g.alleles[s] {
                    self.alleles.insert(g.snp(s).to_string(), a.clone());
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
        let (mut flipped, mut assumed, mut unchecked) = (0usize, 0usize, 0usize);
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
                    for v in &mut g.values[s] {
                        *v = 2.0 - *v;
                    }
                    g.alleles[s] = Some(t.clone());
                    flipped += 1;
                    assumed += usize::from(guess);
                }
                AlleleMatch::Mismatch => bad.push((s, a, t.clone())),
            }
        }
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
                "{}: the file names no alleles, so the counted allele of {unchecked} SNPs is taken to be the training file's",
                g.file
            ));
        }
        self.add_features(ds)?;
        Ok(notes)
    }

    /// Adds `prs` and `pc1..pcK` to the dataset, computed for every joined row.
    pub(crate) fn add_features(&self, ds: &mut Dataset) -> Result<()> {
        let Some(g) = ds.genotypes.as_ref() else {
            return Ok(());
        };
        let mut add: Vec<(String, Vec<f64>)> = Vec::new();
        if let Some(p) = &self.prs {
            add.push((PRS_FEATURE.into(), p.compute(g, &ds.genotype_rows)?));
        }
        if let Some(p) = &self.pca {
            let scores = p.project(g, &ds.genotype_rows)?;
            for (k, col) in scores.columns().into_iter().enumerate() {
                add.push((pc_name(k + 1), col.to_vec()));
            }
        }
        for (name, values) in add {
            ds.add_derived(&name, values)?;
        }
        Ok(())
    }
}

/// Indices of `snps` in `g`; the error names every absent one.
fn locate(g: &DosageTable, snps: &[&str], what: &str) -> Result<Vec<usize>> {
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

fn fit_prs(
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

fn fit_pca(g: &DosageTable, grows: &[usize], k: usize) -> Result<PcaModel> {
    use linfa::traits::Fit;
    let p = g.snps().len();
    let n = grows.len();
    if k == 0 {
        return Err(Error::usage("--genotype-pcs must be at least 1"));
    }
    if k > p || k >= n {
        return Err(Error::usage(format!(
            "--genotype-pcs {k} is too many: {} has {p} SNPs and there are {n} training patients (K must be at most the SNPs and below the patients)",
            g.file
        )));
    }
    let mut center = Vec::with_capacity(p);
    let mut scale = Vec::with_capacity(p);
    for col in &g.values {
        let c = mean_finite(grows.iter().map(|&r| col[r])).unwrap_or(0.0);
        let var = grows
            .iter()
            .map(|&r| {
                let v = if col[r].is_nan() { c } else { col[r] };
                (v - c) * (v - c)
            })
            .sum::<f64>()
            / n as f64;
        let sd = var.sqrt();
        center.push(c);
        scale.push(if sd > 1e-12 && sd.is_finite() {
            sd
        } else {
            1.0
        });
    }
    let x = standardise(g, grows, &(0..p).collect::<Vec<_>>(), &center, &scale);
    // Total sum of squares about the column means: the denominator of the
    // share of variance (linfa's own ratio is relative to the K components).
    let total: f64 = x
        .columns()
        .into_iter()
        .map(|c| {
            let m = c.mean().unwrap_or(0.0);
            c.iter().map(|v| (v - m) * (v - m)).sum::<f64>()
        })
        .sum();
    if total <= 1e-12 {
        return Err(Error::data(
            Location::file(&g.file),
            "no SNP varies across the training patients, so there are no principal components",
        ));
    }
    let fitted = linfa_reduction::Pca::params(k)
        .fit(&linfa::DatasetBase::from(x))
        .map_err(|e| Error::Fit(format!("principal components of {}: {e}", g.file)))?;
    let mut components: Vec<Vec<f64>> = fitted
        .components()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    for c in &mut components {
        let big = c
            .iter()
            .copied()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        if big < 0.0 {
            c.iter_mut().for_each(|v| *v = -*v);
        }
    }
    let model = PcaModel {
        snps: g.snps().to_vec(),
        center,
        scale,
        mean: fitted.mean().to_vec(),
        components,
        explained_variance_ratio: fitted
            .singular_values()
            .iter()
            .map(|s| (s * s / total).clamp(0.0, 1.0))
            .collect(),
    };
    if model
        .components
        .iter()
        .flatten()
        .chain(&model.mean)
        .any(|v| !v.is_finite())
    {
        return Err(Error::Fit(format!(
            "principal components of {}: the decomposition did not give finite loadings",
            g.file
        )));
    }
    Ok(model)
}

/// The imputed, standardised matrix of SNP columns `idx` for rows `grows`.
fn standardise(
    g: &DosageTable,
    grows: &[usize],
    idx: &[usize],
    center: &[f64],
    scale: &[f64],
) -> Array2<f64> {
    let mut x = Array2::zeros((grows.len(), idx.len()));
    for (j, &s) in idx.iter().enumerate() {
        for (i, &r) in grows.iter().enumerate() {
            let d = g.values[s][r];
            let v = if d.is_nan() { center[j] } else { d };
            x[[i, j]] = (v - center[j]) / scale[j];
        }
    }
    x
}

impl PcaModel {
    /// Component scores (rows × K) of the genotype-file rows `grows`.
    pub(crate) fn project(&self, g: &DosageTable, grows: &[usize]) -> Result<Array2<f64>> {
        let snps: Vec<&str> = self.snps.iter().map(String::as_str).collect();
        let idx = locate(g, &snps, "the genotype principal components")?;
        let mut x = standardise(g, grows, &idx, &self.center, &self.scale);
        for mut row in x.rows_mut() {
            for (v, m) in row.iter_mut().zip(&self.mean) {
                *v -= m;
            }
        }
        let k = self.components.len();
        let mut c = Array2::zeros((k, self.snps.len()));
        for (i, comp) in self.components.iter().enumerate() {
            for (j, v) in comp.iter().enumerate() {
                c[[i, j]] = *v;
            }
        }
        Ok(x.dot(&c.t()))
    }

    /// Checks stored values (used when loading a bundle).
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        let p = self.snps.len();
        let ok = self.center.len() == p
            && self.scale.len() == p
            && self.mean.len() == p
            && self.components.iter().all(|c| c.len() == p)
            && self.scale.iter().all(|s| s.is_finite() && *s > 0.0)
            && self
                .components
                .iter()
                .flatten()
                .chain(&self.center)
                .chain(&self.mean)
                .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err("the genotype principal components have inconsistent or invalid values".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            AlleleMatch::Mismatch
        );
        assert_eq!(
            compare_alleles(&ag, &al("A", Some("C"))),
            AlleleMatch::Mismatch
        );
        assert_eq!(compare_alleles(&ag, &al("C", None)), AlleleMatch::Mismatch);
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
        let g = DosageTable::parse(&raw, Delimiter::Whitespace, "patient_id").unwrap();
        let rows: Vec<usize> = (0..g.ids.len()).collect();
        let (name, weights) = read_weights(&fixture("prs_weights.txt")).unwrap();
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
            let (m, notes) = fit_prs(&g, &rows, &name, &weights, mean_imputation).unwrap();
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

    #[test]
    fn weights_file_errors_name_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.txt");
        std::fs::write(&p, "rs1 A 0.5\nrs2 C abc\n").unwrap();
        let e = read_weights(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            e.contains("line 2, column `weight`: `abc` is not a number"),
            "{e}"
        );
        std::fs::write(&p, "rs1,A,0.5\nrs1,G,1\n").unwrap();
        let e = read_weights(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("lines 1 and 2"), "{e}");
        std::fs::write(&p, "rs1 A\n").unwrap();
        let e = read_weights(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("line 1: 2 fields"), "{e}");
        std::fs::write(&p, "SNP A1 BETA\n").unwrap();
        let e = read_weights(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("no weights"), "{e}");
        std::fs::write(&p, "# comment\nrs1\tA\t-1e-2\n").unwrap();
        assert_eq!(
            read_weights(p.to_str().unwrap()).unwrap().1[0].weight,
            -0.01
        );
    }
}
