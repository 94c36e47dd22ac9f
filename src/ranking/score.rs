//! Scoring files with a bundle into a ranking: streamed block by block in
//! bounded memory when the files allow it, else read whole.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::bundle::Bundle;
use crate::data::chunks::{Block, LineBlocks};
use crate::data::{Dataset, GenotypeInput, Loaded, ReadOptions, TextColumn};
use crate::error::{Error, Result};
use crate::eval::apply::{predict_all, replicate_sds};
use crate::features::pipeline::Unusual;
use crate::features::Frame;
use crate::notes::Notes;
use crate::ranking::indexed::{self, BedIndex, GenotypeIndex, TableIndex};
use crate::ranking::spill::{id_hash, Ranked, Ranker};

/// The files to score (a validated configuration).
#[derive(Debug, Clone)]
pub(crate) struct ScoreFiles {
    /// The clinical file (`-` for stdin).
    pub(crate) data: String,
    /// The genotype file, if any.
    pub(crate) genotypes: Option<String>,
    /// The ID column and delimiters.
    pub(crate) read: ReadOptions,
    /// Rows read, joined and scored at a time when streaming.
    pub(crate) batch_rows: usize,
    /// Append, after the arms' probabilities, the bootstrap SD of every
    /// pair of arms' difference (see [`replicate_sds`]).
    pub(crate) intervals: bool,
}

/// A finished ranking: the ranked patients, the ID column's name and the
/// number of patients scored.
pub(crate) struct Scored {
    /// The ranking.
    pub(crate) ranked: Ranked,
    /// The ID column's name.
    pub(crate) id_name: String,
    /// Patients scored.
    pub(crate) n: u64,
}

/// Ranks patients whose IDs are known to be distinct.
fn finished(r: Ranker, id_name: String) -> Result<Scored> {
    let n = r.len();
    let ranked = r.finish()?.ok_or_else(|| {
        Error::Fit("internal: the ranking found a repeated ID after the duplicate check".into())
    })?;
    Ok(Scored { ranked, id_name, n })
}

/// Ranks the bundle's cross-fitted predictions of its training patients.
pub(crate) fn rank_cross_fitted(
    bundle: &Bundle,
    mut ranker: Ranker,
    model: &str,
) -> Result<Scored> {
    let cf = bundle.cross_fitted_or_error(model)?;
    ranker.push(
        cf.ids.iter().collect::<TextColumn>(),
        cf.p.clone(),
        Vec::new(),
    )?;
    finished(ranker, bundle.id_column.clone())
}

/// Scores `files` with `bundle` and ranks the patients; `ranker` makes an
/// empty ranking. Streams when the files allow it (see [`stream`]), else
/// reads them whole.
pub(crate) fn score_files(
    bundle: &Bundle,
    files: &ScoreFiles,
    ranker: impl Fn() -> Ranker,
    notes: &mut Notes,
) -> Result<Scored> {
    let why = match stream(bundle, files, ranker(), notes, false)? {
        Streamed::Done(done) => return Ok(done),
        Streamed::Fallback(why) => why,
        // A genotype file in its own order: joined through an index of it.
        Streamed::Misaligned => match stream(bundle, files, ranker(), notes, true)? {
            Streamed::Done(done) => return Ok(done),
            Streamed::Fallback(why) => why,
            Streamed::Misaligned => "the two files do not list the same patients".into(),
        },
    };
    // Not streamable, or a problem in a block: read whole files, which also
    // gives the exact error with the file's own line numbers.
    notes.info(format!(
        "reading whole files (memory grows with the number of patients): {why}"
    ));
    let mut r = ranker();
    let ds = Dataset::load(&files.data, files.genotypes.as_deref(), &files.read)?;
    if let Some(msg) = ds.join_message() {
        notes.info(msg);
    }
    // Dataset::load has checked the IDs themselves: no hashes needed.
    let block = score_dataset(bundle, ds, false, files.intervals)?;
    for note in &block.notes {
        notes.info(note.clone());
    }
    warn_unseen(notes, &block.data_file, &block.unseen);
    r.push(block.ids, block.probs, Vec::new())?;
    finished(r, block.id_name)
}

fn warn_unseen(notes: &mut Notes, file: &str, unseen: &BTreeMap<Unusual, usize>) {
    for (what, n) in unseen {
        notes.warn(what.warning(file, *n));
    }
}

/// What the streamed blocks have told so far.
#[derive(Default)]
struct StreamState {
    notes: Vec<String>,
    unseen: BTreeMap<Unusual, usize>,
    id_name: String,
    data_file: String,
    geno_file: Option<String>,
}

impl StreamState {
    /// Adds the notes not already there.
    fn absorb_notes(&mut self, notes: &[String]) {
        for note in notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
    }

    fn absorb(&mut self, block: &mut ScoredBlock) {
        self.absorb_notes(&std::mem::take(&mut block.notes));
        for (feature, n) in std::mem::take(&mut block.unseen) {
            *self.unseen.entry(feature).or_insert(0) += n;
        }
        self.id_name = std::mem::take(&mut block.id_name);
        self.data_file = std::mem::take(&mut block.data_file);
        self.geno_file = block.geno_file.take();
    }
}

/// The outcome of trying to stream.
enum Streamed {
    /// Every patient scored and ranked.
    Done(Scored),
    /// Read whole files instead, for this reason.
    Fallback(String),
    /// The genotype file lists the patients in another order.
    Misaligned,
}

/// Where the genotype blocks come from.
enum Genotypes {
    /// No genotype file.
    None,
    /// Blocks of the genotype file, line for line with the data file's.
    Aligned(LineBlocks),
    /// Lines of an indexed genotype file, picked for each data block.
    Indexed(GenotypeIndex),
    /// Samples of a PLINK 1 fileset (its needed SNPs held packed).
    Bed(BedIndex),
    /// Samples of a VCF or BCF (its needed SNPs held parsed).
    Table(Box<TableIndex>),
}

/// True when the file (decompressed) starts as a VCF or a BCF does,
/// whatever its name.
fn is_variant_file(path: &str) -> bool {
    use std::io::Read;
    let Ok((input, _)) = crate::data::vcf_filter::open_inflated(path) else {
        return false;
    };
    let mut start = Vec::with_capacity(6);
    let read = input.take(6).read_to_end(&mut start);
    read.is_ok() && (crate::data::bcf::is_bcf(&start) || crate::data::vcf::is_vcf(&start))
}

/// The two files as line blocks (the genotype file indexed with
/// `indexed`), or why they cannot be streamed.
fn open_streams(
    bundle: &Bundle,
    files: &ScoreFiles,
    indexed: bool,
) -> Result<std::result::Result<(LineBlocks, Genotypes), String>> {
    if files.data == "-" {
        return Ok(Err("the data come from stdin".into()));
    }
    if let Some(g) = &files.genotypes {
        let l = g.to_ascii_lowercase();
        if g == "-" {
            return Ok(Err("the genotypes come from stdin".into()));
        }
        if l.ends_with(".vcf")
            || l.ends_with(".vcf.gz")
            || l.ends_with(".bcf")
            || is_variant_file(g)
        {
            let data = match LineBlocks::open(&files.data) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e.to_string())),
            };
            return Ok(
                TableIndex::build(g, &files.read, bundle.genotypes.as_ref())?
                    .map(|i| (data, Genotypes::Table(Box::new(i)))),
            );
        }
        let bed = crate::data::bed::resolve(g)
            .filter(|b| b.exists() && crate::data::bed::looks_like_bed(b));
        if let Some(bed) = bed {
            let Some(keep) = files.read.genotype_snps.as_deref() else {
                return Ok(Err("the model names no SNP".into()));
            };
            let model = bundle
                .genotypes
                .as_ref()
                .map(|m| (m, files.read.keep_ambiguous));
            let data = match LineBlocks::open(&files.data) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e.to_string())),
            };
            // A fileset that cannot be read: the whole-file read reports it.
            return Ok(BedIndex::build(&bed, keep, model)?.map(|i| (data, Genotypes::Bed(i))));
        }
    }
    let data = match LineBlocks::open(&files.data) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let geno = match (&files.genotypes, indexed) {
        (None, _) => Genotypes::None,
        (Some(g), false) => match LineBlocks::open(g) {
            Ok(b) => Genotypes::Aligned(b),
            Err(e) => return Ok(Err(e.to_string())),
        },
        (Some(g), true) => match GenotypeIndex::build(g, &files.read)? {
            Ok(i) => Genotypes::Indexed(i),
            Err(why) => return Ok(Err(why)),
        },
    };
    Ok(Ok((data, geno)))
}

/// Scores files block by block in bounded memory when both list the same
/// patients in the same order (or there is no genotype file). `Ok(None)`
/// means: read whole files instead (files that cannot be streamed, and any
/// problem in them, which the whole-file read reports with the file's own
/// line numbers); an error is the ranking's own (its temporary files).
fn stream(
    bundle: &Bundle,
    files: &ScoreFiles,
    mut ranker: Ranker,
    notes: &mut Notes,
    indexed: bool,
) -> Result<Streamed> {
    let (mut data, mut geno) = match open_streams(bundle, files, indexed)? {
        Ok(s) => s,
        Err(why) => return Ok(Streamed::Fallback(why)),
    };
    let with_freqs = match whole_file_frequencies(bundle, files, &geno)? {
        Ok(f) => f,
        Err(why) => return Ok(Streamed::Fallback(why)),
    };
    let files = with_freqs.as_ref().unwrap_or(files);
    let mut only_data = 0usize;
    let batch = files.batch_rows;
    let mut state = StreamState::default();
    // Groups of blocks (one per thread) are parsed and scored side by side
    // while the next group is read; results are appended in file order.
    let in_flight = rayon::current_num_threads().max(1);
    let mut next = read_group(&mut data, &mut geno, batch, in_flight, &files.read);
    loop {
        let group = match next {
            Ok(Ok(group)) => group,
            Ok(Err(why)) => return Ok(Streamed::Fallback(why)),
            // A line too long or a read failure: reading whole would fail too.
            Err(e) => return Err(e),
        };
        if group.is_empty() {
            break;
        }
        only_data += group
            .iter()
            .filter_map(|p| p.missing.as_ref().map(|m| m.0))
            .sum::<usize>();
        // A block none of whose patients is in the genotype file is not
        // scored; its IDs are still checked against the parser's.
        if group
            .iter()
            .any(|p| p.empty && !ids_as_parsed(p, &files.read))
        {
            return Ok(Streamed::Fallback(UNCUT.into()));
        }
        let (read, scored) = rayon::join(
            || read_group(&mut data, &mut geno, batch, in_flight, &files.read),
            || {
                group
                    .into_par_iter()
                    .filter(|p| !p.empty)
                    .map(|p| score_block(bundle, p.data.loaded, p.geno, files, p.missing.as_ref()))
                    .collect::<Vec<_>>()
            },
        );
        let aligned = matches!(geno, Genotypes::Aligned(_));
        for block in scored {
            let mut block = match usable(block, aligned) {
                Ok(b) => b,
                Err(why) => return Ok(why.map_or(Streamed::Misaligned, Streamed::Fallback)),
            };
            state.absorb(&mut block);
            ranker.push(block.ids, block.probs, block.hashes)?;
            if ranker.has_duplicate() {
                return Ok(Streamed::Fallback("a patient ID appears twice".into()));
            }
        }
        next = read;
    }
    if ranker.is_empty() {
        return Ok(Streamed::Fallback("the file has no patients".into()));
    }
    let n = ranker.len();
    let Some(ranked) = ranker.finish()? else {
        return Ok(Streamed::Fallback("a patient ID appears twice".into()));
    };
    if let Some(note) = join_note(&state, &geno, n, only_data, batch) {
        notes.info(note);
    }
    if let Genotypes::Bed(index) = &geno {
        state.absorb_notes(&index.notes);
    }
    for note in state.notes {
        notes.info(note);
    }
    warn_unseen(notes, &state.data_file, &state.unseen);
    Ok(Streamed::Done(Scored {
        ranked,
        id_name: state.id_name,
        n,
    }))
}

/// A scored block, or what to do instead: with aligned blocks, a block
/// whose files list other patients (or none in common) sends `score` to
/// the index (`None`); otherwise to the whole-file read, for this reason,
/// which reports any problem with the file's own lines.
fn usable(
    block: Result<Option<ScoredBlock>>,
    aligned: bool,
) -> std::result::Result<ScoredBlock, Option<String>> {
    match block {
        Ok(Some(b)) => Ok(b),
        Ok(None) | Err(_) if aligned => Err(None),
        Ok(None) => Err(Some(
            "the genotype block picked by sample ID did not join as expected".into(),
        )),
        Err(_) => Err(Some("a problem was found in a block".into())),
    }
}

/// `files` with the frequencies of the bundle's palindromic SNPs over the
/// whole genotype file (`None` when the bundle keeps none), so that every
/// block tells a flip from a strand flip alike, as the whole-file read does;
/// the reason to read whole files when they cannot be had.
fn whole_file_frequencies(
    bundle: &Bundle,
    files: &ScoreFiles,
    geno: &Genotypes,
) -> Result<std::result::Result<Option<ScoreFiles>, String>> {
    let Some(g) = bundle
        .genotypes
        .as_ref()
        .filter(|g| !g.frequencies.is_empty())
    else {
        return Ok(Ok(None));
    };
    let snps: Vec<&str> = g.frequencies.keys().map(String::as_str).collect();
    let map = match (geno, &files.genotypes) {
        (Genotypes::Bed(index), _) => index.frequencies(&snps),
        (Genotypes::Table(index), _) => index.frequencies(&snps),
        (Genotypes::Aligned(_) | Genotypes::Indexed(_), Some(path)) => {
            match indexed::text_frequencies(path, &files.read, &snps)? {
                Some(m) => m,
                None => return Ok(Err("a block of the genotype file cannot be read".into())),
            }
        }
        _ => return Ok(Ok(None)),
    };
    let mut out = files.clone();
    out.read.palindrome_freqs = Some(std::sync::Arc::new(map));
    Ok(Ok(Some(out)))
}

/// The join's counts after streaming `n` patients.
fn join_note(
    state: &StreamState,
    geno: &Genotypes,
    n: u64,
    only_data: usize,
    batch: usize,
) -> Option<String> {
    let g = state.geno_file.as_ref()?;
    Some(match geno {
        Genotypes::Indexed(index) => format!(
            "joined on `{}`: {n} patients in both files, {only_data} only in {}, {} only in {g} (streamed in blocks of {batch} rows; {g} lists the patients in its own order and was indexed)",
            state.id_name,
            state.data_file,
            (index.len() as u64).saturating_sub(n)
        ),
        Genotypes::Bed(index) => format!(
            "joined on `{}`: {n} patients in both files, {only_data} only in {}, {} only in {g} (streamed in blocks of {batch} rows; the PLINK fileset's needed SNPs held packed, 2 bits a call)",
            state.id_name,
            state.data_file,
            (index.len() as u64).saturating_sub(n)
        ),
        Genotypes::Table(index) => format!(
            "joined on `{}`: {n} patients in both files, {only_data} only in {}, {} only in {g} (streamed in blocks of {batch} rows; the variant file's needed SNPs held parsed, 2 bits a hard call)",
            state.id_name,
            state.data_file,
            (index.len() as u64).saturating_sub(n)
        ),
        _ => format!(
            "joined on `{}`: {n} patients in both files, 0 only in {}, 0 only in {g} (streamed in blocks of {batch} rows)",
            state.id_name, state.data_file
        ),
    })
}

/// A genotype block, the data block's patients it lacks, and whether it
/// lacks them all.
type Picked = (Option<GenotypeInput>, Option<(usize, Vec<String>)>, bool);

const UNCUT: &str = "the data file's IDs cannot be cut from its lines simply";

const QUOTED: &str = "a quoted field goes on past a line end";

/// The genotype block `pick` makes for the IDs of data block `db`, how
/// many of them it lacks, and whether it lacks them all; `None` when the
/// IDs cannot be cut from the data block.
fn picked(
    db: &Block,
    read: &ReadOptions,
    pick: impl FnOnce(&[String]) -> Result<(GenotypeInput, usize)>,
) -> Result<Option<Picked>> {
    let Some(ids) = indexed::block_ids(&db.loaded, read) else {
        return Ok(None);
    };
    let (block, missing) = pick(&ids)?;
    let empty = missing == ids.len();
    Ok(Some((Some(block), Some((missing, ids)), empty)))
}

/// Whether the parser reads the IDs the index was asked for from a data
/// block (any parse error: no).
fn ids_as_parsed(p: &BlockPair, read: &ReadOptions) -> bool {
    let Some((_, ids)) = &p.missing else {
        return true;
    };
    let d = p.data.loaded.delimiter(read.delimiter);
    match crate::data::table::RawTable::parse(&p.data.loaded, d) {
        Ok(t) => t.find(&read.id).is_some_and(|c| {
            t.n_rows() == ids.len()
                && ids
                    .iter()
                    .enumerate()
                    .all(|(r, id)| t.columns[c].get(r) == id.as_str())
        }),
        Err(_) => false,
    }
}

/// A block of the data file and the matching block of the genotype file.
struct BlockPair {
    data: Block,
    geno: Option<GenotypeInput>,
    /// With an indexed genotype file: the data block's patients not in it,
    /// and the IDs cut from the data block.
    missing: Option<(usize, Vec<String>)>,
    /// None of the data block's patients is in the genotype file.
    empty: bool,
}

/// The next `n` blocks of the data file and of the genotype file (aligned
/// line for line, or picked from the index); empty at the end of both; the
/// reason when the files cannot be streamed (a quoted field across lines,
/// one file longer than the other, IDs that cannot be cut simply).
fn read_group(
    data: &mut LineBlocks,
    geno: &mut Genotypes,
    batch: usize,
    n: usize,
    read: &ReadOptions,
) -> Result<std::result::Result<Vec<BlockPair>, String>> {
    let longer = |f: &str| {
        Ok(Err(format!(
            "the {f} file lists more patients than the other"
        )))
    };
    let mut group = Vec::with_capacity(n);
    while group.len() < n {
        let Some(db) = data.next_block(batch)? else {
            if let Genotypes::Aligned(g) = geno {
                if g.next_block(1)?.is_some() {
                    return longer("genotype");
                }
            }
            break;
        };
        let text = |(l, n)| (GenotypeInput::Text(l), n);
        let (gb, missing, empty) = match geno {
            Genotypes::None => (None, None, false),
            Genotypes::Aligned(g) => match g.next_block(batch)? {
                Some(b) if b.open_quote => return Ok(Err(QUOTED.into())),
                Some(b) => (Some(GenotypeInput::Text(b.loaded)), None, false),
                None => return longer("data"),
            },
            Genotypes::Indexed(index) => match picked(&db, read, |ids| index.block(ids).map(text))?
            {
                Some(p) => p,
                None => return Ok(Err(UNCUT.into())),
            },
            Genotypes::Bed(index) => match picked(&db, read, |ids| Ok(index.block(ids)))? {
                Some(p) => p,
                None => return Ok(Err(UNCUT.into())),
            },
            Genotypes::Table(index) => match picked(&db, read, |ids| Ok(index.block(ids)))? {
                Some(p) => p,
                None => return Ok(Err(UNCUT.into())),
            },
        };
        if db.open_quote {
            return Ok(Err(QUOTED.into()));
        }
        group.push(BlockPair {
            data: db,
            geno: gb,
            missing,
            empty,
        });
    }
    Ok(Ok(group))
}

/// Scored patients: one streamed block, or a whole file.
struct ScoredBlock {
    ids: TextColumn,
    probs: Vec<Vec<f64>>,
    /// ID hashes for the duplicate check (empty when not asked for).
    hashes: Vec<u64>,
    unseen: BTreeMap<Unusual, usize>,
    notes: Vec<String>,
    id_name: String,
    data_file: String,
    geno_file: Option<String>,
}

/// Parses, joins and scores one block; `Ok(None)` when the two files do not
/// list the same patients in the same order here (aligned blocks), or when
/// the join does not find exactly the `missing` patients absent (a block
/// picked from an index).
fn score_block(
    bundle: &Bundle,
    data: Loaded,
    geno: Option<GenotypeInput>,
    files: &ScoreFiles,
    missing: Option<&(usize, Vec<String>)>,
) -> Result<Option<ScoredBlock>> {
    let ds = Dataset::from_loaded(data, geno, &files.read)?;
    if let Some(j) = ds.join {
        let expected = match missing {
            // The IDs the index was asked for are the parser's, row by row.
            Some((m, ids)) => {
                j.only_genotypes == 0
                    && j.only_data == *m
                    && ds.data.n_rows() == ids.len()
                    && ids
                        .iter()
                        .enumerate()
                        .all(|(r, id)| ds.data.columns[ds.id_col].get(r) == id.as_str())
            }
            None => {
                j.only_data == 0
                    && j.only_genotypes == 0
                    && ds
                        .data_rows
                        .iter()
                        .zip(&ds.genotype_rows)
                        .all(|(a, b)| a == b)
            }
        };
        if !expected {
            return Ok(None);
        }
    }
    score_dataset(bundle, ds, true, files.intervals).map(Some)
}

/// Prepares the genotypes of a joined data set, builds the model inputs and
/// predicts every arm; with `hash`, also hashes the IDs; with `intervals`,
/// appends the replicates' SD of every pair of arms' difference.
fn score_dataset(
    bundle: &Bundle,
    mut ds: Dataset,
    hash: bool,
    intervals: bool,
) -> Result<ScoredBlock> {
    let notes = bundle.prepare_genotypes(&mut ds)?;
    let frame = Frame::from_schema_taking(&mut ds, &bundle.features)?;
    let rows: Vec<usize> = (0..ds.n_rows()).collect();
    let (mut probs, unseen) = predict_all(bundle, &frame, &rows)?;
    if intervals {
        probs.extend(replicate_sds(bundle, &frame, &rows)?);
    }
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
