//! Principal components of the standardised genotype matrix (linfa-reduction
//! PCA, pure Rust), fitted once on all training rows and projected for
//! every scored patient with the stored means, scales and loadings.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::DosageTable;
use crate::error::{Error, Location, Result};
use crate::features::genotype::{locate, mean_finite};

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

pub(super) fn fit_pca(g: &DosageTable, grows: &[usize], k: usize) -> Result<PcaModel> {
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
        let c = mean_finite(grows.iter().map(|&r| col.get(r))).unwrap_or(0.0);
        let var = grows
            .iter()
            .map(|&r| {
                let v = col.get(r);
                let v = if v.is_nan() { c } else { v };
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
            let d = g.values[s].get(r);
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
