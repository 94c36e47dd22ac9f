//! Joining a genotype file that lists patients in its own order (PLINK sorts
//! by family and individual ID), in bounded memory: one pass records where
//! each patient's line is (a 64-bit hash of the ID → byte offset and
//! length), then every block of the clinical file gets a genotype block
//! made of its patients' lines, read by offset, in the clinical file's
//! order. Memory holds the index (about 40 bytes a patient) and one block.
//!
//! The IDs are cut from the lines here without the full parser; the
//! ordinary parser then reads every assembled block, and a block whose
//! join does not come out as the index promised (an ID cut differently,
//! say inside quotes) sends `score` back to reading whole files. A gzip
//! file is first decompressed into an unnamed temporary file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use crate::data::{Delimiter, DosageTable, Loaded, ReadOptions};
use crate::error::{Error, Result};
use crate::ranking::spill::id_hash;

/// Lines compared with the full parser when the index is built.
const CHECK_LINES: usize = 256;

/// Where a field sits in a line, and how lines are split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdField {
    delimiter: Delimiter,
    pos: usize,
}

impl IdField {
    /// The column called `name` in header line `header`.
    fn find(header: &[u8], delimiter: Delimiter, name: &str) -> Option<IdField> {
        let text = std::str::from_utf8(header).ok()?;
        let text = text.trim_start_matches('\u{feff}').trim_end();
        let pos = split(text, delimiter).position(|f| {
            let f = clean(f);
            f == name || f.trim_start_matches('#') == name
        })?;
        Some(IdField { delimiter, pos })
    }

    /// The ID in `line`, as the parser reads it (trimmed, unquoted).
    fn id<'a>(&self, line: &'a [u8]) -> Option<&'a str> {
        let text = std::str::from_utf8(line).ok()?;
        split(text, self.delimiter).nth(self.pos).map(clean)
    }
}

fn split(text: &str, d: Delimiter) -> Box<dyn Iterator<Item = &str> + '_> {
    match d {
        Delimiter::Byte(b) => Box::new(text.split(char::from(b))),
        Delimiter::Whitespace => Box::new(text.split_ascii_whitespace()),
    }
}

fn clean(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(f)
}

/// The IDs of a block of the clinical file (header + lines), or `None`
/// when its ID column cannot be found.
pub(crate) fn block_ids(block: &Loaded, read: &ReadOptions) -> Option<Vec<String>> {
    let mut lines = block.bytes.split(|&b| b == b'\n');
    let header = lines.next()?;
    let field = IdField::find(header, block.delimiter(read.delimiter), &read.id)?;
    lines
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| field.id(l).map(str::to_string))
        .collect()
}

/// A genotype text file indexed by patient ID.
pub(crate) struct GenotypeIndex {
    name: String,
    base_name: String,
    file: File,
    /// The header line, ending in `\n`.
    header: Vec<u8>,
    field: IdField,
    /// ID hash → (byte offset, length without the line end).
    lines: HashMap<u64, (u64, u32)>,
}

impl GenotypeIndex {
    /// Indexes `path` in one pass; `Ok(Err(why))` when it cannot be (a
    /// compressed file, a repeated ID, a quoted field across lines, an ID
    /// column not found, classic-Mac line ends), and the caller reads whole
    /// files instead, which reports any problem with the file's own lines.
    pub(crate) fn build(
        path: &str,
        read: &ReadOptions,
    ) -> Result<std::result::Result<GenotypeIndex, String>> {
        let io = |source| Error::Io {
            action: "cannot read",
            path: path.into(),
            source,
        };
        let mut r = match seekable(path).map_err(io)? {
            Ok(r) => r,
            Err(why) => return Ok(Err(why)),
        };
        let (mut offset, mut line) = (0u64, Vec::new());
        let mut header = Vec::new();
        let mut first: Vec<(Vec<u8>, String)> = Vec::new();
        let mut field = None;
        let mut lines: HashMap<u64, (u64, u32)> = HashMap::new();
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            let start = offset;
            offset += n as u64;
            let body = trim_end(&line);
            if body.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Some(why) = unindexable(body) {
                return Ok(Err(why.into()));
            }
            let Some(f) = field else {
                header = body.to_vec();
                header.push(b'\n');
                let d = in_memory(path, header.clone()).delimiter(read.genotype_delimiter);
                field = id_column(path, &header, &mut r, d, read)?;
                if field.is_none() {
                    return Ok(Err(
                        "the ID column of the genotype file was not found".into()
                    ));
                }
                continue;
            };
            let Some(id) = f.id(body) else {
                return Ok(Err("a genotype line has no ID field".into()));
            };
            if first.len() < CHECK_LINES {
                first.push((body.to_vec(), id.to_string()));
            }
            let Ok(len) = u32::try_from(body.len()) else {
                return Ok(Err("a genotype line is longer than 4 GiB".into()));
            };
            if lines.insert(id_hash(id), (start, len)).is_some() {
                return Ok(Err("a patient ID appears twice in the genotype file".into()));
            }
        }
        let Some(field) = field else {
            return Ok(Err("the genotype file has no patients".into()));
        };
        let mut index = GenotypeIndex {
            base_name: std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned()),
            name: path.to_string(),
            file: r.into_inner(),
            header,
            field,
            lines,
        };
        if !index.cut_like_the_parser(&first, read)? {
            return Ok(Err(
                "the genotype file's IDs cannot be cut from its lines simply".into(),
            ));
        }
        Ok(Ok(index))
    }

    /// Whether the parser reads the same IDs from the first lines as the
    /// index cut (a parse error also says no: the whole-file read names it).
    fn cut_like_the_parser(
        &mut self,
        first: &[(Vec<u8>, String)],
        read: &ReadOptions,
    ) -> Result<bool> {
        let mut bytes = self.header.clone();
        for (l, _) in first {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        let loaded = self.loaded(bytes);
        let d = loaded.delimiter(read.genotype_delimiter);
        Ok(
            match DosageTable::parse(&loaded, d, &read.id, read.decimal_comma) {
                Ok(t) => {
                    t.ids.len() == first.len()
                        && first
                            .iter()
                            .enumerate()
                            .all(|(i, (_, id))| t.ids.get(i) == id)
                }
                Err(_) => false,
            },
        )
    }

    fn loaded(&self, bytes: Vec<u8>) -> Loaded {
        Loaded {
            name: self.name.clone(),
            base_name: self.base_name.clone(),
            bytes,
            sha256: String::new(),
        }
    }

    /// Patients indexed.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// A genotype block (header + lines) of the patients `ids` found in the
    /// file, in that order, and how many were not found.
    pub(crate) fn block(&mut self, ids: &[String]) -> Result<(Loaded, usize)> {
        let mut bytes = self.header.clone();
        let mut missing = 0;
        let mut buf = Vec::new();
        for id in ids {
            let Some(&(at, len)) = self.lines.get(&id_hash(id)) else {
                missing += 1;
                continue;
            };
            buf.resize(len as usize, 0);
            self.file
                .seek(SeekFrom::Start(at))
                .and_then(|_| self.file.read_exact(&mut buf))
                .map_err(|source| Error::Io {
                    action: "cannot read",
                    path: self.name.clone().into(),
                    source,
                })?;
            // A hash shared with an absent ID: not this patient.
            if self.field.id(&buf) != Some(id.as_str()) {
                missing += 1;
                continue;
            }
            bytes.extend_from_slice(&buf);
            bytes.push(b'\n');
        }
        Ok((self.loaded(bytes), missing))
    }
}

/// `path` ready to be read by offset: itself, or a decompressed copy of a
/// gzip file (an unnamed temporary file, removed when it is closed).
fn seekable(path: &str) -> std::io::Result<std::result::Result<BufReader<File>, String>> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    if !r.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        return Ok(Ok(r));
    }
    Ok(decompressed(r)?.map(|f| BufReader::with_capacity(1 << 20, f)))
}

/// The decompressed bytes of a gzip file in an unnamed temporary file (in
/// the system's temporary folder), rewound; the reason when it cannot be
/// written.
fn decompressed(r: BufReader<File>) -> std::io::Result<std::result::Result<File, String>> {
    let dir = std::env::temp_dir();
    let Ok(mut tmp) = tempfile::tempfile_in(&dir) else {
        return Ok(Err(format!(
            "the genotype file is compressed and a decompressed copy cannot be written in `{}`",
            dir.display()
        )));
    };
    let mut gz = flate2::read::MultiGzDecoder::new(r);
    if let Err(e) = std::io::copy(&mut gz, &mut tmp) {
        return Ok(Err(format!(
            "the genotype file cannot be decompressed ({e}); the whole-file read reports it"
        )));
    }
    tmp.seek(SeekFrom::Start(0))?;
    Ok(Ok(tmp))
}

/// Why a line stops the index (the whole-file read handles it), if it does.
fn unindexable(body: &[u8]) -> Option<&'static str> {
    if body.contains(&b'\r') {
        Some("the genotype file has classic-Mac line ends")
    } else if body.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
        Some("a quoted field goes on past a line end")
    } else {
        None
    }
}

/// Part of `path` in memory, for the parser.
fn in_memory(path: &str, bytes: Vec<u8>) -> Loaded {
    Loaded {
        name: path.to_string(),
        base_name: path.to_string(),
        bytes,
        sha256: String::new(),
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let mut l = line;
    if let [rest @ .., b'\n'] = l {
        l = rest;
    }
    if let [rest @ .., b'\r'] = l {
        l = rest;
    }
    l
}

/// The ID column the parser would use (`IID` in a PLINK `.raw`, else
/// `--id`), found by parsing the header with the next line.
fn id_column(
    path: &str,
    header: &[u8],
    r: &mut BufReader<File>,
    d: Delimiter,
    read: &ReadOptions,
) -> Result<Option<IdField>> {
    let next = r.fill_buf().map_err(|source| Error::Io {
        action: "cannot read",
        path: path.into(),
        source,
    })?;
    let end = memchr::memchr(b'\n', next).map_or(next.len(), |i| i + 1);
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(&next[..end]);
    let loaded = in_memory(path, bytes);
    Ok(
        match DosageTable::parse(&loaded, d, &read.id, read.decimal_comma) {
            Ok(t) => IdField::find(header, d, &t.id_column),
            Err(_) => None,
        },
    )
}

/// A PLINK 1 fileset's needed SNPs, packed, with each sample's place: the
/// genotype block of any clinical block is made from it directly.
pub(crate) struct BedIndex {
    packed: crate::data::bed::PackedFileset,
    /// IID hash → sample index.
    rows: HashMap<u64, u32>,
    /// The model's polygenic scores over every sample, streamed over the
    /// whole fileset once (memory: 8 bytes a sample and score).
    scores: Vec<(String, Vec<f64>)>,
    /// What computing them noted (flips, dropped palindromic SNPs).
    pub(crate) notes: Vec<String>,
}

impl BedIndex {
    /// Reads the fileset of `bed` with the SNPs `keep`, and the polygenic
    /// scores of `model` over all its samples (`keep_ambiguous` as read);
    /// `Ok(Err(why))` when the fileset cannot be read, an IID appears
    /// twice or a score cannot be computed (the whole-file read names the
    /// problem, once, after any problem of the clinical file it finds
    /// first).
    pub(crate) fn build(
        bed: &std::path::Path,
        keep: &std::collections::HashSet<String>,
        model: Option<(&crate::features::genotype::GenotypeModel, bool)>,
    ) -> Result<std::result::Result<BedIndex, String>> {
        // A fileset that cannot be read: the whole-file read reports it.
        let packed = match crate::data::bed::PackedFileset::read(bed, keep) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let n = packed.len();
        let Ok(n32) = u32::try_from(n) else {
            return Ok(Err("the fileset has more than 4 billion samples".into()));
        };
        let mut rows = HashMap::with_capacity(n);
        for i in 0..n32 {
            if rows.insert(id_hash(packed.iid(i as usize)), i).is_some() {
                return Ok(Err("a sample ID appears twice in the .fam".into()));
            }
        }
        let file = crate::data::dosage::ScoreSource::Bed(bed.to_path_buf());
        let scored = match model.filter(|(m, _)| !m.prs.is_empty()) {
            Some((m, keep_ambiguous)) => m.scores_over(&file, n, keep_ambiguous),
            None => Ok((Vec::new(), Vec::new())),
        };
        let Ok((scores, notes)) = scored else {
            return Ok(Err(
                "a polygenic score cannot be computed over the fileset".into()
            ));
        };
        Ok(Ok(BedIndex {
            packed,
            rows,
            scores,
            notes,
        }))
    }

    /// Samples in the fileset.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// See [`crate::data::bed::PackedFileset::frequencies`].
    pub(crate) fn frequencies(&self, snps: &[&str]) -> HashMap<String, (f64, usize)> {
        self.packed.frequencies(snps)
    }

    /// The `.raw` block of the samples `ids` found in the fileset, in that
    /// order (with their polygenic scores), and how many were not found.
    pub(crate) fn block(&self, ids: &[String]) -> (crate::data::GenotypeInput, usize) {
        let found: Vec<usize> = ids
            .iter()
            .filter_map(|id| {
                let i = *self.rows.get(&id_hash(id))? as usize;
                (self.packed.iid(i) == id.as_str()).then_some(i)
            })
            .collect();
        let missing = ids.len() - found.len();
        let scores = crate::data::dosage::scores_at(&self.scores, &found);
        let block = crate::data::GenotypeInput::BedBlock(self.packed.block(&found), scores);
        (block, missing)
    }
}

/// Frequency of the counted allele and the called count of each of `snps`
/// over a whole genotype text file, read in blocks with the full parser;
/// `None` when a block cannot be read (the whole-file read then reports
/// it).
pub(crate) fn text_frequencies(
    path: &str,
    read: &ReadOptions,
    snps: &[&str],
) -> Result<Option<HashMap<String, (f64, usize)>>> {
    let mut blocks = crate::data::chunks::LineBlocks::open(path)?;
    let mut acc: HashMap<String, (f64, usize)> = HashMap::new();
    while let Some(b) = blocks.next_block(4096)? {
        let d = b.loaded.delimiter(read.genotype_delimiter);
        let Ok(t) = DosageTable::parse(&b.loaded, d, &read.id, read.decimal_comma) else {
            return Ok(None);
        };
        for snp in snps {
            if let Some(s) = t.find(snp) {
                let e = acc.entry(t.snp(s).to_string()).or_insert((0.0, 0));
                for v in t.values[s].iter().filter(|v| !v.is_nan()) {
                    e.0 += v;
                    e.1 += 1;
                }
            }
        }
    }
    Ok(Some(
        acc.into_iter()
            .map(|(k, (sum, n))| {
                let f = if n > 0 {
                    sum / (2.0 * n as f64)
                } else {
                    f64::NAN
                };
                (k, (f, n))
            })
            .collect(),
    ))
}

/// A VCF or BCF whose needed SNPs are held parsed (2 bits a hard call,
/// see [`crate::data::calls::Dosages`]), picked by sample for every block
/// of the clinical file: the VCF's text is never held, and the clinical
/// file and the model inputs are streamed.
pub(crate) struct TableIndex {
    table: DosageTable,
    base_name: String,
    /// Sample ID hash → row.
    rows: HashMap<u64, u32>,
}

impl TableIndex {
    /// Reads the needed SNPs of the variant file `path` (`read.text_snps`;
    /// `Ok(Err(why))` when the model names no SNP, so the whole-file read
    /// joins on the file's samples alone, or a sample ID hash repeats).
    pub(crate) fn build(
        path: &str,
        read: &ReadOptions,
        model: Option<&crate::features::genotype::GenotypeModel>,
    ) -> Result<std::result::Result<TableIndex, String>> {
        if read.text_snps.as_ref().is_none_or(|k| k.is_empty()) {
            return Ok(Err("the model reads no SNP from the variant file".into()));
        }
        let (mut table, info) = crate::data::GenotypeInput::read(path, read)?.parse(read)?;
        // Built once here, cloned into every block's table.
        let _ = table.find("");
        let n = table.ids.len();
        let Ok(n32) = u32::try_from(n) else {
            return Ok(Err("the file has more than 4 billion samples".into()));
        };
        let mut rows = HashMap::with_capacity(n);
        for i in 0..n32 {
            if rows.insert(id_hash(table.ids.get(i as usize)), i).is_some() {
                return Ok(Err("two sample IDs share a hash".into()));
            }
        }
        // The polygenic scores over every sample, streamed over the file
        // once (8 bytes a sample and score), joined to each block by row.
        if let (Some(file), Some(m)) = (table.source.take(), model) {
            let (scores, notes) = m.scores_over(&file, table.ids.len(), read.keep_ambiguous)?;
            table.scores = scores;
            table.notes.extend(notes);
        }
        Ok(Ok(TableIndex {
            table,
            base_name: info.name,
            rows,
        }))
    }

    /// Samples in the file.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Frequency of the counted allele and the called count of each of
    /// `snps` over every sample, as the whole-file read computes them.
    pub(crate) fn frequencies(&self, snps: &[&str]) -> HashMap<String, (f64, usize)> {
        snps.iter()
            .filter_map(|&s| {
                let j = self.table.find(s)?;
                let f = crate::features::genotype::alleles::counted_frequency(
                    self.table.values[j].iter(),
                );
                Some((s.to_string(), f))
            })
            .collect()
    }

    /// The table of the samples `ids` found in the file, in that order, and
    /// how many were not found.
    pub(crate) fn block(&self, ids: &[String]) -> (crate::data::GenotypeInput, usize) {
        let found: Vec<usize> = ids
            .iter()
            .filter_map(|id| {
                let i = *self.rows.get(&id_hash(id))? as usize;
                (self.table.ids.get(i) == id.as_str()).then_some(i)
            })
            .collect();
        let missing = ids.len() - found.len();
        let block = crate::data::vcf_filter::Filtered {
            table: self.table.select(&found),
            base_name: self.base_name.clone(),
            sha256: String::new(),
        };
        (crate::data::GenotypeInput::Table(Box::new(block)), missing)
    }
}
