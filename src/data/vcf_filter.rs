//! A VCF read as it is decompressed, record by record: each needed record
//! (every record without a SNP set) is parsed at once by the VCF reader
//! ([`super::vcf::Parser`]) and the others are skipped, so a genome-wide
//! VCF's text is never held and messages still name the file's own line
//! numbers. A record is needed when its ID, its `ID:ALT` (a record
//! split from a multi-allelic site) or its `CHROM:POS:REF:ALT` (no ID) is
//! in the set; meta and header lines are kept. Records that are not needed
//! are not checked.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

use sha2::{Digest, Sha256};

use crate::data::calls::Dosages;
use crate::data::input::hex;
use crate::data::vcf::Item;
use crate::error::{Error, Location, Result};

/// The names to look for: the needed SNPs, and the ID part of each
/// `ID:ALT` name, so that every record of a split multi-allelic site is
/// kept and named `ID:ALT` as in the whole file.
pub(crate) fn wanted_ids(keep: &HashSet<String>) -> HashSet<String> {
    let mut ids = keep.clone();
    for k in keep {
        if let Some((id, _)) = k.rsplit_once(':') {
            ids.insert(id.to_string());
        }
    }
    ids
}

/// Whether a VCF data line names a needed SNP (see the module docs):
/// `ids` from [`wanted_ids`].
pub(crate) fn needed(line: &[u8], ids: &HashSet<String>) -> bool {
    let mut f = line.split(|&b| b == b'\t');
    let (Some(chrom), Some(pos), Some(id), Some(reference), Some(alt)) =
        (f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        // Too short to be a record: the VCF reader names the problem.
        return true;
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let id = text(id);
    if id != "." && !id.is_empty() && ids.contains(&id) {
        return true;
    }
    ids.contains(&format!(
        "{}:{}:{}:{}",
        text(chrom),
        text(pos),
        text(reference),
        text(alt)
    ))
}

/// A VCF or BCF parsed as it was read: the table of the SNPs kept (some
/// or all), and the file's name and SHA-256 (of all its bytes, as stored).
pub(crate) struct Filtered {
    /// The needed SNPs' dosages.
    pub(crate) table: crate::data::dosage::DosageTable,
    /// Bare file name.
    pub(crate) base_name: String,
    /// SHA-256 of the file as stored (empty for a block picked from it).
    pub(crate) sha256: String,
}

/// The file `path` as a buffered reader of its bytes, inflated as they are
/// read when it is gzip (BGZF included); and whether it is.
pub(crate) fn open_inflated(path: &str) -> Result<(Box<dyn BufRead>, bool)> {
    let io = |source| Error::Io {
        action: "cannot read",
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut raw = BufReader::with_capacity(1 << 16, file);
    let gz = raw.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn BufRead> = if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    Ok((input, gz))
}

/// Hands `sink` the lines of the text VCF `path` as it is decompressed
/// (without their line ends, with their 1-based numbers): meta and header
/// lines, and the records `ids` needs (see [`needed`]; every record with
/// `None`). Returns how many records were handed on, or `None` when the
/// file is not a VCF text file or has classic-Mac line ends.
pub(crate) fn feed(
    path: &str,
    ids: Option<&HashSet<String>>,
    sink: &mut dyn FnMut(&[u8], u64) -> Result<()>,
) -> Result<Option<usize>> {
    let (mut lines, gz) = open_inflated(path)?;
    // Not a VCF, gzip data too short to tell, or binary: the whole-file
    // read says what the file is.
    let text_vcf = |h: &[u8]| {
        let h = &h[..h.len().min(8192)];
        crate::data::vcf::is_vcf(h) && h.iter().filter(|&&b| b == 0).count() * 100 <= h.len()
    };
    if !lines.fill_buf().is_ok_and(text_vcf) {
        return Ok(None);
    }
    let (mut kept, mut number) = (0usize, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = lines.read_until(b'\n', &mut line).map_err(|e| {
            Error::data(
                Location::file(path),
                match gz {
                    true => format!("cannot decompress gzip data: {e} (is the file truncated?)"),
                    false => format!("cannot read the VCF: {e}"),
                },
            )
        })?;
        if n == 0 {
            break;
        }
        number += 1;
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.contains(&b'\r') {
            return Ok(None);
        }
        // A byte-order mark before `##fileformat` is not part of the header.
        let body = match number {
            1 => body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body),
            _ => body,
        };
        let meta = body.starts_with(b"#") || body.is_empty();
        let wanted = !meta && ids.is_none_or(|ids| needed(body, ids));
        kept += usize::from(wanted);
        if meta || wanted {
            sink(body, number)?;
        }
    }
    Ok(Some(kept))
}

/// `path` parsed as it is decompressed, keeping only the records of `keep`
/// (every record with `None`; line numbers stay the file's), or `None` when
/// the file is not a VCF text file, has classic-Mac line ends or holds none
/// of the SNPs (unless `empty_ok`: a table of the samples alone): the
/// whole-file read handles those (and names what is missing). Only the
/// kept records' dosages are held, never the text.
pub(crate) fn read(
    path: &str,
    keep: Option<&HashSet<String>>,
    empty_ok: bool,
) -> Result<Option<Filtered>> {
    let ids = keep.map(wanted_ids);
    let mut parser = crate::data::vcf::Parser::new(path);
    let Some(kept) = feed(path, ids.as_ref(), &mut |line, n| parser.line(line, n))? else {
        return Ok(None);
    };
    if kept == 0 && keep.is_some() && !empty_ok {
        // None of the SNPs is here: the whole read names what is missing.
        return Ok(None);
    }
    finished(path, parser, empty_ok).map(Some)
}

/// Hands `f` every record of the VCF or BCF file `path` whose SNP is in
/// `keep` (its name, alleles, dosages and line, in file order), parsed as the file is
/// decompressed and freed once handed on, so that a polygenic score over
/// a genome-wide file holds one site's records at a time; returns the
/// reader's notes. The names are the whole read's (`ID:ALT` for the
/// records of a split multi-allelic site, which a sorted file keeps
/// together; an unsorted one that splits them is an error).
pub(crate) fn stream(
    path: &str,
    keep: &HashSet<String>,
    mut f: impl FnMut(&str, Option<&crate::data::Alleles>, &Dosages, u64) -> Result<()>,
) -> Result<Vec<String>> {
    let ids = wanted_ids(keep);
    let mut parser = crate::data::vcf::Parser::new(path);
    let mut site: Vec<u8> = Vec::new();
    // Records read for their ID are named `ID:ALT`: handed on when kept.
    let mut f = |id: &str, a: Option<&crate::data::Alleles>, v: &Dosages, line: u64| {
        if keep.contains(id) {
            f(id, a, v, line)
        } else {
            Ok(())
        }
    };
    let mut sink = |item: Item, number: u64| -> Result<()> {
        let record: Option<(&[u8], &[u8])> = match &item {
            Item::Line(line) if !line.is_empty() && !line.starts_with(b"#") => {
                let mut fields = line.splitn(3, |&b| b == b'\t');
                Some((fields.next().unwrap_or(&[]), fields.next().unwrap_or(&[])))
            }
            Item::Line(_) => None,
            Item::Decoded { site, .. } => Some((site[0].as_bytes(), site[1].as_bytes())),
        };
        if let Some((chrom, pos)) = record {
            let same = site
                .strip_prefix(chrom)
                .and_then(|rest| rest.strip_prefix(b"\t"))
                == Some(pos);
            if !same {
                parser.drain(&mut f)?;
                site.clear();
                site.extend_from_slice(chrom);
                site.push(b'\t');
                site.extend_from_slice(pos);
            }
        }
        parser.item(item, number)
    };
    let fed = match feed(path, Some(&ids), &mut |line, n| sink(Item::Line(line), n))? {
        Some(n) => Some(n),
        None => crate::data::bcf::feed(path, Some(&ids), &mut sink)?,
    };
    if fed.is_none() {
        return Err(Error::data(
            Location::file(path),
            "the file is no longer a VCF or BCF that can be read record by record (was it changed while it was read?)",
        ));
    }
    parser.drain(&mut f)?;
    // (A truncated BGZF file is noted by the read of the model's SNPs.)
    parser.finish_drained()
}

/// The table of the variant file `path` once `parser` has read it, with a
/// note when it may be truncated, its bare name and its hash.
pub(crate) fn finished(
    path: &str,
    parser: crate::data::vcf::Parser,
    empty_ok: bool,
) -> Result<Filtered> {
    let mut table = parser.finish_with(empty_ok)?;
    table
        .notes
        .extend(crate::data::input::bgzf_truncation_note(path));
    let base_name = std::path::Path::new(path)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    Ok(Filtered {
        table,
        base_name,
        sha256: sha256_of(path)?,
    })
}

/// The SHA-256 (hex) of the file's bytes as stored (a second, sequential
/// read).
fn sha256_of(path: &str) -> Result<String> {
    let io = |source| Error::Io {
        action: "cannot read",
        path: path.into(),
        source,
    };
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dosage::DosageTable;
    use crate::data::input::{Delimiter, Loaded};

    fn real(name: &str) -> String {
        format!(
            "{}/tests/fixtures/genetics/real/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// The filtered read gives the whole read's table restricted to the
    /// kept SNPs (values, alleles, line numbers), and the same file hash,
    /// for plain and BGZF VCFs, split multi-allelic records and merged
    /// GT/DS files.
    #[test]
    fn filtered_read_is_the_whole_read_restricted() {
        for name in [
            "base.vcf",
            "base.vcf.gz",
            "multiallelic_split.vcf",
            "merged_ds_gt.vcf.gz",
        ] {
            let path = real(name);
            let whole = Loaded::read(&path).unwrap();
            let all = DosageTable::parse(&whole, Delimiter::Byte(b'\t'), "x", false).unwrap();
            let keep: HashSet<String> = all.snps().iter().step_by(3).cloned().collect();
            // Read with no SNP list: every record, as the whole read.
            let every = read(&path, None, false).unwrap().unwrap().table;
            assert_eq!(every.snps(), all.snps(), "{name}");
            let all_bits = |t: &DosageTable| -> Vec<Vec<u64>> {
                t.values
                    .iter()
                    .map(|d| d.iter().map(f64::to_bits).collect())
                    .collect()
            };
            assert!(all_bits(&every) == all_bits(&all), "{name}");
            assert_eq!(every.alleles, all.alleles, "{name}");
            assert_eq!(every.notes, all.notes, "{name}");
            assert_eq!(every.skipped_multiallelic, all.skipped_multiallelic);
            let part = read(&path, Some(&keep), false).unwrap().unwrap();
            assert_eq!(part.sha256, whole.sha256, "{name}");
            let sub = part.table;
            assert_eq!(sub.ids, all.ids, "{name}");
            assert_eq!(sub.snps().len(), keep.len(), "{name}");
            for (s, snp) in sub.snps().iter().enumerate() {
                let w = all.find(snp).unwrap();
                let bits = |d: &crate::data::calls::Dosages| -> Vec<u64> {
                    d.iter().map(f64::to_bits).collect()
                };
                assert_eq!(bits(&sub.values[s]), bits(&all.values[w]), "{name} {snp}");
                assert_eq!(sub.alleles[s], all.alleles[w], "{name} {snp}");
                assert_eq!(sub.snp_lines[s], all.snp_lines[w], "{name} {snp}");
            }
        }
        // One record of a split multi-allelic site keeps its `ID:ALT` name.
        let keep: HashSet<String> = ["rs87112396:C".to_string()].into();
        let sub = read(&real("multiallelic_split.vcf"), Some(&keep), false)
            .unwrap()
            .unwrap()
            .table;
        assert!(sub.find("rs87112396:C").is_some(), "{:?}", sub.snps());
        // A truncated gzip VCF is an error naming the file.
        let gz = std::fs::read(real("base.vcf.gz")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.vcf.gz");
        std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
        let cut = cut.display().to_string();
        let Err(e) = read(&cut, Some(&keep), false) else {
            panic!("a truncated gzip VCF was read")
        };
        let e = e.to_string();
        assert!(e.starts_with(&cut) && e.contains("truncated"), "{e}");
        // Not a VCF: the whole-file read handles it.
        assert!(read(&real("base_plink19.raw"), None, false)
            .unwrap()
            .is_none());
        assert!(read(&real("base.bcf"), None, false).unwrap().is_none());
    }

    /// Streamed record by record, the kept SNPs come with the whole read's
    /// names (`ID:ALT` for split sites), alleles, values and lines, for
    /// VCFs, BGZF VCFs and BCFs; a split site whose records are apart (an
    /// unsorted file) is an error naming both lines, where the whole read
    /// renames them.
    #[test]
    fn streamed_records_are_the_whole_reads() {
        for name in [
            "base.vcf",
            "base.vcf.gz",
            "multiallelic_split.vcf",
            "merged_ds_gt.vcf.gz",
            "base.bcf",
            "sites.bcf",
        ] {
            let path = real(name);
            let all = match read(&path, None, false).unwrap() {
                Some(f) => f.table,
                None => {
                    crate::data::bcf::read_table(&path, None, false)
                        .unwrap()
                        .unwrap()
                        .table
                }
            };
            let keep: HashSet<String> = all.snps().iter().step_by(2).cloned().collect();
            let mut got = Vec::new();
            stream(&path, &keep, |id, alleles, values, line| {
                let bits: Vec<u64> = values.iter().map(f64::to_bits).collect();
                got.push((id.to_string(), alleles.cloned(), bits, line));
                Ok(())
            })
            .unwrap();
            let want: Vec<_> = (0..all.snps().len())
                .filter(|&s| keep.contains(&all.snps()[s]))
                .map(|s| {
                    let bits: Vec<u64> = all.values[s].iter().map(f64::to_bits).collect();
                    (
                        all.snps()[s].clone(),
                        all.alleles[s].clone(),
                        bits,
                        all.snp_lines[s],
                    )
                })
                .collect();
            assert!(got == want, "{name}");
        }
        // rs87112396's second record moved after the next site.
        let text = std::fs::read_to_string(real("multiallelic_split.vcf")).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let at = lines.iter().position(|l| l.contains("\tA\tG\t")).unwrap();
        lines.swap(at, at + 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unsorted.vcf");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let path = path.display().to_string();
        let keep: HashSet<String> = ["rs87112396:G", "rs61051769"].map(String::from).into();
        let whole = read(&path, Some(&keep), false).unwrap().unwrap().table;
        assert!(whole.find("rs87112396:G").is_some());
        let e = stream(&path, &keep, |_, _, _, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("unsorted.vcf, line {}", at + 2))
                && e.contains(&format!("lines {} and {}", at, at + 2))
                && e.contains("bcftools sort"),
            "{e}"
        );
    }
}
