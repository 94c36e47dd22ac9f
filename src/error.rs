//! The library's error type. Every message names the file, and where it can
//! the line and the column, so a researcher can find the problem.

use std::fmt;
use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input file a problem was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// File name as the user gave it (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line number, when known.
    pub line: Option<u64>,
    /// Column name, when known.
    pub column: Option<String>,
}

impl Location {
    /// A location naming only the file.
    pub(crate) fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// Adds a line number.
    pub(crate) fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Adds a column name (shortened and escaped as [`shown`] does).
    pub(crate) fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(shown(&column.into(), SHOWN_CHARS));
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in responder.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{action} `{path}`")]
    Io {
        /// What we were doing ("cannot read", "cannot write").
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bad content in an input file.
    #[error("{location}: {message}")]
    Data {
        /// Where the problem is.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// Columns the command needs are absent from a file.
    #[error("{file}: missing column{} {}; the file has: {}{}", if missing.len() == 1 { "" } else { "s" }, quote_all(missing), quote_list(available), hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    MissingColumns {
        /// The file.
        file: String,
        /// Every required column that is absent.
        missing: Vec<String>,
        /// The columns the file does have.
        available: Vec<String>,
        /// A suggestion, if any.
        hint: Option<String>,
    },
    /// A model bundle that cannot be used.
    #[error("{file}: {message}")]
    Model {
        /// The bundle file.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// Flags that do not make sense together, or a bad flag value.
    #[error("{0}")]
    Usage(String),
    /// A model could not be fitted.
    #[error("{0}")]
    Fit(String),
}

impl Error {
    /// Shorthand for a data error; quoted values in `message` are
    /// shortened and escaped (see [`tidy`]).
    pub(crate) fn data(location: Location, message: impl Into<String>) -> Self {
        Error::Data {
            location,
            message: tidy(&message.into()),
        }
    }

    /// Shorthand for a usage error (quoted values tidied as for data).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::Usage(tidy(&message.into()))
    }

    /// The exit status: 2 for a usage error (as clap's own), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// True when the error is a closed pipe on output (e.g. `| head`).
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
            _ => false,
        }
    }
}

/// Characters of a quoted value shown in a message.
pub(crate) const SHOWN_CHARS: usize = 60;

/// `s` for a message: control characters escaped (a NUL shows as
/// `\u{0}`, not as nothing) and at most `max` characters, with the length
/// of a longer value said.
pub(crate) fn shown(s: &str, max: usize) -> String {
    let mut out = String::new();
    let n = s.chars().count();
    for c in s
        .chars()
        .take(if n > max { max.saturating_sub(1) } else { max })
    {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if n > max {
        out.push_str(&format!("… ({n} characters)"));
    }
    out
}

/// A message with every `` `quoted` `` value passed through [`shown`], and
/// control characters outside quotes escaped too: a 1 MB cell or a NUL
/// byte never reaches the terminal raw.
pub(crate) fn tidy(message: &str) -> String {
    if !message.chars().any(|c| c.is_control()) && message.len() < 200 {
        return message.to_string();
    }
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                shown(part, SHOWN_CHARS)
            } else {
                shown(part, usize::MAX)
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// Formats every name as `` `a`, `b`, `c` ``.
pub(crate) fn quote_all<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Formats names as `` `a`, `b`, `c` ``, shortening very long lists.
pub(crate) fn quote_list(names: &[String]) -> String {
    const SHOW: usize = 40;
    let mut out = quote_all(names.iter().take(SHOW));
    if names.len() > SHOW {
        out.push_str(&format!(", … and {} more", names.len() - SHOW));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_formats_all_parts() {
        let loc = Location::file("a.csv").line(3).column("age");
        assert_eq!(loc.to_string(), "a.csv, line 3, column `age`");
        assert_eq!(Location::file("a.csv").to_string(), "a.csv");
    }

    #[test]
    fn quoted_values_are_shortened_and_escaped() {
        assert_eq!(shown("3\u{0}7", 60), "3\\u{0}7");
        let long = "x".repeat(1_000_000);
        let m = tidy(&format!("`{long}` is not a number"));
        assert!(m.len() < 120, "{}", m.len());
        assert!(
            m.ends_with("… (1000000 characters)` is not a number"),
            "{m}"
        );
        assert_eq!(tidy("plain `msg`"), "plain `msg`");
        assert_eq!(
            Location::file("a.csv").column("ab\tc").to_string(),
            "a.csv, column `ab\\tc`"
        );
    }

    #[test]
    fn missing_columns_lists_both_sides() {
        let e = Error::MissingColumns {
            file: "x.csv".into(),
            missing: vec!["a".into(), "b".into()],
            available: vec!["c".into()],
            hint: None,
        };
        assert_eq!(
            e.to_string(),
            "x.csv: missing columns `a`, `b`; the file has: `c`"
        );
    }
}
