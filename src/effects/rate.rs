//! The rank-weighted average treatment effect (RATE; Yadlowsky, Fleming,
//! Shah, Brunskill & Wager, JASA 2025, arXiv 2111.07966): the targeting
//! operator characteristic (TOC), its area (AUTOC) and the Qini coefficient,
//! as grf's `rank_average_treatment_effect` (`estimate_rate` with unit
//! weights; ties in the priority share their scores' mean), with standard
//! errors from grf's half-sample bootstrap (half of the patients, or of the
//! groups, without replacement; the SD of the replicates estimates the
//! full-sample SE).

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::stats::{mean_sd, Z95};

/// Bootstrap replicates of the RATE standard errors (grf's default).
pub(crate) const RATE_REPLICATES: usize = 200;

/// The quantiles at which the TOC is reported: 0.1, 0.2, …, 1.
pub(crate) fn toc_grid() -> Vec<f64> {
    (1..=10).map(|k| f64::from(k) / 10.0).collect()
}

/// An estimate and its bootstrap standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Rated {
    /// Point estimate.
    pub(crate) estimate: f64,
    /// Half-sample bootstrap standard error.
    pub(crate) se: f64,
}

/// One point of the TOC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct TocPoint {
    /// Share of patients treated, highest priority first.
    pub(crate) q: f64,
    /// Mean score of the top `q` minus the mean of all.
    pub(crate) estimate: f64,
    /// `estimate − 1.96 · se`.
    pub(crate) ci_low: f64,
    /// `estimate + 1.96 · se`.
    pub(crate) ci_high: f64,
}

/// RATE of one prioritisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Rate {
    /// Area under the TOC (uniform weights over the share treated).
    pub(crate) autoc: Rated,
    /// Qini coefficient (weights proportional to the share treated).
    pub(crate) qini: Rated,
    /// The TOC at 0.1, …, 1 with pointwise 95 % intervals.
    pub(crate) toc: Vec<TocPoint>,
    /// Bootstrap replicates used.
    pub(crate) replicates: usize,
}

/// AUTOC, Qini and the TOC at `q` for scores `dr` prioritised by `prio`
/// (higher first).
pub(crate) fn estimate_rate(dr: &[f64], prio: &[f64], q: &[f64]) -> (f64, f64, Vec<f64>) {
    let n = dr.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| prio[b].total_cmp(&prio[a]));
    // Tied priorities share the mean of their scores.
    let mut sorted: Vec<f64> = order.iter().map(|&i| dr[i]).collect();
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && prio[order[end]] == prio[order[start]] {
            end += 1;
        }
        if end - start > 1 {
            let m = sorted[start..end].iter().sum::<f64>() / (end - start) as f64;
            sorted[start..end].iter_mut().for_each(|v| *v = m);
        }
        start = end;
    }
    let nf = n as f64;
    let ate = sorted.iter().sum::<f64>() / nf;
    let mut csum = Vec::with_capacity(n);
    let mut s = 0.0;
    for v in &sorted {
        s += v;
        csum.push(s);
    }
    let toc: Vec<f64> = (0..n).map(|k| csum[k] / (k + 1) as f64 - ate).collect();
    let autoc = toc.iter().sum::<f64>() / nf;
    let qini = toc
        .iter()
        .enumerate()
        .map(|(k, t)| (k + 1) as f64 / nf * t)
        .sum::<f64>()
        / nf;
    // A fractional share: the first ⌊qn⌋ patients plus part of the next.
    let grid = q
        .iter()
        .map(|&qq| {
            let nw = qq * nf;
            let idx = ((nw + 1e-15).floor() as usize).min(n);
            let whole = idx.max(1);
            let frac = nw - whole as f64;
            let next = (idx + 1).min(n);
            (csum[whole - 1] + frac * sorted[next - 1]) / (whole as f64 + frac) - ate
        })
        .collect();
    (autoc, qini, grid)
}

/// RATE with half-sample bootstrap standard errors; `clusters` (group index
/// `0..G` per patient) makes the bootstrap draw whole groups.
pub(crate) fn rate(
    dr: &[f64],
    prio: &[f64],
    clusters: Option<(&[usize], usize)>,
    replicates: usize,
    seed: u64,
) -> Rate {
    let q = toc_grid();
    let (autoc, qini, toc) = estimate_rate(dr, prio, &q);
    let members: Vec<Vec<usize>> = match clusters {
        Some((of, groups)) => {
            let mut m = vec![Vec::new(); groups];
            for (i, &g) in of.iter().enumerate() {
                m[g].push(i);
            }
            m.retain(|v| !v.is_empty());
            m
        }
        None => (0..dr.len()).map(|i| vec![i]).collect(),
    };
    let half = members.len() / 2;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x0005_a7e5);
    let mut reps: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); 2 + q.len()];
    if half >= 1 {
        for _ in 0..replicates {
            let mut idx: Vec<usize> = sample(&mut rng, members.len(), half)
                .into_iter()
                .flat_map(|g| members[g].iter().copied())
                .collect();
            idx.sort_unstable();
            let d: Vec<f64> = idx.iter().map(|&i| dr[i]).collect();
            let p: Vec<f64> = idx.iter().map(|&i| prio[i]).collect();
            let (a, b, t) = estimate_rate(&d, &p, &q);
            reps[0].push(a);
            reps[1].push(b);
            for (r, v) in reps[2..].iter_mut().zip(t) {
                r.push(v);
            }
        }
    }
    let se: Vec<f64> = reps
        .iter()
        .map(|r| if r.len() >= 2 { mean_sd(r).1 } else { f64::NAN })
        .collect();
    Rate {
        autoc: Rated {
            estimate: autoc,
            se: se[0],
        },
        qini: Rated {
            estimate: qini,
            se: se[1],
        },
        toc: q
            .iter()
            .zip(toc)
            .zip(&se[2..])
            .map(|((&q, t), &s)| TocPoint {
                q,
                estimate: t,
                ci_low: t - Z95 * s,
                ci_high: t + Z95 * s,
            })
            .collect(),
        replicates: if half >= 1 { replicates } else { 0 },
    }
}
