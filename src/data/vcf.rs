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

/// True when the bytes look like a VCF: `##` meta lines (`##fileformat=VCF`
/// first in a valid file) or a `#CHROM` header first.
pub(crate) fn is_vcf(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    start.starts_with(b"##") || start.starts_with(b"#CHROM")
}

/// True when the first line looks like a VCF data line (CHROM, a numeric
/// POS, …, a FORMAT with GT or DS, samples) without the VCF header.
pub(crate) fn is_headerless_vcf(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let Ok(first) = std::str::from_utf8(first) else {
        return false;
    };
    let f: Vec<&str> = first.trim_end_matches('\r').split('\t').collect();
    f.len() > FIXED.len()
        && !f[1].is_empty()
        && f[1].bytes().all(|b| b.is_ascii_digit())
        && f[8].split(':').any(|k| k == "GT" || k == "DS")
}

/// What a VCF read resolved on its own, counted for stderr.
#[derive(Default)]
struct Counts {
    /// Sample cells whose DS was `.` or absent and whose GT was used.
    gt_for_ds: usize,
    /// Variant lines that had such cells.
    gt_for_ds_lines: usize,
    /// Sites with ALT `.` (no alternate allele), read as copies of REF.
    alt_missing: usize,
    /// Records named `ID:ALT` because another record at the same position
    /// has the same ID (split multi-allelic sites).
    renamed: usize,
}

/// A variant already read: its line, position (hashed) and ALT, and index
/// among the SNPs. Kept for every record read (a genome-wide score streams
/// through hundreds of thousands), so it is small: names and sites are
/// keyed by a 64-bit hash. Two names with one hash are told apart by the
/// table's name of the first (a record already handed on by a streamed
/// read has none: such a collision, odds about 1 in 10^19 a pair, would
/// refuse the file as unsorted, never rename a record).
struct Seen {
    line: u64,
    site: u64,
    alt: Box<str>,
    snp: usize,
}

/// The key of a name or site in [`Seen`] maps (SipHash with fixed keys:
/// the same in every run).
fn key(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// A record's samples: the fields of a VCF text line, or the dosages a
/// BCF record's GT and DS give (decoded by [`crate::data::bcf`] only for
/// records whose text the reader reads without a message or a skip).
pub(crate) enum Samples<'a> {
    /// Every field of the line (site fields included).
    Text(&'a [&'a str]),
    /// Each sample's dosage (NaN missing), and how many samples had a DS
    /// field left missing and a GT call read instead.
    Decoded {
        /// Dosages by sample, in header order.
        values: &'a [f64],
        /// Samples whose missing DS fell back to GT.
        gt_for_ds: usize,
    },
}

/// What a streamed reader hands the [`Parser`]: a line of VCF text
/// (without its `\n`), or a BCF record decoded (its site fields and
/// samples' dosages).
pub(crate) enum Item<'a> {
    /// A line of text.
    Line(&'a [u8]),
    /// A decoded record.
    Decoded {
        /// CHROM, POS, ID, REF, ALT as the record's text has them.
        site: [&'a str; 5],
        /// Dosages by sample (NaN missing).
        values: &'a [f64],
        /// Samples whose missing DS fell back to GT.
        gt_for_ds: usize,
    },
}

/// Parses a VCF into a dosage table.
pub(crate) fn parse(loaded: &Loaded) -> Result<DosageTable> {
    // A byte-order mark before `##fileformat` is not part of the header.
    let bytes = loaded
        .bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&loaded.bytes);
    let mut p = Parser::new(&loaded.name);
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        p.line(raw, i as u64 + 1)?;
    }
    p.finish()
}

/// A VCF read line by line (the lines a reader hands it may skip records:
/// see [`super::vcf_filter`]), so that a file is parsed as it is
/// decompressed without its text in memory.
pub(crate) struct Parser {
    t: DosageTable,
    header_line: u64,
    seen: HashMap<u64, Seen>,
    counts: Counts,
    /// SNPs handed on by [`Parser::drain`] (their dosages freed).
    streamed: usize,
}

impl Parser {
    /// A parser of the file named `file` (for messages).
    pub(crate) fn new(file: &str) -> Parser {
        let mut t = DosageTable::empty(file, GenotypeFormat::Vcf);
        t.id_column = "sample".into();
        Parser {
            t,
            header_line: 0,
            seen: HashMap::new(),
            counts: Counts::default(),
            streamed: 0,
        }
    }

    /// Reads line `line` (1-based) without its `\n`.
    pub(crate) fn line(&mut self, raw: &[u8], line: u64) -> Result<()> {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() || raw.starts_with(b"##") {
            return Ok(());
        }
        let s = std::str::from_utf8(raw).map_err(|_| {
            Error::data(
                Location::file(&self.t.file).line(line),
                "the line is not valid UTF-8 text",
            )
        })?;
        let fields: Vec<&str> = s.split('\t').collect();
        if self.header_line == 0 {
            read_header(&mut self.t, &fields, line)?;
            self.header_line = line;
            return Ok(());
        }
        let t = &self.t;
        if fields.len() != t.ids.len() + FIXED.len() {
            return Err(Error::data(
                Location::file(&t.file).line(line),
                format!(
                    "{} tab-separated fields, but the header has {}",
                    fields.len(),
                    t.ids.len() + FIXED.len()
                ),
            ));
        }
        let site = [fields[0], fields[1], fields[2], fields[3], fields[4]];
        self.variant(site, Samples::Text(&fields), line)
    }

    /// Reads `item`, line `line` of the text.
    pub(crate) fn item(&mut self, item: Item, line: u64) -> Result<()> {
        match item {
            Item::Line(raw) => self.line(raw, line),
            Item::Decoded {
                site,
                values,
                gt_for_ds,
            } => self.variant(site, Samples::Decoded { values, gt_for_ds }, line),
        }
    }

    /// Reads the variant record on line `line` (after the header line):
    /// its site fields (CHROM, POS, ID, REF, ALT) and samples.
    fn variant(&mut self, site: [&str; 5], samples: Samples, line: u64) -> Result<()> {
        let (t, seen, counts) = (&mut self.t, &mut self.seen, &mut self.counts);
        if self.header_line == 0 {
            return Err(Error::data(
                Location::file(&t.file).line(line),
                "a record before the `#CHROM` header line",
            ));
        }
        read_variant(t, site, samples, line, seen, (counts, self.streamed))
    }

    /// Hands every SNP read since the last call to `f` (name, alleles,
    /// dosages, line) and frees its dosages, for a file streamed record by
    /// record: call it when a record at another site begins, since only a
    /// record at the same site can rename one read before (`ID:ALT`).
    pub(crate) fn drain(
        &mut self,
        mut f: impl FnMut(&str, Option<&Alleles>, &crate::data::calls::Dosages, u64) -> Result<()>,
    ) -> Result<()> {
        let t = &mut self.t;
        for s in self.streamed..t.snps.len() {
            let values = std::mem::take(&mut t.values[s]);
            f(&t.snps[s], t.alleles[s].as_ref(), &values, t.snp_lines[s])?;
            // Only `seen` is read for a SNP handed on (see split_record_name).
            t.snps[s] = String::new();
            t.raw_names[s] = String::new();
            t.alleles[s] = None;
        }
        self.streamed = t.snps.len();
        Ok(())
    }

    /// The notes of a file streamed with [`Parser::drain`] (what the reader
    /// resolved, and the multi-allelic sites skipped among the records
    /// read), once every line is read.
    pub(crate) fn finish_drained(self) -> Result<Vec<String>> {
        let (mut t, counts) = self.read_header_line()?;
        counts.notes(&mut t);
        let file = format!("{}: ", t.file);
        let mut notes: Vec<String> = t
            .notes
            .iter()
            .map(|n| n.replacen(&file, &format!("{file}polygenic score records: "), 1))
            .collect();
        if t.skipped_multiallelic > 0 {
            notes.push(format!(
                "warning: {file}skipped {} multi-allelic sites (more than one ALT allele) among the polygenic score records; split them (bcftools norm -m-) to use them",
                t.skipped_multiallelic
            ));
        }
        Ok(notes)
    }

    /// The table and counts, once every line is read; an error when no
    /// `#CHROM` line was.
    fn read_header_line(self) -> Result<(DosageTable, Counts)> {
        let Parser {
            t,
            header_line,
            counts,
            ..
        } = self;
        if header_line == 0 {
            return Err(Error::data(
                Location::file(&t.file),
                "no `#CHROM` header line: is this a VCF?",
            ));
        }
        Ok((t, counts))
    }

    /// The table, once every line is read.
    pub(crate) fn finish(self) -> Result<DosageTable> {
        self.finish_with(false)
    }

    /// The table, once every line is read; with `empty_ok` a file without
    /// (kept) records gives a table of its samples and no SNP.
    pub(crate) fn finish_with(self, empty_ok: bool) -> Result<DosageTable> {
        let (mut t, counts) = self.read_header_line()?;
        if t.snps.is_empty() && !empty_ok {
            let why = if t.skipped_multiallelic > 0 {
                format!(
                    "the VCF has no biallelic variants ({} multi-allelic sites skipped)",
                    t.skipped_multiallelic
                )
            } else {
                "the VCF has a header but no variant lines".into()
            };
            return Err(Error::data(Location::file(&t.file), why));
        }
        counts.notes(&mut t);
        Ok(t)
    }
}

impl Counts {
    /// Adds a note for every count that is not zero.
    fn notes(&self, t: &mut DosageTable) {
        let file = t.file.clone();
        if self.gt_for_ds > 0 {
            t.notes.push(format!(
                "{file}: {} sample cells on {} variant lines have no DS value (`.` or absent, as `bcftools merge` writes for a genotyped batch): their GT call was used",
                self.gt_for_ds, self.gt_for_ds_lines
            ));
        }
        if self.alt_missing > 0 {
            t.notes.push(format!(
                "{file}: {} sites have ALT `.` (no alternate allele): read as copies of REF",
                self.alt_missing
            ));
        }
        if self.renamed > 0 {
            t.notes.push(format!(
                "{file}: {} records share their ID with another record at the same position (split multi-allelic sites): named `ID:ALT`",
                self.renamed
            ));
        }
    }
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
    [chrom, pos, id, reference, alt]: [&str; 5],
    samples: Samples,
    line: u64,
    seen: &mut HashMap<u64, Seen>,
    (counts, streamed): (&mut Counts, usize),
) -> Result<()> {
    if alt.contains(',') {
        t.skipped_multiallelic += 1;
        return Ok(());
    }
    let site = format!("{chrom}:{pos}");
    let mut name = if id == "." || id.is_empty() {
        format!("{site}:{reference}:{alt}")
    } else {
        id.to_string()
    };
    if seen.contains_key(&key(&name)) {
        name = split_record_name(t, seen, (counts, streamed), &name, &site, alt, line)?;
    }
    let snp = t.snps.len();
    let alt_missing = alt == "." || alt.is_empty();
    let mut values = match samples {
        Samples::Text(fields) => sample_dosages(t, fields, line, alt_missing, counts)?,
        Samples::Decoded { values, gt_for_ds } => {
            if values.len() != t.ids.len() {
                return Err(Error::data(
                    Location::file(&t.file).line(line),
                    format!(
                        "{} samples, but the header has {}",
                        values.len(),
                        t.ids.len()
                    ),
                ));
            }
            if alt_missing {
                for (k, &v) in values.iter().enumerate() {
                    alt_copies_check(t, line, k, alt_missing, v, &v.to_string())?;
                }
            }
            if gt_for_ds > 0 {
                counts.gt_for_ds += gt_for_ds;
                counts.gt_for_ds_lines += 1;
            }
            values.to_vec()
        }
    };
    let alleles = if alt_missing {
        // No alternate allele: every call is REF/REF; count REF instead.
        counts.alt_missing += 1;
        for v in &mut values {
            *v = 2.0 - *v;
        }
        Alleles {
            counted: reference.to_string(),
            other: None,
        }
    } else {
        Alleles {
            counted: alt.to_string(),
            other: Some(reference.to_string()),
        }
    };
    seen.entry(key(&name)).or_insert(Seen {
        line,
        site: key(&site),
        alt: alt.into(),
        snp,
    });
    t.values.push(values.into());
    t.raw_names.push(name.clone());
    t.snps.push(name);
    t.alleles.push(Some(alleles));
    t.snp_lines.push(line);
    Ok(())
}

/// The name of a record whose ID was seen before: `bcftools norm -m-`
/// keeps the ID on every record it splits a multi-allelic site into, so
/// they are told apart by ALT (`ID:ALT`, the first record renamed too);
/// the same ID at another position or with the same ALT is an error.
fn split_record_name(
    t: &mut DosageTable,
    seen: &mut HashMap<u64, Seen>,
    (counts, streamed): (&mut Counts, usize),
    name: &str,
    site: &str,
    alt: &str,
    line: u64,
) -> Result<String> {
    let file = t.file.clone();
    let first = &seen[&key(name)];
    let first_is = |n: &str| n == name || n.strip_prefix(name) == Some(&format!(":{}", first.alt));
    if first.snp >= streamed && !first_is(&t.snps[first.snp]) {
        // Another name with the same hash: not a repeat.
        return Ok(name.to_string());
    }
    let renamed = format!("{name}:{alt}");
    if first.site != key(site) || &*first.alt == alt || seen.contains_key(&key(&renamed)) {
        return Err(Error::data(
            Location::file(&file).line(line).column("ID"),
            format!(
                "variant `{name}` appears twice (lines {} and {line}); give each record its own ID (e.g. bcftools annotate --set-id '%CHROM:%POS:%REF:%FIRST_ALT')",
                first.line
            ),
        ));
    }
    let (first_snp, first_line, first_alt) = (first.snp, first.line, first.alt.clone());
    if first_snp < streamed {
        // Already handed on (under its ID, or renamed with a record after
        // it): a split site whose records are not next to each other (an
        // unsorted file).
        return Err(Error::data(
            Location::file(&file).line(line).column("ID"),
            format!(
                "variant `{name}` has records at {site} on lines {first_line} and {line} with other sites between them; a polygenic score is read record by record, which needs a sorted file: sort it (bcftools sort) or give each record its own ID"
            ),
        ));
    }
    if t.snps[first_snp] == name {
        let first_name = format!("{name}:{first_alt}");
        t.snps[first_snp] = first_name.clone();
        t.raw_names[first_snp] = first_name.clone();
        seen.insert(
            key(&first_name),
            Seen {
                line: first_line,
                site: key(site),
                alt: first_alt,
                snp: first_snp,
            },
        );
        counts.renamed += 1;
    }
    counts.renamed += 1;
    Ok(renamed)
}

/// Every sample's dosage on one variant line: DS when the cell has one,
/// else the ALT count of GT (counted). At a site with no ALT (`.`) any
/// ALT copy is an error.
fn sample_dosages(
    t: &DosageTable,
    fields: &[&str],
    line: u64,
    alt_missing: bool,
    counts: &mut Counts,
) -> Result<Vec<f64>> {
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
    let last = ds.max(gt).unwrap_or(0);
    let mut values = Vec::with_capacity(t.ids.len());
    let mut fell_back = 0usize;
    for (k, cell) in fields[FIXED.len()..].iter().enumerate() {
        let (mut ds_cell, mut gt_cell) = (None, None);
        for (i, part) in cell.split(':').enumerate().take(last + 1) {
            if Some(i) == ds {
                ds_cell = Some(part).filter(|v| *v != ".");
            }
            if Some(i) == gt {
                gt_cell = Some(part);
            }
        }
        let loc = || Location::file(file).line(line).column(&t.ids[k]);
        let v = match (ds_cell, gt_cell) {
            (Some(v), _) => {
                parse_dosage(v).map_err(|why| Error::data(loc(), format!("DS: {why}")))?
            }
            (None, Some(g)) => {
                let v = gt_dosage(g).map_err(|why| Error::data(loc(), why))?;
                if ds.is_some() && !v.is_nan() {
                    fell_back += 1;
                }
                v
            }
            (None, None) => f64::NAN,
        };
        alt_copies_check(t, line, k, alt_missing, v, cell)?;
        values.push(v);
    }
    if fell_back > 0 {
        counts.gt_for_ds += fell_back;
        counts.gt_for_ds_lines += 1;
    }
    Ok(values)
}

/// At a site whose ALT is `.`, a sample with ALT copies is an error
/// (`cell` is how it was written).
fn alt_copies_check(
    t: &DosageTable,
    line: u64,
    k: usize,
    alt_missing: bool,
    v: f64,
    cell: &str,
) -> Result<()> {
    if alt_missing && v.is_finite() && v != 0.0 {
        return Err(Error::data(
            Location::file(&t.file).line(line).column(&t.ids[k]),
            format!(
                "ALT is `.` (no alternate allele), yet the sample has {v} ALT copies (`{}`): fix the record's ALT, or drop the site (bcftools view -e 'ALT=\".\"')",
                crate::error::shown(cell, 60)
            ),
        ));
    }
    Ok(())
}

/// ALT copies in a GT call; `.` anywhere → missing. VCF 4.4's explicit
/// phasing of the first allele (`/0|1`, `|1`) is read like `0|1`, `1`.
pub(crate) fn gt_dosage(gt: &str) -> std::result::Result<f64, String> {
    // The common diploid calls without the general parse (same values).
    if let &[a, b'/' | b'|', b] = gt.as_bytes() {
        match (a, b) {
            (b'0', b'0') => return Ok(0.0),
            (b'0', b'1') | (b'1', b'0') => return Ok(1.0),
            (b'1', b'1') => return Ok(2.0),
            _ => {}
        }
    }
    let calls = gt
        .strip_prefix(['/', '|'])
        .filter(|rest| !rest.is_empty())
        .unwrap_or(gt);
    let alleles: Vec<&str> = calls.split(['/', '|']).collect();
    if alleles.len() > 2 {
        return Err(format!(
            "GT `{}` has {} alleles; only haploid and diploid calls are read",
            crate::error::shown(gt, 60),
            alleles.len()
        ));
    }
    let mut alt = 0.0;
    let mut missing = false;
    for a in &alleles {
        match *a {
            "." => missing = true,
            "0" => {}
            "1" => alt += 1.0,
            other if !other.is_empty() && other.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(format!(
                    "GT `{}` names allele {other}, but the site has one ALT allele",
                    crate::error::shown(gt, 60)
                ))
            }
            _ => {
                return Err(format!(
                    "`{}` is not a GT call (expected e.g. 0/1, 1|1 or VCF 4.4's /0|1)",
                    crate::error::shown(gt, 60)
                ))
            }
        }
    }
    if missing {
        return Ok(f64::NAN);
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
        // VCF 4.4 explicit phasing of the first allele.
        assert_eq!(gt_dosage("/0|1"), Ok(1.0));
        assert_eq!(gt_dosage("|1/1"), Ok(2.0));
        assert_eq!(gt_dosage("|1"), Ok(2.0));
        assert_eq!(gt_dosage("/0"), Ok(0.0));
        assert!(gt_dosage("/.|.").unwrap().is_nan());
        assert!(gt_dosage("/0|1|1").is_err());
        assert!(gt_dosage("0/").is_err());
        assert!(gt_dosage("//1").is_err());
    }

    fn fixture(name: &str) -> Loaded {
        let path = format!(
            "{}/tests/fixtures/genetics/real/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        Loaded::read(&path).unwrap()
    }

    /// htslib-style VCF 4.4 phase prefixes, against the hand-checked table
    /// `vcf44_phase.expected.tsv` (haploid calls count twice, as in PLINK).
    #[test]
    fn vcf44_phase_prefixes_read_as_expected() {
        let t = parse(&fixture("vcf44_phase.vcf")).unwrap();
        let expected = fixture("vcf44_phase.expected.tsv");
        let text = std::str::from_utf8(&expected.bytes).unwrap();
        let mut checked = 0;
        for row in text.lines().skip(1) {
            let f: Vec<&str> = row.split('\t').collect();
            let (snp, sample, ploidy, alt) = (f[0], f[1], f[3], f[4]);
            let s = t.find(snp).unwrap();
            let r = t.ids.iter().position(|i| i == sample).unwrap();
            let got = t.values[s].get(r);
            if alt == "NA" {
                assert!(got.is_nan(), "{snp} {sample}: {got}");
            } else {
                let copies: f64 = alt.parse().unwrap();
                let want = if ploidy == "1" { 2.0 * copies } else { copies };
                assert_eq!(got, want, "{snp} {sample} `{}`", f[2]);
            }
            checked += 1;
        }
        assert_eq!(checked, 24);
    }

    /// `bcftools merge` of an imputed batch (GT:DS) with a genotyped one
    /// writes `0/1:.`: the genotyped samples' calls are read from GT.
    #[test]
    fn merged_ds_and_gt_batches_use_gt_where_ds_is_missing() {
        let t = parse(&fixture("merged_ds_gt.vcf")).unwrap();
        let base = parse(&fixture("base.vcf")).unwrap();
        let mut compared = 0;
        for (s, snp) in t.snps().iter().enumerate() {
            let b = base.find(snp).unwrap();
            for (r, id) in t.ids.iter().enumerate() {
                let n: u32 = id[1..].parse().unwrap();
                if n <= 40 {
                    assert!(!t.values[s].get(r).is_nan(), "{snp} {id}: DS read");
                    continue;
                }
                let rb = base.ids.iter().position(|i| i == id).unwrap();
                let (got, want) = (t.values[s].get(r), base.values[b].get(rb));
                assert!(got == want || (got.is_nan() && want.is_nan()), "{snp} {id}");
                compared += 1;
            }
        }
        assert_eq!(compared, 40 * t.snps().len());
        assert!(
            t.notes
                .iter()
                .any(|n| n.contains("no DS value") && n.contains("GT call was used")),
            "{:?}",
            t.notes
        );
    }

    /// ALT `.`: a site with calls 0/0 counts REF (2 copies); a call naming
    /// allele 1 there is an error naming the line and sample.
    #[test]
    fn alt_dot_sites() {
        let ok = format!("{HEAD}1\t10\trs1\tG\t.\t.\tPASS\t.\tGT\t0/0\t./.\n");
        let t = parse(&load(&ok)).unwrap();
        assert_eq!(t.values[0].get(0), 2.0);
        assert!(t.values[0].get(1).is_nan());
        assert_eq!(
            t.alleles[0],
            Some(Alleles {
                counted: "G".into(),
                other: None
            })
        );
        assert!(t.notes[0].contains("1 sites have ALT `.`"), "{:?}", t.notes);
        let e = parse(&fixture("alt_dot.vcf")).unwrap_err().to_string();
        assert!(
            e.contains("line 8, column `S002`: ALT is `.` (no alternate allele), yet the sample has 1 ALT copies"),
            "{e}"
        );
    }

    /// Records split by `bcftools norm -m-` keep their ID: they are named
    /// `ID:ALT`; a true duplicate (other position, or same ALT) is an error.
    #[test]
    fn split_multiallelic_records_are_named_by_alt() {
        let t = parse(&fixture("multiallelic_split.vcf")).unwrap();
        assert!(t.find("rs87112396:C").is_some(), "{:?}", t.snps());
        assert!(t.find("rs87112396:G").is_some());
        assert!(t.find("rs87112396").is_none());
        assert!(t.notes.iter().any(|n| n.contains("named `ID:ALT`")));
        let dup = format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\n1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\n"
        );
        let e = parse(&load(&dup)).unwrap_err().to_string();
        assert!(e.contains("appears twice (lines 3 and 4)"), "{e}");
        let three = format!(
            "{HEAD}1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\n1\t10\trs1\tA\tC\t.\tPASS\t.\tGT\t0/0\t1/1\n1\t10\trs1\tA\tT\t.\tPASS\t.\tGT\t0/0\t0/1\n"
        );
        let t = parse(&load(&three)).unwrap();
        assert_eq!(t.snps(), ["rs1:G", "rs1:C", "rs1:T"]);
        assert_eq!(t.values[1].to_f64(), vec![0.0, 2.0]);
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
        assert_eq!(t.values[0].get(0), f64::from(0.9f32), "kept as f32");
        // DS `.` next to a called GT: the call is used.
        assert_eq!(t.values[0].get(1), 2.0);
        assert_eq!(t.values[1].to_f64(), vec![0.0, 2.0]);
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
