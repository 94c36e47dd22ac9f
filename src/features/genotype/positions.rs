//! Weights located by chromosome and position only (PGS Catalog scoring
//! files without `rsID`, GWAS layouts such as `CHR BP A1 BETA`): each is
//! matched to the genotype file's variant at that position whose alleles
//! fit (the effect and, where the file names it, the other allele, on
//! either strand), as the PGS Catalog's calculator (pgsc_calc) matches
//! variants by position. The weight then carries that variant's name, and
//! the rest (orientation, strand flips, palindromes, streaming) is as for
//! weights matched by ID. Positions come from a `.bim`, a VCF or a BCF; a
//! `.raw` or dosage file has none.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use super::prs::ScoreFile;
use crate::data::dosage::ScoreSource;
use crate::data::DosageTable;
use crate::error::{Error, Location, Result};

/// A chromosome name as a key: without a `chr` prefix, upper case, PLINK's
/// numeric codes 23–26 as X, Y, XY and MT, and M as MT (so `chr1` and
/// `1`, `chrX` and `23` meet).
pub(crate) fn chrom_key(c: &str) -> String {
    let bare = match c.get(..3) {
        Some(p) if c.len() > 3 && p.eq_ignore_ascii_case("chr") => &c[3..],
        _ => c,
    };
    match bare.to_ascii_uppercase().as_str() {
        "23" => "X".into(),
        "24" => "Y".into(),
        "25" => "XY".into(),
        "26" | "M" => "MT".into(),
        other => other.to_string(),
    }
}

/// A variant of the genotype file: its name as the genotype reader names
/// it, and its two alleles (counted, other).
#[derive(Debug, Clone, PartialEq)]
struct Variant {
    name: String,
    alleles: [String; 2],
}

type Sites = HashMap<(String, u64), Vec<Variant>>;

/// A VCF/BCF record at a wanted site: (site key, ID, REF, ALT, CHROM as
/// written).
type Record = ((String, u64), String, String, String, String);

/// Whether a weight's effect (and other) allele fit a variant's alleles
/// (in either order, on the genotypes' strand: as for weights matched by
/// ID, a weight on the other strand is an allele mismatch unless
/// `--prs-strand-flip`, see [`fits_other_strand`]). Without an
/// other allele, the variant's other allele must be as long as the effect
/// allele (a SNP weight never lands on an indel). A variant with a missing
/// allele (PLINK's `0` of a monomorphic SNP, a VCF's ALT `.`) fits when
/// either of the weight's alleles is its present one.
fn fits(v: &Variant, effect: &str, other: Option<&str>) -> bool {
    let [a, b] = &v.alleles;
    let missing = |x: &str| x == "0" || x == "." || x.is_empty();
    if missing(a) || missing(b) {
        let present = if missing(a) { b } else { a };
        return present == effect || other == Some(present.as_str());
    }
    match other {
        Some(o) => (a == effect && b == o) || (a == o && b == effect),
        None => (a == effect && b.len() == a.len()) || (b == effect && a.len() == b.len()),
    }
}

/// Whether a weight's alleles fit a variant's on the other strand (a SNP
/// that is not palindromic, both alleles known), which
/// `prs::orient_strand` then reads as the complementary alleles.
fn fits_other_strand(v: &Variant, effect: &str, other: Option<&str>) -> bool {
    use super::alleles::{complement, palindromic};
    let [a, b] = &v.alleles;
    if palindromic(a, b) || [a, b].iter().any(|x| ["0", ".", ""].contains(&x.as_str())) {
        return false;
    }
    let Some(ce) = complement(effect) else {
        return false;
    };
    match other {
        Some(o) => complement(o).is_some_and(|co| fits(v, ce, Some(co))),
        None => fits(v, ce, None),
    }
}

/// The genotype file's variants at the `wanted` sites, and how many
/// records were left out (their site could not be read).
fn variants_at(source: &ScoreSource, wanted: &HashSet<(String, u64)>) -> Result<(Sites, usize)> {
    let mut at: Sites = HashMap::new();
    let path = match source {
        ScoreSource::Bed(bed) => {
            crate::data::bed::bim_sites(bed, |chrom, pos, id, a1, a2| {
                let key = (chrom_key(chrom), pos);
                if wanted.contains(&key) {
                    at.entry(key).or_default().push(Variant {
                        name: id.to_string(),
                        alleles: [a1.to_string(), a2.to_string()],
                    });
                }
            })?;
            return Ok((at, 0));
        }
        ScoreSource::Variants(p) => p,
    };
    let mut records: Vec<Record> = Vec::new();
    let mut add = |line: &str| {
        let f: Vec<&str> = line.splitn(6, '\t').collect();
        let Some(pos) = f.get(1).and_then(|p| p.parse::<u64>().ok()) else {
            return;
        };
        let key = (chrom_key(f[0]), pos);
        if f.len() >= 5 && wanted.contains(&key) {
            let s = |i: usize| f[i].to_string();
            records.push((key, s(2), s(3), s(4), s(0)));
        }
    };
    let left = match crate::data::bcf::sites(path, &mut add)? {
        Some(left) => left,
        None => {
            vcf_sites(path, &mut add)?;
            0
        }
    };
    name_records(&mut at, records);
    Ok((at, left))
}

/// Calls `f` with the site fields (CHROM … ALT) of every record of the
/// text VCF `path` (a VCF: [`positions_in`]), read by the streamed VCF
/// reader's line feed; the samples are not decoded as text. A file that
/// feed cannot stream (classic-Mac line ends) has no records here.
fn vcf_sites(path: &str, f: &mut dyn FnMut(&str)) -> Result<()> {
    crate::data::vcf_filter::feed(path, None, &mut |line, _| {
        if !line.starts_with(b"#") {
            let end = line
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\t')
                .nth(4)
                .map_or(line.len(), |(k, _)| k);
            f(&String::from_utf8_lossy(&line[..end]));
        }
        Ok(())
    })?;
    Ok(())
}

/// Names the records of a VCF or BCF as its reader does: the ID, or
/// `CHROM:POS:REF:ALT` without one, `ID:ALT` for the records of a split
/// multi-allelic site sharing an ID; a site with several ALTs is skipped,
/// as the reader skips it.
fn name_records(at: &mut Sites, records: Vec<Record>) {
    let mut ids: HashMap<(&(String, u64), &str), usize> = HashMap::new();
    for (key, id, _, alt, _) in &records {
        if !alt.contains(',') {
            *ids.entry((key, id.as_str())).or_default() += 1;
        }
    }
    let mut named = Vec::new();
    for (key, id, reference, alt, chrom) in &records {
        if alt.contains(',') {
            continue;
        }
        let name = if id == "." || id.is_empty() {
            format!("{chrom}:{}:{reference}:{alt}", key.1)
        } else if ids[&(key, id.as_str())] > 1 {
            format!("{id}:{alt}")
        } else {
            id.clone()
        };
        let alleles = [alt.clone(), reference.clone()];
        named.push((key.clone(), Variant { name, alleles }));
    }
    for (key, v) in named {
        at.entry(key).or_default().push(v);
    }
}

/// Where the genotype table `g` was read from, for its positions.
fn source_of(g: &DosageTable) -> Result<ScoreSource> {
    if let Some(s) = &g.source {
        return Ok(s.clone());
    }
    let path = std::path::Path::new(&g.file);
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(Error::data(
            Location::file(&g.file),
            "a weights file locates its variants by chromosome and position, which are read from the genotype file again: give it as a regular file (not standard input or a pipe), or give the weights SNP IDs",
        ));
    }
    Ok(match crate::data::bed::looks_like_bed(path) {
        true => ScoreSource::Bed(path.to_path_buf()),
        false => ScoreSource::Variants(g.file.clone()),
    })
}

/// Names each weight located by position after the genotype variant there
/// whose alleles fit (see the module docs); a weight with none, or with
/// several, keeps its `chrom:pos:other:effect` name and is counted as not
/// in the genotypes. Notes say how many matched, and the positions' build.
/// When the genotypes have no positions (a `.raw`, a dosage file), a file
/// located by position only is an error and the lines without an ID of a
/// file matched by ID are left out with a warning.
pub(super) fn resolve(
    files: &mut [ScoreFile],
    g: &DosageTable,
    notes: &mut Vec<String>,
) -> Result<()> {
    let wanted: HashSet<(String, u64)> = files
        .iter()
        .filter_map(|f| f.scores.first())
        .flat_map(|s| s.weights.iter().filter_map(|w| w.site.clone()))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let source = match source_of(g).map(|s| positions_in(&s).then_some(s)) {
        Ok(Some(s)) => s,
        Ok(None) | Err(_) => return without_positions(files, g, notes),
    };
    let (at, left) = variants_at(&source, &wanted)?;
    let geno = source.path();
    if left > 0 {
        notes.push(format!("warning: {geno}: {left} records whose site could not be read without writing them (an IUPAC REF) were not matched by position"));
    }
    for f in files.iter_mut() {
        match_file(f, &at, &geno, notes)?;
    }
    Ok(())
}

/// Whether `source` has variant positions: a `.bed` (its `.bim`), a BCF or
/// a text VCF.
fn positions_in(source: &ScoreSource) -> bool {
    match source {
        ScoreSource::Bed(_) => true,
        ScoreSource::Variants(p) => {
            crate::data::vcf_filter::open_inflated(p).is_ok_and(|(mut r, _)| {
                r.fill_buf()
                    .is_ok_and(|h| crate::data::bcf::is_bcf(h) || crate::data::vcf::is_vcf(h))
            })
        }
    }
}

/// Weights located by position against genotypes without positions: an
/// error for a file located by position only, else its lines without an
/// ID are left out with a warning.
fn without_positions(
    files: &mut [ScoreFile],
    g: &DosageTable,
    notes: &mut Vec<String>,
) -> Result<()> {
    let why = format!(
        "{} has no variant positions (standard input, a pipe, a `.raw` or a dosage file)",
        g.file
    );
    for f in files.iter_mut() {
        let Some(first) = f.scores.first() else {
            continue;
        };
        let lines = first.weights.iter().filter(|w| w.site.is_some()).count();
        if lines == 0 {
            continue;
        }
        if lines == first.weights.len() {
            return Err(Error::data(
                Location::file(&f.name),
                format!("its weights are located by chromosome and position, but {why}: give the genotypes as a regular PLINK .bed, VCF or BCF file, or match the weights by SNP ID"),
            ));
        }
        for s in &mut f.scores {
            s.weights.retain(|w| w.site.is_none());
        }
        notes.push(format!(
            "warning: {}: {lines} weight lines have no SNP ID, only a position, and are left out: {why}",
            f.name
        ));
    }
    Ok(())
}

/// Names the weights of `f` located by position after the variant of
/// `at` that fits (see [`resolve`]), with a note; a variant that two lines
/// name (by position, or one by ID) is an error.
fn match_file(f: &mut ScoreFile, at: &Sites, geno: &str, notes: &mut Vec<String>) -> Result<()> {
    let Some(first) = f.scores.first() else {
        return Ok(());
    };
    let located = first.weights.iter().filter(|w| w.site.is_some()).count();
    if located == 0 {
        return Ok(());
    }
    let (mut absent, mut ambiguous) = (0, 0);
    // Variants named by ID lines, then by located ones.
    let mut taken: HashMap<String, u64> = first
        .weights
        .iter()
        .filter(|w| w.site.is_none())
        .map(|w| (w.snp.clone(), w.line))
        .collect();
    let mut names: Vec<Option<String>> = Vec::with_capacity(first.weights.len());
    for w in &first.weights {
        let Some(site) = &w.site else {
            names.push(None);
            continue;
        };
        let here = at.get(site).map_or(&[][..], |v| v.as_slice());
        let other = w.other.as_deref();
        // On the genotypes' strand; with --prs-strand-flip, else the other.
        let mut fit: Vec<&Variant> = here.iter().filter(|v| fits(v, &w.allele, other)).collect();
        if fit.is_empty() && w.strand_flip {
            fit = here
                .iter()
                .filter(|v| fits_other_strand(v, &w.allele, other))
                .collect();
        }
        let name = match fit.as_slice() {
            [v] => Some(v.name.clone()),
            [] => {
                absent += 1;
                None
            }
            _ => {
                ambiguous += 1;
                None
            }
        };
        if let Some(n) = &name {
            if let Some(prev) = taken.insert(n.clone(), w.line) {
                let (a, b) = (prev.min(w.line), prev.max(w.line));
                return Err(Error::data(
                    Location::file(&f.name).line(w.line),
                    format!("lines {a} and {b} both name variant `{n}` of {geno} (by ID or by position): give one weight per variant"),
                ));
            }
        }
        names.push(name);
    }
    for s in &mut f.scores {
        for (w, n) in s.weights.iter_mut().zip(&names) {
            if let Some(n) = n {
                w.snp = n.clone();
            }
        }
    }
    let build = f.build.as_ref().map_or(String::new(), |b| {
        format!(" ({b}: the genotypes must be on the same build)")
    });
    notes.push(format!(
        "{}: {} of {located} weights located by chromosome and position{build} matched a variant of {geno} with their alleles; {absent} have none there, {ambiguous} several that fit (both left out)",
        f.name,
        names.iter().flatten().count(),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromosome_names_meet() {
        for (a, b) in [
            ("chr1", "1"),
            ("chrX", "23"),
            ("X", "x"),
            ("chrM", "MT"),
            ("26", "chrMT"),
        ] {
            assert_eq!(chrom_key(a), chrom_key(b), "{a} {b}");
        }
        assert_ne!(chrom_key("1"), chrom_key("11"));
        assert_eq!(chrom_key("chr"), "CHR");
        assert_eq!(chrom_key("12é"), "12é");
    }

    #[test]
    fn alleles_fit_on_either_strand() {
        let v = Variant {
            name: "rs1".into(),
            alleles: ["G".into(), "A".into()],
        };
        assert!(fits(&v, "A", Some("G")));
        assert!(fits(&v, "G", None));
        assert!(!fits(&v, "T", Some("C")), "the other strand is a mismatch");
        assert!(!fits(&v, "C", None));
        assert!(fits_other_strand(&v, "T", Some("C")));
        assert!(fits_other_strand(&v, "C", None));
        let at = Variant {
            name: "rs3".into(),
            alleles: ["T".into(), "A".into()],
        };
        assert!(!fits_other_strand(&at, "A", Some("T")), "palindromic");
        assert!(!fits(&v, "A", Some("C")));
        assert!(!fits(&v, "AT", None));
        let indel = Variant {
            name: "rs5".into(),
            alleles: ["AT".into(), "A".into()],
        };
        assert!(!fits(&indel, "A", None), "a SNP weight on an indel");
        assert!(fits(&indel, "A", Some("AT")));
        let mono = Variant {
            name: "rs2".into(),
            alleles: ["0".into(), "G".into()],
        };
        assert!(fits(&mono, "G", Some("A")));
        assert!(fits(&mono, "A", Some("G")));
        assert!(!fits(&mono, "C", Some("A")), "no complement guess");
    }

    /// Records are named as the VCF reader names them (compared with its
    /// table): IDs, `CHROM:POS:REF:ALT` without one, `ID:ALT` for a split
    /// site, a multi-allelic record skipped (its ID not counted).
    #[test]
    fn vcf_records_are_named_as_read() {
        let text =
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n\
            chr1\t100\trs1\tA\tC,G\t.\t.\t.\tGT\t0/1\n\
            chr1\t100\trs1\tA\tT\t.\t.\t.\tGT\t0/1\n\
            chr1\t200\t.\tA\tG\t.\t.\t.\tGT\t0/1\n\
            chr1\t300\trs3\tC\tT\t.\t.\t.\tGT\t0/1\n\
            chr1\t300\trs3\tC\tG\t.\t.\t.\tGT\t1/1\n\
            chr2\t5\trs4\tG\tA\t.\t.\t.\tGT\t0/0\n";
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.vcf");
        std::fs::write(&p, text).unwrap();
        let path = p.to_str().unwrap().to_string();
        let wanted: HashSet<(String, u64)> = [("1", 100), ("1", 200), ("1", 300), ("2", 5)]
            .map(|(c, p)| (c.to_string(), p))
            .into();
        let (at, left) = variants_at(&ScoreSource::Variants(path.clone()), &wanted).unwrap();
        assert_eq!(left, 0);
        let mut ours: Vec<String> = at.values().flatten().map(|v| v.name.clone()).collect();
        ours.sort();
        let loaded = crate::data::Loaded::read(&path).unwrap();
        let mut read = crate::data::vcf::parse(&loaded).unwrap().snps().to_vec();
        read.sort();
        assert_eq!(ours, read);
    }

    /// A split multi-allelic site's records are `ID:ALT`; a record without
    /// an ID is `CHROM:POS:REF:ALT`; a site with two ALTs is skipped.
    #[test]
    fn records_are_named_as_the_reader_names_them() {
        let k = ("1".to_string(), 10);
        let r = |id: &str, alt: &str| (k.clone(), id.into(), "A".into(), alt.into(), "chr1".into());
        let mut at = Sites::new();
        name_records(
            &mut at,
            vec![r("rs1", "C"), r("rs1", "G"), r(".", "T"), r("rs2", "C,G")],
        );
        let names: Vec<&str> = at[&k].iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["rs1:C", "rs1:G", "chr1:10:A:T"]);
    }
}
