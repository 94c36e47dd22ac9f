//! Compact storage of one SNP's dosages in a genotype table: hard calls
//! (0, 1, 2) take one byte each; the first fractional value (an imputed
//! dosage) turns the column into 32-bit floats. A genome-wide file is thus
//! held at 1 byte per call (4 for imputed dosages), never at 8; the `f64`
//! values a model reads are formed only for the SNPs that become its
//! inputs ([`Dosages::to_f64`]).
//!
//! A fractional dosage is kept to `f32` precision (about 7 significant
//! digits; imputation servers write 3 decimals), the same for every format,
//! so a file scores identically whatever format it comes in.

/// The byte of a missing hard call.
const MISSING: u8 = u8::MAX;

/// One SNP's dosages by row; NaN is missing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dosages {
    /// Hard calls 0, 1, 2 ([`MISSING`] for missing).
    Hard(Vec<u8>),
    /// Fractional dosages (NaN for missing).
    Fractional(Vec<f32>),
}

impl Default for Dosages {
    fn default() -> Self {
        Dosages::Hard(Vec::new())
    }
}

/// The byte of `v` when it is a hard call or missing.
fn hard(v: f64) -> Option<u8> {
    if v.is_nan() {
        Some(MISSING)
    } else if v == 0.0 || v == 1.0 || v == 2.0 {
        Some(v as u8)
    } else {
        None
    }
}

fn from_hard(b: u8) -> f64 {
    if b == MISSING {
        f64::NAN
    } else {
        f64::from(b)
    }
}

impl Dosages {
    /// An empty column with room for `n` rows.
    pub(crate) fn with_capacity(n: usize) -> Dosages {
        Dosages::Hard(Vec::with_capacity(n))
    }

    /// Appends a dosage (NaN = missing).
    pub(crate) fn push(&mut self, v: f64) {
        match self {
            Dosages::Hard(b) => match hard(v) {
                Some(h) => b.push(h),
                None => {
                    let mut f: Vec<f32> = Vec::with_capacity(b.capacity().max(b.len() + 1));
                    f.extend(b.iter().map(|&x| from_hard(x) as f32));
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
            Dosages::Hard(b) => b.len(),
            Dosages::Fractional(f) => f.len(),
        }
    }

    /// The dosage of row `r` (NaN = missing).
    pub(crate) fn get(&self, r: usize) -> f64 {
        match self {
            Dosages::Hard(b) => from_hard(b[r]),
            Dosages::Fractional(f) => f64::from(f[r]),
        }
    }

    /// Every row's dosage.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = f64> + '_> {
        match self {
            Dosages::Hard(b) => Box::new(b.iter().map(|&x| from_hard(x))),
            Dosages::Fractional(f) => Box::new(f.iter().map(|&x| f64::from(x))),
        }
    }

    /// The column as `f64` (for a model input).
    pub(crate) fn to_f64(&self) -> Vec<f64> {
        self.iter().collect()
    }

    /// Replaces every dosage `v` by `f(v)` (an allele flip `2 − v`, or
    /// NaN), keeping hard calls as bytes when the results are hard calls.
    pub(crate) fn map(&mut self, f: impl Fn(f64) -> f64) {
        let rebuilt = match self {
            Dosages::Hard(b) => {
                let mut out = Vec::with_capacity(b.len());
                let mut frac: Option<Vec<f32>> = None;
                for &x in b.iter() {
                    let v = f(from_hard(x));
                    match (&mut frac, hard(v)) {
                        (None, Some(h)) => out.push(h),
                        (None, None) => {
                            let mut g: Vec<f32> =
                                out.iter().map(|&y| from_hard(y) as f32).collect();
                            g.push(v as f32);
                            frac = Some(g);
                        }
                        (Some(g), _) => g.push(v as f32),
                    }
                }
                match frac {
                    Some(g) => Dosages::Fractional(g),
                    None => Dosages::Hard(out),
                }
            }
            Dosages::Fractional(g) => {
                g.iter_mut().for_each(|x| *x = f(f64::from(*x)) as f32);
                return;
            }
        };
        *self = rebuilt;
    }

    /// Bytes held per row (1 for hard calls, 4 for fractional dosages).
    #[cfg(test)]
    pub(crate) fn bytes_per_call(&self) -> usize {
        match self {
            Dosages::Hard(_) => 1,
            Dosages::Fractional(_) => 4,
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
    fn hard_calls_stay_bytes_until_a_fraction() {
        let mut d = Dosages::from(vec![0.0, 1.0, f64::NAN, 2.0]);
        assert!(matches!(d, Dosages::Hard(_)));
        assert_eq!(d.bytes_per_call(), 1);
        d.map(|v| 2.0 - v);
        assert!(matches!(d, Dosages::Hard(_)));
        let got = d.to_f64();
        assert_eq!((got[0], got[1], got[3]), (2.0, 1.0, 0.0));
        assert!(got[2].is_nan());
        d.push(0.25);
        assert!(matches!(d, Dosages::Fractional(_)));
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
