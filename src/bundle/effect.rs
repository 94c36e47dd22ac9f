//! The stored effect model of a DR- or X-learner bundle: for each arm other than
//! the control, a linear model of the patient's effect (p under the arm −
//! p under control) on the control arm's pipeline outputs, with its
//! bootstrap replicates.

use ndarray::ArrayView2;

use crate::models::causal_forest::{CausalForest, GROUP};
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
        z.rows()
            .into_iter()
            .map(|r| self.intercept + r.iter().zip(&self.weights).map(|(a, b)| a * b).sum::<f64>())
            .collect()
    }

    /// The effect at each row of `z` given the T-learner's effect `tau_t`
    /// there: τ_T + intercept + w·z (the final stage is a correction of
    /// the T-learner's effect).
    pub(crate) fn effect(&self, z: ArrayView2<f64>, tau_t: &[f64]) -> Vec<f64> {
        self.predict(z)
            .into_iter()
            .zip(tau_t)
            .map(|(c, t)| t + c)
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
}

impl EffectModel {
    /// Number of bootstrap replicates (the same for every arm); for a
    /// causal forest, its little bags.
    pub(crate) fn replicates(&self) -> usize {
        match self.forests.first() {
            Some(f) => f.forest.trees.len() / GROUP,
            None => self.arms.first().map_or(0, |e| e.replicates.len()),
        }
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

    /// Replaces the probabilities of every non-control arm in `p` (one
    /// vector per arm) with p under control + the arm's effect at `z`,
    /// kept within [0, 1] (a causal forest's effect is its own; the DR- and
    /// X-learner's correct the T-learner's).
    pub(crate) fn apply(&self, z: ArrayView2<f64>, p: &mut [Vec<f64>], offset: usize) {
        for f in &self.forests {
            for (i, (t, _)) in f.forest.predict(z).into_iter().enumerate() {
                p[f.arm][offset + i] = (p[self.control][offset + i] + t).clamp(0.0, 1.0);
            }
        }
        for e in &self.arms {
            let c = &p[self.control][offset..offset + z.nrows()];
            let tau_t: Vec<f64> = p[e.arm][offset..]
                .iter()
                .zip(c)
                .map(|(a, c)| a - c)
                .collect();
            let tau = e.model.effect(z, &tau_t);
            for (i, t) in tau.into_iter().enumerate() {
                p[e.arm][offset + i] = (p[self.control][offset + i] + t).clamp(0.0, 1.0);
            }
        }
    }
}
