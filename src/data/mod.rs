//! Reading input files into one joined view of patients: the clinical table
//! and, optionally, a genotype dosage table joined on the patient ID.

pub(crate) mod bcf;
pub(crate) mod bed;
pub(crate) mod calls;
pub(crate) mod chunks;
pub(crate) mod dosage;
pub(crate) mod input;
pub(crate) mod split;
pub(crate) mod table;
pub(crate) mod target;
pub(crate) mod truth;
pub(crate) mod vcf;
pub(crate) mod vcf_filter;
#[cfg(test)]
mod vcf_speed;

use serde::{Deserialize, Serialize};

pub(crate) use dosage::{Alleles, DosageTable};
pub(crate) use input::{Delimiter, Loaded};
pub(crate) use table::{is_missing, parse_number, RawTable, TextColumn};
pub(crate) use target::{Target, TargetRule};

use crate::error::{Error, Location, Result};

/// Options shared by every command that reads patient files.
#[derive(Debug, Clone)]
pub(crate) struct ReadOptions {
    /// Name of the patient ID column.
    pub(crate) id: String,
    /// Delimiter override for the data file.
    pub(crate) delimiter: Option<Delimiter>,
    /// Delimiter override for the genotype file.
    pub(crate) genotype_delimiter: Option<Delimiter>,
    /// Numbers are written with a decimal comma (`2,6`), as in many
    /// European spreadsheet exports (`--decimal comma`).
    pub(crate) decimal_comma: bool,
    /// Keep palindromic (A/T, C/G) SNPs whose files disagree on the counted
    /// allele, reading them by their labels (`--keep-ambiguous`).
    pub(crate) keep_ambiguous: bool,
    /// The only SNPs needed from a genotype file that can be read SNP by SNP
    /// (a PLINK `.bed`); `None`: all.
    pub(crate) genotype_snps: Option<std::sync::Arc<std::collections::HashSet<String>>>,
    /// The only SNPs needed from a VCF or BCF held whole (`genotype_snps`
    /// and the polygenic scores' SNPs, which a `.bed` and a regular VCF/BCF
    /// file stream instead: see `stream_scores`); `None`: all.
    pub(crate) text_snps: Option<std::sync::Arc<std::collections::HashSet<String>>>,
    /// The model has polygenic scores, which a VCF or BCF file (not stdin)
    /// streams record by record instead of holding their SNPs: such a file
    /// is read for `genotype_snps` only (when given).
    pub(crate) stream_scores: bool,
    /// Frequency of the counted allele (and called count) of palindromic
    /// SNPs over the whole genotype file, when it is read in blocks (each
    /// block would otherwise see only its own patients); `None`: from the
    /// table itself.
    pub(crate) palindrome_freqs: Option<PalindromeFreqs>,
}

#[cfg(test)]
impl ReadOptions {
    /// Every option at its command-line default, patients identified by `id`.
    pub(crate) fn defaults(id: &str) -> ReadOptions {
        ReadOptions {
            id: id.into(),
            delimiter: None,
            genotype_delimiter: None,
            decimal_comma: false,
            keep_ambiguous: false,
            genotype_snps: None,
            text_snps: None,
            stream_scores: false,
            palindrome_freqs: None,
        }
    }
}

/// SNP → (frequency of the counted allele, called patients).
pub(crate) type PalindromeFreqs = std::sync::Arc<std::collections::HashMap<String, (f64, usize)>>;

/// A file that went into a model: its name and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileInfo {
    /// What the file was (`data` or `genotypes`).
    pub(crate) role: String,
    /// Bare file name.
    pub(crate) name: String,
    /// SHA-256 of the file's bytes as read.
    pub(crate) sha256: String,
}

/// How many patients the ID join matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JoinSummary {
    /// IDs in both files.
    pub(crate) matched: usize,
    /// IDs only in the data file.
    pub(crate) only_data: usize,
    /// IDs only in the genotype file.
    pub(crate) only_genotypes: usize,
}

/// A genotype file as read: text to parse, or a VCF/BCF parsed as it was
/// decompressed (the records of the needed SNPs only, when known).
pub(crate) enum GenotypeInput {
    /// The file's text: a CSV/TSV, `.raw`, a PLINK fileset as `.raw` text,
    /// or a VCF/BCF from stdin (or one left to the whole read).
    Text(Loaded),
    /// A VCF or BCF file already parsed.
    Table(Box<vcf_filter::Filtered>),
    /// A block of a PLINK `.bed` as `.raw` text, with the polygenic scores
    /// computed over the whole fileset, by row of the block.
    BedBlock(Loaded, Vec<(String, Vec<f64>)>),
}

impl GenotypeInput {
    /// Reads the genotype file `path`: a VCF or BCF is parsed record by
    /// record as it is decompressed, keeping the SNPs of `opts.text_snps`
    /// (all without it; with `opts.stream_scores`, those of
    /// `opts.genotype_snps`, the scores streaming over the file later);
    /// any other file is read as text (see [`Loaded::read_genotypes`]).
    pub(crate) fn read(path: &str, opts: &ReadOptions) -> Result<GenotypeInput> {
        let keep = opts.text_snps.as_deref();
        if path != "-" && std::path::Path::new(path).is_file() {
            let streamed = opts.genotype_snps.as_deref().filter(|_| opts.stream_scores);
            let keep = streamed.or(keep);
            let table = match vcf_filter::read(path, keep, streamed.is_some())? {
                Some(f) => Some(f),
                None => bcf::read_table(path, keep, streamed.is_some())?,
            };
            if let Some(mut f) = table {
                if streamed.is_some() {
                    f.table.source = Some(dosage::ScoreSource::Variants(path.to_string()));
                }
                return Ok(GenotypeInput::Table(Box::new(f)));
            }
        }
        let keep = (opts.genotype_snps.as_deref(), keep);
        Ok(GenotypeInput::Text(Loaded::read_genotypes(path, keep)?))
    }

    /// The parsed table and the file's record.
    pub(crate) fn parse(self, opts: &ReadOptions) -> Result<(DosageTable, FileInfo)> {
        let text = |gl: &Loaded| {
            let delimiter = gl.delimiter(opts.genotype_delimiter);
            let decimal_comma = opts.decimal_comma && delimiter != Delimiter::Byte(b',');
            DosageTable::parse(gl, delimiter, &opts.id, decimal_comma)
        };
        let (table, name, sha256) = match self {
            GenotypeInput::Text(gl) => {
                let mut t = text(&gl)?;
                // stdin is not a regular file: no note.
                t.notes
                    .extend(crate::data::input::bgzf_truncation_note(&gl.name));
                (t, gl.base_name, gl.sha256)
            }
            GenotypeInput::BedBlock(gl, scores) => {
                let mut t = text(&gl)?;
                t.scores = scores;
                (t, gl.base_name, gl.sha256)
            }
            GenotypeInput::Table(f) => {
                let f = *f;
                (f.table, f.base_name, f.sha256)
            }
        };
        let info = FileInfo {
            role: "genotypes".into(),
            name,
            sha256,
        };
        Ok((table, info))
    }
}

/// Patients from the data file, joined with their genotypes when given.
/// Row `i` of the dataset is row `data_rows[i]` of the clinical table.
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    /// The clinical (data) table.
    pub(crate) data: RawTable,
    /// The genotype table, if any.
    pub(crate) genotypes: Option<DosageTable>,
    /// Index of the ID column in `data`.
    pub(crate) id_col: usize,
    /// Joined rows: the clinical row of each patient.
    pub(crate) data_rows: Vec<usize>,
    /// Joined rows: the genotype row of each patient (when genotypes given).
    pub(crate) genotype_rows: Vec<usize>,
    /// Files read, with hashes.
    pub(crate) files: Vec<FileInfo>,
    /// The join's counts, when genotypes were given.
    pub(crate) join: Option<JoinSummary>,
    /// Numeric columns computed from the genotypes (`prs`, `pc1`, …), one
    /// value per joined row.
    pub(crate) derived: Vec<(String, Vec<f64>)>,
    /// `--keep-ambiguous`: see [`ReadOptions`].
    pub(crate) keep_ambiguous: bool,
    /// See [`ReadOptions`].
    pub(crate) palindrome_freqs: Option<PalindromeFreqs>,
}

impl Dataset {
    /// Reads the data file and optional genotype file and joins them on the ID.
    pub(crate) fn load(
        data_path: &str,
        genotypes: Option<&str>,
        opts: &ReadOptions,
    ) -> Result<Dataset> {
        let loaded = Loaded::read(data_path)?;
        let geno = genotypes
            .map(|g| GenotypeInput::read(g, opts))
            .transpose()?;
        let mut ds = Dataset::from_loaded(loaded, geno, opts)?;
        let bed = genotypes
            .and_then(bed::resolve)
            .filter(|b| b.exists() && bed::looks_like_bed(b));
        if let (Some(g), Some(bed)) = (ds.genotypes.as_mut(), bed) {
            g.source = Some(dosage::ScoreSource::Bed(bed));
        }
        Ok(ds)
    }

    /// Parses and joins files already read into memory.
    pub(crate) fn from_loaded(
        loaded: Loaded,
        geno: Option<GenotypeInput>,
        opts: &ReadOptions,
    ) -> Result<Dataset> {
        let delimiter = loaded.delimiter(opts.delimiter);
        if opts.decimal_comma && delimiter == Delimiter::Byte(b',') {
            return Err(Error::usage(format!(
                "--decimal comma: {} is read as comma-separated, so a comma cannot also be the decimal mark; pass its delimiter (e.g. --delimiter semicolon)",
                loaded.name
            )));
        }
        let mut data = RawTable::parse(&loaded, delimiter)?;
        if opts.decimal_comma {
            data.read_decimal_commas();
        }
        let id_col = data.require(&opts.id)?;
        let data_index = table::id_index(&data, id_col)?;
        let mut files = vec![FileInfo {
            role: "data".into(),
            name: loaded.base_name.clone(),
            sha256: loaded.sha256.clone(),
        }];
        drop(loaded);
        let Some(gi) = geno else {
            let n = data.n_rows();
            return Ok(Dataset {
                data,
                genotypes: None,
                id_col,
                data_rows: (0..n).collect(),
                genotype_rows: Vec::new(),
                keep_ambiguous: opts.keep_ambiguous,
                palindrome_freqs: opts.palindrome_freqs.clone(),
                files,
                join: None,
                derived: Vec::new(),
            });
        };
        let (geno, info) = gi.parse(opts)?;
        files.push(info);
        let mut data_rows = Vec::new();
        let mut genotype_rows = Vec::new();
        let ids = &data.columns[id_col];
        if ids.len() == geno.ids.len() && ids.iter().zip(geno.ids.iter()).all(|(a, b)| a == b) {
            // The same patients in the same order (the usual case, and every
            // streamed block): no second index needed; the genotype IDs are
            // unique because the data file's are.
            data_rows = (0..ids.len()).collect();
            genotype_rows = data_rows.clone();
        } else {
            let geno_index =
                table::index_ids(&geno.file, &geno.id_column, geno.ids.iter(), &geno.lines)?;
            for (r, id) in ids.iter().enumerate() {
                if let Some(&g) = geno_index.get(id) {
                    data_rows.push(r);
                    genotype_rows.push(g);
                }
            }
        }
        let matched = data_rows.len();
        let join = JoinSummary {
            matched,
            only_data: data_index.len() - matched,
            only_genotypes: geno.ids.len() - matched,
        };
        if matched == 0 {
            return Err(Error::data(
                Location::file(&geno.file).column(&geno.id_column),
                format!(
                    "no patient ID in common with {} (column `{}`): {} IDs there, {} here; check --id and the ID format",
                    data.file,
                    data.header[id_col],
                    data_index.len(),
                    geno.ids.len()
                ),
            ));
        }
        // A SNP column may not share a name with a clinical column.
        if let Some(dup) = geno
            .snps
            .iter()
            .find(|s| data.find(s).is_some() && s.as_str() != data.header[id_col])
        {
            return Err(Error::data(
                Location::file(&geno.file).line(1).column(dup),
                format!(
                    "the column also exists in {}; rename one of them",
                    data.file
                ),
            ));
        }
        Ok(Dataset {
            data,
            genotypes: Some(geno),
            id_col,
            data_rows,
            genotype_rows,
            files,
            join: Some(join),
            derived: Vec::new(),
            keep_ambiguous: opts.keep_ambiguous,
            palindrome_freqs: opts.palindrome_freqs.clone(),
        })
    }

    /// The error for feature columns absent from both files: names every
    /// absent column and the columns that exist.
    pub(crate) fn missing_columns(&self, absent: Vec<String>) -> Error {
        let file = match &self.genotypes {
            Some(g) => format!("{} + {}", self.data.file, g.file),
            None => self.data.file.clone(),
        };
        Error::MissingColumns {
            file,
            missing: absent,
            available: self.column_names(),
            hint: None,
        }
    }

    /// Number of joined patients.
    pub(crate) fn n_rows(&self) -> usize {
        self.data_rows.len()
    }

    /// The groups of column `col` (`--group-col`) for the joined `rows`:
    /// the labels, sorted, and each row's index into them. A row without a
    /// group is an error naming its line; `who` names the patients
    /// (`training`, `evaluated`) in it.
    pub(crate) fn groups(
        &self,
        col: &str,
        rows: &[usize],
        who: &str,
    ) -> Result<(Vec<String>, Vec<usize>)> {
        let t = &self.data;
        let c = t.require(col)?;
        let mut values = Vec::with_capacity(rows.len());
        for &i in rows {
            let r = self.data_rows[i];
            let v = t.columns[c].get(r).trim();
            if table::is_missing(v) {
                return Err(Error::data(
                    t.loc(r, c),
                    format!("the group is missing: every {who} patient needs one for --group-col"),
                ));
            }
            values.push(v);
        }
        let mut labels: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        labels.sort();
        labels.dedup();
        let of = values
            .iter()
            .map(|v| labels.binary_search_by(|l| l.as_str().cmp(v)).unwrap_or(0))
            .collect();
        Ok((labels, of))
    }

    /// Patient ID of joined row `i`.
    pub(crate) fn id(&self, i: usize) -> &str {
        &self.data.columns[self.id_col][self.data_rows[i]]
    }

    /// The ID column's name.
    pub(crate) fn id_name(&self) -> &str {
        &self.data.header[self.id_col]
    }

    /// Every column name available (data columns, then SNPs, then columns
    /// computed from the genotypes).
    pub(crate) fn column_names(&self) -> Vec<String> {
        let mut names = self.data.header.clone();
        if let Some(g) = &self.genotypes {
            names.extend(g.snps().iter().cloned());
        }
        names.extend(self.derived.iter().map(|(n, _)| n.clone()));
        names
    }

    /// Values of a computed column by name.
    pub(crate) fn derived(&self, name: &str) -> Option<&[f64]> {
        self.derived
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Adds a column computed from the genotypes; its name may not be taken
    /// by a data column or SNP.
    pub(crate) fn add_derived(&mut self, name: &str, values: Vec<f64>) -> Result<()> {
        let g = self
            .genotypes
            .as_ref()
            .map(|g| g.file.as_str())
            .unwrap_or("");
        if self.data.find(name).is_some() {
            return Err(Error::data(
                Location::file(&self.data.file).line(1).column(name),
                format!("the column name is taken by the computed genotype feature `{name}`; rename the column"),
            ));
        }
        if self
            .genotypes
            .as_ref()
            .is_some_and(|g| g.find(name).is_some())
        {
            return Err(Error::data(
                Location::file(g).line(1).column(name),
                format!("a SNP has the name of the computed genotype feature `{name}`; rename it"),
            ));
        }
        self.derived.push((name.to_string(), values));
        Ok(())
    }

    /// Text cells of a data-file column for the joined rows.
    pub(crate) fn data_cells(&self, col: usize) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.data_rows
            .iter()
            .map(move |&r| (r, &self.data.columns[col][r]))
    }

    /// One-line description of the join for stderr.
    pub(crate) fn join_message(&self) -> Option<String> {
        let j = self.join?;
        let g = self.genotypes.as_ref()?;
        Some(format!(
            "joined on `{}`: {} patients in both files, {} only in {}, {} only in {}",
            self.id_name(),
            j.matched,
            j.only_data,
            self.data.file,
            j.only_genotypes,
            g.file
        ))
    }
}
