//! `responder simulate`: write a synthetic cohort with known truth.

use std::path::PathBuf;

use crate::cli::Ui;
use crate::error::{Error, Result};
use crate::output::AtomicFile;
use crate::simulate::{simulate_into, Design};

/// Flags of `simulate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  responder simulate --patients 300 --snps 50 --seed 1 --out examples/cohort"
)]
pub(crate) struct Args {
    /// Number of patients, 1 to 100,000,000 (the files are written as the
    /// patients are drawn). Example: --patients 5000
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) patients: u64,

    /// Number of SNP columns in genotypes.csv, 1 to 100,000. Example: --snps 200
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub(crate) snps: u64,

    /// Random seed; the same seed gives byte-identical files. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Output folder (created if absent) for clinical.csv, genotypes.csv and
    /// truth.csv; a folder that is not empty needs --force. Example: --out cohort
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,

    /// No treatment-effect heterogeneity: each therapy's response
    /// probability is one prognostic probability plus a constant (TMS +0.06,
    /// ketamine 0, SSRI −0.04), the same risk difference for every patient.
    #[arg(long)]
    pub(crate) no_heterogeneity: bool,

    /// Confounded assignment: the therapy depends on prior failures, CRP and
    /// anxiety (a multinomial logit); the true propensities are written to
    /// propensity.csv (`patient_id,e_TMS,e_ketamine,e_SSRI`).
    #[arg(long)]
    pub(crate) confounded: bool,

    /// Sites (2 to 1,000): a `site` column (S1, S2, …) in clinical.csv, each
    /// site shifting every therapy's logit by its own N(0, 0.5²) offset.
    /// Example: --sites 4
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(2..=1000))]
    pub(crate) sites: Option<u64>,

    /// Write into a folder that is not empty (replacing clinical.csv,
    /// genotypes.csv and truth.csv there; other files are left alone).
    #[arg(long)]
    pub(crate) force: bool,
}

/// The files `simulate` writes.
const FILES: [&str; 3] = ["clinical.csv", "genotypes.csv", "truth.csv"];

/// Refuses a folder that holds anything unless `force`.
fn check_folder(out: &std::path::Path, force: bool) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() || force {
        return Ok(());
    }
    names.sort();
    let shown = names.len().min(5);
    Err(Error::usage(format!(
        "the folder `{}` is not empty ({}{}): add --force to replace {} there, or choose an empty or new folder",
        out.display(),
        crate::error::quote_all(&names[..shown]),
        if names.len() > shown { ", …" } else { "" },
        FILES.join(", ")
    )))
}

/// Runs `simulate`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    check_folder(&args.out, args.force)?;
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        action: "cannot create folder",
        path: args.out.clone(),
        source,
    })?;
    let [c, g, t] = FILES.map(|f| AtomicFile::create(args.out.join(f)));
    let (mut c, mut g, mut t) = (c?, g?, t?);
    let design = Design {
        no_heterogeneity: args.no_heterogeneity,
        confounded: args.confounded,
        sites: args.sites.unwrap_or(0) as usize,
    };
    let mut e = if design.confounded {
        Some(AtomicFile::create(args.out.join("propensity.csv"))?)
    } else {
        None
    };
    let mut sink = std::io::sink();
    let fourth: &mut dyn std::io::Write = match e.as_mut() {
        Some(f) => f,
        None => &mut sink,
    };
    let causal = simulate_into(
        args.patients as usize,
        args.snps as usize,
        args.seed,
        design,
        &mut [&mut c, &mut g, &mut t, fourth],
    )
    .map_err(|source| Error::Io {
        action: "cannot write",
        path: args.out.clone(),
        source,
    })?;
    for f in [c, g, t].into_iter().chain(e) {
        f.commit()?;
    }
    let causal: Vec<String> = causal.iter().map(|c| c.name.clone()).collect();
    ui.info(format!("causal SNPs: {}", causal.join(", ")));
    ui.info(format!(
        "wrote {} patients × {} SNPs to {} (clinical.csv, genotypes.csv, truth.csv{})",
        args.patients,
        args.snps,
        args.out.display(),
        if design.confounded {
            ", propensity.csv"
        } else {
            ""
        }
    ));
    Ok(())
}
