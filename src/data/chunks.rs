//! Reading a text table a block of lines at a time, so that `score` can
//! stream files of any length in bounded memory. Each block is handed out
//! as a small in-memory file (the header line followed by the block's
//! lines, every line ending in `\n`), which the ordinary parsers read.
//! Line ends may be `\n`, `\r\n` or a lone `\r` (classic Mac); no line may
//! be longer than [`MAX_LINE`]. Callers fall back to reading the whole file
//! when a block fails, so errors name the file's own lines.

use std::fs::File;
use std::io::{BufRead, BufReader};

use crate::data::input::Loaded;
use crate::error::{Error, Location, Result};

/// The longest line accepted (a genotype line of 1,000,000 SNPs is 2 MB).
pub(crate) const MAX_LINE: usize = 256 << 20;

/// A file read as header + blocks of lines.
pub(crate) struct LineBlocks {
    name: String,
    base_name: String,
    reader: Box<dyn BufRead + Send>,
    header: Vec<u8>,
    /// Lines read so far (for the long-line error).
    line: u64,
    /// The last byte read was a `\r`: a `\n` right after it ends the same line.
    after_cr: bool,
    done: bool,
}

/// One block: a parseable in-memory file.
pub(crate) struct Block {
    /// Header + the block's lines.
    pub(crate) loaded: Loaded,
    /// Whether a line has an odd number of double quotes: a quoted field
    /// that goes on past the line end, which a block cannot hold.
    pub(crate) open_quote: bool,
}

impl LineBlocks {
    /// Opens `path` (gzip detected by its magic bytes) and reads its header.
    pub(crate) fn open(path: &str) -> Result<LineBlocks> {
        let io = |source| Error::Io {
            action: "cannot read",
            path: path.into(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let mut buf = BufReader::with_capacity(1 << 20, file);
        let gz = {
            let head = buf.fill_buf().map_err(io)?;
            head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
        };
        let reader: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(buf),
            ))
        } else {
            Box::new(buf)
        };
        let base_name = std::path::Path::new(path)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string());
        let mut blocks = LineBlocks {
            name: path.to_string(),
            base_name,
            reader,
            header: Vec::new(),
            line: 0,
            after_cr: false,
            done: false,
        };
        // The header is the first non-blank line.
        loop {
            let mut line = Vec::new();
            if !blocks.read_line(&mut line)? {
                blocks.done = true;
                break;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                blocks.header = line;
                break;
            }
        }
        Ok(blocks)
    }

    /// Appends the next line to `out`, ending it with `\n` whatever its
    /// line end was; `false` at the end of the file.
    fn read_line(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        let start = out.len();
        loop {
            let buf = self.reader.fill_buf().map_err(|e| Error::Io {
                action: "cannot read",
                path: self.name.clone().into(),
                source: e,
            })?;
            if buf.is_empty() {
                if out.len() == start {
                    return Ok(false);
                }
                out.push(b'\n');
                self.line += 1;
                return Ok(true);
            }
            // A `\n` right after a `\r` closes the previous line.
            if self.after_cr && buf[0] == b'\n' {
                self.reader.consume(1);
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match memchr::memchr2(b'\n', b'\r', buf) {
                Some(i) => {
                    out.extend_from_slice(&buf[..i]);
                    self.after_cr = buf[i] == b'\r';
                    self.reader.consume(i + 1);
                    out.push(b'\n');
                    self.line += 1;
                    return Ok(true);
                }
                None => {
                    let n = buf.len();
                    out.extend_from_slice(buf);
                    self.reader.consume(n);
                    if out.len() - start > MAX_LINE {
                        return Err(Error::data(
                            Location::file(&self.name).line(self.line + 1),
                            format!(
                                "the line is longer than {} MiB: is this a table with one patient per line?",
                                MAX_LINE >> 20
                            ),
                        ));
                    }
                }
            }
        }
    }

    /// The next block of up to `max_rows` non-blank lines, or `None` at the end.
    pub(crate) fn next_block(&mut self, max_rows: usize) -> Result<Option<Block>> {
        if self.done {
            return Ok(None);
        }
        let mut bytes = self.header.clone();
        let mut rows = 0;
        let mut open_quote = false;
        while rows < max_rows {
            let start = bytes.len();
            if !self.read_line(&mut bytes)? {
                self.done = true;
                break;
            }
            let line = &bytes[start..];
            open_quote |= line.iter().filter(|&&b| b == b'"').count() % 2 == 1;
            if !line.iter().all(u8::is_ascii_whitespace) {
                rows += 1;
            }
        }
        if rows == 0 {
            return Ok(None);
        }
        Ok(Some(Block {
            loaded: Loaded {
                name: self.name.clone(),
                base_name: self.base_name.clone(),
                bytes,
                sha256: String::new(),
            },
            open_quote,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &[u8], rows: usize) -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, text).unwrap();
        let mut b = LineBlocks::open(p.to_str().unwrap()).unwrap();
        let mut out = Vec::new();
        while let Some(block) = b.next_block(rows).unwrap() {
            out.push(block.loaded.bytes);
        }
        out
    }

    #[test]
    fn blocks_carry_the_header() {
        let b = blocks(b"\nid,x\nA,1\n\nB,2\nC,3\n", 2);
        assert_eq!(b, [b"id,x\nA,1\n\nB,2\n".to_vec(), b"id,x\nC,3\n".to_vec()]);
    }

    #[test]
    fn every_line_end_is_a_line_end() {
        let want = [b"id,x\nA,1\nB,2\n".to_vec(), b"id,x\nC,3\n".to_vec()];
        for text in [
            &b"id,x\rA,1\rB,2\rC,3\r"[..],
            b"id,x\r\nA,1\r\nB,2\r\nC,3",
            b"id,x\nA,1\r\nB,2\rC,3\n",
        ] {
            assert_eq!(blocks(text, 2), want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn quotes_within_a_line_stream_and_open_quotes_are_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.csv");
        std::fs::write(&p, "id,x\n\"A\",\"1\"\n\"B\n2\",3\n").unwrap();
        let mut b = LineBlocks::open(p.to_str().unwrap()).unwrap();
        assert!(!b.next_block(1).unwrap().unwrap().open_quote);
        assert!(b.next_block(1).unwrap().unwrap().open_quote);
    }
}
