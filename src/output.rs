//! Writing results safely.
//!
//! - A regular file (or a new one) is written atomically: a temporary file
//!   in the same folder, renamed into place on success; a failed or
//!   interrupted run leaves the old file and no temporary behind (removed on
//!   SIGINT/SIGTERM; after a SIGKILL the next run writing the same name
//!   sweeps temporaries whose process is gone).
//! - A symbolic link is resolved and its target replaced; a character
//!   device or FIFO (`/dev/null`, `/dev/stdout`, a pipe) is written straight
//!   through.
//! - No output may replace one of the running command's inputs, whatever
//!   the spelling (links and other paths to the same file are the same
//!   file): see [`protect_inputs`].
//! - Or stdout.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The running command's input files, by device and inode (with the name
/// the user gave).
static INPUTS: Mutex<Vec<(FileId, String)>> = Mutex::new(Vec::new());

/// Temporary files being written, removed if the process is interrupted.
static LIVE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A file's identity on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(FileId(meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        std::fs::canonicalize(path).ok().map(|p| {
            let h = Sha256::digest(p.to_string_lossy().as_bytes());
            FileId(u64::from_le_bytes(h[..8].try_into().unwrap_or([0; 8])), 0)
        })
    }
}

/// Records the files the running command reads (`-` for stdin is
/// skipped): writing an output over any of them is refused.
pub(crate) fn protect_inputs<S: AsRef<str>>(paths: impl IntoIterator<Item = S>) {
    let mut inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    for p in paths {
        let p = p.as_ref();
        if p == "-" {
            continue;
        }
        if let Some(id) = file_id(Path::new(p)) {
            inputs.push((id, p.to_string()));
        }
    }
}

/// The input that `path` would replace, if any.
fn protected(path: &Path) -> Option<String> {
    let id = file_id(path)?;
    let inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    inputs
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.clone())
}

fn register(path: &Path) {
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.get_or_insert_with(HashSet::new)
        .insert(path.to_path_buf());
}

fn unregister(path: &Path) {
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(set) = live.as_mut() {
        set.remove(path);
    }
}

/// Removes every temporary file being written (on SIGINT/SIGTERM or when
/// memory runs out, before the process exits). Does not wait for the list
/// (the failure may have happened while it was held).
pub(crate) fn remove_live_temporaries() {
    let live = match LIVE.try_lock() {
        Ok(l) => l,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if let Some(set) = live.as_ref() {
        for p in set {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Removes temporaries on SIGINT and SIGTERM, then exits with 128 + the
/// signal number (as a shell reports it).
pub(crate) fn install_signal_cleanup() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    remove_live_temporaries();
                    eprintln!("error: interrupted (signal {sig}); no output was written");
                    std::process::exit(128 + sig);
                }
            });
        }
    }
}

/// The start of the temporary names for `path`'s file name: short (8 hex
/// digits of its SHA-256), so any legal file name can be written.
fn temp_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let h = Sha256::digest(name.as_bytes());
    format!(".rsp-{:02x}{:02x}{:02x}{:02x}.", h[0], h[1], h[2], h[3])
}

/// Whether process `pid` is running (unknown: assumed running).
fn process_alive(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    !proc_dir.is_dir() || proc_dir.join(pid.to_string()).exists()
}

/// Removes temporaries of `path`'s name left in `dir` by processes that
/// are gone (a run killed with SIGKILL cannot clean up after itself).
fn sweep_stale(dir: &Path, path: &Path) {
    let stem = temp_stem(path);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&stem) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !process_alive(pid) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Follows symbolic links from `path` to the file they name (which may not
/// exist yet); at most 40 hops, as the kernel allows.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Keeps a temporary file on the list of files removed on interruption
/// while it exists under its temporary name.
struct Live(PathBuf);

impl Drop for Live {
    fn drop(&mut self) {
        unregister(&self.0);
    }
}

enum Target {
    /// A temporary next to the final path, renamed into place on commit.
    Atomic(BufWriter<NamedTempFile>, Live),
    /// A device or FIFO, written as it goes.
    Direct(BufWriter<File>),
}

/// A file that appears at its final path only when [`AtomicFile::commit`]
/// succeeds; dropped uncommitted, it leaves nothing behind. Devices and
/// FIFOs are written straight through.
pub(crate) struct AtomicFile {
    /// The path as given (for messages).
    path: PathBuf,
    /// Where the file goes (symbolic links resolved).
    real: PathBuf,
    target: Target,
}

impl AtomicFile {
    /// Prepares `path` for writing (so failures show early): refuses a
    /// folder and any input of the running command.
    pub(crate) fn create(path: impl AsRef<Path>) -> Result<AtomicFile> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| Error::Io {
            action: "cannot write",
            path: path.clone(),
            source,
        };
        if let Some(input) = protected(&path) {
            return Err(Error::usage(format!(
                "the output `{}` is the input `{input}`: writing it would destroy the input; choose another output file",
                path.display()
            )));
        }
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.is_dir() {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "it is a directory",
                )));
            }
            if !meta.is_file() {
                // A character device, FIFO or socket: write through.
                let file = OpenOptions::new().write(true).open(&path).map_err(io_err)?;
                return Ok(AtomicFile {
                    real: path.clone(),
                    path,
                    target: Target::Direct(BufWriter::new(file)),
                });
            }
        }
        let real = resolve_links(&path).map_err(io_err)?;
        let dir = match real.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the folder `{}` does not exist", dir.display()),
            )));
        }
        sweep_stale(&dir, &real);
        let mut builder = tempfile::Builder::new();
        let prefix = format!("{}{}.", temp_stem(&real), std::process::id());
        builder.prefix(&prefix).suffix(".tmp").rand_bytes(6);
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
        register(temp.path());
        let live = Live(temp.path().to_path_buf());
        Ok(AtomicFile {
            path,
            real,
            target: Target::Atomic(BufWriter::new(temp), live),
        })
    }

    /// The path as given.
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
        match self.target {
            Target::Direct(mut w) => w.flush().map_err(io_err),
            Target::Atomic(w, _live) => {
                let temp = w.into_inner().map_err(|e| io_err(e.into_error()))?;
                temp.as_file().sync_all().map_err(io_err)?;
                temp.persist(&self.real).map_err(|e| io_err(e.error))?;
                Ok(())
            }
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.target {
            Target::Atomic(w, _) => w.write(buf),
            Target::Direct(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::Atomic(w, _) => w.flush(),
            Target::Direct(w) => w.flush(),
        }
    }
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    AtomicFile::create(path)?.write_and_commit(bytes)
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

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_devices_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.csv");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // A dangling link: the file it names is created.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink("made.csv", &dangling).unwrap();
        write_file(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("made.csv")).unwrap(),
            "made"
        );
        // /dev/null stays a device.
        write_file(Path::new("/dev/null"), b"discarded").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("model.json");
        // A temporary of a process that cannot exist (pid 4294967295), one
        // of this process, and one of another output name.
        let dead = dir
            .path()
            .join(format!("{}4294967295.abcdef.tmp", temp_stem(&out)));
        let mine = dir.path().join(format!(
            "{}{}.abcdef.tmp",
            temp_stem(&out),
            std::process::id()
        ));
        let other = dir.path().join(format!(
            "{}4294967295.abcdef.tmp",
            temp_stem(Path::new("x"))
        ));
        for p in [&dead, &mine, &other] {
            std::fs::write(p, "x").unwrap();
        }
        write_file(&out, b"{}").unwrap();
        assert!(!dead.exists());
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn temporary_names_are_short() {
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join("x".repeat(250));
        write_file(&long, b"ok").unwrap();
        assert_eq!(std::fs::read_to_string(&long).unwrap(), "ok");
    }
}
