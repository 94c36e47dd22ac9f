//! A stratified, seeded split of a table's rows into training and test
//! sets (`responder split`).

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Which rows go to the test set: within each stratum (rows with the same
/// `strata` key), a seeded shuffle puts `round(share × size)` rows in the
/// test set. Strata are visited in key order, so the same keys, share and
/// seed always give the same split, whatever the row order's origin.
pub(crate) fn test_rows(strata: &[String], share: f64, seed: u64) -> Vec<bool> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, k) in strata.iter().enumerate() {
        groups.entry(k.as_str()).or_default().push(i);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut test = vec![false; strata.len()];
    for rows in groups.values_mut() {
        rows.shuffle(&mut rng);
        let k = (share * rows.len() as f64).round() as usize;
        for &i in rows.iter().take(k) {
            test[i] = true;
        }
    }
    test
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strata_keep_their_shares_and_the_seed_decides() {
        let keys: Vec<String> = (0..200)
            .map(|i| format!("{}|{}", i % 2, if i % 5 == 0 { "A" } else { "B" }))
            .collect();
        let t = test_rows(&keys, 0.2, 7);
        assert_eq!(t, test_rows(&keys, 0.2, 7));
        assert_ne!(t, test_rows(&keys, 0.2, 8));
        for key in ["0|A", "1|A", "0|B", "1|B"] {
            let rows: Vec<usize> = (0..200).filter(|&i| keys[i] == key).collect();
            let k = rows.iter().filter(|&&i| t[i]).count();
            assert_eq!(k, (0.2 * rows.len() as f64).round() as usize, "{key}");
        }
        assert_eq!(t.iter().filter(|&&b| b).count(), 40);
        assert!(test_rows(&keys, 0.0, 1).iter().all(|&b| !b));
    }
}
