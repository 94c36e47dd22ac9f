//! Property tests and a fuzz-style test of the file readers.
//!
//! Properties (proptest): where two code paths read the same file they
//! give the same records or the same error — the direct line splitter and
//! the csv crate (a quoted header forces the latter), the one-digit dosage
//! path and the general one, and streamed blocks and the whole file.
//!
//! Fuzz: valid files (tables, `.raw`, dosage CSV, VCF, weights, truth
//! files, and the real tool-written fixtures) are mutated byte by byte and
//! line by line, and random bytes are added; every reader must return a
//! value or a one-line error, never panic or hang. A short run is part of
//! `cargo test`; the long run (seconds per target, counts printed):
//! `RESPONDER_FUZZ_SECONDS=600 cargo test --release --lib reader_tests -- --nocapture`

use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::data::chunks::LineBlocks;
use crate::data::{Delimiter, DosageTable, Loaded, RawTable};

/// A table read to comparable parts, or its error.
type Read = std::result::Result<(Vec<String>, Vec<Vec<String>>, Vec<u64>), String>;

fn read_table(bytes: &[u8]) -> Read {
    let l = Loaded {
        name: "t.csv".into(),
        base_name: "t.csv".into(),
        bytes: bytes.to_vec(),
        sha256: String::new(),
    };
    RawTable::parse(&l, Delimiter::Byte(b','))
        .map(|t| {
            let cols = t
                .columns
                .iter()
                .map(|c| c.iter().map(str::to_string).collect())
                .collect();
            (t.header.clone(), cols, t.lines.clone())
        })
        .map_err(|e| e.to_string())
}

/// A dosage table read to comparable parts (values as bit patterns), or its error.
type Dosages = std::result::Result<(Vec<String>, Vec<Vec<u64>>, Vec<u64>), String>;

fn read_dosages(bytes: &[u8]) -> Dosages {
    let l = Loaded {
        name: "g.csv".into(),
        base_name: "g.csv".into(),
        bytes: bytes.to_vec(),
        sha256: String::new(),
    };
    DosageTable::parse(&l, Delimiter::Byte(b','), "patient_id", false)
        .map(|t| {
            let values = t
                .values
                .iter()
                .map(|c| c.iter().map(|v| v.to_bits()).collect())
                .collect();
            (t.ids.iter().map(str::to_string).collect(), values, t.lines)
        })
        .map_err(|e| e.to_string())
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("NA".to_string()),
        Just(" 3 ".to_string()),
        Just("\"a,b\"".to_string()),
        Just("\"say \"\"hi\"\"\"".to_string()),
        Just("\"two\nlines\"".to_string()),
        Just("é".to_string()),
        Just("x\ty".to_string()),
        "[0-9]{1,3}(\\.[0-9]{1,2})?",
        "[a-z]{1,4}",
    ]
}

fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
}

/// A table body: rows of 3 cells (sometimes 2 or 4), mixed line ends,
/// blank lines.
fn body() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::collection::vec(cell(), 2..=4),
            line_end(),
            any::<bool>(),
        ),
        0..12,
    )
    .prop_map(|rows| {
        let mut s = String::new();
        for (cells, end, blank) in rows {
            s.push_str(&cells.join(","));
            s.push_str(end);
            if blank {
                s.push_str(end);
            }
        }
        s
    })
}

fn dosage_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[0-2]",
        1 => Just(String::new()),
        1 => Just("NA".to_string()),
        1 => Just("0.5".to_string()),
        1 => Just(" 1".to_string()),
        1 => Just("3".to_string()),
        1 => Just("x".to_string()),
        1 => Just("\"1\"".to_string()),
    ]
}

fn dosage_body() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::collection::vec(dosage_cell(), 2..=4), line_end()),
        0..12,
    )
    .prop_map(|rows| {
        let mut s = String::new();
        for (i, (cells, end)) in rows.into_iter().enumerate() {
            s.push_str(&format!("P{i},{}{end}", cells.join(",")));
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The direct splitter and the csv crate give the same table or error.
    #[test]
    fn table_paths_agree(body in body(), bom in any::<bool>()) {
        let bom = if bom { "\u{feff}" } else { "" };
        let direct = read_table(format!("{bom}id,n,s\n{body}").as_bytes());
        let csv = read_table(format!("{bom}\"id\",n,s\n{body}").as_bytes());
        prop_assert_eq!(direct, csv);
    }

    /// The one-digit dosage path and the general path agree.
    #[test]
    fn dosage_paths_agree(body in dosage_body()) {
        let quick = read_dosages(format!("patient_id,rs1,rs2,rs3\n{body}").as_bytes());
        let general = read_dosages(format!("\"patient_id\",rs1,rs2,rs3\n{body}").as_bytes());
        prop_assert_eq!(quick, general);
    }

    /// Streamed blocks hold the same records as the whole file (line ends
    /// of every kind; no quoted field across lines).
    #[test]
    fn streamed_blocks_agree_with_the_whole_file(
        rows in prop::collection::vec((prop::collection::vec("[a-z0-9.]{0,3}", 3), line_end()), 1..30),
        block in 1usize..6,
    ) {
        let mut text = String::from("id,n,s\n");
        for (i, (cells, end)) in rows.iter().enumerate() {
            text.push_str(&format!("P{i},{},{}{end}", cells[0], cells[1]));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, &text).unwrap();
        let path = path.to_str().unwrap();
        let whole = RawTable::parse(&Loaded::read(path).unwrap(), Delimiter::Byte(b',')).unwrap();
        let mut blocks = LineBlocks::open(path).unwrap();
        let mut columns: Vec<Vec<String>> = vec![Vec::new(); 3];
        while let Some(b) = blocks.next_block(block).unwrap() {
            let t = RawTable::parse(&b.loaded, Delimiter::Byte(b',')).unwrap();
            for (c, col) in t.columns.iter().enumerate() {
                columns[c].extend(col.iter().map(str::to_string));
            }
        }
        let want: Vec<Vec<String>> = whole
            .columns
            .iter()
            .map(|c| c.iter().map(str::to_string).collect())
            .collect();
        prop_assert_eq!(columns, want);
    }
}

/// A reader under test: it reads the file at a path and may fail.
type Reader = fn(&str) -> std::result::Result<(), String>;

fn as_table(p: &str) -> std::result::Result<(), String> {
    let l = Loaded::read(p).map_err(|e| e.to_string())?;
    RawTable::parse(&l, l.delimiter(None))
        .map(drop)
        .map_err(|e| e.to_string())
}

fn as_genotypes(p: &str) -> std::result::Result<(), String> {
    let l = Loaded::read(p).map_err(|e| e.to_string())?;
    DosageTable::parse(&l, l.delimiter(None), "patient_id", false)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn as_weights(p: &str) -> std::result::Result<(), String> {
    crate::features::genotype::prs::read_weights(p, false)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn as_truth(p: &str) -> std::result::Result<(), String> {
    crate::data::truth::Truth::read(p, "patient_id", &["A".into(), "B".into()])
        .map(drop)
        .map_err(|e| e.to_string())
}

fn real(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/genetics/real/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The targets: a name, the file name the input is written as, the
/// reader, and valid seed files.
fn targets() -> Vec<(&'static str, &'static str, Reader, Vec<Vec<u8>>)> {
    let table = b"patient_id,age,sex,score,therapy,responder\nP1,30,F,1.5,A,1\nP2,41,M,NA,B,0\n\"P3\",\"5,5\",F,,A,yes\n".to_vec();
    let dosage = b"patient_id,rs1,rs2\nP1,0,1\nP2,2,\nP3,0.5,NA\n".to_vec();
    let raw = b"FID IID PAT MAT SEX PHENOTYPE rs1_A rs2_0 rs3_C(/T)\nF P1 0 0 1 -9 0 0 2\nF P2 0 0 2 -9 NA 0 1\n".to_vec();
    let vcf = b"##fileformat=VCFv4.4\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\n1\t10\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t/0|1:.\t1/1:1.9\n1\t20\trs2\tC\t.\t.\tPASS\t.\tGT\t0/0\t./.\n1\t30\trs3\tC\tT\t.\tPASS\t.\tGT\t0\t|1\n".to_vec();
    let weights = b"#weight_type=beta\nrsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\nrs1\t1\t10\tA\tG\t0.2\nrs2\t1\t20\tC\tT\t-0.1\n".to_vec();
    let truth = b"patient_id,p_A,p_B\nP1,0.2,0.7\nP2,0.5,0.5\n".to_vec();
    vec![
        (
            "table",
            "t.csv",
            as_table,
            vec![table, real("clinical.csv")],
        ),
        (
            "dosage-csv",
            "g.csv",
            as_genotypes,
            vec![dosage, b"patient_id;rs1\nP1;0,5\n".to_vec()],
        ),
        (
            "raw",
            "g.raw",
            as_genotypes,
            vec![raw, real("base_plink19_include-alt.raw")],
        ),
        (
            "vcf",
            "g.vcf",
            as_genotypes,
            vec![vcf, real("merged_ds_gt.vcf"), real("vcf44_phase.vcf")],
        ),
        (
            "weights",
            "w.txt",
            as_weights,
            vec![weights, real("weights_plink.txt")],
        ),
        ("truth", "truth.csv", as_truth, vec![truth]),
    ]
}

/// Bytes the mutations favour: delimiters, quotes, line ends, NUL, a BOM
/// piece, invalid UTF-8, digits, signs and VCF separators.
const INTERESTING: &[u8] = b",;\t \n\r\"\0\xef\xbb\xbf\xff0129.-+e#/|:.";

fn mutate(input: &mut Vec<u8>, rng: &mut impl Rng) {
    let n = input.len();
    match rng.gen_range(0..8) {
        0 if n > 0 => {
            let i = rng.gen_range(0..n);
            input[i] = INTERESTING[rng.gen_range(0..INTERESTING.len())];
        }
        1 => {
            let i = rng.gen_range(0..=n);
            input.insert(i, INTERESTING[rng.gen_range(0..INTERESTING.len())]);
        }
        2 if n > 0 => {
            let i = rng.gen_range(0..n);
            let j = rng.gen_range(i..=n.min(i + 40));
            input.drain(i..j);
        }
        3 if n > 0 => {
            // Duplicate a random slice (a repeated line, a widened row).
            let i = rng.gen_range(0..n);
            let j = rng.gen_range(i..=n.min(i + 200));
            let piece = input[i..j].to_vec();
            let at = rng.gen_range(0..=input.len());
            input.splice(at..at, piece);
        }
        4 if n > 0 => input.truncate(rng.gen_range(0..n)),
        5 => {
            let i = rng.gen_range(0..=n);
            let junk: Vec<u8> = (0..rng.gen_range(1..16)).map(|_| rng.gen()).collect();
            input.splice(i..i, junk);
        }
        6 if n > 0 => {
            let i = rng.gen_range(0..n);
            input[i] = input[i].wrapping_add(1);
        }
        _ => {
            // A long run of digits or of one byte (huge numbers, long lines).
            let i = rng.gen_range(0..=n);
            let b = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            let run = vec![b; rng.gen_range(1..400)];
            input.splice(i..i, run);
        }
    }
}

#[test]
fn mutated_and_random_files_never_panic_or_hang() {
    let dir = tempfile::tempdir().unwrap();
    let seconds: f64 = std::env::var("RESPONDER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    // The targets run side by side (a timed run then takes its seconds once).
    std::thread::scope(|scope| {
        for target in targets() {
            let dir = dir.path();
            scope.spawn(move || fuzz_target(target, dir, seconds));
        }
    });
}

fn fuzz_target(
    (kind, name, reader, seeds): (&str, &str, Reader, Vec<Vec<u8>>),
    dir: &std::path::Path,
    seconds: f64,
) {
    {
        let start = Instant::now();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(kind.len() as u64 * 7919);
        let (mut tried, mut read) = (0u64, 0u64);
        let path = dir.join(name).display().to_string();
        // At least 300 inputs per target; more for a timed run.
        while tried < 300 || start.elapsed().as_secs_f64() < seconds {
            let input = if rng.gen_ratio(1, 20) {
                (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect()
            } else {
                let mut v = seeds[rng.gen_range(0..seeds.len())].clone();
                for _ in 0..rng.gen_range(1..=4) {
                    mutate(&mut v, &mut rng);
                }
                v
            };
            std::fs::write(&path, &input).unwrap();
            let (tx, rx) = mpsc::channel();
            let p = path.clone();
            std::thread::spawn(move || {
                let r = std::panic::catch_unwind(|| reader(&p));
                let _ = tx.send(r);
            });
            let outcome = rx.recv_timeout(Duration::from_secs(20));
            let bad = match &outcome {
                Ok(Ok(Ok(()))) => {
                    read += 1;
                    None
                }
                Ok(Ok(Err(msg))) => {
                    let shown = crate::error::tidy(msg);
                    (shown.is_empty() || shown.contains('\n'))
                        .then(|| format!("an error that is not one line: {shown:?}"))
                }
                Ok(Err(_)) => Some("a panic".to_string()),
                Err(_) => Some("a hang".to_string()),
            };
            if let Some(what) = bad {
                let keep = std::env::temp_dir().join(format!("responder-fuzz-{kind}-{name}"));
                std::fs::write(&keep, &input).unwrap();
                panic!("{kind}: {what}; input kept as {}", keep.display());
            }
            tried += 1;
        }
        eprintln!("fuzz {kind}: {tried} inputs, {read} read, the rest refused with one line; no panic or hang");
    }
}
