//! Reading a text table a block of lines at a time, so that `score` can
//! stream files of any length in bounded memory. Each block is handed out
//! as a small in-memory file (the header line followed by the block's
//! lines), which the ordinary parsers read. Callers fall back to reading
//! the whole file when a block fails, so errors name the file's own lines.

use std::fs::File;
use std::io::{BufRead, BufReader};

use crate::data::input::Loaded;
use crate::error::{Error, Result};

/// A file read as header + blocks of lines.
pub(crate) struct LineBlocks {
    name: String,
    base_name: String,
    reader: Box<dyn BufRead + Send>,
    header: Vec<u8>,
    done: bool,
}

/// One block: a parseable in-memory file.
pub(crate) struct Block {
    /// Header + the block's lines.
    pub(crate) loaded: Loaded,
    /// Whether a line holds a double quote (a quoted field may span lines).
    pub(crate) has_quotes: bool,
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
            done: false,
        };
        // The header is the first non-blank line.
        loop {
            let mut line = Vec::new();
            let n = blocks.read_line(&mut line)?;
            if n == 0 {
                blocks.done = true;
                break;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                blocks.header = line;
                break;
            }
        }
        Ok(blocks)
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        let n = self.reader.read_until(b'\n', out).map_err(|e| Error::Io {
            action: "cannot read",
            path: self.name.clone().into(),
            source: e,
        })?;
        Ok(n)
    }

    /// The next block of up to `max_rows` non-blank lines, or `None` at the end.
    pub(crate) fn next_block(&mut self, max_rows: usize) -> Result<Option<Block>> {
        if self.done {
            return Ok(None);
        }
        let mut bytes = self.header.clone();
        let mut rows = 0;
        let mut has_quotes = false;
        while rows < max_rows {
            let start = bytes.len();
            let n = self.read_line(&mut bytes)?;
            if n == 0 {
                self.done = true;
                break;
            }
            let line = &bytes[start..];
            has_quotes |= line.contains(&b'"');
            if !line.iter().all(u8::is_ascii_whitespace) {
                rows += 1;
            }
            if !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
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
            has_quotes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_carry_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "\nid,x\nA,1\n\nB,2\nC,3\n").unwrap();
        let mut b = LineBlocks::open(p.to_str().unwrap()).unwrap();
        let first = b.next_block(2).unwrap().unwrap();
        assert_eq!(first.loaded.bytes, b"id,x\nA,1\n\nB,2\n");
        let second = b.next_block(2).unwrap().unwrap();
        assert_eq!(second.loaded.bytes, b"id,x\nC,3\n");
        assert!(b.next_block(2).unwrap().is_none());
    }
}
