//! Writing results: atomically to files (temporary file in the same folder,
//! then rename) or to stdout.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file that appears at its final path only when [`AtomicFile::commit`]
/// succeeds; dropped uncommitted, it leaves nothing behind.
pub(crate) struct AtomicFile {
    path: PathBuf,
    temp: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Creates the temporary file next to `path` (so failures show early).
    pub(crate) fn create(path: impl AsRef<Path>) -> Result<AtomicFile> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| Error::Io {
            action: "cannot write",
            path: path.clone(),
            source,
        };
        if path.is_dir() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            )));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the folder `{}` does not exist", dir.display()),
            )));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Ordinary file permissions (the umask applies), not tempfile's 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        // tempfile's own message names the temporary path; keep the OS error.
        let temp = builder.tempfile_in(&dir).map_err(|e| {
            let kind = e.kind();
            io_err(io::Error::new(kind, kind.to_string()))
        })?;
        Ok(AtomicFile {
            path,
            temp: BufWriter::new(temp),
        })
    }

    /// The final path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes all of `bytes` and commits the file.
    pub(crate) fn write_and_commit(mut self, bytes: &[u8]) -> Result<()> {
        self.write_all(bytes).map_err(|source| Error::Io {
            action: "cannot write",
            path: self.path.clone(),
            source,
        })?;
        self.commit()
    }

    /// Flushes and renames the file into place.
    pub(crate) fn commit(self) -> Result<()> {
        let path = self.path.clone();
        let io_err = |source| Error::Io {
            action: "cannot write",
            path: path.clone(),
            source,
        };
        let temp = self.temp.into_inner().map_err(|e| io_err(e.into_error()))?;
        temp.as_file().sync_all().map_err(io_err)?;
        temp.persist(&path).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    AtomicFile::create(path)?.write_and_commit(bytes)
}

/// Where a command's results go.
pub(crate) enum Sink {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// A file written atomically.
    File(AtomicFile),
}

impl Sink {
    /// A file for `Some(path)`, else stdout.
    pub(crate) fn open(path: Option<&Path>) -> Result<Sink> {
        match path {
            Some(p) if p.as_os_str() != "-" => Ok(Sink::File(AtomicFile::create(p)?)),
            _ => Ok(Sink::Stdout(BufWriter::new(io::stdout()))),
        }
    }

    /// Whether results go to an interactive terminal.
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, Sink::Stdout(_)) && io::stdout().is_terminal()
    }

    /// Writes all of `text`, naming the destination on failure.
    pub(crate) fn write_text(&mut self, text: &str) -> Result<()> {
        self.write_all(text.as_bytes()).map_err(|e| self.error(e))
    }

    fn error(&self, source: io::Error) -> Error {
        let path = match self {
            Sink::Stdout(_) => PathBuf::from("<stdout>"),
            Sink::File(f) => f.path().to_path_buf(),
        };
        Error::Io {
            action: "cannot write",
            path,
            source,
        }
    }

    /// Flushes stdout or commits the file.
    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut w) => w.flush().map_err(|source| Error::Io {
                action: "cannot write",
                path: "<stdout>".into(),
                source,
            }),
            Sink::File(f) => f.commit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "whole");
    }

    #[test]
    fn missing_folder_is_an_error() {
        let e = AtomicFile::create("/nonexistent-dir-xyz/out.csv")
            .err()
            .unwrap();
        assert!(e
            .to_string()
            .contains("cannot write `/nonexistent-dir-xyz/out.csv`"));
    }
}
