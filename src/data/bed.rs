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
//! Only the SNPs a command needs are decoded (`score`, `evaluate`, … the
//! bundle's; `train` with `--snps` the listed ones and the polygenic
//! score's and projection's), but the text form holds a few bytes per call
//! of those, so memory grows with needed SNPs × samples.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::data::input::Loaded;
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

/// The number of non-blank lines, each with at least `min` fields (an
/// error names the file and line), without holding them.
fn count_rows(name: &str, text: &str, min: usize, what: &str) -> Result<usize> {
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let k = line.split_whitespace().take(min).count();
        if k == 0 {
            continue;
        }
        if k < min {
            return Err(Error::data(
                Location::file(name).line(i as u64 + 1),
                format!("has {k} fields; a .{what} line has at least {min}"),
            ));
        }
        n += 1;
    }
    if n == 0 {
        return Err(Error::data(Location::file(name), "the file is empty"));
    }
    Ok(n)
}

/// The `.bed` opened after its magic bytes, checked against the sample and
/// SNP counts: the reader, the magic bytes and the bytes per SNP.
fn open_bed(
    bed_path: &Path,
    n: usize,
    m: usize,
    (fam_name, bim_name): (&str, &str),
) -> Result<(std::io::BufReader<std::fs::File>, [u8; 3], usize)> {
    let bed_name = bed_path.display().to_string();
    let io = |source| Error::Io {
        action: "cannot read",
        path: bed_path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(bed_path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 3];
    let got = r.read(&mut magic).map_err(io)?;
    check_magic(&bed_name, &magic[..got])?;
    let per = n.div_ceil(4);
    if len != 3 + (per * m) as u64 {
        return Err(Error::data(
            Location::file(&bed_name),
            format!(
                "has {len} bytes, but {fam_name} lists {n} samples and {bim_name} {m} SNPs, which need {}: the three files do not belong together",
                3 + per * m
            ),
        ));
    }
    Ok((r, magic, per))
}

/// A `.bed` call's 2-bit codes (PLINK 1.9 docs, low bits first): 00
/// A1/A1, 01 missing, 10 A1/A2, 11 A2/A2, as copies of A1 …
const COPIES: [f64; 4] = [2.0, f64::NAN, 1.0, 0.0];
/// … and as `.raw` cells (with their leading space).
const CALL: [&str; 4] = [" 2", " NA", " 1", " 0"];

/// The code of sample `i` in a SNP's 2-bit column.
fn code(col: &[u8], i: usize) -> usize {
    ((col[i / 4] >> (2 * (i % 4))) & 3) as usize
}

/// A `.raw` column name counting A1 and naming A2, with its leading space.
fn raw_name(id: &str, a1: &str, a2: &str) -> String {
    format!(" {id}_{a1}(/{a2})")
}

/// Copies of A1 of sample `i` in a SNP's 2-bit column (PLINK 1.9 docs: 00
/// A1/A1, 01 missing, 10 A1/A2, 11 A2/A2, low bits first); NaN if missing.
pub(crate) fn a1_copies(col: &[u8], i: usize) -> f64 {
    COPIES[code(col, i)]
}

/// Calls `f(id, a1, a2, column, samples)` for every SNP of the fileset whose ID
/// `want` accepts, in `.bim` order, reading the `.bed` once without holding
/// it; returns the number of samples. The `.bim` is read line by line.
pub(crate) fn stream_snps(
    bed_path: &Path,
    want: impl Fn(&str) -> bool,
    mut f: impl FnMut(&str, &str, &str, &[u8], usize) -> Result<()>,
) -> Result<usize> {
    let (fam_name, fam_text) = sibling(bed_path, "fam")?;
    let (bim_name, bim_text) = sibling(bed_path, "bim")?;
    let n = count_rows(&fam_name, &fam_text, 6, "fam")?;
    drop(fam_text);
    let lines = || {
        bim_text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
    };
    let m = lines().count();
    let (mut r, _, per) = open_bed(bed_path, n, m, (&fam_name, &bim_name))?;
    let mut buf = vec![0u8; per];
    for (i, line) in lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 {
            return Err(Error::data(
                Location::file(&bim_name).line(i as u64 + 1),
                format!("has {} fields; a .bim line has at least 6", fields.len()),
            ));
        }
        r.read_exact(&mut buf).map_err(|source| Error::Io {
            action: "cannot read",
            path: bed_path.to_path_buf(),
            source,
        })?;
        if want(fields[1]) {
            f(fields[1], fields[4], fields[5], &buf, n)?;
        }
    }
    Ok(n)
}

/// Calls `f(chrom, pos, id, a1, a2)` for every variant of the `.bim` next
/// to `bed_path`, in order.
pub(crate) fn bim_sites(
    bed_path: &Path,
    mut f: impl FnMut(&str, u64, &str, &str, &str),
) -> Result<()> {
    let (bim_name, bim_text) = sibling(bed_path, "bim")?;
    for (i, line) in bim_text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let pos = fields.get(3).and_then(|p| p.parse::<i64>().ok());
        let (Some(pos), true) = (pos, fields.len() >= 6) else {
            return Err(Error::data(
                Location::file(&bim_name).line(i as u64 + 1),
                "a .bim line has 6 fields, the 4th a position",
            ));
        };
        // PLINK 1.9 marks a variant to ignore with a negative position.
        if let Ok(pos) = u64::try_from(pos) {
            f(fields[0], pos, fields[1], fields[4], fields[5]);
        }
    }
    Ok(())
}

/// Reads the fileset whose `.bed` is `bed_path` as the `.raw` text of its
/// SNPs in `keep` (every SNP when `None`): one sequential pass over the
/// `.bed` that hashes it (SHA-256, as for any input) and keeps only those
/// SNPs' bytes, so memory grows with the kept SNPs × samples, not with the
/// fileset.
pub(crate) fn load(bed_path: &Path, keep: Option<&HashSet<String>>) -> Result<Loaded> {
    let bed_name = bed_path.display().to_string();
    let (fam_name, fam_text) = sibling(bed_path, "fam")?;
    let (bim_name, bim_text) = sibling(bed_path, "bim")?;
    let fam = rows(&fam_name, &fam_text, 6, "fam")?;
    let bim = rows(&bim_name, &bim_text, 6, "bim")?;
    let (n, m) = (fam.len(), bim.len());
    let (mut r, magic, per) = open_bed(bed_path, n, m, (&fam_name, &bim_name))?;
    let mut hash = Sha256::new();
    hash.update(magic);
    let mut buf = vec![0u8; per];
    let mut columns: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut first = None;
    for (s, snp) in bim.iter().enumerate() {
        r.read_exact(&mut buf).map_err(|source| Error::Io {
            action: "cannot read",
            path: bed_path.to_path_buf(),
            source,
        })?;
        hash.update(&buf);
        if keep.is_none_or(|k| k.contains(snp[1])) {
            columns.push((s, buf.clone()));
        } else if s == 0 {
            first = Some(buf.clone());
        }
    }
    // None needed (a model whose only genetic features are streamed
    // scores): the first SNP keeps the table well formed; SNPs that are
    // needed yet absent are named by the steps that need them.
    if columns.is_empty() {
        if let Some(c) = first {
            columns.push((0, c));
        }
    }
    let mut out = String::with_capacity((n + 1) * (columns.len() * 2 + 40));
    out.push_str("FID IID PAT MAT SEX PHENOTYPE");
    for (s, _) in &columns {
        let b = &bim[*s];
        out.push_str(&raw_name(b[1], b[4], b[5]));
    }
    out.push('\n');
    for (i, f) in fam.iter().enumerate() {
        out.push_str(&f[..6].join(" "));
        for (_, col) in &columns {
            out.push_str(CALL[code(col, i)]);
        }
        out.push('\n');
    }
    Ok(Loaded {
        name: bed_name.clone(),
        base_name: bed_path
            .file_name()
            .map_or_else(|| bed_name.clone(), |f| f.to_string_lossy().into_owned()),
        bytes: out.into_bytes(),
        sha256: crate::data::input::hex(&hash.finalize()),
    })
}

/// Whether the file starts like a PLINK 1 `.bed` (`6c 1b`).
pub(crate) fn looks_like_bed(path: &Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| head == MAGIC[..2])
}

/// The SNP-major magic bytes, or an error saying what the file is.
fn check_magic(bed_name: &str, head: &[u8]) -> Result<()> {
    if !head.starts_with(&MAGIC[..2]) {
        return Err(Error::data(
            Location::file(bed_name),
            "is not a PLINK 1 .bed file (it does not start with bytes 6c 1b)",
        ));
    }
    if head.get(2) != Some(&MAGIC[2]) {
        return Err(Error::data(
            Location::file(bed_name),
            "is an individual-major PLINK .bed (PLINK 0.99 layout): rewrite it with `plink --bfile PREFIX --make-bed --out NEW`",
        ));
    }
    Ok(())
}

/// A fileset's needed SNPs held packed (2 bits per call, as in the `.bed`,
/// but sample-major: each sample's calls side by side, so that a block of
/// samples in any order reads one short run per sample) with the samples'
/// IIDs, so that `score` can make a `.raw` block of any samples in any
/// order: memory is the IIDs plus a quarter byte per needed call, not the
/// fileset.
pub(crate) struct PackedFileset {
    name: String,
    base_name: String,
    /// The `.raw` header (`FID IID PAT MAT SEX PHENOTYPE rs1_A(/G) …`).
    header: String,
    /// IIDs of every sample, in `.fam` order, end to end in one string
    /// (`iid_ends[i]` is the end of sample `i`'s).
    iid_text: String,
    iid_ends: Vec<u32>,
    /// `calls[i * stride + j / 4] >> (2 * (j % 4)) & 3`: the `.bed` code of
    /// sample `i` at kept SNP `j`.
    calls: Vec<u8>,
    stride: usize,
    /// The kept SNPs' IDs, in `.bim` order.
    ids: Vec<String>,
}

impl PackedFileset {
    /// Reads the `.fam`, the `.bim` and the needed SNPs of `bed_path`.
    pub(crate) fn read(bed_path: &Path, keep: &HashSet<String>) -> Result<PackedFileset> {
        let (fam_name, fam_text) = sibling(bed_path, "fam")?;
        let (mut iid_text, mut iid_ends) = (String::new(), Vec::new());
        for (i, line) in fam_text.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.is_empty() {
                continue;
            }
            if f.len() < 6 {
                return Err(Error::data(
                    Location::file(&fam_name).line(i as u64 + 1),
                    format!("has {} fields; a .fam line has at least 6", f.len()),
                ));
            }
            iid_text.push_str(f[1]);
            let end = u32::try_from(iid_text.len()).map_err(|_| {
                Error::data(
                    Location::file(&fam_name),
                    "the IDs add up to more than 4 GB",
                )
            })?;
            iid_ends.push(end);
        }
        drop(fam_text);
        // The kept SNPs, from the .bim; the first SNP keeps the table well
        // formed when none is needed.
        let (_, bim_text) = sibling(bed_path, "bim")?;
        let bim_ids: Vec<&str> = bim_text
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        let kept = bim_ids.iter().filter(|id| keep.contains(**id)).count();
        let none = kept == 0;
        let k = if none { 1 } else { kept };
        let first = bim_ids.first().map(|s| s.to_string());
        drop(bim_ids);
        drop(bim_text);
        let n = iid_ends.len();
        let stride = k.div_ceil(4);
        let mut calls = vec![0u8; n * stride];
        let mut header = String::from("FID IID PAT MAT SEX PHENOTYPE");
        let mut ids = Vec::with_capacity(k);
        let want = |id: &str| {
            if none {
                first.as_deref() == Some(id)
            } else {
                keep.contains(id)
            }
        };
        stream_snps(bed_path, want, |id, a1, a2, col, _| {
            let j = ids.len();
            if j >= k {
                return Ok(()); // a repeated first ID
            }
            header.push_str(&raw_name(id, a1, a2));
            ids.push(id.to_string());
            let (byte, shift) = (j / 4, 2 * (j % 4));
            for (i, row) in calls.chunks_exact_mut(stride).enumerate() {
                row[byte] |= (code(col, i) as u8) << shift;
            }
            Ok(())
        })?;
        header.push('\n');
        let name = bed_path.display().to_string();
        Ok(PackedFileset {
            base_name: bed_path
                .file_name()
                .map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned()),
            name,
            header,
            iid_text,
            iid_ends,
            calls,
            stride,
            ids,
        })
    }

    /// The `.bed` code of sample `i` at kept SNP `j`.
    fn code(&self, i: usize, j: usize) -> usize {
        ((self.calls[i * self.stride + j / 4] >> (2 * (j % 4))) & 3) as usize
    }

    /// Samples in the fileset.
    pub(crate) fn len(&self) -> usize {
        self.iid_ends.len()
    }

    /// IID of sample `i`.
    pub(crate) fn iid(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.iid_ends[i - 1] as usize
        };
        &self.iid_text[start..self.iid_ends[i] as usize]
    }

    /// Frequency of A1 (the counted allele of the `.raw` text) and the
    /// called count of each of `snps` held, over every sample.
    pub(crate) fn frequencies(&self, snps: &[&str]) -> HashMap<String, (f64, usize)> {
        let mut out = HashMap::new();
        for (j, id) in self.ids.iter().enumerate() {
            if snps.contains(&id.as_str()) {
                let (mut called, mut sum) = (0usize, 0.0);
                for i in 0..self.len() {
                    let v = COPIES[self.code(i, j)];
                    if !v.is_nan() {
                        called += 1;
                        sum += v;
                    }
                }
                let f = if called > 0 {
                    sum / (2.0 * called as f64)
                } else {
                    f64::NAN
                };
                out.insert(id.clone(), (f, called));
            }
        }
        out
    }

    /// The `.raw` text of samples `rows` (indices into the `.fam`), in that
    /// order.
    pub(crate) fn block(&self, rows: &[usize]) -> Loaded {
        let mut out =
            String::with_capacity(self.header.len() + rows.len() * (self.ids.len() * 3 + 32));
        out.push_str(&self.header);
        for &i in rows {
            out.push_str("0 ");
            out.push_str(self.iid(i));
            out.push_str(" 0 0 0 -9");
            for j in 0..self.ids.len() {
                out.push_str(CALL[self.code(i, j)]);
            }
            out.push('\n');
        }
        Loaded {
            name: self.name.clone(),
            base_name: self.base_name.clone(),
            bytes: out.into_bytes(),
            sha256: String::new(),
        }
    }
}
