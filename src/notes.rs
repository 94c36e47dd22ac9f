//! Messages for humans that the library collects while it works (files
//! joined, rows left out, SNPs flipped, cautions) and the command line
//! prints on stderr: the layers below `cli` never print.

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// Information (hidden with `--quiet`).
    Info(String),
    /// A caution (always printed, as `warning: …`).
    Warning(String),
}

/// Messages in the order they arose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Notes(Vec<Note>);

impl Notes {
    /// An informational message; one that a reader wrote as
    /// `warning: …` is a caution.
    pub(crate) fn info(&mut self, message: impl Into<String>) {
        let message = message.into();
        match message.strip_prefix("warning: ") {
            Some(w) => self.0.push(Note::Warning(w.to_string())),
            None => self.0.push(Note::Info(message)),
        }
    }

    /// A caution.
    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        self.0.push(Note::Warning(message.into()));
    }

    /// The messages.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Note> {
        self.0.iter()
    }
}
