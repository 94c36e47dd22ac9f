//! Matching a scoring file's alleles to the training file's: the same
//! counted allele, a flip (the other allele is counted), either of them on
//! the complementary strand (A↔T, C↔G), an ambiguous palindromic SNP, or a
//! mismatch.

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
    /// The same after complementing the scoring file's alleles (the other
    /// strand); `flip` when the other allele is then counted.
    Strand {
        /// The complemented scoring file counts the other allele.
        flip: bool,
    },
    /// A palindromic SNP (A/T or C/G) whose files count different alleles:
    /// an allele flip cannot be told from a strand flip.
    Ambiguous,
    /// The alleles cannot be reconciled.
    Mismatch,
}

/// The base on the other strand, for single-base alleles A, C, G, T.
pub(crate) fn complement(a: &str) -> Option<&'static str> {
    match a.to_ascii_uppercase().as_str() {
        "A" => Some("T"),
        "T" => Some("A"),
        "C" => Some("G"),
        "G" => Some("C"),
        _ => None,
    }
}

/// A and T, or C and G: the same pair on both strands.
pub(crate) fn palindromic(a: &str, b: &str) -> bool {
    complement(a).is_some_and(|c| c.eq_ignore_ascii_case(b))
}

/// The training-file comparison, strand aside.
fn same_strand(t: &Alleles, s: &Alleles) -> AlleleMatch {
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

/// Compares training alleles `t` with scoring alleles `s`. A palindromic
/// SNP (either file's pair is A/T or C/G) whose files count the same allele
/// is `Same`; counting different alleles it is `Ambiguous`. Otherwise a
/// match on the same strand wins; then one after complementing `s`.
pub(crate) fn compare_alleles(t: &Alleles, s: &Alleles) -> AlleleMatch {
    let pal = |a: &Alleles| {
        a.other
            .as_deref()
            .is_some_and(|o| palindromic(&a.counted, o))
    };
    if pal(t) || pal(s) {
        return match same_strand(t, s) {
            AlleleMatch::Same => AlleleMatch::Same,
            AlleleMatch::Flip { .. } => AlleleMatch::Ambiguous,
            _ => AlleleMatch::Mismatch,
        };
    }
    match same_strand(t, s) {
        AlleleMatch::Mismatch => {}
        m => return m,
    }
    let flipped = match (complement(&s.counted), &s.other) {
        (Some(c), None) => Some(Alleles {
            counted: c.to_string(),
            other: None,
        }),
        (Some(c), Some(o)) => complement(o).map(|co| Alleles {
            counted: c.to_string(),
            other: Some(co.to_string()),
        }),
        _ => None,
    };
    // Only when the training file names both alleles is a complement match
    // more than a guess; otherwise it stays a mismatch.
    if t.other.is_none() {
        return AlleleMatch::Mismatch;
    }
    match flipped.map(|f| same_strand(t, &f)) {
        Some(AlleleMatch::Same) => AlleleMatch::Strand { flip: false },
        Some(AlleleMatch::Flip { .. }) => AlleleMatch::Strand { flip: true },
        _ => AlleleMatch::Mismatch,
    }
}

/// The largest minor-allele frequency at which a palindromic SNP's strand
/// is told by frequency: nearer 0.5 the two readings look alike (PRSice's
/// and EasyQC's rule of thumb; 0.4 as in PRSice's `--keep-ambig` check).
pub(crate) const PALINDROME_MAX_MAF: f64 = 0.4;

/// The fewest called patients a scoring file needs for its frequency to
/// decide a palindromic SNP.
pub(crate) const PALINDROME_MIN_CALLED: usize = 20;

/// Decides an ambiguous palindromic SNP (the two files count different
/// alleles) from the frequency `f_train` of the training file's counted
/// allele and the frequency `f_score` of the scoring file's counted allele
/// (over `called` patients): `Some(true)` when the scoring file counts the
/// training file's other allele (an allele flip: `f_score ≈ 1 − f_train`),
/// `Some(false)` when it counts the same allele on the other strand
/// (`f_score ≈ f_train`), `None` when either minor-allele frequency is
/// above [`PALINDROME_MAX_MAF`] or too few patients are called.
pub(crate) fn resolve_by_frequency(f_train: f64, f_score: f64, called: usize) -> Option<bool> {
    let maf = |f: f64| f.min(1.0 - f);
    if called < PALINDROME_MIN_CALLED
        || !(f_train.is_finite() && f_score.is_finite())
        || maf(f_train) > PALINDROME_MAX_MAF
        || maf(f_score) > PALINDROME_MAX_MAF
    {
        return None;
    }
    Some((f_train - (1.0 - f_score)).abs() < (f_train - f_score).abs())
}

/// Frequency of the counted allele in `values` (dosages, NaN missing) and
/// the number of called values.
pub(crate) fn counted_frequency(values: impl IntoIterator<Item = f64>) -> (f64, usize) {
    let (mut n, mut sum) = (0usize, 0.0);
    for v in values.into_iter().filter(|v| !v.is_nan()) {
        n += 1;
        sum += v;
    }
    (
        if n > 0 {
            sum / (2.0 * n as f64)
        } else {
            f64::NAN
        },
        n,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn al(c: &str, o: Option<&str>) -> Alleles {
        Alleles {
            counted: c.into(),
            other: o.map(str::to_string),
        }
    }

    #[test]
    fn strands_flips_and_palindromes() {
        // Same, allele flip.
        assert_eq!(
            compare_alleles(&al("A", Some("G")), &al("A", Some("G"))),
            AlleleMatch::Same
        );
        assert_eq!(
            compare_alleles(&al("A", Some("G")), &al("G", Some("A"))),
            AlleleMatch::Flip { assumed: false }
        );
        // Complement strand: A/G vs T/C (same counted), vs C/T (flipped).
        assert_eq!(
            compare_alleles(&al("A", Some("G")), &al("T", Some("C"))),
            AlleleMatch::Strand { flip: false }
        );
        assert_eq!(
            compare_alleles(&al("A", Some("G")), &al("C", Some("T"))),
            AlleleMatch::Strand { flip: true }
        );
        // Palindromic: the same labels are kept; different counted alleles
        // are ambiguous.
        assert_eq!(
            compare_alleles(&al("A", Some("T")), &al("A", Some("T"))),
            AlleleMatch::Same
        );
        assert_eq!(
            compare_alleles(&al("A", Some("T")), &al("T", Some("A"))),
            AlleleMatch::Ambiguous
        );
        assert_eq!(
            compare_alleles(&al("C", Some("G")), &al("G", None)),
            AlleleMatch::Ambiguous
        );
        // A true mismatch stays one; so does a bare complement guess.
        assert_eq!(
            compare_alleles(&al("A", Some("G")), &al("A", Some("C"))),
            AlleleMatch::Mismatch
        );
        assert_eq!(
            compare_alleles(&al("A", None), &al("T", None)),
            AlleleMatch::Flip { assumed: true }
        );
        assert_eq!(
            compare_alleles(&al("A", Some("G")), &al("C", Some("G"))),
            AlleleMatch::Mismatch
        );
        assert_eq!(
            compare_alleles(&al("AT", Some("A")), &al("TA", Some("T"))),
            AlleleMatch::Mismatch
        );
    }

    #[test]
    fn palindromes_resolved_by_frequency() {
        // Training counts A at 0.2; the scoring file counts T.
        assert_eq!(
            resolve_by_frequency(0.2, 0.8, 100),
            Some(true),
            "T at 0.8: a flip"
        );
        assert_eq!(
            resolve_by_frequency(0.2, 0.22, 100),
            Some(false),
            "T at 0.22: the strand"
        );
        assert_eq!(resolve_by_frequency(0.45, 0.55, 100), None, "MAF near 0.5");
        assert_eq!(resolve_by_frequency(0.2, 0.8, 5), None, "too few called");
        assert_eq!(resolve_by_frequency(0.2, f64::NAN, 100), None);
        let (f, n) = counted_frequency([0.0, 1.0, 2.0, f64::NAN]);
        assert_eq!((f, n), (0.5, 3));
    }
}
