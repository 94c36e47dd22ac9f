//! What `train` checks in the training features before trusting a model:
//! the share of missing values per feature, and features that may leak
//! the outcome (a single feature that alone separates responders, or a
//! name that marks a post-baseline measurement).

use crate::bundle::{FeatureMissing, LeakSuspect};
use crate::features::frame::{Frame, Values, MISSING_CODE};
use crate::stats::scores::auc;

/// Above this share of missing values a feature is named in a warning.
pub(crate) const MISSING_WARN: f64 = 0.20;
/// A single feature with an AUC this far from 0.5 (≥ 0.90 or ≤ 0.10)
/// alone separates responders: it is named as a possible leak.
pub(crate) const LEAK_AUC: f64 = 0.90;
/// Categorical features with more levels than this are not scored for
/// leakage (their level-wise response rates would overfit).
const MAX_LEVELS: usize = 20;
/// Fewest non-missing rows for a single-feature AUC.
const MIN_ROWS: usize = 10;

/// Missingness of every feature with a missing value, most missing first,
/// over frame `rows`.
pub(crate) fn missingness(frame: &Frame, rows: &[usize]) -> Vec<FeatureMissing> {
    let mut out: Vec<FeatureMissing> = frame
        .columns
        .iter()
        .map(|c| FeatureMissing {
            feature: c.name.clone(),
            missing: rows.iter().filter(|&&r| is_missing(&c.values, r)).count(),
            n: rows.len(),
        })
        .filter(|m| m.missing > 0)
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.missing));
    out
}

fn is_missing(v: &Values, r: usize) -> bool {
    match v {
        Values::Numeric(x) => x[r].is_nan(),
        Values::Categorical { codes, .. } => codes[r] == MISSING_CODE,
    }
}

/// The AUC of one feature alone over `rows` (labels `y`): the value for a
/// number, the level's response rate for a category (up to
/// [`MAX_LEVELS`] levels). `None` with fewer than [`MIN_ROWS`] values or a
/// class missing.
pub(crate) fn single_feature_auc(v: &Values, rows: &[usize], y: &[bool]) -> Option<f64> {
    let (mut s, mut l) = (Vec::new(), Vec::new());
    match v {
        Values::Numeric(x) => {
            for (&r, &yi) in rows.iter().zip(y) {
                if !x[r].is_nan() {
                    s.push(x[r]);
                    l.push(yi);
                }
            }
        }
        Values::Categorical { codes, levels } => {
            if levels.len() > MAX_LEVELS {
                return None;
            }
            let mut count = vec![(0usize, 0usize); levels.len()];
            for (&r, &yi) in rows.iter().zip(y) {
                if let Some(c) = count.get_mut(codes[r] as usize) {
                    c.0 += 1;
                    c.1 += usize::from(yi);
                }
            }
            for (&r, &yi) in rows.iter().zip(y) {
                if let Some(&(n, k)) = count.get(codes[r] as usize) {
                    s.push(k as f64 / n as f64);
                    l.push(yi);
                }
            }
        }
    }
    if s.len() < MIN_ROWS {
        return None;
    }
    auc(&s, &l)
}

/// Features that may leak the outcome `target`: alone they separate the
/// labels `y` of frame `rows` (AUC ≥ [`LEAK_AUC`] or ≤ 1 − it), or their
/// names mark a measurement after baseline.
pub(crate) fn leakage(frame: &Frame, rows: &[usize], y: &[bool], target: &str) -> Vec<LeakSuspect> {
    let mut out = Vec::new();
    for c in &frame.columns {
        let a = single_feature_auc(&c.values, rows, y);
        let separates = a.is_some_and(|a| a >= LEAK_AUC || a <= 1.0 - LEAK_AUC);
        let name = post_baseline_name(&c.name, target);
        let reason = match (separates, name) {
            (true, Some(n)) => format!("alone it separates responders, and {n}"),
            (true, None) => "alone it separates responders".to_string(),
            (false, Some(n)) => n,
            (false, None) => continue,
        };
        out.push(LeakSuspect {
            feature: c.name.clone(),
            auc: a,
            reason,
        });
    }
    out
}

/// The lower-case words of a column name: split at anything not a letter
/// or digit, at lower→upper case changes and between letters and digits
/// only where a number leads (`wk6` stays one word, `6m` too).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            if p.is_lowercase() && ch.is_uppercase() {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(ch.to_lowercase());
        prev = Some(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Time units of a follow-up such as `6m`, `wk8`, `4h`, `30min`.
const UNITS: &[&str] = &[
    "min", "mins", "h", "hr", "hrs", "hour", "hours", "d", "day", "days", "w", "wk", "wks", "week",
    "weeks", "m", "mo", "mon", "month", "months", "y", "yr", "yrs", "year", "years", "fu", "visit",
];

/// Units too ambiguous before a number (`m2` is an area, `d3` a label).
const AMBIGUOUS_BEFORE: &[&str] = &["m", "d", "h", "y"];

/// Words that say a time refers to before treatment.
const BEFORE_WORDS: &[&str] = &[
    "prior",
    "past",
    "last",
    "previous",
    "preceding",
    "history",
    "lifetime",
    "before",
    "pre",
    "baseline",
    "bl",
    "screening",
    "screen",
];

/// Words that name a measurement after treatment started.
const POST_WORDS: &[&str] = &[
    "post",
    "followup",
    "endpoint",
    "final",
    "outcome",
    "discharge",
    "remission",
    "relapse",
    "relapsed",
    "remitted",
];

/// Words that, next to the target's own stem, mark the outcome itself.
const OUTCOME_WORDS: &[&str] = &[
    "change",
    "chg",
    "diff",
    "delta",
    "response",
    "responder",
    "improvement",
    "pct",
    "percent",
    "end",
    "final",
    "reduction",
];

/// A word that is a number with a time unit before or after it
/// (`6m`, `wk8`), or a unit word followed by a number word (`week`, `6`):
/// the time point, when not 0 (baseline).
fn time_point(w: &str, next: Option<&str>) -> Option<u64> {
    let digits_at = w.find(|c: char| c.is_ascii_digit())?;
    let (head, tail) = w.split_at(digits_at);
    let (num, unit) = if head.is_empty() {
        let end = w.find(|c: char| !c.is_ascii_digit()).unwrap_or(w.len());
        (&w[..end], &w[end..])
    } else if tail.chars().all(|c| c.is_ascii_digit()) && !AMBIGUOUS_BEFORE.contains(&head) {
        (tail, head)
    } else {
        return None;
    };
    let n: u64 = num.parse().ok()?;
    let unit_ok =
        UNITS.contains(&unit) || (unit.is_empty() && next.is_some_and(|u| UNITS.contains(&u)));
    (unit_ok && n > 0).then_some(n)
}

/// Why `name` looks like a post-baseline or outcome column of `target`,
/// if it does.
fn post_baseline_name(name: &str, target: &str) -> Option<String> {
    if name.eq_ignore_ascii_case(target) {
        return None;
    }
    let w = words(name);
    let before = w.iter().any(|x| BEFORE_WORDS.contains(&x.as_str()));
    for (i, word) in w.iter().enumerate() {
        let next = w.get(i + 1).map(String::as_str);
        if before {
            break;
        }
        if time_point(word, next).is_some() {
            return Some(format!("its name marks a follow-up time (`{word}`)"));
        }
        if UNITS.contains(&word.as_str())
            && next.is_some_and(|n| n.parse::<u64>().is_ok_and(|v| v > 0))
        {
            return Some(format!(
                "its name marks a follow-up time (`{word} {}`)",
                next.unwrap_or_default()
            ));
        }
        let post_prefixed = word.len() > 4
            && word.starts_with("post")
            && !["postal", "postcode"].contains(&word.as_str());
        if POST_WORDS.contains(&word.as_str()) || post_prefixed {
            return Some(format!(
                "its name marks a post-baseline measurement (`{word}`)"
            ));
        }
        if word == "follow" && next == Some("up") {
            return Some("its name marks a follow-up (`follow up`)".into());
        }
    }
    let t = words(target);
    if let (Some(stem), Some(first)) = (t.first(), w.first()) {
        if stem == first && stem.len() >= 3 {
            if let Some(o) = w.iter().find(|x| OUTCOME_WORDS.contains(&x.as_str())) {
                return Some(format!(
                    "it shares the target's stem `{stem}` and says `{o}`"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_mark_follow_up_or_outcome() {
        for (name, target) in [
            ("bdi.2m", "responder"),
            ("madrs_wk6", "responder"),
            ("hamd_week_8", "responder"),
            ("throat_pain_4h", "responder"),
            ("throat_pain_30min", "responder"),
            ("Postwt", "responder"),
            ("weight_post", "responder"),
            ("score_followup", "responder"),
            ("score_follow_up", "responder"),
            ("madrs_change", "madrs_wk6"),
            ("sixMonthOutcome", "responder"),
            ("relapse", "responder"),
        ] {
            assert!(post_baseline_name(name, target).is_some(), "{name}");
        }
        for (name, target) in [
            ("madrs_baseline", "madrs_wk6"),
            ("madrs_wk0", "responder"),
            ("episode_months", "responder"),
            ("prior_failures", "responder"),
            ("bdi.pre", "responder"),
            ("preOp_age", "responder"),
            ("length", "responder"),
            ("rs12345", "responder"),
            ("postcode", "responder"),
            ("age", "responder"),
            ("crp", "responder"),
            ("bmi", "responder"),
            ("madrs_wk6", "madrs_wk6"),
            ("episodes_prior_12_months", "responder"),
            ("bsa_m2", "responder"),
            ("intraOp_surgerySize", "responder"),
            ("asa325", "responder"),
            ("1_12345_A", "responder"),
        ] {
            assert!(post_baseline_name(name, target).is_none(), "{name}");
        }
    }

    #[test]
    fn single_feature_auc_of_numbers_and_levels() {
        let y = [
            false, false, false, false, false, true, true, true, true, true, true,
        ];
        let rows: Vec<usize> = (0..y.len()).collect();
        let perfect = Values::Numeric((0..y.len()).map(|i| i as f64).collect());
        assert_eq!(single_feature_auc(&perfect, &rows, &y), Some(1.0));
        let reversed = Values::Numeric((0..y.len()).map(|i| -(i as f64)).collect());
        assert_eq!(single_feature_auc(&reversed, &rows, &y), Some(0.0));
        let cat = Values::Categorical {
            codes: y.iter().map(|&b| u32::from(b)).collect(),
            levels: vec!["no".into(), "yes".into()],
        };
        assert_eq!(single_feature_auc(&cat, &rows, &y), Some(1.0));
        // Too few values present.
        let sparse = Values::Numeric(
            (0..y.len())
                .map(|i| if i < 3 { i as f64 } else { f64::NAN })
                .collect(),
        );
        assert_eq!(single_feature_auc(&sparse, &rows, &y), None);
    }
}
