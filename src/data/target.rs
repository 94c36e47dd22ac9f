//! Turning the target column into responder yes/no per patient.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::{is_missing, parse_number, Dataset};
use crate::error::{Error, Location, Result};

/// A comparison for `--responder-if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CmpOp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
}

/// How the target column defines a responder; stored in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub(crate) enum TargetRule {
    /// `0/1`, `true/false` or `yes/no` (1, true, yes = responder).
    Binary,
    /// The given label is a responder; the one other label is not.
    Positive {
        /// The responder label.
        label: String,
    },
    /// A numeric outcome compared with a threshold, e.g. `<= -50`.
    Threshold {
        /// The comparison.
        op: CmpOp,
        /// The threshold.
        value: f64,
    },
}

impl TargetRule {
    /// Parses `--responder-if 'OP NUMBER'`.
    pub(crate) fn parse_threshold(s: &str) -> Result<TargetRule> {
        let t = s.trim();
        let ops = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
            ("=", CmpOp::Eq),
        ];
        for (sym, op) in ops {
            if let Some(rest) = t.strip_prefix(sym) {
                return match parse_number(rest) {
                    Some(value) => Ok(TargetRule::Threshold { op, value }),
                    None => Err(Error::usage(format!(
                        "--responder-if `{s}`: `{}` is not a number (example: --responder-if '<= -50')",
                        rest.trim()
                    ))),
                };
            }
        }
        Err(Error::usage(format!(
            "--responder-if `{s}` must be an operator (<, <=, >, >=, ==, !=) and a number, e.g. '<= -50'"
        )))
    }

    /// Human description, e.g. "`madrs_change` <= -50".
    pub(crate) fn describe(&self, column: &str) -> String {
        match self {
            TargetRule::Binary => format!("`{column}` is 1/true/yes"),
            TargetRule::Positive { label } => format!("`{column}` == `{label}`"),
            TargetRule::Threshold { op, value } => format!("`{column}` {} {value}", op.symbol()),
        }
    }
}

/// Responder status of every joined patient (`None` = missing target).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// One entry per joined row.
    pub(crate) values: Vec<Option<bool>>,
    /// Rows whose target was missing.
    pub(crate) n_missing: usize,
}

fn binary_word(cell: &str) -> Option<bool> {
    let c = cell.to_ascii_lowercase();
    match c.as_str() {
        "1" | "1.0" | "true" | "yes" | "y" | "t" => Some(true),
        "0" | "0.0" | "false" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}

impl Target {
    /// Reads the target column under `rule`; both classes must be present
    /// (a model needs both).
    pub(crate) fn read(ds: &Dataset, column: &str, rule: &TargetRule) -> Result<Target> {
        Target::read_inner(ds, column, rule, false)
    }

    /// Reads the target column under `rule` for evaluation: a column with a
    /// single class is accepted (metrics that need both classes are then
    /// reported as undefined). Every value missing is still an error.
    pub(crate) fn read_labels(ds: &Dataset, column: &str, rule: &TargetRule) -> Result<Target> {
        Target::read_inner(ds, column, rule, true)
    }

    fn read_inner(
        ds: &Dataset,
        column: &str,
        rule: &TargetRule,
        one_class_ok: bool,
    ) -> Result<Target> {
        let col = ds.data.require(column)?;
        let mut values = Vec::with_capacity(ds.n_rows());
        let mut labels: BTreeMap<&str, (usize, usize)> = BTreeMap::new(); // label -> (count, first row)
        for (r, cell) in ds.data_cells(col) {
            if is_missing(cell) {
                values.push(None);
                continue;
            }
            let entry = labels.entry(cell).or_insert((0, r));
            entry.0 += 1;
            let v = match rule {
                TargetRule::Binary => binary_word(cell),
                TargetRule::Positive { label } => Some(cell == label),
                TargetRule::Threshold { op, value } => match parse_number(cell) {
                    Some(x) => Some(op.apply(x, *value)),
                    None => {
                        return Err(Error::data(
                            ds.data.loc(r, col),
                            format!(
                                "`{cell}` is not a number, but --responder-if compares numbers{}",
                                crate::data::table::decimal_comma_hint(cell)
                            ),
                        ))
                    }
                },
            };
            values.push(v);
        }
        let loc = Location::file(&ds.data.file).column(column);
        let label_list = |labels: &BTreeMap<&str, (usize, usize)>| {
            labels
                .iter()
                .take(10)
                .map(|(l, (n, _))| format!("`{l}` ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match rule {
            TargetRule::Binary => {
                let bad = labels.keys().any(|l| binary_word(l).is_none());
                if bad {
                    let numeric = labels.keys().all(|l| parse_number(l).is_some());
                    let hint = if numeric && labels.len() > 2 {
                        "a numeric outcome needs --responder-if, e.g. --responder-if '<= -50'"
                    } else if labels.len() == 2 {
                        "name the responder label with --positive LABEL"
                    } else {
                        "use --positive LABEL for two labels, or --responder-if 'OP NUMBER' for a numeric outcome"
                    };
                    return Err(Error::data(
                        loc,
                        format!(
                            "the target is not 0/1, true/false or yes/no: {} label{} {}; {hint}",
                            labels.len(),
                            if labels.len() == 1 { "" } else { "s" },
                            label_list(&labels)
                        ),
                    ));
                }
            }
            TargetRule::Positive { label } => {
                let only_negatives = one_class_ok && labels.len() == 1;
                if !labels.contains_key(label.as_str()) && !only_negatives {
                    return Err(Error::data(
                        loc,
                        format!(
                            "--positive `{label}` never occurs; the labels are {}",
                            label_list(&labels)
                        ),
                    ));
                }
                if labels.len() > 2 {
                    return Err(Error::data(
                        loc,
                        format!(
                            "the target has {} labels ({}) but --positive needs exactly two; recode it or use --responder-if",
                            labels.len(),
                            label_list(&labels)
                        ),
                    ));
                }
            }
            _ => {}
        }
        let n_missing = values.iter().filter(|v| v.is_none()).count();
        let pos = values.iter().filter(|v| **v == Some(true)).count();
        let neg = values.iter().filter(|v| **v == Some(false)).count();
        if pos + neg == 0 {
            return Err(Error::data(loc, "every target value is missing"));
        }
        if (pos == 0 || neg == 0) && !one_class_ok {
            return Err(Error::data(
                loc,
                format!(
                    "the target has one class only ({} responders, {} non-responders under the rule {}); a model needs both",
                    pos,
                    neg,
                    rule.describe(column)
                ),
            ));
        }
        Ok(Target { values, n_missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_threshold_rules() {
        assert_eq!(
            TargetRule::parse_threshold("<= -50").unwrap(),
            TargetRule::Threshold {
                op: CmpOp::Le,
                value: -50.0
            }
        );
        assert_eq!(
            TargetRule::parse_threshold(">0.5").unwrap(),
            TargetRule::Threshold {
                op: CmpOp::Gt,
                value: 0.5
            }
        );
        assert!(TargetRule::parse_threshold("about 5").is_err());
        assert!(TargetRule::parse_threshold("<= x").is_err());
    }

    #[test]
    fn binary_words() {
        assert_eq!(binary_word("Yes"), Some(true));
        assert_eq!(binary_word("0"), Some(false));
        assert_eq!(binary_word("maybe"), None);
    }
}
