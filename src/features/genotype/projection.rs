//! Ancestry principal components projected from a reference panel: the
//! per-allele weights plink 2 writes with `--pca allele-wts`
//! (`.eigenvec.allele`), applied as its documented projection recipe does,
//!
//! ```text
//! plink2 --read-freq REF.acount --score REF.eigenvec.allele 2 5 header-read \
//!        no-mean-imputation variance-standardize --score-col-nums 6-…
//! ```
//!
//! For patient i and component k, every line (SNP j, allele a, weight w)
//! of the weights file adds `w_k × (d − 2p) / √(2p(1 − p))`, where d is
//! the patient's copies of a and p the reference frequency of a; a missing
//! call adds 0; the sum is divided by 2 × the patient's non-missing SNPs
//! (plink 2's `PCk_AVG = PCk_SUM / ALLELE_CT`). A SNP with p = 0 or 1 adds
//! 0 but still counts (plink 2 sets its slope to 0). Sources: plink 2
//! documentation of `--pca allele-wts` and `--score variance-standardize`;
//! checked against plink 2.00a3.5's output on the fixtures in
//! tests/fixtures/genetics/real/ (`new_projected.sscore`), reproduced in
//! bench/pc_projection_reference.py.

use std::collections::HashMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::{DosageTable, Loaded};
use crate::error::{Error, Location, Result};
use crate::features::genotype::locate;

/// One line of the weights file, as matched at training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProjectedAllele {
    /// Index into [`ProjectionModel::snps`].
    pub(crate) snp: usize,
    /// The line's allele (`A1`).
    pub(crate) allele: String,
    /// Whether the allele is the training file's *other* allele (copies =
    /// 2 − dosage).
    pub(crate) flip: bool,
    /// Reference frequency of the allele.
    pub(crate) freq: f64,
    /// The weight on each component.
    pub(crate) weights: Vec<f64>,
}

/// Components projected with a reference panel's allele weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProjectionModel {
    /// The `.eigenvec.allele` file's name.
    pub(crate) file: String,
    /// The reference frequencies' file (`.acount` or `.afreq`).
    pub(crate) freq_file: String,
    /// The SNPs used, each counted once in the denominator.
    pub(crate) snps: Vec<String>,
    /// The weight lines used.
    pub(crate) alleles: Vec<ProjectedAllele>,
    /// Number of components.
    pub(crate) components: usize,
    /// Weight lines left out: SNP absent from the training genotypes, allele
    /// not one of the SNP's, or no usable reference frequency.
    pub(crate) skipped: usize,
}

/// A whitespace-separated table with a `#`-prefixed header line (plink 2's
/// output files): the header's fields and the data lines with their
/// 1-based numbers.
type Table<'a> = (Vec<&'a str>, Vec<(u64, Vec<&'a str>)>);

fn table<'a>(file: &str, text: &'a str) -> Result<Table<'a>> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let Some((_, head)) = lines.next() else {
        return Err(Error::data(Location::file(file), "the file is empty"));
    };
    let head: Vec<&str> = head.trim_start_matches('#').split_whitespace().collect();
    let rows = lines
        .map(|(n, l)| (n, l.split_whitespace().collect::<Vec<_>>()))
        .collect();
    Ok((head, rows))
}

fn column(file: &str, head: &[&str], name: &str, what: &str) -> Result<usize> {
    head.iter()
        .position(|h| h.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            Error::data(
                Location::file(file).line(1),
                format!("no `{name}` column: {what}"),
            )
        })
}

fn text_of(loaded: &Loaded) -> Result<&str> {
    std::str::from_utf8(&loaded.bytes).map_err(|_| {
        Error::data(
            Location::file(&loaded.name),
            "the file is not valid UTF-8 text",
        )
    })
}

/// SNP ID → (REF, ALT, ALT frequency).
type Freqs = HashMap<String, (String, String, f64)>;

/// Reference frequency of every SNP's ALT allele, with its REF and ALT:
/// `.acount` (`ALT_CTS / OBS_CT`) or `.afreq` (`ALT_FREQS`). Multi-allelic
/// lines (ALT with a comma) are left out.
fn read_freqs(path: &str) -> Result<(String, Freqs)> {
    let loaded = Loaded::read(path)?;
    let file = loaded.name.clone();
    let (head, rows) = table(&file, text_of(&loaded)?)?;
    let what = "give plink 2's `--freq counts` (.acount) or `--freq` (.afreq) output for the reference panel";
    let id = column(&file, &head, "ID", what)?;
    let (r, a) = (
        column(&file, &head, "REF", what)?,
        column(&file, &head, "ALT", what)?,
    );
    let counts = head.iter().position(|h| *h == "ALT_CTS");
    let freqs = head.iter().position(|h| *h == "ALT_FREQS");
    let obs = head.iter().position(|h| *h == "OBS_CT");
    let mut out = HashMap::new();
    for (n, f) in rows {
        let need = [Some(id), Some(r), Some(a), counts, freqs, obs]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0);
        if f.len() <= need {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!("{} fields; the header has {}", f.len(), head.len()),
            ));
        }
        if f[a].contains(',') {
            continue;
        }
        let num = |c: usize| -> Result<f64> {
            f[c].parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    Error::data(
                        Location::file(&file).line(n).column(head[c]),
                        format!("`{}` is not a count or frequency", f[c]),
                    )
                })
        };
        let p = match (counts, obs, freqs) {
            // A SNP no reference sample was called for has no frequency.
            (Some(_), Some(o), _) if num(o)? == 0.0 => continue,
            (Some(c), Some(o), _) => num(c)? / num(o)?,
            (_, _, Some(q)) => num(q)?,
            _ => {
                return Err(Error::data(
                    Location::file(&file).line(1),
                    format!("neither ALT_CTS with OBS_CT nor ALT_FREQS: {what}"),
                ))
            }
        };
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!("the ALT frequency is {p}, outside 0–1"),
            ));
        }
        out.insert(f[id].to_string(), (f[r].to_string(), f[a].to_string(), p));
    }
    Ok((file, out))
}

/// The frequency file next to `weights` (`P.eigenvec.allele` → `P.acount`,
/// else `P.afreq`).
fn default_freqs(weights: &str) -> Option<String> {
    let prefix = weights
        .strip_suffix(".gz")
        .unwrap_or(weights)
        .strip_suffix(".eigenvec.allele")?;
    [".acount", ".afreq"]
        .iter()
        .map(|e| format!("{prefix}{e}"))
        .find(|p| std::path::Path::new(p).is_file())
}

/// A path's last component (what a bundle records of an input).
fn base_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |f| f.to_string_lossy().into_owned())
}

/// `--pc-freqs`, else the frequency file next to the weights.
fn freq_path(weights: &str, freqs: Option<&str>) -> Result<String> {
    freqs.map(str::to_string).or_else(|| default_freqs(weights)).ok_or_else(|| {
        Error::usage(format!(
            "--pc-weights {weights}: the projection standardises each SNP with the reference panel's allele frequencies; give --pc-freqs REF.acount (plink 2's --freq counts on the reference, as in its --pca allele-wts recipe), or put it next to the weights as PREFIX.acount"
        ))
    })
}

/// One weights line before matching: (line, SNP, allele, weights).
type WeightLine = (u64, String, String, Vec<f64>);

/// The weight lines of a `.eigenvec.allele` file (`ID`, `A1`, `PC1…`).
fn read_allele_weights(path: &str) -> Result<(String, usize, Vec<WeightLine>)> {
    let loaded = Loaded::read(path)?;
    let file = loaded.name.clone();
    let (head, rows) = table(&file, text_of(&loaded)?)?;
    let what = "give the `.eigenvec.allele` file plink 2 writes with `--pca allele-wts` (columns ID, A1, PC1, PC2, …)";
    let id = column(&file, &head, "ID", what)?;
    let a1 = column(&file, &head, "A1", what)?;
    let pcs: Vec<usize> = (1..)
        .map_while(|k| head.iter().position(|h| *h == format!("PC{k}")))
        .collect();
    if pcs.is_empty() {
        return Err(Error::data(
            Location::file(&file).line(1),
            format!("no `PC1` column: {what}"),
        ));
    }
    let need = pcs.iter().chain([&id, &a1]).copied().max().unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len());
    for (n, f) in rows {
        if f.len() <= need {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!("{} fields; the header has {}", f.len(), head.len()),
            ));
        }
        let mut w = Vec::with_capacity(pcs.len());
        for &c in &pcs {
            match f[c].parse::<f64>() {
                Ok(v) if v.is_finite() => w.push(v),
                _ => {
                    return Err(Error::data(
                        Location::file(&file).line(n).column(head[c]),
                        format!("`{}` is not a number", f[c]),
                    ))
                }
            }
        }
        out.push((n, f[id].to_string(), f[a1].to_string(), w));
    }
    if out.is_empty() {
        return Err(Error::data(
            Location::file(&file),
            "the file has no weights",
        ));
    }
    Ok((file, pcs.len(), out))
}

/// The SNP IDs of a `.eigenvec.allele` file.
pub(super) fn weight_snps(path: &str) -> Result<Vec<String>> {
    Ok(read_allele_weights(path)?
        .2
        .into_iter()
        .map(|(_, snp, _, _)| snp)
        .collect())
}

/// Why a weight line is left out.
enum Skip {
    Mismatch,
    NoFrequency,
}

/// Whether the line's allele `a1` is the training file's other allele
/// (copies = 2 − dosage), and its reference frequency. Without the other
/// allele named, a flip is assumed only when the counted allele is the
/// reference's REF or ALT (a biallelic SNP on the same strand).
fn orient_line(
    a: &crate::data::Alleles,
    a1: &str,
    freq: Option<&(String, String, f64)>,
) -> std::result::Result<(bool, f64), Skip> {
    let known = |c: &str| freq.is_some_and(|(r, alt, _)| r == c || alt == c);
    let flip = if a.counted == a1 {
        false
    } else if a.other.as_deref() == Some(a1) || a.other.is_none() && known(&a.counted) {
        true
    } else {
        return Err(Skip::Mismatch);
    };
    match freq {
        Some((_, alt, p)) if alt == a1 => Ok((flip, *p)),
        Some((r, _, p)) if r == a1 => Ok((flip, 1.0 - p)),
        _ => Err(Skip::NoFrequency),
    }
}

/// Matches the reference weights to the training genotypes `g`. Returns
/// the model and a note for stderr.
pub(super) fn fit_projection(
    g: &DosageTable,
    weights: &str,
    freqs: Option<&str>,
) -> Result<(ProjectionModel, String)> {
    let freqs = freq_path(weights, freqs)?;
    let (file, k, lines) = read_allele_weights(weights)?;
    let (freq_file, freq) = read_freqs(&freqs)?;
    let mut snps: Vec<String> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut alleles = Vec::new();
    let (mut absent, mut mismatch, mut no_freq) = (0usize, 0usize, 0usize);
    for (n, snp, a1, w) in lines {
        let Some(s) = g.find(&snp) else {
            absent += 1;
            continue;
        };
        let Some(a) = &g.alleles[s] else {
            return Err(Error::data(
                Location::file(&g.file),
                format!("projecting components with {file} needs the genotype file to name each SNP's alleles (a .bed, .raw or VCF); `{snp}` (line {n} of {file}) has none"),
            ));
        };
        let (flip, p) = match orient_line(a, &a1, freq.get(&snp)) {
            Ok(o) => o,
            Err(Skip::Mismatch) => {
                mismatch += 1;
                continue;
            }
            Err(Skip::NoFrequency) => {
                no_freq += 1;
                continue;
            }
        };
        let next = snps.len();
        let j = *index.entry(s).or_insert(next);
        if j == next {
            snps.push(g.snp(s).to_string());
        }
        alleles.push(ProjectedAllele {
            snp: j,
            allele: a1,
            flip,
            freq: p,
            weights: w,
        });
    }
    let skipped = absent + mismatch + no_freq;
    if alleles.is_empty() {
        return Err(Error::data(
            Location::file(&file),
            format!("none of its weights can be used with {}: {absent} lines name a SNP not in it, {mismatch} an allele that is neither of the SNP's, {no_freq} a SNP without a frequency in {freq_file}", g.file),
        ));
    }
    let note = format!(
        "{file}: {k} ancestry components pc1…pc{k} projected from {} SNPs of {} (reference frequencies {freq_file}); {skipped} weight lines left out ({absent} SNPs not in it, {mismatch} with an allele that is neither of the SNP's, {no_freq} without a reference frequency)",
        snps.len(),
        g.file
    );
    Ok((
        ProjectionModel {
            file: base_name(&file),
            freq_file: base_name(&freq_file),
            snps,
            alleles,
            components: k,
            skipped,
        },
        note,
    ))
}

impl ProjectionModel {
    /// Component scores (rows × K) of the genotype-file rows `grows`, as
    /// plink 2's `PCk_AVG`; a patient with no called SNP gets 0 (the
    /// reference mean).
    pub(crate) fn project(&self, g: &DosageTable, grows: &[usize]) -> Result<Array2<f64>> {
        let snps: Vec<&str> = self.snps.iter().map(String::as_str).collect();
        let idx = locate(g, &snps, "the projected ancestry components")?;
        let mut sum = Array2::<f64>::zeros((grows.len(), self.components));
        for a in &self.alleles {
            let var = 2.0 * a.freq * (1.0 - a.freq);
            if var <= 1e-15 {
                continue;
            }
            let sd = var.sqrt();
            let col = &g.values[idx[a.snp]];
            for (i, &r) in grows.iter().enumerate() {
                let d = col.get(r);
                if d.is_nan() {
                    continue;
                }
                let copies = if a.flip { 2.0 - d } else { d };
                let z = (copies - 2.0 * a.freq) / sd;
                for (o, w) in sum.row_mut(i).iter_mut().zip(&a.weights) {
                    *o += w * z;
                }
            }
        }
        for (i, &r) in grows.iter().enumerate() {
            let called = idx
                .iter()
                .filter(|&&s| !g.values[s].get(r).is_nan())
                .count();
            let denom = 2.0 * called as f64;
            sum.row_mut(i).iter_mut().for_each(|v| {
                *v = if called == 0 { 0.0 } else { *v / denom };
            });
        }
        Ok(sum)
    }

    /// Checks stored values (used when loading a bundle).
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.components == 0 || self.snps.is_empty() || self.alleles.is_empty() {
            return Err("it needs at least one component, SNP and weight line".into());
        }
        let ok = self.alleles.iter().all(|a| {
            a.snp < self.snps.len()
                && a.weights.len() == self.components
                && a.weights.iter().all(|w| w.is_finite())
                && (0.0..=1.0).contains(&a.freq)
        });
        if ok {
            Ok(())
        } else {
            Err(
                "a weight line has a SNP index, weight count, weight or frequency out of range"
                    .into(),
            )
        }
    }
}
