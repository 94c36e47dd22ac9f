//! Pieces shared by the subcommands: input flags, output formats, messages
//! and progress bars.

use std::io::IsTerminal;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::{Delimiter, ReadOptions};
use crate::error::Result;

/// Messages for humans, on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Suppress informational messages and progress bars.
    pub quiet: bool,
}

impl Ui {
    /// A UI that prints unless `quiet`.
    pub fn new(quiet: bool) -> Ui {
        Ui { quiet }
    }

    /// An informational line on stderr.
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A warning on stderr (printed even when quiet).
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("warning: {}", msg.as_ref());
    }

    /// A progress bar over `len` steps, hidden when stderr is not a terminal
    /// or when quiet.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }
}

/// Flags naming the patient files.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Clinical data file (CSV/TSV, optionally .gz; `-` reads stdin).
    /// Example: --data clinical.csv
    #[arg(long, value_name = "FILE")]
    pub data: String,

    /// Genotypes joined on the ID: dosage CSV/TSV with an ID column, PLINK
    /// 1.9 .raw / plink2 --export A (ID = IID), or VCF with DS or GT (ID =
    /// sample name); .gz is read transparently. Example: --genotypes geno.vcf.gz
    #[arg(long, value_name = "FILE")]
    pub genotypes: Option<String>,

    /// Field delimiter of --data (default: from the extension, else sniffed):
    /// comma, tab, semicolon, whitespace or one character. Example: --delimiter tab
    #[arg(long, value_name = "DELIM")]
    pub delimiter: Option<String>,

    /// Field delimiter of --genotypes, as for --delimiter. Example: --genotype-delimiter whitespace
    #[arg(long, value_name = "DELIM")]
    pub genotype_delimiter: Option<String>,
}

impl InputArgs {
    /// Read options with the given ID column.
    pub fn read_options(&self, id: &str) -> Result<ReadOptions> {
        Ok(ReadOptions {
            id: id.to_string(),
            delimiter: self
                .delimiter
                .as_deref()
                .map(Delimiter::parse)
                .transpose()?,
            genotype_delimiter: self
                .genotype_delimiter
                .as_deref()
                .map(Delimiter::parse)
                .transpose()?,
        })
    }
}

/// Optional patient files (for commands that also work from the bundle alone).
#[derive(Debug, Clone, clap::Args)]
pub struct OptionalInputArgs {
    /// Patient file (CSV/TSV, optionally .gz; `-` reads stdin).
    /// Example: --data clinical.csv
    #[arg(long, value_name = "FILE")]
    pub data: Option<String>,

    /// Genotype dosages joined on the ID. Example: --genotypes geno.csv
    #[arg(long, value_name = "FILE", requires = "data")]
    pub genotypes: Option<String>,

    /// Field delimiter of --data. Example: --delimiter tab
    #[arg(long, value_name = "DELIM", requires = "data")]
    pub delimiter: Option<String>,

    /// Field delimiter of --genotypes. Example: --genotype-delimiter whitespace
    #[arg(long, value_name = "DELIM", requires = "genotypes")]
    pub genotype_delimiter: Option<String>,
}

impl OptionalInputArgs {
    /// The files as [`InputArgs`], when `--data` was given.
    pub fn input(&self) -> Option<InputArgs> {
        self.data.as_ref().map(|data| InputArgs {
            data: data.clone(),
            genotypes: self.genotypes.clone(),
            delimiter: self.delimiter.clone(),
            genotype_delimiter: self.genotype_delimiter.clone(),
        })
    }
}

/// Whether `--out` names a `.json` file (which then defaults to JSON output).
pub fn out_is_json(out: Option<&std::path::Path>) -> bool {
    out.and_then(|p| p.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for reading.
    Table,
    /// Comma-separated values.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Splits a comma-separated flag value into trimmed, non-empty names.
pub fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
