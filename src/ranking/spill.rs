//! Ranking any number of scored patients in bounded memory.
//!
//! Patients arrive in input order, a block at a time. Up to `spill_rows` of
//! them are held in memory; beyond that each such run is sorted (highest
//! probability first, ties in input order), cut to `--top` when given, and
//! written to an unnamed temporary file. The ranked output is then a k-way
//! merge of the runs. The duplicate-ID check works the same way on sorted
//! runs of 64-bit ID hashes, so no set of every ID is ever kept.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::data::TextColumn;
use crate::error::{Error, Result};
use crate::ranking::best::best_and_advantage;

/// Patients held in memory before a sorted run is written to disk.
pub(crate) const DEFAULT_SPILL_ROWS: usize = 1_000_000;

/// Bytes of the in-memory run (IDs, probabilities, hashes and the sort
/// index) beyond which it is written out even with fewer rows.
const SPILL_BYTES: usize = 128 << 20;

/// Read-buffer memory shared by all runs during the merge.
const MERGE_BUFFER_BYTES: usize = 32 << 20;

/// The 64-bit hash of a patient ID used by the duplicate check: SipHash
/// with fixed keys (well mixed: structured IDs such as `R1P000123` do not
/// collide, which the quicker multiply-rotate hash of the ID index did).
pub(crate) fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Collects scored patients and ranks them.
pub(crate) struct Ranker {
    /// Columns per patient: the arms' probabilities, then any extra values.
    arms: usize,
    /// The leading columns that are arms' probabilities (ranked on).
    keyed: usize,
    by: Option<usize>,
    top: Option<usize>,
    spill_rows: usize,
    dir: PathBuf,
    ids: TextColumn,
    probs: Vec<Vec<f64>>,
    hashes: Vec<u64>,
    first_row: u64,
    runs: Vec<File>,
    hash_runs: Vec<File>,
    duplicate: bool,
}

/// The ranked patients, ready to be written in rank order.
pub(crate) enum Ranked {
    /// Everything fitted in memory: `order` lists the shown rows.
    Memory {
        /// Patient IDs in input order.
        ids: TextColumn,
        /// `probs[a][i]`: patient `i`'s probability under arm `a`.
        probs: Vec<Vec<f64>>,
        /// Rows in rank order (cut to `--top`).
        order: Vec<u32>,
    },
    /// Sorted runs on disk, merged while writing.
    Runs {
        /// The run files, each positioned at its start.
        runs: Vec<File>,
        /// The folder they are in (for messages).
        dir: PathBuf,
        /// Number of arms.
        arms: usize,
        /// How many ranked patients to show.
        shown: u64,
    },
}

impl Ranker {
    /// A ranker for `arms` arms, ranking by arm `by` (else each patient's
    /// best arm), keeping the first `top` when given; runs beyond
    /// `spill_rows` patients go to temporary files in `dir`.
    pub(crate) fn new(
        arms: usize,
        by: Option<usize>,
        top: Option<usize>,
        spill_rows: usize,
        dir: &Path,
    ) -> Ranker {
        Ranker {
            arms,
            keyed: arms,
            by,
            top,
            spill_rows: spill_rows.max(1),
            dir: dir.to_path_buf(),
            ids: TextColumn::default(),
            probs: vec![Vec::new(); arms],
            hashes: Vec::new(),
            first_row: 0,
            runs: Vec::new(),
            hash_runs: Vec::new(),
            duplicate: false,
        }
    }

    /// Carries `extra` more values per patient after the arms'
    /// probabilities (written out, never ranked on).
    pub(crate) fn with_extra(mut self, extra: usize) -> Ranker {
        self.arms = self.keyed + extra;
        self.probs = vec![Vec::new(); self.arms];
        self
    }

    /// Patients received so far.
    pub(crate) fn len(&self) -> u64 {
        self.first_row + self.ids.len() as u64
    }

    /// True before any patient is received.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether two patients so far have IDs with the same hash (the caller
    /// then checks the IDs themselves).
    pub(crate) fn has_duplicate(&self) -> bool {
        self.duplicate
    }

    /// Adds a block of patients in input order: their IDs, probabilities
    /// per arm and ID hashes ([`id_hash`]; empty when the IDs are known to
    /// be distinct). The in-memory run is written out first when the block
    /// would take it past `spill_rows` patients (or about 128 MB); a block
    /// arriving at an empty run is kept as it is (no copy).
    pub(crate) fn push(
        &mut self,
        ids: TextColumn,
        probs: Vec<Vec<f64>>,
        hashes: Vec<u64>,
    ) -> Result<()> {
        if ids.len() > u32::MAX as usize {
            return Err(Error::usage(
                "more than 4,294,967,295 patients in one block: use a smaller --batch-rows",
            ));
        }
        let rows = self.ids.len() + ids.len();
        let bytes = self.ids.text_len() + ids.text_len() + rows * (8 * self.arms + 36);
        if rows > self.spill_rows || bytes > SPILL_BYTES {
            self.spill()?;
        }
        if self.ids.is_empty() {
            self.ids = ids;
            self.probs = probs;
            self.hashes = hashes;
        } else {
            self.ids.append(&ids);
            for (all, part) in self.probs.iter_mut().zip(probs) {
                all.extend(part);
            }
            self.hashes.extend(hashes);
        }
        Ok(())
    }

    /// The in-memory run's rows with their keys, highest key first, ties in
    /// input order, cut to `--top`.
    fn order(&self) -> Vec<(f64, u32)> {
        let n = self.ids.len();
        let mut p = vec![0.0; self.arms];
        let mut keyed: Vec<(f64, u32)> = Vec::with_capacity(n);
        for i in 0..n {
            for (a, pa) in self.probs.iter().enumerate() {
                p[a] = pa[i];
            }
            let key = match self.by {
                Some(a) => p[a],
                None => p[best_and_advantage(&p[..self.keyed]).0],
            };
            keyed.push((key, i as u32));
        }
        keyed.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let keep = self.top.unwrap_or(n).min(n);
        keyed.truncate(keep);
        keyed
    }

    /// Sorts the run's ID hashes and notes a repeat.
    fn sorted_hashes(&mut self) -> Vec<u64> {
        let mut h = std::mem::take(&mut self.hashes);
        h.par_sort_unstable();
        if h.windows(2).any(|w| w[0] == w[1]) {
            self.duplicate = true;
        }
        h
    }

    fn temp_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            action: "cannot write a temporary ranking file in",
            path: self.dir.clone(),
            source,
        }
    }

    /// Writes the in-memory run, sorted, to temporary files.
    fn spill(&mut self) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let order = self.order();
        let hashes = self.sorted_hashes();
        let run = self.write_run(&order).map_err(|e| self.temp_error(e))?;
        self.runs.push(run);
        let hash_run = self.write_hashes(&hashes).map_err(|e| self.temp_error(e))?;
        self.hash_runs.push(hash_run);
        self.first_row += self.ids.len() as u64;
        self.ids = TextColumn::default();
        self.probs = vec![Vec::new(); self.arms];
        Ok(())
    }

    /// One record per ranked row: key, input row, probabilities, ID.
    fn write_run(&self, order: &[(f64, u32)]) -> std::io::Result<File> {
        let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(&self.dir)?);
        for &(key, i) in order {
            let i = i as usize;
            let id = self.ids.get(i).as_bytes();
            w.write_all(&key.to_le_bytes())?;
            w.write_all(&(self.first_row + i as u64).to_le_bytes())?;
            for pa in &self.probs {
                w.write_all(&pa[i].to_le_bytes())?;
            }
            w.write_all(&(id.len() as u64).to_le_bytes())?;
            w.write_all(id)?;
        }
        rewind(w)
    }

    fn write_hashes(&self, hashes: &[u64]) -> std::io::Result<File> {
        let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(&self.dir)?);
        for h in hashes {
            w.write_all(&h.to_le_bytes())?;
        }
        rewind(w)
    }

    /// Ranks everything received. `Ok(None)` when two IDs share a hash.
    pub(crate) fn finish(mut self) -> Result<Option<Ranked>> {
        if self.runs.is_empty() {
            self.sorted_hashes();
            if self.duplicate {
                return Ok(None);
            }
            let order = self.order().into_iter().map(|(_, i)| i).collect();
            return Ok(Some(Ranked::Memory {
                ids: self.ids,
                probs: self.probs,
                order,
            }));
        }
        self.spill()?;
        if self.duplicate || self.merged_hashes_repeat()? {
            return Ok(None);
        }
        let total = self.first_row;
        Ok(Some(Ranked::Runs {
            dir: self.dir.clone(),
            runs: self.runs,
            arms: self.arms,
            shown: self.top.map_or(total, |k| (k as u64).min(total)),
        }))
    }

    /// Merges the sorted hash runs and reports whether a hash repeats.
    fn merged_hashes_repeat(&mut self) -> Result<bool> {
        let cap = buffer_size(self.hash_runs.len());
        let mut readers: Vec<BufReader<File>> = std::mem::take(&mut self.hash_runs)
            .into_iter()
            .map(|f| BufReader::with_capacity(cap, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (r, reader) in readers.iter_mut().enumerate() {
            if let Some(h) = read_u64(reader).map_err(|e| self.temp_error(e))? {
                heap.push(std::cmp::Reverse((h, r)));
            }
        }
        let mut last: Option<u64> = None;
        while let Some(std::cmp::Reverse((h, r))) = heap.pop() {
            if last == Some(h) {
                return Ok(true);
            }
            last = Some(h);
            if let Some(next) = read_u64(&mut readers[r]).map_err(|e| self.temp_error(e))? {
                heap.push(std::cmp::Reverse((next, r)));
            }
        }
        Ok(false)
    }
}

/// Flushes a run's writer and returns its file positioned at the start.
fn rewind(w: BufWriter<File>) -> std::io::Result<File> {
    let mut f = w.into_inner().map_err(|e| e.into_error())?;
    f.rewind()?;
    Ok(f)
}

fn buffer_size(runs: usize) -> usize {
    (MERGE_BUFFER_BYTES / runs.max(1)).clamp(8 << 10, 1 << 20)
}

fn read_u64(r: &mut impl Read) -> std::io::Result<Option<u64>> {
    let mut b = [0u8; 8];
    match r.read_exact(&mut b) {
        Ok(()) => Ok(Some(u64::from_le_bytes(b))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// One patient read back from a run.
struct Record {
    key: f64,
    row: u64,
    probs: Vec<f64>,
    id: String,
    run: usize,
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Record {}
impl PartialOrd for Record {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Record {
    /// Greater = ranked first: higher key, then earlier row.
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .total_cmp(&other.key)
            .then(other.row.cmp(&self.row))
    }
}

fn read_record(r: &mut impl Read, arms: usize, run: usize) -> std::io::Result<Option<Record>> {
    let Some(key) = read_u64(r)? else {
        return Ok(None);
    };
    let mut b8 = [0u8; 8];
    r.read_exact(&mut b8)?;
    let row = u64::from_le_bytes(b8);
    let mut probs = Vec::with_capacity(arms);
    for _ in 0..arms {
        r.read_exact(&mut b8)?;
        probs.push(f64::from_le_bytes(b8));
    }
    r.read_exact(&mut b8)?;
    let len = usize::try_from(u64::from_le_bytes(b8))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut id = vec![0u8; len];
    r.read_exact(&mut id)?;
    let id = String::from_utf8(id)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(Some(Record {
        key: f64::from_bits(key),
        row,
        probs,
        id,
        run,
    }))
}

impl Ranked {
    /// Number of patients that will be shown.
    pub(crate) fn shown(&self) -> usize {
        match self {
            Ranked::Memory { order, .. } => order.len(),
            Ranked::Runs { shown, .. } => *shown as usize,
        }
    }

    /// Calls `f(ids, probs, rows)` on consecutive batches of at most
    /// `batch` ranked patients, in rank order: `rows` index `ids` and
    /// `probs[a]`.
    pub(crate) fn for_each_batch(
        self,
        batch: usize,
        mut f: impl FnMut(&TextColumn, &[Vec<f64>], &[u32]) -> Result<()>,
    ) -> Result<()> {
        let batch = batch.max(1);
        match self {
            Ranked::Memory { ids, probs, order } => {
                for rows in order.chunks(batch) {
                    f(&ids, &probs, rows)?;
                }
                Ok(())
            }
            Ranked::Runs {
                runs,
                dir,
                arms,
                shown,
            } => {
                let io = |source| Error::Io {
                    action: "cannot read a temporary ranking file in",
                    path: dir.clone(),
                    source,
                };
                let cap = buffer_size(runs.len());
                let mut readers: Vec<BufReader<File>> = runs
                    .into_iter()
                    .map(|f| BufReader::with_capacity(cap, f))
                    .collect();
                let mut heap = BinaryHeap::with_capacity(readers.len());
                for (r, reader) in readers.iter_mut().enumerate() {
                    if let Some(rec) = read_record(reader, arms, r).map_err(io)? {
                        heap.push(rec);
                    }
                }
                let identity: Vec<u32> = (0..batch as u32).collect();
                let mut left = shown;
                while left > 0 {
                    let mut ids = TextColumn::default();
                    let mut probs = vec![Vec::with_capacity(batch); arms];
                    while ids.len() < batch && left > 0 {
                        let Some(rec) = heap.pop() else {
                            left = 0;
                            break;
                        };
                        ids.push(&rec.id);
                        for (all, p) in probs.iter_mut().zip(&rec.probs) {
                            all.push(*p);
                        }
                        left -= 1;
                        if let Some(next) =
                            read_record(&mut readers[rec.run], arms, rec.run).map_err(io)?
                        {
                            heap.push(next);
                        }
                    }
                    if ids.is_empty() {
                        break;
                    }
                    f(&ids, &probs, &identity[..ids.len()])?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ids: &[&str]) -> TextColumn {
        ids.iter().copied().collect()
    }

    /// Ranks `n` patients pushed in blocks of `block`, spilling every
    /// `spill` rows; returns (id, probs) in rank order.
    fn ranked(
        n: usize,
        arms: usize,
        block: usize,
        spill: usize,
        by: Option<usize>,
        top: Option<usize>,
    ) -> Vec<(String, Vec<f64>)> {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Ranker::new(arms, by, top, spill, dir.path());
        let ids: Vec<String> = (0..n).map(|i| format!("P{i}")).collect();
        // Many ties: probabilities on a coarse grid.
        let p = |i: usize, a: usize| ((i * 7 + a * 3) % 11) as f64 / 10.0;
        for start in (0..n).step_by(block) {
            let end = (start + block).min(n);
            let col = column(
                &ids[start..end]
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            );
            let probs: Vec<Vec<f64>> = (0..arms)
                .map(|a| (start..end).map(|i| p(i, a)).collect())
                .collect();
            let hashes: Vec<u64> = ids[start..end].iter().map(|s| id_hash(s)).collect();
            r.push(col, probs, hashes).unwrap();
        }
        let mut out = Vec::new();
        r.finish()
            .unwrap()
            .unwrap()
            .for_each_batch(4, |ids, probs, rows| {
                for &i in rows {
                    let i = i as usize;
                    out.push((ids.get(i).to_string(), probs.iter().map(|a| a[i]).collect()));
                }
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn spilled_runs_merge_to_the_in_memory_order() {
        for (arms, by, top) in [
            (1, None, None),
            (3, None, None),
            (3, Some(2), None),
            (2, None, Some(5)),
            (2, Some(0), Some(40)),
        ] {
            let whole = ranked(37, arms, 37, 1_000, by, top);
            // The same order as the in-memory reference ranking.
            let ids: Vec<String> = (0..37).map(|i| format!("P{i}")).collect();
            let probs: Vec<Vec<f64>> = (0..arms)
                .map(|a| {
                    (0..37)
                        .map(|i| ((i * 7 + a * 3) % 11) as f64 / 10.0)
                        .collect()
                })
                .collect();
            let reference: Vec<(String, Vec<f64>)> = crate::ranking::best::rank(&ids, &probs, by)
                .into_iter()
                .take(top.unwrap_or(37))
                .map(|r| (r.id, r.probs))
                .collect();
            assert_eq!(whole, reference);
            for (block, spill) in [(1, 1), (3, 4), (5, 10), (37, 10)] {
                assert_eq!(
                    ranked(37, arms, block, spill, by, top),
                    whole,
                    "arms {arms} by {by:?} top {top:?} block {block} spill {spill}"
                );
            }
        }
    }

    #[test]
    fn ties_keep_input_order_and_highest_comes_first() {
        let r = ranked(22, 1, 3, 5, None, None);
        for w in r.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert!(a.1[0] >= b.1[0]);
            if a.1[0] == b.1[0] {
                let n = |s: &str| s[1..].parse::<usize>().unwrap();
                assert!(n(&a.0) < n(&b.0));
            }
        }
    }

    #[test]
    fn a_repeated_id_is_found_in_memory_and_across_runs() {
        for spill in [100, 2] {
            let dir = tempfile::tempdir().unwrap();
            let mut r = Ranker::new(1, None, Some(1), spill, dir.path());
            for ids in [["a", "b"], ["c", "d"], ["e", "a"]] {
                let col = column(&ids);
                let hashes: Vec<u64> = ids.iter().map(|s| id_hash(s)).collect();
                r.push(col, vec![vec![0.5, 0.5]], hashes).unwrap();
            }
            assert!(r.finish().unwrap().is_none(), "spill {spill}");
        }
    }

    #[test]
    fn structured_ids_do_not_share_a_hash() {
        // IDs like those of concatenated cohorts; a hash collision would
        // send every such file down the whole-file path.
        let mut h: Vec<u64> = (0..5u32)
            .flat_map(|k| (0..400_000u32).map(move |i| id_hash(&format!("R{k}P{i:07}"))))
            .collect();
        h.sort_unstable();
        assert!(h.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn an_unwritable_folder_is_named() {
        let mut r = Ranker::new(1, None, None, 1, Path::new("/nonexistent/dir"));
        r.push(column(&["a"]), vec![vec![0.5]], vec![id_hash("a")])
            .unwrap();
        // The second patient passes --spill-rows 1: the first run is written.
        let err = r
            .push(column(&["b"]), vec![vec![0.5]], vec![id_hash("b")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/dir"), "{err}");
    }
}
