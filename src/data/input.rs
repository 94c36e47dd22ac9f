//! Opening input files: paths or stdin, gzip detection, delimiter choice and
//! the SHA-256 of the bytes as read.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};

/// How fields are separated in a text table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delimiter {
    /// A single byte such as `,` or `\t`.
    Byte(u8),
    /// Runs of spaces or tabs (PLINK `.raw`).
    Whitespace,
}

impl Delimiter {
    /// Parses a `--delimiter` value: `comma`, `tab`, `whitespace`, `semicolon`
    /// or any single character.
    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "comma" | "," => Ok(Delimiter::Byte(b',')),
            "tab" | "\\t" | "\t" => Ok(Delimiter::Byte(b'\t')),
            "semicolon" | ";" => Ok(Delimiter::Byte(b';')),
            "whitespace" | "space" | " " => Ok(Delimiter::Whitespace),
            other if other.len() == 1 && other.is_ascii() => Ok(Delimiter::Byte(other.as_bytes()[0])),
            other => Err(Error::usage(format!(
                "invalid delimiter `{other}`: use comma, tab, semicolon, whitespace or a single character"
            ))),
        }
    }
}

/// Reads everything from `r`, reserving memory before filling it (`hint`
/// bytes first, then in steps): running out of memory is an error.
fn read_all(mut r: impl Read, hint: u64) -> std::io::Result<Vec<u8>> {
    let oom = |n: usize| {
        std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("not enough memory to hold {} MB of it", n >> 20),
        )
    };
    let mut buf: Vec<u8> = Vec::new();
    let first = usize::try_from(hint)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    buf.try_reserve_exact(first).map_err(|_| oom(first))?;
    loop {
        if buf.len() == buf.capacity() {
            let more = buf.capacity().max(1 << 20);
            buf.try_reserve(more).map_err(|_| oom(buf.len() + more))?;
        }
        let len = buf.len();
        let window = (buf.capacity() - len).min(1 << 20);
        buf.resize(len + window, 0);
        match r.read(&mut buf[len..]) {
            Ok(0) => {
                buf.truncate(len);
                return Ok(buf);
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(len),
            Err(e) => return Err(e),
        }
    }
}

/// A whole input file in memory, decompressed, with its name and hash.
pub(crate) struct Loaded {
    /// Name used in messages (`<stdin>` for `-`).
    pub(crate) name: String,
    /// Bare file name stored in bundles (no directories).
    pub(crate) base_name: String,
    /// Decompressed contents.
    pub(crate) bytes: Vec<u8>,
    /// SHA-256 (hex) of the bytes as read (before decompression).
    pub(crate) sha256: String,
}

#[cfg(test)]
impl Loaded {
    /// An in-memory file for tests.
    pub(crate) fn from_text(name: &str, text: &str) -> Loaded {
        Loaded {
            name: name.into(),
            base_name: name.into(),
            bytes: text.as_bytes().to_vec(),
            sha256: String::new(),
        }
    }
}

impl Loaded {
    /// Reads `path` (or stdin for `-`), transparently decompressing gzip.
    /// Memory for the contents is reserved before it is filled, so a file
    /// too large for the machine is an error, not an abort.
    pub(crate) fn read(path: &str) -> Result<Loaded> {
        Loaded::read_genotypes(path, (None, None))
    }

    /// As [`Loaded::read`]; a PLINK 1 fileset (named by its `.bed` or its
    /// prefix) becomes the text of its `.raw` export, of the SNPs in `keep`
    /// only when given; a BCF becomes VCF text, of the records of
    /// `text_keep` only when given (a VCF is filtered by
    /// [`super::GenotypeInput::read`]).
    pub(crate) fn read_genotypes(
        path: &str,
        (keep, text_keep): (
            Option<&std::collections::HashSet<String>>,
            Option<&std::collections::HashSet<String>>,
        ),
    ) -> Result<Loaded> {
        if path != "-" {
            if let Some(bed) = crate::data::bed::resolve(path) {
                if bed.exists() && crate::data::bed::looks_like_bed(&bed) {
                    return crate::data::bed::load(&bed, keep);
                }
            }
        }
        let prefixed = match crate::data::bed::resolve(path) {
            Some(b) if path != "-" && !Path::new(path).exists() => b.display().to_string(),
            _ => path.to_string(),
        };
        let path = prefixed.as_str();
        let io = |p: &str| {
            let p = p.to_string();
            move |source| Error::Io {
                action: "cannot read",
                path: p.clone().into(),
                source,
            }
        };
        let (name, raw) = if path == "-" {
            let buf = read_all(std::io::stdin().lock(), 0).map_err(io("<stdin>"))?;
            ("<stdin>".to_string(), buf)
        } else {
            let p = Path::new(path);
            if p.is_dir() {
                return Err(Error::data(
                    Location::file(path),
                    "is a directory, not a file",
                ));
            }
            let file = std::fs::File::open(p).map_err(io(path))?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let buf = read_all(file, len).map_err(io(path))?;
            (path.to_string(), buf)
        };
        let sha256 = hex(&Sha256::digest(&raw));
        let gzipped = raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
        let bytes = if gzipped {
            read_all(
                flate2::read::MultiGzDecoder::new(&raw[..]),
                raw.len() as u64 * 4,
            )
            .map_err(|e| {
                Error::data(
                    Location::file(&name),
                    format!("cannot decompress gzip data: {e} (is the file truncated?)"),
                )
            })?
        } else {
            raw
        };
        let mut bytes = if crate::data::bcf::is_bcf(&bytes) {
            crate::data::bcf::to_vcf_text(&name, &bytes, text_keep)?
        } else {
            bytes
        };
        refuse_binary(&name, &bytes)?;
        classic_mac_line_ends(&mut bytes);
        let base_name = Path::new(&name)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.clone());
        Ok(Loaded {
            name,
            base_name,
            bytes,
            sha256,
        })
    }

    /// Picks the delimiter: the override if given, else from the extension
    /// (`.csv`, `.tsv`, `.raw`, with `.gz` ignored), else by sniffing the header.
    pub(crate) fn delimiter(&self, overridden: Option<Delimiter>) -> Delimiter {
        if let Some(d) = overridden {
            return d;
        }
        let lower = self.name.to_ascii_lowercase();
        let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
        let first = self.bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let count = |c: u8| first.iter().filter(|&&b| b == c).count();
        if stem.ends_with(".csv") {
            // A European spreadsheet's "CSV" is `;`-separated.
            if count(b',') == 0 && count(b';') > 0 {
                return Delimiter::Byte(b';');
            }
            return Delimiter::Byte(b',');
        }
        if stem.ends_with(".tsv") || stem.ends_with(".tab") {
            return Delimiter::Byte(b'\t');
        }
        if stem.ends_with(".raw") {
            return Delimiter::Whitespace;
        }
        let (commas, tabs, semis) = (count(b','), count(b'\t'), count(b';'));
        if tabs > commas && tabs >= semis {
            Delimiter::Byte(b'\t')
        } else if semis > commas {
            Delimiter::Byte(b';')
        } else if commas == 0 && tabs == 0 && first.contains(&b' ') {
            Delimiter::Whitespace
        } else {
            Delimiter::Byte(b',')
        }
    }
}

/// Refuses files that are not text, saying what they are and how to get a
/// text file from them: PLINK binary (.bed/.pgen), BGEN, ZIP (an
/// Excel workbook), old Office files, UTF-16 text and anything with NUL
/// bytes near the start. No byte of the file is echoed.
fn refuse_binary(name: &str, bytes: &[u8]) -> Result<()> {
    let head = &bytes[..bytes.len().min(8192)];
    let why = if head.starts_with(&[0x6c, 0x1b]) {
        "is a PLINK binary genotype file: pass a PLINK 1 fileset by its .bed (with the .bim and .fam next to it); convert a plink2 .pgen with `plink2 --pfile PREFIX --make-bed --out NEW` (or `--export A` for a .raw file)"
    } else if head.get(16..20) == Some(b"bgen".as_slice()) {
        "is a BGEN file, which cannot be read: convert it with `plink2 --bgen FILE ref-first --sample FILE.sample --export A` and pass the .raw file"
    } else if head.starts_with(b"PK\x03\x04") {
        "is a ZIP archive (an Excel .xlsx workbook?): save the sheet as CSV (UTF-8) and pass that"
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "is an Office document (an Excel .xls workbook?): save the sheet as CSV (UTF-8) and pass that"
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        "is UTF-16 text: save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)"
    } else if head.iter().filter(|&&b| b == 0).count() * 100 > head.len() {
        // (A stray NUL in a cell is left to the readers, which name it.)
        "is not a text file (it contains NUL bytes): pass a CSV/TSV table, a PLINK .raw file or a VCF"
    } else {
        return Ok(());
    };
    Err(Error::data(Location::file(name), why))
}

/// Turns classic-Mac line ends (a carriage return not followed by a line
/// feed) into line feeds, in place, so every reader counts lines right.
/// CRLF is left alone.
fn classic_mac_line_ends(bytes: &mut [u8]) {
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\r', &bytes[at..]) {
        let i = at + i;
        if bytes.get(i + 1) != Some(&b'\n') {
            bytes[i] = b'\n';
        }
        at = i + 1;
    }
}

/// The empty block that ends every BGZF file bgzip, bcftools and htslib
/// write (SAM/BAM specification §4.1.2, "End-of-file marker").
const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

/// A note for stderr when the file at `path` is BGZF (gzip whose first
/// block carries the `BC` extra field) but does not end with the
/// end-of-file block: a copy cut at a block boundary (a killed `bgzip` or
/// `bcftools` run) decompresses cleanly with its last records missing.
/// htslib warns the same ("no BGZF EOF marker; file may be truncated").
pub(crate) fn bgzf_truncation_note(path: &str) -> Option<String> {
    use std::io::{Seek, SeekFrom};
    // A regular file only: reopening a named pipe would block.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let mut head = [0u8; 16];
    f.read_exact(&mut head).ok()?;
    let bgzf = head[..4] == BGZF_EOF[..4] && head[12..14] == *b"BC";
    if !bgzf {
        return None;
    }
    let len = f.metadata().ok()?.len();
    let mut tail = [0u8; 28];
    let ends = len >= 28
        && f.seek(SeekFrom::Start(len - 28)).is_ok()
        && f.read_exact(&mut tail).is_ok()
        && tail == BGZF_EOF;
    (!ends).then(|| {
        format!(
            "{path}: the BGZF file does not end with the end-of-file block bgzip and bcftools write, so it may be truncated (records after a cut would be absent): check it with `bgzip -t {path}`"
        )
    })
}

/// Lower-case hexadecimal of a byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(name: &str, bytes: &[u8]) -> Loaded {
        Loaded {
            name: name.into(),
            base_name: name.into(),
            bytes: bytes.to_vec(),
            sha256: String::new(),
        }
    }

    #[test]
    fn delimiter_from_extension_and_sniffing() {
        assert_eq!(
            loaded("a.tsv.gz", b"").delimiter(None),
            Delimiter::Byte(b'\t')
        );
        assert_eq!(loaded("a.raw", b"").delimiter(None), Delimiter::Whitespace);
        assert_eq!(
            loaded("a.CSV", b"a\tb").delimiter(None),
            Delimiter::Byte(b',')
        );
        assert_eq!(
            loaded("<stdin>", b"a\tb\tc\n").delimiter(None),
            Delimiter::Byte(b'\t')
        );
        assert_eq!(
            loaded("<stdin>", b"a,b\n").delimiter(None),
            Delimiter::Byte(b',')
        );
        assert_eq!(
            loaded("a.csv", b"").delimiter(Some(Delimiter::Byte(b';'))),
            Delimiter::Byte(b';')
        );
    }

    #[test]
    fn semicolon_csv_is_sniffed() {
        assert_eq!(
            loaded("a.csv", b"id;age\n1;2\n").delimiter(None),
            Delimiter::Byte(b';')
        );
        assert_eq!(
            loaded("a.csv", b"id,age;x\n").delimiter(None),
            Delimiter::Byte(b',')
        );
    }

    #[test]
    fn classic_mac_line_ends_become_line_feeds() {
        let mut b = b"a,b\r1,2\r\n3,4\r".to_vec();
        classic_mac_line_ends(&mut b);
        assert_eq!(b, b"a,b\n1,2\r\n3,4\n");
    }

    #[test]
    fn binary_files_are_named_not_echoed() {
        for (bytes, needle) in [
            (&[0x6c, 0x1b, 0x01, 0xff][..], "PLINK binary"),
            (&b"PK\x03\x04\x00"[..], "ZIP archive"),
            (&[0xFF, 0xFE, b'a', 0][..], "UTF-16"),
            (&b"id\0x\0\n\x001\0,\x002\n"[..], "NUL bytes"),
            (&b"\x14\0\0\0\x14\0\0\0\x05\0\0\0\x02\0\0\0bgen"[..], "BGEN"),
        ] {
            let e = refuse_binary("f", bytes).unwrap_err().to_string();
            assert!(e.starts_with("f: ") && e.contains(needle), "{e}");
        }
        assert!(refuse_binary("f", b"id,x\n1,2\n").is_ok());
        assert!(refuse_binary("f", b"id,x\n1,2\n3,4\n5,6\n7,8\n9,1\0\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n0,1\n2,3\n4,5\n6,7\n8,9\n").is_ok());
    }

    #[test]
    fn delimiter_parse() {
        assert_eq!(Delimiter::parse("tab").unwrap(), Delimiter::Byte(b'\t'));
        assert_eq!(Delimiter::parse("|").unwrap(), Delimiter::Byte(b'|'));
        assert!(Delimiter::parse("ab").is_err());
    }
}
