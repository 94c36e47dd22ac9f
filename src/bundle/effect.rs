//! The stored effect model of a DR- or X-learner bundle: for each arm other than
//! the control, a linear model of the patient's effect (p under the arm −
//! p under control) on the control arm's pipeline outputs, with its
//! bootstrap replicates.

use ndarray::ArrayView2;

use crate::models::causal_forest::{CausalForest, GROUP};
use crate::models::multinomial::Multinomial;
use serde::{Deserialize, Serialize};

/// A linear function `intercept + weights · z`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Linear {
    /// The intercept.
    pub(crate) intercept: f64,
    /// One weight per input.
    pub(crate) weights: Vec<f64>,
}

impl Linear {
    /// The function at each row of `z`.
    pub(crate) fn predict(&self, z: ArrayView2<f64>) -> Vec<f64> {
        // Only the non-zero weights, in order: a zero weight adds an exact
        // ±0 to the sum (the inputs are finite), so the result is the same,
        // and a lasso final stage that kept no input costs nothing per row.
        let kept: Vec<(usize, f64)> = self
            .weights
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, w)| w != 0.0)
            .collect();
        z.rows()
            .into_iter()
            .map(|r| self.intercept + kept.iter().map(|&(j, w)| r[j] * w).sum::<f64>())
            .collect()
    }

    /// Whether every number is finite.
    pub(crate) fn is_finite(&self) -> bool {
        self.intercept.is_finite() && self.weights.iter().all(|w| w.is_finite())
    }
}

/// One arm's effect against the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArmEffect {
    /// The arm's index in the bundle's arms.
    pub(crate) arm: usize,
    /// The lasso penalty chosen (scikit-learn's `alpha`).
    pub(crate) alpha: f64,
    /// Cross-validated DR loss (mean squared error against the doubly
    /// robust pseudo-outcome) of each candidate penalty, smallest penalty
    /// first.
    pub(crate) cv_loss: Vec<f64>,
    /// The effect model fitted on every training patient.
    pub(crate) model: Linear,
    /// Bootstrap replicates of the final stage (`train --replicates B`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) replicates: Vec<Linear>,
    /// X-learner only: the control patients' stage (`alpha` and `cv_loss`
    /// above are the arm's patients'), and the mixing weight; `model` is
    /// already the mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) x_learner: Option<XStage>,
}

/// The X-learner's second stage on the control patients, and the weight g
/// of the mix g·c⁰ + (1 − g)·c¹.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct XStage {
    /// The arm's share of the arm's and the control's patients.
    pub(crate) g: f64,
    /// The lasso penalty chosen on the control patients.
    pub(crate) control_alpha: f64,
    /// Its cross-validated squared error per candidate penalty.
    pub(crate) control_cv_loss: Vec<f64>,
    /// The two stages, mixed per patient by g(x) = e_a / (e_a + e_c) from
    /// the bundle's propensity model (bundles written before have none:
    /// their `model` mixes with the constant `g`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stages: Option<XStages>,
}

/// The X-learner's two corrections: c¹ fitted on the arm's patients, c⁰ on
/// the control's, and their bootstrap replicates as (c⁰, c¹) pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct XStages {
    /// c¹, from the arm's patients.
    pub(crate) treated: Linear,
    /// c⁰, from the control's patients.
    pub(crate) control: Linear,
    /// Replicate b's (c⁰, c¹).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) replicates: Vec<(Linear, Linear)>,
}

impl ArmEffect {
    /// The correction at the rows of `z` (the point fit, or replicate
    /// `b`): an X-learner with stages mixes them per patient with g(x)
    /// from the propensities `e` (clipped to [floor, 1 − floor]); otherwise
    /// the stored (constant-g) model.
    pub(crate) fn correction(
        &self,
        z: ArrayView2<f64>,
        b: Option<usize>,
        e: Option<&[Vec<f64>]>,
        (control, floor): (usize, f64),
    ) -> Vec<f64> {
        let stages = self.x_learner.as_ref().and_then(|x| x.stages.as_ref());
        if let (Some(st), Some(e)) = (stages, e) {
            let (c0, c1) = match b {
                None => (&st.control, &st.treated),
                Some(b) => (&st.replicates[b].0, &st.replicates[b].1),
            };
            let (p0, p1) = (c0.predict(z), c1.predict(z));
            return (0..z.nrows())
                .map(|i| {
                    let g = x_weight(e[self.arm][i], e[control][i], floor);
                    g * p0[i] + (1.0 - g) * p1[i]
                })
                .collect();
        }
        match b {
            None => self.model.predict(z),
            Some(b) => self.replicates[b].predict(z),
        }
    }
}

/// The X-learner's weight of c⁰ for a patient with propensities `ea` (the
/// arm) and `ec` (the control): the arm's share of the pair, clipped.
pub(crate) fn x_weight(ea: f64, ec: f64, floor: f64) -> f64 {
    (ea / (ea + ec).max(1e-12)).clamp(floor, 1.0 - floor)
}

/// The final stage of a DR-learner (Kennedy 2023) or X-learner (Künzel et
/// al. 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EffectModel {
    /// The control arm's index; effects are against it.
    pub(crate) control: usize,
    /// The L2 penalty of the cross-fitted multinomial propensity model.
    pub(crate) propensity_l2: f64,
    /// Propensities were clipped to [floor, 1 − floor] in the pseudo-outcome.
    pub(crate) propensity_floor: f64,
    /// X-learner: the propensity model (multinomial logit on the control
    /// arm's pipeline outputs, fitted on every training patient with the
    /// cross-validated penalty) whose g(x) mixes the two stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) propensity: Option<Multinomial>,
    /// DR- and X-learner: one entry per arm other than the control, in arm
    /// order (empty for a causal forest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) arms: Vec<ArmEffect>,
    /// Causal forest: one forest per arm other than the control, in arm
    /// order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) forests: Vec<ArmForest>,
}

/// One arm's causal forest against the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArmForest {
    /// The arm's index in the bundle's arms.
    pub(crate) arm: usize,
    /// The forest on the control arm's pipeline outputs.
    pub(crate) forest: CausalForest,
    /// Whether the forest estimates the correction of the T-learner's
    /// effect μ_a − μ_c (`--forest-offset t-learner`), not the effect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) t_learner_offset: bool,
}

impl EffectModel {
    /// Number of bootstrap replicates (the same for every arm); for a
    /// causal forest, its little bags.
    pub(crate) fn replicates(&self) -> usize {
        match self.forests.first() {
            Some(f) if !f.t_learner_offset => f.forest.trees.len() / GROUP,
            Some(_) => 0,
            None => self.arms.first().map_or(0, |e| e.replicates.len()),
        }
    }

    /// Every arm's propensity at the rows of `z`, when the bundle has a
    /// propensity model (an X-learner's).
    pub(crate) fn propensities(&self, z: ArrayView2<f64>) -> Option<Vec<Vec<f64>>> {
        self.propensity.as_ref().map(|m| m.predict(z))
    }

    /// Each arm's effect and its variance at the rows of `z` (arm order;
    /// the control's is (0, 0)): a causal forest's little-bags variance.
    pub(crate) fn forest_effects(&self, z: ArrayView2<f64>, k: usize) -> Vec<Vec<(f64, f64)>> {
        let mut out = vec![vec![(0.0, 0.0); z.nrows()]; k];
        for f in &self.forests {
            out[f.arm] = f.forest.predict(z);
        }
        out
    }

    /// Whether the forests correct the T-learner's effect.
    pub(crate) fn forest_offset(&self) -> bool {
        self.forests.first().is_some_and(|f| f.t_learner_offset)
    }

    /// Replaces the probabilities of every non-control arm in `p` (one
    /// vector per arm) with p under control + the arm's effect at `z`,
    /// kept within [0, 1] (a causal forest's effect is its own, or with
    /// `t_learner_offset` a correction of the T-learner's, as the DR- and
    /// X-learner's are).
    pub(crate) fn apply(&self, z: ArrayView2<f64>, p: &mut [Vec<f64>], offset: usize) {
        for f in &self.forests {
            for (i, (t, _)) in f.forest.predict(z).into_iter().enumerate() {
                let (c, r) = (self.control, offset + i);
                let tau_t = if f.t_learner_offset {
                    p[f.arm][r] - p[c][r]
                } else {
                    0.0
                };
                p[f.arm][r] = (p[c][r] + tau_t + t).clamp(0.0, 1.0);
            }
        }
        let props = self.propensities(z);
        for e in &self.arms {
            let c = &p[self.control][offset..offset + z.nrows()];
            let tau_t: Vec<f64> = p[e.arm][offset..]
                .iter()
                .zip(c)
                .map(|(a, c)| a - c)
                .collect();
            let fix = e.correction(
                z,
                None,
                props.as_deref(),
                (self.control, self.propensity_floor),
            );
            for (i, (t, f)) in tau_t.into_iter().zip(fix).enumerate() {
                p[e.arm][offset + i] = (p[self.control][offset + i] + t + f).clamp(0.0, 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skipping zero weights gives the same numbers as the full sum.
    #[test]
    fn linear_predict_skips_zero_weights_without_changing_a_bit() {
        let z = ndarray::Array2::from_shape_fn((30, 7), |(i, j)| {
            ((i * 31 + j * 17) % 13) as f64 / 3.0 - 2.0
        });
        let m = Linear {
            intercept: 0.1,
            weights: vec![0.0, 0.3, 0.0, -1.7, 0.0, 1e-9, 0.0],
        };
        let full: Vec<u64> = z
            .rows()
            .into_iter()
            .map(|r| m.intercept + r.iter().zip(&m.weights).map(|(a, b)| a * b).sum::<f64>())
            .map(f64::to_bits)
            .collect();
        let got: Vec<u64> = m.predict(z.view()).into_iter().map(f64::to_bits).collect();
        assert_eq!(full, got);
        let none = Linear {
            intercept: -0.4,
            weights: vec![0.0; 7],
        };
        assert!(none.predict(z.view()).iter().all(|&v| v == -0.4));
    }

    /// An X-learner's correction mixes its stages per patient by g(x) =
    /// e_a / (e_a + e_c), clipped; without propensities it is the stored
    /// constant-g model.
    #[test]
    fn x_correction_is_mixed_per_patient() {
        let lin = |b: f64, w: f64| Linear {
            intercept: b,
            weights: vec![w],
        };
        let effect = ArmEffect {
            arm: 1,
            alpha: 0.1,
            cv_loss: vec![],
            model: lin(0.5, 0.0),
            replicates: vec![lin(0.7, 0.0)],
            x_learner: Some(XStage {
                g: 0.5,
                control_alpha: 0.1,
                control_cv_loss: vec![],
                stages: Some(XStages {
                    treated: lin(1.0, 0.0),
                    control: lin(0.0, 1.0),
                    replicates: vec![(lin(2.0, 0.0), lin(3.0, 0.0))],
                }),
            }),
        };
        let z = ndarray::arr2(&[[0.2], [0.4]]);
        // Row 0: e_a = 0.6, e_c = 0.2 → g = 0.75; row 1: e_a = 0.001 → floor.
        let e = vec![vec![0.2, 0.5], vec![0.6, 0.001], vec![0.2, 0.499]];
        let got = effect.correction(z.view(), None, Some(&e), (0, 0.02));
        let g1 = 0.001 / 0.501f64;
        assert!((got[0] - (0.75 * 0.2 + 0.25 * 1.0)).abs() < 1e-12);
        assert!((got[1] - (g1.max(0.02) * 0.4 + (1.0 - g1.max(0.02)) * 1.0)).abs() < 1e-12);
        let rep = effect.correction(z.view(), Some(0), Some(&e), (0, 0.02));
        assert!((rep[0] - (0.75 * 2.0 + 0.25 * 3.0)).abs() < 1e-12);
        assert_eq!(
            effect.correction(z.view(), None, None, (0, 0.02)),
            vec![0.5, 0.5]
        );
        assert_eq!(
            effect.correction(z.view(), Some(0), None, (0, 0.02)),
            vec![0.7, 0.7]
        );
    }
}
