//! Pieces shared by the subcommands: flag groups (patient files, a
//! training set) and their validation into configurations, output formats,
//! messages and progress bars.

use std::io::IsTerminal;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::{Delimiter, ReadOptions, TargetRule};
use crate::error::{Error, Result};
use crate::features::genotype::snps::{self, SnpList};
use crate::features::genotype::{GeneticOptions, GenotypesAs};
use crate::notes::{Note, Notes};
use crate::training::CohortSpec;

/// Messages for humans, on stderr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    /// Suppress informational messages and progress bars.
    pub(crate) quiet: bool,
}

impl Ui {
    /// A UI that prints unless `quiet`.
    pub(crate) fn new(quiet: bool) -> Ui {
        Ui { quiet }
    }

    /// An informational line on stderr; one a reader wrote as
    /// `warning: …` is printed even when quiet.
    pub(crate) fn info(&self, msg: impl AsRef<str>) {
        let msg = msg.as_ref();
        if !self.quiet || msg.starts_with("warning: ") {
            eprintln!("{msg}");
        }
    }

    /// A warning on stderr (printed even when quiet).
    pub(crate) fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("warning: {}", msg.as_ref());
    }

    /// Prints collected messages: information unless quiet, warnings always.
    pub(crate) fn notes(&self, notes: &Notes) {
        for n in notes.iter() {
            match n {
                Note::Info(m) => self.info(m),
                Note::Warning(m) => self.warn(m),
            }
        }
    }

    /// A progress bar over `len` steps, hidden when stderr is not a terminal
    /// or when quiet.
    pub(crate) fn progress(&self, len: u64, what: &str) -> ProgressBar {
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
pub(crate) struct InputArgs {
    /// Clinical data file (CSV/TSV, optionally .gz; `-` reads stdin).
    /// Example: --data clinical.csv
    #[arg(long, value_name = "FILE")]
    pub(crate) data: String,

    /// Genotypes joined on the ID: dosage CSV/TSV with an ID column, PLINK
    /// 1.9 .raw / plink2 --export A (ID = IID), a PLINK 1 fileset by its .bed
    /// or prefix (ID = .fam IID), or VCF/BCF with DS or GT (ID = sample
    /// name); .gz is read transparently. Example: --genotypes geno.vcf.gz
    #[arg(long, value_name = "FILE")]
    pub(crate) genotypes: Option<String>,

    /// Field delimiter of --data (default: from the extension, else sniffed):
    /// comma, tab, semicolon, whitespace or one character. Example: --delimiter tab
    #[arg(long, value_name = "DELIM")]
    pub(crate) delimiter: Option<String>,

    /// Field delimiter of --genotypes, as for --delimiter. Example: --genotype-delimiter whitespace
    #[arg(long, value_name = "DELIM")]
    pub(crate) genotype_delimiter: Option<String>,

    /// Decimal mark of the numbers in the files: `comma` reads `2,6` as 2.6
    /// (European spreadsheet exports; the file must not be comma-separated).
    #[arg(long, value_enum, default_value_t = Decimal::Point)]
    pub(crate) decimal: Decimal,

    /// Keep palindromic SNPs (A/T, C/G) whose counted allele differs from
    /// the training file's, read by their labels; by default they are
    /// treated as missing, since a strand flip cannot be told from an allele
    /// flip. Example: --keep-ambiguous
    #[arg(long, requires = "genotypes")]
    pub(crate) keep_ambiguous: bool,
}

/// The decimal mark of numbers in the input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Decimal {
    /// `2.6`.
    Point,
    /// `2,6`.
    Comma,
}

impl InputArgs {
    /// Reads the files as labelled data for `bundle`, with the ID column
    /// `id` and the outcome column `target` (defaults: the bundle's),
    /// printing the reading notes.
    pub(crate) fn open_labelled(
        self,
        bundle: &crate::bundle::Bundle,
        id: Option<&str>,
        target: Option<&str>,
        ui: &crate::cli::Ui,
    ) -> Result<crate::eval::LabelledData> {
        let files = crate::eval::apply::EvalFiles {
            read: self.read_options_for(id.unwrap_or(&bundle.id_column), bundle)?,
            data: self.data,
            genotypes: self.genotypes,
            target: target.unwrap_or(&bundle.target.column).to_string(),
        };
        let mut notes = crate::notes::Notes::default();
        let data = crate::eval::LabelledData::open(bundle, &files, &mut notes);
        ui.notes(&notes);
        data
    }

    /// Read options with the given ID column, for reading files with
    /// `bundle`: a PLINK `.bed` decodes only the bundle's SNPs.
    pub(crate) fn read_options_for(
        &self,
        id: &str,
        bundle: &crate::bundle::Bundle,
    ) -> Result<ReadOptions> {
        let mut r = self.read_options(id)?;
        r.genotype_snps = Some(bundle.genotype_snps());
        r.text_snps = bundle.text_snps();
        r.stream_scores = bundle.genotypes.as_ref().is_some_and(|g| !g.prs.is_empty());
        Ok(r)
    }

    /// Read options with the given ID column.
    pub(crate) fn read_options(&self, id: &str) -> Result<ReadOptions> {
        if self.data == "-" && self.genotypes.as_deref() == Some("-") {
            return Err(Error::usage(
                "--data - and --genotypes - both name stdin, which can be read only once: give one of them as a file",
            ));
        }
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
            decimal_comma: self.decimal == Decimal::Comma,
            keep_ambiguous: self.keep_ambiguous,
            genotype_snps: None,
            text_snps: None,
            stream_scores: false,
            palindrome_freqs: None,
        })
    }
}

/// Optional patient files (for commands that also work from the bundle alone).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OptionalInputArgs {
    /// Patient file (CSV/TSV, optionally .gz; `-` reads stdin).
    /// Example: --data clinical.csv
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<String>,

    /// Genotypes joined on the ID: dosage CSV/TSV with an ID column, PLINK
    /// 1.9 .raw / plink2 --export A (ID = IID), a PLINK 1 fileset by its .bed
    /// or prefix (ID = .fam IID), or VCF/BCF with DS or GT (ID = sample
    /// name); .gz is read transparently. Example: --genotypes geno.vcf.gz
    #[arg(long, value_name = "FILE", requires = "data")]
    pub(crate) genotypes: Option<String>,

    /// Field delimiter of --data. Example: --delimiter tab
    #[arg(long, value_name = "DELIM", requires = "data")]
    pub(crate) delimiter: Option<String>,

    /// Field delimiter of --genotypes. Example: --genotype-delimiter whitespace
    #[arg(long, value_name = "DELIM", requires = "genotypes")]
    pub(crate) genotype_delimiter: Option<String>,

    /// Decimal mark of the numbers in the files (`comma`: `2,6` is 2.6).
    #[arg(long, value_enum, default_value_t = Decimal::Point, requires = "data")]
    pub(crate) decimal: Decimal,

    /// Keep palindromic SNPs (A/T, C/G) whose counted allele differs from
    /// the training file's, read by their labels (default: treated as
    /// missing). Example: --keep-ambiguous
    #[arg(long, requires = "genotypes")]
    pub(crate) keep_ambiguous: bool,
}

impl OptionalInputArgs {
    /// The files as [`InputArgs`], when `--data` was given.
    pub(crate) fn input(&self) -> Option<InputArgs> {
        self.data.as_ref().map(|data| InputArgs {
            data: data.clone(),
            genotypes: self.genotypes.clone(),
            delimiter: self.delimiter.clone(),
            genotype_delimiter: self.genotype_delimiter.clone(),
            decimal: self.decimal,
            keep_ambiguous: self.keep_ambiguous,
        })
    }
}

/// How `--prs-weights` lines find their variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PrsMatch {
    /// By SNP ID (lines without one by position).
    Id,
    /// By chromosome, position and alleles.
    Position,
}

/// Whether `--out` names a `.json` file (which then defaults to JSON output).
pub(crate) fn out_is_json(out: Option<&std::path::Path>) -> bool {
    out.and_then(|p| p.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// An aligned table for reading.
    Table,
    /// Comma-separated values.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// A whole-number flag from `lo` to `hi` (clap checks it: a value out of
/// range is a usage error, exit status 2).
pub(crate) fn count(lo: u64, hi: u64) -> impl clap::builder::TypedValueParser<Value = usize> {
    use clap::builder::TypedValueParser;
    clap::value_parser!(u64)
        .range(lo..=hi)
        .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
}

/// `--cv groups`: one fold per group of `--group-col`.
pub(crate) const CV_GROUPS: usize = usize::MAX;

/// `--cv K` (`lo` to `hi`) or `--cv groups` ([`CV_GROUPS`]).
pub(crate) fn cv_folds(
    lo: usize,
    hi: usize,
) -> impl Fn(&str) -> std::result::Result<usize, String> + Clone {
    move |s: &str| {
        if s.trim() == "groups" {
            return Ok(CV_GROUPS);
        }
        match s.trim().parse::<usize>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => Err(format!(
                "`{s}` is not a number of folds from {lo} to {hi} or `groups` (leave-one-group-out with --group-col)"
            )),
        }
    }
}

/// The number of folds once the groups of `--group-col` are known:
/// `--cv groups` becomes one fold per group; grouped folds need at least 2
/// groups and no more folds than groups.
pub(crate) fn resolve_group_folds(cv: usize, n_groups: Option<usize>) -> Result<usize> {
    match n_groups {
        None if cv == CV_GROUPS => Err(Error::usage(
            "--cv groups (leave-one-group-out) needs --group-col",
        )),
        None => Ok(cv),
        Some(g) if g < 2 && cv != 0 => Err(Error::usage(format!(
            "--group-col has {g} group among the training patients: grouped cross-validation needs at least 2"
        ))),
        Some(g) if cv == CV_GROUPS => Ok(g),
        Some(g) if cv > g => Err(Error::usage(format!(
            "--group-col has {g} groups, fewer than --cv {cv} folds: use --cv {g} or fewer, or --cv groups"
        ))),
        Some(_) => Ok(cv),
    }
}

/// A probability strictly between 0 and 1.
pub(crate) fn open_probability(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!(
            "{s} is not a probability strictly between 0 and 1 (e.g. 0.4)"
        )),
    }
}

/// A number from 0 to 1.
pub(crate) fn unit_interval(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s} is not a number from 0 to 1")),
    }
}

/// Splits a comma-separated flag value into trimmed, non-empty names.
pub(crate) fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Flags that define a training set: files, target, arms and features.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DataArgs {
    /// Patient files.
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// The outcome column. Example: --target responder
    #[arg(long, value_name = "COL")]
    pub(crate) target: String,

    /// The patient ID column, in both files. Example: --id subject
    #[arg(long, value_name = "COL", default_value = "patient_id")]
    pub(crate) id: String,

    /// Column naming each patient's therapy; one model is fitted per therapy
    /// arm. Example: --therapy-col therapy
    #[arg(long, value_name = "COL")]
    pub(crate) therapy_col: Option<String>,

    /// A column of sites or trials: cross-validation folds never split a
    /// group (grouped K-fold; `--cv groups`: leave-one-group-out), and the
    /// column is not a feature. Example: --group-col site
    #[arg(long, value_name = "COL")]
    pub(crate) group_col: Option<String>,

    /// Use only this arm of --therapy-col. Example: --therapy ketamine
    #[arg(long, value_name = "NAME", requires = "therapy_col")]
    pub(crate) therapy: Option<String>,

    /// The target label that means "responder", when it is not 0/1,
    /// true/false or yes/no. Example: --positive remission
    #[arg(long, value_name = "LABEL", conflicts_with = "responder_if")]
    pub(crate) positive: Option<String>,

    /// Responder rule for a numeric outcome: an operator and a number
    /// ('<= -50'), or the target compared with a sum of numbers, columns and
    /// `number * column` terms: response '<target> <= 0.5 * madrs_baseline'
    /// (a fall of at least 50%), remission '<target> <= 10'. Rows where a
    /// named column is missing are left out and counted. The target stays
    /// out of the features; the columns on the right stay features (they are
    /// measured before treatment). Example: --responder-if 'madrs_wk6 <= 0.5 * madrs_baseline'
    #[arg(long, value_name = "RULE", allow_hyphen_values = true)]
    pub(crate) responder_if: Option<String>,

    /// Use only these feature columns (comma-separated). Example: --features age,sex,madrs_baseline
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub(crate) features: Vec<String>,

    /// Leave these columns out (comma-separated). Example: --exclude site,visit_date
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub(crate) exclude: Vec<String>,

    /// Treat these columns as categorical even if numeric. Example: --categorical site
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub(crate) categorical: Vec<String>,

    /// Add a polygenic score feature `prs` from a PLINK --score file (SNP,
    /// effect allele, weight; whitespace, tab or comma separated; header
    /// optional) or a PGS Catalog scoring file (matched by ID, or by
    /// chromosome and position where it has no ID), summed as `plink
    /// --score FILE 1 2 3 sum`. Repeat it, or give a file with several weight columns
    /// (`SNP A1 scoreA scoreB`), for several scores `prs_<name>`. Needs
    /// --genotypes. Example: --prs-weights PGS000001.txt.gz
    #[arg(long, value_name = "FILE")]
    pub(crate) prs_weights: Vec<String>,

    /// A missing genotype adds 0 to `prs` instead of the mean dosage (PLINK's
    /// `no-mean-imputation`).
    #[arg(long, requires = "prs_weights")]
    pub(crate) prs_no_mean_imputation: bool,

    /// How weights find their variants: `id` (the SNP ID; lines without
    /// one by position) or `position` (chromosome, position and alleles,
    /// the ID columns ignored: for genotypes whose IDs are not the weights'
    /// rsIDs, such as an imputation server's `chr1:12345:A:G`).
    /// Example: --prs-match position
    #[arg(long, value_enum, default_value = "id", requires = "prs_weights")]
    pub(crate) prs_match: PrsMatch,

    /// Read a weight whose alleles match a SNP's only on the other strand
    /// (A/G for T/C; not A/T or C/G) as the complementary alleles, as
    /// PRSice and LDpred2 do; by default it is an allele mismatch, left out
    /// and counted, as in plink2 --score.
    #[arg(long, requires = "prs_weights")]
    pub(crate) prs_strand_flip: bool,

    /// Add K principal components of the standardised genotype matrix as
    /// features `pc1..pcK` (fitted on all training rows). Needs --genotypes.
    /// Example: --genotype-pcs 5 (1 to 1000)
    #[arg(long, value_name = "K", value_parser = count(1, 1000))]
    pub(crate) genotype_pcs: Option<usize>,

    /// Use only these SNPs of the genotype file as features: a file with one
    /// SNP ID per line (as for plink --extract). The other SNPs can still
    /// feed --prs-weights and --pc-weights; a PLINK .bed then decodes only
    /// the SNPs needed. Example: --snps candidate_snps.txt
    #[arg(long, value_name = "FILE")]
    pub(crate) snps: Option<String>,

    /// Add ancestry components `pc1..pcK` projected from a reference panel:
    /// plink 2's `--pca allele-wts` weights (`REF.eigenvec.allele`), applied
    /// as `plink2 --read-freq REF.acount --score … variance-standardize`
    /// does. Needs --genotypes. Example: --pc-weights ref.eigenvec.allele
    #[arg(long, value_name = "FILE")]
    pub(crate) pc_weights: Option<String>,

    /// The reference panel's allele frequencies for --pc-weights (plink 2
    /// `--freq counts` `.acount`, or `.afreq`); default: PREFIX.acount (else
    /// PREFIX.afreq) next to PREFIX.eigenvec.allele.
    #[arg(long, value_name = "FILE", requires = "pc_weights")]
    pub(crate) pc_freqs: Option<String>,

    /// Which genotype features to use: the principal components, the SNP
    /// dosages, or both (default: dosages; both with --genotype-pcs).
    /// Example: --genotypes-as pcs
    #[arg(long, value_enum, value_name = "WHAT")]
    pub(crate) genotypes_as: Option<GenotypesAsArg>,
}

/// `--genotypes-as` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GenotypesAsArg {
    /// Only the principal components; the SNP columns are left out.
    Pcs,
    /// Only the SNP dosages.
    Dosages,
    /// The SNP dosages and the principal components.
    Both,
}

impl From<GenotypesAsArg> for GenotypesAs {
    fn from(a: GenotypesAsArg) -> GenotypesAs {
        match a {
            GenotypesAsArg::Pcs => GenotypesAs::Pcs,
            GenotypesAsArg::Dosages => GenotypesAs::Dosages,
            GenotypesAsArg::Both => GenotypesAs::Both,
        }
    }
}

impl DataArgs {
    /// The target rule from `--positive` / `--responder-if`.
    pub(crate) fn rule(&self) -> Result<TargetRule> {
        Ok(match (&self.positive, &self.responder_if) {
            (Some(label), _) => TargetRule::Positive {
                label: label.clone(),
            },
            (None, Some(expr)) => TargetRule::parse_rule(expr, &self.target)?,
            (None, None) => TargetRule::Binary,
        })
    }

    /// The files read: clinical data, genotypes, PRS weights.
    pub(crate) fn inputs(&self) -> Vec<Option<String>> {
        let mut files = vec![Some(self.input.data.clone()), self.input.genotypes.clone()];
        files.extend(self.prs_weights.iter().cloned().map(Some));
        files.push(self.pc_weights.clone());
        files.push(self.pc_freqs.clone());
        files.push(self.snps.clone());
        files
    }

    /// The group, therapy, target and ID columns must be different.
    fn check_columns(&self) -> Result<()> {
        if let Some(g) = &self.group_col {
            if [
                Some(&self.target),
                self.therapy_col.as_ref(),
                Some(&self.id),
            ]
            .contains(&Some(g))
            {
                return Err(Error::usage(format!(
                    "--group-col `{g}` is also the target, therapy or ID column"
                )));
            }
        }
        if self.therapy_col.as_deref() == Some(self.target.as_str()) {
            return Err(Error::usage(
                "--therapy-col and --target name the same column",
            ));
        }
        Ok(())
    }

    /// The validated training-set configuration.
    pub(crate) fn spec(&self) -> Result<CohortSpec> {
        let mut genetic = GeneticOptions {
            prs_weights: self.prs_weights.clone(),
            no_mean_imputation: self.prs_no_mean_imputation,
            by_position: self.prs_match == PrsMatch::Position,
            strand_flip: self.prs_strand_flip,
            pcs: self.genotype_pcs,
            genotypes_as: self.genotypes_as.map(GenotypesAs::from),
            pc_weights: self.pc_weights.clone(),
            pc_freqs: self.pc_freqs.clone(),
            snps: None,
        };
        let asks_genetics = !genetic.prs_weights.is_empty()
            || genetic.pcs.is_some()
            || genetic.pc_weights.is_some()
            || genetic.genotypes_as.is_some()
            || self.snps.is_some();
        if asks_genetics && self.input.genotypes.is_none() {
            return Err(Error::usage(
                "--prs-weights, --genotype-pcs, --pc-weights, --genotypes-as and --snps need --genotypes",
            ));
        }
        let mut read = self.input.read_options(&self.id)?;
        if let Some(path) = &self.snps {
            if genetic.genotypes_as == Some(GenotypesAs::Pcs) {
                return Err(Error::usage(
                    "--snps chooses SNP features and --genotypes-as pcs leaves them all out: give one",
                ));
            }
            let list = SnpList::read(path)?;
            // --genotype-pcs fits components on every SNP of the file.
            if genetic.pcs.is_none() {
                let needed = snps::needed(&list, genetic.pc_weights.as_deref())?;
                // A score's SNPs are streamed over a VCF/BCF file (stdin: read whole).
                if genetic.prs_weights.is_empty() {
                    read.text_snps = Some(needed.clone());
                }
                read.stream_scores = !genetic.prs_weights.is_empty();
                read.genotype_snps = Some(needed);
            }
            genetic.snps = Some(list);
        }
        if self.input.keep_ambiguous {
            return Err(Error::usage(
                "--keep-ambiguous decides how a file's alleles are read against a model's (score, evaluate, explain, report, policy); training sets the alleles, so it has no use here",
            ));
        }
        self.check_columns()?;
        Ok(CohortSpec {
            data: self.input.data.clone(),
            genotypes: self.input.genotypes.clone(),
            read,
            target: self.target.clone(),
            rule: self.rule()?,
            therapy_col: self.therapy_col.clone(),
            therapy: self.therapy.clone(),
            group_col: self.group_col.clone(),
            features: split_list(&self.features),
            exclude: split_list(&self.exclude),
            categorical: split_list(&self.categorical),
            genetic,
            log_skewed: false,
        })
    }
}
