//! Validation: stratified folds, the cross-validation loop that every
//! command shares, metrics, calibration, bootstrap intervals, decision
//! curves, and the evaluation and explanation of a bundle on labelled data.

pub(crate) mod apply;
pub(crate) mod bootstrap;
pub(crate) mod calibration;
pub(crate) mod decision;
pub(crate) mod evaluation;
pub(crate) mod importance;
pub(crate) mod metrics;
pub(crate) mod recommendation;
pub(crate) mod selection;
pub(crate) mod smooth;

pub(crate) use apply::LabelledData;
pub(crate) use evaluation::{evaluate_bundle, EvalOptions, Evaluation, GroupEvaluation};

#[cfg(test)]
mod fixture_tests;
