//! Cohort assembly: the training set of `train` and `compare`. Reads and
//! joins the files, reads the target under its rule, splits the patients
//! into therapy arms, fits the genetic features on all training rows and
//! chooses and types the feature columns.

use std::collections::BTreeSet;

use crate::data::{is_missing, Dataset, DosageTable, ReadOptions, Target, TargetRule};
use crate::error::{quote_all, Error, Location, Result};
use crate::features::columns::choose_columns;
use crate::features::genotype::snps::SnpList;
use crate::features::genotype::{GeneticOptions, GenotypeModel, GenotypesAs};
use crate::features::Frame;
use crate::notes::Notes;
use crate::training::cv::Folds;

/// What defines a training set: files, target, arms and features (a
/// validated configuration; see `cli::args::DataArgs`).
#[derive(Debug, Clone)]
pub(crate) struct CohortSpec {
    /// The clinical file (`-` for stdin).
    pub(crate) data: String,
    /// The genotype file, if any.
    pub(crate) genotypes: Option<String>,
    /// The ID column and delimiters.
    pub(crate) read: ReadOptions,
    /// The outcome column.
    pub(crate) target: String,
    /// How the outcome becomes responder yes/no.
    pub(crate) rule: TargetRule,
    /// The therapy column (one model per arm), if any.
    pub(crate) therapy_col: Option<String>,
    /// Fit this arm only.
    pub(crate) therapy: Option<String>,
    /// Sites or trials: folds keep each group whole (`--group-col`).
    pub(crate) group_col: Option<String>,
    /// Use only these feature columns (empty: all).
    pub(crate) features: Vec<String>,
    /// Leave these columns out.
    pub(crate) exclude: Vec<String>,
    /// Treat these columns as categorical.
    pub(crate) categorical: Vec<String>,
    /// Polygenic score and principal components.
    pub(crate) genetic: GeneticOptions,
    /// Log-transform strictly positive, right-skewed clinical columns.
    pub(crate) log_skewed: bool,
}

/// One therapy arm's training rows.
#[derive(Debug, Clone)]
pub(crate) struct ArmData {
    /// Therapy (`None` without arms).
    pub(crate) therapy: Option<String>,
    /// Rows of the frame.
    pub(crate) rows: Vec<usize>,
    /// Labels of those rows.
    pub(crate) y: Vec<bool>,
}

impl ArmData {
    /// Display name (`all` without arms).
    pub(crate) fn label(&self) -> String {
        self.therapy.clone().unwrap_or_else(|| "all".into())
    }

    /// Responders in the arm.
    pub(crate) fn responders(&self) -> usize {
        self.y.iter().filter(|&&v| v).count()
    }
}

/// A checked training set.
pub(crate) struct Cohort {
    /// The joined files.
    pub(crate) ds: Dataset,
    /// The typed feature columns.
    pub(crate) frame: Frame,
    /// Rows with a missing target.
    pub(crate) n_missing_target: usize,
    /// Rows with a missing therapy.
    pub(crate) n_missing_therapy: usize,
    /// The arms to fit.
    pub(crate) arms: Vec<ArmData>,
    /// Alleles, polygenic score and principal components, when genotypes
    /// were given with allele information or genetic features asked for.
    pub(crate) genetics: Option<GenotypeModel>,
    /// The groups of `--group-col`: labels (sorted) and each training row's
    /// group index (by frame row; `usize::MAX` for rows not used).
    pub(crate) groups: Option<(Vec<String>, Vec<usize>)>,
}

/// Each joined row's therapy (`None` when missing, or without arms).
struct Therapies {
    of_row: Vec<Option<String>>,
    n_missing: usize,
}

impl Cohort {
    /// The CV folds of `rows` (labels `y`): grouped when the cohort has
    /// groups (`k` ≥ the number of groups: leave-one-group-out), else
    /// stratified.
    pub(crate) fn folds(&self, rows: &[usize], y: &[bool], k: usize, seed: u64) -> Folds {
        match &self.groups {
            Some((_, of)) => {
                Folds::grouped(&rows.iter().map(|&r| of[r]).collect::<Vec<_>>(), k, seed)
            }
            None => Folds::stratified(y, k, seed),
        }
    }

    /// The first arm whose patients all belong to one `--group-col` group,
    /// as (arm label, group label): grouped folds leave it nothing to train
    /// on, and a cluster bootstrap cannot vary it.
    pub(crate) fn single_group_arm(&self) -> Option<(String, String)> {
        let (labels, of) = self.groups.as_ref()?;
        self.arms.iter().find_map(|arm| {
            let first = of[*arm.rows.first()?];
            arm.rows
                .iter()
                .all(|&r| of[r] == first)
                .then(|| (arm.label(), labels[first].clone()))
        })
    }

    /// Number of groups (`--group-col`), if any.
    pub(crate) fn n_groups(&self) -> Option<usize> {
        self.groups.as_ref().map(|(l, _)| l.len())
    }

    /// Every training row of every arm, in frame order, with its label.
    pub(crate) fn labelled_rows(&self) -> (Vec<usize>, Vec<bool>) {
        let mut all: Vec<(usize, bool)> = self
            .arms
            .iter()
            .flat_map(|a| a.rows.iter().copied().zip(a.y.iter().copied()))
            .collect();
        all.sort_unstable();
        all.into_iter().unzip()
    }

    /// Reads, joins and checks the data of `spec`; every arm needs at
    /// least `min_per_class` responders and non-responders (`why` names
    /// what needs them, e.g. `--cv 5`).
    pub(crate) fn assemble(
        spec: &CohortSpec,
        min_per_class: usize,
        why: &str,
        notes: &mut Notes,
    ) -> Result<Cohort> {
        let mut ds = Dataset::load(&spec.data, spec.genotypes.as_deref(), &spec.read)?;
        if let Some(msg) = ds.join_message() {
            notes.info(msg);
        }
        let target = Target::read(&ds, &spec.target, &spec.rule)?;
        missing_target_notes(&ds.data.file, spec, &target, notes);
        let therapies = read_therapies(&ds, spec, &target, notes)?;
        let usable = |i: usize| {
            target.values[i].is_some()
                && (spec.therapy_col.is_none() || therapies.of_row[i].is_some())
        };
        let arms = choose_arms(&ds, spec, &therapies, &usable)?;
        // Genetic features are fitted on every training row (all arms).
        let train_rows: Vec<usize> = (0..ds.n_rows())
            .filter(|&i| {
                usable(i)
                    && arms
                        .iter()
                        .any(|a| a.is_none() || therapies.of_row[i] == *a)
            })
            .collect();
        let mut genetics = fit_genetics(&mut ds, spec, &train_rows, notes)?;
        let names = feature_names(&ds, spec, genetics.as_ref())?;
        let (mut frame, warnings) = Frame::infer(&ds, &names, &spec.categorical)?;
        frame.log_skewed = spec.log_skewed;
        for w in warnings {
            notes.warn(w);
        }
        refuse_identifiers(&ds, &frame)?;
        refuse_missing_level(&ds, &frame)?;
        if let (Some(m), Some(g)) = (&mut genetics, &ds.genotypes) {
            m.record_alleles(g, &names);
        }
        // A genotype file without alleles and without computed features
        // needs nothing beyond the schema.
        let genetics = genetics.filter(|m| !m.alleles.is_empty() || !m.derived_names().is_empty());
        let mut arm_data = Vec::with_capacity(arms.len());
        for arm in arms {
            let rows: Vec<usize> = (0..ds.n_rows())
                .filter(|&i| usable(i) && (arm.is_none() || therapies.of_row[i] == arm))
                .collect();
            let y = rows
                .iter()
                .map(|&i| target.values[i] == Some(true))
                .collect();
            let a = ArmData {
                therapy: arm,
                rows,
                y,
            };
            check_classes(&ds, spec, &a, min_per_class, why)?;
            arm_data.push(a);
        }
        let groups = match &spec.group_col {
            Some(col) => Some(read_groups(&ds, col, &arm_data)?),
            None => None,
        };
        Ok(Cohort {
            ds,
            frame,
            n_missing_target: target.n_missing,
            n_missing_therapy: therapies.n_missing,
            arms: arm_data,
            genetics,
            groups,
        })
    }
}

/// The therapy of every joined row, counting labelled rows without one.
fn read_therapies(
    ds: &Dataset,
    spec: &CohortSpec,
    target: &Target,
    notes: &mut Notes,
) -> Result<Therapies> {
    let Some(col) = &spec.therapy_col else {
        return Ok(Therapies {
            of_row: vec![None; ds.n_rows()],
            n_missing: 0,
        });
    };
    let c = ds.data.require(col)?;
    let of_row: Vec<Option<String>> = ds
        .data_cells(c)
        .map(|(_, v)| (!is_missing(v)).then(|| v.to_string()))
        .collect();
    let n_missing = of_row
        .iter()
        .zip(&target.values)
        .filter(|(t, y)| t.is_none() && y.is_some())
        .count();
    if n_missing > 0 {
        notes.info(format!(
            "{}: {n_missing} rows with a missing `{col}` are left out",
            ds.data.file
        ));
    }
    Ok(Therapies { of_row, n_missing })
}

/// The arms to fit: one without a therapy column, else every therapy of a
/// usable row (sorted), or the one named by `--therapy`.
fn choose_arms(
    ds: &Dataset,
    spec: &CohortSpec,
    therapies: &Therapies,
    usable: &dyn Fn(usize) -> bool,
) -> Result<Vec<Option<String>>> {
    let all: Vec<String> = (0..ds.n_rows())
        .filter(|&i| usable(i))
        .filter_map(|i| therapies.of_row[i].clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(match (&spec.therapy_col, &spec.therapy) {
        (None, _) => vec![None],
        (Some(col), Some(name)) => {
            if !all.contains(name) {
                return Err(Error::data(
                    Location::file(&ds.data.file).column(col),
                    format!(
                        "--therapy `{name}` is not an arm; the arms are: {}",
                        quote_all(&all)
                    ),
                ));
            }
            vec![Some(name.clone())]
        }
        (Some(_), None) => all.into_iter().map(Some).collect(),
    })
}

/// Fits alleles, the polygenic score and the components on `train_rows`
/// and adds the computed features to `ds`.
fn fit_genetics(
    ds: &mut Dataset,
    spec: &CohortSpec,
    train_rows: &[usize],
    notes: &mut Notes,
) -> Result<Option<GenotypeModel>> {
    let Some(g) = &ds.genotypes else {
        return Ok(None);
    };
    if g.skipped_multiallelic > 0 {
        notes.warn(format!(
            "{}: skipped {} multi-allelic sites (more than one ALT allele); split them (bcftools norm -m-) to use them",
            g.file, g.skipped_multiallelic
        ));
    }
    for n in &g.notes {
        notes.info(n.clone());
    }
    if let Some(list) = &spec.genetic.snps {
        notes.info(snp_list_note(list, g)?);
    }
    let (model, fit_notes, scored) = GenotypeModel::fit_scored(ds, train_rows, &spec.genetic)?;
    for n in fit_notes {
        notes.info(n);
    }
    // Scores streamed over a `.bed` while fitting are not read again.
    for n in model.add_features_with(ds, &scored)? {
        notes.info(n);
    }
    Ok(Some(model))
}

/// How many SNPs of `--snps` are in the genotype file (none is an error
/// naming the list).
fn snp_list_note(list: &SnpList, g: &DosageTable) -> Result<String> {
    let found = list.ids.iter().filter(|s| g.find(s).is_some()).count();
    let absent = list.ids.len() - found;
    if found == 0 {
        // A VCF read for the listed SNPs counts the multi-allelic ones.
        let skipped = match g.skipped_multiallelic {
            0 => String::new(),
            n => format!(
                " ({n} multi-allelic site{} among its records {} skipped: split them with bcftools norm -m-)",
                if n == 1 { "" } else { "s" },
                if n == 1 { "was" } else { "were" }
            ),
        };
        return Err(Error::data(
            Location::file(&list.file),
            format!(
                "none of its {} SNP IDs is in {}{skipped}: check the IDs (rsID or CHROM:POS:REF:ALT, as in the genotype file)",
                list.ids.len(),
                g.file
            ),
        ));
    }
    let shown: Vec<&String> = list
        .ids
        .iter()
        .filter(|s| g.find(s).is_none())
        .take(5)
        .collect();
    Ok(format!(
        "{}: {found} of {} listed SNPs are in {} and may be features; {absent} are not{}",
        list.file,
        list.ids.len(),
        g.file,
        if absent > 0 {
            format!(
                " ({}{})",
                crate::error::quote_all(shown),
                if absent > 5 { ", …" } else { "" }
            )
        } else {
            String::new()
        }
    ))
}

/// The feature columns: every column but the reserved ones, narrowed by
/// `--features`/`--exclude`, with the SNP columns left out for
/// `--genotypes-as pcs` and the computed genetic features added.
fn feature_names(
    ds: &Dataset,
    spec: &CohortSpec,
    genetics: Option<&GenotypeModel>,
) -> Result<Vec<String>> {
    let mut reserved: Vec<(&str, &str)> = vec![
        (spec.read.id.as_str(), "ID"),
        (spec.target.as_str(), "target"),
    ];
    if let Some(t) = &spec.therapy_col {
        reserved.push((t.as_str(), "therapy"));
    }
    if let Some(g) = &spec.group_col {
        reserved.push((g.as_str(), "group"));
    }
    let mut names = choose_columns(ds, &reserved, &spec.features, &spec.exclude)?;
    if let (Some(list), Some(g)) = (&spec.genetic.snps, &ds.genotypes) {
        names.retain(|n| g.find(n).is_none() || list.ids.contains(n));
    }
    if let (Some(m), Some(g)) = (genetics, &ds.genotypes) {
        if m.genotypes_as == GenotypesAs::Pcs {
            names.retain(|n| g.find(n).is_none());
        }
        for d in m.derived_names() {
            if !names.contains(&d) && !spec.exclude.contains(&d) {
                names.push(d);
            }
        }
        if names.is_empty() {
            return Err(Error::usage(
                "no feature columns are left after --features/--exclude; the model needs at least one",
            ));
        }
    }
    if let Some(c) = spec.categorical.iter().find(|c| !names.contains(c)) {
        return Err(Error::usage(format!(
            "--categorical names `{c}`, which is not a feature column"
        )));
    }
    Ok(names)
}

/// Words that name identifying columns (compared with the column name's
/// lower-case tokens, split at non-letters).
const IDENTIFYING: [&str; 22] = [
    "mrn",
    "ssn",
    "nhs",
    "nino",
    "name",
    "firstname",
    "lastname",
    "surname",
    "forename",
    "initials",
    "dob",
    "birthdate",
    "birthday",
    "birth",
    "email",
    "mail",
    "phone",
    "telephone",
    "mobile",
    "address",
    "street",
    "postcode",
];

/// Words that mark an ID column when its values are (nearly) all distinct.
const ID_WORDS: [&str; 8] = [
    "id",
    "identifier",
    "subject",
    "patient",
    "record",
    "case",
    "participant",
    "study",
];

/// Why column `c` looks like a patient identifier, if it does: an
/// identifying name, or (nearly) one value per patient.
fn identifier_reason(c: &crate::features::frame::FrameColumn) -> Option<String> {
    use crate::features::frame::{Values, MISSING_CODE};
    let lower = c.name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(|ch: char| !ch.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let compact: String = tokens.concat();
    if let Some(w) = IDENTIFYING
        .iter()
        .find(|w| tokens.contains(w) || compact == **w)
    {
        return Some(format!("its name (`{w}`) marks identifying data"));
    }
    let (present, distinct) = match &c.values {
        Values::Categorical { codes, levels } => (
            codes.iter().filter(|&&k| k != MISSING_CODE).count(),
            levels.len(),
        ),
        Values::Numeric(v) => {
            let mut seen: Vec<u64> = v
                .iter()
                .filter(|x| !x.is_nan())
                .map(|x| x.to_bits())
                .collect();
            let n = seen.len();
            seen.sort_unstable();
            seen.dedup();
            (n, seen.len())
        }
    };
    let unique = present >= 10 && distinct * 10 >= present * 9;
    let text = matches!(c.values, Values::Categorical { .. });
    let id_word = tokens.iter().any(|t| ID_WORDS.contains(t));
    if unique && (text || id_word) {
        return Some(format!(
            "{distinct} different values among {present} patients{}",
            if text { "" } else { " and an ID-like name" }
        ));
    }
    None
}

/// Refuses feature columns that look like patient identifiers (MRN, name,
/// date of birth, a text column with one value per patient): a model must
/// not store them, and the bundle and model card would.
fn refuse_identifiers(ds: &Dataset, frame: &Frame) -> Result<()> {
    let found: Vec<(String, String)> = frame
        .columns
        .iter()
        .filter_map(|c| identifier_reason(c).map(|why| (c.name.clone(), why)))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    Err(Error::data(
        Location::file(&ds.data.file),
        format!(
            "{} {} ({}): a model would store {} in the bundle and the model card; leave {} out with --exclude {}",
            quote_all(&names),
            if names.len() == 1 { "looks like a patient identifier" } else { "look like patient identifiers" },
            found
                .iter()
                .map(|(n, why)| format!("`{n}`: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
            if names.len() == 1 { "its values" } else { "their values" },
            if names.len() == 1 { "it" } else { "them" },
            names.join(",")
        ),
    ))
}

/// Refuses a categorical column with a cell whose text is the name of the
/// level for missing values (it would merge with the missing cells).
fn refuse_missing_level(ds: &Dataset, frame: &Frame) -> Result<()> {
    use crate::features::frame::Values;
    use crate::features::pipeline::MISSING_LEVEL;
    for c in &frame.columns {
        if let Values::Categorical { levels, .. } = &c.values {
            if levels.iter().any(|l| l == MISSING_LEVEL) {
                let col = ds.data.find(&c.name).unwrap_or(0);
                let row = ds
                    .data_cells(col)
                    .find(|(_, v)| *v == MISSING_LEVEL)
                    .map_or(0, |(r, _)| r);
                return Err(Error::data(
                    ds.data.loc(row, col),
                    format!(
                        "the text `{MISSING_LEVEL}` is the name responder gives the level of missing values, so it would merge with the empty cells: make these cells empty (if they are missing) or rename the level"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The groups of `col` for every training row, by frame row (`usize::MAX`
/// for rows not used).
fn read_groups(ds: &Dataset, col: &str, arms: &[ArmData]) -> Result<(Vec<String>, Vec<usize>)> {
    let rows: Vec<usize> = arms.iter().flat_map(|a| a.rows.iter().copied()).collect();
    let (labels, of_rows) = ds.groups(col, &rows, "training")?;
    let mut of = vec![usize::MAX; ds.n_rows()];
    for (&i, g) in rows.iter().zip(of_rows) {
        of[i] = g;
    }
    Ok((labels, of))
}

/// Refuses an arm with fewer than `min` responders or non-responders.
fn check_classes(
    ds: &Dataset,
    spec: &CohortSpec,
    arm: &ArmData,
    min: usize,
    why: &str,
) -> Result<()> {
    let pos = arm.responders();
    let neg = arm.y.len() - pos;
    if pos >= min && neg >= min {
        return Ok(());
    }
    let what = match &arm.therapy {
        Some(t) => format!("arm `{t}`"),
        None => "the data".to_string(),
    };
    Err(Error::data(
        Location::file(&ds.data.file).column(&spec.target),
        format!(
            "{what} has {pos} responders and {neg} non-responders; {why} needs at least {min} of each"
        ),
    ))
}

/// Counts the rows left out for a missing target or rule column.
fn missing_target_notes(file: &str, spec: &CohortSpec, target: &Target, notes: &mut Notes) {
    let no_target = target.n_missing - target.n_missing_rule;
    if no_target > 0 {
        notes.info(format!(
            "{file}: {no_target} rows with a missing `{}` are left out",
            spec.target
        ));
    }
    if target.n_missing_rule > 0 {
        notes.info(format!(
            "{file}: {} rows with a missing {} (compared with by --responder-if) are left out",
            target.n_missing_rule,
            crate::error::quote_all(spec.rule.columns())
        ));
    }
}
