//! Validation: stratified folds, the cross-validation loop that every
//! command shares, metrics, calibration, bootstrap intervals, decision
//! curves, and the evaluation and explanation of a bundle on labelled data.

pub mod apply;
pub mod bootstrap;
pub mod calibration;
pub mod decision;
pub mod evaluation;
pub mod importance;
pub mod metrics;
pub mod recommendation;

pub use apply::LabelledData;
pub use evaluation::{evaluate_bundle, evaluate_group, EvalOptions, Evaluation, GroupEvaluation};
pub use metrics::auc;

#[cfg(test)]
mod fixture_tests;
