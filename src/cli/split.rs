//! `responder split`: a stratified, seeded train/test split of a data file.

use std::path::PathBuf;

use crate::cli::Ui;
use crate::data::input::{Delimiter, Loaded};
use crate::data::split::test_rows;
use crate::data::table::{is_missing, RawTable};
use crate::error::{Error, Result};
use crate::output::AtomicFile;

/// Flags of `split`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  responder split --data trial.csv --test 0.2 --stratify responder,therapy --seed 7 --out-dir split
  responder train --data split/train.csv --target responder --therapy-col therapy --out m.json
  responder evaluate --model m.json --data split/test.csv --target responder")]
pub(crate) struct Args {
    /// The data file (CSV/TSV, optionally .gz). Example: --data trial.csv
    #[arg(long, value_name = "FILE")]
    pub(crate) data: String,

    /// Field delimiter of --data (default: from the extension, else sniffed).
    /// Example: --delimiter tab
    #[arg(long, value_name = "DELIM")]
    pub(crate) delimiter: Option<String>,

    /// Share of the rows that go to the test set, in (0, 1). Example: --test 0.25
    #[arg(long, value_name = "SHARE", default_value_t = 0.2, value_parser = open_unit)]
    pub(crate) test: f64,

    /// Columns whose combinations keep their shares in both sets (e.g. the
    /// outcome and the therapy); a missing cell is a level of its own.
    /// Example: --stratify responder,therapy
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub(crate) stratify: Vec<String>,

    /// Seed of the shuffle; the same file, columns, share and seed give the
    /// same split. Example: --seed 7
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Folder for train.csv and test.csv (`.tsv` for a tab- or
    /// whitespace-separated file), created if needed. Example: --out-dir split
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
}

/// A share strictly between 0 and 1.
fn open_unit(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("`{s}` is not a share strictly between 0 and 1")),
    }
}

/// Runs `split`.
pub(crate) fn run(args: Args, ui: &Ui) -> Result<()> {
    let overridden = args
        .delimiter
        .as_deref()
        .map(Delimiter::parse)
        .transpose()?;
    let loaded = Loaded::read(&args.data)?;
    let delimiter = loaded.delimiter(overridden);
    let table = RawTable::parse(&loaded, delimiter)?;
    let n = table.n_rows();
    if n < 2 {
        return Err(Error::data(
            crate::error::Location::file(&table.file),
            format!("{n} data rows: a split needs at least two"),
        ));
    }
    let cols = args
        .stratify
        .iter()
        .map(|c| table.require(c))
        .collect::<Result<Vec<usize>>>()?;
    let keys = strata_keys(&table, &cols);
    let test = test_rows(&keys, args.test, args.seed);
    let n_test = test.iter().filter(|&&t| t).count();
    if n_test == 0 || n_test == n {
        return Err(Error::usage(format!(
            "--test {} of {n} rows puts {} rows in the test set: choose a share that leaves rows on both sides",
            args.test, n_test
        )));
    }
    let (byte, ext) = match delimiter {
        Delimiter::Byte(b'\t') | Delimiter::Whitespace => (b'\t', "tsv"),
        Delimiter::Byte(b) => (b, "csv"),
    };
    std::fs::create_dir_all(&args.out_dir).map_err(|source| Error::Io {
        action: "cannot create folder",
        path: args.out_dir.clone(),
        source,
    })?;
    let paths = [
        args.out_dir.join(format!("train.{ext}")),
        args.out_dir.join(format!("test.{ext}")),
    ];
    let files = [
        AtomicFile::create(&paths[0])?,
        AtomicFile::create(&paths[1])?,
    ];
    let texts = [false, true].map(|want| rows_text(&table, &test, want, byte));
    for (f, t) in files.into_iter().zip(texts) {
        f.write_and_commit(&t)?;
    }
    let strata: std::collections::BTreeSet<&String> = keys.iter().collect();
    ui.info(format!(
        "split {n} rows of {}: {} to {}, {n_test} to {}{}",
        table.file,
        n - n_test,
        paths[0].display(),
        paths[1].display(),
        if cols.is_empty() {
            " (not stratified)".to_string()
        } else {
            format!(
                " (stratified by {}: {} strata)",
                args.stratify.join(", "),
                strata.len()
            )
        }
    ));
    Ok(())
}

/// The header and the rows whose `test` flag is `want`, in file order.
fn rows_text(table: &RawTable, test: &[bool], want: bool, delimiter: u8) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = w.write_record(&table.header);
    for r in (0..table.n_rows()).filter(|&r| test[r] == want) {
        let _ = w.write_record(table.columns.iter().map(|c| c.get(r)));
    }
    w.into_inner().unwrap_or_default()
}

/// Each row's stratum: its cells in `cols` (a missing cell is a level of
/// its own), joined.
fn strata_keys(table: &RawTable, cols: &[usize]) -> Vec<String> {
    (0..table.n_rows())
        .map(|r| {
            cols.iter()
                .map(|&c| {
                    let v = table.columns[c].get(r);
                    if is_missing(v) {
                        "\u{0}missing".to_string()
                    } else {
                        v.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\u{1}")
        })
        .collect()
}
