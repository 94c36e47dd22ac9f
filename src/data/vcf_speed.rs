//! The measured reason the VCF text reader is responder's own and not
//! `noodles-vcf` (which does read BCF, see [`super::bcf`]): the time to turn
//! a VCF into dosages, both ways, on the same synthetic file. Not a test of
//! speed (nothing is asserted about times): run it with
//! `bash bench/vcf_parsers.sh`, which prints the figures quoted in the README.

use std::time::Instant;

use noodles_vcf::variant::record::samples::series::Value;
use noodles_vcf::variant::record::{AlternateBases as _, Ids as _};

use crate::data::input::Loaded;

/// A VCF of `samples` × `snps` with FORMAT `GT:DS` (when `ds`) or `GT`.
fn synthetic(samples: usize, snps: usize, ds: bool) -> Vec<u8> {
    let mut s = String::from("##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"Dosage\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for i in 0..samples {
        s.push_str(&format!("\tS{i}"));
    }
    s.push('\n');
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for j in 0..snps {
        s.push_str(&format!(
            "1\t{}\trs{j}\tA\tG\t.\tPASS\t.\t{}",
            1000 + j,
            if ds { "GT:DS" } else { "GT" }
        ));
        for _ in 0..samples {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let gt = ["0/0", "0/1", "1/1", "./."][(state % 4) as usize];
            if ds {
                let d = (state >> 8) % 2001;
                s.push_str(&format!("\t{gt}:{}.{:03}", d / 1000, d % 1000));
            } else {
                s.push_str(&format!("\t{gt}"));
            }
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// Dosages (DS, else the ALT count of GT) read with noodles-vcf's record
/// API, the way its documentation reads sample values. Returns their sum.
fn noodles_dosages(bytes: &[u8]) -> f64 {
    let mut reader = noodles_vcf::io::Reader::new(bytes);
    let header = reader.read_header().unwrap();
    let mut record = noodles_vcf::Record::default();
    let mut sum = 0.0;
    while reader.read_record(&mut record).unwrap() > 0 {
        let _id = record.ids().iter().next();
        let _alt = record.alternate_bases().iter().count();
        let samples = record.samples();
        let keys: Vec<&str> = samples.keys().iter().collect();
        let ds = keys.iter().position(|k| *k == "DS");
        let gt = keys.iter().position(|k| *k == "GT");
        for sample in samples.iter() {
            let value = ds.or(gt).and_then(|k| sample.get_index(&header, k));
            match value {
                Some(Some(Ok(Value::Float(d)))) => sum += f64::from(d),
                Some(Some(Ok(Value::Genotype(g)))) => {
                    for allele in g.iter() {
                        if let Ok((Some(a), _)) = allele {
                            sum += a as f64;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    sum
}

/// Prints the seconds each reader takes (best of 3).
#[test]
#[ignore = "a measurement, run by bench/vcf_parsers.sh"]
fn vcf_reader_speed() {
    for (samples, snps, ds) in [(2000, 2000, false), (2000, 2000, true)] {
        let bytes = synthetic(samples, snps, ds);
        let loaded = Loaded {
            name: "synthetic.vcf".into(),
            base_name: "synthetic.vcf".into(),
            bytes: bytes.clone(),
            sha256: String::new(),
        };
        let best = |f: &dyn Fn()| {
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let ours = best(&|| {
            let t = crate::data::vcf::parse(&loaded).unwrap();
            assert_eq!(t.snps().len(), snps);
        });
        let noodles = best(&|| {
            assert!(noodles_dosages(&bytes) > 0.0);
        });
        println!(
            "{samples} samples x {snps} SNPs, FORMAT {}: {:.1} MB; responder's reader {ours:.3} s, noodles-vcf records {noodles:.3} s ({:.1}x)",
            if ds { "GT:DS" } else { "GT" },
            bytes.len() as f64 / 1e6,
            noodles / ours
        );
    }
}
