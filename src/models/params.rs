//! `--param KEY=VALUE` handling shared by every algorithm.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One hyper-parameter an algorithm accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamInfo {
    /// Key used with `--param`.
    pub(crate) key: &'static str,
    /// Default value, as text.
    pub(crate) default: &'static str,
    /// What it does.
    pub(crate) help: &'static str,
}

/// The `--param` pairs as given, checked against an algorithm's keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawParams {
    pairs: BTreeMap<String, String>,
}

impl RawParams {
    /// Parses `KEY=VALUE` strings; a key given twice is an error.
    pub(crate) fn parse(items: &[String]) -> Result<RawParams> {
        let mut pairs = BTreeMap::new();
        for item in items {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                Error::usage(format!(
                    "--param `{item}` must be KEY=VALUE, e.g. --param c=0.5"
                ))
            })?;
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if pairs.insert(k.clone(), v).is_some() {
                return Err(Error::usage(format!("--param `{k}` is given twice")));
            }
        }
        Ok(RawParams { pairs })
    }

    /// Errors if any key is not among `valid`, listing valid keys and defaults.
    pub(crate) fn check_keys(&self, algorithm: &str, valid: &[ParamInfo]) -> Result<()> {
        for k in self.pairs.keys() {
            if !valid.iter().any(|p| p.key == k) {
                return Err(Error::usage(format!(
                    "unknown parameter `{k}` for {algorithm}; valid: {}",
                    list(valid)
                )));
            }
        }
        Ok(())
    }

    /// A text parameter as given.
    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        self.pairs.get(key).map(String::as_str)
    }

    /// A reader of `algorithm`'s parameters, after checking every key is
    /// one of `valid`.
    pub(crate) fn reader<'a>(
        &'a self,
        algorithm: &'a str,
        valid: &'a [ParamInfo],
    ) -> Result<ParamReader<'a>> {
        self.check_keys(algorithm, valid)?;
        Ok(ParamReader {
            raw: self,
            algorithm,
            valid,
        })
    }
}

/// The allowed values of a number parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Range {
    /// `x > lo`.
    Above(f64),
    /// `x >= lo`.
    AtLeast(f64),
    /// `lo <= x <= hi`.
    Within(f64, f64),
    /// `lo < x <= hi`.
    AboveUpTo(f64, f64),
}

impl Range {
    fn contains(self, x: f64) -> bool {
        match self {
            Range::Above(lo) => x > lo,
            Range::AtLeast(lo) => x >= lo,
            Range::Within(lo, hi) => (lo..=hi).contains(&x),
            Range::AboveUpTo(lo, hi) => x > lo && x <= hi,
        }
    }

    fn rule(self) -> String {
        match self {
            Range::Above(lo) => format!("a number > {lo}"),
            Range::AtLeast(lo) => format!("a number >= {lo}"),
            Range::Within(lo, hi) => format!("between {lo} and {hi}"),
            Range::AboveUpTo(lo, hi) => format!("in ({lo}, {hi}]"),
        }
    }
}

/// Reads one algorithm's parameters, each with its default and range;
/// an out-of-range value is a usage error listing the valid keys.
pub(crate) struct ParamReader<'a> {
    raw: &'a RawParams,
    algorithm: &'a str,
    valid: &'a [ParamInfo],
}

impl ParamReader<'_> {
    fn bad(&self, key: &str, v: &str, rule: &str) -> Error {
        Error::usage(format!(
            "--param {key}={v} for {}: {key} must be {rule}; valid: {}",
            self.algorithm,
            list(self.valid)
        ))
    }

    /// A number in `range` (finite), or `default`.
    pub(crate) fn num(&self, key: &str, default: f64, range: Range) -> Result<f64> {
        match self.raw.pairs.get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && range.contains(x) => Ok(x),
                _ => Err(self.bad(key, v, &range.rule())),
            },
        }
    }

    /// An integer from `lo` to `hi` (no upper limit for `usize::MAX`), or
    /// `default`.
    pub(crate) fn int(&self, key: &str, default: usize, lo: usize, hi: usize) -> Result<usize> {
        let rule = if hi == usize::MAX {
            format!("an integer >= {lo}")
        } else {
            format!("{lo} to {hi}")
        };
        self.int_where(key, default, |x| (lo..=hi).contains(&x), &rule)
    }

    /// An integer accepted by `ok` (described by `rule`), or `default`.
    pub(crate) fn int_where(
        &self,
        key: &str,
        default: usize,
        ok: impl Fn(usize) -> bool,
        rule: &str,
    ) -> Result<usize> {
        match self.raw.pairs.get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(x) if ok(x) => Ok(x),
                _ => Err(self.bad(key, v, rule)),
            },
        }
    }

    /// A text parameter as given.
    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        self.raw.text(key)
    }
}

fn list(valid: &[ParamInfo]) -> String {
    valid
        .iter()
        .map(|p| format!("{} (default {})", p.key, p.default))
        .collect::<Vec<_>>()
        .join(", ")
}
