//! VCF genotype files (`.vcf`, `.vcf.gz`): one SNP per line, one column per
//! sample. The dosage is the `DS` FORMAT field when the line has one, else
//! the number of ALT alleles in `GT` (`0/0` → 0, `0|1` → 1, `1/1` → 2; a
//! haploid call counts twice, as PLINK does; any `.` → missing). The sample
//! names of the `#CHROM` line are the patient IDs; the SNP name is the ID
//! column, or `CHROM:POS:REF:ALT` when it is `.`; the counted allele is ALT
//! and the other REF. Sites with more than one ALT allele are skipped and
//! counted (see [`DosageTable::skipped_multiallelic`]).

use std::collections::HashMap;

use crate::data::dosage::{parse_dosage, Alleles, DosageTable, GenotypeFormat};
use crate::data::input::Loaded;
use crate::error::{Error, Location, Result};

/// Fixed columns before the samples.
const FIXED: [&str; 9] = [
    "#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
];

/// True when the bytes look like a VCF: `##fileformat=VCF` or a `#CHROM` header first.
pub(crate) fn is_vcf(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    start.starts_with(b"##fileformat=VCF") || start.starts_with(b"#CHROM")
}

/// Parses a VCF into a dosage table.
pub(crate) fn parse(loaded: &Loaded) -> Result<DosageTable> {
    let file = loaded.name.as_str();
    let mut t = DosageTable::empty(file, GenotypeFormat::Vcf);
    t.id_column = "sample".into();
    let mut header_line = 0u64;
    let mut seen: HashMap<String, u64> = HashMap::new();
    // A byte-order mark before `##fileformat` is not part of the header.
    let bytes = loaded
        .bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&loaded.bytes);
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() || raw.starts_with(b"##") {
            continue;
        }
        let s = std::str::from_utf8(raw).map_err(|_| {
            Error::data(
                Location::file(file).line(line),
                "the line is not valid UTF-8 text",
            )
        })?;
        let fields: Vec<&str> = s.split('\t').collect();
        if header_line == 0 {
            read_header(&mut t, &fields, line)?;
            header_line = line;
        } else {
            read_variant(&mut t, &fields, line, &mut seen)?;
        }
    }
    if header_line == 0 {
        return Err(Error::data(
            Location::file(file),
            "no `#CHROM` header line: is this a VCF?",
        ));
    }
    if t.snps.is_empty() {
        let why = if t.skipped_multiallelic > 0 {
            format!(
                "the VCF has no biallelic variants ({} multi-allelic sites skipped)",
                t.skipped_multiallelic
            )
        } else {
            "the VCF has a header but no variant lines".into()
        };
        return Err(Error::data(Location::file(file), why));
    }
    Ok(t)
}

/// The `#CHROM` line: checks the fixed columns and reads the sample names
/// (non-empty and distinct) as the patient IDs.
fn read_header(t: &mut DosageTable, fields: &[&str], line: u64) -> Result<()> {
    let file = t.file.clone();
    if !fields[0].starts_with("#CHROM") {
        return Err(Error::data(
            Location::file(&file).line(line),
            "expected the `#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT sample…` header line (tab-separated) before the first variant",
        ));
    }
    if fields.len() < FIXED.len() + 1 || fields[..FIXED.len()] != FIXED {
        return Err(Error::data(
            Location::file(&file).line(line),
            "the header must be `#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT` followed by at least one sample, separated by tabs",
        ));
    }
    let samples = &fields[FIXED.len()..];
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (k, name) in samples.iter().enumerate() {
        if name.is_empty() {
            return Err(Error::data(
                Location::file(&file).line(line),
                format!("sample name {} is empty", k + 1),
            ));
        }
        if let Some(first) = ids.insert(name, k) {
            return Err(Error::data(
                Location::file(&file).line(line).column(*name),
                format!(
                    "the sample name appears twice (samples {} and {})",
                    first + 1,
                    k + 1
                ),
            ));
        }
    }
    t.lines = vec![line; samples.len()];
    t.ids = samples.iter().collect();
    Ok(())
}

/// One variant line: its name (ID, or CHROM:POS:REF:ALT), alleles and
/// every sample's dosage; multi-allelic sites are skipped and counted.
fn read_variant(
    t: &mut DosageTable,
    fields: &[&str],
    line: u64,
    seen: &mut HashMap<String, u64>,
) -> Result<()> {
    let file = t.file.clone();
    if fields.len() != t.ids.len() + FIXED.len() {
        return Err(Error::data(
            Location::file(&file).line(line),
            format!(
                "{} tab-separated fields, but the header has {}",
                fields.len(),
                t.ids.len() + FIXED.len()
            ),
        ));
    }
    let (chrom, pos, id, reference, alt) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
    if alt.contains(',') {
        t.skipped_multiallelic += 1;
        return Ok(());
    }
    let name = if id == "." || id.is_empty() {
        format!("{chrom}:{pos}:{reference}:{alt}")
    } else {
        id.to_string()
    };
    if let Some(first) = seen.insert(name.clone(), line) {
        return Err(Error::data(
            Location::file(&file).line(line).column("ID"),
            format!("variant `{name}` appears twice (lines {first} and {line})"),
        ));
    }
    let values = sample_dosages(t, fields, line)?;
    t.values.push(values);
    t.snps.push(name);
    t.raw_names.push(id.to_string());
    t.alleles.push(Some(Alleles {
        counted: alt.to_string(),
        other: Some(reference.to_string()),
    }));
    t.snp_lines.push(line);
    Ok(())
}

/// Every sample's dosage on one variant line: DS when FORMAT has it, else
/// the ALT count of GT.
fn sample_dosages(t: &DosageTable, fields: &[&str], line: u64) -> Result<Vec<f64>> {
    let file = &t.file;
    let format: Vec<&str> = fields[8].split(':').collect();
    let ds = format.iter().position(|f| *f == "DS");
    let gt = format.iter().position(|f| *f == "GT");
    if ds.is_none() && gt.is_none() {
        return Err(Error::data(
            Location::file(file).line(line).column("FORMAT"),
            format!("`{}` has neither a DS nor a GT field", fields[8]),
        ));
    }
    let mut values = Vec::with_capacity(t.ids.len());
    for (k, cell) in fields[FIXED.len()..].iter().enumerate() {
        let parts: Vec<&str> = cell.split(':').collect();
        let loc = || Location::file(file).line(line).column(&t.ids[k]);
        let v = match ds {
            Some(d) => match parts.get(d) {
                None => f64::NAN,
                Some(v) => {
                    parse_dosage(v).map_err(|why| Error::data(loc(), format!("DS: {why}")))?
                }
            },
            None => {
                let g = gt.map_or(".", |g| parts.get(g).copied().unwrap_or("."));
                gt_dosage(g).map_err(|why| Error::data(loc(), why))?
            }
        };
        values.push(v);
    }
    Ok(values)
}

/// ALT copies in a GT call; `.` anywhere → missing.
pub(crate) fn gt_dosage(gt: &str) -> std::result::Result<f64, String> {
    let alleles: Vec<&str> = gt.split(['/', '|']).collect();
    if alleles.len() > 2 {
        return Err(format!(
            "GT `{gt}` has {} alleles; only haploid and diploid calls are read",
            alleles.len()
        ));
    }
    let mut alt = 0.0;
    for a in &alleles {
        match *a {
            "." | "" => return Ok(f64::NAN),
            "0" => {}
            "1" => alt += 1.0,
            other if other.parse::<u32>().is_ok() => {
                return Err(format!(
                    "GT `{gt}` names allele {other}, but the site has one ALT allele"
                ))
            }
            _ => {
                return Err(format!(
                    "`{gt}` is not a GT call (expected e.g. 0/1 or 1|1)"
                ))
            }
        }
    }
    Ok(if alleles.len() == 1 { 2.0 * alt } else { alt })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        Loaded {
            name: "g.vcf".into(),
            base_name: "g.vcf".into(),
            bytes: text.as_bytes().to_vec(),
            sha256: String::new(),
        }
    }

    const HEAD: &str =
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\n";

    #[test]
    fn gt_calls() {
        assert_eq!(gt_dosage("0/0"), Ok(0.0));
        assert_eq!(gt_dosage("0|1"), Ok(1.0));
        assert_eq!(gt_dosage("1/1"), Ok(2.0));
        assert_eq!(gt_dosage("1"), Ok(2.0));
        assert!(gt_dosage("./.").unwrap().is_nan());
        assert!(gt_dosage(".|1").unwrap().is_nan());
        assert!(gt_dosage("0/2").unwrap_err().contains("allele 2"));
        assert!(gt_dosage("0/1/1").is_err());
        assert!(gt_dosage("A/B").is_err());
    }

    #[test]
    fn reads_ds_then_gt_and_skips_multiallelic() {
        let text = format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0/1:0.9\t1/1:.\n\
             1\t20\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t1|1\n\
             1\t30\trs3\tC\tT,G\t.\tPASS\t.\tGT\t0/0\t1|2\n"
        );
        let t = parse(&load(&text)).unwrap();
        assert_eq!(t.ids.iter().collect::<Vec<_>>(), vec!["P1", "P2"]);
        assert_eq!(t.snps, vec!["rs1", "1:20:C:T"]);
        assert_eq!(t.values[0][0], 0.9);
        assert!(t.values[0][1].is_nan());
        assert_eq!(t.values[1], vec![0.0, 2.0]);
        assert_eq!(t.skipped_multiallelic, 1);
        assert_eq!(t.snp_lines, vec![3, 4]);
        assert_eq!(
            t.alleles[0],
            Some(Alleles {
                counted: "G".into(),
                other: Some("A".into())
            })
        );
    }

    #[test]
    fn errors_name_line_and_sample() {
        let e = parse(&load(&format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/3\n"
        )))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "g.vcf, line 3, column `P2`: GT `0/3` names allele 3, but the site has one ALT allele"
        );
        let e = parse(&load(&format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\n"
        )))
        .unwrap_err();
        assert!(
            e.to_string().contains("line 3: 10 tab-separated fields"),
            "{e}"
        );
        let e = parse(&load(&format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tAD\t1\t2\n"
        )))
        .unwrap_err();
        assert!(e.to_string().contains("neither a DS nor a GT"), "{e}");
        let e = parse(&load(&format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tDS\t2.5\t1\n"
        )))
        .unwrap_err();
        assert!(
            e.to_string().contains("column `P1`: DS: dosage `2.5`"),
            "{e}"
        );
        let e = parse(&load("##fileformat=VCFv4.2\n1\t10\n")).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse(&load(&format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\n1\t11\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\n"
        )))
        .unwrap_err();
        assert!(
            e.to_string().contains("appears twice (lines 3 and 4)"),
            "{e}"
        );
        let e = parse(&load(HEAD)).unwrap_err();
        assert!(e.to_string().contains("no variant lines"), "{e}");
    }
}
