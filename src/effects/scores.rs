//! Doubly robust (AIPW) scores (Robins, Rotnitzky & Zhao, JASA 1994;89:846;
//! the multi-arm form of grf's `get_scores` and policytree's
//! `double_robust_scores`): `Γᵢₐ = μₐ(xᵢ) + 1{Wᵢ = a} / eₐ(xᵢ) · (yᵢ − μₐ(xᵢ))`.

/// `Γ[a][i]` for every arm `a` and patient `i`, from the received arm
/// index, the outcome, the outcome predictions `mu[a][i]` and the
/// propensities `e[a][i]` (all positive).
pub(crate) fn aipw(
    received: &[usize],
    y: &[bool],
    mu: &[Vec<f64>],
    e: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    mu.iter()
        .zip(e)
        .enumerate()
        .map(|(a, (mu_a, e_a))| {
            (0..y.len())
                .map(|i| {
                    let yi = f64::from(u8::from(y[i]));
                    if received[i] == a {
                        mu_a[i] + (yi - mu_a[i]) / e_a[i]
                    } else {
                        mu_a[i]
                    }
                })
                .collect()
        })
        .collect()
}
