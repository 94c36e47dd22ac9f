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

    /// A floating-point parameter, with `ok` as its validity check.
    pub(crate) fn f64(
        &self,
        algorithm: &str,
        valid: &[ParamInfo],
        key: &str,
        default: f64,
        ok: impl Fn(f64) -> bool,
        rule: &str,
    ) -> Result<f64> {
        match self.pairs.get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && ok(x) => Ok(x),
                _ => Err(Error::usage(format!(
                    "--param {key}={v} for {algorithm}: {key} must be {rule}; valid: {}",
                    list(valid)
                ))),
            },
        }
    }

    /// An integer parameter, with `ok` as its validity check.
    pub(crate) fn usize(
        &self,
        algorithm: &str,
        valid: &[ParamInfo],
        key: &str,
        default: usize,
        ok: impl Fn(usize) -> bool,
        rule: &str,
    ) -> Result<usize> {
        match self.pairs.get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(x) if ok(x) => Ok(x),
                _ => Err(Error::usage(format!(
                    "--param {key}={v} for {algorithm}: {key} must be {rule}; valid: {}",
                    list(valid)
                ))),
            },
        }
    }
}

fn list(valid: &[ParamInfo]) -> String {
    valid
        .iter()
        .map(|p| format!("{} (default {})", p.key, p.default))
        .collect::<Vec<_>>()
        .join(", ")
}
