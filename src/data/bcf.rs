//! BCF (binary VCF) genotype files, read record by record with
//! `noodles-bcf`. A BCF means what its VCF text means (DS else GT, the
//! haploid rule, multi-allelic sites, the same errors), and a line number
//! in a message is that line of `bcftools view --no-version FILE.bcf`'s
//! output. Every record is written out by `noodles-vcf` as the VCF text
//! `bcftools view` prints (but for an IUPAC code in REF, which noodles
//! writes as a base) and read by the VCF reader ([`super::vcf`]) — except
//! that a record of GT/DS calls among plain numeric fields has its site
//! fields written so and its dosages read straight from its bytes
//! ([`Quick`], [`dosages`]: what the reader reads from its text; tested
//! against the text on fixtures, random records and corrupted files).
//!
//! A BCF file is inflated (BGZF is gzip) and decoded as it is read, each
//! needed record parsed at once ([`read_table`]); an uncompressed BCF
//! (`bcftools view -Ou`) is read the same way. A BCF from stdin is held
//! and turned into text ([`to_vcf_text`]).

use noodles_vcf::variant::io::Write as _;

use crate::data::vcf::Item;

use crate::error::{Error, Location, Result};

/// True when the (decompressed) bytes are a BCF 2 file.
pub(crate) fn is_bcf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"BCF\x02")
}

thread_local! {
    /// True while this thread runs the BCF decoder, whose panics are
    /// caught and reported as errors (so the panic hook stays quiet).
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// True while the decoder hands a line on to its sink (the VCF
    /// parser): a panic there is a bug of ours, not a corrupt file, and is
    /// neither silenced nor caught.
    static IN_SINK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Hands an item on to `sink` outside the panic silencing of [`guarded`].
fn handed(sink: &mut Sink<'_>, item: Item<'_>, number: u64, wanted: bool) -> Result<()> {
    IN_SINK.with(|f| f.set(true));
    let r = sink(item, number, wanted);
    IN_SINK.with(|f| f.set(false));
    r
}

/// What the decoder hands on for each line of the VCF text: the line
/// (without `\n`) or the record decoded, its 1-based number, and whether
/// it is needed (a record of a SNP not in the set is not).
type Sink<'a> = dyn FnMut(Item<'_>, u64, bool) -> Result<()> + 'a;

/// Runs `decode` with noodles' panics caught: noodles 0.94 panics on some
/// corrupt records (`todo!()` on an unknown value type, `unwrap` on a
/// non-UTF-8 ID); the panic message is silenced on this thread only and
/// the panic becomes an error naming the file.
fn guarded<T>(name: &str, decode: impl FnOnce() -> Result<T>) -> Result<T> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(|d| d.get()) || IN_SINK.with(|f| f.get()) {
                previous(info);
            }
        }));
    });
    DECODING.with(|d| d.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
    DECODING.with(|d| d.set(false));
    result.unwrap_or_else(|payload| {
        if IN_SINK.with(|f| f.replace(false)) {
            std::panic::resume_unwind(payload);
        }
        Err(Error::data(
            Location::file(name),
            "the BCF is corrupt (its decoder gave up on a record): check it with `bcftools view FILE.bcf > /dev/null`",
        ))
    })
}

/// The VCF text of a BCF file's bytes (already decompressed), for the VCF
/// reader. `name` is the file's name in messages. With `keep`, a record
/// whose SNP is not needed becomes an empty line (as
/// [`super::vcf_filter`] does for a VCF); when none is needed, every
/// record is written (the VCF reader then names what is missing).
pub(crate) fn to_vcf_text(
    name: &str,
    bytes: &[u8],
    keep: Option<&std::collections::HashSet<String>>,
) -> Result<Vec<u8>> {
    let ids = keep.map(crate::data::vcf_filter::wanted_ids);
    let text = |ids: Option<&std::collections::HashSet<String>>| {
        let mut out: Vec<u8> = Vec::new();
        let kept = guarded(name, || {
            decode(name, bytes, (ids, false), &mut |item, _, wanted| {
                let Item::Line(line) = item else {
                    return Err(Error::data(
                        Location::file(name),
                        "internal error: a decoded record where text was asked for",
                    ));
                };
                let line = if wanted { line } else { &[][..] };
                out.try_reserve(line.len() + 1).map_err(|_| {
                    Error::data(
                        Location::file(name),
                        format!(
                            "not enough memory to hold {} MB of its VCF text",
                            out.len() >> 20
                        ),
                    )
                })?;
                out.extend_from_slice(line);
                out.push(b'\n');
                Ok(())
            })
        })?;
        Ok::<_, Error>((out, kept))
    };
    match text(ids.as_ref())? {
        (_, 0) if ids.is_some() => Ok(text(None)?.0),
        (out, _) => Ok(out),
    }
}

/// Hands `sink` the BCF file `path` (BGZF or uncompressed) as it is
/// inflated and decoded, record by record: the header's lines of VCF text,
/// and the records `ids` needs ([`crate::data::vcf_filter::needed`]; all
/// with `None`), decoded or as text (see [`decode`]). Returns how many
/// records were handed on, or `None` when the file is not a BCF.
pub(crate) fn feed(
    path: &str,
    ids: Option<&std::collections::HashSet<String>>,
    sink: &mut dyn FnMut(Item<'_>, u64) -> Result<()>,
) -> Result<Option<usize>> {
    let (mut input, _) = crate::data::vcf_filter::open_inflated(path)?;
    // Not a BCF, or gzip data too short to tell: the whole-file read
    // says what the file is.
    if !input.fill_buf().is_ok_and(is_bcf) {
        return Ok(None);
    }
    guarded(path, || {
        decode(path, input, (ids, true), &mut |item, number, wanted| {
            if wanted {
                sink(item, number)?;
            }
            Ok(())
        })
    })
    .map(Some)
}

/// Calls `f` with the site fields (CHROM, POS, ID, REF, ALT, tab-separated,
/// as its VCF text has them) of every record of the BCF file `path`, its
/// samples not decoded; returns how many records were left out because
/// their site cannot be told without writing them (an IUPAC REF, an ID
/// noodles cannot read), or `None` when the file is not a BCF.
pub(crate) fn sites(path: &str, f: &mut dyn FnMut(&str)) -> Result<Option<usize>> {
    let (mut input, _) = crate::data::vcf_filter::open_inflated(path)?;
    if !input.fill_buf().is_ok_and(is_bcf) {
        return Ok(None);
    }
    guarded(path, || {
        let header = read_header(path, &mut input)?;
        let samples = header.sample_names().len();
        let mut record = noodles_bcf::Record::default();
        let (mut rec, mut records, mut left) = (Vec::new(), 0u64, 0usize);
        loop {
            records += 1;
            let at = Location::file(path);
            if !next_record(&mut input, &mut rec, (path, at.clone(), records), samples)? {
                return Ok(Some(left));
            }
            noodles_bcf::io::Reader::from(&rec[..])
                .read_record(&mut record)
                .map_err(|e| Error::data(at, format!("cannot decode BCF record {records}: {e}")))?;
            match site(&record, &header) {
                Some(s) => f(&s),
                None => left += 1,
            }
        }
    })
}

/// The BCF file `path` (BGZF or uncompressed) decoded record by record as
/// it is read, each needed record parsed at once by the VCF reader: neither
/// the BCF nor its text is held. `None` when the file is not a BCF or holds
/// none of the SNPs of `keep` (unless `empty_ok`: a table of the samples
/// alone; the whole read then names what is missing).
pub(crate) fn read_table(
    path: &str,
    keep: Option<&std::collections::HashSet<String>>,
    empty_ok: bool,
) -> Result<Option<crate::data::vcf_filter::Filtered>> {
    let ids = keep.map(crate::data::vcf_filter::wanted_ids);
    let mut parser = crate::data::vcf::Parser::new(path);
    let Some(kept) = feed(path, ids.as_ref(), &mut |item, n| parser.item(item, n))? else {
        return Ok(None);
    };
    if kept == 0 && keep.is_some() && !empty_ok {
        return Ok(None);
    }
    crate::data::vcf_filter::finished(path, parser, empty_ok).map(Some)
}

/// Checks a record's sample count against the header's before noodles
/// decodes it, so that a corrupt count is named as such (a clear error,
/// early). `rec` is the record with its two length fields.
fn check_record(rec: &[u8], samples: usize, at: Location, record: u64) -> Result<()> {
    if rec.len() >= 32 {
        let n = u32::from_le_bytes([rec[28], rec[29], rec[30], rec[31]]) as usize & 0x00ff_ffff;
        if n != samples {
            return Err(Error::data(
                at,
                format!("BCF record {record} says it has {n} samples but the header names {samples}: the file is corrupt ({TAIL})"),
            ));
        }
    }
    Ok(())
}

const TAIL: &str = "line numbers count the lines `bcftools view --no-version` prints";

/// Reads up to `n` bytes into `buf` (appended), growing it only as bytes
/// arrive (a corrupt length allocates no more than the file holds); the
/// count read.
fn read_up_to(input: &mut impl std::io::Read, n: u64, buf: &mut Vec<u8>) -> std::io::Result<u64> {
    use std::io::Read;
    let before = buf.len();
    input.by_ref().take(n).read_to_end(buf)?;
    Ok((buf.len() - before) as u64)
}

/// The message of an input error while reading the BCF `name`.
fn read_error(name: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| {
        Error::data(
            Location::file(name),
            format!("cannot read the BCF: {e} (is the file truncated?)"),
        )
    }
}

/// Reads the BCF header from `input` (magic, `l_text`, then the text).
fn read_header(name: &str, input: &mut impl std::io::Read) -> Result<noodles_vcf::Header> {
    let mut head = Vec::new();
    read_up_to(input, 9, &mut head).map_err(read_error(name))?;
    let header_error = |e: String| {
        Error::data(
            Location::file(name),
            format!("cannot read the BCF header: {e} (is the file truncated? `bcftools view -h` shows what it holds)"),
        )
    };
    if head.len() < 9 {
        return Err(header_error("the file ends inside it".into()));
    }
    let l_text = u32::from_le_bytes([head[5], head[6], head[7], head[8]]) as u64;
    if read_up_to(input, l_text, &mut head).map_err(read_error(name))? < l_text {
        return Err(header_error("the file ends inside it".into()));
    }
    noodles_bcf::io::Reader::from(&head[..])
        .read_header()
        .map_err(|e| header_error(e.to_string()))
}

/// Reads BCF record number `record` (its two lengths and body) into
/// `rec`, checked as far as can be before decoding; `false` at the end of
/// the file. `at` is its line in the VCF text.
fn next_record(
    input: &mut impl std::io::Read,
    rec: &mut Vec<u8>,
    (name, at, record): (&str, Location, u64),
    samples: usize,
) -> Result<bool> {
    let truncated = |what: String| {
        Error::data(
            at.clone(),
            format!("{what}: the file is truncated or corrupt ({TAIL})"),
        )
    };
    rec.clear();
    match read_up_to(input, 8, rec).map_err(read_error(name))? {
        0 => return Ok(false),
        8 => {}
        n => {
            return Err(truncated(format!(
                "BCF record {record} starts with {n} of its 8 length bytes"
            )))
        }
    }
    let len = |i: usize| u32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]) as u64;
    let (first, body) = (len(0), len(0) + len(4));
    let got = read_up_to(input, body, rec).map_err(read_error(name))?;
    if got < body {
        return Err(truncated(format!(
            "BCF record {record} says it is {} bytes long, but only {} are left",
            body + 8,
            got + 8
        )));
    }
    if first == 0 {
        // noodles would leave the previous record in place.
        return Err(truncated(format!(
            "BCF record {record} has no site fields (its first length is 0)"
        )));
    }
    check_record(rec, samples, at, record)?;
    Ok(true)
}

/// Decodes a BCF from `input` (inflated), handing every line of its VCF
/// text to `sink`, records of SNPs not in `ids` marked as not needed.
/// With `fast`, a record whose dosages [`dosages`] reads is handed on
/// decoded (as the VCF reader would read its text); else, and always
/// without `fast`, as the VCF text noodles writes (`bcftools view`'s).
/// Returns the number of needed records.
fn decode(
    name: &str,
    mut input: impl std::io::Read,
    (ids, fast): (Option<&std::collections::HashSet<String>>, bool),
    sink: &mut Sink<'_>,
) -> Result<usize> {
    let header = read_header(name, &mut input)?;
    let samples = header.sample_names().len();
    let mut writer = noodles_vcf::io::Writer::new(Vec::new());
    writer.write_header(&header).map_err(|e| {
        Error::data(
            Location::file(name).line(1),
            format!("cannot write the BCF header as VCF text: {e}"),
        )
    })?;
    let mut line = 0u64;
    for l in writer.get_ref().split(|&b| b == b'\n') {
        if !l.is_empty() {
            line += 1;
            handed(sink, Item::Line(l), line, true)?;
        }
    }
    // The lazy `bcf::Record` (fields decoded as they are written out): the
    // eager `RecordBuf` allocates a vector per sample and value (scoring
    // 200,000 samples × 200 SNPs: 18.7 s and 388 MB with it, 8.1 s and
    // 52 MB with this). Its panics on some corrupt fields (an ID that is
    // not UTF-8) are caught by `guarded`.
    let mut record = noodles_bcf::Record::default();
    let (mut records, mut kept) = (0u64, 0usize);
    let mut rec = Vec::new();
    let mut quick = fast.then(|| Quick::new(&header));
    loop {
        line += 1;
        records += 1;
        let at = || Location::file(name).line(line);
        if !next_record(&mut input, &mut rec, (name, at(), records), samples)? {
            break;
        }
        noodles_bcf::io::Reader::from(&rec[..])
            .read_record(&mut record)
            .map_err(|e| {
                Error::data(
                    at(),
                    format!(
                        "cannot decode BCF record {records}: {e} ({TAIL}; is the file truncated?)"
                    ),
                )
            })?;
        // A record whose site shows it is not needed is not written out
        // (its samples are the time); whether a written record is needed is
        // read from its text, as for a VCF.
        let skip = ids.is_some_and(|ids| {
            site(&record, &header)
                .is_some_and(|s| !crate::data::vcf_filter::needed(s.as_bytes(), ids))
        });
        writer.get_mut().clear();
        if skip {
            handed(sink, Item::Line(&[]), line, false)?;
            continue;
        }
        if let Some(item) = quick.as_mut().and_then(|q| q.decode(&rec, &header)) {
            kept += 1;
            handed(sink, item, line, true)?;
            continue;
        }
        write_record(&mut writer, &header, &record).map_err(|e| {
            Error::data(
                at(),
                format!("cannot write the BCF record as VCF text: {e}"),
            )
        })?;
        let text = writer.get_ref();
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let wanted = ids.is_none_or(|ids| crate::data::vcf_filter::needed(text, ids));
        kept += usize::from(wanted);
        handed(sink, Item::Line(text), line, wanted)?;
    }
    Ok(kept)
}

/// A BCF typed value's descriptor: (type code, count), the count read
/// from the typed integer that follows when the descriptor says 15 (whose
/// own count must be 1: no recursion on corrupt bytes).
fn descriptor(src: &mut &[u8]) -> Option<(u8, usize)> {
    let (&d, rest) = src.split_first()?;
    *src = rest;
    let count = usize::from(d >> 4);
    if count < 15 {
        return Some((d & 0x0f, count));
    }
    let n = typed_int(src)?;
    Some((d & 0x0f, usize::try_from(n).ok()?))
}

/// A typed integer scalar (a dictionary key, an overflowed count): a
/// descriptor of count 1 and an integer type, then the value.
fn typed_int(src: &mut &[u8]) -> Option<i64> {
    let (&d, rest) = src.split_first()?;
    let size = match (d >> 4, d & 0x0f) {
        (1, 1) => 1,
        (1, 2) => 2,
        (1, 3) => 4,
        _ => return None,
    };
    let b = rest.get(..size)?;
    *src = &rest[size..];
    Some(match size {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        _ => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    })
}

/// Bytes of one value of BCF type `ty` (int8/16/32, float, char).
fn type_size(ty: u8) -> Option<usize> {
    match ty {
        1 | 7 => Some(1),
        2 => Some(2),
        3 | 5 => Some(4),
        _ => None,
    }
}

/// The route of [`decode`] that reads a record's dosages from its bytes:
/// for a record of GT/DS calls, what the VCF reader would read from the
/// text noodles writes of it, without the text of its samples (noodles
/// decoding every sample value made a dense BCF 3.6× slower to read than
/// its VCF: `bench/prs_vcf.sh`). The site fields are still noodles' text
/// (written from a copy of the record without samples, so every check
/// noodles' writer makes on CHROM … INFO is made).
struct Quick {
    /// The header without its samples.
    sites: noodles_vcf::Header,
    writer: noodles_vcf::io::Writer<Vec<u8>>,
    record: noodles_bcf::Record,
    /// The record's bytes without samples.
    copy: Vec<u8>,
    values: Vec<f64>,
}

impl Quick {
    fn new(header: &noodles_vcf::Header) -> Quick {
        let mut sites = header.clone();
        sites.sample_names_mut().clear();
        Quick {
            sites,
            writer: noodles_vcf::io::Writer::new(Vec::new()),
            record: noodles_bcf::Record::default(),
            copy: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Record `rec` (with its two lengths) decoded, or `None` when its text
    /// must decide: [`dosages`] declines it, noodles cannot write its site
    /// fields, or they hold a tab, start with `#` (a meta line to the
    /// reader) or have ALT `.` or several ALTs.
    fn decode(&mut self, rec: &[u8], header: &noodles_vcf::Header) -> Option<Item<'_>> {
        let gt_for_ds = dosages(rec, header, &mut self.values)?;
        let shared = rec.get(..4)?;
        let shared = u32::from_le_bytes([shared[0], shared[1], shared[2], shared[3]]) as usize;
        self.copy.clear();
        self.copy.extend_from_slice(rec.get(..8 + shared)?);
        self.copy[4..8].fill(0);
        self.copy.get_mut(28..32)?.fill(0);
        noodles_bcf::io::Reader::from(&self.copy[..])
            .read_record(&mut self.record)
            .ok()?;
        self.writer.get_mut().clear();
        let (writer, sites, record) = (&mut self.writer, &self.sites, &self.record);
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            writer.write_variant_record(sites, record)
        }));
        if !matches!(written, Ok(Ok(()))) {
            return None;
        }
        let text = std::str::from_utf8(self.writer.get_ref()).ok()?;
        let f: Vec<&str> = text.strip_suffix('\n')?.split('\t').collect();
        if f.len() != 8 || f[0].starts_with('#') || f[4] == "." || f[4].contains(',') {
            return None;
        }
        Some(Item::Decoded {
            site: [f[0], f[1], f[2], f[3], f[4]],
            values: &self.values,
            gt_for_ds,
        })
    }
}

/// Every sample's dosage in a BCF record, read from its bytes as the VCF
/// reader reads the record's text (DS else GT; a GT of one allele counts
/// twice). `rec` is the record with its two lengths; `values` receives the
/// dosages. Returns the number of samples whose missing DS fell back to
/// GT, or `None` for a record the text must decide (its message, or a
/// skip): one that is not a biallelic site with samples, whose FORMAT
/// fields are not exactly `n_fmt` fields filling the sample bytes, with
/// neither GT nor DS, a GT that is not the first field, not int8 with one
/// or two values per sample, or holds an empty call or an allele other than
/// missing, 0 and 1 (in any sample), a DS not declared Float, with several
/// values or outside 0–2, or another field noodles would not write
/// ([`plain_field`]).
///
/// BCF encodings from the VCF 4.4 specification, §6.3 (BCF2).
fn dosages(rec: &[u8], header: &noodles_vcf::Header, values: &mut Vec<f64>) -> Option<usize> {
    use noodles_vcf::header::record::value::map::format::Type;
    let word = |i: usize| {
        rec.get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (shared, indiv, n_fmt) = (word(0)?, word(4)?, *rec.get(31)?);
    let n_allele = word(24)? >> 16;
    let samples = header.sample_names().len();
    let mut src = rec.get(8 + shared..(8 + shared).checked_add(indiv)?)?;
    if n_fmt == 0 || samples == 0 || n_allele != 2 {
        return None;
    }
    // GT (values per sample, bytes) and DS (bytes).
    let mut gt: Option<(usize, &[u8])> = None;
    let mut ds: Option<&[u8]> = None;
    for k in 0..n_fmt {
        let key = usize::try_from(typed_int(&mut src)?).ok()?;
        let (ty, count) = descriptor(&mut src)?;
        let len = type_size(ty)?.checked_mul(count)?.checked_mul(samples)?;
        let data = src.get(..len)?;
        src = &src[len..];
        let name = header.string_maps().strings().get_index(key)?;
        // A key the header does not declare: noodles' text says so.
        let format = header.formats().get(name)?;
        match name {
            // GT must come first (VCF 4.4 §1.6.2; noodles refuses it later).
            "GT" if k == 0 && ty == 1 && (1..=2).contains(&count) => gt = Some((count, data)),
            "DS" if ds.is_none() && ty == 5 && count == 1 && format.ty() == Type::Float => {
                ds = Some(data)
            }
            "GT" | "DS" => return None,
            _ if plain_field(format, ty, count, data) => {}
            _ => return None,
        }
    }
    if !src.is_empty() || (gt.is_none() && ds.is_none()) {
        return None;
    }
    values.clear();
    let mut gt_for_ds = 0;
    for i in 0..samples {
        // Every call is checked, as noodles' text of it is written.
        let g = match gt {
            Some((count, g)) => call(&g[i * count..(i + 1) * count])?,
            None => f64::NAN,
        };
        if let Some(d) = ds {
            let bits = u32::from_le_bytes([d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]]);
            // 0x7f800001 is BCF's missing float.
            if bits != 0x7f80_0001 {
                values.push(ds_value(f32::from_bits(bits))?);
                continue;
            }
        }
        gt_for_ds += usize::from(ds.is_some() && !g.is_nan());
        values.push(g);
    }
    Some(gt_for_ds)
}

/// Whether a FORMAT field other than GT and DS (which the reader does not
/// read) is one noodles writes without an error or a panic: an Integer
/// or Float field stored as such, with at least one value a sample (one
/// when the header says `Number=1`), none of them a reserved value and no
/// scalar or first value the end of a vector (VCF 4.4 §6.3.3). Strings are
/// left to the text (a `:` or tab in one moves the fields after it).
fn plain_field(
    format: &noodles_vcf::header::record::value::Map<
        noodles_vcf::header::record::value::map::Format,
    >,
    ty: u8,
    count: usize,
    data: &[u8],
) -> bool {
    use noodles_vcf::header::record::value::map::format::{Number, Type};
    let scalar = format.number() == Number::Count(1);
    let size = match (format.ty(), ty) {
        (Type::Integer, 1) => 1,
        (Type::Integer, 2) => 2,
        (Type::Integer, 3) => 4,
        (Type::Float, 5) => 4,
        _ => return false,
    };
    if count == 0 || format.number() == Number::Count(0) || (scalar && count != 1) {
        return false;
    }
    // The value's offset from the type's missing value: 1 is the end of a
    // vector, 2–7 reserved (for a float, from 0x7f800001: 2–6 reserved, 7
    // a NaN, declined all the same).
    let special = |x: &[u8]| -> u32 {
        match x.len() {
            1 => u32::from(x[0]).wrapping_sub(0x80),
            2 => u32::from(u16::from_le_bytes([x[0], x[1]])).wrapping_sub(0x8000),
            _ if ty == 5 => u32::from_le_bytes([x[0], x[1], x[2], x[3]]).wrapping_sub(0x7f80_0001),
            _ => u32::from_le_bytes([x[0], x[1], x[2], x[3]]).wrapping_sub(0x8000_0000),
        }
    };
    data.chunks_exact(size * count).all(|v| {
        v.chunks_exact(size)
            .enumerate()
            .all(|(j, x)| match special(x) {
                1 => j > 0,
                2..=7 => false,
                _ => true,
            })
    })
}

/// A BCF DS value as the VCF reader reads its text (noodles writes the
/// f32's shortest decimal, the reader parses it as f64 and stores it as
/// f32): the f32 itself, for which the text gives the same f32 at every
/// f32 in 0–2 but one, 7.04e-26 ([`tests::every_f32_dosage_reads_back`],
/// run with `--ignored`); below 1e-20 the text is read. `None` outside
/// 0–2 (the text's message then).
fn ds_value(x: f32) -> Option<f64> {
    let v = f64::from(x);
    if !(0.0..=2.0).contains(&v) {
        return None;
    }
    if v != 0.0 && v < 1e-20 {
        return x.to_string().parse().ok();
    }
    Some(v)
}

/// ALT copies in one sample's BCF GT bytes, as [`crate::data::vcf::gt_dosage`]
/// reads its text: allele byte (index + 1) << 1 | phased, 0 for a missing
/// allele; the call ends at 0x81 (end of vector) or 0x80. `None` for an
/// empty call or an allele other than 0 and 1.
fn call(g: &[u8]) -> Option<f64> {
    let (mut alt, mut n, mut missing) = (0.0, 0, false);
    for &b in g {
        if b == 0x80 || b == 0x81 {
            break;
        }
        match b >> 1 {
            0 => missing = true,
            1 => {}
            2 => alt += 1.0,
            _ => return None,
        }
        n += 1;
    }
    match (n, missing) {
        (0, _) => None,
        (_, true) => Some(f64::NAN),
        (1, false) => Some(2.0 * alt),
        _ => Some(alt),
    }
}

/// Writes `record` as a VCF line. noodles 0.94 does not decode every valid
/// encoding: it stops with `todo!()` on a GT stored as 16-bit integers,
/// which bcftools writes at a site with more than 63 ALT alleles. Such a
/// multi-allelic site is written with its site fields and missing calls,
/// which the VCF reader skips and counts like any multi-allelic site; a
/// biallelic record noodles cannot write is an error.
fn write_record(
    writer: &mut noodles_vcf::io::Writer<Vec<u8>>,
    header: &noodles_vcf::Header,
    record: &noodles_bcf::Record,
) -> std::io::Result<()> {
    let lazy = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        writer.write_variant_record(header, record)
    }));
    let failed = match lazy {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => e,
        Err(_) => std::io::Error::other("noodles cannot decode its samples"),
    };
    writer.get_mut().clear();
    let site =
        site(record, header).filter(|s| s.rsplit('\t').next().is_some_and(|alt| alt.contains(',')));
    let Some(site) = site else {
        return Err(failed);
    };
    let out = writer.get_mut();
    out.extend_from_slice(site.as_bytes());
    out.extend_from_slice(b"\t.\t.\t.\tGT");
    for _ in 0..header.sample_names().len() {
        out.extend_from_slice(b"\t.");
    }
    out.push(b'\n');
    Ok(())
}

/// The first five fields of a record's VCF line (CHROM, POS, ID, REF,
/// ALT), enough to tell whether it is needed; `None` when one cannot be
/// decoded or REF holds a base other than A, C, G, T or N (noodles' writer
/// turns IUPAC codes into bases): the record is then written out and its
/// text decides.
fn site(record: &noodles_bcf::Record, header: &noodles_vcf::Header) -> Option<String> {
    use noodles_vcf::variant::record::{AlternateBases as _, Ids as _};
    let chrom = record.reference_sequence_name(header.string_maps()).ok()?;
    let pos = match record.variant_start() {
        Some(p) => usize::from(p.ok()?),
        None => 0,
    };
    let (ids, reference, alts) = (
        record.ids(),
        record.reference_bases(),
        record.alternate_bases(),
    );
    let ids: Vec<&str> = ids.iter().collect();
    let ids = if ids.is_empty() {
        ".".into()
    } else {
        ids.join(";")
    };
    let reference = std::str::from_utf8(reference.as_ref())
        .ok()
        .filter(|r| r.bytes().all(|b| b"ACGTNacgtn".contains(&b)))?;
    let alts = alts.iter().collect::<std::io::Result<Vec<&str>>>().ok()?;
    let alts = if alts.is_empty() {
        ".".into()
    } else {
        alts.join(",")
    };
    Some(format!("{chrom}\t{pos}\t{ids}\t{reference}\t{alts}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A file of the real-tool fixtures.
    fn real(f: &str) -> String {
        format!(
            "{}/tests/fixtures/genetics/real/{f}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// The fixture file `name` (bcftools `view -Ob`), inflated.
    fn inflated(name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(real(name)).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// The fixture BCF `base.bcf`, inflated.
    fn fixture() -> Vec<u8> {
        inflated("base.bcf")
    }

    /// The VCF text equals bcftools' own `view -Ov` of the same file
    /// (`base.vcf.gz` → `base.bcf` in make.sh), data lines and all.
    #[test]
    fn vcf_text_is_what_bcftools_prints() {
        let text = String::from_utf8(to_vcf_text("base.bcf", &fixture(), None).unwrap()).unwrap();
        let vcf = std::fs::read_to_string(real("base.vcf")).unwrap();
        let data = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with("##"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(data(&text), data(&vcf));
        // `bcftools view --no-version base.bcf` prints 7 `##` lines.
        assert_eq!(text.lines().filter(|l| l.starts_with("##")).count(), 7);
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

    /// A record's site (the five fields that tell whether it is needed)
    /// is read from the BCF as its written VCF line shows it: no ID, two
    /// IDs, several ALTs, ALT `.`, an indel, GT:DS, a haploid call and a
    /// caller's GT:AD:DP:GQ:PL:FT with missing values (`sites.bcf`, bcftools
    /// `view -Ob` of `sites.vcf`); the BCF reads as its VCF does; and records
    /// picked by those sites give the whole read's values.
    #[test]
    fn a_records_site_is_its_vcf_lines() {
        let path = &real("sites.bcf");
        let bytes = inflated("sites.bcf");
        let mut reader = noodles_bcf::io::Reader::from(&bytes[..]);
        let header = reader.read_header().unwrap();
        let mut writer = noodles_vcf::io::Writer::new(Vec::new());
        let mut n = 0;
        for record in reader.records() {
            let record = record.unwrap();
            writer.get_mut().clear();
            writer.write_variant_record(&header, &record).unwrap();
            let line = String::from_utf8(writer.get_ref().clone()).unwrap();
            let five: Vec<&str> = line.split('\t').take(5).collect();
            assert_eq!(site(&record, &header).unwrap(), five.join("\t"));
            n += 1;
        }
        assert_eq!(n, 8);
        let bits =
            |d: &crate::data::calls::Dosages| -> Vec<u64> { d.iter().map(f64::to_bits).collect() };
        let whole = read_table(path, None, false).unwrap().unwrap().table;
        // As its VCF (the same records as text) reads.
        let vcf = crate::data::vcf_filter::read(&path.replace(".bcf", ".vcf"), None, false)
            .unwrap()
            .unwrap()
            .table;
        assert_eq!(whole.snps(), vcf.snps());
        assert_eq!(whole.snps().len(), 7, "the multi-allelic rs13 is skipped");
        assert_eq!(whole.skipped_multiallelic, 1);
        for s in 0..vcf.snps().len() {
            assert_eq!(
                bits(&whole.values[s]),
                bits(&vcf.values[s]),
                "{}",
                vcf.snps()[s]
            );
            assert_eq!(whole.alleles[s], vcf.alleles[s]);
            // Lines count `bcftools view`'s header (it adds a FILTER line).
            let from_first = |t: &crate::data::dosage::DosageTable| t.snp_lines[s] - t.snp_lines[0];
            assert_eq!(from_first(&whole), from_first(&vcf));
        }
        let keep: std::collections::HashSet<String> =
            ["1:1000:A:G", "rs11;rs12", "rs15", "rs16", "rs17", "rs18"]
                .map(String::from)
                .into();
        let sub = read_table(path, Some(&keep), false).unwrap().unwrap().table;
        assert_eq!(
            sub.snps(),
            whole
                .snps()
                .iter()
                .filter(|s| *s != "rs14")
                .cloned()
                .collect::<Vec<_>>()
        );
        for (s, snp) in sub.snps().iter().enumerate() {
            let w = whole.find(snp).unwrap();
            assert_eq!(bits(&sub.values[s]), bits(&whole.values[w]), "{snp}");
            assert_eq!(sub.snp_lines[s], whole.snp_lines[w]);
        }
    }

    /// A record whose REF is an IUPAC code is named as its written text
    /// names it (noodles writes `R` as `A`) and is found when the BCF is
    /// read for that name; a record with no site fields (a zero first
    /// length) is an error, not the previous record again.
    #[test]
    fn iupac_ref_and_empty_record() {
        let whole = read_table(&real("iupac.bcf"), None, false)
            .unwrap()
            .unwrap()
            .table;
        assert_eq!(whole.snps(), ["1:9000:A:G", "rs19"]);
        let keep: std::collections::HashSet<String> = ["1:9000:A:G".to_string()].into();
        let sub = read_table(&real("iupac.bcf"), Some(&keep), false)
            .unwrap()
            .expect("the IUPAC record is found")
            .table;
        assert_eq!(sub.snps(), ["1:9000:A:G"]);
        // The records as plain bytes (not gzip), then 8 zero bytes.
        let mut raw = fixture();
        raw.extend_from_slice(&[0; 8]);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("zero.bcf");
        std::fs::write(&f, &raw).unwrap();
        let e = read_table(&f.display().to_string(), None, false)
            .err()
            .expect("a zero-length record is an error")
            .to_string();
        assert!(e.contains("has no site fields"), "{e}");
    }

    /// A site with 70 ALT alleles, whose GT bcftools stores as 16-bit
    /// integers (which noodles 0.94 cannot decode), is skipped and counted
    /// as multi-allelic, as the VCF of the same records is read; the sites
    /// around it read as the VCF's.
    #[test]
    fn a_site_with_many_alleles_is_skipped_as_in_the_vcf() {
        let bcf = read_table(&real("many_alleles.bcf"), None, false)
            .unwrap()
            .unwrap()
            .table;
        let vcf = crate::data::vcf_filter::read(&real("many_alleles.vcf"), None, false)
            .unwrap()
            .unwrap()
            .table;
        assert_eq!(bcf.snps(), ["rs1", "rs3"]);
        assert_eq!(bcf.snps(), vcf.snps());
        assert_eq!(bcf.skipped_multiallelic, 1);
        for s in 0..2 {
            let bits = |t: &crate::data::dosage::DosageTable| -> Vec<u64> {
                t.values[s].iter().map(f64::to_bits).collect()
            };
            assert_eq!(bits(&bcf), bits(&vcf));
        }
    }

    /// Read from the file as it is inflated, a BCF gives the table its
    /// whole VCF text gives (values by bits, alleles, line numbers, notes),
    /// whole or for some SNPs, BGZF or uncompressed; a truncated file is an
    /// error naming it, and a file that is not a BCF is left to the
    /// whole-file read.
    #[test]
    fn read_as_it_is_inflated() {
        use crate::data::dosage::DosageTable;
        use crate::data::input::{Delimiter, Loaded};
        let l = Loaded {
            name: "base.bcf".into(),
            base_name: "base.bcf".into(),
            bytes: to_vcf_text("base.bcf", &fixture(), None).unwrap(),
            sha256: String::new(),
        };
        let all = DosageTable::parse(&l, Delimiter::Byte(b'\t'), "x", false).unwrap();
        let bits =
            |d: &crate::data::calls::Dosages| -> Vec<u64> { d.iter().map(f64::to_bits).collect() };
        let keep: std::collections::HashSet<String> =
            all.snps().iter().step_by(3).cloned().collect();
        for name in ["base.bcf", "base_uncompressed.bcf"] {
            let every = read_table(&real(name), None, false).unwrap().unwrap();
            assert_eq!(every.sha256.len(), 64);
            let t = every.table;
            assert_eq!(t.snps(), all.snps(), "{name}");
            assert_eq!(t.ids, all.ids, "{name}");
            assert_eq!(t.notes.len(), all.notes.len(), "{name}");
            for s in 0..t.snps().len() {
                assert_eq!(bits(&t.values[s]), bits(&all.values[s]), "{name}");
                assert_eq!(t.alleles[s], all.alleles[s]);
                assert_eq!(t.snp_lines[s], all.snp_lines[s]);
            }
            let sub = read_table(&real(name), Some(&keep), false)
                .unwrap()
                .unwrap()
                .table;
            assert_eq!(sub.snps().len(), keep.len());
            for (s, snp) in sub.snps().iter().enumerate() {
                let w = all.find(snp).unwrap();
                assert_eq!(bits(&sub.values[s]), bits(&all.values[w]), "{snp}");
                assert_eq!(sub.snp_lines[s], all.snp_lines[w]);
            }
        }
        let none: std::collections::HashSet<String> = ["absent".to_string()].into();
        assert!(read_table(&real("base.bcf"), Some(&none), false)
            .unwrap()
            .is_none());
        assert!(read_table(&real("base.vcf"), None, false)
            .unwrap()
            .is_none());
        let dir = tempfile::tempdir().unwrap();
        let raw = std::fs::read(real("base_uncompressed.bcf")).unwrap();
        for cut in [7, raw.len() / 3, raw.len() - 5] {
            let f = dir.path().join("cut.bcf");
            std::fs::write(&f, &raw[..cut]).unwrap();
            let f = f.display().to_string();
            match read_table(&f, None, false) {
                // Too short to tell it is a BCF: left to the whole read.
                Ok(None) => assert_eq!(cut, 7),
                Ok(Some(_)) => panic!("a truncated BCF was read"),
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.starts_with(&f) && e.contains("truncated"), "{e}");
                }
            }
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

    /// Fixture BCFs with bytes changed at random, or cut short, read the
    /// same with records decoded from their bytes as through noodles'
    /// text (the same table or the same error), and never panic.
    #[test]
    fn corrupt_bcfs_read_alike_both_ways() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut decoded, mut errors) = (0, 0);
        for name in ["base.bcf", "dosage.bcf", "merged_ds_gt.bcf", "sites.bcf"] {
            let good = bytes_of(name);
            // Past the header: the records.
            let start = 9 + u32::from_le_bytes([good[5], good[6], good[7], good[8]]) as usize;
            for k in 0..300 {
                let mut bad = good.clone();
                if k % 10 == 0 {
                    bad.truncate(start + 1 + (next() as usize) % (good.len() - start - 1));
                }
                for _ in 0..1 + k % 3 {
                    let at = start + (next() as usize) % (bad.len() - start);
                    bad[at] = (next() >> 32) as u8;
                }
                let (fast, n) = parsed(&bad, true);
                same(&fast, &parsed(&bad, false).0);
                decoded += n;
                errors += usize::from(fast.is_err());
            }
        }
        assert!(decoded > 1000 && errors > 100, "{decoded} {errors}");
    }

    /// A BCF file's bytes, inflated when it is BGZF.
    fn bytes_of(name: &str) -> Vec<u8> {
        let raw = std::fs::read(real(name)).unwrap();
        if raw.starts_with(&[0x1f, 0x8b]) {
            inflated(name)
        } else {
            raw
        }
    }

    /// The table read from BCF `bytes` with records decoded from their
    /// bytes (`fast`) or through noodles' text, and how many were decoded.
    fn parsed(bytes: &[u8], fast: bool) -> (Result<DosageTable>, usize) {
        let mut parser = crate::data::vcf::Parser::new("f.bcf");
        let mut decoded = 0;
        let r = guarded("f.bcf", || {
            decode("f.bcf", bytes, (None, fast), &mut |item, n, wanted| {
                decoded += usize::from(matches!(item, Item::Decoded { .. }));
                if wanted {
                    parser.item(item, n)
                } else {
                    Ok(())
                }
            })
        });
        (r.and_then(|_| parser.finish()), decoded)
    }

    use crate::data::dosage::DosageTable;

    /// Both reads give the same table (names, alleles, lines, value bits,
    /// notes) or the same error.
    fn same(fast: &Result<DosageTable>, text: &Result<DosageTable>) {
        match (fast, text) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.snps(), b.snps());
                assert_eq!(a.alleles, b.alleles);
                assert_eq!(a.snp_lines, b.snp_lines);
                assert_eq!(a.skipped_multiallelic, b.skipped_multiallelic);
                assert_eq!(a.notes, b.notes);
                let bits = |t: &DosageTable| -> Vec<Vec<u64>> {
                    t.values
                        .iter()
                        .map(|d| d.iter().map(f64::to_bits).collect())
                        .collect()
                };
                assert_eq!(bits(a), bits(b));
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!(
                "decoded {:?}, text {:?}",
                a.as_ref().map(|_| ()),
                b.as_ref().map(|_| ())
            ),
        }
    }

    /// Every BCF written by bcftools reads the same with its records
    /// decoded from their bytes as through noodles' VCF text: hard calls,
    /// plink 2's DS (some cells without it, DS-force), a merge whose
    /// missing DS is BCF's missing float, unusual sites, an IUPAC REF and a
    /// 70-ALT site; and most records are decoded.
    #[test]
    fn decoded_records_read_as_their_text() {
        let mut decoded = 0;
        for (name, least) in [
            ("base.bcf", 20),
            ("base_uncompressed.bcf", 20),
            ("dosage.bcf", 20),
            ("dosage_force.bcf", 20),
            ("merged_ds_gt.bcf", 20),
            ("sites.bcf", 4),
            ("iupac.bcf", 1),
            ("many_alleles.bcf", 2),
        ] {
            let bytes = bytes_of(name);
            let (fast, n) = parsed(&bytes, true);
            let (text, none) = parsed(&bytes, false);
            assert!(fast.is_ok(), "{name}");
            same(&fast, &text);
            assert!(n >= least, "{name}: {n} records decoded");
            assert_eq!(none, 0);
            decoded += n;
        }
        assert!(decoded > 100);
        // Some cells of dosage.bcf have no DS: read from GT and noted.
        let t = parsed(&bytes_of("dosage.bcf"), true).0.unwrap();
        assert!(t.notes.iter().any(|n| n.contains("GT")), "{:?}", t.notes);
    }

    /// BCF's typed values (VCF 4.4 §6.3.3): a descriptor byte (type in the
    /// low 4 bits, count in the high 4) and a one-byte integer.
    fn typed(ty: u8, count: u8) -> u8 {
        (count << 4) | ty
    }

    /// A test record: ALT, FORMAT fields as (key, descriptor, bytes), QUAL
    /// bits, and a number added to the FORMAT field count (0: the true one).
    struct Rec<'a> {
        alt: &'a str,
        fields: Vec<(&'a str, u8, Vec<u8>)>,
        qual: u32,
        n_fmt_off: u8,
    }

    /// A BCF file (uncompressed) of the records `recs` over three samples,
    /// its header saying `##fileformat=VCFv{version}` and declaring DS of
    /// type `ds_type`.
    fn bcf((version, ds_type): (&str, &str), recs: &[Rec]) -> Vec<u8> {
        let text = format!(
            "##fileformat=VCFv{version}\n##FILTER=<ID=PASS,Description=\"All filters passed\">\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n##FORMAT=<ID=DS,Number=1,Type={ds_type},Description=\"Dosage\">\n##FORMAT=<ID=GP,Number=G,Type=Float,Description=\"Probabilities\">\n##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n##FORMAT=<ID=FT,Number=1,Type=String,Description=\"Filter\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\n\0"
        );
        let mut out = [
            b"BCF\x02\x02".as_slice(),
            &(text.len() as u32).to_le_bytes(),
            text.as_bytes(),
        ]
        .concat();
        let header = noodles_bcf::io::Reader::from(&out[..])
            .read_header()
            .unwrap();
        let key = |k: &str| header.string_maps().strings().get_index_of(k).unwrap() as u8;
        for (i, r) in recs.iter().enumerate() {
            let alleles: Vec<&str> = std::iter::once("A")
                .chain(r.alt.split(',').filter(|a| *a != "."))
                .collect();
            let id = format!("rs{i}");
            let mut shared = Vec::new();
            shared.extend(0i32.to_le_bytes());
            shared.extend((100 * i as i32).to_le_bytes());
            shared.extend(1i32.to_le_bytes());
            shared.extend(r.qual.to_le_bytes());
            shared.extend(((alleles.len() as u32) << 16).to_le_bytes());
            // 255 takes one off.
            let n_fmt = (r.fields.len() as u32 + u32::from(r.n_fmt_off)) & 0xff;
            shared.extend(((n_fmt << 24) | 3).to_le_bytes());
            shared.push(typed(7, id.len() as u8));
            shared.extend(id.as_bytes());
            for a in &alleles {
                shared.push(typed(7, a.len() as u8));
                shared.extend(a.as_bytes());
            }
            shared.push(0);
            let mut indiv = Vec::new();
            for (k, d, data) in &r.fields {
                indiv.extend([typed(1, 1), key(k), *d]);
                indiv.extend(data);
            }
            out.extend((shared.len() as u32).to_le_bytes());
            out.extend((indiv.len() as u32).to_le_bytes());
            out.extend(shared);
            out.extend(indiv);
        }
        out
    }

    /// The DS floats of the property test: missing, end of vector, NaN,
    /// hard calls, out of range, −0, the f32 whose text reads back
    /// otherwise, and any in 0–2.
    fn ds_bits() -> impl proptest::strategy::Strategy<Value = u32> {
        use proptest::prelude::*;
        prop_oneof![
            Just(0x7f80_0001u32),
            Just(0x7f80_0002),
            Just(f32::NAN.to_bits()),
            Just(0.0f32.to_bits()),
            Just(1.0f32.to_bits()),
            Just(2.0f32.to_bits()),
            Just(2.5f32.to_bits()),
            Just((-0.5f32).to_bits()),
            Just(0x8000_0000),
            Just(0x15ae_43fd),
            (0u32..=2.0f32.to_bits()),
        ]
    }

    /// Plain records (GT first, GP, DS, DP) under a VCF 4.4 header are
    /// every one decoded, and read as their text.
    #[test]
    fn plain_records_are_decoded() {
        let f = |v: [f32; 3]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let recs: Vec<Rec> = (0..4u8)
            .map(|i| Rec {
                alt: "G",
                fields: vec![
                    ("GT", typed(1, 2), vec![2, 4 | (i & 1), 4, 5, 4, 0x81]),
                    ("GP", typed(5, 3), f([0.1; 3]).repeat(3)),
                    (
                        "DS",
                        typed(5, 1),
                        f([0.25 * f32::from(i), 1.0, f32::from_bits(0x7f80_0001)]),
                    ),
                    ("DP", typed(1, 1), vec![7, 0x80, 9]),
                ],
                qual: 0x7f80_0001,
                n_fmt_off: 0,
            })
            .collect();
        for version in ["4.2", "4.4"] {
            let bytes = bcf((version, "Float"), &recs);
            let (fast, n) = parsed(&bytes, true);
            assert_eq!(n, 4);
            let t = fast.as_ref().unwrap();
            // S3: DS missing, GT `1` (haploid, ended by 0x81) counts 2.
            assert_eq!(t.values[1].iter().collect::<Vec<_>>(), [0.25, 1.0, 2.0]);
            same(&fast, &parsed(&bytes, false).0);
        }
    }

    proptest::proptest! {
        /// Records decoded from their bytes read as noodles' text of them
        /// reads (the same table, or the same error): GT of one or two
        /// values with missing alleles, phasing, ends of vector, alleles
        /// beyond 1; DS missing, odd or out of range, declared Float or
        /// Integer; a GP array, an Integer DP (missing, end of vector,
        /// reserved) and a String FT beside them; a FORMAT count off by
        /// one; odd QUAL values; VCF 4.2 and 4.4 headers; biallelic, ALT
        /// `.` and multi-allelic sites.
        #[test]
        fn decoding_agrees_with_the_text(
            recs in proptest::collection::vec(
                (
                    (0usize..3, proptest::sample::select(vec![0u8, 0, 0, 1, 255]), proptest::sample::select(vec![0x7f80_0001u32, 0x7f80_0002, 0x7f80_0005, 0x4120_0000])),
                    proptest::option::of((1u8..=2, proptest::collection::vec(
                        proptest::sample::select(vec![0u8, 1, 2, 3, 4, 5, 6, 0x80, 0x81]), 6))),
                    proptest::option::of(proptest::collection::vec(ds_bits(), 3)),
                    (proptest::bool::ANY, proptest::bool::ANY),
                    proptest::option::of(proptest::collection::vec(
                        proptest::sample::select(vec![0u8, 5, 0x80, 0x81, 0x83]), 3)),
                    proptest::bool::weighted(0.1),
                ),
                1..6,
            ),
            version in proptest::sample::select(vec!["4.2", "4.4"]),
            ds_type in proptest::sample::select(vec!["Float", "Float", "Integer"]),
        ) {
            let built: Vec<Rec> = recs
                .iter()
                .map(|((alt, off, qual), gt, ds, (gp, ds_first), dp, ft)| {
                    let mut fields = Vec::new();
                    if let Some((count, g)) = gt {
                        let bytes = g[..3 * *count as usize].to_vec();
                        fields.push(("GT", typed(1, *count), bytes));
                    }
                    if *gp {
                        let v: Vec<u8> = (0..9).flat_map(|k| (k as f32 / 9.0).to_le_bytes()).collect();
                        fields.push(("GP", typed(5, 3), v));
                    }
                    if let Some(d) = ds {
                        let f = ("DS", typed(5, 1), d.iter().flat_map(|b| b.to_le_bytes()).collect());
                        if *ds_first { fields.insert(0, f) } else { fields.push(f) }
                    }
                    if let Some(d) = dp {
                        fields.push(("DP", typed(1, 1), d.clone()));
                    }
                    if *ft {
                        fields.push(("FT", typed(7, 2), b"q1PASS".to_vec()));
                    }
                    if fields.is_empty() {
                        fields.push(("GP", typed(5, 3), vec![0; 36]));
                    }
                    Rec { alt: ["G", ".", "G,T"][*alt], fields, qual: *qual, n_fmt_off: *off }
                })
                .collect();
            let bytes = bcf((version, ds_type), &built);
            let (fast, _) = parsed(&bytes, true);
            let (text, _) = parsed(&bytes, false);
            same(&fast, &text);
        }
    }

    /// Every f32 in 0–2 is read from a BCF's bytes as from its text
    /// (about 6 minutes: `cargo test --release -- --ignored every_f32`);
    /// the test run checks every 997th and the one exception.
    fn f32_reads_back(step: usize) {
        let text = |x: f32| x.to_string().parse::<f64>().unwrap() as f32;
        for bits in (0..=2.0f32.to_bits()).step_by(step).chain([0x15ae_43fd]) {
            let x = f32::from_bits(bits);
            let direct = ds_value(x).unwrap() as f32;
            assert_eq!(direct.to_bits(), text(x).to_bits(), "{bits:#x}");
        }
        assert_ne!(text(f32::from_bits(0x15ae_43fd)).to_bits(), 0x15ae_43fd);
    }

    #[test]
    fn f32_dosages_read_back() {
        f32_reads_back(997);
    }

    #[test]
    #[ignore]
    fn every_f32_dosage_reads_back() {
        f32_reads_back(1);
    }
}
