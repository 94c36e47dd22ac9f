//! PLINK 1 binary filesets (`.bed` + `.bim` + `.fam`), read by hand and
//! turned into the text of the `.raw` file that `plink --bfile PREFIX
//! --recode A include-alt` would write, which the `.raw` reader then
//! parses with its usual semantics (the counted allele is the `.bim`'s A1,
//! the other is named: `rs1_A(/G)`).
//!
//! Why not the `bed-reader` crate: version 1.1.1 with
//! `default-features = false` still pulls 282 crates (cloud-file,
//! fetch-data, numpy/pyo3 among them; `cargo tree`, 2026-12-05) into a
//! tool that builds in CI from scratch; the format is 3 magic bytes and
//! 2 bits per call (PLINK 1.9 docs, "bed" file format).
//!
//! Limits: every SNP is decoded (not only the model's) and the text form
//! holds a few bytes per call, so memory grows with SNPs × samples.

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// The three bytes that start a SNP-major PLINK 1 `.bed` file.
pub(crate) const MAGIC: [u8; 3] = [0x6c, 0x1b, 0x01];

/// The `.bed` file of `path`: itself when it exists, else `path.bed` (a
/// fileset prefix), when that exists.
pub(crate) fn resolve(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if p.extension().is_some_and(|e| e == "bed") {
        return Some(p.to_path_buf());
    }
    let with = PathBuf::from(format!("{path}.bed"));
    (!p.exists() && with.exists()).then_some(with)
}

fn sibling(bed: &Path, ext: &str) -> Result<(String, String)> {
    let p = bed.with_extension(ext);
    let name = p.display().to_string();
    let text = std::fs::read_to_string(&p).map_err(|e| {
        Error::data(
            Location::file(bed.display().to_string()),
            format!("a PLINK .bed needs its .{ext} next to it: cannot read {name} ({e})"),
        )
    })?;
    Ok((name, text))
}

/// Whitespace-separated lines with at least `min` fields; an error names
/// the file and line.
fn rows<'a>(name: &str, text: &'a str, min: usize, what: &str) -> Result<Vec<Vec<&'a str>>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < min {
            return Err(Error::data(
                Location::file(name).line(i as u64 + 1),
                format!("has {} fields; a .{what} line has at least {min}", f.len()),
            ));
        }
        out.push(f);
    }
    if out.is_empty() {
        return Err(Error::data(Location::file(name), "the file is empty"));
    }
    Ok(out)
}

/// The `.raw` text of the fileset whose `.bed` holds `bed`.
pub(crate) fn to_raw_text(bed_path: &Path, bed: &[u8]) -> Result<Vec<u8>> {
    let bed_name = bed_path.display().to_string();
    let (fam_name, fam_text) = sibling(bed_path, "fam")?;
    let (bim_name, bim_text) = sibling(bed_path, "bim")?;
    let fam = rows(&fam_name, &fam_text, 6, "fam")?;
    let bim = rows(&bim_name, &bim_text, 6, "bim")?;
    if !bed.starts_with(&MAGIC[..2]) {
        return Err(Error::data(
            Location::file(&bed_name),
            "is not a PLINK 1 .bed file (it does not start with bytes 6c 1b)",
        ));
    }
    if bed.get(2) != Some(&MAGIC[2]) {
        return Err(Error::data(
            Location::file(&bed_name),
            "is an individual-major PLINK .bed (PLINK 0.99 layout): rewrite it with `plink --bfile PREFIX --make-bed --out NEW`",
        ));
    }
    let (n, m) = (fam.len(), bim.len());
    let per = n.div_ceil(4);
    if bed.len() != 3 + per * m {
        return Err(Error::data(
            Location::file(&bed_name),
            format!(
                "has {} bytes, but {fam_name} lists {n} samples and {bim_name} {m} SNPs, which need {}: the three files do not belong together",
                bed.len(),
                3 + per * m
            ),
        ));
    }
    let mut out = String::with_capacity((n + 1) * (m * 2 + 40));
    out.push_str("FID IID PAT MAT SEX PHENOTYPE");
    for s in &bim {
        out.push_str(&format!(" {}_{}(/{})", s[1], s[4], s[5]));
    }
    out.push('\n');
    // 2-bit codes, low bits first (PLINK 1.9 docs): 00 A1/A1, 01 missing,
    // 10 A1/A2, 11 A2/A2; the .raw counts A1.
    const CALL: [&str; 4] = [" 2", " NA", " 1", " 0"];
    for (i, f) in fam.iter().enumerate() {
        out.push_str(&f[..6].join(" "));
        for s in 0..m {
            let byte = bed[3 + s * per + i / 4];
            out.push_str(CALL[((byte >> (2 * (i % 4))) & 3) as usize]);
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}
