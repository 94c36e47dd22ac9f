//! Matching a scoring file's alleles to the training file's: the same
//! counted allele, a flip (the other allele is counted), or a mismatch.

use crate::data::Alleles;

/// How a scoring file's alleles relate to the training file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlleleMatch {
    /// Same counted allele.
    Same,
    /// The scoring file counts the training file's other allele; `assumed`
    /// when neither file names the other allele (biallelic assumed).
    Flip {
        /// Neither file names its other allele.
        assumed: bool,
    },
    /// The alleles cannot be reconciled.
    Mismatch,
}

/// Compares training alleles `t` with scoring alleles `s`.
pub(crate) fn compare_alleles(t: &Alleles, s: &Alleles) -> AlleleMatch {
    if s.counted == t.counted {
        return match (&t.other, &s.other) {
            (Some(a), Some(b)) if a != b => AlleleMatch::Mismatch,
            _ => AlleleMatch::Same,
        };
    }
    let t_ok = t.other.as_ref().is_none_or(|o| *o == s.counted);
    let s_ok = s.other.as_ref().is_none_or(|o| *o == t.counted);
    if t_ok && s_ok {
        AlleleMatch::Flip {
            assumed: t.other.is_none() && s.other.is_none(),
        }
    } else {
        AlleleMatch::Mismatch
    }
}
