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

/// Grouped K-fold: each position's group (`groups`, any ids) is kept whole
/// in one fold. Groups are shuffled with `seed`, then, largest first, each
/// goes to the fold with the fewest positions so far (the lowest index on
/// ties). `k` at least the number of groups gives leave-one-group-out.
/// Returns the fold of each position and the number of folds (empty folds
/// are not made).
pub(crate) fn grouped_folds(groups: &[usize], k: usize, seed: u64) -> (Vec<usize>, usize) {
    let mut ids: Vec<usize> = groups.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut size: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for &g in groups {
        *size.entry(g).or_insert(0) += 1;
    }
    let mut order: Vec<(usize, usize)> = ids.iter().map(|&g| (g, size[&g])).collect();
    order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
    order.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let k = k.clamp(1, ids.len().max(1));
    let mut load = vec![0usize; k];
    let mut fold_of_group = std::collections::HashMap::new();
    for (g, n) in order {
        let f = (0..k).min_by_key(|&f| (load[f], f)).unwrap_or(0);
        load[f] += n;
        fold_of_group.insert(g, f);
    }
    (groups.iter().map(|g| fold_of_group[g]).collect(), k)
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
mod grouped_tests {
    use super::*;

    #[test]
    fn groups_stay_whole_and_folds_balance() {
        let groups: Vec<usize> = (0..100)
            .map(|i| [7, 7, 7, 3, 3, 9, 9, 9, 9, 1][i % 10])
            .collect();
        let (fold, k) = grouped_folds(&groups, 2, 5);
        assert_eq!(k, 2);
        for (i, &g) in groups.iter().enumerate() {
            let j = groups.iter().position(|&v| v == g).unwrap();
            assert_eq!(fold[i], fold[j], "group {g} split");
        }
        let sizes: Vec<usize> = (0..2)
            .map(|f| fold.iter().filter(|&&v| v == f).count())
            .collect();
        assert_eq!(sizes, vec![50, 50]);
        // Leave-one-group-out: one fold per group.
        let (fold, k) = grouped_folds(&groups, 100, 5);
        assert_eq!(k, 4);
        let mut distinct = fold.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct, vec![0, 1, 2, 3]);
        assert_eq!(grouped_folds(&groups, 2, 5), grouped_folds(&groups, 2, 5));
    }
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
