//! Ordering patients by predicted probability and therapies per patient.

/// One patient's scores, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RankedRow {
    /// 1-based rank.
    pub(crate) rank: usize,
    /// Patient ID.
    pub(crate) id: String,
    /// P(responder) under each arm, in bundle order.
    pub(crate) probs: Vec<f64>,
    /// Index of the arm with the highest probability.
    pub(crate) best: usize,
    /// Best minus second-best probability (0 with one arm).
    pub(crate) advantage: f64,
}

impl RankedRow {
    /// Row `rank` of the ranking: patient `id` with probabilities `probs`.
    pub(crate) fn new(rank: usize, id: &str, probs: Vec<f64>) -> RankedRow {
        let (best, advantage) = best_and_advantage(&probs);
        RankedRow {
            rank,
            id: id.to_string(),
            probs,
            best,
            advantage,
        }
    }
}

/// The arm with the highest probability (the first on ties) and its margin
/// over the runner-up (0 with one arm).
pub(crate) fn best_and_advantage(p: &[f64]) -> (usize, f64) {
    let mut best = 0;
    for (a, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = a;
        }
    }
    let second = p
        .iter()
        .enumerate()
        .filter(|&(a, _)| a != best)
        .map(|(_, &v)| v)
        .fold(f64::NEG_INFINITY, f64::max);
    let advantage = if second.is_finite() {
        p[best] - second
    } else {
        0.0
    };
    (best, advantage)
}

#[cfg(test)]
/// Ranks patients (the in-memory reference of the tests). `probs[a][i]` is patient `i`'s probability under arm
/// `a`. Patients are sorted by descending probability of arm `by`, or of
/// their best arm when `by` is `None`; ties keep input order.
pub(crate) fn rank(ids: &[String], probs: &[Vec<f64>], by: Option<usize>) -> Vec<RankedRow> {
    let n = ids.len();
    let mut rows: Vec<RankedRow> = (0..n)
        .map(|i| RankedRow::new(0, &ids[i], probs.iter().map(|a| a[i]).collect()))
        .collect();
    let key = |r: &RankedRow| match by {
        Some(a) => r.probs[a],
        None => r.probs[r.best],
    };
    rows.sort_by(|a, b| key(b).total_cmp(&key(a)));
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_best_or_named_arm() {
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let probs = vec![vec![0.2, 0.9, 0.5], vec![0.8, 0.1, 0.5]];
        let r = rank(&ids, &probs, None);
        assert_eq!(
            r.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        assert_eq!(r[0].best, 0);
        assert!((r[0].advantage - 0.8).abs() < 1e-12);
        assert_eq!(r[1].best, 1);
        assert_eq!(r[2].advantage, 0.0); // a tie: first arm wins, advantage 0
        let r = rank(&ids, &probs, Some(1));
        assert_eq!(r[0].id, "a");
        assert_eq!(r[0].rank, 1);
        assert_eq!(r[2].id, "b");
    }

    #[test]
    fn single_arm_has_zero_advantage() {
        let ids = vec!["x".to_string()];
        let r = rank(&ids, &[vec![0.3]], None);
        assert_eq!(r[0].advantage, 0.0);
    }
}
