//! BCF (binary VCF) genotype files. Decoded record by record by
//! `noodles-bcf` and written out by `noodles-vcf` as the VCF text that
//! `bcftools view FILE.bcf` prints, which the VCF reader ([`super::vcf`])
//! then reads: a BCF means exactly what its VCF text means (DS else GT, the
//! haploid rule, multi-allelic sites, the same errors), and a line number
//! in a message is that line of `bcftools view`'s output.
//!
//! The BGZF blocks were already inflated when the file was read (BGZF is
//! gzip); an uncompressed BCF (`bcftools view -Ou`) is read the same way.

use std::io::Write;

use noodles_vcf::variant::io::Write as _;

use crate::error::{Error, Location, Result};

/// True when the (decompressed) bytes are a BCF 2 file.
pub(crate) fn is_bcf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"BCF\x02")
}

/// A growing buffer that reports running out of memory as an error
/// instead of aborting (the VCF text of a BCF is several times its size).
struct Fallible(Vec<u8>);

impl Write for Fallible {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.try_reserve(buf.len()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!(
                    "not enough memory to hold {} MB of its VCF text",
                    self.0.len() >> 20
                ),
            )
        })?;
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// True while this thread runs the BCF decoder, whose panics are
    /// caught and reported as errors (so the panic hook stays quiet).
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The VCF text of a BCF file's bytes (already decompressed), for the VCF
/// reader. `name` is the file's name in messages. With `keep`, a record
/// whose SNP is not needed becomes an empty line (as
/// [`super::vcf_filter`] does for a VCF).
///
/// noodles 0.94 panics on some corrupt records (`todo!()` on an unknown
/// value type, `unwrap` on a non-UTF-8 ID): the decoder runs under
/// `catch_unwind`, with the panic message silenced on this thread only,
/// and a panic becomes an error naming the file.
pub(crate) fn to_vcf_text(
    name: &str,
    bytes: &[u8],
    keep: Option<&std::collections::HashSet<String>>,
) -> Result<Vec<u8>> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(|d| d.get()) {
                previous(info);
            }
        }));
    });
    DECODING.with(|d| d.set(true));
    let ids = keep.map(crate::data::vcf_filter::wanted_ids);
    let result = std::panic::catch_unwind(|| match decode(name, bytes, ids.as_ref()) {
        // None of the SNPs is here: the whole text names what is missing.
        Ok((_, 0)) if ids.is_some() => decode(name, bytes, None),
        other => other,
    })
    .map(|r| r.map(|(text, _)| text));
    DECODING.with(|d| d.set(false));
    result.unwrap_or_else(|_| {
        Err(Error::data(
            Location::file(name),
            "the BCF is corrupt (its decoder gave up on a record): check it with `bcftools view FILE.bcf > /dev/null`",
        ))
    })
}

/// Checks the next record's two lengths against the bytes left and its
/// sample count against the header's before noodles reads it: it would
/// first allocate what a corrupt length or count says (gigabytes).
fn check_record(rest: &[u8], samples: usize, at: Location, record: u64) -> Result<()> {
    const TAIL: &str = "line numbers count the lines `bcftools view` prints";
    if rest.len() < 8 {
        return Ok(());
    }
    let len =
        |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]) as usize;
    if rest.len() >= 32 && (len(28) & 0x00ff_ffff) != samples {
        return Err(Error::data(
            at,
            format!("BCF record {record} says it has {} samples but the header names {samples}: the file is corrupt ({TAIL})", len(28) & 0x00ff_ffff),
        ));
    }
    let need = 8 + len(0) + len(4);
    if need > rest.len() {
        return Err(Error::data(
            at,
            format!("BCF record {record} says it is {need} bytes long, but only {} are left: the file is truncated or corrupt ({TAIL})", rest.len()),
        ));
    }
    Ok(())
}

/// [`to_vcf_text`] without the guard.
/// Returns the text and the number of records kept.
fn decode(
    name: &str,
    bytes: &[u8],
    ids: Option<&std::collections::HashSet<String>>,
) -> Result<(Vec<u8>, usize)> {
    let mut reader = noodles_bcf::io::Reader::from(bytes);
    let header = reader.read_header().map_err(|e| {
        Error::data(
            Location::file(name),
            format!("cannot read the BCF header: {e} (is the file truncated? `bcftools view -h` shows what it holds)"),
        )
    })?;
    let mut writer = noodles_vcf::io::Writer::new(Fallible(Vec::with_capacity(bytes.len() * 4)));
    let write_error = |line: u64, e: std::io::Error| {
        Error::data(
            Location::file(name).line(line),
            format!("cannot write the BCF record as VCF text: {e}"),
        )
    };
    writer
        .write_header(&header)
        .map_err(|e| write_error(1, e))?;
    // The next line of the VCF text: header lines + records so far + 1.
    let mut line = memchr::memchr_iter(b'\n', &writer.get_ref().0).count() as u64 + 1;
    // Decoded eagerly (`RecordBuf`): the lazy `bcf::Record` panics on
    // some corrupt fields (an ID that is not UTF-8) when written out.
    let mut record = noodles_vcf::variant::RecordBuf::default();
    let mut records = 0u64;
    let mut kept = 0usize;
    loop {
        check_record(
            reader.get_ref(),
            header.sample_names().len(),
            Location::file(name).line(line),
            records + 1,
        )?;
        match reader.read_record_buf(&header, &mut record) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(Error::data(
                    Location::file(name).line(line),
                    format!("cannot decode BCF record {}: {e} (line numbers count the lines `bcftools view` prints; is the file truncated?)", records + 1),
                ))
            }
        }
        let start = writer.get_ref().0.len();
        writer
            .write_variant_record(&header, &record)
            .map_err(|e| write_error(line, e))?;
        let mut wanted = true;
        if let Some(ids) = ids {
            let buf = &mut writer.get_mut().0;
            let body = buf[start..].strip_suffix(b"\n").unwrap_or(&buf[start..]);
            wanted = crate::data::vcf_filter::needed(body, ids);
            if !wanted {
                buf.truncate(start);
                buf.push(b'\n');
            }
        }
        kept += usize::from(wanted);
        line += 1;
        records += 1;
    }
    Ok((writer.into_inner().0, kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The fixture BCF (bcftools `view -Ob`), inflated.
    fn fixture() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/genetics/real/base.bcf"
        );
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// The VCF text equals bcftools' own `view -Ov` of the same file
    /// (`base.vcf.gz` → `base.bcf` in make.sh), data lines and all.
    #[test]
    fn vcf_text_is_what_bcftools_prints() {
        let text = String::from_utf8(to_vcf_text("base.bcf", &fixture(), None).unwrap()).unwrap();
        let vcf = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/genetics/real/base.vcf"
        ))
        .unwrap();
        let data = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with("##"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(data(&text), data(&vcf));
    }

    /// With a SNP set, the records of other SNPs become empty lines: the
    /// table is the whole one restricted, with the same line numbers.
    #[test]
    fn kept_snps_only() {
        use crate::data::dosage::DosageTable;
        use crate::data::input::{Delimiter, Loaded};
        let table = |bytes: Vec<u8>| {
            let l = Loaded {
                name: "base.bcf".into(),
                base_name: "base.bcf".into(),
                bytes,
                sha256: String::new(),
            };
            DosageTable::parse(&l, Delimiter::Byte(b'\t'), "x", false).unwrap()
        };
        let all = table(to_vcf_text("base.bcf", &fixture(), None).unwrap());
        let keep: std::collections::HashSet<String> =
            all.snps().iter().skip(1).step_by(4).cloned().collect();
        let sub = table(to_vcf_text("base.bcf", &fixture(), Some(&keep)).unwrap());
        assert_eq!(sub.snps().len(), keep.len());
        for (s, snp) in sub.snps().iter().enumerate() {
            let w = all.find(snp).unwrap();
            assert_eq!(sub.snp_lines[s], all.snp_lines[w]);
            let bits = |d: &crate::data::calls::Dosages| -> Vec<u64> {
                d.iter().map(f64::to_bits).collect()
            };
            assert_eq!(bits(&sub.values[s]), bits(&all.values[w]), "{snp}");
        }
    }

    /// A record claiming another number of samples than the header is
    /// refused before anything is allocated for them.
    #[test]
    fn a_corrupt_sample_count_is_named() {
        let mut bad = fixture();
        // The first record follows the magic (5 bytes), l_text and the text.
        let l_text = u32::from_le_bytes([bad[5], bad[6], bad[7], bad[8]]) as usize;
        let rec = 9 + l_text;
        bad[rec + 28] = 0xff;
        bad[rec + 29] = 0xff;
        let e = to_vcf_text("f.bcf", &bad, None).unwrap_err().to_string();
        assert!(
            e.contains("f.bcf, line") && e.contains("says it has 65535 samples"),
            "{e}"
        );
    }

    /// Truncated and corrupted BCFs are errors naming the file, never a
    /// panic.
    #[test]
    fn broken_bcfs_are_errors_not_panics() {
        let good = fixture();
        let mut errors = 0;
        for cut in (0..good.len()).step_by(good.len() / 150 + 1) {
            if to_vcf_text("f.bcf", &good[..cut], None).is_err() {
                errors += 1;
            }
        }
        assert!(errors > 0);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..400 {
            let mut bad = good.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % bad.len() as u64) as usize;
                bad[at] = (state >> 32) as u8;
            }
            if let Err(e) = to_vcf_text("f.bcf", &bad, None) {
                assert!(e.to_string().starts_with("f.bcf"), "{e}");
            }
        }
    }
}
