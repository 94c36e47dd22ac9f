//! Small dense linear algebra for the handful of coefficients of a
//! recalibration or a regression of scores: Gaussian elimination with
//! partial pivoting. Matrices are `Vec` of rows.

/// Solves `a x = b` for a small symmetric positive-definite `a` (Gaussian
/// elimination with partial pivoting); `None` when singular.
pub(crate) fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let k = b.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(row, &bi)| {
            let mut r = row.clone();
            r.push(bi);
            r
        })
        .collect();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for c in 0..k {
        let piv = (c..k).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[piv][c].abs() <= 1e-13 * scale {
            return None;
        }
        m.swap(c, piv);
        let pivot_row = m[c].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (v, pv) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *v -= f * pv;
                }
            }
        }
    }
    let x: Vec<f64> = (0..k).map(|i| m[i][k] / m[i][i]).collect();
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The inverse of a small non-singular matrix; `None` when singular.
pub(crate) fn inverse(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let cols: Option<Vec<Vec<f64>>> = (0..k)
        .map(|j| {
            let e: Vec<f64> = (0..k).map(|i| f64::from(u8::from(i == j))).collect();
            solve(a, &e)
        })
        .collect();
    let cols = cols?;
    Some(
        (0..k)
            .map(|i| (0..k).map(|j| cols[j][i]).collect())
            .collect(),
    )
}
