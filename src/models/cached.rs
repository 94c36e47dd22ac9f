//! A lazily built, in-memory-only value inside a stored model (for example
//! a booster parsed from its JSON), so prediction in many batches builds it
//! once. It is never serialised and does not take part in comparisons.

use std::sync::OnceLock;

use crate::error::Result;

/// A value built on first use and then reused.
pub(crate) struct Cached<T>(OnceLock<T>);

impl<T> Cached<T> {
    /// The value, building it with `make` the first time.
    pub(crate) fn get_or_make(&self, make: impl FnOnce() -> Result<T>) -> Result<&T> {
        if let Some(v) = self.0.get() {
            return Ok(v);
        }
        let v = make()?;
        Ok(self.0.get_or_init(|| v))
    }
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(OnceLock::new())
    }
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached::default()
    }
}

impl<T> PartialEq for Cached<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Cached<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cached")
    }
}
