//! Stratified K-fold assignment with a seeded shuffle.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Assigns each row a fold in `0..k`, keeping the class balance of `y` in
/// every fold. The same `y`, `k` and `seed` always give the same folds.
pub(crate) fn stratified_folds(y: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut fold = vec![0; y.len()];
    let mut next = 0;
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        for i in idx {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

/// Splits `0..n` into (training, held-out) index sets for fold `f`.
pub(crate) fn split(folds: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (i, &g) in folds.iter().enumerate() {
        if g == f {
            test.push(i);
        } else {
            train.push(i);
        }
    }
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_deterministic() {
        let y: Vec<bool> = (0..103).map(|i| i % 4 == 0).collect();
        let f = stratified_folds(&y, 5, 42);
        assert_eq!(f, stratified_folds(&y, 5, 42));
        assert_ne!(f, stratified_folds(&y, 5, 43));
        for k in 0..5 {
            let pos = (0..y.len()).filter(|&i| f[i] == k && y[i]).count();
            let all = f.iter().filter(|&&g| g == k).count();
            assert!((5..=6).contains(&pos), "fold {k}: {pos} positives");
            assert!((20..=21).contains(&all), "fold {k}: {all} rows");
        }
        let (train, test) = split(&f, 0);
        assert_eq!(train.len() + test.len(), 103);
    }
}
