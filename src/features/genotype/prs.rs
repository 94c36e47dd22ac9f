//! The polygenic score: reading a PLINK-style weights file, matching its
//! effect alleles to the training genotypes, and summing as
//! `plink --score FILE 1 2 3 sum` (PLINK 1.9) does.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::{Alleles, DosageTable, Loaded};
use crate::error::{Error, Location, Result};
use crate::features::genotype::{locate, mean_finite};

/// One weight of the polygenic score, as matched at training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrsWeight {
    /// SNP ID.
    pub(crate) snp: String,
    /// The allele the weight is for.
    pub(crate) effect_allele: String,
    /// The weight.
    pub(crate) weight: f64,
    /// Whether the effect allele is the training file's *other* allele, so
    /// the effect-allele dosage is 2 − dosage.
    pub(crate) flip: bool,
    /// Mean effect-allele dosage over the training rows (2 × the effect
    /// allele's frequency), used for a missing genotype.
    pub(crate) impute: f64,
}

impl PrsWeight {
    /// Copies of the effect allele for dosage `d` of the training file's
    /// counted allele; a missing `d` counts `impute` with mean imputation,
    /// else 0.
    pub(crate) fn effect_copies(&self, d: f64, mean_imputation: bool) -> f64 {
        match (d.is_nan(), mean_imputation) {
            (true, true) => self.impute,
            (true, false) => 0.0,
            (false, _) if self.flip => 2.0 - d,
            (false, _) => d,
        }
    }
}

/// A polygenic score: `sum over SNPs of weight × effect-allele dosage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrsModel {
    /// The feature's name: `prs`, or `prs_<name>` when a model has several.
    #[serde(default = "default_name")]
    pub(crate) name: String,
    /// The weights file's name.
    pub(crate) file: String,
    /// The weight column, when the file holds several scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<String>,
    /// Missing genotypes take `impute` (PLINK's default); without it they
    /// contribute 0 (PLINK's `no-mean-imputation`).
    pub(crate) mean_imputation: bool,
    /// The matched weights, in file order.
    pub(crate) weights: Vec<PrsWeight>,
    /// Weights whose SNP was not in the training genotype file.
    pub(crate) unmatched: usize,
    /// Weights whose effect allele is neither allele of the SNP (skipped, as PLINK does).
    pub(crate) allele_mismatch: usize,
}

fn default_name() -> String {
    super::PRS_FEATURE.to_string()
}

/// A bundle's scores: a list, or (bundles written before several scores
/// were possible) one object.
pub(crate) fn one_or_many<'de, D>(d: D) -> std::result::Result<Vec<PrsModel>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Box<PrsModel>),
        Many(Vec<PrsModel>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(m)) => vec![*m],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// A line of a weights file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawWeight {
    /// SNP ID.
    pub(crate) snp: String,
    /// Effect allele.
    pub(crate) allele: String,
    /// Weight.
    pub(crate) weight: f64,
    /// Source line.
    pub(crate) line: u64,
    /// The other allele, when the file names one.
    pub(crate) other: Option<String>,
    /// (chromosome, position) of a file that locates variants by position
    /// only; `snp` is then `chrom:pos:allele` until [`super::positions`]
    /// names the genotype file's variant there.
    pub(crate) site: Option<(String, u64)>,
    /// `--prs-strand-flip`: alleles that match only on the other strand
    /// are complemented ([`orient_strand`]).
    pub(crate) strand_flip: bool,
}

/// Column names (compared case-insensitively) of the SNP ID, the effect
/// allele and the weight: PLINK's (`SNP A1 BETA`), the PGS Catalog's
/// (`rsID effect_allele effect_weight`, or `hm_rsID` in harmonised files)
/// and common GWAS summary layouts.
const SNP_NAMES: [&str; 8] = [
    "rsid",
    "snp",
    "id",
    "hm_rsid",
    "snpid",
    "variant_id",
    "markername",
    "marker",
];
const ALLELE_NAMES: [&str; 5] = ["effect_allele", "a1", "ea", "allele1", "effectallele"];
const WEIGHT_NAMES: [&str; 6] = ["effect_weight", "beta", "weight", "score", "b", "effect"];

/// Columns that are neither a weight nor the SNP or effect allele: a
/// header naming the SNP and effect allele but no weight column makes every
/// *other* column a score (`SNP A1 scoreA scoreB`, plink2's
/// `--score-col-nums`), once these are set aside.
const NOT_WEIGHTS: [&str; 29] = [
    "other_allele",
    "a2",
    "allele2",
    "nea",
    "ref",
    "alt",
    "chr",
    "chr_name",
    "chrom",
    "#chrom",
    "chromosome",
    "chr_position",
    "pos",
    "bp",
    "position",
    "cm",
    "hm_chr",
    "hm_pos",
    "hm_inferotherallele",
    "hm_source",
    "hm_match_chr",
    "hm_match_pos",
    "hm_code",
    "hm_info",
    "locus_name",
    "variant_description",
    "inclusion_criteria",
    "imputation_method",
    "allelefrequency_effect",
];
/// Per-SNP statistics of a GWAS summary file: with one of these and no
/// weight column named, which column is the weight cannot be told.
const STATISTICS: [&str; 16] = [
    "se", "p", "pval", "p_value", "frq", "freq", "maf", "eaf", "info", "n", "z", "or", "hr",
    "stderr", "l95", "u95",
];

/// Columns of the chromosome and the position, for a file without SNP
/// IDs, most preferred first: a harmonised PGS Catalog file's `hm_chr`
/// and `hm_pos` (positions in the build it was harmonised to), the PGS
/// Catalog's `chr_name` and `chr_position`, and GWAS layouts.
const CHROM_NAMES: [&str; 6] = ["hm_chr", "chr_name", "chr", "chrom", "#chrom", "chromosome"];
const POS_NAMES: [&str; 6] = [
    "hm_pos",
    "chr_position",
    "pos",
    "bp",
    "position",
    "base_pair_location",
];
/// Columns of the other (non-effect) allele.
const OTHER_NAMES: [&str; 4] = ["other_allele", "a2", "allele2", "nea"];
/// PGS Catalog columns of weights that are not additive: a line whose
/// `is_dominant`, `is_recessive` or `is_interaction` is true, and any file
/// with genotype-specific `dosage_N_weight`s, are refused (a score here
/// sums weight × dosage).
const NON_ADDITIVE: [&str; 6] = [
    "is_dominant",
    "is_recessive",
    "is_interaction",
    "dosage_0_weight",
    "dosage_1_weight",
    "dosage_2_weight",
];

/// Where the fields of a weights line are: one column per score.
#[derive(Debug, Clone)]
struct WeightColumns {
    /// The SNP ID (`usize::MAX` when the file locates variants by `site`).
    snp: usize,
    /// (chromosome, position) of a file without SNP IDs.
    site: Option<(usize, usize)>,
    /// The other allele.
    other: Option<usize>,
    /// `is_dominant`, `is_recessive`, `is_interaction`: a true value is
    /// refused.
    non_additive: Vec<(usize, String)>,
    /// `hm_rsID` of a PGS Catalog harmonised file that also has `rsID`:
    /// read where `rsID` is empty.
    snp_fallback: Option<usize>,
    allele: usize,
    /// (column, name) of each score.
    weights: Vec<(usize, String)>,
}

impl WeightColumns {
    /// PLINK's headerless layout: SNP, allele, weight.
    fn plain() -> WeightColumns {
        WeightColumns {
            snp: 0,
            site: None,
            other: None,
            non_additive: Vec::new(),
            snp_fallback: None,
            allele: 1,
            weights: vec![(2, "SCORE1".into())],
        }
    }
}

/// The score columns of a header naming the SNP and effect allele but no
/// weight: every other column not in [`NOT_WEIGHTS`], unless one is a
/// per-SNP statistic (then `None`: the weight cannot be told).
fn score_columns(fields: &[&str], snp: usize, allele: usize) -> Option<Vec<(usize, String)>> {
    let is = |f: &str, names: &[&str]| names.iter().any(|n| f.eq_ignore_ascii_case(n));
    let rest: Vec<(usize, String)> = fields
        .iter()
        .enumerate()
        .filter(|&(i, f)| {
            i != snp
                && i != allele
                && ![
                    &NOT_WEIGHTS[..],
                    &SNP_NAMES,
                    &CHROM_NAMES,
                    &POS_NAMES,
                    &OTHER_NAMES,
                    &NON_ADDITIVE,
                ]
                .iter()
                .any(|names| is(f, names))
        })
        .map(|(i, f)| (i, f.to_string()))
        .collect();
    (!rest.is_empty() && !rest.iter().any(|(_, f)| is(f, &STATISTICS))).then_some(rest)
}

/// The columns of a header line, found by name; `None` when the line names
/// none of them. A header that names some but not all, or whose weight
/// cannot be told, is an error saying what to do.
fn header_columns(
    file: &str,
    line: u64,
    fields: &[&str],
    by_position: bool,
) -> Result<Option<WeightColumns>> {
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| fields.iter().position(|f| f.eq_ignore_ascii_case(n)))
    };
    let (snp, allele, weight) = (find(&SNP_NAMES), find(&ALLELE_NAMES), find(&WEIGHT_NAMES));
    // Lines without an ID (or a file without an ID column) are located
    // by position; with `by_position`, every line.
    let site = find(&CHROM_NAMES).zip(find(&POS_NAMES));
    if by_position && site.is_none() {
        return Err(Error::data(
            Location::file(file).line(line),
            "--prs-match position needs chromosome and position columns (chr_name and chr_position, hm_chr and hm_pos, CHR and BP, ...), which this header does not name",
        ));
    }
    let id_column = snp;
    let snp = snp.filter(|_| !by_position);
    refused_columns(file, line, fields)?;
    let snp_fallback = fields
        .iter()
        .position(|f| f.eq_ignore_ascii_case("hm_rsid"))
        .filter(|&h| Some(h) != id_column && !by_position);
    let non_additive: Vec<(usize, String)> = (0..fields.len())
        .filter(|&i| {
            NON_ADDITIVE[..3]
                .iter()
                .any(|n| fields[i].eq_ignore_ascii_case(n))
        })
        .map(|i| (i, fields[i].to_string()))
        .collect();
    let columns = |snp: usize, allele: usize, weights| WeightColumns {
        snp,
        site,
        other: find(&OTHER_NAMES),
        non_additive: non_additive.clone(),
        snp_fallback,
        allele,
        weights,
    };
    match (snp.or(site.map(|_| usize::MAX)), allele, weight) {
        (Some(snp), Some(allele), Some(weight)) => Ok(Some(columns(
            snp,
            allele,
            vec![(weight, fields[weight].to_string())],
        ))),
        (None, None, None) if fields.len() == 3 => Ok(None),
        (Some(snp), Some(allele), None) if score_columns(fields, snp, allele).is_some() => {
            Ok(Some(columns(
                snp,
                allele,
                score_columns(fields, snp, allele).unwrap_or_default(),
            )))
        }
        _ => Err(Error::data(
            Location::file(file).line(line),
            unclear_header(fields, [snp, allele, weight]),
        )),
    }
}

/// Why a header's columns cannot be read: weights that are ratios, or the
/// columns (SNP ID, effect allele, weight) it does not say.
fn unclear_header(fields: &[&str], [snp, allele, weight]: [Option<usize>; 3]) -> String {
    let hint = "name the columns SNP, A1 and BETA (PLINK's layout) or rsID, effect_allele and effect_weight (the PGS Catalog's), or give three columns in that order; for several scores, SNP, A1 and one column per score";
    let ratio = fields
        .iter()
        .find(|f| ["or", "hr"].iter().any(|r| f.eq_ignore_ascii_case(r)));
    if let (Some(r), None) = (ratio, weight) {
        return format!("the weights are in column `{r}`, a ratio: a score sums log ratios, so convert it (log({r})) into a column named BETA");
    }
    let missing: Vec<&str> = [
        (snp, "SNP ID"),
        (allele, "effect allele"),
        (weight, "weight"),
    ]
    .iter()
    .filter(|(c, _)| c.is_none())
    .map(|(_, w)| *w)
    .collect();
    format!(
        "cannot tell which column holds the {}: {hint}",
        missing.join(" and the ")
    )
}

/// Headers refused whatever the rest: several columns that could be the
/// weight, and genotype-specific weights (`dosage_N_weight`).
fn refused_columns(file: &str, line: u64, fields: &[&str]) -> Result<()> {
    let weighty: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| WEIGHT_NAMES.iter().any(|n| f.eq_ignore_ascii_case(n)))
        .collect();
    if weighty.len() > 1 {
        return Err(Error::data(
            Location::file(file).line(line),
            format!(
                "several columns could be the weight ({}): keep one, or name the score columns differently and leave SNP and A1 as the only other columns",
                crate::error::quote_all(weighty)
            ),
        ));
    }
    if let Some(d) = fields
        .iter()
        .find(|f| NON_ADDITIVE[3..].iter().any(|n| f.eq_ignore_ascii_case(n)))
    {
        return Err(Error::data(
            Location::file(file).line(line),
            format!("column `{d}` gives genotype-specific weights, which responder does not read (a score here sums weight × dosage): compute that score elsewhere, or use an additive file"),
        ));
    }
    Ok(())
}

/// The `#weight_type=` of a PGS Catalog header, refused when the weights
/// are ratios (a score sums betas or log ratios).
fn check_weight_type(file: &str, line: u64, comment: &str) -> Result<()> {
    let Some(kind) = comment
        .trim_start_matches('#')
        .trim()
        .strip_prefix("weight_type=")
    else {
        return Ok(());
    };
    let k = kind.trim().to_ascii_uppercase();
    if k == "OR" || k == "HR" || k == "ODDS RATIO" || k == "HAZARD RATIO" {
        return Err(Error::data(
            Location::file(file).line(line),
            format!(
                "the weights are {} (`weight_type={}`): a score sums log ratios, so convert effect_weight with log() first",
                if k.starts_with('O') { "odds ratios" } else { "hazard ratios" },
                kind.trim()
            ),
        ));
    }
    Ok(())
}

/// One score of a weights file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawScore {
    /// The weight column's header name (`SCORE1` without a header).
    pub(crate) column: String,
    /// The weights, in file order.
    pub(crate) weights: Vec<RawWeight>,
}

/// A weights file: one score, or several (one column each).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoreFile {
    /// The file's base name.
    pub(crate) name: String,
    /// `#pgs_id=` of a PGS Catalog header.
    pub(crate) pgs_id: Option<String>,
    /// The scores, in column order.
    pub(crate) scores: Vec<RawScore>,
    /// Lines without a SNP ID (empty or `.`), left out.
    pub(crate) no_id: usize,
    /// The genome build of its positions (`#HmPOS_build=`, else
    /// `#genome_build=` of a PGS Catalog header).
    pub(crate) build: Option<String>,
}

/// How the fields of a weights file are separated, from its first line
/// that is not a comment: tabs (empty fields kept, as in the PGS
/// Catalog's files), else commas (empty fields kept), else runs of
/// whitespace (PLINK's layout, aligned columns).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Separator {
    Tab,
    Comma,
    Whitespace,
}

impl Separator {
    fn of(line: &str) -> Separator {
        if line.contains('\t') {
            Separator::Tab
        } else if line.contains(',') {
            Separator::Comma
        } else {
            Separator::Whitespace
        }
    }

    /// The fields of `line` (without its line end), each trimmed.
    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Separator::Tab => line.split('\t').map(str::trim).collect(),
            Separator::Comma => line.split(',').map(str::trim).collect(),
            Separator::Whitespace => line.split_whitespace().collect(),
        }
    }
}

/// What a weights file's `#` lines say (a PGS Catalog header).
#[derive(Default)]
struct Meta {
    pgs_id: Option<String>,
    build: Option<String>,
}

impl Meta {
    /// Reads `#` line `n`; ratio weights are refused.
    fn read(&mut self, file: &str, n: u64, line: &str) -> Result<()> {
        check_weight_type(file, n, line)?;
        let meta = line.trim_start_matches('#').trim();
        if let Some(id) = meta.strip_prefix("pgs_id=") {
            self.pgs_id = Some(id.trim().to_string());
        }
        if let Some(b) = meta.strip_prefix("HmPOS_build=") {
            self.build = Some(b.trim().to_string());
        }
        if let Some(b) = meta.strip_prefix("genome_build=") {
            self.build.get_or_insert_with(|| b.trim().to_string());
        }
        Ok(())
    }
}

/// Reads a score file: PLINK's `--score FILE 1 2 3 [header]` layout (SNP
/// ID, effect allele and weight in the first three fields, separated by
/// whitespace, tabs or commas: see [`Separator`]) or, when a header names them, the columns by name
/// (PLINK `SNP A1 BETA`, PGS Catalog `rsID … effect_allele … effect_weight`
/// with its `#` header lines; `SNP A1 scoreA scoreB …` for several scores).
/// Blank lines and lines starting with `#` are skipped; a weight that is
/// not a number is an error naming the line and column.
pub(crate) fn read_weights(path: &str, by_position: bool) -> Result<ScoreFile> {
    let loaded = Loaded::read(path)?;
    let file = loaded.name.clone();
    let text = std::str::from_utf8(&loaded.bytes)
        .map_err(|_| Error::data(Location::file(&file), "the file is not valid UTF-8 text"))?;
    let mut scores: Vec<RawScore> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut columns: Option<(WeightColumns, Separator)> = None;
    let (mut meta, mut no_id) = (Meta::default(), 0);
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
        // `#` lines are read for their metadata (a blank one holds none).
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            meta.read(&file, n, line.trim())?;
            continue;
        }
        let sep = columns
            .as_ref()
            .map_or_else(|| Separator::of(line), |c| c.1);
        let fields = fields_of(&file, n, sep, line)?;
        if columns.is_none() {
            let (c, is_header) = first_line(&file, n, &fields, by_position)?;
            scores = c
                .weights
                .iter()
                .map(|(_, name)| RawScore {
                    column: name.clone(),
                    weights: Vec::new(),
                })
                .collect();
            columns = Some((c, sep));
            if is_header {
                continue;
            }
        }
        let Some((c, _)) = columns.as_ref() else {
            continue;
        };
        let Some(v) = line_snp(&file, n, &fields, c)? else {
            no_id += 1;
            continue;
        };
        let snp = &v.snp;
        if let Some(prev) = seen.insert(snp.to_string(), n) {
            return Err(Error::data(
                Location::file(&file).line(n),
                format!(
                    "SNP `{snp}` has a weight on lines {prev} and {n}; give one weight per SNP"
                ),
            ));
        }
        for (s, (col, name)) in scores.iter_mut().zip(&c.weights) {
            s.weights.push(RawWeight {
                snp: snp.to_string(),
                allele: v.allele.to_string(),
                weight: weight_of(&file, n, fields[*col], name)?,
                line: n,
                other: v.other.clone(),
                site: v.site.clone(),
                strand_flip: false,
            });
        }
    }
    if scores.first().is_none_or(|s| s.weights.is_empty()) {
        let why = match no_id {
            0 => "the weights file has no weights".to_string(),
            k => format!("none of its {k} weights has a SNP ID or a position (empty or `.`)"),
        };
        return Err(Error::data(Location::file(&file), why));
    }
    Ok(ScoreFile {
        name: loaded.base_name,
        pgs_id: meta.pgs_id,
        scores,
        no_id,
        build: meta.build,
    })
}

/// The layout given by the first data-or-header line, and whether the
/// line is a header.
fn first_line(
    file: &str,
    n: u64,
    fields: &[&str],
    by_position: bool,
) -> Result<(WeightColumns, bool)> {
    let numeric = fields.get(2).is_some_and(|w| w.parse::<f64>().is_ok());
    let is_header = !numeric && fields.len() >= 3;
    let header = if is_header {
        header_columns(file, n, fields, by_position)?
    } else {
        None
    };
    if by_position && header.is_none() {
        return Err(Error::data(
            Location::file(file).line(n),
            "--prs-match position needs a header naming the chromosome and position columns",
        ));
    }
    Ok((header.unwrap_or_else(WeightColumns::plain), is_header))
}

/// The variant of a weights-file line: its SNP ID (or `chrom:pos:allele`
/// for a file located by position), effect and other allele, and site.
struct LineVariant<'a> {
    snp: String,
    allele: &'a str,
    other: Option<String>,
    site: Option<(String, u64)>,
}

/// The variant on weights-file line `n` (columns `c`), checking the line
/// has every column the layout needs; `None` when the line has no SNP ID
/// (empty or `.`, in `hm_rsID` too where the file has it) or, in a file
/// located by position, no chromosome or position. An empty effect allele
/// or a position that is not a whole number is an error.
fn line_snp<'a>(
    file: &str,
    n: u64,
    fields: &[&'a str],
    c: &WeightColumns,
) -> Result<Option<LineVariant<'a>>> {
    let site = match c.site {
        Some((a, b)) if c.snp == usize::MAX => [Some(a), Some(b)],
        _ => [None, None],
    };
    let need = c
        .weights
        .iter()
        .map(|w| w.0)
        .chain([c.allele])
        .chain(Some(c.snp).filter(|&s| s != usize::MAX))
        .chain(site.into_iter().flatten())
        .max()
        .unwrap_or(2)
        + 1;
    if fields.len() < need {
        return Err(Error::data(
            Location::file(file).line(n),
            format!(
                "{} fields; a weights line needs SNP, effect allele and weight{}",
                fields.len(),
                if need > 3 {
                    format!(" (the header puts them in {need} columns)")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let id = |f: Option<&&'a str>| f.copied().filter(|s| !s.is_empty() && *s != ".");
    additive(file, n, fields, c)?;
    let allele = fields[c.allele];
    let fallback = c.snp_fallback.and_then(|h| fields.get(h));
    let by_id = id(fields.get(c.snp).filter(|_| c.snp != usize::MAX)).or_else(|| id(fallback));
    let (snp, site) = match (by_id, c.site) {
        (Some(snp), _) => (snp.to_string(), None),
        (None, Some((chrom, pos))) => {
            let (Some(chrom), Some(pos)) = (id(fields.get(chrom)), id(fields.get(pos))) else {
                return Ok(None);
            };
            if pos.eq_ignore_ascii_case("na") {
                return Ok(None);
            }
            let pos: u64 = pos.parse().map_err(|_| {
                Error::data(
                    Location::file(file).line(n).column("position"),
                    format!("`{pos}` is not a position (a whole number)"),
                )
            })?;
            let chrom = super::positions::chrom_key(chrom);
            let other = c.other.and_then(|o| id(fields.get(o))).unwrap_or("");
            (
                format!("{chrom}:{pos}:{other}:{allele}"),
                Some((chrom, pos)),
            )
        }
        (None, None) => return Ok(None),
    };
    if allele.is_empty() {
        return Err(Error::data(
            Location::file(file).line(n).column("effect allele"),
            format!("the effect allele of `{snp}` is empty"),
        ));
    }
    let other = c
        .other
        .and_then(|o| id(fields.get(o)))
        .map(|o| o.to_string());
    Ok(Some(LineVariant {
        snp,
        allele,
        other,
        site,
    }))
}

/// Refuses line `n` when its `is_dominant`, `is_recessive` or
/// `is_interaction` is true.
fn additive(file: &str, n: u64, fields: &[&str], c: &WeightColumns) -> Result<()> {
    for (k, name) in &c.non_additive {
        let v = fields.get(*k).map(|v| v.to_ascii_lowercase());
        if matches!(v.as_deref(), Some("true" | "t" | "1" | "yes")) {
            return Err(Error::data(
                Location::file(file).line(n).column(name),
                "the weight is not additive (dominant, recessive or an interaction), and a score here sums weight × dosage: compute that score elsewhere, or leave the line out",
            ));
        }
    }
    Ok(())
}

/// The fields of weights-file line `n`; a quoted field of a CSV is refused.
fn fields_of<'a>(file: &str, n: u64, sep: Separator, line: &'a str) -> Result<Vec<&'a str>> {
    if sep == Separator::Comma && line.contains('"') {
        return Err(Error::data(
            Location::file(file).line(n),
            "a quoted field: quoted CSV fields (which may hold commas) are not read in a weights file; write it tab-separated",
        ));
    }
    Ok(sep.split(line))
}

/// A weight field, which must be a finite number.
fn weight_of(file: &str, n: u64, field: &str, column: &str) -> Result<f64> {
    match field.parse::<f64>() {
        Ok(w) if w.is_finite() => Ok(w),
        _ => {
            let col = if column == "SCORE1" { "weight" } else { column };
            Err(Error::data(
                Location::file(file).line(n).column(col),
                match field {
                    "" => "the weight is empty".to_string(),
                    _ => format!("`{field}` is not a number"),
                },
            ))
        }
    }
}

/// How a weight's effect allele relates to a SNP's alleles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Orient {
    /// The effect allele is the counted allele.
    Counted,
    /// It is the other allele (2 − dosage).
    Other,
    /// The file names no other allele: taken to be it (2 − dosage).
    Assumed,
    /// The file names no alleles: the dosage is taken to count it.
    NoAlleles,
    /// Neither allele.
    Mismatch,
}

impl Orient {
    /// Whether the effect-allele dosage is 2 − dosage.
    pub(super) fn flip(self) -> bool {
        matches!(self, Orient::Other | Orient::Assumed)
    }
}

/// Orients `effect` against a SNP's alleles `a`.
pub(super) fn orient(a: Option<&Alleles>, effect: &str) -> Orient {
    match a {
        None => Orient::NoAlleles,
        Some(a) if a.counted == effect => Orient::Counted,
        Some(a) => match &a.other {
            Some(o) if o == effect => Orient::Other,
            Some(_) => Orient::Mismatch,
            None => Orient::Assumed,
        },
    }
}

/// Orients weight `w` against a SNP's alleles `a` as [`orient`] does; with
/// `w.strand_flip`, when its effect allele is neither allele there, on the
/// other strand: the SNP not palindromic (A/T, C/G), both its alleles
/// known, the complement of the effect allele one of them (and of the
/// weight's other allele, where it names one, the other). Returns the
/// orientation and the complemented effect allele, when it was one
/// (PRSice's and LDpred2's strand flip of base-file alleles against the
/// target genotypes; plink2 `--score` does none, hence the option).
pub(super) fn orient_strand(a: Option<&Alleles>, w: &RawWeight) -> (Orient, Option<String>) {
    use super::alleles::{complement, palindromic};
    let o = orient(a, &w.allele);
    let Some(al) = a.filter(|_| o == Orient::Mismatch && w.strand_flip) else {
        return (o, None);
    };
    let (Some(other), Some(ce)) = (al.other.as_deref(), complement(&w.allele)) else {
        return (o, None);
    };
    let fits_other = match w.other.as_deref() {
        Some(wo) => complement(wo).is_some_and(|co| {
            (ce == al.counted && co == other) || (ce == other && co == al.counted)
        }),
        None => ce == al.counted || ce == other,
    };
    if palindromic(&al.counted, other) || !fits_other {
        return (o, None);
    }
    (orient(a, ce), Some(ce.to_string()))
}

/// What matching a score's weights found, for the notes and the error.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) unmatched: usize,
    pub(super) mismatch: usize,
    pub(super) assumed: usize,
    pub(super) no_alleles: usize,
    /// Weights whose alleles matched on the other strand (complemented).
    pub(super) strand: usize,
}

impl Tally {
    /// Counts one orientation; `None` for a mismatch (the weight is skipped).
    pub(super) fn count(&mut self, o: Orient) -> Option<bool> {
        match o {
            Orient::Mismatch => {
                self.mismatch += 1;
                return None;
            }
            Orient::Assumed => self.assumed += 1,
            Orient::NoAlleles => self.no_alleles += 1,
            Orient::Counted | Orient::Other => {}
        }
        Some(o.flip())
    }

    /// The model from the matched `weights`, with notes for stderr; none
    /// matched is an error naming the weights file.
    pub(super) fn finish(
        self,
        (file, column): (&str, Option<&str>),
        name: &str,
        geno: &str,
        (total, weights): (usize, Vec<PrsWeight>),
        mean_imputation: bool,
    ) -> Result<(PrsModel, Vec<String>)> {
        let Tally {
            unmatched,
            mismatch,
            assumed,
            no_alleles,
            strand,
        } = self;
        if weights.is_empty() {
            return Err(Error::data(
                Location::file(file),
                format!(
                    "none of the {total} weights can be used with {geno}: {unmatched} SNPs are not in it and {mismatch} have an effect allele that is neither of the SNP's alleles"
                ),
            ));
        }
        let mut notes = vec![format!(
            "{file}: polygenic score `{name}` from {} of {total} SNPs; {unmatched} not in {geno}, {mismatch} skipped because the effect allele is neither allele of the SNP",
            weights.len()
        )];
        if strand > 0 {
            notes.push(format!(
                "{file}: {strand} weights name their alleles on the other strand of {geno} (A/G for T/C): read as the complementary alleles (--prs-strand-flip)"
            ));
        }
        if assumed > 0 {
            notes.push(format!(
                "{file}: for {assumed} SNPs the effect allele is not the counted allele and {geno} does not name the other allele; taken as the other allele (2 − dosage)"
            ));
        }
        if no_alleles > 0 {
            notes.push(format!(
                "{file}: {geno} names no alleles, so its dosages are taken to count the effect allele of {no_alleles} SNPs"
            ));
        }
        Ok((
            PrsModel {
                name: name.to_string(),
                file: file.to_string(),
                column: column.map(str::to_string),
                mean_imputation,
                weights,
                unmatched,
                allele_mismatch: mismatch,
            },
            notes,
        ))
    }
}

/// Matches one score's weights to the training genotypes `g` (rows
/// `grows`) as the feature `name`; returns the model and notes for stderr.
pub(super) fn fit_prs(
    g: &DosageTable,
    grows: &[usize],
    source: (&str, Option<&str>),
    name: &str,
    raw: &[RawWeight],
    mean_imputation: bool,
) -> Result<(PrsModel, Vec<String>)> {
    let mut tally = Tally::default();
    let mut weights = Vec::new();
    for w in raw {
        let Some(s) = g.find(&w.snp) else {
            tally.unmatched += 1;
            continue;
        };
        let (o, complemented) = orient_strand(g.alleles[s].as_ref(), w);
        let Some(flip) = tally.count(o) else {
            continue;
        };
        tally.strand += usize::from(complemented.is_some());
        let effect = |d: f64| if flip { 2.0 - d } else { d };
        let impute = mean_finite(grows.iter().map(|&r| effect(g.values[s].get(r)))).unwrap_or(0.0);
        weights.push(PrsWeight {
            snp: g.snp(s).to_string(),
            effect_allele: complemented.unwrap_or_else(|| w.allele.clone()),
            weight: w.weight,
            flip,
            impute,
        });
    }
    tally.finish(source, name, &g.file, (raw.len(), weights), mean_imputation)
}

impl PrsModel {
    /// The score of every row in `grows` (genotype-file rows).
    pub(crate) fn compute(&self, g: &DosageTable, grows: &[usize]) -> Result<Vec<f64>> {
        let snps: Vec<&str> = self.weights.iter().map(|w| w.snp.as_str()).collect();
        let idx = locate(g, &snps, &format!("the polygenic score `{}`", self.name))?;
        // Summed in the genotype file's SNP order, as the streamed sum over
        // a `.bed` is, so that both give the same bits.
        let mut order: Vec<(usize, &PrsWeight)> = idx.iter().copied().zip(&self.weights).collect();
        order.sort_by_key(|&(s, _)| s);
        let mut out = vec![0.0; grows.len()];
        for (s, w) in order {
            let col = &g.values[s];
            for (o, &r) in out.iter_mut().zip(grows) {
                let x = w.effect_copies(col.get(r), self.mean_imputation);
                *o += w.weight * x;
            }
        }
        Ok(out)
    }
}
