//! Reading and checking training data: shared by `train` and `compare`.

use std::collections::BTreeSet;

use crate::cli::common::{split_list, InputArgs};
use crate::cli::Ui;
use crate::data::{is_missing, Dataset, Target, TargetRule};
use crate::error::{Error, Location, Result};
use crate::features::genetic::{GeneticOptions, GenotypeModel, GenotypesAs};
use crate::features::select::select_features;
use crate::features::Frame;

/// Flags that define a training set: files, target, arms and features.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Patient files.
    #[command(flatten)]
    pub input: InputArgs,

    /// The outcome column. Example: --target responder
    #[arg(long, value_name = "COL")]
    pub target: String,

    /// The patient ID column, in both files. Example: --id subject
    #[arg(long, value_name = "COL", default_value = "patient_id")]
    pub id: String,

    /// Column naming each patient's therapy; one model is fitted per therapy
    /// arm. Example: --therapy-col therapy
    #[arg(long, value_name = "COL")]
    pub therapy_col: Option<String>,

    /// Use only this arm of --therapy-col. Example: --therapy ketamine
    #[arg(long, value_name = "NAME", requires = "therapy_col")]
    pub therapy: Option<String>,

    /// The target label that means "responder", when it is not 0/1,
    /// true/false or yes/no. Example: --positive remission
    #[arg(long, value_name = "LABEL", conflicts_with = "responder_if")]
    pub positive: Option<String>,

    /// Responder rule for a numeric outcome: an operator and a number.
    /// Example: --responder-if '<= -50'
    #[arg(long, value_name = "'OP NUMBER'", allow_hyphen_values = true)]
    pub responder_if: Option<String>,

    /// Use only these feature columns (comma-separated). Example: --features age,sex,madrs_baseline
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub features: Vec<String>,

    /// Leave these columns out (comma-separated). Example: --exclude site,visit_date
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// Treat these columns as categorical even if numeric. Example: --categorical site
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub categorical: Vec<String>,

    /// Add a polygenic score feature `prs` from a PLINK --score file (SNP,
    /// effect allele, weight; whitespace or comma separated; header
    /// optional), summed as `plink --score FILE 1 2 3 sum`. Needs --genotypes.
    /// Example: --prs-weights weights.txt
    #[arg(long, value_name = "FILE")]
    pub prs_weights: Option<String>,

    /// A missing genotype adds 0 to `prs` instead of the mean dosage (PLINK's
    /// `no-mean-imputation`).
    #[arg(long, requires = "prs_weights")]
    pub prs_no_mean_imputation: bool,

    /// Add K principal components of the standardised genotype matrix as
    /// features `pc1..pcK` (fitted on all training rows). Needs --genotypes.
    /// Example: --genotype-pcs 5
    #[arg(long, value_name = "K")]
    pub genotype_pcs: Option<usize>,

    /// Which genotype features to use: the principal components, the SNP
    /// dosages, or both (default: dosages; both with --genotype-pcs).
    /// Example: --genotypes-as pcs
    #[arg(long, value_enum, value_name = "WHAT")]
    pub genotypes_as: Option<GenotypesAs>,
}

/// One therapy arm's training rows.
#[derive(Debug, Clone)]
pub struct ArmData {
    /// Therapy (`None` without arms).
    pub therapy: Option<String>,
    /// Rows of the frame.
    pub rows: Vec<usize>,
    /// Labels of those rows.
    pub y: Vec<bool>,
}

impl ArmData {
    /// Display name (`all` without arms).
    pub fn label(&self) -> String {
        self.therapy.clone().unwrap_or_else(|| "all".into())
    }

    /// Responders in the arm.
    pub fn responders(&self) -> usize {
        self.y.iter().filter(|&&v| v).count()
    }
}

/// A checked training set.
pub struct Prepared {
    /// The joined files.
    pub ds: Dataset,
    /// The typed feature columns.
    pub frame: Frame,
    /// The target rule.
    pub rule: TargetRule,
    /// Rows with a missing target.
    pub n_missing_target: usize,
    /// Rows with a missing therapy.
    pub n_missing_therapy: usize,
    /// The arms to fit.
    pub arms: Vec<ArmData>,
    /// Alleles, polygenic score and principal components, when genotypes
    /// were given with allele information or genetic features asked for.
    pub genetics: Option<GenotypeModel>,
}

impl DataArgs {
    /// The target rule from `--positive` / `--responder-if`.
    pub fn rule(&self) -> Result<TargetRule> {
        Ok(match (&self.positive, &self.responder_if) {
            (Some(label), _) => TargetRule::Positive {
                label: label.clone(),
            },
            (None, Some(expr)) => TargetRule::parse_threshold(expr)?,
            (None, None) => TargetRule::Binary,
        })
    }

    /// Reads, joins and checks the data; `min_per_class` is the fewest
    /// responders and non-responders an arm may have (the fold count).
    pub fn prepare(&self, ui: &Ui, min_per_class: usize, why: &str) -> Result<Prepared> {
        let rule = self.rule()?;
        let genetic = self.genetic_options();
        let asks_genetics = genetic.prs_weights.is_some()
            || genetic.pcs.is_some()
            || genetic.genotypes_as.is_some();
        if asks_genetics && self.input.genotypes.is_none() {
            return Err(Error::usage(
                "--prs-weights, --genotype-pcs and --genotypes-as need --genotypes",
            ));
        }
        let opts = self.input.read_options(&self.id)?;
        let mut ds = Dataset::load(&self.input.data, self.input.genotypes.as_deref(), &opts)?;
        if let Some(msg) = ds.join_message() {
            ui.info(msg);
        }
        let target = Target::read(&ds, &self.target, &rule)?;
        if target.n_missing > 0 {
            ui.info(format!(
                "{}: {} rows with a missing `{}` are left out",
                ds.data.file, target.n_missing, self.target
            ));
        }
        let (therapy, n_missing_therapy) = match &self.therapy_col {
            None => (vec![None; ds.n_rows()], 0),
            Some(col) => {
                let c = ds.data.require(col)?;
                if col == &self.target {
                    return Err(Error::usage(
                        "--therapy-col and --target name the same column",
                    ));
                }
                let t: Vec<Option<String>> = ds
                    .data_cells(c)
                    .map(|(_, v)| (!is_missing(v)).then(|| v.to_string()))
                    .collect();
                let missing = t
                    .iter()
                    .zip(&target.values)
                    .filter(|(t, y)| t.is_none() && y.is_some())
                    .count();
                if missing > 0 {
                    ui.info(format!(
                        "{}: {missing} rows with a missing `{col}` are left out",
                        ds.data.file
                    ));
                }
                (t, missing)
            }
        };
        let usable = |i: usize| {
            target.values[i].is_some() && (self.therapy_col.is_none() || therapy[i].is_some())
        };
        let all_arms: Vec<String> = (0..ds.n_rows())
            .filter(|&i| usable(i))
            .filter_map(|i| therapy[i].clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let arms: Vec<Option<String>> = match (&self.therapy_col, &self.therapy) {
            (None, _) => vec![None],
            (Some(col), Some(name)) => {
                if !all_arms.contains(name) {
                    return Err(Error::data(
                        Location::file(&ds.data.file).column(col),
                        format!(
                            "--therapy `{name}` is not an arm; the arms are: {}",
                            all_arms
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                vec![Some(name.clone())]
            }
            (Some(_), None) => all_arms.iter().cloned().map(Some).collect(),
        };

        // Genetic features are fitted on every training row (all arms).
        let train_rows: Vec<usize> = (0..ds.n_rows())
            .filter(|&i| usable(i) && arms.iter().any(|a| a.is_none() || therapy[i] == *a))
            .collect();
        let mut genetics = None;
        if let Some(g) = &ds.genotypes {
            if g.skipped_multiallelic > 0 {
                ui.warn(format!(
                    "{}: skipped {} multi-allelic sites (more than one ALT allele); split them (bcftools norm -m-) to use them",
                    g.file, g.skipped_multiallelic
                ));
            }
            let (model, notes) = GenotypeModel::fit(&ds, &train_rows, &genetic)?;
            for n in notes {
                ui.info(n);
            }
            genetics = Some(model);
        }
        if let Some(m) = &genetics {
            m.add_features(&mut ds)?;
        }

        let mut reserved: Vec<(&str, &str)> =
            vec![(self.id.as_str(), "ID"), (self.target.as_str(), "target")];
        if let Some(t) = &self.therapy_col {
            reserved.push((t.as_str(), "therapy"));
        }
        let exclude = split_list(&self.exclude);
        let mut names = select_features(&ds, &reserved, &split_list(&self.features), &exclude)?;
        if let (Some(m), Some(g)) = (&genetics, &ds.genotypes) {
            if m.genotypes_as == GenotypesAs::Pcs {
                names.retain(|n| g.find(n).is_none());
            }
            for d in m.derived_names() {
                if !names.contains(&d) && !exclude.contains(&d) {
                    names.push(d);
                }
            }
            if names.is_empty() {
                return Err(Error::usage(
                    "no feature columns are left after --features/--exclude; the model needs at least one",
                ));
            }
        }
        let categorical = split_list(&self.categorical);
        if let Some(c) = categorical.iter().find(|c| !names.contains(c)) {
            return Err(Error::usage(format!(
                "--categorical names `{c}`, which is not a feature column"
            )));
        }
        let (frame, warnings) = Frame::infer(&ds, &names, &categorical)?;
        for w in warnings {
            ui.warn(w);
        }
        if let (Some(m), Some(g)) = (&mut genetics, &ds.genotypes) {
            m.record_alleles(g, &names);
        }
        // A genotype file without alleles and without computed features
        // needs nothing beyond the schema.
        let genetics = genetics.filter(|m| !m.alleles.is_empty() || !m.derived_names().is_empty());

        let mut arm_data = Vec::with_capacity(arms.len());
        for arm in arms {
            let rows: Vec<usize> = (0..ds.n_rows())
                .filter(|&i| usable(i) && (arm.is_none() || therapy[i] == arm))
                .collect();
            let y: Vec<bool> = rows
                .iter()
                .map(|&i| target.values[i] == Some(true))
                .collect();
            let a = ArmData {
                therapy: arm,
                rows,
                y,
            };
            let pos = a.responders();
            let neg = a.y.len() - pos;
            if pos < min_per_class || neg < min_per_class {
                let what = match &a.therapy {
                    Some(t) => format!("arm `{t}`"),
                    None => "the data".to_string(),
                };
                return Err(Error::data(
                    Location::file(&ds.data.file).column(&self.target),
                    format!(
                        "{what} has {pos} responders and {neg} non-responders; {why} needs at least {min_per_class} of each"
                    ),
                ));
            }
            arm_data.push(a);
        }
        Ok(Prepared {
            ds,
            frame,
            rule,
            n_missing_target: target.n_missing,
            n_missing_therapy,
            arms: arm_data,
            genetics,
        })
    }

    /// The genetic-feature flags.
    pub fn genetic_options(&self) -> GeneticOptions {
        GeneticOptions {
            prs_weights: self.prs_weights.clone(),
            no_mean_imputation: self.prs_no_mean_imputation,
            pcs: self.genotype_pcs,
            genotypes_as: self.genotypes_as,
        }
    }
}
