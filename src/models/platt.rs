//! Platt scaling: a logistic map from a model's scores to probabilities,
//! fitted with linfa's Newton method.

use linfa::composing::platt_scaling::{platt_newton_method, PlattParams};
use linfa::ParamGuard;
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::sigmoid;

/// P(responder) = 1 / (1 + exp(a · score + b)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Platt {
    /// Slope (negative when larger scores mean responders).
    pub(crate) a: f64,
    /// Offset.
    pub(crate) b: f64,
}

impl Platt {
    /// Fits on scores and labels; needs both classes.
    pub(crate) fn fit(scores: &[f64], y: &[bool]) -> Result<Platt> {
        let pos = y.iter().filter(|&&v| v).count();
        if pos == 0 || pos == y.len() {
            return Err(Error::Fit(format!(
                "Platt scaling needs both classes, got {pos} responders of {}",
                y.len()
            )));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(Error::Fit("Platt scaling got a non-finite score".into()));
        }
        let params = PlattParams::<f64, ()>::default()
            .check()
            .map_err(|e| Error::Fit(format!("Platt scaling: {e}")))?;
        let (a, b) = platt_newton_method(ArrayView1::from(scores), ArrayView1::from(y), &params)
            .map_err(|e| Error::Fit(format!("Platt scaling failed: {e}")))?;
        let p = Platt { a, b };
        p.validate().map_err(Error::Fit)?;
        Ok(p)
    }

    /// The probability for one score.
    pub(crate) fn predict(&self, score: f64) -> f64 {
        sigmoid(-(self.a * score + self.b))
    }

    /// Checks that both parameters are finite.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        if self.a.is_finite() && self.b.is_finite() {
            Ok(())
        } else {
            Err("Platt parameters are not finite".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn larger_scores_give_larger_probabilities() {
        let s = [-2.0, -1.0, -0.5, 0.0, 0.3, 1.0, 2.0, 0.1];
        let y = [false, false, true, false, true, true, true, false];
        let p = Platt::fit(&s, &y).unwrap();
        assert!(p.a < 0.0);
        assert!(p.predict(2.0) > p.predict(-2.0));
        assert!(Platt::fit(&s, &[true; 8]).is_err());
    }
}
