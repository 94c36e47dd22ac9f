//! Genotype dosage files: CSV/TSV with an ID column and one column per SNP,
//! PLINK 1.9 `.raw` / plink2 `--export A` (`FID IID PAT MAT SEX PHENOTYPE`
//! then `SNP_ALLELE` or `SNP_ALLELE(/OTHER)`), or VCF (see [`crate::data::vcf`]).
//! Cells are parsed straight into numbers and checked to lie in 0–2.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::calls::Dosages;
use crate::data::input::{Delimiter, Loaded};
use crate::data::table::{
    check_header, decimal_comma_hint, decimal_comma_number, for_each_record, is_missing,
    simple_lines, split_fields, utf8, TextColumn, Width,
};
use crate::error::{Error, Location, Result};

/// The alleles of a SNP column: the one whose copies the dosage counts and,
/// when the file names it, the other one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Alleles {
    /// The counted allele (PLINK's `_A` suffix, VCF ALT).
    pub(crate) counted: String,
    /// The other allele (PLINK's `(/G)` suffix, VCF REF), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) other: Option<String>,
}

impl std::fmt::Display for Alleles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.other {
            Some(o) => write!(f, "counted {}, other {o}", self.counted),
            None => write!(f, "counted {}, other unknown", self.counted),
        }
    }
}

/// The layout a genotype file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenotypeFormat {
    /// CSV/TSV dosages with an ID column.
    Dosage,
    /// PLINK 1.9 `.raw` or plink2 `--export A`.
    PlinkRaw,
    /// VCF (DS or GT).
    Vcf,
}

/// Where the header of a `.raw` file puts the IID, or `None` if the header
/// is not a PLINK `.raw` header. Accepts `FID IID PAT MAT SEX PHENOTYPE`
/// (PLINK 1.9), `#FID IID ...` and `#IID PAT MAT SEX PHENOTYPE` / `IID PAT ...`
/// (plink2 `--export A`).
pub(crate) fn plink_layout(header: &[String]) -> Option<(usize, usize)> {
    let first = header.first()?.trim_start_matches('#');
    let rest = ["PAT", "MAT", "SEX", "PHENOTYPE"];
    let tail_ok = |from: usize| {
        header.len() >= from + 4 && header[from..from + 4].iter().zip(rest).all(|(h, r)| h == r)
    };
    if first == "FID" && header.get(1).is_some_and(|h| h == "IID") && tail_ok(2) {
        return Some((1, 6));
    }
    if first == "IID" && tail_ok(1) {
        return Some((0, 5));
    }
    None
}

/// Splits a `.raw` column name into SNP ID and alleles: `rs1_A` → (`rs1`, A),
/// `rs1_A(/G)` → (`rs1`, A, other G). A name without `_` keeps no alleles.
pub(crate) fn split_raw_name(col: &str) -> (String, Option<Alleles>) {
    let (base, other) = match col.strip_suffix(')').and_then(|s| s.rsplit_once("(/")) {
        Some((b, o)) if !o.is_empty() => (b, Some(o.to_string())),
        _ => (col, None),
    };
    match base.rsplit_once('_') {
        Some((snp, allele)) if !snp.is_empty() && !allele.is_empty() => (
            snp.to_string(),
            Some(Alleles {
                counted: allele.to_string(),
                other,
            }),
        ),
        _ => (col.to_string(), None),
    }
}

/// Dosages of every patient at every SNP, column by column.
#[derive(Debug, Clone)]
pub(crate) struct DosageTable {
    /// File name for messages.
    pub(crate) file: String,
    /// The ID column's name (`IID` for PLINK files).
    pub(crate) id_column: String,
    /// Patient IDs, in file order.
    pub(crate) ids: TextColumn,
    /// 1-based source line of every row.
    pub(crate) lines: Vec<u64>,
    /// SNP names: the column name for CSV/TSV, the SNP ID without the
    /// `_ALLELE` suffix for `.raw`, the ID (or CHROM:POS:REF:ALT) for VCF.
    /// Set by the readers only (the lookup index is built from them).
    pub(super) snps: Vec<String>,
    /// The SNP's name as written in the file (`rs1_A` in a `.raw` file).
    pub(super) raw_names: Vec<String>,
    /// Alleles of every SNP, when the file names them.
    pub(crate) alleles: Vec<Option<Alleles>>,
    /// 1-based line naming each SNP (1 = the header; a VCF data line).
    pub(crate) snp_lines: Vec<u64>,
    /// VCF sites skipped because they have more than one ALT allele.
    pub(crate) skipped_multiallelic: usize,
    /// What the reader resolved on its own (unknown alleles, GT used where
    /// DS was missing, renamed records), for stderr.
    pub(crate) notes: Vec<String>,
    /// The layout the file was read as.
    pub(crate) format: GenotypeFormat,
    /// `values[s].get(r)`: dosage of SNP `s` in row `r`; NaN = missing
    /// (2 bits a hard call, see [`Dosages`]).
    pub(crate) values: Vec<Dosages>,
    /// Whether the file was a PLINK `.raw` file.
    pub(crate) plink: bool,
    /// The file the table was read from when polygenic scores stream over
    /// it instead of being held in the table.
    pub(crate) source: Option<ScoreSource>,
    /// Polygenic scores computed over the whole file this block was cut
    /// from, by row (`score`'s streamed blocks; empty otherwise).
    pub(crate) scores: Vec<(String, Vec<f64>)>,
    /// SNP name → first column, and file name → first column, for [`find`](Self::find).
    index: std::sync::OnceLock<SnpIndex>,
}

/// A genotype file that polygenic scores are streamed over, SNP by SNP, so
/// that their SNPs are never held: its rows are the table's rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScoreSource {
    /// A PLINK 1 `.bed` (rows: the `.fam`'s samples, in order).
    Bed(std::path::PathBuf),
    /// A VCF or BCF file (rows: its samples), read for the scores' records.
    Variants(String),
}

impl ScoreSource {
    /// The file's path, for messages.
    pub(crate) fn path(&self) -> String {
        match self {
            ScoreSource::Bed(p) => p.display().to_string(),
            ScoreSource::Variants(p) => p.clone(),
        }
    }
}

/// Each named column of `scores` at `rows` (in that order).
pub(crate) fn scores_at(scores: &[(String, Vec<f64>)], rows: &[usize]) -> Vec<(String, Vec<f64>)> {
    scores
        .iter()
        .map(|(n, v)| (n.clone(), rows.iter().map(|&r| v[r]).collect()))
        .collect()
}

/// Lookup tables of SNP names and of names as written in the file (first
/// column of each name).
#[derive(Debug, Clone)]
struct SnpIndex {
    snps: HashMap<String, usize>,
    raw: HashMap<String, usize>,
}

impl SnpIndex {
    fn new(snps: &[String], raw: &[String]) -> SnpIndex {
        let first = |names: &[String]| {
            let mut m = HashMap::with_capacity(names.len());
            for (s, n) in names.iter().enumerate() {
                m.entry(n.clone()).or_insert(s);
            }
            m
        };
        SnpIndex {
            snps: first(snps),
            raw: first(raw),
        }
    }
}

impl DosageTable {
    /// An empty table for `file`.
    pub(crate) fn empty(file: &str, format: GenotypeFormat) -> DosageTable {
        DosageTable {
            file: file.to_string(),
            id_column: String::new(),
            ids: TextColumn::default(),
            lines: Vec::new(),
            snps: Vec::new(),
            raw_names: Vec::new(),
            alleles: Vec::new(),
            snp_lines: Vec::new(),
            skipped_multiallelic: 0,
            notes: Vec::new(),
            values: Vec::new(),
            plink: format == GenotypeFormat::PlinkRaw,
            format,
            source: None,
            scores: Vec::new(),
            index: std::sync::OnceLock::new(),
        }
    }

    /// The table of rows `rows` (in that order): the same SNPs, notes and
    /// counts (and SNP lookup, if built), for one block of patients picked
    /// from a table held whole. The SNP names are copied: fine for a
    /// model's SNPs, heavy for a genome-wide polygenic score.
    pub(crate) fn select(&self, rows: &[usize]) -> DosageTable {
        DosageTable {
            file: self.file.clone(),
            id_column: self.id_column.clone(),
            ids: rows.iter().map(|&r| self.ids.get(r)).collect(),
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
            snps: self.snps.clone(),
            raw_names: self.raw_names.clone(),
            alleles: self.alleles.clone(),
            snp_lines: self.snp_lines.clone(),
            skipped_multiallelic: self.skipped_multiallelic,
            notes: self.notes.clone(),
            format: self.format,
            values: self.values.iter().map(|v| v.select(rows)).collect(),
            plink: self.plink,
            source: None,
            scores: scores_at(&self.scores, rows),
            index: self.index.clone(),
        }
    }

    /// Index of a SNP by its name, or by its name as written in the file
    /// (`rs1_A`, so bundles trained before SNP IDs were split still score).
    /// The names are fixed once the file is read, so the hash tables built
    /// on the first call stay right.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        let index = self
            .index
            .get_or_init(|| SnpIndex::new(&self.snps, &self.raw_names));
        index
            .snps
            .get(name)
            .or_else(|| index.raw.get(name))
            .copied()
    }

    /// The SNP names, in file order.
    pub(crate) fn snps(&self) -> &[String] {
        &self.snps
    }

    /// SNP `s`'s name.
    pub(crate) fn snp(&self, s: usize) -> &str {
        &self.snps[s]
    }

    /// Location of a SNP's header (or VCF line) for messages.
    pub(crate) fn snp_location(&self, s: usize) -> Location {
        let loc = Location::file(&self.file).line(self.snp_lines[s]);
        if self.format == GenotypeFormat::Vcf {
            loc.column("ID")
        } else {
            loc.column(&self.raw_names[s])
        }
    }

    /// Parses a genotype file: VCF when it starts with `##fileformat=VCF` or
    /// `#CHROM`, else a delimited dosage table; `id` names the ID column of
    /// CSV/TSV files; `decimal_comma` reads `0,95` as 0.95.
    pub(crate) fn parse(
        loaded: &Loaded,
        delimiter: Delimiter,
        id: &str,
        decimal_comma: bool,
    ) -> Result<DosageTable> {
        let file = loaded.name.clone();
        if loaded.bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::data(Location::file(&file), "the file is empty"));
        }
        if crate::data::vcf::is_vcf(&loaded.bytes) {
            return crate::data::vcf::parse(loaded);
        }
        if crate::data::vcf::is_headerless_vcf(&loaded.bytes) {
            return Err(Error::data(
                Location::file(&file).line(1),
                "this looks like VCF variant lines without the VCF header (the `##fileformat=VCF…` lines and the `#CHROM … FORMAT` line that names the samples): put the header back (e.g. `bcftools reheader -h header.txt`, or `cat header.txt FILE`) and pass the whole VCF",
            ));
        }
        let mut reader = DosageReader {
            table: DosageTable::empty(&file, GenotypeFormat::Dosage),
            id,
            decimal_comma,
            id_pos: 0,
            snp_pos: Vec::new(),
            stage: Vec::new(),
            width: Width::default(),
        };
        match simple_lines(&loaded.bytes, delimiter) {
            Some((d, lines)) => {
                for (line, raw) in lines {
                    reader.row(line, Row::Line(raw, d))?;
                }
            }
            None => for_each_record(&file, &loaded.bytes, delimiter, |line, fields| {
                reader.row(line, Row::Fields(fields))
            })?,
        }
        reader.finish()
    }
}

/// Rows are staged row by row and moved into the columns in groups, which
/// keeps the writes in cache.
const STAGE_ROWS: usize = 64;

/// The state of [`DosageTable::parse`] on a delimited file.
struct DosageReader<'a> {
    table: DosageTable,
    /// The ID column of a CSV/TSV file.
    id: &'a str,
    /// Cells may use a decimal comma (`0,95`).
    decimal_comma: bool,
    /// Position of the ID column in a record.
    id_pos: usize,
    /// Position of every SNP column in a record.
    snp_pos: Vec<usize>,
    /// Staged rows (row-major), not yet moved into the columns.
    stage: Vec<f64>,
    width: Width,
}

impl DosageReader<'_> {
    /// One line: the header first, then patients.
    fn row(&mut self, line: u64, row: Row) -> Result<()> {
        let split: Vec<&str>;
        let fields = match row {
            Row::Fields(fields) => fields,
            Row::Line(raw, d) => {
                // The usual genotype line: the ID first, then one-digit
                // dosages; anything else goes through the general path.
                if self.id_pos == 0 && self.width.get() == Some(self.snp_pos.len() + 1) {
                    let file = &self.table.file;
                    if let Some(id) =
                        digit_line(file, line, raw, d, self.snp_pos.len(), &mut self.stage)?
                    {
                        self.add_patient(id, line)?;
                        self.flush(STAGE_ROWS);
                        return Ok(());
                    }
                }
                let mut v = Vec::new();
                split_fields(&self.table.file, line, raw, d, &mut v)?;
                self.width.check(&self.table.file, line, v.len())?;
                split = v;
                &split[..]
            }
        };
        if self.table.id_column.is_empty() {
            return self.header(fields, line);
        }
        self.add_patient(fields[self.id_pos], line)?;
        for (s, &c) in self.snp_pos.iter().enumerate() {
            let cell = fields[c];
            let point = match self.decimal_comma {
                true => decimal_comma_number(cell),
                false => None,
            };
            let v = parse_dosage(point.as_deref().unwrap_or(cell)).map_err(|why| {
                Error::data(
                    Location::file(&self.table.file)
                        .line(line)
                        .column(&self.table.snps[s]),
                    format!("{why}{}", decimal_comma_hint(cell)),
                )
            })?;
            self.stage.push(v);
        }
        self.flush(STAGE_ROWS);
        Ok(())
    }

    /// The header: a PLINK `.raw` layout or an ID column and SNP columns.
    fn header(&mut self, fields: &[&str], line: u64) -> Result<()> {
        let file = self.table.file.clone();
        let header: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        check_header(&file, &header)?;
        let layout = plink_layout(&header);
        let plink = layout.is_some();
        if let Some((iid, first_snp)) = layout {
            self.id_pos = iid;
            self.snp_pos = (first_snp..header.len()).collect();
        } else {
            self.id_pos =
                header
                    .iter()
                    .position(|h| h == self.id)
                    .ok_or_else(|| Error::MissingColumns {
                        file: file.clone(),
                        missing: vec![self.id.to_string()],
                        available: header.clone(),
                        hint: None,
                    })?;
            let id_pos = self.id_pos;
            self.snp_pos = (0..header.len()).filter(|&c| c != id_pos).collect();
        }
        let t = &mut self.table;
        t.plink = plink;
        t.id_column = header[self.id_pos].clone();
        t.raw_names = self.snp_pos.iter().map(|&c| header[c].clone()).collect();
        if plink {
            t.format = GenotypeFormat::PlinkRaw;
            let (snps, alleles) = t.raw_names.iter().map(|c| split_raw_name(c)).unzip();
            t.snps = snps;
            t.alleles = alleles;
            check_header(&file, &t.snps).map_err(|_| {
                let dup = first_duplicate(&t.snps);
                Error::data(
                    Location::file(&file).line(line).column(&dup),
                    format!(
                        "SNP `{dup}` appears in more than one column (one column per SNP, please)"
                    ),
                )
            })?;
        } else {
            t.snps = t.raw_names.clone();
            t.alleles = vec![None; self.snp_pos.len()];
        }
        t.snp_lines = vec![line; self.snp_pos.len()];
        t.values = vec![Dosages::default(); self.snp_pos.len()];
        Ok(())
    }

    /// Records a patient's ID and line (an empty ID is an error).
    fn add_patient(&mut self, id: &str, line: u64) -> Result<()> {
        if is_missing(id) {
            return Err(Error::data(
                Location::file(&self.table.file)
                    .line(line)
                    .column(&self.table.id_column),
                "the patient ID is empty",
            ));
        }
        self.table.ids.push(id);
        self.table.lines.push(line);
        Ok(())
    }

    /// Moves the staged rows into the columns once `min_rows` are staged.
    fn flush(&mut self, min_rows: usize) {
        let columns = &mut self.table.values;
        let width = columns.len();
        if width == 0 {
            self.stage.clear();
            return;
        }
        if self.stage.len() < min_rows * width {
            return;
        }
        let rows = self.stage.len() / width;
        for (s, column) in columns.iter_mut().enumerate() {
            for r in 0..rows {
                column.push(self.stage[r * width + s]);
            }
        }
        self.stage.clear();
    }

    /// The table, once every line is read.
    fn finish(mut self) -> Result<DosageTable> {
        self.flush(0);
        if self.table.plink {
            resolve_missing_alleles(&mut self.table)?;
        }
        let file = &self.table.file;
        if self.table.ids.is_empty() {
            return Err(Error::data(
                Location::file(file),
                "the file has a header line but no data rows",
            ));
        }
        if self.table.snps.is_empty() {
            return Err(Error::data(
                Location::file(file),
                "the genotype file has no SNP columns besides the ID",
            ));
        }
        Ok(self.table)
    }
}

/// PLINK's code for "no allele" (a SNP monomorphic in the fileset).
pub(crate) const PLINK_MISSING_ALLELE: &str = "0";

/// `.raw` columns that count PLINK's missing allele `0` (plink 1.9 writes
/// `rs1_0` for a SNP monomorphic in the fileset, every value 0): a column
/// that names the other allele (`rs1_0(/G)`) is recoded to count it
/// (2 − dosage); one that names none keeps its values with no alleles, so
/// it is never flipped. A nonzero count of allele `0` is an error.
fn resolve_missing_alleles(t: &mut DosageTable) -> Result<()> {
    let (mut recoded, mut unknown) = (0usize, 0usize);
    for s in 0..t.snps.len() {
        let Some(a) = t.alleles[s].as_mut() else {
            continue;
        };
        if a.other.as_deref() == Some(PLINK_MISSING_ALLELE) {
            a.other = None;
        }
        if a.counted != PLINK_MISSING_ALLELE {
            continue;
        }
        if let Some(r) = t.values[s].iter().position(|v| v.is_finite() && v != 0.0) {
            return Err(Error::data(
                Location::file(&t.file)
                    .line(t.lines[r])
                    .column(&t.raw_names[s]),
                format!(
                    "the column counts allele `0` (PLINK's code for a missing allele) yet has {} copies here: the SNP's alleles are broken in the source (e.g. a VCF record with ALT `.` whose calls name allele 1); fix the record or leave the SNP out (plink --exclude-snp {})",
                    t.values[s].get(r), t.snps[s]
                ),
            ));
        }
        match a.other.take() {
            Some(other) => {
                t.values[s].map(|v| 2.0 - v);
                t.alleles[s] = Some(Alleles {
                    counted: other,
                    other: None,
                });
                recoded += 1;
            }
            None => {
                t.alleles[s] = None;
                unknown += 1;
            }
        }
    }
    if recoded > 0 {
        t.notes.push(format!(
            "{}: {recoded} SNP column{} count{} allele `0` (PLINK's code for an allele not seen in the fileset): read as copies of the other allele named (2 − dosage)",
            t.file,
            plural(recoded),
            if recoded == 1 { "s" } else { "" }
        ));
    }
    if unknown > 0 {
        t.notes.push(format!(
            "{}: {unknown} SNP column{} count{} allele `0` (PLINK's code for an allele not seen in the fileset, e.g. `rs1_0`) and name{} no other allele: never flipped, their 0s taken as 0 copies of the model's counted allele (export with `--recode A include-alt` so the alleles can be checked)",
            t.file,
            plural(unknown),
            if unknown == 1 { "s" } else { "" },
            if unknown == 1 { "s" } else { "" }
        ));
    }
    Ok(())
}

/// `"s"` unless `n` is 1.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One data line handed to the row parser of [`DosageTable::parse`].
enum Row<'a> {
    /// Trimmed fields.
    Fields(&'a [&'a str]),
    /// A whole line (no quoting) and its delimiter byte.
    Line(&'a [u8], u8),
}

/// Reads `ID<d>g<d>g…<d>g` with exactly `n` dosages, each one digit 0–2 or
/// empty (missing), appending them to `out`; `None` (and `out` unchanged)
/// for any other line, which then takes the general path.
fn digit_line<'a>(
    file: &str,
    line: u64,
    raw: &'a [u8],
    d: u8,
    n: usize,
    out: &mut Vec<f64>,
) -> Result<Option<&'a str>> {
    let Some(cut) = memchr::memchr(d, raw) else {
        return Ok(None);
    };
    let start = out.len();
    out.reserve(n);
    let bytes = &raw[cut + 1..];
    if n > 0 && bytes.len() == 2 * n - 1 {
        // No dosage missing: digits at even positions, delimiters between.
        let mut ok = true;
        out.extend(bytes.chunks(2).map(|c| {
            let g = c[0].wrapping_sub(b'0');
            ok &= g <= 2 && c.get(1).is_none_or(|&b| b == d);
            f64::from(g)
        }));
        if !ok {
            out.truncate(start);
            return Ok(None);
        }
        return line_id(file, line, &raw[..cut]).inspect(|id| {
            if id.is_none() {
                out.truncate(start);
            }
        });
    }
    // Fields of zero or one byte: a byte is either the delimiter (ending a
    // field, missing when nothing came before it) or a digit 0–2 opening one.
    out.resize(start + n, 0.0);
    let dst = &mut out[start..];
    let (mut k, mut at_start, mut bad) = (0usize, true, false);
    for &b in bytes {
        if b == d {
            if at_start && k < n {
                dst[k] = f64::NAN;
            }
            k += 1;
            at_start = true;
        } else {
            let g = b.wrapping_sub(b'0');
            bad |= g > 2 || !at_start;
            if k < n {
                dst[k] = f64::from(g);
            }
            at_start = false;
        }
    }
    if at_start && k < n {
        dst[k] = f64::NAN;
    }
    if bad || k + 1 != n {
        out.truncate(start);
        return Ok(None);
    }
    let id = line_id(file, line, &raw[..cut]);
    if !matches!(id, Ok(Some(_))) {
        out.truncate(start);
    }
    id
}

/// The ID of a quick-path line; `None` when it has spaces around it.
fn line_id<'a>(file: &str, line: u64, raw: &'a [u8]) -> Result<Option<&'a str>> {
    let id = utf8(file, line, raw)?;
    Ok((id.trim().len() == id.len()).then_some(id))
}

fn first_duplicate(names: &[String]) -> String {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .cloned()
        .unwrap_or_default()
}

/// Parses one dosage cell: missing → NaN; otherwise a number in 0–2.
#[inline]
pub(crate) fn parse_dosage(cell: &str) -> std::result::Result<f64, String> {
    // Hard-called genotypes are single digits: skip the general parser.
    match cell.as_bytes() {
        b"0" => return Ok(0.0),
        b"1" => return Ok(1.0),
        b"2" => return Ok(2.0),
        _ => {}
    }
    if is_missing(cell) {
        return Ok(f64::NAN);
    }
    match cell.parse::<f64>() {
        Ok(v) if (0.0..=2.0).contains(&v) => Ok(v),
        Ok(v) if v.is_finite() => Err(format!(
            "dosage `{cell}` is outside 0–2 (a dosage counts copies of an allele)"
        )),
        _ => Err(format!(
            "`{cell}` is not a dosage (expected a number from 0 to 2)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> Loaded {
        Loaded::from_text(name, text)
    }

    #[test]
    fn reads_csv_dosages() {
        let t = DosageTable::parse(
            &load("g.csv", "rs1,patient_id,rs2\n0,P1,2\n,P2,1.5\n"),
            Delimiter::Byte(b','),
            "patient_id",
            false,
        )
        .unwrap();
        assert_eq!(t.ids.iter().collect::<Vec<_>>(), vec!["P1", "P2"]);
        assert_eq!(t.snps, vec!["rs1", "rs2"]);
        assert!(t.values[0].get(1).is_nan());
        assert_eq!(t.values[1].to_f64(), vec![2.0, 1.5]);
    }

    /// The quick one-digit path and the csv crate's path (forced by a quote
    /// in the header) must read the same table.
    #[test]
    fn quick_digit_lines_read_as_the_general_path() {
        let body =
            "P1,0,1,2\nP2,0,,2\n\nP3,2,1,\nP4,0.5,1,2\r\nP5, 1,1,1\nP6,NA,2,1\nP7,,,\nP8,1,1,1\nP9,1,0,2\r\n P10,2,2,2\nP11,,1,2\nP12,2,2,2\n";
        let quick = DosageTable::parse(
            &load("g.csv", &format!("patient_id,rs1,rs2,rs3\n{body}")),
            Delimiter::Byte(b','),
            "patient_id",
            false,
        )
        .unwrap();
        let general = DosageTable::parse(
            &load("g.csv", &format!("\"patient_id\",rs1,rs2,rs3\n{body}")),
            Delimiter::Byte(b','),
            "patient_id",
            false,
        )
        .unwrap();
        assert_eq!(quick.ids, general.ids);
        assert_eq!(quick.lines, general.lines);
        assert_eq!(quick.lines, vec![2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        let bits = |t: &DosageTable| -> Vec<Vec<u64>> {
            t.values
                .iter()
                .map(|c| c.iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        assert_eq!(bits(&quick), bits(&general));
        assert_eq!(quick.values[0].get(3), 0.5);
        assert!(quick.values[1].get(1).is_nan() && quick.values[2].get(2).is_nan());
        // Errors name the same line and column either way.
        for header in ["patient_id", "\"patient_id\""] {
            for (bad, want) in [
                (
                    "P9,0,3,1",
                    "g.csv, line 3, column `rs2`: dosage `3` is outside 0–2",
                ),
                (
                    "P9,0,1,1,",
                    "g.csv, line 3: the line has 5 fields but the header has 4",
                ),
                (
                    "P9,0,1",
                    "g.csv, line 3: the line has 3 fields but the header has 4",
                ),
                (
                    ",0,1,1",
                    "g.csv, line 3, column `patient_id`: the patient ID is empty",
                ),
                (
                    "P9,0,1,12",
                    "g.csv, line 3, column `rs3`: dosage `12` is outside 0–2",
                ),
                (
                    "P9,10,1,2",
                    "g.csv, line 3, column `rs1`: dosage `10` is outside 0–2",
                ),
                (
                    "P9,0,x,2",
                    "g.csv, line 3, column `rs2`: `x` is not a dosage",
                ),
                (
                    "P9,0;1,2",
                    "g.csv, line 3: the line has 3 fields but the header has 4",
                ),
                (
                    "P9,,,,",
                    "g.csv, line 3: the line has 5 fields but the header has 4",
                ),
            ] {
                let text = format!("{header},rs1,rs2,rs3\nP1,0,1,2\n{bad}\n");
                let e = DosageTable::parse(
                    &load("g.csv", &text),
                    Delimiter::Byte(b','),
                    "patient_id",
                    false,
                )
                .unwrap_err()
                .to_string();
                assert!(e.starts_with(want), "{header}: {e}");
            }
        }
    }

    #[test]
    fn reads_plink_raw_by_iid() {
        let t = DosageTable::parse(
            &load(
                "g.raw",
                "FID IID PAT MAT SEX PHENOTYPE rs1_A\nF1 P1 0 0 1 -9 NA\nF1 P2 0 0 2 -9 1\n",
            ),
            Delimiter::Whitespace,
            "patient_id",
            false,
        )
        .unwrap();
        assert!(t.plink);
        assert_eq!(t.ids.iter().collect::<Vec<_>>(), vec!["P1", "P2"]);
        assert_eq!(t.snps, vec!["rs1"]);
        assert_eq!(t.raw_names, vec!["rs1_A"]);
        assert_eq!(t.find("rs1_A"), Some(0));
        assert_eq!(t.alleles[0].as_ref().unwrap().counted, "A");
        assert_eq!(t.find("rs1"), Some(0));
        assert_eq!(t.find("rs2"), None);
    }

    #[test]
    fn reads_plink2_headers_and_alt_alleles() {
        let t = DosageTable::parse(
            &load(
                "g.raw",
                "#FID IID PAT MAT SEX PHENOTYPE rs1_A(/G) 1_100_C_T_T\nF1 P1 0 0 1 -9 0 2\n",
            ),
            Delimiter::Whitespace,
            "patient_id",
            false,
        )
        .unwrap();
        assert_eq!(t.snps, vec!["rs1", "1_100_C_T"]);
        assert_eq!(
            t.alleles[0],
            Some(Alleles {
                counted: "A".into(),
                other: Some("G".into())
            })
        );
        assert_eq!(t.alleles[1].as_ref().unwrap().counted, "T");
        let t = DosageTable::parse(
            &load("g.raw", "#IID PAT MAT SEX PHENOTYPE rs9_C\nP1 0 0 1 -9 1\n"),
            Delimiter::Whitespace,
            "patient_id",
            false,
        )
        .unwrap();
        assert_eq!((&t.ids[0], t.snps[0].as_str()), ("P1", "rs9"));
    }

    /// plink 1.9 writes `rs1_0` for a SNP monomorphic in the fileset: `0`
    /// is no allele. Without the other allele the column has no alleles
    /// (never flipped); with it (`include-alt`) it counts that allele.
    #[test]
    fn plink_missing_allele_code_is_unknown() {
        let raw = |header: &str, rows: &str| {
            DosageTable::parse(
                &load(
                    "g.raw",
                    &format!("FID IID PAT MAT SEX PHENOTYPE {header}\n{rows}"),
                ),
                Delimiter::Whitespace,
                "patient_id",
                false,
            )
        };
        let t = raw("rs1_0 rs2_A", "F P1 0 0 1 -9 0 1\nF P2 0 0 1 -9 NA 2\n").unwrap();
        assert_eq!(t.snps, vec!["rs1", "rs2"]);
        assert_eq!(t.alleles[0], None);
        assert_eq!(t.values[0].get(0), 0.0);
        assert!(
            t.notes[0].contains("1 SNP column counts allele `0`"),
            "{:?}",
            t.notes
        );
        let t = raw("rs1_0(/G)", "F P1 0 0 1 -9 0\nF P2 0 0 1 -9 NA\n").unwrap();
        assert_eq!(
            t.alleles[0],
            Some(Alleles {
                counted: "G".into(),
                other: None
            })
        );
        assert_eq!(t.values[0].get(0), 2.0);
        assert!(t.values[0].get(1).is_nan());
        let t = raw("rs1_A(/0)", "F P1 0 0 1 -9 1\n").unwrap();
        assert_eq!(t.alleles[0].as_ref().unwrap().other, None);
        let e = raw("rs1_A rs9_0", "F P1 0 0 1 -9 0 0\nF P2 0 0 1 -9 1 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("g.raw, line 3, column `rs9_0`: the column counts allele `0`"),
            "{e}"
        );
        // The real plink 1.9 files: the monomorphic SNP, and a VCF whose
        // calls name allele 1 where ALT is `.`.
        let real = |name: &str| {
            let path = format!(
                "{}/tests/fixtures/genetics/real/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            DosageTable::parse(
                &Loaded::read(&path).unwrap(),
                Delimiter::Whitespace,
                "IID",
                false,
            )
        };
        let t = real("base_plink19.raw").unwrap();
        let s = t.find("rs27892198").unwrap();
        assert_eq!(t.alleles[s], None);
        let t = real("base_plink19_include-alt.raw").unwrap();
        let s = t.find("rs27892198").unwrap();
        assert_eq!(t.alleles[s].as_ref().unwrap().counted, "G");
        assert!(t.values[s].iter().all(|v| v == 2.0 || v.is_nan()));
        let e = real("alt_dot_plink19.raw").unwrap_err().to_string();
        assert!(e.contains("line 3, column `rs6092462_0`"), "{e}");
    }

    #[test]
    fn raw_names_split() {
        assert_eq!(split_raw_name("nounderscore").0, "nounderscore");
        assert!(split_raw_name("nounderscore").1.is_none());
        assert!(split_raw_name("rs1_").1.is_none());
        let (snp, a) = split_raw_name("rs1_AT(/A)");
        assert_eq!(snp, "rs1");
        assert_eq!(a.unwrap().other.as_deref(), Some("A"));
    }

    #[test]
    fn duplicate_snp_after_split_is_an_error() {
        let e = DosageTable::parse(
            &load(
                "g.raw",
                "FID IID PAT MAT SEX PHENOTYPE rs1_A rs1_G\nF P1 0 0 1 -9 0 2\n",
            ),
            Delimiter::Whitespace,
            "patient_id",
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 1, column `rs1`"), "{e}");
    }

    #[test]
    fn bad_dosages_name_line_and_column() {
        let e = DosageTable::parse(
            &load("g.csv", "patient_id,rs1\nP1,0\nP2,3\n"),
            Delimiter::Byte(b','),
            "patient_id",
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "g.csv, line 3, column `rs1`: dosage `3` is outside 0–2 (a dosage counts copies of an allele)"
        );
        let e = DosageTable::parse(
            &load("g.csv", "patient_id,rs1\nP1,AA\n"),
            Delimiter::Byte(b','),
            "patient_id",
            false,
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("line 2, column `rs1`: `AA` is not a dosage"));
    }
}
