//! Choosing the feature columns from `--features` and `--exclude`.

use crate::data::Dataset;
use crate::error::{Error, Result};

/// Picks the feature columns: every column except the reserved ones (ID,
/// target, therapy), narrowed to `features` when given, minus `exclude`.
/// Names that do not exist are errors listing what does.
pub(crate) fn choose_columns(
    ds: &Dataset,
    reserved: &[(&str, &str)],
    features: &[String],
    exclude: &[String],
) -> Result<Vec<String>> {
    let all = ds.column_names();
    let unknown: Vec<String> = features
        .iter()
        .chain(exclude)
        .filter(|n| !all.contains(n))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(ds.missing_columns(unknown));
    }
    for f in features {
        if let Some((_, role)) = reserved.iter().find(|(name, _)| name == f) {
            return Err(Error::usage(format!(
                "--features names `{f}`, which is the {role} column and cannot be a feature"
            )));
        }
    }
    let candidates: Vec<String> = if features.is_empty() {
        all
    } else {
        features.to_vec()
    };
    let chosen: Vec<String> = candidates
        .into_iter()
        .filter(|n| !reserved.iter().any(|(r, _)| r == n) && !exclude.contains(n))
        .collect();
    if chosen.is_empty() {
        return Err(Error::usage(
            "no feature columns are left after --features/--exclude; the model needs at least one",
        ));
    }
    Ok(chosen)
}
