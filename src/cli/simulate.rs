//! `responder simulate`: write a synthetic cohort with known truth.

use std::path::PathBuf;

use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::output::AtomicFile;
use crate::simulate::simulate;

/// Flags of `simulate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  responder simulate --patients 300 --snps 50 --seed 1 --out examples/cohort"
)]
pub(crate) struct Args {
    /// Number of patients. Example: --patients 5000
    #[arg(long, value_name = "N")]
    pub(crate) patients: usize,

    /// Number of SNP columns in genotypes.csv. Example: --snps 200
    #[arg(long, value_name = "M")]
    pub(crate) snps: usize,

    /// Random seed; the same seed gives byte-identical files. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Output folder (created if absent) for clinical.csv, genotypes.csv and
    /// truth.csv. Example: --out cohort
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

/// Runs `simulate`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    if args.patients == 0 {
        return Err(Error::usage("--patients must be at least 1"));
    }
    if args.snps == 0 {
        return Err(Error::usage("--snps must be at least 1"));
    }
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        action: "cannot create folder",
        path: args.out.clone(),
        source,
    })?;
    let files: Vec<AtomicFile> = ["clinical.csv", "genotypes.csv", "truth.csv"]
        .iter()
        .map(|f| AtomicFile::create(args.out.join(f)))
        .collect::<Result<_>>()?;
    let cohort = simulate(args.patients, args.snps, args.seed);
    for (file, text) in files
        .into_iter()
        .zip([&cohort.clinical, &cohort.genotypes, &cohort.truth])
    {
        file.write_and_commit(text.as_bytes())?;
    }
    let names: Vec<&str> = cohort
        .genotypes
        .lines()
        .next()
        .map(|h| h.split(',').skip(1).collect())
        .unwrap_or_default();
    let causal: Vec<String> = cohort
        .causal
        .iter()
        .filter_map(|c| names.get(c.index).map(|n| n.to_string()))
        .collect();
    ui.info(format!("causal SNPs: {}", causal.join(", ")));
    ui.info(format!(
        "wrote {} patients × {} SNPs to {} (clinical.csv, genotypes.csv, truth.csv)",
        args.patients,
        args.snps,
        args.out.display()
    ));
    Ok(())
}
