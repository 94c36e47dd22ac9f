//! Compact storage of one SNP's dosages in a genotype table: hard calls
//! (0, 1, 2 or missing) take two bits each, as in a PLINK `.bed`; the first
//! fractional value (an imputed dosage) turns the column into 32-bit
//! floats. A genome-wide file is thus held at 2 bits per call (4 bytes for
//! imputed dosages), never at 8 bytes; the `f64`
//! values a model reads are formed only for the SNPs that become its
//! inputs ([`Dosages::to_f64`]).
//!
//! A fractional dosage is kept to `f32` precision (about 7 significant
//! digits; imputation servers write 3 decimals), the same for every format,
//! so a file scores identically whatever format it comes in.

/// The code of a missing hard call (codes 0, 1, 2 are the calls).
const MISSING: u8 = 3;

/// One SNP's dosages by row; NaN is missing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dosages {
    /// Hard calls 0, 1, 2 ([`MISSING`] for missing), four to a byte: row
    /// `r` is bits `2 (r % 4)` of byte `r / 4`.
    Hard {
        /// The packed codes.
        bits: Vec<u8>,
        /// Rows held.
        len: usize,
    },
    /// Fractional dosages (NaN for missing).
    Fractional(Vec<f32>),
}

impl Default for Dosages {
    fn default() -> Self {
        Dosages::with_capacity(0)
    }
}

/// The code of `v` when it is a hard call or missing.
fn hard(v: f64) -> Option<u8> {
    if v.is_nan() {
        Some(MISSING)
    } else if v == 0.0 || v == 1.0 || v == 2.0 {
        Some(v as u8)
    } else {
        None
    }
}

fn from_hard(code: u8) -> f64 {
    if code == MISSING {
        f64::NAN
    } else {
        f64::from(code)
    }
}

/// The code of row `r` in packed `bits`.
fn code(bits: &[u8], r: usize) -> u8 {
    (bits[r / 4] >> (2 * (r % 4))) & 3
}

impl Dosages {
    /// An empty column with room for `n` rows.
    pub(crate) fn with_capacity(n: usize) -> Dosages {
        Dosages::Hard {
            bits: Vec::with_capacity(n.div_ceil(4)),
            len: 0,
        }
    }

    /// Appends a dosage (NaN = missing).
    pub(crate) fn push(&mut self, v: f64) {
        match self {
            Dosages::Hard { bits, len } => match hard(v) {
                Some(h) => {
                    if *len % 4 == 0 {
                        bits.push(0);
                    }
                    bits[*len / 4] |= h << (2 * (*len % 4));
                    *len += 1;
                }
                None => {
                    let mut f: Vec<f32> = Vec::with_capacity(bits.capacity() * 4);
                    f.extend((0..*len).map(|r| from_hard(code(bits, r)) as f32));
                    f.push(v as f32);
                    *self = Dosages::Fractional(f);
                }
            },
            Dosages::Fractional(f) => f.push(v as f32),
        }
    }

    /// Number of rows.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match self {
            Dosages::Hard { len, .. } => *len,
            Dosages::Fractional(f) => f.len(),
        }
    }

    /// The dosage of row `r` (NaN = missing).
    pub(crate) fn get(&self, r: usize) -> f64 {
        match self {
            Dosages::Hard { bits, len } => {
                assert!(r < *len, "row {r} of {len}");
                from_hard(code(bits, r))
            }
            Dosages::Fractional(f) => f64::from(f[r]),
        }
    }

    /// Every row's dosage.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = f64> + '_> {
        match self {
            Dosages::Hard { bits, len } => Box::new((0..*len).map(|r| from_hard(code(bits, r)))),
            Dosages::Fractional(f) => Box::new(f.iter().map(|&x| f64::from(x))),
        }
    }

    /// The column as `f64` (for a model input).
    pub(crate) fn to_f64(&self) -> Vec<f64> {
        self.iter().collect()
    }

    /// The dosages of `rows`, in that order, stored as this column is.
    pub(crate) fn select(&self, rows: &[usize]) -> Dosages {
        match self {
            Dosages::Hard { bits, len } => {
                let mut out = vec![0u8; rows.len().div_ceil(4)];
                for (k, &r) in rows.iter().enumerate() {
                    assert!(r < *len, "row {r} of {len}");
                    out[k / 4] |= code(bits, r) << (2 * (k % 4));
                }
                Dosages::Hard {
                    bits: out,
                    len: rows.len(),
                }
            }
            Dosages::Fractional(f) => Dosages::Fractional(rows.iter().map(|&r| f[r]).collect()),
        }
    }

    /// Replaces every dosage `v` by `f(v)` (an allele flip `2 − v`, or
    /// NaN), keeping hard calls packed when the results are hard calls.
    pub(crate) fn map(&mut self, f: impl Fn(f64) -> f64) {
        match self {
            Dosages::Hard { len, .. } => {
                let mut out = Dosages::with_capacity(*len);
                for v in self.iter() {
                    out.push(f(v));
                }
                *self = out;
            }
            Dosages::Fractional(g) => g.iter_mut().for_each(|x| *x = f(f64::from(*x)) as f32),
        }
    }

    /// Bits held per row (2 for hard calls, 32 for fractional dosages).
    #[cfg(test)]
    pub(crate) fn bits_per_call(&self) -> usize {
        match self {
            Dosages::Hard { .. } => 2,
            Dosages::Fractional(_) => 32,
        }
    }
}

impl From<Vec<f64>> for Dosages {
    fn from(values: Vec<f64>) -> Dosages {
        let mut d = Dosages::with_capacity(values.len());
        for v in values {
            d.push(v);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_calls_stay_packed_until_a_fraction() {
        let mut d = Dosages::from(vec![0.0, 1.0, f64::NAN, 2.0]);
        assert!(matches!(d, Dosages::Hard { .. }));
        assert_eq!(d.bits_per_call(), 2);
        d.map(|v| 2.0 - v);
        assert!(matches!(d, Dosages::Hard { .. }));
        let got = d.to_f64();
        assert_eq!((got[0], got[1], got[3]), (2.0, 1.0, 0.0));
        assert!(got[2].is_nan());
        d.push(0.25);
        assert!(matches!(d, Dosages::Fractional(_)));
        assert_eq!(d.bits_per_call(), 32);
        assert_eq!(d.len(), 5);
        assert_eq!((d.get(0), d.get(4)), (2.0, 0.25));
        assert!(d.get(2).is_nan());
        d.map(|_| f64::NAN);
        assert!(d.iter().all(f64::is_nan));
    }

    #[test]
    fn fractions_are_kept_to_f32() {
        let d = Dosages::from(vec![0.123, 1.999, 2.0]);
        assert_eq!(d.get(0), f64::from(0.123f32));
        assert!((d.get(1) - 1.999).abs() < 1e-6);
        assert_eq!(d.get(2), 2.0);
        let mut h = Dosages::from(vec![1.0, 0.0]);
        h.map(|v| v + 0.5);
        assert_eq!(h.to_f64(), vec![1.5, 0.5]);
    }
}

#[cfg(test)]
mod packing_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Packed hard calls read back as pushed, whatever the length (every
        /// position in a byte); `select` and `map` agree with the values.
        #[test]
        fn packed_calls_round_trip(codes in proptest::collection::vec(0u8..4, 0..40), pick in proptest::collection::vec(0usize..40, 0..20)) {
            let values: Vec<f64> = codes.iter().map(|&c| from_hard(c)).collect();
            let d = Dosages::from(values.clone());
            prop_assert_eq!(d.len(), values.len());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&d.to_f64()), bits(&values));
            let rows: Vec<usize> = pick.into_iter().filter(|&r| r < values.len()).collect();
            let sub: Vec<f64> = rows.iter().map(|&r| values[r]).collect();
            prop_assert_eq!(bits(&d.select(&rows).to_f64()), bits(&sub));
            let mut flipped = d.clone();
            flipped.map(|v| 2.0 - v);
            let want: Vec<f64> = values.iter().map(|v| 2.0 - v).collect();
            prop_assert_eq!(bits(&flipped.to_f64()), bits(&want));
            prop_assert_eq!(flipped.bits_per_call(), 2);
        }
    }
}
