//! Validation: stratified folds, metrics, and the cross-validation loop that
//! every command shares.

pub mod cv;
pub mod folds;
pub mod metrics;
pub mod select;

pub use cv::{cross_validate, CvMetrics};
pub use folds::stratified_folds;
pub use metrics::auc;
