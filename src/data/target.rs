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
    /// A numeric outcome compared with a linear expression of other
    /// columns, e.g. `madrs_wk6 <= 0.5 * madrs_baseline`.
    Relative {
        /// The comparison.
        op: CmpOp,
        /// The expression's constant.
        constant: f64,
        /// Its terms `coefficient × column`.
        terms: Vec<Term>,
    },
}

/// One term `coefficient × column` of a relative rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Term {
    /// The coefficient.
    pub(crate) coefficient: f64,
    /// The column (a baseline measurement, known before treatment).
    pub(crate) column: String,
}

impl TargetRule {
    /// Parses `--responder-if`: `'OP NUMBER'`, or `'TARGET OP EXPRESSION'`
    /// where the expression adds numbers, columns and `number * column`
    /// terms (e.g. `'madrs_wk6 <= 0.5 * madrs_baseline'`).
    pub(crate) fn parse_rule(s: &str, target: &str) -> Result<TargetRule> {
        let t = s.trim();
        if t.starts_with(['<', '>', '=', '!']) {
            return TargetRule::parse_threshold(s);
        }
        let tokens = tokenize(t).map_err(|m| {
            Error::usage(format!("--responder-if `{s}`: {m} (example: --responder-if '{target} <= 0.5 * madrs_baseline')"))
        })?;
        let op_at = tokens.iter().position(|k| matches!(k, Tok::Op(_)));
        let (Some(i), Some(Tok::Name(lhs))) = (op_at, tokens.first()) else {
            return Err(Error::usage(format!(
                "--responder-if `{s}` must be an operator and a number ('<= -50') or `{target} OP EXPRESSION` ('{target} <= 0.5 * madrs_baseline')"
            )));
        };
        if i != 1 || lhs != target {
            return Err(Error::usage(format!(
                "--responder-if `{s}`: the left side must be the target `{target}` alone (the columns to compare with go on the right)"
            )));
        }
        let Tok::Op(op) = tokens[1] else {
            unreachable!("position found an operator")
        };
        let (constant, terms) =
            linear(&tokens[2..]).map_err(|m| Error::usage(format!("--responder-if `{s}`: {m}")))?;
        if terms.is_empty() {
            return Ok(TargetRule::Threshold {
                op,
                value: constant,
            });
        }
        if let Some(t) = terms.iter().find(|t| t.column == target) {
            return Err(Error::usage(format!(
                "--responder-if `{s}`: the target `{}` cannot also be on the right side",
                t.column
            )));
        }
        Ok(TargetRule::Relative {
            op,
            constant,
            terms,
        })
    }

    /// The columns a rule reads besides the target.
    pub(crate) fn columns(&self) -> Vec<&str> {
        match self {
            TargetRule::Relative { terms, .. } => terms.iter().map(|t| t.column.as_str()).collect(),
            _ => Vec::new(),
        }
    }

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
            TargetRule::Relative {
                op,
                constant,
                terms,
            } => {
                let mut rhs = String::new();
                for (k, t) in terms.iter().enumerate() {
                    let c = t.coefficient;
                    let sign = if c < 0.0 {
                        "- "
                    } else if k > 0 {
                        "+ "
                    } else {
                        ""
                    };
                    rhs.push_str(sign);
                    if c.abs() != 1.0 {
                        rhs.push_str(&format!("{} × ", c.abs()));
                    }
                    rhs.push_str(&format!("`{}` ", t.column));
                }
                if *constant != 0.0 {
                    rhs.push_str(&format!(
                        "{} {}",
                        if *constant < 0.0 { "-" } else { "+" },
                        constant.abs()
                    ));
                }
                format!("`{column}` {} {}", op.symbol(), rhs.trim_end())
            }
        }
    }
}

/// A token of a `--responder-if` expression.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(CmpOp),
    Plus,
    Minus,
    Times,
}

/// Splits an expression into numbers, column names (bare, or in
/// backquotes when they hold other characters), `+ - *` and comparisons.
fn tokenize(s: &str) -> std::result::Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '`' {
            let end = b[i + 1..]
                .iter()
                .position(|&x| x == '`')
                .ok_or("a backquoted column name is not closed")?;
            out.push(Tok::Name(b[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if c.is_ascii_digit() || (c == '.' && b.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || b[i] == '.'
                    || ((b[i] == 'e' || b[i] == 'E') && i + 1 < b.len())
                    || ((b[i] == '+' || b[i] == '-') && matches!(b[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            out.push(Tok::Num(
                text.parse::<f64>()
                    .map_err(|_| format!("`{text}` is not a number"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '.') {
                i += 1;
            }
            out.push(Tok::Name(b[start..i].iter().collect()));
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            let (tok, len) = match (two.as_str(), c) {
                ("<=", _) => (Tok::Op(CmpOp::Le), 2),
                (">=", _) => (Tok::Op(CmpOp::Ge), 2),
                ("==", _) => (Tok::Op(CmpOp::Eq), 2),
                ("!=", _) => (Tok::Op(CmpOp::Ne), 2),
                (_, '<') => (Tok::Op(CmpOp::Lt), 1),
                (_, '>') => (Tok::Op(CmpOp::Gt), 1),
                (_, '=') => (Tok::Op(CmpOp::Eq), 1),
                (_, '+') => (Tok::Plus, 1),
                (_, '-') => (Tok::Minus, 1),
                (_, '*') => (Tok::Times, 1),
                _ => return Err(format!("unexpected `{c}`")),
            };
            out.push(tok);
            i += len;
        }
    }
    Ok(out)
}

/// A sum of terms: `[+|-] (NUMBER | NAME | NUMBER * NAME | NAME * NUMBER)`
/// repeated; returns the constant and the column terms (a column named
/// twice is summed).
fn linear(t: &[Tok]) -> std::result::Result<(f64, Vec<Term>), String> {
    if t.is_empty() {
        return Err("nothing to compare with after the operator".into());
    }
    let mut constant = 0.0;
    let mut terms: Vec<Term> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let mut sign = 1.0;
        while let Some(Tok::Plus | Tok::Minus) = t.get(i) {
            if t[i] == Tok::Minus {
                sign = -sign;
            }
            i += 1;
        }
        let (coef, column, used) = match (t.get(i), t.get(i + 1), t.get(i + 2)) {
            (Some(Tok::Num(a)), Some(Tok::Times), Some(Tok::Name(n))) => (*a, Some(n), 3),
            (Some(Tok::Name(n)), Some(Tok::Times), Some(Tok::Num(a))) => (*a, Some(n), 3),
            (Some(Tok::Num(a)), _, _) => (*a, None, 1),
            (Some(Tok::Name(n)), _, _) => (1.0, Some(n), 1),
            (Some(other), _, _) => {
                return Err(format!(
                    "expected a number or a column, found {}",
                    describe(other)
                ))
            }
            (None, _, _) => return Err("the expression ends with an operator".into()),
        };
        i += used;
        match column {
            Some(name) => match terms.iter_mut().find(|x| &x.column == name) {
                Some(x) => x.coefficient += sign * coef,
                None => terms.push(Term {
                    coefficient: sign * coef,
                    column: name.clone(),
                }),
            },
            None => constant += sign * coef,
        }
        match t.get(i) {
            None | Some(Tok::Plus | Tok::Minus) => {}
            Some(other) => {
                return Err(format!(
                    "expected + or - between terms, found {} (only sums of `number * column` terms are supported)",
                    describe(other)
                ))
            }
        }
    }
    if !constant.is_finite() || terms.iter().any(|x| !x.coefficient.is_finite()) {
        return Err("a number is too large".into());
    }
    Ok((constant, terms))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(v) => format!("the number {v}"),
        Tok::Name(n) => format!("the column `{n}`"),
        Tok::Op(o) => format!("a second comparison `{}`", o.symbol()),
        Tok::Plus => "`+`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Times => "`*`".into(),
    }
}

/// Responder status of every joined patient (`None` = missing target).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// One entry per joined row.
    pub(crate) values: Vec<Option<bool>>,
    /// Rows whose target was missing, or a value the rule compares with
    /// (those are also in `n_missing_rule`).
    pub(crate) n_missing: usize,
    /// Rows with a target but a missing value in a column of the rule.
    pub(crate) n_missing_rule: usize,
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
        let refs: Vec<(usize, f64)> = match rule {
            TargetRule::Relative { terms, .. } => terms
                .iter()
                .map(|t| Ok((ds.data.require(&t.column)?, t.coefficient)))
                .collect::<Result<_>>()?,
            _ => Vec::new(),
        };
        let mut n_missing_rule = 0;
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
                TargetRule::Threshold { op, value } => Some(op.apply(number(ds, r, col)?, *value)),
                TargetRule::Relative { op, constant, .. } => {
                    let x = number(ds, r, col)?;
                    let mut rhs = *constant;
                    let mut missing = false;
                    for &(c, k) in &refs {
                        if is_missing(&ds.data.columns[c][r]) {
                            missing = true;
                        } else {
                            rhs += k * number(ds, r, c)?;
                        }
                    }
                    if missing {
                        n_missing_rule += 1;
                        None
                    } else {
                        Some(op.apply(x, rhs))
                    }
                }
            };
            values.push(v);
        }
        let loc = Location::file(&ds.data.file).column(column);
        check_labels(rule, &labels, loc.clone(), one_class_ok)?;
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
        Ok(Target {
            values,
            n_missing,
            n_missing_rule,
        })
    }
}

/// The labels seen (label → count, first row) fit `rule`: 0/1-like words
/// for `Binary`, the named label and one other for `Positive`.
fn check_labels(
    rule: &TargetRule,
    labels: &BTreeMap<&str, (usize, usize)>,
    loc: Location,
    one_class_ok: bool,
) -> Result<()> {
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
                        label_list(labels)
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
                        label_list(labels)
                    ),
                ));
            }
            if labels.len() > 2 {
                return Err(Error::data(
                    loc,
                    format!(
                        "the target has {} labels ({}) but --positive needs exactly two; recode it or use --responder-if",
                        labels.len(),
                        label_list(labels)
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The number in table row `r`, column `c`, or an error naming the cell.
fn number(ds: &Dataset, r: usize, c: usize) -> Result<f64> {
    let cell = &ds.data.columns[c][r];
    parse_number(cell).ok_or_else(|| {
        Error::data(
            ds.data.loc(r, c),
            format!(
                "`{cell}` is not a number, but --responder-if compares numbers{}",
                crate::data::table::decimal_comma_hint(cell)
            ),
        )
    })
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
    fn parses_relative_rules() {
        let r = TargetRule::parse_rule("madrs_wk6 <= 0.5 * madrs_baseline", "madrs_wk6").unwrap();
        assert_eq!(
            r,
            TargetRule::Relative {
                op: CmpOp::Le,
                constant: 0.0,
                terms: vec![Term {
                    coefficient: 0.5,
                    column: "madrs_baseline".into()
                }]
            }
        );
        assert_eq!(
            r.describe("madrs_wk6"),
            "`madrs_wk6` <= 0.5 × `madrs_baseline`"
        );
        // A constant alone is the old threshold rule.
        assert_eq!(
            TargetRule::parse_rule("madrs_wk6 <= 10", "madrs_wk6").unwrap(),
            TargetRule::Threshold {
                op: CmpOp::Le,
                value: 10.0
            }
        );
        assert_eq!(
            TargetRule::parse_rule("<= -50", "x").unwrap(),
            TargetRule::Threshold {
                op: CmpOp::Le,
                value: -50.0
            }
        );
        let r = TargetRule::parse_rule("post < `bdi.pre` * 0.5 - 2 + a - a * 2", "post").unwrap();
        let TargetRule::Relative {
            constant, terms, ..
        } = &r
        else {
            panic!("{r:?}")
        };
        assert_eq!(*constant, -2.0);
        assert_eq!(terms.len(), 2);
        assert_eq!(terms[0].coefficient, 0.5);
        assert_eq!(terms[1].coefficient, -1.0);
        assert_eq!(r.describe("post"), "`post` < 0.5 × `bdi.pre` - `a` - 2");
        for (rule, msg) in [
            ("other <= 0.5 * base", "the left side must be the target"),
            ("y <= 0.5 * base * 2", "expected + or -"),
            ("y <= ", "nothing to compare with"),
            ("y <= base +", "ends with an operator"),
            ("y <= y * 0.5", "cannot also be on the right"),
            ("y <= `base", "not closed"),
            ("y <= base / 2", "unexpected `/`"),
            ("y <= base <= 3", "a second comparison"),
            ("y", "must be an operator"),
        ] {
            let e = TargetRule::parse_rule(rule, "y").unwrap_err().to_string();
            assert!(e.contains(msg), "{rule}: {e}");
        }
    }

    #[test]
    fn binary_words() {
        assert_eq!(binary_word("Yes"), Some(true));
        assert_eq!(binary_word("0"), Some(false));
        assert_eq!(binary_word("maybe"), None);
    }
}
