//! `responder score`: apply a bundle to new patients and rank them.

use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::bundle::Bundle;
use crate::cli::args::{out_is_json, Format, InputArgs};
use crate::cli::Ui;
use crate::data::{Dataset, ReadOptions, TextColumn};
use crate::error::{Error, Result};
use crate::eval::apply::predict_all;
use crate::features::Frame;
use crate::output::Sink;
use crate::rank::{best_and_advantage, RankedRow};
use crate::ranking::{id_hash, Ranked, Ranker, DEFAULT_SPILL_ROWS};
use crate::report::{render_csv, render_table, Cell};

/// Decimals printed for probabilities.
const DECIMALS: usize = 6;

/// Flags of `score`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  responder score --model models/example.json --data examples/cohort/clinical.csv \\
      --genotypes examples/cohort/genotypes.csv --top 10
  responder score --model m.json --data new.csv --therapy ketamine --format json --out ranked.json")]
pub struct Args {
    /// The model bundle written by `train`. Example: --model model.json
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,

    /// Patients to score (CSV/TSV, optionally .gz; `-` reads stdin).
    /// Example: --data new_patients.csv
    #[arg(long, value_name = "FILE", required_unless_present = "cross_fitted")]
    pub data: Option<String>,

    /// Their genotype dosages (CSV/TSV, PLINK .raw; .gz read transparently).
    /// Example: --genotypes new_geno.raw
    #[arg(long, value_name = "FILE")]
    pub genotypes: Option<String>,

    /// Field delimiter of --data (default: from the extension, else sniffed).
    /// Example: --delimiter tab
    #[arg(long, value_name = "DELIM")]
    pub delimiter: Option<String>,

    /// Field delimiter of --genotypes. Example: --genotype-delimiter whitespace
    #[arg(long, value_name = "DELIM")]
    pub genotype_delimiter: Option<String>,

    /// Print the training patients' cross-fitted (out-of-fold) predictions
    /// stored in the bundle instead of scoring a file. Example: --cross-fitted
    #[arg(long, conflicts_with_all = ["data", "genotypes"])]
    pub cross_fitted: bool,

    /// Rows read, joined and scored at a time when streaming a file (memory
    /// grows with this, not with the file). Example: --batch-rows 100000
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub batch_rows: usize,

    /// Patients held in memory for the ranking; beyond this, sorted runs
    /// go to temporary files (in the --out folder, else the system's
    /// temporary folder) and are merged while writing, so memory stays
    /// bounded whatever the number of patients. Example: --spill-rows 200000
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SPILL_ROWS)]
    pub spill_rows: usize,

    /// Report `none` as best therapy when the best arm beats the runner-up
    /// by less than D. Example: --min-advantage 0.05
    #[arg(long, value_name = "D")]
    pub min_advantage: Option<f64>,

    /// The patient ID column (default: the one the model was trained with).
    /// Example: --id subject
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,

    /// Rank by the probability under this therapy arm (default: each
    /// patient's best arm). Example: --therapy TMS
    #[arg(long, value_name = "NAME")]
    pub therapy: Option<String>,

    /// Keep only the first K ranked patients. Example: --top 20
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,

    /// Output format (default: table on a terminal, else csv; json for an
    /// --out ending in .json). Example: --format json
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write results to this file (atomically) instead of stdout. Example: --out ranked.csv
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `score`.
pub fn run(args: Args, ui: &Ui) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let arm_names = bundle.arm_names();
    let by = match &args.therapy {
        None => None,
        Some(name) => {
            Some(
                arm_names
                    .iter()
                    .position(|a| a == name)
                    .ok_or_else(|| Error::Model {
                        file: args.model.display().to_string(),
                        message: format!(
                            "--therapy `{name}` is not an arm of this model; its arms are: {}",
                            arm_names
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?,
            )
        }
    };
    if args.top == Some(0) {
        return Err(Error::usage("--top must be at least 1"));
    }
    if let Some(d) = args.min_advantage {
        if !(0.0..=1.0).contains(&d) {
            return Err(Error::usage("--min-advantage must be between 0 and 1"));
        }
    }
    if args.spill_rows == 0 {
        return Err(Error::usage("--spill-rows must be at least 1"));
    }
    let id = args.id.clone().unwrap_or_else(|| bundle.id_column.clone());
    let mut sink = Sink::open(args.out.as_deref())?;
    // Sorted runs of a large ranking go next to the output, else to the
    // system's temporary folder.
    let spill_dir = match args.out.as_deref() {
        Some(p) if p.as_os_str() != "-" => match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        },
        _ => std::env::temp_dir(),
    };
    let ranker = || Ranker::new(bundle.arms.len(), by, args.top, args.spill_rows, &spill_dir);

    let (ranked, id_name, n_scored) = if args.cross_fitted {
        let cf = bundle.cross_fitted.as_ref().ok_or_else(|| Error::Model {
            file: args.model.display().to_string(),
            message: "the bundle has no cross-fitted predictions (trained with --cv 0 or --no-cross-fitted)".into(),
        })?;
        ui.info(format!(
            "cross-fitted predictions of {} training patients: each from a model that did not see the patient",
            cf.ids.len()
        ));
        let mut r = ranker();
        r.push(
            cf.ids.iter().collect::<TextColumn>(),
            cf.p.clone(),
            Vec::new(),
        )?;
        finished(r, bundle.id_column.clone())?
    } else {
        let input = InputArgs {
            data: args.data.clone().unwrap_or_default(),
            genotypes: args.genotypes.clone(),
            delimiter: args.delimiter.clone(),
            genotype_delimiter: args.genotype_delimiter.clone(),
        };
        let opts = input.read_options(&id)?;
        if args.batch_rows == 0 {
            return Err(Error::usage("--batch-rows must be at least 1"));
        }
        match stream(&bundle, &input, &opts, args.batch_rows, ranker(), ui)? {
            Some(done) => done,
            // Not streamable (stdin, VCF, quoted line breaks, files in a
            // different patient order, a repeated ID) or a problem: read
            // whole files, which also gives the exact error with the
            // file's own line numbers.
            None => {
                let mut r = ranker();
                let id_name = score_whole(&bundle, &input, &opts, &mut r, ui)?;
                finished(r, id_name)?
            }
        }
    };
    let format = args.format.unwrap_or_else(|| {
        if out_is_json(args.out.as_deref()) {
            Format::Json
        } else if sink.is_terminal() {
            Format::Table
        } else {
            Format::Csv
        }
    });
    let multi = bundle.arms.len() > 1;
    let min_advantage = args.min_advantage.unwrap_or(0.0);
    let shape = (id_name.as_str(), &arm_names[..], multi, min_advantage);
    match format {
        Format::Csv => write_csv(&mut sink, ranked, shape)?,
        Format::Json => write_json(&mut sink, ranked, shape)?,
        Format::Table => {
            let mut rows = Vec::with_capacity(ranked.shown());
            ranked.for_each_batch(8192, |ids, probs, order| {
                for &i in order {
                    let i = i as usize;
                    let p: Vec<f64> = probs.iter().map(|a| a[i]).collect();
                    rows.push(RankedRow::new(rows.len() + 1, ids.get(i), p));
                }
                Ok(())
            })?;
            let header = header(&id_name, &arm_names, multi);
            let cells: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| table_cells(r, &arm_names, multi, min_advantage))
                .collect();
            sink.write_text(&render_table(&header, &cells))?;
        }
    }
    sink.finish()?;
    ui.info(format!(
        "scored {} patients with {} ({} arm{})",
        n_scored,
        args.model.display(),
        arm_names.len(),
        if multi { "s" } else { "" }
    ));
    Ok(())
}

/// The ranking of patients whose IDs are known to be distinct, the ID
/// column's name and the number of patients.
fn finished(r: Ranker, id_name: String) -> Result<(Ranked, String, u64)> {
    let n = r.len();
    let ranked = r.finish()?.ok_or_else(|| {
        Error::Fit("internal: the ranking found a repeated ID after the duplicate check".into())
    })?;
    Ok((ranked, id_name, n))
}

/// The output columns.
pub fn header(id: &str, arms: &[String], multi: bool) -> Vec<String> {
    let mut h = vec!["rank".to_string(), id.to_string()];
    if multi {
        h.extend(arms.iter().map(|a| format!("p_{a}")));
        h.push("best_therapy".into());
        h.push("advantage".into());
    } else {
        h.push("probability".into());
    }
    h
}

fn round(v: f64) -> f64 {
    let s = 10f64.powi(DECIMALS as i32);
    (v * s).round() / s
}

/// The best therapy's name, or `none` when its advantage is below `min_advantage`.
pub fn best_label(best: usize, advantage: f64, arms: &[String], min_advantage: f64) -> &str {
    if advantage < min_advantage {
        "none"
    } else {
        &arms[best]
    }
}

/// The JSON object of one ranked patient.
fn json_item(r: &RankedRow, id: &str, arms: &[String], multi: bool, min_advantage: f64) -> Value {
    let mut m = Map::new();
    m.insert("rank".into(), r.rank.into());
    m.insert(id.into(), r.id.clone().into());
    if multi {
        for (a, p) in arms.iter().zip(&r.probs) {
            m.insert(format!("p_{a}"), round(*p).into());
        }
        m.insert(
            "best_therapy".into(),
            best_label(r.best, r.advantage, arms, min_advantage).into(),
        );
        m.insert("advantage".into(), round(r.advantage).into());
    } else {
        m.insert("probability".into(), round(r.probs[0]).into());
    }
    Value::Object(m)
}

/// The table cells of one ranked patient.
fn table_cells(r: &RankedRow, arms: &[String], multi: bool, min_advantage: f64) -> Vec<Cell> {
    let mut c = vec![Cell::Int(r.rank), Cell::Text(r.id.clone())];
    c.extend(r.probs.iter().map(|&p| Cell::Num(p, DECIMALS)));
    if multi {
        c.push(Cell::Text(
            best_label(r.best, r.advantage, arms, min_advantage).to_string(),
        ));
        c.push(Cell::Num(r.advantage, DECIMALS));
    }
    c
}

/// (ID column, arm names, several arms, minimum advantage).
type Shape<'a> = (&'a str, &'a [String], bool, f64);

/// Writes the ranking as a pretty-printed JSON array, one patient at a time.
fn write_json(sink: &mut Sink, ranked: Ranked, shape: Shape) -> Result<()> {
    let (id_name, arms, multi, min_advantage) = shape;
    if ranked.shown() == 0 {
        return sink.write_text("[]\n");
    }
    sink.write_text("[")?;
    let mut rank = 0;
    ranked.for_each_batch(4096, |ids, probs, order| {
        let mut out = String::new();
        for &i in order {
            let i = i as usize;
            rank += 1;
            let r = RankedRow::new(rank, ids.get(i), probs.iter().map(|a| a[i]).collect());
            let item = json_item(&r, id_name, arms, multi, min_advantage);
            let text = serde_json::to_string_pretty(&item).unwrap_or_else(|_| "{}".into());
            out.push_str(if rank == 1 { "\n" } else { ",\n" });
            for (k, line) in text.lines().enumerate() {
                if k > 0 {
                    out.push('\n');
                }
                out.push_str("  ");
                out.push_str(line);
            }
        }
        sink.write_text(&out)
    })?;
    sink.write_text("\n]\n")
}

/// Scores whole files in memory (any format, any patient order) into
/// `ranker`; returns the ID column's name.
fn score_whole(
    bundle: &Bundle,
    input: &InputArgs,
    opts: &ReadOptions,
    ranker: &mut Ranker,
    ui: &Ui,
) -> Result<String> {
    let ds = Dataset::load(&input.data, input.genotypes.as_deref(), opts)?;
    if let Some(msg) = ds.join_message() {
        ui.info(msg);
    }
    // Dataset::load has checked the IDs themselves: no hashes needed.
    let block = score_dataset(bundle, ds, false)?;
    for note in &block.notes {
        ui.info(note);
    }
    warn_unseen(ui, &block.data_file, &block.unseen);
    ranker.push(block.ids, block.probs, Vec::new())?;
    Ok(block.id_name)
}

fn warn_unseen(ui: &Ui, file: &str, unseen: &std::collections::BTreeMap<String, usize>) {
    for (feature, n) in unseen {
        ui.warn(format!(
            "{file}: {n} patients have a `{feature}` level the model never saw in training; scored as all-zeros for it"
        ));
    }
}

/// Scores files block by block in bounded memory when both list the same
/// patients in the same order (or there is no genotype file). `Ok(None)`
/// means: use [`score_whole`] instead (files that cannot be streamed, and
/// any problem in them, which the whole-file read reports with the file's
/// own line numbers); an error is the ranking's own (its temporary files).
fn stream(
    bundle: &Bundle,
    input: &InputArgs,
    opts: &ReadOptions,
    batch: usize,
    mut ranker: Ranker,
    ui: &Ui,
) -> Result<Option<(Ranked, String, u64)>> {
    use crate::data::chunks::LineBlocks;
    use std::collections::BTreeMap;

    if input.data == "-" {
        return Ok(None);
    }
    if let Some(g) = &input.genotypes {
        let l = g.to_ascii_lowercase();
        if g == "-" || l.ends_with(".vcf") || l.ends_with(".vcf.gz") {
            return Ok(None);
        }
    }
    let Ok(mut data) = LineBlocks::open(&input.data) else {
        return Ok(None);
    };
    let Ok(mut geno) = input.genotypes.as_deref().map(LineBlocks::open).transpose() else {
        return Ok(None);
    };
    let mut notes: Vec<String> = Vec::new();
    let mut unseen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut id_name, mut data_file, mut geno_file) = (String::new(), String::new(), None);
    // Groups of blocks (one per thread) are parsed and scored side by side
    // while the next group is read; results are appended in file order.
    let in_flight = rayon::current_num_threads().max(1);
    let mut next = read_group(&mut data, &mut geno, batch, in_flight);
    loop {
        let Ok(Some(group)) = next else {
            return Ok(None);
        };
        if group.is_empty() {
            break;
        }
        let (read, scored) = rayon::join(
            || read_group(&mut data, &mut geno, batch, in_flight),
            || {
                group
                    .into_par_iter()
                    .map(|(db, gb)| score_block(bundle, db.loaded, gb.map(|b| b.loaded), opts))
                    .collect::<Vec<_>>()
            },
        );
        for block in scored {
            let Ok(Some(block)) = block else {
                return Ok(None);
            };
            for note in block.notes {
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            for (feature, n) in block.unseen {
                *unseen.entry(feature).or_insert(0) += n;
            }
            ranker.push(block.ids, block.probs, block.hashes)?;
            if ranker.has_duplicate() {
                return Ok(None); // a repeated ID (or hash): let the full read report it
            }
            id_name = block.id_name;
            data_file = block.data_file;
            geno_file = block.geno_file;
        }
        next = read;
    }
    if ranker.is_empty() {
        return Ok(None);
    }
    let n = ranker.len();
    let Some(ranked) = ranker.finish()? else {
        return Ok(None); // a repeated ID (or hash): let the full read report it
    };
    if let Some(g) = geno_file {
        ui.info(format!(
            "joined on `{id_name}`: {} patients in both files, 0 only in {data_file}, 0 only in {g} (streamed in blocks of {batch} rows)",
            n
        ));
    }
    for note in notes {
        ui.info(note);
    }
    warn_unseen(ui, &data_file, &unseen);
    Ok(Some((ranked, id_name, n)))
}

/// The next `n` blocks of the data file and of the genotype file (aligned
/// line for line); empty at the end of both, `None` when the files cannot
/// be streamed (a quoted field, or one file longer than the other).
fn read_group(
    data: &mut crate::data::chunks::LineBlocks,
    geno: &mut Option<crate::data::chunks::LineBlocks>,
    batch: usize,
    n: usize,
) -> Result<Option<Vec<BlockPair>>> {
    let mut group = Vec::with_capacity(n);
    while group.len() < n {
        let Some(db) = data.next_block(batch)? else {
            if let Some(g) = geno.as_mut() {
                if g.next_block(1)?.is_some() {
                    return Ok(None); // genotype file has more patients
                }
            }
            break;
        };
        let gb = match geno.as_mut() {
            Some(g) => match g.next_block(batch)? {
                Some(b) => Some(b),
                None => return Ok(None),
            },
            None => None,
        };
        if db.has_quotes || gb.as_ref().is_some_and(|b| b.has_quotes) {
            return Ok(None);
        }
        group.push((db, gb));
    }
    Ok(Some(group))
}

/// A block of the data file and the matching block of the genotype file.
type BlockPair = (
    crate::data::chunks::Block,
    Option<crate::data::chunks::Block>,
);

/// Scored patients: one streamed block, or a whole file.
struct ScoredBlock {
    ids: TextColumn,
    probs: Vec<Vec<f64>>,
    /// ID hashes for the duplicate check (empty when not asked for).
    hashes: Vec<u64>,
    unseen: std::collections::BTreeMap<String, usize>,
    notes: Vec<String>,
    id_name: String,
    data_file: String,
    geno_file: Option<String>,
}

/// Parses, joins and scores one block; `Ok(None)` when the two files do not
/// list the same patients in the same order here.
fn score_block(
    bundle: &Bundle,
    data: crate::data::Loaded,
    geno: Option<crate::data::Loaded>,
    opts: &ReadOptions,
) -> Result<Option<ScoredBlock>> {
    let ds = Dataset::from_loaded(data, geno, opts)?;
    if let Some(j) = ds.join {
        let aligned = j.only_data == 0
            && j.only_genotypes == 0
            && ds
                .data_rows
                .iter()
                .zip(&ds.genotype_rows)
                .all(|(a, b)| a == b);
        if !aligned {
            return Ok(None);
        }
    }
    score_dataset(bundle, ds, true).map(Some)
}

/// Prepares the genotypes of a joined data set, builds the model inputs and
/// predicts every arm; with `hash`, also hashes the IDs.
fn score_dataset(bundle: &Bundle, mut ds: Dataset, hash: bool) -> Result<ScoredBlock> {
    let notes = bundle.prepare_genotypes(&mut ds)?;
    let frame = Frame::from_schema_taking(&mut ds, &bundle.features)?;
    let rows: Vec<usize> = (0..ds.n_rows()).collect();
    let (probs, unseen) = predict_all(bundle, &frame, &rows)?;
    let ids: TextColumn = (0..ds.n_rows()).map(|i| ds.id(i)).collect();
    let hashes = if hash {
        ids.iter().map(id_hash).collect()
    } else {
        Vec::new()
    };
    Ok(ScoredBlock {
        ids,
        hashes,
        probs,
        unseen,
        notes,
        id_name: ds.id_name().to_string(),
        data_file: ds.data.file.clone(),
        geno_file: ds.genotypes.as_ref().map(|g| g.file.clone()),
    })
}

/// Appends `v` with six decimals, exactly as `format!("{v:.6}")`: numbers
/// from 0 to 1 not within 1e-6 of a rounding tie (all but a few in a
/// million) are rounded as integers, the rest go through the formatter.
fn push_fixed6(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    const _: () = assert!(DECIMALS == 6);
    if v.is_sign_positive() && v <= 1.0 {
        // v * 1e6 is within 1.2e-10 of the exact product, so away from a
        // tie both round the same way.
        let x = v * 1e6;
        if (x - x.floor() - 0.5).abs() > 1e-6 {
            let m = x.round() as u32; // 0 ..= 1_000_000
            out.push(char::from(b'0' + (m / 1_000_000) as u8));
            out.push('.');
            let mut div = 100_000;
            while div > 0 {
                out.push(char::from(b'0' + ((m / div) % 10) as u8));
                div /= 10;
            }
            return;
        }
    }
    let _ = write!(out, "{v:.DECIMALS$}");
}

/// Writes the ranked CSV, formatting the lines of each batch in parallel
/// and writing them in rank order.
fn write_csv(sink: &mut Sink, ranked: Ranked, shape: Shape) -> Result<()> {
    use crate::report::table::csv_field;
    use std::fmt::Write as _;
    let (id_name, arms, multi, min_advantage) = shape;
    sink.write_text(&render_csv(&header(id_name, arms, multi), &[]))?;
    let num = |v: f64, out: &mut String| {
        if v.is_finite() {
            out.push(',');
            push_fixed6(out, v);
        } else {
            out.push_str(",NA");
        }
    };
    const CHUNK: usize = 4096;
    let group_rows = CHUNK * rayon::current_num_threads().max(1) * 2;
    let mut first_rank = 1;
    ranked.for_each_batch(group_rows, |ids, probs, group| {
        let texts: Vec<String> = group
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, rows)| {
                let mut out = String::with_capacity(rows.len() * 48);
                let mut p = vec![0.0; probs.len()];
                for (k, &i) in rows.iter().enumerate() {
                    let i = i as usize;
                    for (a, pa) in probs.iter().enumerate() {
                        p[a] = pa[i];
                    }
                    let rank = first_rank + c * CHUNK + k;
                    let _ = write!(out, "{rank},{}", csv_field(ids.get(i)));
                    for &v in &p {
                        num(v, &mut out);
                    }
                    if multi {
                        let (best, advantage) = best_and_advantage(&p);
                        out.push(',');
                        out.push_str(&csv_field(best_label(best, advantage, arms, min_advantage)));
                        num(advantage, &mut out);
                    }
                    out.push('\n');
                }
                out
            })
            .collect();
        first_rank += group.len();
        for text in texts {
            sink.write_text(&text)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_six_decimals_match_the_formatter() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut values = vec![0.0, 1.0, 0.5, 1e-7, 5e-7, 0.9999995, 0.1234565, 2.5e-7];
        for k in 0..1_000_000u64 {
            values.push(k as f64 / 1e6 + 5e-7); // at or next to a tie
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            values.push((rng >> 11) as f64 / (1u64 << 53) as f64);
        }
        values.extend([-0.0, -0.25, 1.5, 123.456_789_5]);
        for v in values {
            let mut s = String::new();
            super::push_fixed6(&mut s, v);
            assert_eq!(s, format!("{v:.6}"), "{v:e}");
        }
    }
}
