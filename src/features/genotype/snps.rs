//! `--snps FILE`: the SNPs of a genotype file to use as features, one ID
//! per line as `plink --extract` reads it. The other SNPs may still feed
//! the polygenic scores and projected components, and a PLINK `.bed`
//! decodes only what is needed.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use crate::data::Loaded;
use crate::error::{Error, Location, Result};

/// A list of SNP IDs.
#[derive(Debug, Clone, Default)]
pub(crate) struct SnpList {
    /// The file's name, for messages.
    pub(crate) file: String,
    /// The IDs.
    pub(crate) ids: BTreeSet<String>,
}

impl SnpList {
    /// Reads `path`: the first field (whitespace or comma separated) of
    /// every line; blank lines and lines starting with `#` are skipped.
    pub(crate) fn read(path: &str) -> Result<SnpList> {
        let loaded = Loaded::read(path)?;
        let file = loaded.name.clone();
        let text = std::str::from_utf8(&loaded.bytes)
            .map_err(|_| Error::data(Location::file(&file), "the file is not valid UTF-8 text"))?;
        let ids: BTreeSet<String> = text
            .lines()
            .map(|l| l.trim_start_matches('\u{feff}').trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split([',', ' ', '\t']).next())
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            return Err(Error::data(
                Location::file(&file),
                "lists no SNP IDs (one per line, as for plink --extract)",
            ));
        }
        Ok(SnpList { file, ids })
    }
}

/// The SNPs a training run decodes from a PLINK `.bed` when `--snps` is
/// given: the list and the projection's SNPs (polygenic scores are
/// streamed over the `.bed`, not decoded).
pub(crate) fn needed(list: &SnpList, pc_weights: Option<&str>) -> Result<Arc<HashSet<String>>> {
    let mut out: HashSet<String> = list.ids.iter().cloned().collect();
    if let Some(p) = pc_weights {
        out.extend(super::projection::weight_snps(p)?);
    }
    Ok(Arc::new(out))
}
